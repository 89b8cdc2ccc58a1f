/** sigmoid_forward and sigmoid_backward (both variants) against the float64 reference. */
import { describe } from 'vitest';
import { recordPass } from '../../src/gpu/context.js';
import { sigmoidBackward, sigmoidForward } from '../../src/kernels/sigmoid.js';
import { sigmoidBackwardRef, sigmoidRef } from '../../src/reference/sigmoid.js';
import { TOLERANCE, expectAllClose, f32, randomArray } from '../helpers/allclose.js';
import { gpuTest } from '../helpers/gpu.js';

describe('sigmoid kernels', () => {
  for (const [count, features] of [
    [1, 1],
    [2, 2],
    [63, 7],
    [65, 5],
    [1000, 10],
  ] as const) {
    for (const spreadsheet of [false, true]) {
      gpuTest(`${count} elements, rows of ${features}${spreadsheet ? ', spreadsheet derivative' : ''}`, async (ctx) => {
        // Wide range, with large |x| where a naive e^(−x) would overflow.
        const x = f32(randomArray(count, count, -12, 12));
        if (count > 2) x[0] = -100;
        const dy = f32(randomArray(count, count + 1));
        const tx = ctx.tensor('x', [count], { data: x });
        const ty = ctx.tensor('y', [count]);
        const tdy = ctx.tensor('dy', [count], { data: dy });
        const tdx = ctx.tensor('dx', [count]);
        ctx.fill(ty, NaN);
        ctx.fill(tdx, NaN);
        const fwd = (await ctx.compile(sigmoidForward)).bind({ x: tx, y: ty }, { count });
        const bwd = (await ctx.compile(sigmoidBackward, { SPREADSHEET_DERIVATIVE: spreadsheet })).bind({ dy: tdy, y: ty, dx: tdx }, { count, features });
        ctx.submit('sigmoid test', (e) => recordPass(e, 'sigmoid test', [fwd, bwd]));
        const y = await ctx.read(ty);
        expectAllClose('sigmoid_forward y', y, sigmoidRef(x), TOLERANCE.forward);
        expectAllClose('sigmoid_backward dx', await ctx.read(tdx), sigmoidBackwardRef(dy, f32(y), features, spreadsheet), TOLERANCE.gradient);
      });
    }
  }
});
