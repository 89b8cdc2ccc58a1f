/**
 * Param groups' weight decays (PyTorch's param_groups [{ params, weight_decay }]): one value a
 * parameter in the optimizer kernels (GROUP_DECAY), a training step against the float64 step
 * with each parameter's decay, checkpoints (weight_decay_groups, rebuilt by optimizerFromMetadata,
 * named in differences), and the groups refused.
 */
import { describe, expect, it } from 'vitest';
import { BatchNorm1d, Flatten, Linear, ReLU, Sequential } from '../../src/layers/index.js';
import { Network } from '../../src/plan/network.js';
import { Adam, AdamW, SGD, weightDecays } from '../../src/optim/optimizers.js';
import { checkNetworkStep } from '../../src/plan/check.js';
import { decodeSafetensors, encodeSafetensors } from '../../src/checkpoint/safetensors.js';
import { encodeCheckpoint, loadCheckpoint, optimizerFromMetadata } from '../../src/checkpoint/checkpoint.js';
import { randomArray } from '../helpers/allclose.js';
import { gpuTest } from '../helpers/gpu.js';

// No bias before the batch norm: its gradient is rounding noise, which Adam's step would amplify to
// ±lr. Weights of 1,800 and 900 elements span several arena blocks (256 each), each block finding
// its parameter's decay through its slot.
const model = () => new Sequential(new Flatten(), new Linear({ outFeatures: 300, bias: false }), new BatchNorm1d(), new ReLU(), new Linear({ outFeatures: 3 }));
const oneD = { params: (_: string, shape: readonly number[]) => shape.length === 1, weightDecay: 0 };

describe('param groups: weight decay per parameter', () => {
  it('each parameter takes its group\'s weight decay, else the optimizer\'s; a missing name or a parameter in two groups is refused', () => {
    const params = [{ name: '1.weight', shape: [8, 6] }, { name: '1.bias', shape: [8] }, { name: '2.weight', shape: [8] }, { name: '4.weight', shape: [3, 8] }];
    expect(weightDecays(new AdamW({ paramGroups: [oneD] }), params)).toEqual([0.01, 0, 0, 0.01]);
    expect(weightDecays(new SGD({ weightDecay: 0.1, paramGroups: [{ params: ['4.weight'], weightDecay: 0.5 }] }), params)).toEqual([0.1, 0.1, 0.1, 0.5]);
    expect(() => weightDecays(new SGD({ paramGroups: [{ params: ['fc.bias'], weightDecay: 0 }] }), params)).toThrow("paramGroups[0]: the network has no parameter 'fc.bias' (its parameters: 1.weight, 1.bias, 2.weight, 4.weight)");
    expect(() => weightDecays(new SGD({ paramGroups: [oneD, { params: ['1.bias'], weightDecay: 1 }] }), params)).toThrow("paramGroups[0] and paramGroups[1] both hold '1.bias' (PyTorch: some parameters appear in more than one parameter group)");
    expect(() => new Adam({ paramGroups: [{ params: ['a'], weightDecay: 0, lr: 0.1 }] as never })).toThrow("Adam: paramGroups[0] has 'lr'; a group takes params and weightDecay (its own learning rate is not supported)");
    expect(() => new SGD({ paramGroups: [{ params: 'a', weightDecay: 0 }] as never })).toThrow(/SGD: paramGroups\[0\]\.params must be a list of parameter names or a function/);
    expect(() => new SGD({ paramGroups: [{ params: ['a'], weightDecay: -1 }] })).toThrow(/SGD: paramGroups\[0\]\.weight_decay must be a finite number ≥ 0, got -1/);
    expect(new AdamW({ paramGroups: [oneD] }).describe()).toContain('1 param group (weight decay 0)');
  });

  for (const optimizer of [() => new SGD({ lr: 0.1, momentum: 0.9, weightDecay: 0.5, paramGroups: [oneD] }), () => new Adam({ lr: 0.05, weightDecay: 0.5, paramGroups: [oneD] }), () => new AdamW({ lr: 0.05, weightDecay: 0.5, paramGroups: [{ params: ['4.weight'], weightDecay: 0.05 }] })]) {
    gpuTest(`${optimizer().describe()}: a training step against float64 with each parameter's decay`, async (ctx) => {
      const net = new Network(ctx, model(), { inputShape: [6], maxBatch: 16, seed: 2, optimizer: optimizer() });
      expect(new Set(net.weightDecays).size).toBe(2);
      const report = await checkNetworkStep(net, Float32Array.from(randomArray(16 * 6, 4, -2, 2)), Uint32Array.from({ length: 16 }, (_, i) => i % 3));
      expect(report.rows.filter((r) => r.ratio > 1).map((r) => r.tensor)).toEqual([]);
      // The decay is large enough that the optimizer's value on every parameter would fail the check.
      const uniform = new Network(ctx, model(), { inputShape: [6], maxBatch: 16, seed: 2, optimizer: optimizer() });
      (uniform as unknown as { weightDecays: number[] }).weightDecays = uniform.weightDecays.map(() => uniform.optimizer.weightDecay);
      const wrong = await checkNetworkStep(uniform, Float32Array.from(randomArray(16 * 6, 4, -2, 2)), Uint32Array.from({ length: 16 }, (_, i) => i % 3));
      expect(wrong.passed).toBe(false);
    });
  }

  gpuTest('checkpoints record them (weight_decay_groups), optimizerFromMetadata rebuilds them, differences name another', async (ctx) => {
    const net = new Network(ctx, model(), { inputShape: [6], maxBatch: 4, optimizer: new AdamW({ paramGroups: [oneD] }) });
    const bytes = await encodeCheckpoint(net);
    const { metadata, tensors } = decodeSafetensors(bytes, 'x');
    expect(JSON.parse(metadata.weight_decay_groups!)).toEqual({ '2.weight': 0, '2.bias': 0, '4.bias': 0 });
    const again = new Network(ctx, model(), { inputShape: [6], maxBatch: 4, optimizer: optimizerFromMetadata(metadata, 'x') });
    expect(again.weightDecays).toEqual(net.weightDecays);
    expect(loadCheckpoint(again, bytes, 'g.safetensors').differences).toEqual([]);
    const plain = new Network(ctx, model(), { inputShape: [6], maxBatch: 4, optimizer: new AdamW() });
    expect(loadCheckpoint(plain, bytes, 'g.safetensors').differences).toEqual([`weight_decay_groups ${metadata.weight_decay_groups} (this network's none)`]);
    const bad = encodeSafetensors(tensors, { ...metadata, weight_decay_groups: '{"1.bias": -1}' });
    expect(() => loadCheckpoint(plain, bad, 'bad.safetensors')).toThrow(/bad\.safetensors: __metadata__\.weight_decay_groups is .*expected JSON of parameter names and weight decays ≥ 0/);
  });
});
