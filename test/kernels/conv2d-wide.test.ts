/**
 * The row-wide conv tiles (ConvTile.wide, src/kernels/conv-wide.ts): forward (plain, ReLU, BIAS) and
 * input gradient (plain, RELU_MASK) against the float64 reference and, bit for bit, against the
 * 4-column tiles (the same sums in the same order): rows of 6 and 10 (a vec4 and a vec2 piece), 7
 * (vec4 + vec3), 5 (vec4 + f32) and 1; padding 0, 1 and 2; a 5×5 kernel; channels off the tiles; a partial last block of rows and the whole plane a
 * tile (its padding rows not generated); dx and y stored as vec4s, vec2s and scalars; several
 * weight slices; with the weights shared in subgroups (where the adapter has subgroups of 8) and on
 * the device described without them. And which tiles fit, and what the tuner offers.
 */
import { describe, expect, test } from 'vitest';
import { recordPass, type GpuContext } from '../../src/gpu/context.js';
import { allocateConvPacked, bindConv2d, conv2dKernel, conv2dParams, convStatsSlots, poolTile, wideTileProblem, type Conv2dShape } from '../../src/kernels/conv2d.js';
import type { ConvTile } from '../../src/kernels/conv-tile.js';
import { widePieces } from '../../src/kernels/conv-wide.js';
import { conv2dBackwardInputRef, conv2dForwardRef } from '../../src/reference/conv2d.js';
import { candidateTiles, tileFits } from '../../src/tune/tuner.js';
import { TOLERANCE, expectAllClose, randomArray } from '../helpers/allclose.js';
import { gpuTest, withoutSubgroups } from '../helpers/gpu.js';

interface Case {
  readonly shape: Conv2dShape;
  /** Rows × channels of the row-wide tile (and of the 4-column tile it is held against). */
  readonly rows: number;
  readonly channels: number;
  readonly workgroup?: number;
  /** Also on the device described without subgroups. */
  readonly plain?: boolean;
}

const S = (batch: number, inChannels: number, height: number, width: number, outChannels: number, padding: number, kernelH = 3, kernelW = 3): Conv2dShape => ({
  batch, inChannels, height, width, outChannels, kernelH, kernelW, stride: 1, padding,
});

const CASES: readonly Case[] = [
  // The seed CNN's convblock5 and convblock7 at batch 3 (rows of 10 and 6: a vec2 piece; padding 0
  // and 1; convblock7 the whole plane a tile, its padding rows not generated), on the device
  // described without subgroups too.
  { shape: S(3, 16, 10, 10, 16, 0), rows: 2, channels: 8, plain: true },
  { shape: S(3, 16, 6, 6, 16, 1), rows: 6, channels: 4, plain: true },
  // An odd width (vec4 + f32, scalar loads and stores), padding 2, a partial block of rows, channels off the tiles.
  { shape: S(2, 5, 7, 5, 6, 2), rows: 3, channels: 4, plain: true },
  // vec4 + vec3 pieces, 5 channels in a tile of 8, a workgroup of 24 (not whole subgroups).
  { shape: S(2, 3, 9, 7, 5, 1), rows: 4, channels: 8, workgroup: 24 },
  // A 5×5 kernel, the whole plane (the input gradient's full convolution pads by 4), one column wide.
  { shape: S(2, 4, 7, 1, 3, 2, 5, 5), rows: 7, channels: 4 },
  // 64 × 9 taps reduced by the forward and 40 × 9 by the input gradient: packed weights in slices.
  { shape: S(2, 64, 6, 6, 40, 1), rows: 2, channels: 16 },
];

