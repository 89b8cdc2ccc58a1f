/**
 * sgd_step and adam_step over several steps against the float64 reference of PyTorch's
 * algorithms: every option (momentum, dampening, Nesterov, weight decay; Adam, AdamW), the
 * per-step values read from the hyper buffer as the network writes them.
 */
import { describe, expect } from 'vitest';
import { recordPass } from '../../src/gpu/context.js';
import { HYPER_LENGTH, adamStep, sgdStep } from '../../src/kernels/optimizers.js';
import { HEALTH_NONE, HEALTH_SLOTS, decodeHealth, freshHealth, healthLength } from '../../src/kernels/health.js';
import { Adam, AdamW, SGD, hyperValues } from '../../src/optim/optimizers.js';
import { adamRef, sgdRef } from '../../src/reference/optimizers.js';
import { expectAllClose, f32, randomArray } from '../helpers/allclose.js';
import { gpuTest } from '../helpers/gpu.js';

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
        { hyper, grad: tgrad, velocity: tvelocity, param: tparam, health: ctx.tensor('health', [healthLength(1)], { dtype: 'u32', data: freshHealth(1) }) },
        { length: LENGTH, dampening: opt.dampening, weightDecay: opt.weightDecay, nesterov: opt.nesterov ? 1 : 0, slot: HEALTH_SLOTS.parameters },
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
        { hyper, grad: tgrad, expAvg: tm, expAvgSq: tv, param: tparam, health: ctx.tensor('health', [healthLength(1)], { dtype: 'u32', data: freshHealth(1) }) },
        { length: LENGTH, beta2: opt.betas[1], eps: opt.eps, weightDecay: opt.weightDecay, decoupled: opt.kind === 'adamw' ? 1 : 0, slot: HEALTH_SLOTS.parameters },
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
        expectAllClose(`exp_avg_sq after step ${step}`, await ctx.read(tv), expAvgSq, UPDATE);
        [param, expAvg, expAvgSq] = [f32(await ctx.read(tparam)), f32(await ctx.read(tm)), f32(await ctx.read(tv))];
      }
    });
  }
});

describe('the divergence guard in the optimizer steps', () => {
  // Tens of thousands of elements: a record from the last workgroups must not be lost.
  const GUARD_LENGTH = 40_000;
  for (const kind of ['sgd', 'adam'] as const) {
    gpuTest(`${kind}: the first step with a non-finite gradient element is recorded in the parameter's slot, once`, async (ctx) => {
      const parameters = 3;
      const health = ctx.tensor('health', [healthLength(parameters)], { dtype: 'u32', data: freshHealth(parameters) });
      const hyper = ctx.tensor('hyper', [HYPER_LENGTH]);
      const grad = ctx.tensor('grad', [GUARD_LENGTH]);
      const [a, b, c] = [0, 1, 2].map((k) => ctx.tensor(`state ${k}`, [GUARD_LENGTH]));
      const slot = HEALTH_SLOTS.parameters + 1;
      const kernel = kind === 'sgd'
        ? (await ctx.compile(sgdStep)).bind({ hyper, grad, velocity: a!, param: b!, health }, { length: GUARD_LENGTH, dampening: 0, weightDecay: 0, nesterov: 0, slot })
        : (await ctx.compile(adamStep)).bind({ hyper, grad, expAvg: a!, expAvgSq: b!, param: c!, health }, { length: GUARD_LENGTH, beta2: 0.999, eps: 1e-8, weightDecay: 0, decoupled: 0, slot });
      const opt = kind === 'sgd' ? new SGD({ lr: 0.1, momentum: 0.9 }) : new Adam({ lr: 0.01 });
      const run = async (step: number, values: Float64Array) => {
        ctx.write(grad, values);
        ctx.write(hyper, hyperValues(opt, step, opt.lr, kind === 'sgd' ? 0.9 : 0.9));
        ctx.write(health, [step], HEALTH_SLOTS.step);
        ctx.submit('guard', (e) => recordPass(e, 'guard', [kernel]));
        return Array.from(await ctx.read(health));
      };
      const finite = f32(randomArray(GUARD_LENGTH, 5));
      expect(await run(1, finite)).toEqual([HEALTH_NONE, 1, HEALTH_NONE, HEALTH_NONE, HEALTH_NONE, HEALTH_NONE]);
      // One element of tens of thousands: an Inf in the last workgroup, then a NaN.
      const bad = Float64Array.from(finite);
      bad[GUARD_LENGTH - 1] = Infinity;
      expect(await run(2, bad)).toEqual([2, 2, HEALTH_NONE, HEALTH_NONE, 2, HEALTH_NONE]);
      bad[GUARD_LENGTH - 1] = 0;
      bad[17] = NaN;
      // Later steps leave the first record as it is.
      expect(await run(3, bad)).toEqual([2, 3, HEALTH_NONE, HEALTH_NONE, 2, HEALTH_NONE]);
      expect(decodeHealth(Uint32Array.from(await run(4, finite)), ['a', 'b', 'c'])).toEqual({ step: 2, loss: false, parameters: ['b'] });
      // Finite gradients whose update overflows are recorded too, from a clean state: SGD's
      // momentum buffer (0.9 · 3e38 + 3e38) on the second such step, Adam's square at once.
      ctx.write(health, freshHealth(parameters));
      for (const t of [a, b, c]) ctx.fill(t!, 0);
      const huge = Float64Array.from(finite);
      huge[5] = 3e38;
      const first = kind === 'sgd' ? 6 : 5;
      expect((await run(5, huge))[0]).toBe(kind === 'sgd' ? HEALTH_NONE : 5);
      expect((await run(6, huge)).slice(0, 2)).toEqual([first, 6]);
    });
  }
});
