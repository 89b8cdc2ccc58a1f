/**
 * sgd_step, adam_step (Adam, AdamW, NAdam, RAdam, Adamax), rmsprop_step, adagrad_step and adadelta_step over several
 * steps against the float64 reference of PyTorch's algorithms: every option (momentum, dampening,
 * Nesterov, weight decay; Adam, AdamW; NAdam's momentum_decay, RAdam's both branches; Adamax and
 * Adadelta at awkward lengths and past 65,535 workgroups), the
 * per-step values read from the hyper buffer as the network writes them; grad_norm (the total
 * norm and clip_grad_norm_'s factor, every norm type, at a real size) and both steps' clipping
 * variants against clipGradNormRef and clipGradValueRef.
 */
import { describe, expect } from 'vitest';
import { recordPass } from '../../src/gpu/context.js';
import { workgroupCounts } from '../../src/gpu/kernel.js';
import { CLIP_AT, GRAD_NORM_CHUNK, HYPER_LENGTH, adadeltaStep, adagradStep, adamStep, gradNorm, gradNormPartials, rmspropStep, sgdStep, slotBlocks } from '../../src/kernels/optimizers.js';
import { createArena } from '../../src/gpu/arena.js';
import type { Dispatch, GpuContext } from '../../src/gpu/context.js';
import { HEALTH_NONE, HEALTH_SLOTS, decodeHealth, freshHealth, healthLength } from '../../src/kernels/health.js';
import { Adadelta, Adagrad, Adam, Adamax, AdamW, NAdam, RAdam, RMSprop, SGD, adadeltaKernelParams, adagradKernelParams, adamKernelParams, adamVariant, clipVariant, hyperValues, rmspropKernelParams, sgdKernelParams } from '../../src/optim/optimizers.js';
import { checkClipping } from '../../src/optim/clipping.js';
import { adadeltaRef, adagradRef, adamaxRef, adamRef, clipGradNormRef, clipGradValueRef, nadamRef, radamRef, rmspropRef, sgdRef } from '../../src/reference/optimizers.js';
import { expectAllClose, f32, randomArray } from '../helpers/allclose.js';
import { gpuTest } from '../helpers/gpu.js';

/** The guard's slots of a lone tensor of `length` elements: every block in parameter 0's slot. */
const oneSlot = (ctx: GpuContext, length: number) => ctx.tensor('slots', [slotBlocks(length)], { dtype: 'u32', data: new Uint32Array(slotBlocks(length)).fill(HEALTH_SLOTS.parameters) });

/** f32 updates against float64 over three steps: a few ulps of the parameter. */
const UPDATE = { atol: 1e-7, rtol: 1e-5 };
const LENGTH = 1029;

describe('sgd_step', () => {
  const cases = [
    { momentum: 0, dampening: 0, weightDecay: 0, nesterov: false },
    { momentum: 0.9, dampening: 0, weightDecay: 0, nesterov: false },
    { momentum: 0.9, dampening: 0.3, weightDecay: 0.01, nesterov: false },
    { momentum: 0.8, dampening: 0, weightDecay: 5e-4, nesterov: true },
  ];
  for (const c of cases) {
    gpuTest(JSON.stringify(c), async (ctx) => {
      const opt = new SGD({ lr: 0.05, ...c });
      let param: Float64Array<ArrayBufferLike> = f32(randomArray(LENGTH, 1));
      let buffer: Float64Array<ArrayBufferLike> = new Float64Array(LENGTH);
      const tparam = ctx.tensor('param', [LENGTH], { data: param });
      const tvelocity = ctx.tensor('velocity', [LENGTH]);
      const tgrad = ctx.tensor('grad', [LENGTH]);
      const hyper = ctx.tensor('hyper', [HYPER_LENGTH]);
      const kernel = (await ctx.compile(sgdStep)).bind(
        { hyper, grad: tgrad, velocity: tvelocity, param: tparam, health: ctx.tensor('health', [healthLength(1)], { dtype: 'u32', data: freshHealth(1) }), slots: oneSlot(ctx, LENGTH) },
        { length: LENGTH, ...sgdKernelParams(opt) },
      );
      for (let step = 1; step <= 3; step++) {
        const grad = f32(randomArray(LENGTH, 10 + step));
        ctx.write(tgrad, grad);
        const lr = opt.lr / step;
        ctx.write(hyper, hyperValues(opt, step, lr, opt.momentum));
        ctx.submit('sgd', (e) => recordPass(e, 'sgd', [kernel]));
        ({ param, buffer } = sgdRef(param, grad, buffer, { ...c, lr: Math.fround(lr), first: step === 1 }));
        expectAllClose(`param after step ${step}`, await ctx.read(tparam), param, UPDATE);
        if (c.momentum !== 0) expectAllClose(`momentum_buffer after step ${step}`, await ctx.read(tvelocity), buffer, UPDATE);
        param = f32(await ctx.read(tparam));
        if (c.momentum !== 0) buffer = f32(await ctx.read(tvelocity));
      }
    });
  }
});

