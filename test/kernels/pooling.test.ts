/**
 * maxpool2x2_forward / maxpool2x2_backward (ties, odd sizes, NaN; the backward's RELU variant, the
 * ReLU before the pool), global_avg_pool_forward / global_avg_pool_backward, and pool2d_forward /
 * pool2d_backward (any window: overlapping, padded, dilated, ceil mode; max with ties and NaN,
 * average with count_include_pad and divisor_override) against the float64 reference.
 */
import { describe, expect, it } from 'vitest';
import { recordPass } from '../../src/gpu/context.js';
import { globalAvgPoolBackward, globalAvgPoolForward, maxpool2x2Backward, maxpool2x2Forward, maxpoolVariant, pool2dBackward, pool2dForward } from '../../src/kernels/pooling.js';
import { adaptiveAvgPool2dBackwardRef, adaptiveAvgPool2dForwardRef, adaptiveMaxPool2dForwardRef, avgPool2dBackwardRef, avgPool2dForwardRef, globalAvgPoolBackwardRef, globalAvgPoolForwardRef, maxPool2dForwardRef, maxPoolBackwardRef, maxPool2x2ForwardRef, pool2dShapeRef, type Pool2dRef } from '../../src/reference/pooling.js';
import type { GpuContext } from '../../src/gpu/context.js';
import { TOLERANCE, expectAllClose, f32, randomArray } from '../helpers/allclose.js';
import { gpuTest } from '../helpers/gpu.js';

/**
 * Runs max pooling forward then backward on x; returns what the GPU wrote. Where the shape allows
 * VEC4 or VEC2 (what layers bind then), runs them too and expects the same values, bit for bit.
 */
async function maxPool(ctx: GpuContext, x: ArrayLike<number>, dy: ArrayLike<number>, planes: number, height: number, width: number) {
  const p = { planes, height, width };
  const scalar = await runMaxPool(ctx, x, dy, p, {});
  const variant = maxpoolVariant(p);
  for (const name of ['VEC4', 'VEC2'] as const) {
    // VEC2 runs every VEC4 shape too (its rows are whole pairs as well).
    if (!variant.VEC4 && !variant[name]) continue;
    const vec = await runMaxPool(ctx, x, dy, p, { [name]: true });
    expect(Array.from(vec.y), `${name} y`).toEqual(Array.from(scalar.y));
    expect(Array.from(vec.argmax), `${name} argmax`).toEqual(Array.from(scalar.argmax));
    expect(Array.from(vec.dx), `${name} dx`).toEqual(Array.from(scalar.dx));
    expect(Array.from(vec.dxRelu), `${name} dx (RELU)`).toEqual(Array.from(scalar.dxRelu));
  }
  return scalar;
}

/** One variant of max pooling, forward then backward, on fresh tensors. */
async function runMaxPool(ctx: GpuContext, x: ArrayLike<number>, dy: ArrayLike<number>, p: { planes: number; height: number; width: number }, variant: { VEC4?: boolean; VEC2?: boolean }) {
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
    (await ctx.compile(maxpool2x2Forward, variant)).bind({ x: tx, y: ty, argmax: targmax }, p),
    (await ctx.compile(maxpool2x2Backward, variant)).bind({ dy: tdy, argmax: targmax, dx: tdx }, p),
    (await ctx.compile(maxpool2x2Backward, { ...variant, RELU: true })).bind({ dy: tdy, argmax: targmax, dx: tdxRelu, y: ty }, p),
  ];
  ctx.submit('maxpool test', (e) => recordPass(e, 'maxpool test', kernels));
  return { y: await ctx.read(ty), argmax: await ctx.read(targmax), dx: await ctx.read(tdx), dxRelu: await ctx.read(tdxRelu) };
}

