/**
 * Gradient clipping in a network's step (the `clipGradNorm` and `clipGradValue` options, PyTorch's
 * clip_grad_norm_ and clip_grad_value_ between backward and step): shuffled steps of the training
 * loop against a float64 run of the same steps (networkStepRef, then clipGradNormRef or
 * clipGradValueRef, then the optimizer's reference), the norm `lastGradNorm` reads, and the
 * options a network refuses.
 */
import { describe, expect, it } from 'vitest';
import { BatchNorm2d, Conv2d, Flatten, Linear, ReLU, Sequential } from '../../src/layers/index.js';
import { Network } from '../../src/plan/network.js';
import { Adadelta, Adam, Adamax, NAdam, RAdam, SGD } from '../../src/optim/optimizers.js';
import { checkClipping, clippingFromMetadata, clippingMetadata, type ClipGradNorm } from '../../src/optim/clipping.js';
import { gpuDecisions } from '../../src/plan/check.js';
import { networkStepRef } from '../../src/reference/network.js';
import { adadeltaRef, adamaxRef, adamRef, clipGradNormRef, clipGradValueRef, nadamRef, radamRef, sgdRef } from '../../src/reference/optimizers.js';
import { shufflePermutationRef } from '../../src/reference/random.js';
import { uploadSplit, type TensorSplit } from '../../src/train/gpu-dataset.js';
import { Trainer } from '../../src/train/trainer.js';
import { TOLERANCE, expectAllClose, randomArray } from '../helpers/allclose.js';
import { gpuTest } from '../helpers/gpu.js';

const SHAPE = [3, 5, 5] as const;
const SIZE = 75;
const COUNT = 10; // batches of 4, 4 and 2
const BATCH = 4;
const SEED = 3;

function split(count: number, seed: number): TensorSplit {
  return { inputs: Float32Array.from(randomArray(count * SIZE, seed, -3, 3)), labels: Uint8Array.from(randomArray(count, seed + 1, 0, 5), Math.floor), count, shape: SHAPE };
}

const model = () => new Sequential(new Conv2d({ inChannels: 3, outChannels: 4, kernelSize: 3, padding: 1 }), new BatchNorm2d(), new ReLU(), new Flatten(), new Linear({ outFeatures: 5 }));

type Tensors = Record<string, Float64Array>;

