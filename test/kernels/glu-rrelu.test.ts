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
import { float32Bits, fromFloat32Bits, hasTorch, runTorch, skipWithoutTorch, tailMismatch } from '../helpers/torch.js';

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

describe("glu where σ(b) is a float32 subnormal (b < −87.34): PyTorch 1.13's float32", () => {
  // a·σ(b) is normal for a large a (1.82 at (3e38, −88): an audit's finding, 0 before), ∞ for a = ∞
  // (NaN before); PyTorch's σ(b) = 1/(1 + e^−b) is 0 from −88.7228 down (e^−b overflows), ∞·0 NaN.
  gpuTest('y, ∂a, ∂b (dy = 1) at a in {3e38, −1e30, 20, −2.5, 1.5, ∞}, to 4 ulp and one 2^−149 of σ(b) times a', async (ctx, t) => {
    skipWithoutTorch(t);
    const bs = [-87.34, -87.5, -88, -88.3, -88.7, -88.72283172607422, -88.72283935546875, -89, -95, -1e30];
    const x = [3e38, -1e30, 20, -2.5, 1.5, Infinity].flatMap((a) => bs.flatMap((b) => [a, b]));
    const n = x.length / 2;
    const [y, dx] = runTorch<[number[], number[]]>(
      `
import json, sys, torch
x = torch.tensor(json.load(sys.stdin), dtype=torch.int32).view(torch.float32).reshape(-1, 2).requires_grad_()
y = torch.nn.functional.glu(x, 1)
y.backward(torch.ones_like(y))
print(json.dumps([y.detach().flatten().view(torch.int32).tolist(), x.grad.flatten().view(torch.int32).tolist()]))
`,
      float32Bits(x),
    ).map(fromFloat32Bits);
    const g = { x: ctx.tensor('x', [2 * n], { data: x }), y: ctx.tensor('y', [n]), dy: ctx.tensor('dy', [n], { data: Array(n).fill(1) }), dx: ctx.tensor('dx', [2 * n]) };
    ctx.fill(g.y, NaN);
    ctx.fill(g.dx, NaN);
    const params = { count: n, half: 1, inner: 1 };
    const kernels = [(await ctx.compile(glu)).bind({ x: g.x, y: g.y }, params), (await ctx.compile(glu, { BACKWARD: true })).bind({ x: g.x, dy: g.dy, dx: g.dx }, params)];
    ctx.submit('glu tail test', (e) => recordPass(e, 'glu tail test', kernels));
    const [gy, gdx] = [await ctx.read(g.y), await ctx.read(g.dx)];
    for (let i = 0; i < n; i++) {
      const [a, b] = [x[2 * i]!, x[2 * i + 1]!];
      const unit = Math.abs(a) * 2 ** -149;
      expect(tailMismatch(gy[i]!, y![i]!, unit), `y at (${a}, ${b})`).toBeUndefined();
      expect(tailMismatch(gdx[2 * i]!, dx![2 * i]!, 2 ** -149), `∂a at (${a}, ${b})`).toBeUndefined();
      expect(tailMismatch(gdx[2 * i + 1]!, dx![2 * i + 1]!, unit), `∂b at (${a}, ${b})`).toBeUndefined();
    }
    // The audit's three: 1.8163805 at (3e38, −88), 9.98e-9 at (1e30, −87.5) (here −1e30), ∞ at (∞, −88).
    [[2, 1.816380500793457], [11, -9.982351834025849e-9], [52, Infinity]].forEach(([i, torch]) => expect(tailMismatch(gy[i!]!, torch!, 3e38 * 2 ** -149), `y at (${x[2 * i!]}, ${x[2 * i! + 1]})`).toBeUndefined());
  });
  if (!hasTorch) gpuTest('PyTorch is not installed here: the GLU tail comparison skipped', async (_ctx, t) => t.skip());
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