describe('maxpool2x2 kernels', () => {
  // Odd heights and widths (the last row or column belongs to no window), one plane, 2×2 (one
  // window), 1×n (no window at all), output counts around the 64-wide workgroup and not a
  // multiple of the 4 an invocation takes. VEC4 (widths a multiple of 8, even heights): one row
  // of four windows, several, and the seed CNN's pool1 planes (10 channels of 24 × 24, batch 3).
  // VEC2 (widths a multiple of 4, even heights; also run on the VEC4 shapes): one pair of windows,
  // pairs whose count is odd (outputs not a multiple of 4: an invocation's second pair idle), and
  // the small ResNet's stem planes (16 channels of 28 × 28, batch 3).
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
    [1, 2, 4],
    [3, 4, 12],
    [5, 6, 20],
    [48, 28, 28],
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
      expectAllClose('maxpool2x2_backward dx', gpu.dx, maxPoolBackwardRef(dy, ref.argmax, length), TOLERANCE.exact);
      // RELU (x taken as a ReLU's output, pooled values of −1 and 0 among them): dy passed only where the maximum is positive.
      const masked = Array.from(dy, (g, o) => (ref.y[o]! > 0 ? g : 0));
      if (outLength >= 64) expect(masked.some((g, o) => g !== dy[o]), 'some window with a maximum ≤ 0').toBe(true);
      expectAllClose('maxpool2x2_backward dx (RELU)', gpu.dxRelu, maxPoolBackwardRef(masked, ref.argmax, length), TOLERANCE.exact);
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

  it('binds VEC4 on rows of whole vec4s of windows, else VEC2 on rows of whole pairs (the small ResNet\'s 28 × 28 stem)', () => {
    expect(maxpoolVariant({ planes: 2048, height: 24, width: 24 })).toEqual({ VEC4: true, VEC2: false });
    expect(maxpoolVariant({ planes: 2048, height: 28, width: 28 })).toEqual({ VEC4: false, VEC2: true });
    expect(maxpoolVariant({ planes: 3, height: 4, width: 12 })).toEqual({ VEC4: false, VEC2: true });
    expect(maxpoolVariant({ planes: 3, height: 5, width: 12 })).toEqual({ VEC4: false, VEC2: false });
    expect(maxpoolVariant({ planes: 3, height: 4, width: 14 })).toEqual({ VEC4: false, VEC2: false });
  });

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
    expectAllClose('maxpool2x2_backward dx', gpu.dx, maxPoolBackwardRef(dy, ref.argmax, x.length), TOLERANCE.exact);
    // The RELU variant (a ReLU before the pool, y its output): PyTorch's relu backward
    // (threshold_backward: dy where not y ≤ 0) passes dy where y is NaN, every window here.
    expect(Array.from(gpu.dxRelu), 'maxpool2x2_backward RELU dx: dy passed where y is NaN').toEqual(Array.from(gpu.dx));

    // The same windows in rows of 16 (VEC4: two vec4 outputs a row), three more windows of zeros.
    const wide = [...x.slice(0, 10), 0, 0, 0, 0, 0, 0, ...x.slice(10), 0, 0, 0, 0, 0, 0];
    const gpuWide = await maxPool(ctx, wide, [...dy, 6, 7, 8], 1, 2, 16);
    expect(Array.from(gpuWide.argmax), 'argmax, rows of 16').toEqual(Array.from(maxPool2x2ForwardRef(wide, 1, 1, 2, 16).argmax));
    // RELU: dy passed at the NaN windows, blocked at the windows of zeros (y = 0).
    expect(Array.from(gpuWide.dxRelu), 'maxpool2x2_backward RELU dx, rows of 16').toEqual(Array.from(gpuWide.dx, (g, i) => (wide[i] === 0 ? 0 : g)));

    // A window of −∞ only keeps its first element.
    const onlyInf = await maxPool(ctx, [I, I, I, I], [7], 1, 2, 2);
    expect(Array.from(onlyInf.y)).toEqual([-Infinity]);
    expect(Array.from(onlyInf.argmax)).toEqual([0]);
  });
});

describe('global_avg_pool kernels', () => {
  // One plane, area 1, plane counts around the 64-wide workgroup, areas around the 256-wide one;
  // the backward an invocation an element and an invocation a plane (spread 1 and area).
  for (const [planes, area] of [
    [1, 1],
    [3, 5],
    [65, 49],
    [130, 3],
    [2, 300],
    [2048, 36],
  ] as const) {
    gpuTest(`${planes} planes of ${area}`, async (ctx) => {
      const x = f32(randomArray(planes * area, planes + area));
      const dy = f32(randomArray(planes, planes + area + 1));
      const tx = ctx.tensor('x', [planes, area], { data: x });
      const tdy = ctx.tensor('dy', [planes], { data: dy });
      const ty = ctx.tensor('y', [planes]);
      const tdx = ctx.tensor('dx', [planes, area]);
      const tdxPlanes = ctx.tensor('dx (an invocation a plane)', [planes, area]);
      ctx.fill(ty, NaN);
      ctx.fill(tdx, NaN);
      ctx.fill(tdxPlanes, NaN);
      const backward = await ctx.compile(globalAvgPoolBackward);
      const kernels = [
        (await ctx.compile(globalAvgPoolForward)).bind({ x: tx, y: ty }, { planes, area }),
        backward.bind({ dy: tdy, dx: tdx }, { planes, area, spread: 1 }),
        backward.bind({ dy: tdy, dx: tdxPlanes }, { planes, area, spread: area }),
      ];
      ctx.submit('global avg pool test', (e) => recordPass(e, 'global avg pool test', kernels));
      expectAllClose('global_avg_pool_forward y', await ctx.read(ty), globalAvgPoolForwardRef(x, planes, 1, area), TOLERANCE.forward);
      const dx = await ctx.read(tdx);
      expectAllClose('global_avg_pool_backward dx', dx, globalAvgPoolBackwardRef(dy, planes, 1, area), TOLERANCE.forward);
      // An invocation a plane (a CPU adapter's spread) writes the same values, bit for bit.
      expect(Array.from(await ctx.read(tdxPlanes)), 'dx, an invocation a plane').toEqual(Array.from(dx));
    });
  }
});