describe('conv2d row-wide tiles', () => {
  CASES.forEach((c, n) => {
    const s = c.shape;
    const name = `batch ${s.batch}, ${s.inChannels}→${s.outChannels} channels, ${s.height}×${s.width}, ${s.kernelH}×${s.kernelW} padding ${s.padding}, ${c.rows} rows × ${c.channels} channels`;
    gpuTest(name, async (device) => {
      const p = conv2dParams(s);
      const wide: ConvTile = { rows: c.rows, channels: c.channels, workgroup: c.workgroup ?? 64, wide: true };
      // Any 4-column tile stores the same bits; one that fits every case.
      const narrow: ConvTile = { rows: 1, channels: 4, workgroup: c.workgroup ?? 64 };
      const inputs = s.batch * s.inChannels * s.height * s.width;
      const outputs = s.batch * s.outChannels * p.outHeight * p.outWidth;
      const weights = s.outChannels * s.inChannels * s.kernelH * s.kernelW;
      const x = Float32Array.from(randomArray(inputs, 10 + n));
      const w = Float32Array.from(randomArray(weights, 20 + n, -0.3, 0.3));
      const dy = Float32Array.from(randomArray(outputs, 30 + n));
      const bias = Float32Array.from(randomArray(s.outChannels, 40 + n));
      // The ReLU before the layer (RELU_MASK): a third exact zeros, some negatives.
      const reluData = Float32Array.from(randomArray(inputs, 50 + n, -0.5, 1), (v, i) => (i % 3 === 0 ? 0 : v));
      const yRef = conv2dForwardRef(x, w, s);
      const dxRef = conv2dBackwardInputRef(dy, w, s);
      for (const ctx of (c.plain ? [device, withoutSubgroups(device)] : [device]) as GpuContext[]) {
        const tx = ctx.tensor('x', [inputs], { data: x });
        const tw = ctx.tensor('w', [weights], { data: w });
        const tdy = ctx.tensor('dy', [outputs], { data: dy });
        const tbias = ctx.tensor('bias', [s.outChannels], { data: bias });
        const relu = ctx.tensor('relu output', [inputs], { data: reluData });
        const run = async (tile: ConvTile) => {
          const out = {
            y: ctx.tensor('y', [outputs]),
            yRelu: ctx.tensor('y (ReLU)', [outputs]),
            yBias: ctx.tensor('y (bias, ReLU)', [outputs]),
            dx: ctx.tensor('dx', [inputs]),
            dxMasked: ctx.tensor('dx (ReLU mask)', [inputs]),
          };
          for (const t of Object.values(out)) ctx.fill(t, NaN);
          const f = allocateConvPacked(ctx, 'w', p, 'forward', tile);
          const i = allocateConvPacked(ctx, 'w', p, 'input', tile);
          const list = [
            ...(await bindConv2d(ctx, p, f, { input: tx, weight: tw, output: out.y })),
            ...(await bindConv2d(ctx, p, f, { input: tx, weight: tw, output: out.yRelu }, { relu: true })),
            ...(await bindConv2d(ctx, p, f, { input: tx, weight: tw, output: out.yBias, bias: tbias }, { relu: true })),
            ...(await bindConv2d(ctx, p, i, { input: tdy, weight: tw, output: out.dx })),
            ...(await bindConv2d(ctx, p, i, { input: tdy, weight: tw, output: out.dxMasked, reluOutput: relu })),
          ];
          ctx.submit('conv2d wide test', (e) => recordPass(e, 'conv2d wide test', list));
          const got = await ctx.readMany(Object.values(out));
          return Object.fromEntries(Object.keys(out).map((k, j) => [k, got[j]!])) as Record<keyof typeof out, Float32Array>;
        };
        const got = await run(wide);
        const label = ctx === device ? '' : ' (no subgroups)';
        expectAllClose(`forward${label}`, got.y, yRef, TOLERANCE.gradient);
        expectAllClose(`forward, ReLU${label}`, got.yRelu, yRef.map((v) => Math.max(v, 0)), TOLERANCE.gradient);
        expectAllClose(`forward, bias and ReLU${label}`, got.yBias, yRef.map((v, j) => Math.max(v + bias[Math.floor(j / (p.outHeight * p.outWidth)) % s.outChannels]!, 0)), TOLERANCE.gradient);
        expectAllClose(`input gradient${label}`, got.dx, dxRef, TOLERANCE.gradient);
        expectAllClose(`input gradient, ReLU mask${label}`, got.dxMasked, dxRef.map((v, j) => (reluData[j]! > 0 ? v : 0)), TOLERANCE.gradient);
        const want = await run(narrow);
        for (const k of Object.keys(want) as (keyof typeof want)[]) expect(Array.from(got[k]), `${k}${label}: the 4-column tile's bits`).toEqual(Array.from(want[k]));
      }
    });
  });
});