describe('adam_step', () => {
  for (const [name, opt] of [
    ['Adam', new Adam({ lr: 0.01 })],
    ['Adam, weight decay', new Adam({ lr: 0.01, weightDecay: 0.1, betas: [0.8, 0.99], eps: 1e-6 })],
    ['AdamW', new AdamW({ lr: 0.01 })],
  ] as const) {
    gpuTest(name, async (ctx) => {
      let param: Float64Array<ArrayBufferLike> = f32(randomArray(LENGTH, 2));
      let expAvg: Float64Array<ArrayBufferLike> = new Float64Array(LENGTH);
      let expAvgSq: Float64Array<ArrayBufferLike> = new Float64Array(LENGTH);
      const tparam = ctx.tensor('param', [LENGTH], { data: param });
      const tm = ctx.tensor('exp_avg', [LENGTH]);
      const tv = ctx.tensor('exp_avg_sq', [LENGTH]);
      const tgrad = ctx.tensor('grad', [LENGTH]);
      const hyper = ctx.tensor('hyper', [HYPER_LENGTH]);
      const kernel = (await ctx.compile(adamStep)).bind(
        { hyper, grad: tgrad, expAvg: tm, expAvgSq: tv, param: tparam, health: ctx.tensor('health', [healthLength(1)], { dtype: 'u32', data: freshHealth(1) }), slots: oneSlot(ctx, LENGTH) },
        { length: LENGTH, ...adamKernelParams(opt) },
      );
      for (let step = 1; step <= 3; step++) {
        const grad = f32(randomArray(LENGTH, 20 + step, -0.1, 0.1));
        ctx.write(tgrad, grad);
        ctx.write(hyper, hyperValues(opt, step, opt.lr, opt.betas[0]));
        ctx.submit('adam', (e) => recordPass(e, 'adam', [kernel]));
        ({ param, expAvg, expAvgSq } = adamRef(param, grad, expAvg, expAvgSq, {
          lr: opt.lr, beta1: opt.betas[0], beta2: opt.betas[1], eps: opt.eps, weightDecay: opt.weightDecay, decoupled: opt.kind === 'adamw', step,
        }));
        expectAllClose(`param after step ${step}`, await ctx.read(tparam), param, UPDATE);
        expectAllClose(`exp_avg after step ${step}`, await ctx.read(tm), expAvg, UPDATE);
        // exp_avg_sq is ~1e-5 here, below UPDATE's atol: a few ulps, and an atol for the squares of
        // gradients that weight decay nearly cancels (rounded in float32 first). 1 − β2 taken in
        // float32 on the GPU (1 − f32(0.999)) was 1.3e-5 off PyTorch's at every element (~1e-10).
        expectAllClose(`exp_avg_sq after step ${step}`, await ctx.read(tv), expAvgSq, { atol: 1e-12, rtol: 2e-6 });
        [param, expAvg, expAvgSq] = [f32(await ctx.read(tparam)), f32(await ctx.read(tm)), f32(await ctx.read(tv))];
      }
    });
  }
});

describe('rmsprop_step (variants MOMENTUM, CENTERED)', () => {
  for (const [name, opt] of [
    ['RMSprop', new RMSprop({ lr: 0.01 })],
    ['RMSprop, momentum 0.9, weight decay', new RMSprop({ lr: 0.01, momentum: 0.9, weightDecay: 0.1, alpha: 0.9, eps: 1e-6 })],
    ['RMSprop, centered', new RMSprop({ lr: 0.01, centered: true })],
    ['RMSprop, centered with momentum', new RMSprop({ lr: 0.005, centered: true, momentum: 0.5 })],
  ] as const) {
    gpuTest(`${name}: four steps against float64`, async (ctx) => {
      let param: Float64Array<ArrayBufferLike> = f32(randomArray(LENGTH, 3));
      let square: Float64Array<ArrayBufferLike> = new Float64Array(LENGTH);
      let buffer: Float64Array<ArrayBufferLike> = new Float64Array(LENGTH);
      let mean: Float64Array<ArrayBufferLike> = new Float64Array(LENGTH);
      const [momentum, centered] = [opt.stateNames.includes('momentum_buffer'), opt.centered];
      const t = {
        param: ctx.tensor('param', [LENGTH], { data: param }),
        square: ctx.tensor('square_avg', [LENGTH]),
        buffer: ctx.tensor('momentum_buffer', [LENGTH]),
        mean: ctx.tensor('grad_avg', [LENGTH]),
        grad: ctx.tensor('grad', [LENGTH]),
        hyper: ctx.tensor('hyper', [HYPER_LENGTH]),
      };
      const kernel = (await ctx.compile(rmspropStep, { MOMENTUM: momentum, CENTERED: centered })).bind(
        {
          hyper: t.hyper, grad: t.grad, squareAvg: t.square, param: t.param, health: ctx.tensor('health', [healthLength(1)], { dtype: 'u32', data: freshHealth(1) }), slots: oneSlot(ctx, LENGTH),
          ...(momentum ? { momentumBuffer: t.buffer } : {}), ...(centered ? { gradAvg: t.mean } : {}),
        },
        { length: LENGTH, ...rmspropKernelParams(opt) },
      );
      for (let step = 1; step <= 4; step++) {
        // Gradients of one sign and size for most elements (grad_avg² close to square_avg: the centered variance small).
        const grad = f32(randomArray(LENGTH, 30 + step, -0.1, 0.1).map((g, i) => (i % 3 === 0 ? 0.05 + 0.01 * g : g)));
        ctx.write(t.grad, grad);
        ctx.write(t.hyper, hyperValues(opt, step, opt.lr, opt.momentum));
        ctx.submit('rmsprop', (e) => recordPass(e, 'rmsprop', [kernel]));
        const r = rmspropRef(param, grad, square, { lr: opt.lr, alpha: opt.alpha, eps: opt.eps, weightDecay: opt.weightDecay, momentum: opt.momentum }, { ...(momentum ? { buffer } : {}), ...(centered ? { gradAvg: mean } : {}) });
        expectAllClose(`param after step ${step}`, await ctx.read(t.param), r.param, UPDATE);
        expectAllClose(`square_avg after step ${step}`, await ctx.read(t.square), r.squareAvg, { atol: 1e-12, rtol: 2e-6 });
        // The buffer sums g/avg, which where weight decay nearly cancels the gradient (|g| ~ eps) hangs
        // on g's last float32 bits (the sum grad + weightDecay·param cancels): relative 1e-4 there.
        if (momentum) expectAllClose(`momentum_buffer after step ${step}`, await ctx.read(t.buffer), r.buffer!, { atol: 1e-5, rtol: 1e-4 });
        if (centered) expectAllClose(`grad_avg after step ${step}`, await ctx.read(t.mean), r.gradAvg!, { atol: 1e-9, rtol: 1e-6 });
        [param, square] = [f32(await ctx.read(t.param)), f32(await ctx.read(t.square))];
        if (momentum) buffer = f32(await ctx.read(t.buffer));
        if (centered) mean = f32(await ctx.read(t.mean));
      }
    });
  }
});

