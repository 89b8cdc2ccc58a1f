/**
 * batchnorm_merge_forward (a batch norm's statistics merged from a conv's partial moments and its
 * forward applied, in one dispatch) against the two dispatches it replaces, batchnorm_stats_merge
 * then batchnorm_dropout_forward (variant DROPOUT) or batchnorm_forward (with and without RELU),
 * bit for bit (stats, running statistics, health, mask, y), and against the float64 reference.
 * Shapes whose mask words cross planes: areas below 32 (a word over several planes), not a
 * multiple of 4 or 32, one channel (a word across two planes of the same channel), odd batches,
 * empty slots; and the seed CNN's convblock1 at batch 128 (planes of 676).
 */
import { describe, expect, test } from 'vitest';
import { recordPass, type Dispatch } from '../../src/gpu/context.js';
import { batchnormDropoutForward, batchnormForward, batchnormMergeForward, batchnormMergeForwardFits, batchnormStatsMerge } from '../../src/kernels/batchnorm.js';
import { dropoutParams, maskFromBits, maskWords } from '../../src/kernels/dropout.js';
import { HEALTH_SLOTS, freshHealth, healthLength } from '../../src/kernels/health.js';
import { batchNormForwardTrainRef, batchNormRunningUpdateRef } from '../../src/reference/batchnorm.js';
import { dropoutForwardRef, dropoutMaskRef } from '../../src/reference/random.js';
import { mismatches } from '../helpers/dropout.js';
import { TOLERANCE, expectAllClose, f32, randomArray } from '../helpers/allclose.js';
import { gpuTest } from '../helpers/gpu.js';

const EPS = 1e-5;
const MOMENTUM = 0.1;

// [batch, channels, area, slots]
const SHAPES = [
  [3, 5, 7, 4], // words over up to five planes
  [1, 1, 45, 3], // one plane, a partial word at its end
  [5, 1, 36, 2], // one channel: words across two planes of it
  [4, 3, 13, 5],
  [3, 10, 100, 7], // VEC4, planes 3⅛ words
  [2, 4, 64, 1], // VEC4, whole words a plane
  [7, 3, 676, 64], // convblock1's planes, odd batch
  [128, 16, 676, 200], // convblock1 at batch 128
] as const;

/**
 * Partial moments [channels, slots, 3] of x's channels as a conv's STATS epilogue leaves them:
 * each channel's batch × area elements dealt out to the slots in runs of uneven length (the
 * first slot of every third channel, and every slot past the elements, empty).
 */
function partialMoments(x: ArrayLike<number>, batch: number, channels: number, area: number, slots: number): Float32Array {
  const out = new Float32Array(channels * slots * 3);
  for (let c = 0; c < channels; c++) {
    const values: number[] = [];
    for (let b = 0; b < batch; b++) for (let s = 0; s < area; s++) values.push(x[(b * channels + c) * area + s]!);
    let at = 0;
    for (let k = 0; k < slots; k++) {
      const take = k === slots - 1 ? values.length - at : k === 0 && c % 3 === 0 ? 0 : Math.min(values.length - at, 1 + ((k * 7 + c * 3) % Math.max(1, Math.ceil((2 * values.length) / slots))));
      const run = values.slice(at, at + take);
      at += take;
      const mean = run.length ? run.reduce((a, v) => a + v, 0) / run.length : 0;
      const m2 = run.reduce((a, v) => a + (v - mean) ** 2, 0);
      out.set([run.length, mean, m2], (c * slots + k) * 3);
    }
  }
  return out;
}

test('batchnormMergeForwardFits: a software adapter, planes of 256 elements or more, and 10 storage buffers with the dropout (9 without, 9 with MASK_ONLY)', () => {
  const [cpu, gpu] = [{ software: true }, { software: false }];
  const limits = (n: number) => ({ maxStorageBuffersPerShaderStage: n });
  expect(batchnormMergeForwardFits({ area: 676 }, cpu, limits(16), true)).toBe(true);
  expect(batchnormMergeForwardFits({ area: 256 }, cpu, limits(10), true)).toBe(true);
  expect(batchnormMergeForwardFits({ area: 255 }, cpu, limits(16), true)).toBe(false);
  expect(batchnormMergeForwardFits({ area: 676 }, gpu, limits(16), true)).toBe(false);
  expect(batchnormMergeForwardFits({ area: 676 }, cpu, limits(9), true)).toBe(false);
  expect(batchnormMergeForwardFits({ area: 676 }, cpu, limits(9), false)).toBe(true);
  expect(batchnormMergeForwardFits({ area: 676 }, cpu, limits(8), false)).toBe(false);
  // MASK_ONLY: no x, no y, the affine: 9.
  expect(batchnormMergeForwardFits({ area: 676 }, cpu, limits(9), true, true)).toBe(true);
  expect(batchnormMergeForwardFits({ area: 676 }, cpu, limits(8), true, true)).toBe(false);
});

