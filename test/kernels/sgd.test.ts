/** sgd_update against the float64 reference. */
import { describe } from 'vitest';
import { recordPass } from '../../src/gpu/context.js';
import { sgdUpdate } from '../../src/kernels/sgd.js';
import { sgdUpdateRef } from '../../src/reference/sgd.js';
import { TOLERANCE, expectAllClose, f32, randomArray } from '../helpers/allclose.js';
import { gpuTest } from '../helpers/gpu.js';

describe('sgd_update', () => {
  for (const [count, lr] of [
    [1, 1.0],
    [8, 0.5],
    [65, 0.01],
    [1000, 2.0],
  ] as const) {
    gpuTest(`${count} parameters, lr ${lr}`, async (ctx) => {
      const p = f32(randomArray(count, count));
      const g = f32(randomArray(count, count + 1));
      const tp = ctx.tensor('p', [count], { data: p });
      const tg = ctx.tensor('g', [count], { data: g });
      const k = (await ctx.compile(sgdUpdate)).bind({ grad: tg, param: tp }, { count, lr });
      ctx.submit('sgd test', (e) => recordPass(e, 'sgd test', [k]));
      expectAllClose('param', await ctx.read(tp), sgdUpdateRef(p, g, Math.fround(lr)), TOLERANCE.forward);
    });
  }
});