describe('adam_step, variant AMSGRAD', () => {
  // β2 0.6: exp_avg_sq falls fast once the gradients shrink (at 0.999 it hardly falls in five steps).
  for (const [name, opt] of [['Adam, amsgrad', new Adam({ lr: 0.01, amsgrad: true, betas: [0.9, 0.6] })], ['AdamW, amsgrad, weight decay', new AdamW({ lr: 0.01, amsgrad: true, weightDecay: 0.1, betas: [0.8, 0.6] })]] as const) {
    gpuTest(`${name}: five steps of shrinking gradients (the maximum holds) against float64`, async (ctx) => {
      let param: Float64Array<ArrayBufferLike> = f32(randomArray(LENGTH, 6));
      let expAvg: Float64Array<ArrayBufferLike> = new Float64Array(LENGTH);
      let expAvgSq: Float64Array<ArrayBufferLike> = new Float64Array(LENGTH);
      let maxSq: Float64Array<ArrayBufferLike> = new Float64Array(LENGTH);
      const [tparam, tm, tv, tmax, tgrad] = ['param', 'exp_avg', 'exp_avg_sq', 'max_exp_avg_sq', 'grad'].map((label) => ctx.tensor(label, [LENGTH]));
      ctx.write(tparam!, param);
      const hyper = ctx.tensor('hyper', [HYPER_LENGTH]);
      const kernel = (await ctx.compile(adamStep, { AMSGRAD: true })).bind(
        { hyper, grad: tgrad!, expAvg: tm!, expAvgSq: tv!, maxExpAvgSq: tmax!, param: tparam!, health: ctx.tensor('health', [healthLength(1)], { dtype: 'u32', data: freshHealth(1) }), slots: oneSlot(ctx, LENGTH) },
        { length: LENGTH, ...adamKernelParams(opt) },
      );
      let held = 0;
      for (let step = 1; step <= 5; step++) {
        // Large gradients first, then small: exp_avg_sq falls below its running maximum.
        const grad = f32(randomArray(LENGTH, 30 + step, -1 / step ** 2, 1 / step ** 2));
        ctx.write(tgrad!, grad);
        ctx.write(hyper, hyperValues(opt, step, opt.lr, opt.betas[0]));
        ctx.submit('amsgrad', (e) => recordPass(e, 'amsgrad', [kernel]));
        const ref = adamRef(param, grad, expAvg, expAvgSq, { lr: opt.lr, beta1: opt.betas[0], beta2: opt.betas[1], eps: opt.eps, weightDecay: opt.weightDecay, decoupled: opt.kind === 'adamw', step }, maxSq);
        expectAllClose(`param after step ${step}`, await ctx.read(tparam!), ref.param, UPDATE);
        // As exp_avg_sq's in the adam_step tests: a few ulps of the squares, which are ~1e-5 and below UPDATE's atol.
        expectAllClose(`max_exp_avg_sq after step ${step}`, await ctx.read(tmax!), ref.maxExpAvgSq!, { atol: 1e-12, rtol: 2e-6 });
        held += ref.maxExpAvgSq!.filter((v, i) => v > ref.expAvgSq[i]!).length;
        [param, expAvg, expAvgSq, maxSq] = [f32(await ctx.read(tparam!)), f32(await ctx.read(tm!)), f32(await ctx.read(tv!)), f32(await ctx.read(tmax!))];
      }
      // The maximum differs from exp_avg_sq for most elements of the last four steps (else this tests plain Adam).
      expect(held).toBeGreaterThan(3 * LENGTH);
    });
  }
});

