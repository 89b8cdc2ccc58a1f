/** half_squared_error against the float64 reference (loss, per-element terms, gradient). */
import { describe } from 'vitest';
import { recordPass } from '../../src/gpu/context.js';
import { halfSquaredError } from '../../src/kernels/half-squared-error.js';
import { halfSquaredErrorRef } from '../../src/reference/loss.js';
import { TOLERANCE, expectAllClose, f32, randomArray } from '../helpers/allclose.js';
import { gpuTest } from '../helpers/gpu.js';

describe('half_squared_error', () => {
  // One element; the 2-2-2 shape; more elements than the workgroup (64) has invocations.
  for (const [batch, features] of [
    [1, 1],
    [1, 2],
    [3, 10],
    [5, 41],
  ] as const) {
    gpuTest(`batch ${batch}, features ${features}`, async (ctx) => {
      const n = batch * features;
      const a = f32(randomArray(n, n, 0, 1));
      const t = f32(randomArray(n, n + 1, 0, 1));
      const ta = ctx.tensor('a', [batch, features], { data: a });
      const tt = ctx.tensor('t', [batch, features], { data: t });
      const terms = ctx.tensor('terms', [batch, features]);
      const grad = ctx.tensor('grad', [batch, features]);
      const loss = ctx.tensor('loss', [1]);
      for (const x of [terms, grad, loss]) ctx.fill(x, NaN);
      const k = (await ctx.compile(halfSquaredError)).bind({ prediction: ta, targets: tt, terms, grad, loss }, { batch, features });
      ctx.submit('loss test', (e) => recordPass(e, 'loss test', [k]));
      const ref = halfSquaredErrorRef(a, t, batch);
      expectAllClose('terms', await ctx.read(terms), ref.terms, TOLERANCE.forward);
      expectAllClose('grad', await ctx.read(grad), ref.grad, TOLERANCE.forward);
      expectAllClose('loss', await ctx.read(loss), [ref.loss], TOLERANCE.forward);
    });
  }
});
