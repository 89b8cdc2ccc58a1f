/**
 * maxpool2x2_forward / maxpool2x2_backward (ties, odd sizes, NaN; the backward's RELU variant, the
 * ReLU before the pool) and global_avg_pool_forward / global_avg_pool_backward against the
 * float64 reference.
 */
import { describe, expect } from 'vitest';
import { recordPass } from '../../src/gpu/context.js';
import { globalAvgPoolBackward, globalAvgPoolForward, maxpool2x2Backward, maxpool2x2Forward, maxpoolVariant } from '../../src/kernels/pooling.js';
import { globalAvgPoolBackwardRef, globalAvgPoolForwardRef, maxPool2x2BackwardRef, maxPool2x2ForwardRef } from '../../src/reference/pooling.js';
import type { GpuContext } from '../../src/gpu/context.js';
import { TOLERANCE, expectAllClose, f32, randomArray } from '../helpers/allclose.js';
import { gpuTest } from '../helpers/gpu.js';

/**
 * Runs max pooling forward then backward on x; returns what the GPU wrote. Where the shape allows
 * VEC4 (what layers bind then), runs it too and expects the same values, bit for bit.
 */
async function maxPool(ctx: GpuContext, x: ArrayLike<number>, dy: ArrayLike<number>, planes: number, height: number, width: number) {
  const p = { planes, height, width };
  const scalar = await runMaxPool(ctx, x, dy, p, false);
  if (maxpoolVariant(p).VEC4) {
    const vec4 = await runMaxPool(ctx, x, dy, p, true);
    expect(Array.from(vec4.y), 'VEC4 y').toEqual(Array.from(scalar.y));
    expect(Array.from(vec4.argmax), 'VEC4 argmax').toEqual(Array.from(scalar.argmax));
    expect(Array.from(vec4.dx), 'VEC4 dx').toEqual(Array.from(scalar.dx));
    expect(Array.from(vec4.dxRelu), 'VEC4 dx (RELU)').toEqual(Array.from(scalar.dxRelu));
  }
  return scalar;
}

/** One variant of max pooling, forward then backward, on fresh tensors. */
async function runMaxPool(ctx: GpuContext, x: ArrayLike<number>, dy: ArrayLike<number>, p: { planes: number; height: number; width: number }, VEC4: boolean) {
  const { planes, height, width } = p;
  const outLength = planes * Math.floor(height / 2) * Math.floor(width / 2);
  const tx = ctx.tensor('x', [planes, height, width], { data: x });
  const tdy = ctx.tensor('dy', [outLength], { data: dy });
  const ty = ctx.tensor('y', [outLength]);
  const targmax = ctx.tensor('argmax', [outLength], { dtype: 'u32' });
  const tdx = ctx.tensor('dx', [planes, height, width]);
  const tdxRelu = ctx.tensor('dx (RELU)', [planes, height, width]);
  ctx.fill(ty, NaN);
  ctx.fill(targmax, 0xffffffff); // no element has this index
  ctx.fill(tdx, NaN);
  ctx.fill(tdxRelu, NaN);
  const kernels = [
    (await ctx.compile(maxpool2x2Forward, { VEC4 })).bind({ x: tx, y: ty, argmax: targmax }, p),
    (await ctx.compile(maxpool2x2Backward, { VEC4 })).bind({ dy: tdy, argmax: targmax, dx: tdx }, p),
    (await ctx.compile(maxpool2x2Backward, { VEC4, RELU: true })).bind({ dy: tdy, argmax: targmax, dx: tdxRelu, y: ty }, p),
  ];
  ctx.submit('maxpool test', (e) => recordPass(e, 'maxpool test', kernels));
  return { y: await ctx.read(ty), argmax: await ctx.read(targmax), dx: await ctx.read(tdx), dxRelu: await ctx.read(tdxRelu) };
}