describe('adam_step, variants NADAM and RADAM (PyTorch 1.13)', () => {
  // Seven steps: NAdam's μ_t and mu_product move every step; RAdam's first five are un-adapted and
  // the sixth and seventh rectified (ρ_t > 5 from step 6, at β2 0.999 and 0.99 alike).
  for (const [name, opt] of [
    ['NAdam', new NAdam({ lr: 0.01 })],
    ['NAdam, weight decay, momentum_decay 0.05', new NAdam({ lr: 0.01, weightDecay: 0.1, betas: [0.8, 0.99], eps: 1e-6, momentumDecay: 0.05 })],
    ['RAdam', new RAdam({ lr: 0.01 })],
    ['RAdam, weight decay', new RAdam({ lr: 0.01, weightDecay: 0.1, betas: [0.8, 0.99], eps: 1e-6 })],
  ] as const) {
    gpuTest(`${name}: seven steps against float64`, async (ctx) => {
      let param: Float64Array<ArrayBufferLike> = f32(randomArray(LENGTH, 4));
      let expAvg: Float64Array<ArrayBufferLike> = new Float64Array(LENGTH);
      let expAvgSq: Float64Array<ArrayBufferLike> = new Float64Array(LENGTH);
      const [tparam, tm, tv, tgrad] = ['param', 'exp_avg', 'exp_avg_sq', 'grad'].map((label) => ctx.tensor(label, [LENGTH]));
      ctx.write(tparam!, param);
      const hyper = ctx.tensor('hyper', [HYPER_LENGTH]);
      const tensors = { hyper, grad: tgrad!, expAvg: tm!, expAvgSq: tv!, param: tparam!, health: ctx.tensor('health', [healthLength(1)], { dtype: 'u32', data: freshHealth(1) }), slots: oneSlot(ctx, LENGTH) };
      const kernel = (await ctx.compile(adamStep, adamVariant(opt))).bind(tensors, { length: LENGTH, ...adamKernelParams(opt) });
      let muProduct = 1;
      const rectified: boolean[] = [];
      for (let step = 1; step <= 7; step++) {
        const grad = f32(randomArray(LENGTH, 40 + step, -0.1, 0.1));
        ctx.write(tgrad!, grad);
        ctx.write(hyper, hyperValues(opt, step, opt.lr, opt.betas[0]));
        ctx.submit(opt.kind, (e) => recordPass(e, opt.kind, [kernel]));
        const o = { lr: opt.lr, beta1: opt.betas[0], beta2: opt.betas[1], eps: opt.eps, weightDecay: opt.weightDecay, step };
        const ref = opt.kind === 'nadam' ? nadamRef(param, grad, expAvg, expAvgSq, { ...o, momentumDecay: opt.momentumDecay, muProduct }) : radamRef(param, grad, expAvg, expAvgSq, o);
        if ('muProduct' in ref) muProduct = ref.muProduct;
        if ('rectified' in ref) rectified.push(ref.rectified);
        expectAllClose(`param after step ${step}`, await ctx.read(tparam!), ref.param, UPDATE);
        expectAllClose(`exp_avg after step ${step}`, await ctx.read(tm!), ref.expAvg, UPDATE);
        // As in the adam_step tests: a few ulps of squares below UPDATE's atol.
        expectAllClose(`exp_avg_sq after step ${step}`, await ctx.read(tv!), ref.expAvgSq, { atol: 1e-12, rtol: 2e-6 });
        [param, expAvg, expAvgSq] = [f32(await ctx.read(tparam!)), f32(await ctx.read(tm!)), f32(await ctx.read(tv!))];
      }
      if (opt.kind === 'radam') expect(rectified).toEqual([false, false, false, false, false, true, true]);
    });
  }
});

describe('adam_step variant ADAMAX and adadelta_step (PyTorch 1.13\'s Adamax and Adadelta)', () => {
  // Awkward lengths (one element, one past a workgroup, a ragged 1029), seven steps; and one past
  // 2^24 elements (65,537 workgroups: the grid folded past WebGPU's 65,535 a dimension), two steps.
  // Gradients shrink step by step (exp_inf's β2·exp_inf then wins over |g| + eps); every 7th is 0.
  const cases = [
    ['Adamax', () => new Adamax({ lr: 0.01 }), [1, 257, 1029], 7],
    ['Adamax, weight decay, betas (0.8, 0.99), eps 1e-6', () => new Adamax({ lr: 0.01, weightDecay: 0.1, betas: [0.8, 0.99], eps: 1e-6 }), [1029], 7],
    ['Adadelta', () => new Adadelta(), [1, 257, 1029], 7],
    ['Adadelta, weight decay, rho 0.8, eps 1e-4', () => new Adadelta({ lr: 0.5, weightDecay: 0.1, rho: 0.8, eps: 1e-4 }), [1029], 7],
    // (No weight decay there: a gradient that cancels grad + wd·p to about eps turns Adamax's step
    // of ±lr·g/(|g| + eps) on float32 rounding, at a handful of 16 M elements.)
    ['Adamax, 2^24 + 333 elements', () => new Adamax({ lr: 0.01 }), [2 ** 24 + 333], 2],
    ['Adadelta, 2^24 + 333 elements', () => new Adadelta(), [2 ** 24 + 333], 2],
  ] as const;
  for (const [name, make, lengths, steps] of cases) {
    for (const length of lengths) {
      gpuTest(`${name}: length ${length}, ${steps} steps against float64`, async (ctx) => {
        const opt = make();
        let param: Float64Array<ArrayBufferLike> = f32(randomArray(length, 4));
        let s1: Float64Array<ArrayBufferLike> = new Float64Array(length);
        let s2: Float64Array<ArrayBufferLike> = new Float64Array(length);
        const [tparam, ta, tb, tgrad] = ['param', 'state 1', 'state 2', 'grad'].map((label) => ctx.tensor(label, [length]));
        ctx.write(tparam!, param);
        const hyper = ctx.tensor('hyper', [HYPER_LENGTH]);
        const common = { hyper, grad: tgrad!, param: tparam!, health: ctx.tensor('health', [healthLength(1)], { dtype: 'u32', data: freshHealth(1) }), slots: oneSlot(ctx, length) };
        const kernel = opt.kind === 'adamax'
          ? (await ctx.compile(adamStep, adamVariant(opt))).bind({ ...common, expAvg: ta!, expAvgSq: tb! }, { length, ...adamKernelParams(opt) })
          : (await ctx.compile(adadeltaStep)).bind({ ...common, squareAvg: ta!, accDelta: tb! }, { length, ...adadeltaKernelParams(opt) });
        for (let step = 1; step <= steps; step++) {
          const grad = f32(randomArray(length, 40 + step, -0.1 / step, 0.1 / step));
          for (let i = step; i < length; i += 7) grad[i] = 0;
          ctx.write(tgrad!, grad);
          ctx.write(hyper, hyperValues(opt, step, opt.lr, opt.kind === 'adamax' ? opt.betas[0] : 0));
          ctx.submit(opt.kind, (e) => recordPass(e, opt.kind, [kernel]));
          const [r1, r2, rp] = opt.kind === 'adamax'
            ? ((r) => [r.expAvg, r.expInf, r.param])(adamaxRef(param, grad, s1, s2, { lr: opt.lr, beta1: opt.betas[0], beta2: opt.betas[1], eps: opt.eps, weightDecay: opt.weightDecay, step }))
            : ((r) => [r.squareAvg, r.accDelta, r.param])(adadeltaRef(param, grad, s1, s2, { lr: opt.lr, rho: opt.rho, eps: opt.eps, weightDecay: opt.weightDecay }));
          const [first, second] = opt.stateNames;
          expectAllClose(`param after step ${step}`, await ctx.read(tparam!), rp, UPDATE);
          // Squares (square_avg, acc_delta) of a weight-decayed gradient that cancels: its float32
          // rounding (~4e-9 at 0.05) squared in, so an atol of 1e-10 (of values about 1e-6 and up).
          expectAllClose(`${first} after step ${step}`, await ctx.read(ta!), r1, opt.kind === 'adamax' ? UPDATE : { atol: 1e-10, rtol: 2e-6 });
          expectAllClose(`${second} after step ${step}`, await ctx.read(tb!), r2, opt.kind === 'adamax' ? UPDATE : { atol: 1e-10, rtol: 2e-6 });
          [param, s1, s2] = [f32(await ctx.read(tparam!)), f32(await ctx.read(ta!)), f32(await ctx.read(tb!))];
        }
        expect(decodeHealth(Uint32Array.from(await ctx.read(common.health)), ['param'])).toBeUndefined();
      }, length > 1e6 ? 300_000 : undefined);
    }
  }
});

