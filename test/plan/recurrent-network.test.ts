/**
 * LSTM and GRU in a network: a whole GPU training step against the float64 reference
 * (checkNetworkStep) — an LSTM over MNIST's rows ([28, 28] samples) → Flatten → Linear under
 * cross-entropy, two stacked LSTMs (the second's input gradient, and one without bias) from a
 * model file, a GRU over the rows and a GRU after an LSTM; a seeded run on real MNIST
 * reproducible bit for bit (and its loss falling); the checkpoint's names, a PyTorch state_dict
 * loading and predicting as PyTorch's model; the model files and their refusals.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { encodeCheckpoint, loadCheckpoint } from '../../src/checkpoint/checkpoint.js';
import { decodeSafetensors, encodeSafetensors } from '../../src/checkpoint/safetensors.js';
import type { GpuContext } from '../../src/gpu/context.js';
import { Dropout, Flatten, GRU, Linear, LSTM, Sequential } from '../../src/layers/index.js';
import { modelFileText, parseModelFile, sameNetwork } from '../../src/models/model-file.js';
import { loadMnist } from '../../src/node/mnist-files.js';
import { Adam, SGD } from '../../src/optim/optimizers.js';
import { checkNetworkStep, formatCheckReport } from '../../src/plan/check.js';
import { Network } from '../../src/plan/network.js';
import { DROPOUT_STREAM, planModel, trainingFlops } from '../../src/plan/plan.js';
import { uploadSplit } from '../../src/train/gpu-dataset.js';
import { Trainer } from '../../src/train/trainer.js';
import { randomArray } from '../helpers/allclose.js';
import { gpuTest } from '../helpers/gpu.js';
import { hasTorch, runTorch } from '../helpers/torch.js';

const BATCH = 12;
const images = Float32Array.from(randomArray(BATCH * 784, 41, -0.42, 2.8));
const labels = Uint32Array.from({ length: BATCH }, (_, b) => (b * 7 + 5) % 10);
const lstmOverRows = () => new Sequential(new LSTM(28, 64, { batchFirst: true }), new Flatten(), new Linear(28 * 64, 10));

describe('one GPU training step against the float64 reference', () => {
  gpuTest('LSTM(28 → 64) over [28, 28] → Flatten → Linear(28·64 → 10), cross-entropy, SGD momentum', async (ctx) => {
    const network = new Network(ctx, lstmOverRows(), { inputShape: [28, 28], maxBatch: 16, seed: 3, optimizer: new SGD({ lr: 0.05, momentum: 0.9 }) });
    expect(network.parameters.map((p) => [p.name, p.shape])).toEqual([
      ['0.weight_ih_l0', [256, 28]], ['0.weight_hh_l0', [256, 64]], ['0.bias_ih_l0', [256]], ['0.bias_hh_l0', [256]], ['2.weight', [10, 1792]], ['2.bias', [10]],
    ]);
    // The summary table's row: PyTorch's parameter count (4·64·(28 + 64) + 2·256).
    expect(network.summary()).toMatch(/LSTM-1 +\[-1, 28, 64\] +24,064\n/);
    const report = await checkNetworkStep(network, images, labels);
    expect(report.passed, formatCheckReport(report)).toBe(true);
    expect(report.rows.filter((r) => r.kind === 'gradient')).toHaveLength(network.parameters.length);
  });

  gpuTest('two stacked LSTMs (the second without bias: the first gets its input gradient) from a model file, Adam', async (ctx) => {
    const { model, input } = parseModelFile(
      JSON.stringify({ input: [28, 28], layers: [{ type: 'LSTM', hidden_size: 20, batch_first: true }, { type: 'LSTM', input_size: 20, hidden_size: 11, bias: false, num_layers: 1, bidirectional: false }, { type: 'Flatten' }, { type: 'Linear', out_features: 10 }] }),
      'stacked.json',
    );
    const network = new Network(ctx, model, { inputShape: input, maxBatch: 16, seed: 5, optimizer: new Adam({ lr: 1e-3 }) });
    expect(network.parameters.map((p) => p.name)).toEqual(['0.weight_ih_l0', '0.weight_hh_l0', '0.bias_ih_l0', '0.bias_hh_l0', '1.weight_ih_l0', '1.weight_hh_l0', '3.weight', '3.bias']);
    const report = await checkNetworkStep(network, images, labels);
    expect(report.passed, formatCheckReport(report)).toBe(true);
    expect(report.rows.filter((r) => r.kind === 'gradient')).toHaveLength(network.parameters.length);
  });
});

describe('one GPU training step of a GRU against the float64 reference', () => {
  gpuTest('GRU(28 → 48) over [28, 28] → Flatten → Linear, cross-entropy, SGD momentum', async (ctx) => {
    const network = new Network(ctx, new Sequential(new GRU(28, 48, { batchFirst: true }), new Flatten(), new Linear(28 * 48, 10)), { inputShape: [28, 28], maxBatch: 16, seed: 3, optimizer: new SGD({ lr: 0.05, momentum: 0.9 }) });
    expect(network.parameters.map((p) => [p.name, p.shape])).toEqual([
      ['0.weight_ih_l0', [144, 28]], ['0.weight_hh_l0', [144, 48]], ['0.bias_ih_l0', [144]], ['0.bias_hh_l0', [144]], ['2.weight', [10, 1344]], ['2.bias', [10]],
    ]);
    expect(network.summary()).toMatch(/GRU-1 +\[-1, 28, 48\] +11,232\n/);
    const report = await checkNetworkStep(network, images, labels);
    expect(report.passed, formatCheckReport(report)).toBe(true);
    expect(report.rows.filter((r) => r.kind === 'gradient')).toHaveLength(network.parameters.length);
  });

  gpuTest('an LSTM, then a GRU without bias (the LSTM gets its input gradient), Tanh, from a model file, Adam', async (ctx) => {
    const { model, input } = parseModelFile(
      JSON.stringify({ input: [28, 28], layers: [{ type: 'LSTM', hidden_size: 12, batch_first: true }, { type: 'GRU', hidden_size: 9, bias: false, batch_first: true }, { type: 'Tanh' }, { type: 'Flatten' }, { type: 'Linear', out_features: 10 }] }),
      'lstm-gru.json',
    );
    const network = new Network(ctx, model, { inputShape: input, maxBatch: 16, seed: 5, optimizer: new Adam({ lr: 1e-3 }) });
    expect(network.parameters.map((p) => p.name)).toEqual(['0.weight_ih_l0', '0.weight_hh_l0', '0.bias_ih_l0', '0.bias_hh_l0', '1.weight_ih_l0', '1.weight_hh_l0', '4.weight', '4.bias']);
    const report = await checkNetworkStep(network, images, labels);
    expect(report.passed, formatCheckReport(report)).toBe(true);
    expect(report.rows.filter((r) => r.kind === 'gradient')).toHaveLength(network.parameters.length);
  });
});

describe('stacked and bidirectional: one GPU training step against the float64 reference', () => {
  // Awkward sizes: [L 7, in 5], H 6 (not a multiple of 4), batch 5 of tensors for 8.
  const B = 5;
  const small = Float32Array.from(randomArray(B * 35, 61, -1.5, 1.5));
  const smallLabels = Uint32Array.from({ length: B }, (_, b) => (b * 3 + 1) % 10);
  const names = (layers: number, bias: boolean) =>
    Array.from({ length: layers }, (_, k) => ['', '_reverse'].flatMap((d) => [`weight_ih_l${k}${d}`, `weight_hh_l${k}${d}`, ...(bias ? [`bias_ih_l${k}${d}`, `bias_hh_l${k}${d}`] : [])])).flat();
  for (const type of ['LSTM', 'GRU'] as const) {
    const G = type === 'LSTM' ? 4 : 3;
    gpuTest(`${type}(5 → 6, num_layers 2, bidirectional) over [7, 5] → Flatten → Linear, batch 5 of 8, SGD momentum`, async (ctx) => {
      const layer = type === 'LSTM' ? new LSTM(5, 6, { batchFirst: true, numLayers: 2, bidirectional: true }) : new GRU(5, 6, { batchFirst: true, numLayers: 2, bidirectional: true });
      const network = new Network(ctx, new Sequential(layer, new Flatten(), new Linear(7 * 12, 10)), { inputShape: [7, 5], maxBatch: 8, seed: 4, optimizer: new SGD({ lr: 0.05, momentum: 0.9 }) });
      // PyTorch's names, shapes and order: layer 1's input is both directions' h (12).
      expect(network.parameters.map((p) => [p.name, p.shape])).toEqual([
        ...names(2, true).map((n) => [`0.${n}`, n.startsWith('weight_ih') ? [G * 6, n.includes('l0') ? 5 : 12] : n.startsWith('weight_hh') ? [G * 6, 6] : [G * 6]]),
        ['2.weight', [10, 84]], ['2.bias', [10]],
      ]);
      for (let step = 0; step < 2; step++) {
        const report = await checkNetworkStep(network, small, smallLabels);
        expect(report.passed, formatCheckReport(report)).toBe(true);
        expect(report.rows.filter((r) => r.kind === 'gradient')).toHaveLength(network.parameters.length);
      }
    });

    gpuTest(`Linear → ${type}(num_layers 2, bidirectional, bias=False): the first layer's input gradient, both directions'`, async (ctx) => {
      const layer = type === 'LSTM' ? new LSTM({ hiddenSize: 3, numLayers: 2, bidirectional: true, bias: false }) : new GRU({ hiddenSize: 3, numLayers: 2, bidirectional: true, bias: false });
      const network = new Network(ctx, new Sequential(new Linear(5, 4), layer, new Flatten(), new Linear(7 * 6, 10)), { inputShape: [7, 5], maxBatch: 8, seed: 6, optimizer: new Adam({ lr: 1e-3 }) });
      expect(network.parameters.map((p) => p.name)).toEqual(['0.weight', '0.bias', ...names(2, false).map((n) => `1.${n}`), '3.weight', '3.bias']);
      const report = await checkNetworkStep(network, small, smallLabels);
      expect(report.passed, formatCheckReport(report)).toBe(true);
    });

    gpuTest(`${type}(num_layers 3, bidirectional, dropout 0.4) between layers: the GPU's masks are the reference's draws, step after step; identity in eval`, async (ctx) => {
      const make = (dropout: number) => new Sequential(type === 'LSTM' ? new LSTM({ hiddenSize: 6, numLayers: 3, bidirectional: true, dropout }) : new GRU({ hiddenSize: 6, numLayers: 3, bidirectional: true, dropout }), new Flatten(), new Linear(7 * 12, 10));
      const network = new Network(ctx, make(0.4), { inputShape: [7, 5], maxBatch: 8, seed: 9, optimizer: new SGD({ lr: 0.05 }) });
      // Two dropouts (after layers 0 and 1), a stream each.
      expect(network.plan.nodes[0]!.layer.randomStreams).toBe(2);
      // A Dropout after it draws from the stream after its two.
      expect(planModel(new Sequential(make(0.4), new Dropout(0.1)), { inputShape: [7, 5] }).nodes.map((n) => n.stream)).toEqual([DROPOUT_STREAM, 0, 0, DROPOUT_STREAM + 2]);
      for (let step = 0; step < 2; step++) {
        const report = await checkNetworkStep(network, small, smallLabels);
        expect(report.passed, formatCheckReport(report)).toBe(true);
      }
      // In eval the layers' outputs pass undropped: the same predictions, bit for bit, as the network without dropout (the same seed: the same weights).
      const plain = new Network(ctx, make(0), { inputShape: [7, 5], maxBatch: 8, seed: 9, optimizer: new SGD({ lr: 0.05 }) });
      const fresh = new Network(ctx, make(0.4), { inputShape: [7, 5], maxBatch: 8, seed: 9, optimizer: new SGD({ lr: 0.05 }) });
      expect(Array.from(await fresh.predict(small))).toEqual(Array.from(await plain.predict(small)));
      // And dropout 0.5 with one layer does nothing (PyTorch warns): no random stream drawn, no dropout dispatch.
      expect((type === 'LSTM' ? new LSTM(5, 6, { dropout: 0.5 }) : new GRU(5, 6, { dropout: 0.5 })).drawsRandom).toBe(false);
    });
  }

  gpuTest('a real-ish size: LSTM(28 → 64, num_layers 2, bidirectional) over MNIST-sized rows, batch 64 → Flatten → Linear', async (ctx) => {
    const network = new Network(ctx, new Sequential(new LSTM(28, 64, { batchFirst: true, numLayers: 2, bidirectional: true }), new Flatten(), new Linear(28 * 128, 10)), { inputShape: [28, 28], maxBatch: 64, seed: 3, optimizer: new SGD({ lr: 0.05, momentum: 0.9 }) });
    const x = Float32Array.from(randomArray(64 * 784, 47, -0.42, 2.8));
    const report = await checkNetworkStep(network, x, Uint32Array.from({ length: 64 }, (_, b) => (b * 7 + 3) % 10));
    console.log(formatCheckReport(report));
    expect(report.passed, formatCheckReport(report)).toBe(true);
  }, 300_000);

  gpuTest('a real-ish size: GRU(28 → 64, num_layers 2, bidirectional, dropout 0.2), batch 64', async (ctx) => {
    const network = new Network(ctx, new Sequential(new GRU(28, 64, { batchFirst: true, numLayers: 2, bidirectional: true, dropout: 0.2 }), new Flatten(), new Linear(28 * 128, 10)), { inputShape: [28, 28], maxBatch: 64, seed: 3, optimizer: new SGD({ lr: 0.05, momentum: 0.9 }) });
    const x = Float32Array.from(randomArray(64 * 784, 48, -0.42, 2.8));
    const report = await checkNetworkStep(network, x, Uint32Array.from({ length: 64 }, (_, b) => (b * 7 + 3) % 10));
    expect(report.passed, formatCheckReport(report)).toBe(true);
  }, 300_000);
});

describe('training', () => {
  const run = async (ctx: GpuContext, file: string, seed: number) => {
    const { train, test: testSplit } = await loadMnist();
    const network = new Network(ctx, parseModelFile(readFileSync(file, 'utf8'), file).model, { inputShape: [28, 28], maxBatch: 32, seed, optimizer: new Adam({ lr: 0.005 }) });
    const trainer = new Trainer(ctx, network, uploadSplit(ctx, 'train', train, 128), uploadSplit(ctx, 'test', testSplit, 32), { batch: 32, seed, augment: false });
    const losses = [];
    for (let epoch = 1; epoch <= 3; epoch++) losses.push((await trainer.trainEpoch(epoch)).trainLoss);
    return { network, losses, weights: await Promise.all(network.parameters.map((p) => ctx.read(p.value))) };
  };

  for (const file of ['examples/lstm.json', 'examples/gru.json']) {
    gpuTest(`${file} on 128 MNIST images: its loss falls, and a seeded run is reproducible bit for bit`, async (ctx) => {
      const a = await run(ctx, file, 7);
      const b = await run(ctx, file, 7);
      expect(a.losses[2]!).toBeLessThan(0.8 * a.losses[0]!);
      expect(b.losses).toEqual(a.losses);
      a.weights.forEach((w, i) => expect(Array.from(b.weights[i]!), a.network.parameters[i]!.name).toEqual(Array.from(w)));
      const c = await run(ctx, file, 8);
      expect(Array.from(c.weights[1]!)).not.toEqual(Array.from(a.weights[1]!));
    }, 180_000);
  }
});

describe('checkpoints', () => {
  for (const type of ['LSTM', 'GRU'] as const) {
    gpuTest(`${type}: the checkpoint carries PyTorch's names; a PyTorch state_dict loads and predicts as PyTorch's model`, async (ctx, t) => {
      const model = new Sequential(type === 'LSTM' ? new LSTM(28, 64, { batchFirst: true }) : new GRU(28, 64, { batchFirst: true }), new Flatten(), new Linear(28 * 64, 10));
      const network = new Network(ctx, model, { inputShape: [28, 28], maxBatch: 4, seed: 2, optimizer: new SGD({ lr: 0.1 }) });
      const { tensors, metadata } = decodeSafetensors(await encodeCheckpoint(network), 'memory');
      expect(Object.keys(tensors).filter((k) => !k.startsWith('optimizer.')).sort()).toEqual(['0.bias_hh_l0', '0.bias_ih_l0', '0.weight_hh_l0', '0.weight_ih_l0', '2.bias', '2.weight']);
      expect(sameNetwork(metadata.model_file!, 'model_file', network.model, [28, 28])).toBe(true);
      if (!hasTorch) return t.skip('/usr/bin/python3 has no PyTorch');
      // PyTorch's own model and init (seed 0): its state_dict, and its outputs for three samples (the recurrent layer's output flattened).
      const x = Array.from(randomArray(3 * 784, 43, -1, 2));
      const torch = runTorch<{ state: Record<string, { shape: number[]; data: number[] }>; y: number[] }>(
        `
import json, sys, torch
torch.manual_seed(0)
spec = json.load(sys.stdin)
model = torch.nn.Sequential(getattr(torch.nn, spec['type'])(28, 64, batch_first=True), torch.nn.Flatten(), torch.nn.Linear(28 * 64, 10))
x = torch.tensor(spec['x'], dtype=torch.float32).reshape(3, 28, 28)
with torch.no_grad():
    y = model[2](model[1](model[0](x)[0]))
print(json.dumps({'state': {k: {'shape': list(v.shape), 'data': v.flatten().tolist()} for k, v in model.state_dict().items()}, 'y': y.flatten().tolist()}))
`,
        { x, type },
      );
      const stateDict = Object.fromEntries(Object.entries(torch.state).map(([k, v]) => [k, { dtype: 'F32' as const, shape: v.shape, data: Float32Array.from(v.data) }]));
      loadCheckpoint(network, encodeSafetensors(stateDict, {}), 'from-pytorch.safetensors');
      const y = await network.predict(Float32Array.from(x));
      const worst = Math.max(...Array.from(y, (v, i) => Math.abs(v - torch.y[i]!)));
      console.log(`${type} → Flatten → Linear from a PyTorch state_dict: logits within ${worst.toExponential(2)} of PyTorch's float32`);
      expect(worst).toBeLessThan(1e-5);
    });
  }
});

describe('checkpoints of a stacked, bidirectional layer', () => {
  for (const type of ['LSTM', 'GRU'] as const) {
    gpuTest(`${type}(num_layers 2, bidirectional, dropout 0.3): a PyTorch state_dict loads and predicts as PyTorch's model in eval`, async (ctx, t) => {
      const options = { batchFirst: true, numLayers: 2, bidirectional: true, dropout: 0.3 };
      const model = new Sequential(type === 'LSTM' ? new LSTM(28, 32, options) : new GRU(28, 32, options), new Flatten(), new Linear(28 * 64, 10));
      const network = new Network(ctx, model, { inputShape: [28, 28], maxBatch: 4, seed: 2, optimizer: new SGD({ lr: 0.1 }) });
      const { tensors, metadata } = decodeSafetensors(await encodeCheckpoint(network), 'memory');
      const sfx = ['l0', 'l0_reverse', 'l1', 'l1_reverse'];
      expect(Object.keys(tensors).filter((k) => !k.startsWith('optimizer.')).sort()).toEqual([...sfx.flatMap((s) => ['bias_hh', 'bias_ih', 'weight_hh', 'weight_ih'].map((w) => `0.${w}_${s}`)), '2.bias', '2.weight'].sort());
      expect(sameNetwork(metadata.model_file!, 'model_file', network.model, [28, 28])).toBe(true);
      if (!hasTorch) return t.skip('/usr/bin/python3 has no PyTorch');
      const x = Array.from(randomArray(3 * 784, 44, -1, 2));
      const torch = runTorch<{ state: Record<string, { shape: number[]; data: number[] }>; y: number[] }>(
        `
import json, sys, torch
torch.manual_seed(0)
spec = json.load(sys.stdin)
model = torch.nn.Sequential(getattr(torch.nn, spec['type'])(28, 32, num_layers=2, bidirectional=True, dropout=0.3, batch_first=True), torch.nn.Flatten(), torch.nn.Linear(28 * 64, 10))
model.eval()
x = torch.tensor(spec['x'], dtype=torch.float32).reshape(3, 28, 28)
with torch.no_grad():
    y = model[2](model[1](model[0](x)[0]))
print(json.dumps({'state': {k: {'shape': list(v.shape), 'data': v.flatten().tolist()} for k, v in model.state_dict().items()}, 'y': y.flatten().tolist()}))
`,
        { x, type },
      );
      const stateDict = Object.fromEntries(Object.entries(torch.state).map(([k, v]) => [k, { dtype: 'F32' as const, shape: v.shape, data: Float32Array.from(v.data) }]));
      loadCheckpoint(network, encodeSafetensors(stateDict, {}), 'from-pytorch.safetensors');
      const y = await network.predict(Float32Array.from(x));
      const worst = Math.max(...Array.from(y, (v, i) => Math.abs(v - torch.y[i]!)));
      console.log(`${type}(num_layers 2, bidirectional) → Flatten → Linear from a PyTorch state_dict: logits within ${worst.toExponential(2)} of PyTorch's float32`);
      expect(worst).toBeLessThan(1e-5);
    });
  }
});

describe('model files and the layer’s refusals', () => {
  test('the model file round-trips, num_layers, bidirectional and dropout too; proj_size, batch_first=False and bad values are refused, naming the option', () => {
    const { model } = parseModelFile(readFileSync('examples/lstm.json', 'utf8'), 'examples/lstm.json');
    const text = modelFileText(model, [28, 28]);
    expect(JSON.parse(text).layers[0]).toEqual({ type: 'LSTM', input_size: 28, hidden_size: 64, bias: true, batch_first: true });
    expect(sameNetwork(text, 'x', lstmOverRows(), [28, 28])).toBe(true);
    // FLOP per sample: 28 steps of the 256 gate rows against 28 inputs and 64 hidden units, then the Linear; backward, the carry dG·W_hh and the Linear's input gradient (the LSTM is first: no dX).
    expect(trainingFlops(planModel(model, { inputShape: [28, 28] }))).toEqual({ forward: 2 * 28 * 256 * (28 + 64) + 2 * 1792 * 10, weightGradients: 2 * 28 * 256 * (28 + 64) + 2 * 1792 * 10, inputGradients: 2 * 28 * 256 * 64 + 2 * 1792 * 10, total: 2 * (2 * 28 * 256 * (28 + 64) + 2 * 1792 * 10) + 2 * 28 * 256 * 64 + 2 * 1792 * 10 });
    const refused = (fields: Record<string, unknown>) => () => parseModelFile(JSON.stringify({ input: [28, 28], layers: [{ type: 'LSTM', hidden_size: 8, ...fields }] }), 'm.json');
    expect(refused({ num_layers: 0 })).toThrow("m.json: layer '0' (LSTM): num_layers must be a whole number ≥ 1, got 0");
    expect(refused({ num_layers: 1.5 })).toThrow("m.json: layer '0' (LSTM): num_layers must be a whole number ≥ 1, got 1.5");
    expect(refused({ bidirectional: 'yes' })).toThrow('"bidirectional" must be');
    expect(refused({ batch_first: false })).toThrow('batch_first must be true here');
    expect(refused({ dropout: 1.5 })).toThrow("m.json: layer '0' (LSTM): dropout must be a number in [0, 1]");
    expect(refused({ dropout: -0.1 })).toThrow('dropout must be a number in [0, 1]');
    expect(() => new LSTM({ hiddenSize: 8, dropout: Number.NaN })).toThrow('LSTM: dropout must be a number in [0, 1]');
    expect(refused({ proj_size: 4 })).toThrow("m.json: layer '0' (LSTM): proj_size must be 0 here (no projection of h: proj_size > 0 is not supported), got 4");
    expect(() => new GRU({ hiddenSize: 8, numLayers: 2.5 })).toThrow('GRU: num_layers must be a whole number ≥ 1, got 2.5');
    // Accepted: num_layers, bidirectional, dropout (with one layer it does nothing, as PyTorch's, which warns).
    const stacked = parseModelFile(JSON.stringify({ input: [28, 28], layers: [{ type: 'LSTM', hidden_size: 8, num_layers: 2, bidirectional: true, dropout: 0.25 }, { type: 'Flatten' }, { type: 'Linear', out_features: 10 }] }), 's.json').model;
    const stackedText = modelFileText(stacked, [28, 28]);
    expect(JSON.parse(stackedText).layers[0]).toEqual({ type: 'LSTM', hidden_size: 8, num_layers: 2, bias: true, batch_first: true, dropout: 0.25, bidirectional: true });
    expect(sameNetwork(stackedText, 'x', stacked, [28, 28])).toBe(true);
    expect(sameNetwork(stackedText, 'x', lstmOverRows(), [28, 28])).toBe(false);
    expect(planModel(stacked, { inputShape: [28, 28] }).nodes[0]!.outShape).toEqual([28, 16]);
    expect(() => parseModelFile(JSON.stringify({ input: [28, 28], layers: [{ type: 'LSTM', hidden_size: 8, dropout: 0.5 }, { type: 'Flatten' }, { type: 'Linear', out_features: 10 }] }), 'one.json')).not.toThrow();
    // FLOP per sample, two layers of two directions: layer 1's W_ih (16 inputs) in the input gradient too, the first layer's not.
    const flops = trainingFlops(planModel(stacked, { inputShape: [28, 28] }));
    const [ih0, ih1, hh] = [32 * 28, 32 * 16, 32 * 8];
    expect(flops.forward).toBe(2 * 28 * 2 * (ih0 + ih1 + 2 * hh) + 2 * 448 * 10);
    expect(flops.inputGradients).toBe(2 * 28 * 2 * (ih1 + 2 * hh) + 2 * 448 * 10);
    expect(refused({ batch_first: 'yes' })).toThrow('"batch_first" must be');
    expect(refused({ hidden: 8 })).toThrow('unknown field "hidden"');
    expect(() => new LSTM({ hiddenSize: 8, batch_first: true } as never)).toThrow("LSTM: unknown option 'batch_first' (PyTorch's batch_first is batchFirst here)");
    expect(() => new LSTM(28, 0)).toThrow('LSTM: hidden_size must be a whole number ≥ 1, got 0');
    // The shapes: a sequence [L, input_size].
    expect(() => new Network(undefined as never, new Sequential(new LSTM(28, 8), new Flatten(), new Linear(8, 10)), { inputShape: [1, 28, 28], maxBatch: 2, optimizer: new SGD({ lr: 0.1 }) })).toThrow('expects an input of shape [sequence length, input_size]');
    expect(() => new LSTM(27, 8).outputShape([28, 28])).toThrow("input_size is 27 but the input's steps have 28 features");
    // GRU: the same options, but no proj_size (PyTorch's GRU has none).
    const gru = parseModelFile(JSON.stringify({ input: [28, 28], layers: [{ type: 'GRU', hidden_size: 8, batch_first: true, num_layers: 1 }, { type: 'Flatten' }, { type: 'Linear', out_features: 10 }] }), 'g.json').model;
    expect(JSON.parse(modelFileText(gru, [28, 28])).layers[0]).toEqual({ type: 'GRU', hidden_size: 8, bias: true, batch_first: true });
    expect(() => parseModelFile(JSON.stringify({ input: [28, 28], layers: [{ type: 'GRU', hidden_size: 8, proj_size: 2 }] }), 'g.json')).toThrow('unknown field "proj_size"');
    expect(() => parseModelFile(JSON.stringify({ input: [28, 28], layers: [{ type: 'GRU', hidden_size: 8, num_layers: 0 }] }), 'g.json')).toThrow("g.json: layer '0' (GRU): num_layers must be a whole number ≥ 1, got 0");
    expect(() => parseModelFile(JSON.stringify({ input: [28, 28], layers: [{ type: 'GRU', hidden_size: 8, dropout: 2 }] }), 'g.json')).toThrow("g.json: layer '0' (GRU): dropout must be a number in [0, 1]");
    expect(() => new GRU({ hiddenSize: 8, projSize: 0 } as never)).toThrow("GRU: unknown option 'projSize'");
  });
});