describe('maxpool2x2 kernels', () => {
  // Odd heights and widths (the last row or column belongs to no window), one plane, 2×2 (one
  // window), 1×n (no window at all), output counts around the 64-wide workgroup and not a
  // multiple of the 4 an invocation takes. VEC4 (widths a multiple of 8, even heights): one row
  // of four windows, several, and the seed CNN's pool1 planes (10 channels of 24 × 24, batch 3).
  for (const [planes, height, width] of [
    [1, 2, 2],
    [1, 3, 3],
    [1, 1, 5],
    [3, 5, 7],
    [4, 8, 6],
    [2, 9, 11],
    [7, 16, 15],
    [1, 2, 8],
    [5, 6, 16],
    [30, 24, 24],
  ] as const) {
    gpuTest(`${planes} planes of ${height}×${width}, with ties`, async (ctx) => {
      const length = planes * height * width;
      // Values from {−1, 0, 1, 2}: most windows hold equal values, often equal maxima.
      const x = f32(Array.from(randomArray(length, length, 0, 4), (v) => Math.floor(v) - 1));
      const outLength = planes * Math.floor(height / 2) * Math.floor(width / 2);
      const dy = f32(randomArray(outLength, length + 1));
      const gpu = await maxPool(ctx, x, dy, planes, height, width);
      const ref = maxPool2x2ForwardRef(x, planes, 1, height, width);
      expectAllClose('maxpool2x2_forward y', gpu.y, ref.y, TOLERANCE.exact);
      expect(Array.from(gpu.argmax), 'argmax (first maximum in row-major window order)').toEqual(Array.from(ref.argmax));
      expectAllClose('maxpool2x2_backward dx', gpu.dx, maxPool2x2BackwardRef(dy, ref.argmax, length), TOLERANCE.exact);
      // RELU (x taken as a ReLU's output, pooled values of −1 and 0 among them): dy passed only where the maximum is positive.
      const masked = Array.from(dy, (g, o) => (ref.y[o]! > 0 ? g : 0));
      if (outLength >= 64) expect(masked.some((g, o) => g !== dy[o]), 'some window with a maximum ≤ 0').toBe(true);
      expectAllClose('maxpool2x2_backward dx (RELU)', gpu.dxRelu, maxPool2x2BackwardRef(masked, ref.argmax, length), TOLERANCE.exact);
      // Rows and columns outside every window get exactly 0.
      for (let plane = 0; plane < planes; plane++) {
        for (let yy = 0; yy < height; yy++) {
          for (let xx = 0; xx < width; xx++) {
            if (yy >= 2 * Math.floor(height / 2) || xx >= 2 * Math.floor(width / 2)) {
              expect(gpu.dx[(plane * height + yy) * width + xx], `dx at plane ${plane}, (${yy}, ${xx}) outside every window`).toBe(0);
            }
          }
        }
      }
    });
  }

  gpuTest('ties go to the first maximum in row-major window order', async (ctx) => {
    // One 2×8 plane: four windows, each a tie in a different place.
    //   window 0: all equal → top-left;  window 1: top-right = bottom-right → top-right;
    //   window 2: bottom-left = bottom-right → bottom-left;  window 3: top-left = bottom-left → top-left.
    const x = [5, 5, 1, 3, 0, 0, 2, 1, /* row 1 */ 5, 5, 2, 3, 4, 4, 2, 1];
    const dy = [10, 20, 30, 40];
    const gpu = await maxPool(ctx, x, dy, 1, 2, 8);
    expect(Array.from(gpu.y)).toEqual([5, 3, 4, 2]);
    expect(Array.from(gpu.argmax)).toEqual([0, 3, 12, 6]);
    expect(Array.from(gpu.argmax)).toEqual(Array.from(maxPool2x2ForwardRef(x, 1, 1, 2, 8).argmax));
    expect(Array.from(gpu.dx)).toEqual([10, 0, 0, 20, 0, 0, 40, 0, /* row 1 */ 0, 0, 0, 0, 30, 0, 0, 0]);
  });

  gpuTest('NaN propagates', async (ctx) => {
    // One 2×10 plane, five windows: NaN top-left (then larger numbers), two NaNs (top-right and
    // bottom-left: the last wins, as in the reference), NaN bottom-left, NaN bottom-right after
    // a tie, NaN top-left before −∞.
    const [N, I] = [NaN, -Infinity];
    const x = [N, 9, 1, N, 1, 2, 9, 9, N, 1, /* row 1 */ 1, 2, N, 3, N, 3, 9, N, I, I];
    const dy = [1, 2, 3, 4, 5];
    const gpu = await maxPool(ctx, x, dy, 1, 2, 10);
    const ref = maxPool2x2ForwardRef(x, 1, 1, 2, 10);
    expect(Array.from(gpu.y, Number.isNaN), 'NaN outputs').toEqual([true, true, true, true, true]);
    expect(Array.from(ref.y, Number.isNaN), 'NaN outputs (reference)').toEqual([true, true, true, true, true]);
    expect(Array.from(gpu.argmax), 'argmax').toEqual(Array.from(ref.argmax));
    expect(Array.from(gpu.argmax)).toEqual([0, 12, 14, 17, 8]);
    expectAllClose('maxpool2x2_backward dx', gpu.dx, maxPool2x2BackwardRef(dy, ref.argmax, x.length), TOLERANCE.exact);

    // The same windows in rows of 16 (VEC4: two vec4 outputs a row), three more windows of zeros.
    const wide = [...x.slice(0, 10), 0, 0, 0, 0, 0, 0, ...x.slice(10), 0, 0, 0, 0, 0, 0];
    const gpuWide = await maxPool(ctx, wide, [...dy, 6, 7, 8], 1, 2, 16);
    expect(Array.from(gpuWide.argmax), 'argmax, rows of 16').toEqual(Array.from(maxPool2x2ForwardRef(wide, 1, 1, 2, 16).argmax));

    // A window of −∞ only keeps its first element.
    const onlyInf = await maxPool(ctx, [I, I, I, I], [7], 1, 2, 2);
    expect(Array.from(onlyInf.y)).toEqual([-Infinity]);
    expect(Array.from(onlyInf.argmax)).toEqual([0]);
  });
});

