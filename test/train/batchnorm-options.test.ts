/**
 * BatchNorm's affine and track_running_stats options as PyTorch's: the parameters and buffers
 * each leaves out (state_dict names, checkpoints), the evaluation an untracked batch norm runs on
 * its batch's own statistics (against the float64 reference's eval mode), and the arguments.
 */
import { describe, expect, it } from 'vitest';
import { BatchNorm1d, BatchNorm2d, Conv2d, Flatten, Linear, ReLU, Sequential } from '../../src/layers/index.js';
import { Network } from '../../src/plan/network.js';
import { planModel } from '../../src/plan/plan.js';
import { decodeSafetensors } from '../../src/checkpoint/safetensors.js';
import { encodeCheckpoint, loadCheckpoint } from '../../src/checkpoint/checkpoint.js';
import { modelFileText, parseModelFile } from '../../src/models/model-file.js';
import { networkStepRef } from '../../src/reference/network.js';
import { TOLERANCE, expectAllClose, randomArray } from '../helpers/allclose.js';
import { gpuTest } from '../helpers/gpu.js';
import { uploadSplit } from '../../src/train/gpu-dataset.js';
import { Trainer } from '../../src/train/trainer.js';

const model = () =>
  new Sequential(
    new Conv2d({ outChannels: 3, kernelSize: 3 }), new BatchNorm2d({ affine: false }), new ReLU(), new Flatten(),
    new Linear({ outFeatures: 6 }), new BatchNorm1d({ trackRunningStats: false }), new ReLU(), new Linear({ outFeatures: 4, bias: false }), new BatchNorm1d(4, 1e-5, 0.1, false, false),
  );