describe('adagrad_step', () => {
  // Awkward lengths, four steps of shrinking gradients, the rate clr = lr / (1 + (step − 1)·lr_decay) from hyperValues.
  const cases = [
    ['Adagrad', () => new Adagrad({ lr: 0.05 }), [1, 257, 1029]],
    ['Adagrad, lr_decay, weight decay, initial accumulator, eps 1e-6', () => new Adagrad({ lr: 0.05, lrDecay: 0.1, weightDecay: 0.1, initialAccumulatorValue: 0.1, eps: 1e-6 }), [1029]],
  ] as const;
  for (const [name, make, lengths] of cases) {
    for (const length of lengths) {
      gpuTest(`${name}: length ${length}, four steps against float64`, async (ctx) => {
        const opt = make();
        let param: Float64Array<ArrayBufferLike> = f32(randomArray(length, 5));
        let sum: Float64Array<ArrayBufferLike> = new Float64Array(length).fill(opt.initialAccumulatorValue);
        const [tparam, tsum, tgrad] = [param, sum, undefined].map((data, k) => ctx.tensor(['param', 'sum', 'grad'][k]!, [length], data ? { data } : {}));
        const hyper = ctx.tensor('hyper', [HYPER_LENGTH]);
        const health = ctx.tensor('health', [healthLength(1)], { dtype: 'u32', data: freshHealth(1) });
        const kernel = (await ctx.compile(adagradStep)).bind({ hyper, grad: tgrad!, sum: tsum!, param: tparam!, health, slots: oneSlot(ctx, length) }, { length, ...adagradKernelParams(opt) });
        for (let step = 1; step <= 4; step++) {
          const grad = f32(randomArray(length, 50 + step, -0.1 / step, 0.1 / step));
          ctx.write(tgrad!, grad);
          ctx.write(hyper, hyperValues(opt, step, opt.lr, 0));
          ctx.submit('adagrad', (e) => recordPass(e, 'adagrad', [kernel]));
          ({ param, sum } = adagradRef(param, grad, sum, { lr: opt.lr, lrDecay: opt.lrDecay, eps: opt.eps, weightDecay: opt.weightDecay, step }));
          expectAllClose(`param after step ${step}`, await ctx.read(tparam!), param, UPDATE);
          // The sum of squares of a weight-decayed gradient: its float32 rounding squared in, as adadelta_step's states.
          expectAllClose(`sum after step ${step}`, await ctx.read(tsum!), sum, { atol: 1e-10, rtol: 2e-6 });
          [param, sum] = [f32(await ctx.read(tparam!)), f32(await ctx.read(tsum!))];
        }
        expect(decodeHealth(Uint32Array.from(await ctx.read(health)), ['param'])).toBeUndefined();
      });
    }
  }
});

