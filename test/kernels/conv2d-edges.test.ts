/**
 * The edges tiles (ConvTile.edges, conv2dEdgeParts in src/kernels/conv2d.ts): an input gradient's
 * 4-column tile on its plane's whole blocks, the last columns and the last rows on row-wide kernels
 * generated for those regions. Against the float64 reference and, bit for bit, against the
 * 4-column tile alone (the same sums in the same order), plain and with the ReLU mask: the seed
 * CNN's convblock2 (dx 26 × 26: 2 columns and 2 rows left over; vec4 loads, vec2 stores), odd
 * widths (scalar loads and stores), only columns or only rows left over, padding 0–2, a 5×5
 * kernel, channels off the tiles (a last-rows kernel of 8 and of 4 channels), several weight
 * slices, an odd batch, a workgroup that is not whole subgroups; on the device described without
 * subgroups too. And which tiles fit, and what the tuner offers.
 */
import { describe, expect, test } from 'vitest';
import { recordPass, type GpuContext } from '../../src/gpu/context.js';
import { allocateConvPacked, bindConv2d, conv2dEdgeParts, conv2dKernels, conv2dParams, convBlocks, convSlices, edgesTileProblem, type Conv2dShape } from '../../src/kernels/conv2d.js';
import type { ConvTile } from '../../src/kernels/conv-tile.js';
import { conv2dBackwardInputRef } from '../../src/reference/conv2d.js';
import { candidateTiles, tileFits } from '../../src/tune/tuner.js';
import { TOLERANCE, expectAllClose, randomArray } from '../helpers/allclose.js';
import { gpuTest, withoutSubgroups } from '../helpers/gpu.js';

interface Case {
  readonly shape: Conv2dShape;
  readonly rows: number;
  readonly channels: number;
  readonly workgroup?: number;
  /** The parts bindConv2d dispatches per slice. */
  readonly parts: readonly string[];
  /** Also on the device described without subgroups. */
  readonly plain?: boolean;
}

const S = (batch: number, inChannels: number, height: number, width: number, outChannels: number, padding: number, kernelH = 3, kernelW = 3): Conv2dShape => ({
  batch, inChannels, height, width, outChannels, kernelH, kernelW, stride: 1, padding,
});
const ALL = ['whole blocks', 'last columns', 'last rows'];

const CASES: readonly Case[] = [
  // The seed CNN's convblock2 at batch 16 (4 rows as its tuned 4 × 16 tile, 8 channels to compile
  // less; the last rows on 8 channels as there; 576 whole blocks, 9 workgroups with none to spare).
  { shape: S(16, 16, 26, 26, 32, 0), rows: 4, channels: 8, parts: ALL },
  // An odd width (scalar loads and stores), padding 1, one row left over, 5 channels in a tile of 8.
  { shape: S(3, 5, 9, 7, 6, 1), rows: 4, channels: 8, parts: ALL, plain: true },
  // Padding 2 (dy 12 × 12 for dx 10 × 10), a tile of 12 channels: the last rows on 4.
  { shape: S(2, 12, 10, 10, 7, 2), rows: 4, channels: 12, parts: ALL },
  // Only rows left over (width 8: vec4 stores), and only columns (height 8).
  { shape: S(2, 4, 6, 8, 5, 1), rows: 4, channels: 4, parts: ['whole blocks', 'last rows'] },
  { shape: S(2, 4, 8, 6, 5, 1), rows: 4, channels: 8, parts: ['whole blocks', 'last columns'], plain: true },
  // A 5×5 kernel (the full convolution pads by 4), three columns and one row left over.
  { shape: S(2, 3, 11, 7, 4, 2, 5, 5), rows: 2, channels: 4, parts: ALL },
  // 200 × 9 taps reduced, 4 channels a tile: 8 channels a slice, two slices; a workgroup of 24 (not whole subgroups).
  { shape: S(1, 12, 7, 7, 200, 1), rows: 4, channels: 4, workgroup: 24, parts: ALL },
];

