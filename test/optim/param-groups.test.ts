/**
 * Param groups' weight decays and learning rates (PyTorch's param_groups [{ params, lr,
 * weight_decay }]): one value a parameter in the optimizer kernels (GROUP_DECAY, GROUP_LR), training
 * steps against the float64 step with each parameter's, checkpoints (weight_decay_groups,
 * lr_groups, rebuilt by optimizerFromMetadata, named in differences), and the groups refused.
 * test/pytorch/param-groups-vs-pytorch.test.ts holds the rates under schedules against PyTorch's.
 */
import { describe, expect, it } from 'vitest';
import { BatchNorm1d, Flatten, Linear, ReLU, Sequential } from '../../src/layers/index.js';
import { Network } from '../../src/plan/network.js';
import { Adam, AdamW, RMSprop, SGD, learningRates, weightDecays } from '../../src/optim/optimizers.js';
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
    expect(() => new Adam({ paramGroups: [{ params: ['a'], weightDecay: 0, betas: [0.5, 0.5] }] as never })).toThrow("Adam: paramGroups[0] has 'betas'; a group takes params, lr and weightDecay (its own betas is not supported)");
    expect(() => new SGD({ paramGroups: [{ params: ['a'], weight_decay: 0 }] as never })).toThrow("SGD: paramGroups[0] has 'weight_decay'; a group takes params, lr and weightDecay (its own weight_decay is weightDecay here)");
    expect(() => new SGD({ paramGroups: [{ params: ['a'], lr: -0.1 }] })).toThrow(/SGD: paramGroups\[0\]\.lr must be a finite number ≥ 0, got -0.1/);
    expect(() => new SGD({ paramGroups: [{ params: ['a'], lr: 0.1 }] }, { kind: 'onecycle', maxLr: 0.1, totalSteps: 100 })).toThrow("SGD: paramGroups[0] has a learning rate of its own, but OneCycleLR's max_lr sets every group's rate");
    expect(() => new Adam({ paramGroups: [{ params: ['a'], lr: 0.1 }] }, { kind: 'plateau' })).toThrow("Adam: paramGroups[0] has a learning rate of its own, which ReduceLROnPlateau here does not keep apart");
    // A group's weight decay alone goes with any schedule.
    expect(() => new SGD({ paramGroups: [{ params: ['a'], weightDecay: 0 }] }, { kind: 'onecycle', maxLr: 0.1, totalSteps: 100 })).not.toThrow();
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