describe('gradient clipping in the training step', () => {
  const cases: { name: string; optimizer: () => SGD | Adam | NAdam | RAdam | Adamax | Adadelta; clip: { clipGradNorm?: ClipGradNorm; clipGradValue?: number } }[] = [
    { name: 'SGD with momentum, clip_grad_norm_ 0.5', optimizer: () => new SGD({ lr: 0.1, momentum: 0.9 }), clip: { clipGradNorm: 0.5 } },
    { name: 'Adam, clip_grad_norm_ 0.2 of the ∞-norm', optimizer: () => new Adam({ lr: 0.01, weightDecay: 0.01 }), clip: { clipGradNorm: { maxNorm: 0.2, normType: 'inf' } } },
    { name: 'SGD, clip_grad_value_ 0.05', optimizer: () => new SGD({ lr: 0.1, weightDecay: 1e-3 }), clip: { clipGradValue: 0.05 } },
    { name: 'NAdam, clip_grad_norm_ 0.5', optimizer: () => new NAdam({ lr: 0.01, weightDecay: 0.01 }), clip: { clipGradNorm: 0.5 } },
    // Six steps: RAdam's first five un-adapted, the sixth rectified.
    { name: 'RAdam, clip_grad_value_ 0.05', optimizer: () => new RAdam({ lr: 0.01, weightDecay: 0.01 }), clip: { clipGradValue: 0.05 } },
    { name: 'Adamax, clip_grad_norm_ 0.5', optimizer: () => new Adamax({ lr: 0.01, weightDecay: 0.01 }), clip: { clipGradNorm: 0.5 } },
    { name: 'Adadelta, clip_grad_value_ 0.05', optimizer: () => new Adadelta({ weightDecay: 0.01 }), clip: { clipGradValue: 0.05 } },
  ];
  for (const c of cases) {
    gpuTest(`${c.name}: two shuffled epochs against the float64 run of the same steps`, async (ctx) => {
      const data = split(COUNT, 11);
      const net = new Network(ctx, model(), { inputShape: [...SHAPE], maxBatch: BATCH, seed: SEED, optimizer: c.optimizer(), ...c.clip });
      const clipping = net.clipping!;
      expect(clipping).toEqual(checkClipping(c.clip));
      const trainer = new Trainer(ctx, net, uploadSplit(ctx, 'train', data), uploadSplit(ctx, 'test', split(4, 13)), { batch: BATCH, seed: SEED });
      const opt = net.optimizer;
      let params: Tensors = {};
      let running: Tensors = {};
      const s1: Tensors = {};
      const s2: Tensors = {};
      for (const p of net.parameters) {
        params[p.name] = Float64Array.from(await ctx.read(p.value));
        s1[p.name] = new Float64Array(p.value.length);
        s2[p.name] = new Float64Array(p.value.length);
      }
      for (const b of net.buffers) running[b.name] = Float64Array.from(await ctx.read(b.value));
      let step = 0;
      let clippedSteps = 0;
      // NAdam's mu_product (one for all parameters).
      let muProduct = 1;
      for (let epoch = 1; epoch <= 2; epoch++) {
        const order = shufflePermutationRef(COUNT, SEED, epoch);
        for (let first = 0, inEpoch = 0; first < COUNT; first += BATCH, inEpoch++) {
          await trainer.trainEpoch(epoch, { fromStep: inEpoch, maxSteps: 1 });
          step++;
          const batch = Math.min(BATCH, COUNT - first);
          const input = new Float64Array(batch * SIZE);
          const labels = new Uint32Array(batch);
          for (let b = 0; b < batch; b++) {
            const sample = order[first + b]!;
            input.set(data.inputs.subarray(sample * SIZE, (sample + 1) * SIZE), b * SIZE);
            labels[b] = data.labels![sample]!;
          }
          const ref = networkStepRef({ plan: net.plan, params, buffers: running, input, labels, batch, mode: 'train', follow: await gpuDecisions(net, batch) });
          let grads: Tensors;
          if (clipping.kind === 'norm') {
            const clipped = clipGradNormRef(ref.grads, clipping.maxNorm, clipping.normType);
            // The GPU's gradients are within TOLERANCE.gradient (1e-4 relative) of float64: their norm and factor too.
            const measured = await net.lastGradNorm();
            expect(Math.abs(measured / clipped.norm - 1), `step ${step}: the norm ${measured} against ${clipped.norm}`).toBeLessThan(1e-4);
            expect(Math.abs((await net.lastClipFactor()) / clipped.factor - 1), `step ${step}: the factor`).toBeLessThan(1e-4);
            if (clipped.norm > clipping.maxNorm) clippedSteps++;
            grads = clipped.grads;
          } else {
            grads = clipGradValueRef(ref.grads, clipping.clipValue);
            if (Object.values(ref.grads).some((g) => g.some((v) => Math.abs(v) > clipping.clipValue))) clippedSteps++;
          }
          const next: Tensors = {};
          const muBefore = muProduct;
          for (const name of Object.keys(params)) {
            if (opt.kind === 'sgd') {
              const r = sgdRef(params[name]!, grads[name]!, s1[name]!, { lr: opt.lr, momentum: opt.momentum, dampening: 0, weightDecay: opt.weightDecay, nesterov: false, first: step === 1 });
              next[name] = r.param;
              s1[name] = r.buffer;
            } else if (opt.kind === 'adam' || opt.kind === 'adamw') {
              const r = adamRef(params[name]!, grads[name]!, s1[name]!, s2[name]!, { lr: opt.lr, beta1: opt.betas[0], beta2: opt.betas[1], eps: opt.eps, weightDecay: opt.weightDecay, decoupled: false, step });
              next[name] = r.param;
              s1[name] = r.expAvg;
              s2[name] = r.expAvgSq;
            } else if (opt.kind === 'nadam' || opt.kind === 'radam') {
              const o = { lr: opt.lr, beta1: opt.betas[0], beta2: opt.betas[1], eps: opt.eps, weightDecay: opt.weightDecay, step };
              const r = opt.kind === 'nadam' ? nadamRef(params[name]!, grads[name]!, s1[name]!, s2[name]!, { ...o, momentumDecay: opt.momentumDecay, muProduct: muBefore }) : radamRef(params[name]!, grads[name]!, s1[name]!, s2[name]!, o);
              if ('muProduct' in r) muProduct = r.muProduct;
              next[name] = r.param;
              s1[name] = r.expAvg;
              s2[name] = r.expAvgSq;
            } else if (opt.kind === 'adamax') {
              const r = adamaxRef(params[name]!, grads[name]!, s1[name]!, s2[name]!, { lr: opt.lr, beta1: opt.betas[0], beta2: opt.betas[1], eps: opt.eps, weightDecay: opt.weightDecay, step });
              next[name] = r.param;
              s1[name] = r.expAvg;
              s2[name] = r.expInf;
            } else if (opt.kind === 'adadelta') {
              const r = adadeltaRef(params[name]!, grads[name]!, s1[name]!, s2[name]!, { lr: opt.lr, rho: opt.rho, eps: opt.eps, weightDecay: opt.weightDecay });
              next[name] = r.param;
              s1[name] = r.squareAvg;
              s2[name] = r.accDelta;
            }
          }
          params = next;
          running = { ...running, ...ref.buffers };
        }
      }
      // The bounds are set so that most steps clip (else this would test no clipping).
      expect(clippedSteps, 'steps whose gradients the bound clipped').toBeGreaterThanOrEqual(4);
      for (const p of net.parameters) {
        expectAllClose(`${p.name} after ${step} steps`, await ctx.read(p.value), params[p.name]!, TOLERANCE.gradient);
        const state = opt.kind === 'sgd' ? 'momentum_buffer' : opt.kind === 'adadelta' ? 'square_avg' : 'exp_avg';
        if (!(opt instanceof SGD) || opt.momentum !== 0) expectAllClose(`${p.name} ${state} after ${step} steps`, await ctx.read(p.state[state]!), s1[p.name]!, TOLERANCE.gradient);
      }
    });
  }

  gpuTest('a network without clipping has no norm to read; one with clipping reports it in its summary', async (ctx) => {
    const plain = new Network(ctx, model(), { inputShape: [...SHAPE], maxBatch: 2 });
    expect(plain.clipping).toBeUndefined();
    await expect(plain.lastGradNorm()).rejects.toThrow(/clipGradNorm/);
    const clipped = new Network(ctx, model(), { inputShape: [...SHAPE], maxBatch: 2, clipGradNorm: { maxNorm: 1, normType: 1 } });
    // Nothing measured before the first step: NaN, not a norm of 0.
    expect(await clipped.lastGradNorm()).toBeNaN();
    expect(clipped.summary()).toContain('clip_grad_norm_ 1 (1-norm)');
    expect(clipped.memory.optimizer).toBeGreaterThan(plain.memory.optimizer);
  });
});

