/**
 * The conv forward's STATS epilogue with batchnorm_stats_merge (in one step, and in two with
 * batchnorm_moments_merge as on a GPU) (fusion rule
 * batchnorm-stats-epilogue): the batch statistics of the conv's own output against the float64
 * reference's, and against batchnorm_stats run on that output; the output itself is the same, bit
 * for bit, as without the epilogue. Shapes whose blocks leave partial rows and partial quads,
 * tile channels past the layer's, invocations past the last block, several weight slices, a tile
 * whose workgroup is not whole subgroups, row-wide tiles (ConvTile.wide), and the seed CNN's convblock2 at batch 128 (73,728
 * elements a channel); with the subgroup merge (W_SHARED, where the adapter has subgroups of 8)
 * and without.
 */
import { describe, expect, test } from 'vitest';
import { recordPass } from '../../src/gpu/context.js';
import { batchnormMergeGroups, batchnormMomentsMerge, batchnormStats, batchnormStatsMerge, batchnormVariant } from '../../src/kernels/batchnorm.js';
import { allocateConvPacked, bindConv2d, conv2dParams, convStatsSlots, defaultConvTile, type Conv2dShape } from '../../src/kernels/conv2d.js';
import type { ConvTile } from '../../src/kernels/conv-tile.js';
import { HEALTH_NONE, HEALTH_SLOTS, freshHealth, healthLength } from '../../src/kernels/health.js';
import { batchNormForwardTrainRef, batchNormRunningUpdateRef } from '../../src/reference/batchnorm.js';
import { TOLERANCE, expectAllClose, randomArray } from '../helpers/allclose.js';
import { gpuTest } from '../helpers/gpu.js';

const EPS = 1e-5;
/** Slot groups of the two-step merge tested beside the one-step one (a GPU's: batchnormMergeGroups). */
const GROUPS = 3;
const MOMENTUM = 0.1;

interface Case {
  readonly shape: Conv2dShape;
  readonly relu: boolean;
  readonly tile?: ConvTile;
  readonly slices?: number;
}

const CASES: readonly Case[] = [
  // 7 × 9 outputs: a partial block of rows, a partial quad; 6 channels in a tile of 8; 18 blocks
  // in a workgroup of 64.
  { shape: { batch: 3, inChannels: 2, height: 7, width: 9, outChannels: 6, kernelH: 3, kernelW: 3, stride: 1, padding: 1 }, relu: true },
  { shape: { batch: 3, inChannels: 2, height: 7, width: 9, outChannels: 6, kernelH: 3, kernelW: 3, stride: 1, padding: 1 }, relu: false },
  // 3 rows a block, a workgroup of 24 (not whole subgroups of 8: no subgroup merge).
  { shape: { batch: 2, inChannels: 3, height: 11, width: 6, outChannels: 5, kernelH: 3, kernelW: 3, stride: 1, padding: 0 }, relu: true, tile: { rows: 3, channels: 4, workgroup: 24 } },
  // 64 input channels × 9 taps: 16 output channels a packed slice, 40 channels in 3 slices.
  { shape: { batch: 2, inChannels: 64, height: 5, width: 5, outChannels: 40, kernelH: 3, kernelW: 3, stride: 1, padding: 1 }, relu: true, slices: 3 },
  // A 1×1 kernel (the seed CNN's convblock3) and a stride of 2.
  { shape: { batch: 5, inChannels: 32, height: 24, width: 24, outChannels: 10, kernelH: 1, kernelW: 1, stride: 1, padding: 0 }, relu: false },
  { shape: { batch: 3, inChannels: 4, height: 13, width: 12, outChannels: 8, kernelH: 3, kernelW: 3, stride: 2, padding: 1 }, relu: true },
  // Row-wide tiles (ConvTile.wide): a 10-wide plane (a vec2 piece) with a partial block of rows
  // and 10 channels in tiles of 8; a 6 × 6 plane with padding, the whole plane a tile.
  { shape: { batch: 3, inChannels: 4, height: 12, width: 12, outChannels: 10, kernelH: 3, kernelW: 3, stride: 1, padding: 0 }, relu: true, tile: { rows: 3, channels: 8, workgroup: 64, wide: true } },
  { shape: { batch: 9, inChannels: 3, height: 6, width: 6, outChannels: 4, kernelH: 3, kernelW: 3, stride: 1, padding: 1 }, relu: false, tile: { rows: 6, channels: 4, workgroup: 64, wide: true } },
  // The seed CNN's convblock2 at batch 128.
  { shape: { batch: 128, inChannels: 16, height: 26, width: 26, outChannels: 32, kernelH: 3, kernelW: 3, stride: 1, padding: 0 }, relu: true },
];