describe('BatchNorm affine and track_running_stats', () => {
  it("leave out PyTorch's tensors: no weight and bias without affine, no running statistics (nor num_batches_tracked) untracked", () => {
    const plan = planModel(model(), { inputShape: [1, 5, 5] });
    const names = plan.nodes.flatMap((n) => [...n.parameters, ...n.buffers].map((t) => t.name));
    expect(names).toEqual(['0.weight', '0.bias', '1.running_mean', '1.running_var', '4.weight', '4.bias', '5.weight', '5.bias', '7.weight']);
    expect(new BatchNorm2d(8, 1e-3, 0.2, false, false)).toMatchObject({ numFeatures: 8, eps: 1e-3, momentum: 0.2, affine: false, trackRunningStats: false });
    expect(() => new BatchNorm2d({ affine: 'no' as never })).toThrow('BatchNorm2d: affine must be true or false, got "no"');
    expect(() => new BatchNorm1d({ track_running_stats: false } as never)).toThrow(/BatchNorm1d: unknown option 'track_running_stats'/);
    const text = modelFileText(model(), [1, 5, 5]);
    const again = parseModelFile(text, 'bn.json');
    expect(modelFileText(again.model, again.input)).toBe(text);
    expect(JSON.parse(text).layers[8]).toMatchObject({ type: 'BatchNorm1d', num_features: 4, affine: false, track_running_stats: false });
  });

  gpuTest("evaluation: an untracked batch norm normalises with its batch's statistics (as PyTorch's eval), a tracked one with the running ones; checkpoints round-trip", async (ctx) => {
    const net = new Network(ctx, model(), { inputShape: [1, 5, 5], maxBatch: 8, seed: 2 });
    // Running statistics other than the fresh ones, so that the tracked layer's eval mode shows.
    ctx.write(net.buffers[0]!.value, [0.3, -0.2, 0.1]);
    ctx.write(net.buffers[1]!.value, [1.5, 0.7, 2]);
    const inputs = Float32Array.from(randomArray(7 * 25, 3, -2, 2));
    const out = await net.predict(inputs);
    const params: Record<string, Float64Array> = {};
    for (const p of net.parameters) params[p.name] = Float64Array.from(await ctx.read(p.value));
    const buffers: Record<string, Float64Array> = {};
    for (const b of net.buffers) buffers[b.name] = Float64Array.from(await ctx.read(b.value));
    const ref = networkStepRef({ plan: net.plan, params, buffers, input: inputs, labels: new Uint32Array(7), batch: 7, mode: 'eval' });
    expectAllClose('predict', out, ref.activations['8']!, TOLERANCE.forward);
    // An untracked layer's outputs have the batch's mean 0 in eval too (4 features, 7 samples).
    for (let f = 0; f < 4; f++) expect(Math.abs([0, 1, 2, 3, 4, 5, 6].reduce((a, s) => a + out[s * 4 + f]!, 0))).toBeLessThan(1e-5);
    const bytes = await encodeCheckpoint(net);
    expect(Object.keys(decodeSafetensors(bytes, 'x').tensors).filter((n) => !n.startsWith('optimizer.')).sort()).toEqual(['0.bias', '0.weight', '1.num_batches_tracked', '1.running_mean', '1.running_var', '4.bias', '4.weight', '5.bias', '5.weight', '7.weight']);
    const other = new Network(ctx, model(), { inputShape: [1, 5, 5], maxBatch: 8, seed: 9 });
    loadCheckpoint(other, bytes, 'bn.safetensors');
    expectAllClose('predict after a load', await other.predict(inputs), out, TOLERANCE.exact);
    // One sample: the untracked BatchNorm1d would see one value a channel (PyTorch raises in eval too).
    await expect(net.predict(inputs.subarray(0, 25))).rejects.toThrow(/BatchNorm1d '5' \(track_running_stats false\): 1 value per channel in an evaluation batch of 1, as PyTorch refuses too/);
    // A Trainer's evaluation whose last batch would be 1 (5 samples at batch 2): refused before any batch runs.
    const five = { inputs: inputs.subarray(0, 5 * 25), labels: Uint32Array.of(0, 1, 2, 3, 0), count: 5, shape: [1, 5, 5] };
    const trainer = new Trainer(ctx, net, uploadSplit(ctx, 'train', { ...five, count: 4, inputs: inputs.subarray(0, 4 * 25), labels: five.labels.subarray(0, 4) }), uploadSplit(ctx, 'test', five), { batch: 2, seed: 1 });
    const submitted: string[] = [];
    const submit = ctx.submit.bind(ctx);
    ctx.submit = ((label: string, ...rest: unknown[]) => (submitted.push(label), (submit as (...a: unknown[]) => unknown)(label, ...rest))) as typeof ctx.submit;
    try {
      await expect(trainer.evaluate()).rejects.toThrow(/BatchNorm1d '5' \(track_running_stats false\): 1 value per channel in an evaluation batch of 1/);
      await expect(trainer.probabilities(trainer.test!)).rejects.toThrow(/an evaluation batch of 1/);
    } finally {
      ctx.submit = submit;
    }
    expect(submitted).toEqual([]);
    // More samples than maxBatch: chunks of 8 and 2 would each take their own statistics; PyTorch's one batch takes all 10's.
    const ten = Float32Array.from(randomArray(10 * 25, 4, -2, 2));
    await expect(net.predict(ten)).rejects.toThrow("predict: 10 samples, more than the network's maxBatch 8, and BatchNorm1d '5' (track_running_stats false) normalises with its batch's own statistics in eval");
    // A tracked network predicts any count in chunks (its eval output does not depend on the batch).
    const tracked = new Network(ctx, new Sequential(new Conv2d(1, 3, 3), new BatchNorm2d(3), new Flatten(), new Linear(27, 4)), { inputShape: [1, 5, 5], maxBatch: 8, seed: 2 });
    const whole = await tracked.predict(ten);
    expectAllClose('tracked, in chunks of 8 and 2 against one of 2', whole.subarray(8 * 4), await tracked.predict(ten.subarray(8 * 25)), TOLERANCE.exact);
  });
});
