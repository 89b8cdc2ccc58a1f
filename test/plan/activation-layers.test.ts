/**
 * Tanhshrink, Softmin, GLU, RReLU, AlphaDropout and FeatureAlphaDropout as layers: their arguments
 * checked as PyTorch checks them (errors naming the layer and the argument), GLU's shapes, the
 * model file's names and the summary's rows, the random streams, and eval on the GPU against the
 * float64 reference (RReLU's fixed slope (lower + upper)/2; the alpha dropouts the identity).
 */
import { describe, expect, test } from 'vitest';
import { AlphaDropout, Conv2d, Dropout, FeatureAlphaDropout, Flatten, GLU, Linear, RReLU, Sequential, Softmin, Tanhshrink } from '../../src/layers/index.js';
import { Conv1d } from '../../src/layers/one-d.js';
import { DROPOUT_STREAM, planModel, summaryRows } from '../../src/plan/plan.js';
import { Network } from '../../src/plan/network.js';
import { modelFileText, parseModelFile } from '../../src/models/model-file.js';
import { networkStepRef } from '../../src/reference/network.js';
import { TOLERANCE, expectAllClose, randomArray } from '../helpers/allclose.js';
import { gpuTest } from '../helpers/gpu.js';

const model = () =>
  new Sequential(
    new Conv2d({ outChannels: 6, kernelSize: 3, stride: 2 }), new GLU(1), new RReLU(0.1, 0.3), new FeatureAlphaDropout(0.2), new Tanhshrink(),
    new Flatten(), new Linear({ outFeatures: 12 }), new Dropout(0.1), new GLU(), new AlphaDropout(0.4), new RReLU(), new Linear({ outFeatures: 5 }), new Softmin(),
  );

describe('the layers\' arguments, as PyTorch checks them', () => {
  test('RReLU: lower ≤ upper, finite numbers; positional or options', () => {
    expect(() => new RReLU(0.5, 0.2)).toThrow('RReLU: lower must be at most upper (PyTorch: Lower bound should be less than or equal to the upper bound), got lower 0.5, upper 0.2');
    expect(() => new RReLU(NaN)).toThrow('RReLU: lower must be a finite number, got NaN');
    expect(() => new RReLU({ lower: 0.1, upper: '0.2' as never })).toThrow('RReLU: upper must be a finite number, got "0.2"');
    expect(() => new RReLU({ lower_bound: 0.1 } as never)).toThrow(/RReLU: unknown option 'lower_bound'/);
    const r = new RReLU({ lower: 0.2, upper: 0.2 });
    expect([r.lowerBound, r.upperBound, r.evalSlope]).toEqual([0.2, 0.2, 0.2]);
    expect([new RReLU().lowerBound, new RReLU().upperBound]).toEqual([1 / 8, 1 / 3]);
  });

  test('AlphaDropout and FeatureAlphaDropout: p in [0, 1] (p = 1 gives zeros, as PyTorch)', () => {
    for (const [Class, name] of [[AlphaDropout, 'AlphaDropout'], [FeatureAlphaDropout, 'FeatureAlphaDropout']] as const) {
      expect(() => new Class(1.5)).toThrow(`${name}: p must be a number in [0, 1], got 1.5`);
      expect(() => new Class(-0.1)).toThrow(`${name}: p must be a number in [0, 1], got -0.1`);
      expect(new Class().p).toBe(0.5);
      expect(new Class(1).p).toBe(1);
    }
  });

  test('GLU: a whole dim; an odd split, the batch dim and a dim out of range are refused, naming the layer', () => {
    expect(() => new GLU(1.5)).toThrow('GLU: dim must be a whole number, got 1.5');
    const plan = (glu: GLU, input: number[]) => planModel(new Sequential(new Conv1d({ outChannels: 4, kernelSize: 1 }), glu, new Flatten(), new Linear({ outFeatures: 2 })), { inputShape: input });
    expect(() => plan(new GLU(-1), [3, 7])).toThrow("layer '1' (GLU): the split dimension must be even (its halves a, b give a·σ(b)), but dimension -1 of [N, 4, 7] is size 7");
    expect(() => plan(new GLU(0), [3, 8])).toThrow("layer '1' (GLU): dim 0 is the batch dimension, which this engine does not split (give a sample's dimension: 1 … 2, or -1 … -2)");
    expect(() => plan(new GLU(3), [3, 8])).toThrow("layer '1' (GLU): dim 3 is out of range for the input's 3 dimensions (batch included): expected one in [-3, 2]");
    expect(() => plan(new GLU(-3), [3, 8])).toThrow(/dim -3 is the batch dimension/);
    // [C, H, W]: dims 1 … 3 and −1 … −3; [C, L]; [F].
    const shape = (glu: GLU, input: number[]) => planModel(new Sequential(glu, new Flatten(), new Linear({ outFeatures: 2 })), { inputShape: input }).nodes[0]!.outShape;
    expect([1, 2, 3, -1, -2, -3].map((d) => shape(new GLU(d), [2, 4, 6]))).toEqual([[1, 4, 6], [2, 2, 6], [2, 4, 3], [2, 4, 3], [2, 2, 6], [1, 4, 6]]);
    expect([1, -1, -2].map((d) => shape(new GLU(d), [4, 6]))).toEqual([[2, 6], [4, 3], [2, 6]]);
    expect(shape(new GLU(), [10])).toEqual([5]);
  });

  test('Softmin: dim 1 (or −1) of [N, classes], as Softmax; a cross-entropy loss after it is refused', () => {
    expect(() => new Softmin(0)).toThrow('Softmin: dim must be 1 (or -1), the classes of [batch, classes]; got 0');
    expect(() => planModel(new Sequential(new Flatten(), new Linear({ outFeatures: 3 }), new Softmin()), { inputShape: [4] })).toThrow(/the model ends with Softmin \(probabilities\)/);
    expect(planModel(new Sequential(new Flatten(), new Linear({ outFeatures: 3 }), new Softmin()), { inputShape: [4], loss: 'mse' }).loss).toBe('mse');
  });
});