describe('the divergence guard in the optimizer steps', () => {
  // Three parameters in one arena, the middle one tens of thousands of elements: a record from the
  // last workgroups must not be lost, and each element's slot is its own parameter's.
  const LENGTHS = [300, 40_000, 1029];
  for (const kind of ['sgd', 'adam'] as const) {
    gpuTest(`${kind}: the first step with a non-finite gradient element is recorded in its parameter's slot, once`, async (ctx) => {
      const parameters = LENGTHS.length;
      const members = LENGTHS.map((n, k) => ({ label: `p${k}`, shape: [n] }));
      const [grads, a, b, c] = ['grad', 'a', 'b', 'c'].map((name) => createArena(ctx, name, members));
      const { layout } = grads!;
      const length = layout.length;
      const slots = ctx.tensor('slots', [layout.memberOfBlock.length], { dtype: 'u32', data: Uint32Array.from(layout.memberOfBlock, (k) => HEALTH_SLOTS.parameters + k) });
      const health = ctx.tensor('health', [healthLength(parameters)], { dtype: 'u32', data: freshHealth(parameters) });
      const hyper = ctx.tensor('hyper', [HYPER_LENGTH]);
      const grad = grads!.all;
      const kernel = kind === 'sgd'
        ? (await ctx.compile(sgdStep)).bind({ hyper, grad, velocity: a!.all, param: b!.all, health, slots }, { length, oneMinusDampening: 1, weightDecay: 0, nesterov: 0, clipValue: 0, decayAt: 0, groupLrs: 0 })
        : (await ctx.compile(adamStep)).bind({ hyper, grad, expAvg: a!.all, expAvgSq: b!.all, param: c!.all, health, slots }, { length, beta2: 0.999, oneMinusBeta2: 1 - 0.999, eps: 1e-8, weightDecay: 0, decoupled: 0, clipValue: 0, decayAt: 0, groupLrs: 0 });
      const opt = kind === 'sgd' ? new SGD({ lr: 0.1, momentum: 0.9 }) : new Adam({ lr: 0.01 });
      const run = async (step: number, values: Float64Array[]) => {
        values.forEach((v, k) => ctx.write(grads!.members[k]!, v));
        ctx.write(hyper, hyperValues(opt, step, opt.lr, 0.9));
        ctx.write(health, [step], HEALTH_SLOTS.step);
        ctx.submit('guard', (e) => recordPass(e, 'guard', [kernel]));
        return Array.from(await ctx.read(health));
      };
      const finite = LENGTHS.map((n, k) => f32(randomArray(n, 5 + k)));
      expect(await run(1, finite)).toEqual([HEALTH_NONE, 1, HEALTH_NONE, HEALTH_NONE, HEALTH_NONE, HEALTH_NONE]);
      // One element of tens of thousands: an Inf at the middle parameter's last element (in the
      // last workgroup of it, a block shared with no other parameter), then a NaN in the third.
      const bad = finite.map((v) => Float64Array.from(v));
      bad[1]![LENGTHS[1]! - 1] = Infinity;
      expect(await run(2, bad)).toEqual([2, 2, HEALTH_NONE, HEALTH_NONE, 2, HEALTH_NONE]);
      bad[1]![LENGTHS[1]! - 1] = 0;
      bad[2]![17] = NaN;
      // Later steps leave the first record as it is; the third parameter's slot gets its own step.
      expect(await run(3, bad)).toEqual([2, 3, HEALTH_NONE, HEALTH_NONE, 2, 3]);
      expect(decodeHealth(Uint32Array.from(await run(4, finite)), ['a', 'b', 'c'])).toEqual({ step: 2, loss: false, parameters: ['b'] });
      // Finite gradients whose update overflows are recorded too, from a clean state: SGD's
      // momentum buffer (0.9 · 3e38 + 3e38) on the second such step, Adam's square at once.
      ctx.write(health, freshHealth(parameters));
      for (const t of [a, b, c]) ctx.fill(t!.all, 0);
      const huge = finite.map((v) => Float64Array.from(v));
      huge[0]![5] = 3e38;
      const first = kind === 'sgd' ? 6 : 5;
      expect((await run(5, huge))[0]).toBe(kind === 'sgd' ? HEALTH_NONE : 5);
      expect((await run(6, huge)).slice(0, 4)).toEqual([first, 6, HEALTH_NONE, first]);
      // The padding between the members stays zero.
      const padded = await ctx.read((kind === 'sgd' ? b : c)!.all);
      const [p0, p1] = [layout.offsets[0]! + LENGTHS[0]!, layout.offsets[1]!];
      expect(p1 - p0).toBeGreaterThan(0);
      expect(Array.from(padded.subarray(p0, p1)).every((x) => x === 0)).toBe(true);
    });
  }
});

describe('the divergence guard under clip_grad_value_', () => {
  // clamp(±Inf) is ±clipValue: the step and its states stay finite, so only the gradient as read
  // (shaders/lib/optimizer_gradient.wgsl: gradientOf) can record it.
  for (const kind of ['sgd', 'adagrad'] as const) {
    gpuTest(`${kind}: an infinite gradient element clamped to a finite step is still recorded`, async (ctx) => {
      const length = 300;
      const [param, state, grad] = ['param', 'state', 'grad'].map((label) => ctx.tensor(label, [length]));
      const hyper = ctx.tensor('hyper', [HYPER_LENGTH]);
      const health = ctx.tensor('health', [healthLength(1)], { dtype: 'u32', data: freshHealth(1) });
      const common = { hyper, grad: grad!, param: param!, health, slots: oneSlot(ctx, length) };
      const clipping = checkClipping({ clipGradValue: 0.05 })!;
      const kernel = kind === 'sgd'
        ? (await ctx.compile(sgdStep, clipVariant(clipping))).bind({ ...common, velocity: state! }, { length, ...sgdKernelParams(new SGD({ lr: 0.1, momentum: 0.9 }), clipping) })
        : (await ctx.compile(adagradStep, clipVariant(clipping))).bind({ ...common, sum: state! }, { length, ...adagradKernelParams(new Adagrad({ lr: 0.1 }), clipping) });
      const values = f32(randomArray(length, 61));
      values[7] = -Infinity;
      ctx.write(grad!, values);
      ctx.write(hyper, [0.1, 0.9, 1, 0, 0]);
      ctx.write(health, [1], HEALTH_SLOTS.step);
      ctx.submit('guard', (e) => recordPass(e, 'guard', [kernel]));
      expect(Array.from(await ctx.read(param!)).every(Number.isFinite)).toBe(true);
      expect(decodeHealth(Uint32Array.from(await ctx.read(health)), ['param'])).toEqual({ step: 1, loss: false, parameters: ['param'] });
    });
  }
});

