/**
 * The forward's whole-row tile (ConvTile.flat, src/kernels/conv-flat.ts) for first layers of 1–4
 * input channels: its output is the default tile's, bit for bit, and the float64 reference's;
 * with its STATS epilogue, the batch statistics merged from its partial moments are the
 * reference's, every element counted once; with the weights shared in subgroups (W_SHARED, where
 * the adapter's subgroups are 8) and without, and on the device described without subgroups.
 * Shapes: the seed CNN's convblock1 (26-wide rows: a vec4 across two rows), a band left partial
 * (5 rows in bands of 2), padding 2, tile channels past the layer's, a bias, 4 input channels.
 * The tuner offers the tile where it fits, and its cache refuses one that does not.
 */
import { describe, expect, test } from 'vitest';
import { recordPass } from '../../src/gpu/context.js';
import type { GpuContext } from '../../src/gpu/context.js';
import { batchnormStatsMerge } from '../../src/kernels/batchnorm.js';
import { allocateConvPacked, bindConv2d, conv2dParams, convSharesWeights, convStatsSlots, defaultConvTile, type Conv2dShape } from '../../src/kernels/conv2d.js';
import type { ConvTile } from '../../src/kernels/conv-tile.js';
import { flatTileProblem } from '../../src/kernels/conv-flat.js';
import { HEALTH_SLOTS, freshHealth, healthLength } from '../../src/kernels/health.js';
import { batchNormForwardTrainRef } from '../../src/reference/batchnorm.js';
import { conv2dForwardRef } from '../../src/reference/conv2d.js';
import { candidateTiles, tileFits } from '../../src/tune/tuner.js';
import { TOLERANCE, expectAllClose, randomArray } from '../helpers/allclose.js';
import { gpuTest, withoutSubgroups } from '../helpers/gpu.js';

interface Case {
  readonly shape: Conv2dShape;
  readonly tile: ConvTile;
  readonly relu: boolean;
  readonly bias?: boolean;
}

const CASES: readonly Case[] = [
  // convblock1 of the seed CNN (batch 5): bands of 2 rows of 26, 13 vec4s a band.
  { shape: { batch: 5, inChannels: 1, height: 28, width: 28, outChannels: 16, kernelH: 3, kernelW: 3, stride: 1, padding: 0 }, tile: { rows: 2, channels: 16, workgroup: 64, flat: true }, relu: true },
  // A band left partial (5 rows in bands of 2), 4 input channels, 6 channels in a tile of 8, workgroup 32.
  { shape: { batch: 3, inChannels: 4, height: 5, width: 4, outChannels: 6, kernelH: 3, kernelW: 3, stride: 1, padding: 1 }, tile: { rows: 2, channels: 8, workgroup: 32, flat: true }, relu: false },
  // Padding 2 (out 10 × 10: bands of 2 rows), 3 input channels, a bias, two channel tiles, a workgroup not whole subgroups.
  { shape: { batch: 2, inChannels: 3, height: 8, width: 8, outChannels: 10, kernelH: 3, kernelW: 3, stride: 1, padding: 2 }, tile: { rows: 2, channels: 8, workgroup: 12, flat: true }, relu: true, bias: true },
  // Rows of a multiple of 4 (one row a band), 2 input channels, a 2 × 3 kernel.
  { shape: { batch: 4, inChannels: 2, height: 6, width: 12, outChannels: 4, kernelH: 2, kernelW: 3, stride: 1, padding: 1 }, tile: { rows: 1, channels: 4, workgroup: 64, flat: true }, relu: true },
];

const EPS = 1e-5;