describe('batchnorm_merge_forward', () => {
  for (const [batch, channels, area, slots] of SHAPES) for (const VEC4 of area % 4 === 0 ? [false, true] : [false]) {
    gpuTest(`batch ${batch}, channels ${channels}, area ${area}, ${slots} slots${VEC4 ? ', VEC4' : ''}`, async (ctx) => {
      const n = batch * channels * area;
      const seed = 3 * n + channels;
      const x = f32(randomArray(n, seed, -1, 3));
      for (let i = 0; i < n; i += 5) x[i] = 0;
      const gamma = f32(randomArray(channels, seed + 1, 0.5, 1.5));
      const beta = f32(randomArray(channels, seed + 2));
      const runningMean0 = f32(randomArray(channels, seed + 3));
      const runningVar0 = f32(randomArray(channels, seed + 4, 0.5, 2));
      const moments = ctx.tensor('moments', [channels * slots * 3], { data: partialMoments(x, batch, channels, area, slots) });
      const tx = ctx.tensor('x', [n], { data: x });
      const tgamma = ctx.tensor('gamma', [channels], { data: gamma });
      const tbeta = ctx.tensor('beta', [channels], { data: beta });
      const drop = { p: 0.3, seed: 5 + n, stream: 7, step: 11 };
      const dp = { ...dropoutParams(drop.p), seed: drop.seed, stream: drop.stream, step: drop.step };
      const common = { batch, channels, area, eps: EPS, momentum: MOMENTUM, meanSlot: HEALTH_SLOTS.parameters, varSlot: HEALTH_SLOTS.parameters + 1 };
      // One set of outputs (poisoned) and running statistics a path.
      const outputs = (label: string) => {
        const t = {
          stats: ctx.tensor(`${label} stats`, [2, channels]),
          runningMean: ctx.tensor(`${label} running mean`, [channels], { data: runningMean0 }),
          runningVar: ctx.tensor(`${label} running var`, [channels], { data: runningVar0 }),
          health: ctx.tensor(`${label} health`, [healthLength(2)], { dtype: 'u32', data: freshHealth(2) }),
          mask: ctx.tensor(`${label} mask`, [maskWords(n)], { dtype: 'u32' }),
          y: ctx.tensor(`${label} y`, [n]),
          affine: ctx.tensor(`${label} affine`, [4 * channels]),
        };
        ctx.fill(t.stats, NaN);
        ctx.fill(t.y, NaN);
        ctx.fill(t.affine, NaN);
        ctx.fill(t.mask, 0xffffffff);
        return t;
      };
      const cases = [
        { name: 'dropout', DROPOUT: true, RELU: false, MASK_ONLY: false },
        { name: 'plain', DROPOUT: false, RELU: false, MASK_ONLY: false },
        { name: 'relu', DROPOUT: false, RELU: true, MASK_ONLY: false },
        // The mask and affine only (MASK_ONLY implies DROPOUT: not set here), against batchnorm_dropout_forward's MASK_ONLY.
        { name: 'mask only', DROPOUT: false, RELU: false, MASK_ONLY: true },
      ];
      const list: Dispatch[] = [];
      const pairs: (typeof cases[number] & { two: ReturnType<typeof outputs>; one: ReturnType<typeof outputs> })[] = [];
      for (const c of cases) {
        const [two, one] = [outputs(`${c.name}, two dispatches`), outputs(`${c.name}, one dispatch`)];
        const running = { stats: two.stats, runningMean: two.runningMean, runningVar: two.runningVar, health: two.health };
        list.push((await ctx.compile(batchnormStatsMerge)).bind({ moments, ...running }, { ...common, slots }));
        list.push(
          c.MASK_ONLY
            ? (await ctx.compile(batchnormDropoutForward, { VEC4, MASK_ONLY: true })).bind({ stats: two.stats, gamma: tgamma, beta: tbeta, mask: two.mask, affine: two.affine }, { batch, channels, area, ...dp })
            : c.DROPOUT
            ? (await ctx.compile(batchnormDropoutForward, { VEC4 })).bind({ x: tx, stats: two.stats, gamma: tgamma, beta: tbeta, mask: two.mask, y: two.y }, { batch, channels, area, ...dp })
            : (await ctx.compile(batchnormForward, { VEC4, RELU: c.RELU })).bind({ x: tx, stats: two.stats, gamma: tgamma, beta: tbeta, y: two.y }, { batch, channels, area }),
        );
        list.push(
          (await ctx.compile(batchnormMergeForward, { VEC4, DROPOUT: c.DROPOUT, RELU: c.RELU, MASK_ONLY: c.MASK_ONLY })).bind(
            {
              moments, stats: one.stats, runningMean: one.runningMean, runningVar: one.runningVar, health: one.health, gamma: tgamma, beta: tbeta,
              ...(c.DROPOUT || c.MASK_ONLY ? { mask: one.mask } : {}), ...(c.MASK_ONLY ? { affine: one.affine } : { x: tx, y: one.y }),
            },
            { ...common, slots, ...dp },
          ),
        );
        pairs.push({ ...c, two, one });
      }
      ctx.submit('batchnorm merge forward test', (e) => recordPass(e, 'batchnorm merge forward test', list));

      const train = batchNormForwardTrainRef(x, gamma, beta, batch, channels, area, EPS);
      const runningRef = batchNormRunningUpdateRef(runningMean0, runningVar0, train.mean, train.varianceUnbiased, MOMENTUM);
      const sumScale = Math.max(1, Math.sqrt(batch * area) / 64);
      const FORWARD = { atol: TOLERANCE.forward.atol * sumScale, rtol: TOLERANCE.forward.rtol };
      const maskRef = dropoutMaskRef(n, drop.p, drop.seed, drop.stream, drop.step);
      for (const { name, DROPOUT, RELU, MASK_ONLY, two, one } of pairs) {
        const keys = ['stats', 'runningMean', 'runningVar', 'health', ...(MASK_ONLY ? ['affine' as const] : ['y' as const]), ...(DROPOUT || MASK_ONLY ? ['mask' as const] : [])] as const;
        const got = await ctx.readMany(keys.map((k) => one[k]));
        const want = await ctx.readMany(keys.map((k) => two[k]));
        const bits = (a: ArrayLike<number> & { buffer: ArrayBufferLike; byteOffset: number }) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));
        keys.forEach((k, i) => expect(bits(got[i]!), `${name}: ${k}, one dispatch against two, bit for bit`).toEqual(bits(want[i]!)));
        const at = Object.fromEntries(keys.map((k, i) => [k, got[i]!]));
        expectAllClose(`${name}: stats (mean, invStd)`, at.stats!, [...train.mean, ...train.invStd], FORWARD);
        expectAllClose(`${name}: running mean`, at.runningMean!, runningRef.runningMean, FORWARD);
        expectAllClose(`${name}: running var`, at.runningVar!, runningRef.runningVar, FORWARD);
        expect(Array.from(at.health!), `${name}: finite statistics leave the guard alone`).toEqual(Array.from(freshHealth(2)));
        if (MASK_ONLY) {
          expect(mismatches(maskFromBits(at.mask!, n, drop.p), maskRef), `${name}: kept elements that differ from the reference`).toEqual([]);
          const { scale } = dropoutParams(drop.p);
          const stats = at.stats!;
          const want = Float32Array.from({ length: 4 * channels }, (_, i) => {
            const c = Math.floor(i / 4);
            return [stats[c]!, Math.fround(stats[channels + c]! * gamma[c]!), beta[c]!, scale][i % 4]!;
          });
          expect(bits(at.affine!), `${name}: affine = (mean, invStd·gamma, beta, scale)`).toEqual(bits(want));
        } else if (DROPOUT) {
          expect(mismatches(maskFromBits(at.mask!, n, drop.p), maskRef), `${name}: kept elements that differ from the reference`).toEqual([]);
          expectAllClose(`${name}: y`, at.y!, dropoutForwardRef(train.y, maskRef), FORWARD);
        } else {
          expectAllClose(`${name}: y`, at.y!, RELU ? Array.from(train.y, (v) => Math.max(v, 0)) : train.y, FORWARD);
        }
      }
    }, 120_000);
  }
});