describe('model files, the summary, random streams', () => {
  test('model files name the layers and their PyTorch arguments, and read back the same', () => {
    const text = modelFileText(model(), [1, 9, 9]);
    const layers = JSON.parse(text).layers as Record<string, unknown>[];
    expect(layers.map((l) => l.type)).toEqual(['Conv2d', 'GLU', 'RReLU', 'FeatureAlphaDropout', 'Tanhshrink', 'Flatten', 'Linear', 'Dropout', 'GLU', 'AlphaDropout', 'RReLU', 'Linear', 'Softmin']);
    expect(layers[1]).toMatchObject({ dim: 1 });
    expect(layers[2]).toMatchObject({ lower: 0.1, upper: 0.3 });
    expect(layers[3]).toMatchObject({ p: 0.2 });
    expect(layers[8]).toMatchObject({ dim: -1 });
    const again = parseModelFile(text, 'm.json');
    expect(modelFileText(again.model, again.input)).toBe(text);
    expect(() => parseModelFile(JSON.stringify({ input: [4], layers: [{ type: 'RReLU', lower: 0.4, upper: 0.1 }] }), 'bad.json')).toThrow("bad.json: layer '0' (RReLU): lower must be at most upper");
    expect(() => parseModelFile(JSON.stringify({ input: [4], layers: [{ type: 'AlphaDropout', p: 2 }] }), 'bad.json')).toThrow("bad.json: layer '0' (AlphaDropout): p must be a number in [0, 1], got 2");
    expect(() => parseModelFile(JSON.stringify({ input: [4], layers: [{ type: 'GLU', dim: 'last' }] }), 'bad.json')).toThrow(/"dim" must be a number/);
  });

  test('summary rows, and a random stream for each layer that draws, in order (dropouts and RReLUs alike)', () => {
    const plan = planModel(model(), { inputShape: [1, 9, 9], loss: 'mse' });
    expect(summaryRows(plan).map((r) => [r.layer, r.outputShape])).toEqual([
      ['Conv2d', [6, 4, 4]], ['GLU', [3, 4, 4]], ['RReLU', [3, 4, 4]], ['FeatureAlphaDropout', [3, 4, 4]], ['Tanhshrink', [3, 4, 4]], ['Flatten', [48]],
      ['Linear', [12]], ['Dropout', [12]], ['GLU', [6]], ['AlphaDropout', [6]], ['RReLU', [6]], ['Linear', [5]], ['Softmin', [5]],
    ]);
    expect(plan.nodes.map((n) => n.stream)).toEqual([0, 0, DROPOUT_STREAM, DROPOUT_STREAM + 1, 0, 0, 0, DROPOUT_STREAM + 2, 0, DROPOUT_STREAM + 3, DROPOUT_STREAM + 4, 0, 0]);
    // Not fused into anything (batchnorm-dropout takes a plain Dropout only).
    expect(plan.fusions).toEqual([]);
  });
});

describe('eval on the GPU', () => {
  gpuTest('RReLU takes the slope (lower + upper)/2, the alpha dropouts are the identity: predict against the float64 reference in eval', async (ctx) => {
    const net = new Network(ctx, model(), { inputShape: [1, 9, 9], maxBatch: 8, seed: 4, loss: 'mse' });
    const inputs = Float32Array.from(randomArray(7 * 81, 5, -2, 2));
    const out = await net.predict(inputs);
    const params: Record<string, Float64Array> = {};
    for (const p of net.parameters) params[p.name] = Float64Array.from(await ctx.read(p.value));
    const ref = networkStepRef({ plan: net.plan, params, buffers: {}, input: inputs, labels: new Uint32Array(7), batch: 7, mode: 'eval' });
    expectAllClose('predict', out, ref.activations['12']!, TOLERANCE.forward);
    // The eval slope shows where an RReLU's input is negative: its output over its input is 0.2.
    const x = ref.activations['1']!;
    const y = ref.activations['2']!;
    const i = x.findIndex((v) => v < -0.1);
    expect(y[i]! / x[i]!).toBeCloseTo(0.2, 12);
  });
});
