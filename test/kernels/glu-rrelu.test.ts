/**
 * GLU (src/kernels/glu.ts against src/reference/glu.ts) and RReLU in training (src/kernels/rrelu.ts
 * against src/reference/rrelu.ts, which draws the same Philox words): awkward shapes and a real
 * size, outputs poisoned first; RReLU's slopes exactly where the GPU drew them, their statistics,
 * and a new draw at the next step.
 */
import { describe, expect } from 'vitest';
import { recordPass } from '../../src/gpu/context.js';
import type { GpuContext } from '../../src/gpu/context.js';
import { glu } from '../../src/kernels/glu.js';
import { rrelu } from '../../src/kernels/rrelu.js';
import { gluBackwardRef, gluRef } from '../../src/reference/glu.js';
import { rreluBackwardRef, rreluRef, rreluSlopesRef } from '../../src/reference/rrelu.js';
import { RANDOM_STREAM } from '../../src/reference/random.js';
import { TOLERANCE, expectAllClose, f32, randomArray } from '../helpers/allclose.js';
import { gpuTest } from '../helpers/gpu.js';

describe('glu forward and BACKWARD', () => {
  // [outer, size, inner]: a split last dimension (inner 1), channels of a map, one pair, sizes around
  // the workgroup, and the seed CNN's 128 × 16 × 26 × 26 split over its channels (dim 1).
  for (const [outer, size, inner] of [[1, 2, 1], [3, 10, 1], [2, 6, 35], [65, 2, 1], [5, 4, 63], [128, 16, 26 * 26]] as const) {
    gpuTest(`[${outer}, ${size}, ${inner}]`, async (ctx) => {
      const half = size / 2;
      const n = outer * size * inner;
      const x = f32(randomArray(n, n + 1, -6, 6));
      // Far out: σ(b) at 0 and 1 without NaN, and 1 − σ(b) kept as σ(−b) for large b.
      if (n > 8) [x[0], x[1], x[2], x[3]] = [0, -0, 40, -40];
      x[half * inner] = 30; // the first b: σ(−30) ≈ 9e-14, its gradient relative to that
      const dy = f32(randomArray(n / 2, n + 2));
      const t = { x: ctx.tensor('x', [n], { data: x }), y: ctx.tensor('y', [n / 2]), dy: ctx.tensor('dy', [n / 2], { data: dy }), dx: ctx.tensor('dx', [n]) };
      ctx.fill(t.y, NaN);
      ctx.fill(t.dx, NaN);
      const params = { count: n / 2, half, inner };
      const kernels = [(await ctx.compile(glu)).bind({ x: t.x, y: t.y }, params), (await ctx.compile(glu, { BACKWARD: true })).bind({ x: t.x, dy: t.dy, dx: t.dx }, params)];
      ctx.submit('glu test', (e) => recordPass(e, 'glu test', kernels));
      const shape = { outer, size, inner };
      const dx = gluBackwardRef(dy, x, shape);
      const gpuDx = await ctx.read(t.dx);
      expectAllClose('glu y', await ctx.read(t.y), gluRef(x, shape), TOLERANCE.forward);
      expectAllClose('glu dx', gpuDx, dx, TOLERANCE.gradient);
      // ∂b at b = 30 to a few roundings of its own size (not only within the absolute tolerance).
      const ib = half * inner;
      expect(Math.abs(gpuDx[ib]! - dx[ib]!), `∂b at b = 30: ${gpuDx[ib]} against ${dx[ib]}`).toBeLessThanOrEqual(1e-5 * Math.abs(dx[ib]!));
    });
  }
});