async function run(ctx: GpuContext, c: Case, n: number) {
  const s = c.shape;
  const p = conv2dParams(s);
  const area = p.outHeight * p.outWidth;
  const xData = Float32Array.from(randomArray(s.batch * s.inChannels * s.height * s.width, 40 + n));
  const wData = Float32Array.from(randomArray(s.outChannels * s.inChannels * s.kernelH * s.kernelW, 50 + n, -0.4, 0.4));
  const bData = Float32Array.from(randomArray(s.outChannels, 60 + n, -0.2, 0.2));
  const x = ctx.tensor('x', [xData.length], { data: xData });
  const weight = ctx.tensor('weight', [wData.length], { data: wData });
  const bias = c.bias ? ctx.tensor('bias', [s.outChannels], { data: bData }) : undefined;
  const yLength = s.batch * s.outChannels * area;
  const base = ctx.tensor('y (default tile)', [yLength]);
  const defaults = allocateConvPacked(ctx, 'default', p, 'forward', defaultConvTile(p, 'forward'));
  const packed = allocateConvPacked(ctx, 'flat', p, 'forward', c.tile);
  const sharing = convSharesWeights(ctx, c.tile) ? [true, false] : [false];
  const list = [...(await bindConv2d(ctx, p, defaults, { input: x, weight, output: base, bias }, { relu: c.relu }))];
  const results: { shared: boolean; y: typeof base; plain: typeof base; moments: typeof base; stats: typeof base; slots: number }[] = [];
  for (const shared of sharing) {
    const slots = convStatsSlots(p, c.tile, shared);
    const r = { shared, slots, y: ctx.tensor('y', [yLength]), plain: ctx.tensor('y (no statistics)', [yLength]), moments: ctx.tensor('moments', [s.outChannels * slots * 3]), stats: ctx.tensor('stats', [2, s.outChannels]) };
    ctx.fill(r.moments, NaN);
    const running = [ctx.tensor('running mean', [s.outChannels]), ctx.tensor('running var', [s.outChannels], { data: new Float32Array(s.outChannels).fill(1) })] as const;
    const health = ctx.tensor('health', [healthLength(2)], { dtype: 'u32', data: freshHealth(2) });
    list.push(
      ...(await bindConv2d(ctx, p, packed, { input: x, weight, output: r.plain, bias }, { relu: c.relu, sharedWeights: shared })),
      ...(await bindConv2d(ctx, p, packed, { input: x, weight, output: r.y, stats: r.moments, bias }, { relu: c.relu, sharedWeights: shared })),
      (await ctx.compile(batchnormStatsMerge)).bind(
        { moments: r.moments, stats: r.stats, runningMean: running[0], runningVar: running[1], health },
        { channels: s.outChannels, slots, eps: EPS, momentum: 0.1, meanSlot: HEALTH_SLOTS.parameters, varSlot: HEALTH_SLOTS.parameters + 1 },
      ),
    );
    results.push(r);
  }
  ctx.submit('conv whole-row test', (e) => recordPass(e, 'conv whole-row test', list));
  const gotBase = await ctx.read(base);
  // The float64 reference, the bias added and the ReLU applied as the kernels do.
  const ref = conv2dForwardRef(xData, wData, s).map((v, i) => {
    const b = c.bias ? v + bData[Math.floor(i / area) % s.outChannels]! : v;
    return c.relu ? Math.max(b, 0) : b;
  });
  expectAllClose('the default tile against float64', gotBase, ref, TOLERANCE.forward);
  for (const r of results) {
    const label = r.shared ? 'weights shared in subgroups' : 'weights loaded by each invocation';
    const [gotY, gotPlain, gotMoments, gotStats] = await ctx.readMany([r.y, r.plain, r.moments, r.stats]);
    const bits = (a: ArrayBufferView & { readonly length: number }) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));
    expect(bits(gotPlain!), `${label}: the default tile's output, bit for bit`).toEqual(bits(gotBase));
    expect(bits(gotY!), `${label}: with statistics, the same output`).toEqual(bits(gotBase));
    for (let ch = 0; ch < s.outChannels; ch++) {
      let count = 0;
      for (let k = 0; k < r.slots; k++) count += gotMoments![(ch * r.slots + k) * 3]!;
      expect(count, `${label}: channel ${ch}'s counted elements`).toBe(s.batch * area);
    }
    const bn = batchNormForwardTrainRef(gotY!, new Float64Array(s.outChannels).fill(1), new Float64Array(s.outChannels), s.batch, s.outChannels, area, EPS);
    expectAllClose(`${label}: stats (mean, invStd)`, gotStats!, [...bn.mean, ...bn.invStd], TOLERANCE.forward);
  }
}

describe('conv2d forward, whole-row tile', () => {
  CASES.forEach((c, n) => {
    const s = c.shape;
    const name = `batch ${s.batch}, ${s.inChannels}→${s.outChannels}, ${s.height}×${s.width}, ${s.kernelH}×${s.kernelW} padding ${s.padding}, ${c.tile.rows} rows × ${c.tile.channels} wg${c.tile.workgroup}${c.relu ? ', ReLU' : ''}${c.bias ? ', bias' : ''}`;
    gpuTest(name, (ctx) => run(ctx, c, n), 120_000);
    gpuTest(`${name}, on the device described without subgroups`, (ctx) => run(withoutSubgroups(ctx), c, n), 120_000);
  });

  test('where a whole-row tile fits, and the tuner offers it', () => {
    const c1 = conv2dParams({ batch: 128, inChannels: 1, height: 28, width: 28, outChannels: 16, kernelH: 3, kernelW: 3, stride: 1, padding: 0 });
    const tile: ConvTile = { rows: 2, channels: 16, workgroup: 64, flat: true };
    expect(flatTileProblem(c1, tile)).toBeUndefined();
    expect(flatTileProblem(c1, { ...tile, rows: 1 })).toMatch(/not a multiple of 4/);
    expect(flatTileProblem(c1, { ...tile, rows: 4 })).toMatch(/unrolled products/);
    expect(flatTileProblem({ ...c1, inChannels: 5 }, tile)).toMatch(/input channels/);
    expect(flatTileProblem({ ...c1, stride: 2 }, tile)).toMatch(/stride/);
    expect(flatTileProblem({ ...c1, width: 26 }, tile)).toMatch(/input width/);
    expect(tileFits(c1, 'forward', tile)).toBe(true);
    expect(tileFits(c1, 'input', tile)).toBe(false);
    expect(tileFits(c1, 'forward', { ...tile, rows: 1 })).toBe(false);
    const lavapipe = { software: true, subgroupSize: 8 };
    expect(candidateTiles(c1, 'forward', lavapipe).filter((t) => t.flat)).toEqual([tile, { ...tile, workgroup: 32 }]);
    expect(candidateTiles(c1, 'input', lavapipe).some((t) => t.flat)).toBe(false);
    // Offered only where measured: a software adapter with subgroups of 8 (lavapipe).
    expect(candidateTiles(c1, 'forward').some((t) => t.flat)).toBe(false);
    expect(candidateTiles(c1, 'forward', { software: true }).some((t) => t.flat)).toBe(false);
    expect(candidateTiles(c1, 'forward', { software: false, subgroupSize: 8 }).some((t) => t.flat)).toBe(false);
    // convblock2 (16 input channels) is no first layer.
    const c2 = conv2dParams({ ...c1, inChannels: 16, height: 26, width: 26, outChannels: 32 });
    expect(candidateTiles(c2, 'forward', lavapipe).some((t) => t.flat)).toBe(false);
  });
});