describe('grad_norm: the total norm of the gradients and clip_grad_norm_\'s factor', () => {
  /** Runs both passes over `grads`; returns [factor, norm]. */
  async function gradNormOf(ctx: GpuContext, grads: ArrayLike<number>, maxNorm: number, normType: 1 | 2 | typeof Infinity): Promise<Float32Array> {
    const x = ctx.tensor('grads', [grads.length], { data: grads });
    const partials = ctx.tensor('partials', [gradNormPartials(grads.length)]);
    const result = ctx.tensor('result', [2]);
    const kernel = await ctx.compile(gradNorm, { L1: normType === 1, INF: normType === Infinity });
    const passes = [kernel.bind({ x, y: partials }, { length: grads.length, maxNorm, finish: 0, at: 0, fold: 65535 }), kernel.bind({ x: partials, y: result }, { length: partials.length, maxNorm, finish: 1, at: 0, fold: 65535 })];
    ctx.submit('grad norm', (e) => recordPass(e, 'grad norm', passes));
    return ctx.read(result);
  }

  // A real size: more partials than one workgroup's invocations (so the finishing pass loops),
  // and a length that ends inside a chunk.
  const LONG = 300 * GRAD_NORM_CHUNK + 1234;
  for (const normType of [2, 1, Infinity] as const) {
    gpuTest(`norm type ${normType}: ${LONG.toLocaleString('en-US')} gradients against float64, the factor clamped at 1, the same bits twice`, async (ctx) => {
      const grads = f32(randomArray(LONG, 31, -0.02, 0.02));
      // One large element near the end, in the last chunk: the ∞-norm must find it there.
      grads[LONG - 3] = Math.fround(-0.75);
      const ref = clipGradNormRef({ g: grads }, 1, normType);
      const [factor, norm] = await gradNormOf(ctx, grads, 1, normType);
      expect(Math.abs(norm! / ref.norm - 1), `norm ${norm} against ${ref.norm}`).toBeLessThan(1e-5);
      expect(Math.abs(factor! - ref.factor)).toBeLessThan(1e-5 * factor!);
      if (normType === Infinity) expect(norm).toBe(0.75);
      // A norm below the bound: the factor is exactly 1 (the gradients' bits untouched).
      expect((await gradNormOf(ctx, grads, 1e6, normType))[0]).toBe(1);
      // Fixed-order reductions: the same gradients give the same bits.
      expect(Array.from(await gradNormOf(ctx, grads, 1, normType))).toEqual([factor, norm]);
    });
  }

  gpuTest('rows of `fold` workgroups past the device\'s workgroups per dimension (here 200: 301 partials on two rows)', async (ctx) => {
    const grads = f32(randomArray(LONG, 33, -0.02, 0.02));
    grads[LONG - 1] = Math.fround(0.5); // in the last chunk, a workgroup of the second row
    const x = ctx.tensor('grads', [LONG], { data: grads });
    const partials = ctx.tensor('partials', [gradNormPartials(LONG)]);
    const result = ctx.tensor('result', [2]);
    for (const normType of [2, Infinity] as const) {
      const kernel = await ctx.compile(gradNorm, { INF: normType === Infinity });
      const first = kernel.bind({ x, y: partials }, { length: LONG, maxNorm: 1, finish: 0, at: 0, fold: 200 });
      expect(first.workgroups).toEqual([200, 2, 1]);
      const passes = [first, kernel.bind({ x: partials, y: result }, { length: partials.length, maxNorm: 1, finish: 1, at: 0, fold: 200 })];
      ctx.submit('folded grad norm', (e) => recordPass(e, 'folded grad norm', passes));
      const norm = (await ctx.read(result))[1]!;
      const ref = clipGradNormRef({ g: grads }, 1, normType);
      expect(Math.abs(norm / ref.norm - 1), `norm type ${normType}: ${norm} against ${ref.norm}`).toBeLessThan(1e-5);
    }
    // At the adapter's own limit a grid over 268 M gradients folds the same way (no dispatch past it).
    const limit = ctx.device.limits.maxComputeWorkgroupsPerDimension;
    expect(workgroupCounts(gradNorm.grid({ length: 300_000_000, maxNorm: 1, finish: 0, at: 0, fold: limit }, gradNorm.workgroupSize), gradNorm.workgroupSize).every((c) => c <= limit)).toBe(true);
  });

  gpuTest('a non-finite gradient gives a non-finite norm, as PyTorch: Inf → factor 0, NaN → NaN (the step records the gradient in the guard)', async (ctx) => {
    for (const normType of [2, 1, Infinity] as const) {
      const grads = f32(randomArray(9000, 3));
      grads[8999] = Infinity;
      expect(Array.from(await gradNormOf(ctx, grads, 1, normType)), `norm type ${normType}, Inf`).toEqual([0, Infinity]);
      grads[17] = NaN;
      const [factor, norm] = await gradNormOf(ctx, grads, 1, normType);
      expect([factor, norm].map(Number.isNaN), `norm type ${normType}, NaN`).toEqual([true, true]);
    }
  });
});