async function runRrelu(ctx: GpuContext, x: ArrayLike<number>, dy: ArrayLike<number>, lower: number, upper: number, seed: number, stream: number, step: number) {
  const count = x.length;
  const t = { x: ctx.tensor('x', [count], { data: x }), y: ctx.tensor('y', [count]), dy: ctx.tensor('dy', [count], { data: dy }), dx: ctx.tensor('dx', [count]) };
  ctx.fill(t.y, NaN);
  ctx.fill(t.dx, NaN);
  const params = { count, lower, upper, seed, stream, step };
  const kernels = [(await ctx.compile(rrelu)).bind({ x: t.x, y: t.y }, params), (await ctx.compile(rrelu, { BACKWARD: true })).bind({ x: t.x, dy: t.dy, dx: t.dx }, params)];
  ctx.submit('rrelu test', (e) => recordPass(e, 'rrelu test', kernels));
  return { y: await ctx.read(t.y), dx: await ctx.read(t.dx) };
}

describe('rrelu (training) forward and BACKWARD', () => {
  for (const [count, lower, upper] of [[1, 0.125, 1 / 3], [7, 0.1, 0.3], [65, 0, 1], [1003, 0.2, 0.2], [128 * 16 * 26 * 26, 0.125, 1 / 3]] as const) {
    gpuTest(`${count} elements, U(${lower}, ${upper.toFixed(3)})`, async (ctx) => {
      const [seed, stream, step] = [count + 5, RANDOM_STREAM.dropout + 1, 7];
      const x = f32(randomArray(count, count + 3, -4, 4));
      if (count > 4) [x[0], x[1], x[2], x[3]] = [0, -0, 1e-30, -1e30];
      const dy = f32(randomArray(count, count + 4));
      const [l, u] = [Math.fround(lower), Math.fround(upper)];
      const gpu = await runRrelu(ctx, x, dy, l, u, seed, stream, step);
      const slopes = rreluSlopesRef(count, l, u, seed, stream, step);
      const y = rreluRef(x, slopes);
      const dx = rreluBackwardRef(dy, x, slopes);
      expectAllClose('rrelu y', gpu.y, y, TOLERANCE.forward);
      expectAllClose('rrelu dx', gpu.dx, dx, TOLERANCE.forward);
      // The slopes themselves, where the GPU's output shows them (x < 0: y / x), to float32's rounding.
      for (let i = 0; i < count; i++) {
        if (!(x[i]! < 0)) continue;
        const drawn = gpu.dx[i]! / dy[i]!;
        expect(Math.abs(drawn - slopes[i]!), `slope at ${i}: ${drawn} against ${slopes[i]}`).toBeLessThanOrEqual(1e-6 * (1 + Math.abs(dy[i]!) ** -1));
      }
      if (count === 7) {
        // A NaN passes, as PyTorch's (its x ≤ 0 is false): y NaN, dx = dy.
        const nan = await runRrelu(ctx, new Float32Array([NaN]), new Float32Array([0.5]), l, u, seed, stream, step);
        expect([nan.y[0], nan.dx[0]]).toEqual([NaN, 0.5]);
      }
      if (count > 10_000) {
        // U(lower, upper): mean (l + u)/2, variance (u − l)²/12, every slope within the bounds.
        const s = Array.from(slopes);
        const mean = s.reduce((a, v) => a + v, 0) / count;
        const variance = s.reduce((a, v) => a + (v - mean) ** 2, 0) / count;
        expect(Math.abs(mean - (l + u) / 2)).toBeLessThan(5 * Math.sqrt((u - l) ** 2 / 12 / count));
        expect(Math.abs(variance / ((u - l) ** 2 / 12) - 1)).toBeLessThan(0.01);
        expect(s.every((v) => v >= l && v < u)).toBe(true);
        // The next step draws other slopes (and still the reference's).
        const next = await runRrelu(ctx, x, dy, l, u, seed, stream, step + 1);
        expectAllClose('rrelu y, next step', next.y, rreluRef(x, rreluSlopesRef(count, l, u, seed, stream, step + 1)), TOLERANCE.forward);
        expect(Array.from(next.y.subarray(0, 1000))).not.toEqual(Array.from(gpu.y.subarray(0, 1000)));
      }
    });
  }
});