describe('the clipping options', () => {
  it('are read as PyTorch names them, and refused with what was expected', () => {
    expect(checkClipping({})).toBeUndefined();
    expect(checkClipping({ clipGradNorm: 1 })).toEqual({ kind: 'norm', maxNorm: 1, normType: 2 });
    expect(checkClipping({ clipGradNorm: { maxNorm: 2, normType: Infinity } })).toEqual({ kind: 'norm', maxNorm: 2, normType: Infinity });
    expect(checkClipping({ clipGradNorm: { maxNorm: 0 } })).toEqual({ kind: 'norm', maxNorm: 0, normType: 2 });
    expect(checkClipping({ clipGradValue: 0.5 })).toEqual({ kind: 'value', clipValue: 0.5 });
    expect(() => checkClipping({ clipGradNorm: 1, clipGradValue: 1 })).toThrow(/give one/);
    expect(() => checkClipping({ clipGradNorm: -1 })).toThrow(/clipGradNorm: expected a finite number ≥ 0, got -1/);
    expect(() => checkClipping({ clipGradNorm: NaN })).toThrow(/clipGradNorm/);
    expect(() => checkClipping({ clipGradValue: Infinity })).toThrow(/clipGradValue: expected a finite number ≥ 0, got Infinity/);
    expect(() => checkClipping({ clipGradNorm: { maxNorm: 1, normType: 3 } })).toThrow(/normType: expected 1, 2 or 'inf'.*got 3/);
    expect(() => checkClipping({ clipGradNorm: { maxNorm: 1, normType: -Infinity } })).toThrow(/normType: expected 1, 2 or 'inf'.*got -Infinity$/);
    expect(() => checkClipping({ clipGradNorm: { maxNorm: 1, norm_type: 2 } as never })).toThrow(/unknown field 'norm_type'/);
    expect(() => checkClipping({ clipGradNorm: '1' as never })).toThrow(/expected a max norm or \{ maxNorm, normType \}/);
  });

  it('round-trip through a checkpoint\'s metadata; a record that could not have been written is refused naming its key', () => {
    for (const options of [{ clipGradNorm: 0.5 }, { clipGradNorm: { maxNorm: 3, normType: 'inf' as const } }, { clipGradNorm: { maxNorm: 3, normType: 1 } }, { clipGradValue: 0.25 }]) {
      const clipping = checkClipping(options);
      expect(checkClipping(clippingFromMetadata(clippingMetadata(clipping)))).toEqual(clipping);
    }
    expect(clippingMetadata(undefined)).toEqual({});
    expect(clippingFromMetadata({})).toEqual({});
    expect(() => clippingFromMetadata({ clip_grad_norm: 'x' })).toThrow(/__metadata__.clip_grad_norm is "x", expected a finite number ≥ 0/);
    expect(() => clippingFromMetadata({ clip_grad_value: '-1' })).toThrow(/__metadata__.clip_grad_value is "-1"/);
    expect(() => clippingFromMetadata({ clip_grad_norm: '1', clip_grad_norm_type: '3' })).toThrow(/clip_grad_norm_type is "3", expected 1, 2 or inf/);
    expect(() => clippingFromMetadata({ clip_grad_norm_type: '2' })).toThrow(/without clip_grad_norm/);
    expect(() => clippingFromMetadata({ clip_grad_value: '1', clip_grad_norm_type: '2' })).toThrow(/clip_grad_norm_type is recorded with clip_grad_value/);
    expect(() => clippingFromMetadata({ clip_grad_norm: '1', clip_grad_value: '1' })).toThrow(/both/);
  });
});