describe('the optimizer steps\' clipping variants', () => {
  const LENGTH_CLIP = 5000;
  const cases = [
    { kind: 'sgd', clip: { clipGradNorm: 0.5 } },
    { kind: 'adam', clip: { clipGradNorm: { maxNorm: 0.2, normType: 1 } } },
    { kind: 'sgd', clip: { clipGradNorm: { maxNorm: 0.02, normType: 'inf' } } },
    { kind: 'adam', clip: { clipGradValue: 0.03 } },
    { kind: 'sgd', clip: { clipGradValue: 0.01 } },
  ] as const;
  for (const c of cases) {
    gpuTest(`${c.kind}, ${JSON.stringify(c.clip)}: three steps against clipping then the float64 step`, async (ctx) => {
      const clipping = checkClipping(c.clip)!;
      const sgd = new SGD({ lr: 0.1, momentum: 0.9, weightDecay: 0.01 });
      const adam = new Adam({ lr: 0.01, weightDecay: 0.01 });
      let param: Float64Array<ArrayBufferLike> = f32(randomArray(LENGTH_CLIP, 4));
      let s1: Float64Array<ArrayBufferLike> = new Float64Array(LENGTH_CLIP);
      let s2: Float64Array<ArrayBufferLike> = new Float64Array(LENGTH_CLIP);
      const [tparam, ta, tb, tgrad] = ['param', 'a', 'b', 'grad'].map((name) => ctx.tensor(name, [LENGTH_CLIP]));
      ctx.write(tparam!, param);
      const hyper = ctx.tensor('hyper', [HYPER_LENGTH]);
      const health = ctx.tensor('health', [healthLength(1)], { dtype: 'u32', data: freshHealth(1) });
      const partials = ctx.tensor('partials', [gradNormPartials(LENGTH_CLIP)]);
      const passes: Dispatch[] = [];
      if (clipping.kind === 'norm') {
        // The factor written into hyper at CLIP_AT, where the steps read it.
        const norm = await ctx.compile(gradNorm, { L1: clipping.normType === 1, INF: clipping.normType === Infinity });
        passes.push(norm.bind({ x: tgrad!, y: partials }, { length: LENGTH_CLIP, maxNorm: clipping.maxNorm, finish: 0, at: 0, fold: 65535 }));
        passes.push(norm.bind({ x: partials, y: hyper }, { length: partials.length, maxNorm: clipping.maxNorm, finish: 1, at: CLIP_AT, fold: 65535 }));
      }
      const common = { hyper, grad: tgrad!, health, slots: oneSlot(ctx, LENGTH_CLIP) };
      passes.push(
        c.kind === 'sgd'
          ? (await ctx.compile(sgdStep, clipVariant(clipping))).bind({ ...common, velocity: ta!, param: tparam! }, { length: LENGTH_CLIP, ...sgdKernelParams(sgd, clipping) })
          : (await ctx.compile(adamStep, clipVariant(clipping))).bind({ ...common, expAvg: ta!, expAvgSq: tb!, param: tparam! }, { length: LENGTH_CLIP, ...adamKernelParams(adam, clipping) }),
      );
      let clippedSome = 0;
      for (let step = 1; step <= 3; step++) {
        const grad = f32(randomArray(LENGTH_CLIP, 40 + step, -0.05, 0.05));
        ctx.write(tgrad!, grad);
        ctx.write(hyper, c.kind === 'sgd' ? hyperValues(sgd, step, sgd.lr, sgd.momentum) : hyperValues(adam, step, adam.lr, adam.betas[0]));
        ctx.submit('clip', (e) => recordPass(e, 'clip', passes));
        const g = clipping.kind === 'norm' ? clipGradNormRef({ g: grad }, clipping.maxNorm, clipping.normType).grads.g! : clipGradValueRef({ g: grad }, clipping.clipValue).g!;
        clippedSome += g.filter((v, i) => v !== grad[i]).length;
        if (c.kind === 'sgd') ({ param, buffer: s1 } = sgdRef(param, g, s1, { lr: sgd.lr, momentum: sgd.momentum, dampening: 0, weightDecay: sgd.weightDecay, nesterov: false, first: step === 1 }));
        else ({ param, expAvg: s1, expAvgSq: s2 } = adamRef(param, g, s1, s2, { lr: adam.lr, beta1: 0.9, beta2: 0.999, eps: adam.eps, weightDecay: adam.weightDecay, decoupled: false, step }));
        expectAllClose(`param after step ${step}`, await ctx.read(tparam!), param, UPDATE);
        expectAllClose(`${c.kind === 'sgd' ? 'momentum_buffer' : 'exp_avg'} after step ${step}`, await ctx.read(ta!), s1, UPDATE);
        [param, s1, s2] = [f32(await ctx.read(tparam!)), f32(await ctx.read(ta!)), f32(await ctx.read(tb!))];
      }
      // The bounds are set so that clipping changes the gradients (else this would test no clipping).
      expect(clippedSome).toBeGreaterThan(0);
    });
  }
});