describe('conv2d edges tiles', () => {
  CASES.forEach((c, n) => {
    const s = c.shape;
    const name = `batch ${s.batch}, ${s.inChannels}→${s.outChannels} channels, ${s.height}×${s.width}, ${s.kernelH}×${s.kernelW} padding ${s.padding}, ${c.rows} rows × ${c.channels} channels`;
    gpuTest(name, async (device) => {
      const p = conv2dParams(s);
      const edges: ConvTile = { rows: c.rows, channels: c.channels, workgroup: c.workgroup ?? 64, edges: true };
      // Any 4-column tile stores the same bits; the smallest (the fewest products to compile).
      const plainTile: ConvTile = { rows: 1, channels: 4, workgroup: c.workgroup ?? 64 };
      expect(edgesTileProblem(p, 'input', edges)).toBeUndefined();
      expect(conv2dEdgeParts(p, 'input', edges).map((part) => part.name)).toEqual(c.parts);
      const inputs = s.batch * s.inChannels * s.height * s.width;
      const outputs = s.batch * s.outChannels * p.outHeight * p.outWidth;
      const weights = s.outChannels * s.inChannels * s.kernelH * s.kernelW;
      const w = Float32Array.from(randomArray(weights, 20 + n, -0.3, 0.3));
      const dy = Float32Array.from(randomArray(outputs, 30 + n));
      // The ReLU before the layer (RELU_MASK): a third exact zeros, some negatives.
      const reluData = Float32Array.from(randomArray(inputs, 50 + n, -0.5, 1), (v, i) => (i % 3 === 0 ? 0 : v));
      const dxRef = conv2dBackwardInputRef(dy, w, s);
      for (const ctx of (c.plain ? [device, withoutSubgroups(device)] : [device]) as GpuContext[]) {
        const tw = ctx.tensor('w', [weights], { data: w });
        const tdy = ctx.tensor('dy', [outputs], { data: dy });
        const relu = ctx.tensor('relu output', [inputs], { data: reluData });
        const run = async (tile: ConvTile) => {
          const out = { dx: ctx.tensor('dx', [inputs]), dxMasked: ctx.tensor('dx (ReLU mask)', [inputs]) };
          for (const t of Object.values(out)) ctx.fill(t, NaN);
          const i = allocateConvPacked(ctx, 'w', p, 'input', tile);
          const plainList = await bindConv2d(ctx, p, i, { input: tdy, weight: tw, output: out.dx });
          const list = [...plainList, ...(await bindConv2d(ctx, p, i, { input: tdy, weight: tw, output: out.dxMasked, reluOutput: relu }))];
          // The packing, then a kernel per part and slice.
          expect(plainList.length).toBe(1 + (tile.edges ? c.parts.length : 1) * convSlices(p, 'input', tile).length);
          ctx.submit('conv2d edges test', (e) => recordPass(e, 'conv2d edges test', list));
          const [dx, dxMasked] = await ctx.readMany([out.dx, out.dxMasked]);
          return { dx: dx!, dxMasked: dxMasked! };
        };
        const got = await run(edges);
        const label = ctx === device ? '' : ' (no subgroups)';
        expectAllClose(`input gradient${label}`, got.dx, dxRef, TOLERANCE.gradient);
        expectAllClose(`input gradient, ReLU mask${label}`, got.dxMasked, dxRef.map((v, j) => (reluData[j]! > 0 ? v : 0)), TOLERANCE.gradient);
        const want = await run(plainTile);
        expect(Array.from(got.dx), `dx${label}: the 4-column tile's bits`).toEqual(Array.from(want.dx));
        expect(Array.from(got.dxMasked), `dx, ReLU mask${label}: the 4-column tile's bits`).toEqual(Array.from(want.dxMasked));
      }
    }, 300_000);
  });
});

describe('conv2d edges tiles: fitting', () => {
  const c2 = conv2dParams(S(128, 16, 26, 26, 32, 0));
  const t416: ConvTile = { rows: 4, channels: 16, workgroup: 64, edges: true };
  test("convblock2's parts: 6 × 6 whole blocks, 2 columns beside them, 2 rows across on 8 channels", () => {
    expect(conv2dEdgeParts(c2, 'input', t416)).toEqual([
      { tile: { rows: 4, channels: 16, workgroup: 64 }, name: 'whole blocks' },
      { tile: { rows: 4, channels: 16, workgroup: 64, wide: true }, region: { row0: 0, rowCount: 24, pieces: [[24, 2]] }, name: 'last columns' },
      { tile: { rows: 2, channels: 8, workgroup: 64, wide: true }, region: { row0: 24, rowCount: 2, pieces: [[0, 4], [4, 4], [8, 4], [12, 4], [16, 4], [20, 4], [24, 2]] }, name: 'last rows' },
    ]);
    expect(convBlocks(c2, 'input', t416)).toBe(128 * 36);
    expect(conv2dKernels(c2, 'input', t416)).toHaveLength(3);
  });
  test('the input gradient at stride 1, a plane with whole blocks and some left over', () => {
    expect(edgesTileProblem(c2, 'forward', t416)).toMatch(/input-gradient tile/);
    expect(edgesTileProblem(conv2dParams(S(2, 4, 24, 24, 8, 1)), 'input', t416)).toMatch(/is whole blocks/);
    expect(edgesTileProblem(conv2dParams(S(2, 4, 3, 9, 8, 1)), 'input', t416)).toMatch(/no whole block/);
    expect(edgesTileProblem(conv2dParams({ ...S(2, 4, 13, 13, 8, 1), stride: 2 }), 'input', t416)).toMatch(/stride 2/);
    expect(edgesTileProblem(c2, 'input', { ...t416, wide: true })).toMatch(/4-column tile/);
    // 3 rows left over across a 30-wide plane on 4 channels: 630 vec4 products.
    expect(edgesTileProblem(conv2dParams(S(2, 4, 7, 30, 4, 1)), 'input', { rows: 4, channels: 4, workgroup: 64, edges: true })).toMatch(/more than 576/);
    expect(tileFits(c2, 'input', t416)).toBe(true);
    expect(tileFits(c2, 'forward', t416)).toBe(false);
    expect(() => conv2dKernels(c2, 'forward', t416)).toThrow(/edges tile cannot run/);
  });
  test('the tuner offers the default tile with edges after it, on lavapipe only', () => {
    const lavapipe = { software: true, subgroupSize: 8 };
    expect(candidateTiles(c2, 'input', lavapipe).slice(0, 2)).toEqual([{ rows: 4, channels: 16, workgroup: 64 }, t416]);
    expect(candidateTiles(c2, 'input').some((t) => t.edges)).toBe(false);
    expect(candidateTiles(c2, 'input', { software: false, subgroupSize: 32 }).some((t) => t.edges)).toBe(false);
    expect(candidateTiles(c2, 'forward', lavapipe).some((t) => t.edges)).toBe(false);
    // convblock3's 1×1 input gradient runs its pointwise tile; a plane of whole blocks has no edges.
    expect(candidateTiles(conv2dParams(S(128, 32, 24, 24, 10, 0, 1, 1)), 'input', lavapipe).some((t) => t.edges)).toBe(false);
    expect(candidateTiles(conv2dParams(S(128, 16, 24, 24, 16, 1)), 'input', lavapipe).some((t) => t.edges)).toBe(false);
  });
});