describe('pool2d kernels: any window', () => {
  /** Runs both variants' forward and backward on poisoned outputs. */
  async function pool(ctx: GpuContext, x: ArrayLike<number>, dy: ArrayLike<number>, planes: number, height: number, width: number, w: Pool2dRef, max: boolean) {
    const [outH, outW] = pool2dShapeRef(height, width, w);
    const params = {
      planes, height, width, outH, outW,
      kernelH: w.kernel[0], kernelW: w.kernel[1], strideH: w.stride[0], strideW: w.stride[1], padH: w.padding[0], padW: w.padding[1],
      dilationH: w.dilation?.[0] ?? 1, dilationW: w.dilation?.[1] ?? 1, divisorOverride: w.divisorOverride ?? 0, countIncludePad: (w.countIncludePad ?? true) ? 1 : 0,
    };
    const t = {
      x: ctx.tensor('x', [x.length], { data: x }),
      y: ctx.tensor('y', [planes * outH * outW]),
      argmax: ctx.tensor('argmax', [planes * outH * outW], { dtype: 'u32' }),
      dy: ctx.tensor('dy', [planes * outH * outW], { data: dy }),
      dx: ctx.tensor('dx', [x.length]),
    };
    ctx.fill(t.y, NaN);
    ctx.fill(t.dx, NaN);
    ctx.fill(t.argmax, 0xfffffffe);
    const kernels = [
      (await ctx.compile(pool2dForward, { MAX: max })).bind(max ? { x: t.x, y: t.y, argmax: t.argmax } : { x: t.x, y: t.y }, params),
      (await ctx.compile(pool2dBackward, { MAX: max })).bind(max ? { dy: t.dy, dx: t.dx, argmax: t.argmax } : { dy: t.dy, dx: t.dx }, params),
    ];
    ctx.submit('pool2d test', (e) => recordPass(e, 'pool2d test', kernels));
    return { y: await ctx.read(t.y), argmax: await ctx.read(t.argmax), dx: await ctx.read(t.dx), outH, outW };
  }

  // Overlapping windows (stride < kernel: an element in several windows, whose gradients add),
  // gaps (stride > kernel), padding, dilation, ceil mode's partial last window, rectangular
  // windows, a 1×1 window, and a size at which a workgroup of 64 is not filled.
  const windows: [string, number, number, number, Pool2dRef][] = [
    ['3×3 stride 2 (overlapping)', 3, 9, 11, { kernel: [3, 3], stride: [2, 2], padding: [0, 0] }],
    ['3×3 stride 2 padding 1 (ResNet\'s)', 2, 8, 8, { kernel: [3, 3], stride: [2, 2], padding: [1, 1] }],
    ['2×2 stride 2 ceil mode on 7×5', 2, 7, 5, { kernel: [2, 2], stride: [2, 2], padding: [0, 0], ceilMode: true }],
    ['3×3 stride 2 padding 1 ceil mode on 6×6', 1, 6, 6, { kernel: [3, 3], stride: [2, 2], padding: [1, 1], ceilMode: true }],
    ['2×3 stride (1, 2) padding (1, 0)', 2, 5, 7, { kernel: [2, 3], stride: [1, 2], padding: [1, 0] }],
    ['2×2 stride 3 (gaps)', 3, 8, 8, { kernel: [2, 2], stride: [3, 3], padding: [0, 0] }],
    ['1×1 stride 2', 2, 5, 5, { kernel: [1, 1], stride: [2, 2], padding: [0, 0] }],
    ['5×5 stride 1 padding 2 (same size)', 2, 9, 7, { kernel: [5, 5], stride: [1, 1], padding: [2, 2] }],
  ];
  for (const [name, planes, height, width, w] of windows) {
    gpuTest(`max and average: ${name}, ${planes} planes of ${height}×${width}`, async (ctx) => {
      const x = f32(randomArray(planes * height * width, height * 31 + width));
      const [outH, outW] = pool2dShapeRef(height, width, w);
      const dy = f32(randomArray(planes * outH * outW, height + width));
      const max = await pool(ctx, x, dy, planes, height, width, w, true);
      const ref = maxPool2dForwardRef(x, planes, 1, height, width, w);
      // Random values tie nowhere: the same choices, and the values copied exactly.
      expect(Array.from(max.argmax), 'argmax').toEqual(Array.from(ref.argmax));
      expectAllClose(`${name} max y`, max.y, ref.y, TOLERANCE.exact);
      expectAllClose(`${name} max dx`, max.dx, maxPoolBackwardRef(dy, ref.argmax, x.length), TOLERANCE.forward);
      for (const variant of [{}, { countIncludePad: false }, { divisorOverride: 3 }]) {
        const a = { ...w, ...variant };
        const avg = await pool(ctx, x, dy, planes, height, width, a, false);
        expectAllClose(`${name} avg y ${JSON.stringify(variant)}`, avg.y, avgPool2dForwardRef(x, planes, 1, height, width, a), TOLERANCE.forward);
        expectAllClose(`${name} avg dx ${JSON.stringify(variant)}`, avg.dx, avgPool2dBackwardRef(dy, planes, 1, height, width, a), TOLERANCE.forward);
      }
    });
  }

  gpuTest('max with dilation 2, ties (the first maximum wins), −∞ everywhere, and NaN (it propagates)', async (ctx) => {
    const w: Pool2dRef = { kernel: [3, 3], stride: [2, 2], padding: [1, 1], dilation: [2, 2] };
    const [height, width] = [9, 8];
    // Values from few levels: many ties in every window.
    const x = f32(Array.from(randomArray(2 * height * width, 5), (v) => Math.round(v * 2)));
    x[width + 3] = NaN; // (1, 3): a tap of window (0, 0), whose taps are rows and columns −1, 1, 3
    // A plane of −∞: the index stays at the first tap inside the input.
    for (let i = height * width; i < 2 * height * width; i++) x[i] = -Infinity;
    const [outH, outW] = pool2dShapeRef(height, width, w);
    const dy = f32(randomArray(2 * outH * outW, 9));
    const gpu = await pool(ctx, x, dy, 2, height, width, w, true);
    const ref = maxPool2dForwardRef(x, 2, 1, height, width, w);
    expect(Array.from(gpu.argmax)).toEqual(Array.from(ref.argmax));
    expect(Array.from(gpu.y).map(String)).toEqual(Array.from(ref.y).map(String));
    expect(Number.isNaN(gpu.y[0]!), 'the window holding the NaN').toBe(true);
    expectAllClose('dilated max dx', gpu.dx, maxPoolBackwardRef(dy, ref.argmax, x.length), TOLERANCE.forward);
  });

  gpuTest('a real size: 3×3 stride 2 padding 1 over 128 × 16 planes of 28×28, max and average', async (ctx) => {
    const w: Pool2dRef = { kernel: [3, 3], stride: [2, 2], padding: [1, 1] };
    const [planes, height, width] = [128 * 16, 28, 28];
    const x = f32(randomArray(planes * height * width, 77));
    const [outH, outW] = pool2dShapeRef(height, width, w);
    const dy = f32(randomArray(planes * outH * outW, 78));
    const max = await pool(ctx, x, dy, planes, height, width, w, true);
    const ref = maxPool2dForwardRef(x, planes, 1, height, width, w);
    expect(Array.from(max.argmax).every((v, i) => v === ref.argmax[i]), 'argmax').toBe(true);
    expectAllClose('max dx', max.dx, maxPoolBackwardRef(dy, ref.argmax, x.length), TOLERANCE.forward);
    const avg = await pool(ctx, x, dy, planes, height, width, w, false);
    expectAllClose('avg y', avg.y, avgPool2dForwardRef(x, planes, 1, height, width, w), TOLERANCE.forward);
    expectAllClose('avg dx', avg.dx, avgPool2dBackwardRef(dy, planes, 1, height, width, w), TOLERANCE.forward);
  });
});