test("a GPU's two-step merge: about 512 workgroups, at least 64 slots a group; one step on a CPU adapter", () => {
  const gpu = { software: false };
  expect(batchnormMergeGroups({ slots: 50_176, channels: 16 }, gpu)).toBe(32); // convblock1 at batch 1024
  expect(batchnormMergeGroups({ slots: 784, channels: 16 }, gpu)).toBe(12); // 64 slots a group at least
  expect(batchnormMergeGroups({ slots: 127, channels: 16 }, gpu)).toBe(1);
  expect(batchnormMergeGroups({ slots: 50_176, channels: 16 }, { software: true })).toBe(1);
});

describe('conv2d forward STATS epilogue and batchnorm_stats_merge', () => {
  CASES.forEach((c, n) => {
    const s = c.shape;
    const name = `batch ${s.batch}, ${s.inChannels}→${s.outChannels} channels, ${s.height}×${s.width}, ${s.kernelH}×${s.kernelW} stride ${s.stride} padding ${s.padding}${c.relu ? ', ReLU' : ''}${c.tile ? `, tile ${c.tile.rows}×${c.tile.wide ? 'row' : 4}×${c.tile.channels} wg${c.tile.workgroup}` : ''}`;
    gpuTest(name, async (ctx) => {
      const p = conv2dParams(s);
      const tile = c.tile ?? defaultConvTile(p, 'forward');
      const packed = allocateConvPacked(ctx, 'w', p, 'forward', tile);
      if (c.slices) expect(packed.slices.length, 'weight slices').toBe(c.slices);
      const area = p.outHeight * p.outWidth;
      const x = ctx.tensor('x', [s.batch * s.inChannels * s.height * s.width], { data: Float32Array.from(randomArray(s.batch * s.inChannels * s.height * s.width, 10 + n)) });
      const weight = ctx.tensor('weight', [s.outChannels * s.inChannels * s.kernelH * s.kernelW], { data: Float32Array.from(randomArray(s.outChannels * s.inChannels * s.kernelH * s.kernelW, 20 + n, -0.3, 0.3)) });
      const plain = ctx.tensor('y (no epilogue)', [s.batch * s.outChannels * area]);
      const sharing = ctx.adapter.subgroupSize === 8 ? [true, false] : [false];
      for (const shared of sharing) {
        const slots = convStatsSlots(p, tile, shared);
        const y = ctx.tensor('y', [s.batch * s.outChannels * area]);
        const moments = ctx.tensor('moments', [s.outChannels * slots * 3]);
        ctx.fill(moments, NaN);
        const stats = ctx.tensor('stats', [2, s.outChannels]);
        const fromX = ctx.tensor('stats from y', [2, s.outChannels]);
        const running = [ctx.tensor('running mean', [s.outChannels]), ctx.tensor('running var', [s.outChannels], { data: new Float32Array(s.outChannels).fill(1) })] as const;
        const runningX = [ctx.tensor('running mean (from y)', [s.outChannels]), ctx.tensor('running var (from y)', [s.outChannels], { data: new Float32Array(s.outChannels).fill(1) })] as const;
        const health = ctx.tensor('health', [healthLength(2)], { dtype: 'u32', data: freshHealth(2) });
        const merged = ctx.tensor('merged moments', [s.outChannels * GROUPS * 3]);
        ctx.fill(merged, NaN);
        const statsGrouped = ctx.tensor('stats (in groups)', [2, s.outChannels]);
        const runningGrouped = [ctx.tensor('running mean (in groups)', [s.outChannels]), ctx.tensor('running var (in groups)', [s.outChannels], { data: new Float32Array(s.outChannels).fill(1) })] as const;
        const slotsOf = { meanSlot: HEALTH_SLOTS.parameters, varSlot: HEALTH_SLOTS.parameters + 1 };
        const list = [
          ...(await bindConv2d(ctx, p, packed, { input: x, weight, output: plain }, { relu: c.relu, sharedWeights: shared })),
          ...(await bindConv2d(ctx, p, packed, { input: x, weight, output: y, stats: moments }, { relu: c.relu, sharedWeights: shared })),
          (await ctx.compile(batchnormStatsMerge)).bind(
            { moments, stats, runningMean: running[0], runningVar: running[1], health },
            { channels: s.outChannels, slots, eps: EPS, momentum: MOMENTUM, ...slotsOf },
          ),
          // A GPU's two steps (batchnorm_moments_merge in 3 slot groups, then the groups).
          (await ctx.compile(batchnormMomentsMerge)).bind({ moments, merged }, { channels: s.outChannels, slots, groups: GROUPS }),
          (await ctx.compile(batchnormStatsMerge)).bind(
            { moments: merged, stats: statsGrouped, runningMean: runningGrouped[0], runningVar: runningGrouped[1], health },
            { channels: s.outChannels, slots: GROUPS, eps: EPS, momentum: MOMENTUM, ...slotsOf },
          ),
          (await ctx.compile(batchnormStats, batchnormVariant({ batch: s.batch, channels: s.outChannels, area }))).bind(
            { x: y, stats: fromX, runningMean: runningX[0], runningVar: runningX[1], health },
            { batch: s.batch, channels: s.outChannels, area, eps: EPS, momentum: MOMENTUM, ...slotsOf },
          ),
        ];
        ctx.submit('conv stats test', (e) => recordPass(e, 'conv stats test', list));
        const [gotPlain, gotY, gotMoments, gotStats, gotFromX, gotMean, gotVar, gotHealth, gotMerged, gotStatsGrouped, gotMeanGrouped, gotVarGrouped] = await ctx.readMany([
          plain, y, moments, stats, fromX, running[0], running[1], health, merged, statsGrouped, runningGrouped[0], runningGrouped[1],
        ]);
        const label = shared ? 'subgroup merge' : 'a slot an invocation';
        expect(Array.from(gotY!), `${label}: the output is the plain kernel's, bit for bit`).toEqual(Array.from(gotPlain!));
        // Every element counted once: the slots' counts add up to batch × area for each channel.
        for (let ch = 0; ch < s.outChannels; ch++) {
          let count = 0;
          for (let k = 0; k < slots; k++) count += gotMoments![(ch * slots + k) * 3]!;
          expect(count, `${label}: channel ${ch}'s counted elements`).toBe(s.batch * area);
        }
        const ref = batchNormForwardTrainRef(gotY!, new Float64Array(s.outChannels).fill(1), new Float64Array(s.outChannels), s.batch, s.outChannels, area, EPS);
        const runningRef = batchNormRunningUpdateRef(new Float64Array(s.outChannels), new Float64Array(s.outChannels).fill(1), ref.mean, ref.varianceUnbiased, MOMENTUM);
        // Sums of batch·area float32 terms (as test/kernels/batchnorm.test.ts: the tolerance grows like √(batch·area)).
        const sumScale = Math.max(1, Math.sqrt(s.batch * area) / 64);
        const FORWARD = { atol: TOLERANCE.forward.atol * sumScale, rtol: TOLERANCE.forward.rtol };
        expectAllClose(`${label}: stats (mean, invStd)`, gotStats!, [...ref.mean, ...ref.invStd], FORWARD);
        expectAllClose(`${label}: running mean`, gotMean!, runningRef.runningMean, FORWARD);
        expectAllClose(`${label}: running var`, gotVar!, runningRef.runningVar, FORWARD);
        expectAllClose(`${label}: stats against batchnorm_stats on the output`, gotStats!, gotFromX!, FORWARD);
        expect(gotHealth![0], 'no non-finite statistic').toBe(HEALTH_NONE);
        // In groups: each group's count the sum of its slots' (an empty group's 0), and the same statistics.
        const perGroup = Math.ceil(slots / GROUPS);
        for (let ch = 0; ch < s.outChannels; ch++) {
          for (let g = 0; g < GROUPS; g++) {
            let count = 0;
            for (let k = g * perGroup; k < Math.min(slots, (g + 1) * perGroup); k++) count += gotMoments![(ch * slots + k) * 3]!;
            expect(gotMerged![(ch * GROUPS + g) * 3], `${label}: channel ${ch}, group ${g}'s count`).toBe(count);
          }
        }
        expectAllClose(`${label}: stats (mean, invStd), in groups`, gotStatsGrouped!, [...ref.mean, ...ref.invStd], FORWARD);
        expectAllClose(`${label}: running mean, in groups`, gotMeanGrouped!, runningRef.runningMean, FORWARD);
        expectAllClose(`${label}: running var, in groups`, gotVarGrouped!, runningRef.runningVar, FORWARD);
      }
    }, 120_000);
  });
});