describe('global_avg_pool kernels', () => {
  // One plane, area 1, plane counts around the 64-wide workgroup, areas around the 256-wide one.
  for (const [planes, area] of [
    [1, 1],
    [3, 5],
    [65, 49],
    [130, 3],
    [2, 300],
  ] as const) {
    gpuTest(`${planes} planes of ${area}`, async (ctx) => {
      const x = f32(randomArray(planes * area, planes + area));
      const dy = f32(randomArray(planes, planes + area + 1));
      const tx = ctx.tensor('x', [planes, area], { data: x });
      const tdy = ctx.tensor('dy', [planes], { data: dy });
      const ty = ctx.tensor('y', [planes]);
      const tdx = ctx.tensor('dx', [planes, area]);
      ctx.fill(ty, NaN);
      ctx.fill(tdx, NaN);
      const kernels = [
        (await ctx.compile(globalAvgPoolForward)).bind({ x: tx, y: ty }, { planes, area }),
        (await ctx.compile(globalAvgPoolBackward)).bind({ dy: tdy, dx: tdx }, { planes, area }),
      ];
      ctx.submit('global avg pool test', (e) => recordPass(e, 'global avg pool test', kernels));
      expectAllClose('global_avg_pool_forward y', await ctx.read(ty), globalAvgPoolForwardRef(x, planes, 1, area), TOLERANCE.forward);
      expectAllClose('global_avg_pool_backward dx', await ctx.read(tdx), globalAvgPoolBackwardRef(dy, planes, 1, area), TOLERANCE.forward);
    });
  }
});