describe('param groups: a learning rate per parameter', () => {
  it("each parameter takes its group's rate, else the optimizer's; a group may set either or both", () => {
    const params = [{ name: '1.weight', shape: [8, 6] }, { name: '1.bias', shape: [8] }, { name: '4.weight', shape: [3, 8] }];
    const opt = new SGD({ lr: 0.1, weightDecay: 0.01, paramGroups: [{ params: ['4.weight'], lr: 0.5 }, { params: ['1.bias'], weightDecay: 0, lr: 0 }] });
    expect(learningRates(opt, params)).toEqual([0.1, 0, 0.5]);
    expect(weightDecays(opt, params)).toEqual([0.01, 0, 0.01]);
    expect(opt.describe()).toContain('2 param groups (lr 0.5; lr 0 weight decay 0)');
  });

  gpuTest('SGD: each parameter moves by its own group’s rate (the update against −lr·gradient, read back), under StepLR’s second period', async (ctx) => {
    const opt = new SGD({ lr: 0.1, paramGroups: [{ params: ['4.weight', '4.bias'], lr: 0.8 }, { params: ['2.weight'], lr: 0 }] }, { kind: 'step', stepSize: 1, gamma: 0.5 });
    const net = new Network(ctx, model(), { inputShape: [6], maxBatch: 16, seed: 2, optimizer: opt });
    const before = await Promise.all(net.parameters.map(async (p) => Float64Array.from(await ctx.read(p.value))));
    const input = Float32Array.from(randomArray(16 * 6, 4, -2, 2));
    const { LossHead } = await import('../../src/train/loss-head.js');
    const { recordPass } = await import('../../src/gpu/context.js');
    const head = new LossHead(ctx, net, 'lr test');
    ctx.write(net.input, input);
    ctx.write(head.labels, Uint32Array.from({ length: 16 }, (_, i) => i % 3));
    head.reset();
    net.beginStep(16, 1); // epoch 1: StepLR has halved every group's own rate once
    expect(net.stepLearningRates).toEqual([0.05, 0, 0.05, 0.4, 0.4]);
    const dispatches = [...(await net.forward(16, 'train')), ...(await head.dispatches(16, true)), ...(await net.backward(16)), ...(await net.optimizerStep())];
    ctx.submit('lr test', (e) => recordPass(e, 'lr test', dispatches));
    for (const [k, p] of net.parameters.entries()) {
      const [after, grad] = [await ctx.read(p.value), await ctx.read(p.grad)];
      const rate = net.stepLearningRates[k]!;
      let worst = 0;
      for (let i = 0; i < grad.length; i++) worst = Math.max(worst, Math.abs(after[i]! - (before[k]![i]! - rate * grad[i]!)));
      expect(worst, `${p.name}: moved by lr ${rate} × its gradient`).toBeLessThan(1e-6);
      if (rate === 0) expect(Array.from(after), `${p.name} (lr 0) unchanged`).toEqual(Array.from(before[k]!));
    }
  });

  for (const optimizer of [
    () => new Adam({ lr: 0.01, paramGroups: [{ params: ['4.weight', '4.bias'], lr: 0.05 }] }, { kind: 'cosine', tMax: 3, etaMin: 0.001 }),
    () => new AdamW({ lr: 0.01, weightDecay: 0.5, paramGroups: [{ params: (_: string, shape: readonly number[]) => shape.length === 1, lr: 0.03, weightDecay: 0 }] }),
    () => new RMSprop({ lr: 0.01, momentum: 0.5, centered: true, paramGroups: [{ params: ['1.weight'], lr: 0.002 }] }, { kind: 'exponential', gamma: 0.9 }),
    () => new SGD({ lr: 0.1, momentum: 0.9, nesterov: true, paramGroups: [{ params: ['1.weight'], lr: 0.02 }] }),
  ]) {
    gpuTest(`${optimizer().describe()}: a training step against float64 with each parameter's rate`, async (ctx) => {
      const net = new Network(ctx, model(), { inputShape: [6], maxBatch: 16, seed: 2, optimizer: optimizer(), clipGradNorm: 5 });
      expect(new Set(net.learningRates).size).toBe(2);
      const report = await checkNetworkStep(net, Float32Array.from(randomArray(16 * 6, 4, -2, 2)), Uint32Array.from({ length: 16 }, (_, i) => i % 3));
      expect(report.rows.filter((r) => r.ratio > 1).map((r) => r.tensor)).toEqual([]);
    });
  }

  gpuTest('checkpoints record them (lr_groups), optimizerFromMetadata rebuilds them with the weight decays, differences name another', async (ctx) => {
    const groups = [{ params: ['4.weight', '4.bias'], lr: 0.05 }, { params: (_: string, shape: readonly number[]) => shape.length === 1, weightDecay: 0 }];
    const net = new Network(ctx, model(), { inputShape: [6], maxBatch: 4, optimizer: new AdamW({ paramGroups: [groups[0]!, { params: ['2.weight', '2.bias'], weightDecay: 0 }] }) });
    const bytes = await encodeCheckpoint(net);
    const { metadata } = decodeSafetensors(bytes, 'x');
    expect(JSON.parse(metadata.lr_groups!)).toEqual({ '4.weight': 0.05, '4.bias': 0.05 });
    expect(JSON.parse(metadata.weight_decay_groups!)).toEqual({ '2.weight': 0, '2.bias': 0 });
    const again = new Network(ctx, model(), { inputShape: [6], maxBatch: 4, optimizer: optimizerFromMetadata(metadata, 'x') });
    expect(again.learningRates).toEqual(net.learningRates);
    expect(again.weightDecays).toEqual(net.weightDecays);
    expect(loadCheckpoint(again, bytes, 'g.safetensors').differences).toEqual([]);
    const plain = new Network(ctx, model(), { inputShape: [6], maxBatch: 4, optimizer: new AdamW({ paramGroups: [{ params: ['2.weight', '2.bias'], weightDecay: 0 }] }) });
    expect(loadCheckpoint(plain, bytes, 'g.safetensors').differences).toEqual([`lr_groups ${metadata.lr_groups} (this network's none)`]);
  });
});