describe('conv2d row-wide tiles: fitting', () => {
  const c7 = conv2dParams(S(128, 16, 6, 6, 16, 1));
  test("a row's pieces: 4 columns each, the last the rest", () => {
    expect(widePieces(6)).toEqual([[0, 4], [4, 2]]);
    expect(widePieces(10)).toEqual([[0, 4], [4, 4], [8, 2]]);
    expect(widePieces(3)).toEqual([[0, 3]]);
    expect(widePieces(8)).toEqual([[0, 4], [4, 4]]);
  });
  test('stride 1 only, at most the plane, within the unroll budget', () => {
    expect(wideTileProblem(c7, 'forward', { rows: 6, channels: 4, workgroup: 64, wide: true })).toBeUndefined();
    expect(wideTileProblem(c7, 'forward', { rows: 7, channels: 4, workgroup: 64, wide: true })).toMatch(/more than the plane/);
    expect(wideTileProblem(c7, 'forward', { rows: 6, channels: 8, workgroup: 64, wide: true })).toMatch(/648 unrolled/);
    expect(wideTileProblem(conv2dParams({ ...S(2, 4, 13, 12, 8, 1), stride: 2 }), 'forward', { rows: 2, channels: 4, workgroup: 64, wide: true })).toMatch(/stride 2/);
    expect(() => conv2dKernel(c7, 'forward', { rows: 6, channels: 8, workgroup: 64, wide: true })).toThrow(/row-wide tile cannot run/);
    expect(tileFits(c7, 'forward', { rows: 6, channels: 8, workgroup: 64, wide: true })).toBe(false);
    expect(tileFits(c7, 'input', { rows: 3, channels: 8, workgroup: 64, wide: true })).toBe(true);
  });
  test('one block of rows an invocation: its statistics slots, and no max-pool epilogue', () => {
    expect(convStatsSlots(c7, { rows: 3, channels: 8, workgroup: 64, wide: true }, false)).toBe(256);
    expect(convStatsSlots(c7, { rows: 3, channels: 8, workgroup: 64 }, false)).toBe(512);
    expect(poolTile({ rows: 3, channels: 8, workgroup: 64, wide: true }, 9)).toEqual({ rows: 2, channels: 8, workgroup: 64 });
  });
  test('the tuner offers them for small planes at stride 1, after the default, where they were measured (lavapipe)', () => {
    const lavapipe = { software: true, subgroupSize: 8 };
    const wide = (p: ReturnType<typeof conv2dParams>, d: 'forward' | 'input') => candidateTiles(p, d, lavapipe).filter((t) => t.wide).map((t) => `${t.rows}×${t.channels}`);
    expect(wide(c7, 'forward')).toEqual(['2×8', '6×4', '3×8']);
    expect(candidateTiles(c7, 'forward', lavapipe)[0]!.wide).toBeUndefined();
    expect(candidateTiles(c7, 'forward').some((t) => t.wide)).toBe(false);
    expect(candidateTiles(c7, 'forward', { software: false, subgroupSize: 32 }).some((t) => t.wide)).toBe(false);
    // convblock5's input gradient: dx 10 × 10, the whole plane does not fit.
    expect(wide(conv2dParams(S(128, 16, 10, 10, 16, 0)), 'input')).toEqual(['2×8']);
    // convblock1–3's planes (26 and 24 wide) and a stride of 2: none.
    expect(wide(conv2dParams(S(128, 1, 28, 28, 16, 0)), 'forward')).toEqual([]);
    expect(wide(conv2dParams(S(128, 16, 26, 26, 32, 0)), 'input')).toEqual([]);
    expect(wide(conv2dParams(S(128, 32, 24, 24, 10, 0, 1, 1)), 'forward')).toEqual([]);
    expect(wide(conv2dParams({ ...S(2, 4, 13, 12, 8, 1), stride: 2 }), 'forward')).toEqual([]);
  });
});
