/**
 * activation_forward and activation_backward (LeakyReLU, the default variant, and SILU) against the
 * float64 reference: awkward sizes around the workgroup, large |x| (SiLU's e^(−x) overflows to
 * +∞ there and must still give 0, not NaN), exact zeros (LeakyReLU's gradient takes the slope's
 * side at 0, as PyTorch's), negative and zero slopes, and a real size.
 */
import { describe, expect } from 'vitest';
import { recordPass } from '../../src/gpu/context.js';
import type { GpuContext } from '../../src/gpu/context.js';
import { activationBackward, activationForward } from '../../src/kernels/activation.js';
import { leakyReluBackwardRef, leakyReluRef, siluBackwardRef, siluRef } from '../../src/reference/activation.js';
import { TOLERANCE, expectAllClose, f32, randomArray } from '../helpers/allclose.js';
import { gpuTest } from '../helpers/gpu.js';

async function run(ctx: GpuContext, x: ArrayLike<number>, dy: ArrayLike<number>, silu: boolean, slope: number) {
  const count = x.length;
  const t = { x: ctx.tensor('x', [count], { data: x }), y: ctx.tensor('y', [count]), dy: ctx.tensor('dy', [count], { data: dy }), dx: ctx.tensor('dx', [count]) };
  ctx.fill(t.y, NaN);
  ctx.fill(t.dx, NaN);
  const kernels = [
    (await ctx.compile(activationForward, { SILU: silu })).bind({ x: t.x, y: t.y }, { count, slope }),
    (await ctx.compile(activationBackward, { SILU: silu })).bind({ dy: t.dy, x: t.x, dx: t.dx }, { count, slope }),
  ];
  ctx.submit('activation test', (e) => recordPass(e, 'activation test', kernels));
  return { y: await ctx.read(t.y), dx: await ctx.read(t.dx) };
}

describe('activation kernels', () => {
  for (const count of [1, 63, 65, 1000, 128 * 16 * 26 * 26]) {
    for (const [name, silu, slope] of [['LeakyReLU 0.01', false, 0.01], ['LeakyReLU −0.5', false, -0.5], ['LeakyReLU 0', false, 0], ['SiLU', true, 0]] as const) {
      gpuTest(`${name}, ${count} elements`, async (ctx) => {
        const x = f32(randomArray(count, count + 3, -12, 12));
        if (count > 4) [x[0], x[1], x[2], x[3]] = [0, -0, -100, 100];
        const dy = f32(randomArray(count, count + 4));
        const gpu = await run(ctx, x, dy, silu, slope);
        const s = Math.fround(slope);
        expectAllClose(`${name} y`, gpu.y, silu ? siluRef(x) : leakyReluRef(x, s), TOLERANCE.forward);
        expectAllClose(`${name} dx`, gpu.dx, silu ? siluBackwardRef(dy, x) : leakyReluBackwardRef(dy, x, s), TOLERANCE.gradient);
        if (count > 4) {
          // x = 0 and −0: LeakyReLU's slope side (dy · slope), SiLU's ½ dy; x = −100: no NaN.
          expect(gpu.dx[0]).toBeCloseTo(silu ? dy[0]! / 2 : dy[0]! * s, 6);
          expect(gpu.dx[1]).toBeCloseTo(silu ? dy[1]! / 2 : dy[1]! * s, 6);
          // x = 100: LeakyReLU passes dy, SiLU ≈ dy (σ = 1); its forward is x itself.
          expect(gpu.dx[3]).toBeCloseTo(dy[3]!, 5);
          expect(gpu.y[3]).toBeCloseTo(100, 4);
          expect(Number.isFinite(gpu.y[2]!) && Number.isFinite(gpu.dx[2]!)).toBe(true);
        }
      });
    }
  }
});