describe('pool2d kernels: adaptive windows (AdaptiveAvgPool2d, AdaptiveMaxPool2d)', () => {
  async function adaptive(ctx: GpuContext, x: ArrayLike<number>, dy: ArrayLike<number>, planes: number, height: number, width: number, outH: number, outW: number, max: boolean) {
    const params = { planes, height, width, outH, outW, kernelH: 1, kernelW: 1, strideH: 1, strideW: 1, padH: 0, padW: 0, dilationH: 1, dilationW: 1, divisorOverride: 0, countIncludePad: 1 };
    const t = {
      x: ctx.tensor('x', [x.length], { data: x }),
      y: ctx.tensor('y', [planes * outH * outW]),
      argmax: ctx.tensor('argmax', [planes * outH * outW], { dtype: 'u32' }),
      dy: ctx.tensor('dy', [planes * outH * outW], { data: dy }),
      dx: ctx.tensor('dx', [x.length]),
    };
    ctx.fill(t.y, NaN);
    ctx.fill(t.dx, NaN);
    ctx.fill(t.argmax, 0xfffffffe);
    const variant = { MAX: max, ADAPTIVE: true };
    const kernels = [
      (await ctx.compile(pool2dForward, variant)).bind(max ? { x: t.x, y: t.y, argmax: t.argmax } : { x: t.x, y: t.y }, params),
      (await ctx.compile(pool2dBackward, variant)).bind(max ? { dy: t.dy, dx: t.dx, argmax: t.argmax } : { dy: t.dy, dx: t.dx }, params),
    ];
    ctx.submit('adaptive pool test', (e) => recordPass(e, 'adaptive pool test', kernels));
    return { y: await ctx.read(t.y), argmax: await ctx.read(t.argmax), dx: await ctx.read(t.dx) };
  }

  // Windows of uneven sizes that overlap (7 → 3: rows 0–2, 2–4, 4–6), an output larger than the
  // input (5 → 7: windows of one element, some elements in two), one side kept (13 → 13), one
  // output (11 → 1), a divisible size (6 → 2), a 1×1 input grown to 3×3, and a real size.
  const shapes: [number, number, number, number, number][] = [
    [3, 7, 9, 3, 4],
    [2, 5, 5, 7, 3],
    [2, 13, 11, 13, 1],
    [2, 6, 6, 2, 2],
    [4, 1, 1, 3, 3],
    [128 * 32, 24, 24, 5, 7],
  ];
  for (const [planes, height, width, outH, outW] of shapes) {
    gpuTest(`${planes} planes of ${height}×${width} → ${outH}×${outW}, average and max`, async (ctx) => {
      const x = f32(randomArray(planes * height * width, height * 7 + width));
      const dy = f32(randomArray(planes * outH * outW, outH * 5 + outW));
      const avg = await adaptive(ctx, x, dy, planes, height, width, outH, outW, false);
      expectAllClose('avg y', avg.y, adaptiveAvgPool2dForwardRef(x, planes, 1, height, width, outH, outW), TOLERANCE.forward);
      expectAllClose('avg dx', avg.dx, adaptiveAvgPool2dBackwardRef(dy, planes, 1, height, width, outH, outW), TOLERANCE.forward);
      const max = await adaptive(ctx, x, dy, planes, height, width, outH, outW, true);
      const ref = adaptiveMaxPool2dForwardRef(x, planes, 1, height, width, outH, outW);
      expect(Array.from(max.argmax).every((v, i) => v === ref.argmax[i]), 'argmax').toBe(true);
      expectAllClose('max y', max.y, ref.y, TOLERANCE.exact);
      expectAllClose('max dx', max.dx, maxPoolBackwardRef(dy, ref.argmax, x.length), TOLERANCE.forward);
    });
  }

  gpuTest('max: ties (the first maximum wins) and NaN (it propagates)', async (ctx) => {
    const [height, width, outH, outW] = [7, 6, 3, 4];
    const x = f32(Array.from(randomArray(height * width, 15), (v) => Math.round(v * 2)));
    x[2 * width + 1] = NaN;
    const dy = f32(randomArray(outH * outW, 16));
    const gpu = await adaptive(ctx, x, dy, 1, height, width, outH, outW, true);
    const ref = adaptiveMaxPool2dForwardRef(x, 1, 1, height, width, outH, outW);
    expect(Array.from(gpu.argmax)).toEqual(Array.from(ref.argmax));
    expect(Array.from(gpu.y).map(String)).toEqual(Array.from(ref.y).map(String));
    expect(Number.isNaN(gpu.y[0]!), 'the windows holding row 2 hold the NaN').toBe(true);
  });
});
