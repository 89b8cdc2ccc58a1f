/**
 * batchnorm_stats (with the running-statistics update), batchnorm_eval_stats, batchnorm_forward
 * (training and eval statistics), batchnorm_backward_reduce (whole, and in groups merged by
 * batchnorm_sums_merge) and batchnorm_backward_input against
 * the float64 reference.
 */
import { describe, expect, test } from 'vitest';
import { recordPass } from '../../src/gpu/context.js';
import type { Tensor } from '../../src/gpu/tensor.js';
import {
  batchnormBackwardInput,
  batchnormBackwardReduce,
  batchnormReduceGroups,
  batchnormReduceSubgroup,
  batchnormSumsMerge,
  batchnormDropoutForward,
  batchnormEvalStats,
  batchnormForward,
  batchnormStats,
  batchnormVariant,
} from '../../src/kernels/batchnorm.js';
import {
  batchNormBackwardRef,
  batchNormForwardEvalRef,
  batchNormForwardTrainRef,
  batchNormRunningUpdateRef,
} from '../../src/reference/batchnorm.js';
import { dropoutParams, maskFromBits, maskWords } from '../../src/kernels/dropout.js';
import { dropoutBackwardRef, dropoutForwardRef, dropoutMaskRef } from '../../src/reference/random.js';
import { dropoutTies, mismatches } from '../helpers/dropout.js';
import { reluBackwardRef } from '../../src/reference/relu.js';
import { TOLERANCE, expectAllClose, f32, randomArray } from '../helpers/allclose.js';
import { gpuTest, withoutSubgroups } from '../helpers/gpu.js';
import { HEALTH_NONE, HEALTH_SLOTS, freshHealth, healthLength } from '../../src/kernels/health.js';

const EPS = 1e-5;
const MOMENTUM = 0.1;

// The smallest batch with a variance (M = 2), batch 1, one channel, channel counts 3, 10, 17,
// 33; areas that are not multiples of the 64-wide reduction workgroup or the 64-wide
// element-wise one, and some larger than the reduction workgroup (each invocation sums several).
// Where the area is a multiple of 4, both variants: the scalar one and VEC4 (what layers use then).
const SHAPES = [
  [2, 1, 1],
  [1, 3, 5],
  [3, 10, 7],
  [1, 17, 300],
  [4, 33, 9],
  [2, 1, 600],
  // Planes of fewer quads than the reduction workgroup lie side by side, 7 planes of 9 quads a
  // step: 20 images take three steps, the last one partly (the scalar and VEC4 variants).
  [20, 2, 35],
  [20, 3, 36],
  // For the VEC4 variants (area a multiple of 4): one vec4 a plane, a few, and the seed CNN's
  // convblock2 at batch 128 (sums over 73,728 elements a channel).
  [3, 5, 4],
  [5, 3, 36],
  [128, 32, 576],
  // Big planes whose images start inside a mask word (SUBGROUP's rows then straddle two words):
  // 65 quads (one lane a step more than the others; planes start at bits 0, 4, … 28), and the
  // seed CNN's convblock1 plane (26 × 26: 169 quads, planes 21.125 words).
  [5, 3, 260],
  [3, 2, 676],
] as const;

const stats2 = (mean: ArrayLike<number>, invStd: ArrayLike<number>) => Float64Array.from([...Array.from(mean), ...Array.from(invStd)]);

test("a GPU's batch-norm sums in groups: about 512 workgroups, at least two samples a group; one on a CPU adapter", () => {
  const gpu = { software: false };
  expect(batchnormReduceGroups({ batch: 1024, channels: 16 }, gpu)).toBe(32); // 512 workgroups
  expect(batchnormReduceGroups({ batch: 128, channels: 32 }, gpu)).toBe(16);
  expect(batchnormReduceGroups({ batch: 16, channels: 16 }, gpu)).toBe(8); // two samples a group
  expect(batchnormReduceGroups({ batch: 3, channels: 600 }, gpu)).toBe(1);
  expect(batchnormReduceGroups({ batch: 1, channels: 1 }, gpu)).toBe(1);
  expect(batchnormReduceGroups({ batch: 1024, channels: 16 }, { software: true })).toBe(1);
});

gpuTest('the batch norm backward shares its mask words (SUBGROUP) where the subgroups are 8 and the planes big', async (ctx) => {
  const eight = ctx.adapter.subgroupSize === 8 && ctx.device.features.has('subgroups');
  for (const area of [576, 676, 256]) expect(batchnormReduceSubgroup({ area }, ctx), `area ${area}`).toBe(eight);
  // Small planes (fewer quads than the workgroup: the walk without it), and areas not whole vec4s.
  for (const area of [252, 100, 36, 578]) expect(batchnormReduceSubgroup({ area }, ctx), `area ${area}`).toBe(false);
  expect(batchnormReduceSubgroup({ area: 576 }, withoutSubgroups(ctx)), 'an adapter without subgroups of 8').toBe(false);
});

describe('batchnorm kernels', () => {
  for (const [batch, channels, area] of SHAPES) for (const VEC4 of area % 4 === 0 ? [false, true] : [false]) {
    gpuTest(`batch ${batch}, channels ${channels}, area ${area}${VEC4 ? ', VEC4' : ''}`, async (ctx) => {
      expect(batchnormVariant({ batch, channels, area }).VEC4, 'the variant layers pick').toBe(area % 4 === 0);
      const variant = { VEC4 };
      // Every value here depends on per-channel sums of batch·area float32 terms, whose rounding
      // error grows like √(batch·area)·ε: the base tolerances hold sums of up to 4,096 terms
      // (√ = 64), and scale from there (×4.2 for the 73,728 of the real-size shape, where a
      // dbeta of −0.0497 summed from terms of ±1 is 2.7e-5 off in float32, 1e-7 of Σ|dy|).
      const sumScale = Math.max(1, Math.sqrt(batch * area) / 64);
      const FORWARD = { atol: TOLERANCE.forward.atol * sumScale, rtol: TOLERANCE.forward.rtol };
      const GRADIENT = { atol: TOLERANCE.gradient.atol * sumScale, rtol: TOLERANCE.gradient.rtol };
      const n = batch * channels * area;
      const p = { batch, channels, area };
      const seed = n + channels;
      // An offset mean, so the centring matters.
      const x = f32(randomArray(n, seed, -1, 3));
      for (let i = 0; i < n; i += 7) x[i] = 0; // exact zeros, as after a ReLU
      const dy = f32(randomArray(n, seed + 1));
      const gamma = f32(randomArray(channels, seed + 2, 0.5, 1.5));
      const beta = f32(randomArray(channels, seed + 3));
      const runningMean0 = f32(randomArray(channels, seed + 4));
      const runningVar0 = f32(randomArray(channels, seed + 5, 0.5, 2));
      const [eps, momentum] = [Math.fround(EPS), Math.fround(MOMENTUM)];

      const tx = ctx.tensor('x', [batch, channels, area], { data: x });
      const tdy = ctx.tensor('dy', [batch, channels, area], { data: dy });
      const tgamma = ctx.tensor('gamma', [channels], { data: gamma });
      const tbeta = ctx.tensor('beta', [channels], { data: beta });
      // Training: statistics, forward, backward, in a variant; every output read back.
      const drop = { p: 0.3, seed: 11 + n, stream: 17, step: 5 }; // p = 0.3: short rows see drops too
      const runTraining = async (variant: { VEC4: boolean }) => {
        const trunningMean = ctx.tensor('runningMean', [channels], { data: runningMean0 });
        const trunningVar = ctx.tensor('runningVar', [channels], { data: runningVar0 });
        const tstats = ctx.tensor('stats', [2, channels]);
        const ty = ctx.tensor('y', [batch, channels, area]);
        const tyRelu = ctx.tensor('y (RELU)', [batch, channels, area]);
        const tdgamma = ctx.tensor('dgamma', [channels]);
        const tdbeta = ctx.tensor('dbeta', [channels]);
        const tdx = ctx.tensor('dx', [batch, channels, area]);
        const tdxRelu = ctx.tensor('dxRelu', [batch, channels, area]);
        const tmask = ctx.tensor('mask', [maskWords(n)], { dtype: 'u32' });
        const tdropped = ctx.tensor('dropped', [batch, channels, area]);
        // The backward with the dropout's gradient fused in (DROPOUT): dy is the dropout's output gradient.
        const tdgammaDrop = ctx.tensor('dgamma (dropout)', [channels]);
        const tdbetaDrop = ctx.tensor('dbeta (dropout)', [channels]);
        const tdxDrop = ctx.tensor('dx (dropout and ReLU)', [batch, channels, area]);
        const perChannel = (name: string) => ctx.tensor(`${name}, one dispatch`, [channels]);
        const [tdgammaOne, tdbetaOne, tdgammaDropOne, tdbetaDropOne] = [perChannel('dgamma'), perChannel('dbeta'), perChannel('dgamma (dropout)'), perChannel('dbeta (dropout)')];
        const tdxOne = ctx.tensor('dx, one dispatch', [batch, channels, area]);
        const tdxDropOne = ctx.tensor('dx (dropout and ReLU), one dispatch', [batch, channels, area]);
        // APPLY with IN_PLACE: the input gradient written over a copy of dy.
        const [tdxInPlace, tdxDropInPlace] = [ctx.tensor('dy, then dx in place', [batch, channels, area], { data: dy }), ctx.tensor('dy, then dx (dropout and ReLU) in place', [batch, channels, area], { data: dy })];
        const [tdgammaInPlace, tdbetaInPlace, tdgammaDropInPlace, tdbetaDropInPlace] = [perChannel('dgamma in place'), perChannel('dbeta in place'), perChannel('dgamma (dropout) in place'), perChannel('dbeta (dropout) in place')];
        // A GPU's sums (groups > 1): 3 groups of ⌈batch/3⌉ samples (2 for one sample: the second
        // group empty, as where the groups do not divide the batch), their partial sums merged.
        const groups = batch > 1 ? 3 : 2;
        const partial = (name: string) => ctx.tensor(`${name}, partial`, [channels, groups]);
        const [tpg, tpb, tpgDrop, tpbDrop] = [partial('dgamma'), partial('dbeta'), partial('dgamma (dropout)'), partial('dbeta (dropout)')];
        const [tdgammaGroups, tdbetaGroups, tdgammaDropGroups, tdbetaDropGroups] = [perChannel('dgamma, groups'), perChannel('dbeta, groups'), perChannel('dgamma (dropout), groups'), perChannel('dbeta (dropout), groups')];
        for (const t of [tpg, tpb, tpgDrop, tpbDrop, tdgammaGroups, tdbetaGroups, tdgammaDropGroups, tdbetaDropGroups]) ctx.fill(t, NaN);
        for (const t of [tstats, ty, tyRelu, tdgamma, tdbeta, tdx, tdxRelu, tdropped, tdgammaDrop, tdbetaDrop, tdxDrop, tdgammaOne, tdbetaOne, tdxOne, tdgammaDropOne, tdbetaDropOne, tdxDropOne, tdgammaInPlace, tdbetaInPlace, tdgammaDropInPlace, tdbetaDropInPlace]) ctx.fill(t, NaN);
        ctx.fill(tmask, 0xffffffff);
        const dropped = { ...variant, DROPOUT: true };
        const { scale: dropoutScale } = dropoutParams(drop.p);
        const thealth = ctx.tensor('health', [healthLength(2)], { dtype: 'u32', data: freshHealth(2) });
        const training = [
          (await ctx.compile(batchnormStats, variant)).bind({ x: tx, stats: tstats, runningMean: trunningMean, runningVar: trunningVar, health: thealth }, { ...p, eps, momentum, meanSlot: HEALTH_SLOTS.parameters, varSlot: HEALTH_SLOTS.parameters + 1 }),
          (await ctx.compile(batchnormForward, variant)).bind({ x: tx, stats: tstats, gamma: tgamma, beta: tbeta, y: ty }, p),
          // The ReLU after it applied as y is stored (batchnorm-relu).
          (await ctx.compile(batchnormForward, { ...variant, RELU: true })).bind({ x: tx, stats: tstats, gamma: tgamma, beta: tbeta, y: tyRelu }, p),
          (await ctx.compile(batchnormDropoutForward, variant)).bind(
            { x: tx, stats: tstats, gamma: tgamma, beta: tbeta, mask: tmask, y: tdropped },
            { ...p, ...dropoutParams(drop.p), seed: drop.seed, stream: drop.stream, step: drop.step },
          ),
          (await ctx.compile(batchnormBackwardReduce, variant)).bind({ dy: tdy, x: tx, stats: tstats, dgamma: tdgamma, dbeta: tdbeta }, { ...p, dropoutScale: 1, reluInput: 0, groups: 1 }),
          (await ctx.compile(batchnormBackwardInput, variant)).bind(
            { dy: tdy, x: tx, stats: tstats, gamma: tgamma, dgamma: tdgamma, dbeta: tdbeta, dx: tdx },
            { ...p, reluInput: 0, dropoutScale: 1 },
          ),
          // The same with the ReLU's gradient fused in (x stands for the ReLU's output; its zeros
          // and negatives get dx = 0).
          (await ctx.compile(batchnormBackwardInput, variant)).bind(
            { dy: tdy, x: tx, stats: tstats, gamma: tgamma, dgamma: tdgamma, dbeta: tdbeta, dx: tdxRelu },
            { ...p, reluInput: 1, dropoutScale: 1 },
          ),
          // Dropout, batch norm and ReLU backward in two kernels, with the mask drawn above.
          (await ctx.compile(batchnormBackwardReduce, dropped)).bind({ dy: tdy, x: tx, stats: tstats, dgamma: tdgammaDrop, dbeta: tdbetaDrop, mask: tmask }, { ...p, dropoutScale, reluInput: 0, groups: 1 }),
          (await ctx.compile(batchnormBackwardInput, dropped)).bind(
            { dy: tdy, x: tx, stats: tstats, gamma: tgamma, dgamma: tdgammaDrop, dbeta: tdbetaDrop, dx: tdxDrop, mask: tmask },
            { ...p, reluInput: 1, dropoutScale },
          ),
          // The sums and the input gradient in one dispatch (APPLY), without and with the dropout
          // and the ReLU: held below to the two kernels' bits.
          (await ctx.compile(batchnormBackwardReduce, { ...variant, APPLY: true })).bind(
            { dy: tdy, x: tx, stats: tstats, dgamma: tdgammaOne, dbeta: tdbetaOne, gamma: tgamma, dx: tdxOne },
            { ...p, dropoutScale: 1, reluInput: 0, groups: 1 },
          ),
          (await ctx.compile(batchnormBackwardReduce, { ...dropped, APPLY: true })).bind(
            { dy: tdy, x: tx, stats: tstats, dgamma: tdgammaDropOne, dbeta: tdbetaDropOne, mask: tmask, gamma: tgamma, dx: tdxDropOne },
            { ...p, dropoutScale, reluInput: 1, groups: 1 },
          ),
          // The same written in place (IN_PLACE): dy read_write, no dx; held below to APPLY's bits.
          (await ctx.compile(batchnormBackwardReduce, { ...variant, APPLY: true, IN_PLACE: true })).bind(
            { dy: tdxInPlace, x: tx, stats: tstats, dgamma: tdgammaInPlace, dbeta: tdbetaInPlace, gamma: tgamma },
            { ...p, dropoutScale: 1, reluInput: 0, groups: 1 },
          ),
          (await ctx.compile(batchnormBackwardReduce, { ...dropped, APPLY: true, IN_PLACE: true })).bind(
            { dy: tdxDropInPlace, x: tx, stats: tstats, dgamma: tdgammaDropInPlace, dbeta: tdbetaDropInPlace, mask: tmask, gamma: tgamma },
            { ...p, dropoutScale, reluInput: 1, groups: 1 },
          ),
          // The sums in groups, without and with the dropout, then merged per channel.
          (await ctx.compile(batchnormBackwardReduce, variant)).bind({ dy: tdy, x: tx, stats: tstats, dgamma: tpg, dbeta: tpb }, { ...p, dropoutScale: 1, reluInput: 0, groups }),
          (await ctx.compile(batchnormSumsMerge)).bind({ partialGamma: tpg, partialBeta: tpb, dgamma: tdgammaGroups, dbeta: tdbetaGroups }, { channels, groups }),
          (await ctx.compile(batchnormBackwardReduce, dropped)).bind({ dy: tdy, x: tx, stats: tstats, dgamma: tpgDrop, dbeta: tpbDrop, mask: tmask }, { ...p, dropoutScale, reluInput: 0, groups }),
          (await ctx.compile(batchnormSumsMerge)).bind({ partialGamma: tpgDrop, partialBeta: tpbDrop, dgamma: tdgammaDropGroups, dbeta: tdbetaDropGroups }, { channels, groups }),
        ];
        ctx.submit('batchnorm training test', (e) => recordPass(e, 'batchnorm training test', training));
        const tensors = {
          stats: tstats, runningMean: trunningMean, runningVar: trunningVar, health: thealth, y: ty, yRelu: tyRelu, mask: tmask, dropped: tdropped, dgamma: tdgamma, dbeta: tdbeta, dx: tdx, dxRelu: tdxRelu,
          dgammaDrop: tdgammaDrop, dbetaDrop: tdbetaDrop, dxDrop: tdxDrop, dgammaOne: tdgammaOne, dbetaOne: tdbetaOne, dxOne: tdxOne, dgammaDropOne: tdgammaDropOne, dbetaDropOne: tdbetaDropOne, dxDropOne: tdxDropOne,
          dgammaInPlace: tdgammaInPlace, dbetaInPlace: tdbetaInPlace, dxInPlace: tdxInPlace, dgammaDropInPlace: tdgammaDropInPlace, dbetaDropInPlace: tdbetaDropInPlace, dxDropInPlace: tdxDropInPlace,
          dgammaGroups: tdgammaGroups, dbetaGroups: tdbetaGroups, dgammaDropGroups: tdgammaDropGroups, dbetaDropGroups: tdbetaDropGroups,
        };
        const values = await ctx.readMany(Object.values(tensors));
        return Object.fromEntries(Object.keys(tensors).map((name, k) => [name, values[k]!])) as Record<keyof typeof tensors, Float32Array | Uint32Array>;
      };
      // SUBGROUP's dispatches (implying VEC4 and DROPOUT) from given stats and mask bits, as runTraining's.
      const runSubgroup = async (statsData: Float32Array, maskData: Uint32Array) => {
        const tstats = ctx.tensor('stats', [2, channels], { data: statsData });
        const tmask = ctx.tensor('mask', [maskWords(n)], { dtype: 'u32', data: maskData });
        const perChannel = (name: string) => ctx.tensor(`${name} (SUBGROUP)`, [channels]);
        const [tdgamma, tdbeta, tdgammaOne, tdbetaOne, tdgammaInPlace, tdbetaInPlace, tdgammaGroups, tdbetaGroups] = ['dgamma', 'dbeta', 'dgamma, one dispatch', 'dbeta, one dispatch', 'dgamma in place', 'dbeta in place', 'dgamma, groups', 'dbeta, groups'].map(perChannel) as [Tensor, Tensor, Tensor, Tensor, Tensor, Tensor, Tensor, Tensor];
        const tdxOne = ctx.tensor('dx, one dispatch (SUBGROUP)', [batch, channels, area]);
        const tdxInPlace = ctx.tensor('dy, then dx in place (SUBGROUP)', [batch, channels, area], { data: dy });
        const groups = batch > 1 ? 3 : 2;
        const [tpg, tpb] = [ctx.tensor('dgamma partial (SUBGROUP)', [channels, groups]), ctx.tensor('dbeta partial (SUBGROUP)', [channels, groups])];
        for (const t of [tdgamma, tdbeta, tdgammaOne, tdbetaOne, tdgammaInPlace, tdbetaInPlace, tdgammaGroups, tdbetaGroups, tdxOne, tpg, tpb]) ctx.fill(t, NaN);
        const { scale: dropoutScale } = dropoutParams(drop.p);
        const sub = { SUBGROUP: true } as const;
        const list = [
          (await ctx.compile(batchnormBackwardReduce, sub)).bind({ dy: tdy, x: tx, stats: tstats, dgamma: tdgamma, dbeta: tdbeta, mask: tmask }, { ...p, dropoutScale, reluInput: 0, groups: 1 }),
          (await ctx.compile(batchnormBackwardReduce, sub)).bind({ dy: tdy, x: tx, stats: tstats, dgamma: tpg, dbeta: tpb, mask: tmask }, { ...p, dropoutScale, reluInput: 0, groups }),
          (await ctx.compile(batchnormSumsMerge)).bind({ partialGamma: tpg, partialBeta: tpb, dgamma: tdgammaGroups, dbeta: tdbetaGroups }, { channels, groups }),
          (await ctx.compile(batchnormBackwardReduce, { ...sub, APPLY: true })).bind(
            { dy: tdy, x: tx, stats: tstats, dgamma: tdgammaOne, dbeta: tdbetaOne, mask: tmask, gamma: tgamma, dx: tdxOne },
            { ...p, dropoutScale, reluInput: 1, groups: 1 },
          ),
          (await ctx.compile(batchnormBackwardReduce, { ...sub, APPLY: true, IN_PLACE: true })).bind(
            { dy: tdxInPlace, x: tx, stats: tstats, dgamma: tdgammaInPlace, dbeta: tdbetaInPlace, mask: tmask, gamma: tgamma },
            { ...p, dropoutScale, reluInput: 1, groups: 1 },
          ),
        ];
        ctx.submit('batchnorm SUBGROUP test', (e) => recordPass(e, 'batchnorm SUBGROUP test', list));
        const tensors = { dgamma: tdgamma, dbeta: tdbeta, dgammaGroups: tdgammaGroups, dbetaGroups: tdbetaGroups, dgammaOne: tdgammaOne, dbetaOne: tdbetaOne, dxOne: tdxOne, dgammaInPlace: tdgammaInPlace, dbetaInPlace: tdbetaInPlace, dxInPlace: tdxInPlace };
        const values = await ctx.readMany(Object.values(tensors));
        return Object.fromEntries(Object.keys(tensors).map((name, k) => [name, values[k] as Float32Array])) as Record<keyof typeof tensors, Float32Array>;
      };
      const got = await runTraining({ VEC4 });
      if (VEC4) {
        // The scalar variant sums the same terms in the same order: the same results, bit for bit.
        const scalar = await runTraining({ VEC4: false });
        for (const [name, values] of Object.entries(got)) expect(Array.from(scalar[name as keyof typeof got]!), `${name}: VEC4 and scalar variants`).toEqual(Array.from(values!));
      }

      // RELU: max(y, 0) of the same y, bit for bit (and some of y negative, so that it zeroes some).
      expect(Array.from(got.yRelu!), 'batchnorm_forward RELU: max(y, 0)').toEqual(Array.from(got.y!, (v) => Math.max(v, 0)));
      expect(Array.from(got.y!).some((v) => v < 0)).toBe(true);
      // APPLY: the same sums and the same input gradients, bit for bit, as the two kernels.
      for (const [one, two] of [['dgammaOne', 'dgamma'], ['dbetaOne', 'dbeta'], ['dxOne', 'dx'], ['dgammaDropOne', 'dgammaDrop'], ['dbetaDropOne', 'dbetaDrop'], ['dxDropOne', 'dxDrop']] as const) {
        expect(Array.from(got[one]!), `batchnorm_backward_reduce APPLY: ${one} against ${two}`).toEqual(Array.from(got[two]!));
      }
      // IN_PLACE: the same sums, and dy overwritten with APPLY's input gradient, bit for bit.
      for (const [one, two] of [['dgammaInPlace', 'dgammaOne'], ['dbetaInPlace', 'dbetaOne'], ['dxInPlace', 'dxOne'], ['dgammaDropInPlace', 'dgammaDropOne'], ['dbetaDropInPlace', 'dbetaDropOne'], ['dxDropInPlace', 'dxDropOne']] as const) {
        expect(Array.from(got[one]!), `batchnorm_backward_reduce IN_PLACE: ${one} against ${two}`).toEqual(Array.from(got[two]!));
      }
      const train = batchNormForwardTrainRef(x, gamma, beta, batch, channels, area, eps);
      const running = batchNormRunningUpdateRef(runningMean0, runningVar0, train.mean, train.varianceUnbiased, momentum);
      const backward = batchNormBackwardRef(dy, x, gamma, batch, channels, area, eps);
      expectAllClose('batchnorm_stats (mean, invStd)', got.stats!, stats2(train.mean, train.invStd), FORWARD);
      expectAllClose('batchnorm_stats running mean', got.runningMean!, running.runningMean, FORWARD);
      expectAllClose('batchnorm_stats running var', got.runningVar!, running.runningVar, FORWARD);
      expect(Array.from(got.health!), 'finite statistics leave the divergence guard alone').toEqual(Array.from(freshHealth(2)));
      expectAllClose('batchnorm_forward y (train)', got.y!, train.y, FORWARD);
      const maskRef = dropoutMaskRef(n, drop.p, drop.seed, drop.stream, drop.step);
      expect(mismatches(maskFromBits(got.mask!, n, drop.p), maskRef), 'batchnorm_dropout_forward: kept elements that differ from the reference').toEqual([]);
      if (n >= 2 ** 21) {
        // The real shape's draws include ties with the threshold's high half, both ways (decided
        // by the secondary Philox block: shaders/lib/dropout_draw.wgsl), in VEC4 and scalar.
        const ties = dropoutTies(n, drop.p, drop.seed, drop.stream, drop.step);
        expect(Math.min(ties.kept, ties.dropped), 'ties kept and dropped').toBeGreaterThan(0);
      }
      expectAllClose('batchnorm_dropout_forward y', got.dropped!, dropoutForwardRef(train.y, maskRef), FORWARD);
      const dropoutBackward = batchNormBackwardRef(dropoutBackwardRef(dy, maskRef), x, gamma, batch, channels, area, eps);
      expectAllClose('batchnorm_backward_reduce dgamma, dropout fused', got.dgammaDrop!, dropoutBackward.dgamma, GRADIENT);
      expectAllClose('batchnorm_backward_reduce dbeta, dropout fused', got.dbetaDrop!, dropoutBackward.dbeta, GRADIENT);
      expectAllClose('batchnorm_backward_input dx, dropout and ReLU fused', got.dxDrop!, reluBackwardRef(dropoutBackward.dx, x), GRADIENT);
      expectAllClose('batchnorm_backward_reduce dgamma', got.dgamma!, backward.dgamma, GRADIENT);
      expectAllClose('batchnorm_backward_reduce dbeta', got.dbeta!, backward.dbeta, GRADIENT);
      expectAllClose('batchnorm_backward_reduce in groups, merged: dgamma', got.dgammaGroups!, backward.dgamma, GRADIENT);
      expectAllClose('batchnorm_backward_reduce in groups, merged: dbeta', got.dbetaGroups!, backward.dbeta, GRADIENT);
      expectAllClose('batchnorm_backward_reduce in groups, merged: dgamma, dropout fused', got.dgammaDropGroups!, dropoutBackward.dgamma, GRADIENT);
      expectAllClose('batchnorm_backward_reduce in groups, merged: dbeta, dropout fused', got.dbetaDropGroups!, dropoutBackward.dbeta, GRADIENT);
      if (VEC4 && ctx.device.features.has('subgroups')) {
        // SUBGROUP (the mask words shared in subgroups of 8; lavapipe's, and that of any device
        // with the feature: with another subgroup size it loads as without): the sums, in groups,
        // with APPLY and IN_PLACE, from the same stats and mask: the bits of the kernels without it.
        const sub = await runSubgroup(got.stats as Float32Array, got.mask as Uint32Array);
        for (const [one, two] of [['dgamma', 'dgammaDrop'], ['dbeta', 'dbetaDrop'], ['dgammaGroups', 'dgammaDropGroups'], ['dbetaGroups', 'dbetaDropGroups'], ['dgammaOne', 'dgammaDropOne'], ['dbetaOne', 'dbetaDropOne'], ['dxOne', 'dxDropOne'], ['dgammaInPlace', 'dgammaDropInPlace'], ['dbetaInPlace', 'dbetaDropInPlace'], ['dxInPlace', 'dxDropInPlace']] as const) {
          expect(Array.from(sub[one]), `batchnorm_backward_reduce SUBGROUP: ${one} against ${two}`).toEqual(Array.from(got[two]!));
        }
        expectAllClose('batchnorm_backward_reduce SUBGROUP dgamma', sub.dgamma, dropoutBackward.dgamma, GRADIENT);
        expectAllClose('batchnorm_backward_reduce SUBGROUP dbeta', sub.dbeta, dropoutBackward.dbeta, GRADIENT);
        expectAllClose('batchnorm_backward_reduce SUBGROUP APPLY dx', sub.dxOne, reluBackwardRef(dropoutBackward.dx, x), GRADIENT);
      }
      expectAllClose('batchnorm_backward_input dx', got.dx!, backward.dx, GRADIENT);
      expectAllClose('batchnorm_backward_input dx, ReLU fused', got.dxRelu!, reluBackwardRef(backward.dx, x), GRADIENT);

      // Eval: statistics from the (given, float32) running values, then the same forward kernel.
      const tevalStats = ctx.tensor('evalStats', [2, channels]);
      const tevalMean = ctx.tensor('evalMean', [channels], { data: runningMean0 });
      const tevalVar = ctx.tensor('evalVar', [channels], { data: runningVar0 });
      const tevalY = ctx.tensor('evalY', [batch, channels, area]);
      ctx.fill(tevalStats, NaN);
      ctx.fill(tevalY, NaN);
      const evaluation = [
        (await ctx.compile(batchnormEvalStats)).bind({ runningMean: tevalMean, runningVar: tevalVar, stats: tevalStats }, { channels, eps }),
        (await ctx.compile(batchnormForward, variant)).bind({ x: tx, stats: tevalStats, gamma: tgamma, beta: tbeta, y: tevalY }, p),
      ];
      ctx.submit('batchnorm eval test', (e) => recordPass(e, 'batchnorm eval test', evaluation));
      const evalInvStd = Float64Array.from(runningVar0, (v) => 1 / Math.sqrt(v + eps));
      expectAllClose('batchnorm_eval_stats (mean, invStd)', await ctx.read(tevalStats), stats2(runningMean0, evalInvStd), FORWARD);
      expectAllClose(
        'batchnorm_forward y (eval)',
        await ctx.read(tevalY),
        batchNormForwardEvalRef(x, gamma, beta, runningMean0, runningVar0, batch, channels, area, eps),
        FORWARD,
      );
    });
  }

  gpuTest('the VEC4 variant is refused where a vec4 would cross a channel\'s plane', async (ctx) => {
    // 2 × 2 × 2 = 8 elements: whole vec4s in all, but each plane is half of one.
    const p = { batch: 2, channels: 2, area: 2 };
    const t = (name: string, n: number) => ctx.tensor(name, [n]);
    const forward = await ctx.compile(batchnormForward, { VEC4: true });
    expect(() => forward.bind({ x: t('x', 8), stats: t('stats', 4), gamma: t('gamma', 2), beta: t('beta', 2), y: t('y', 8) }, p)).toThrow(/variant VEC4 cannot run these parameters: area 2 is not a multiple of 4/);
    const scalar = await ctx.compile(batchnormForward, { VEC4: false });
    expect(() => scalar.bind({ x: t('x', 8), stats: t('stats', 4), gamma: t('gamma', 2), beta: t('beta', 2), y: t('y', 8) }, p)).not.toThrow();
  });

  gpuTest('batchnorm_stats: a running variance that overflows is recorded for the divergence guard', async (ctx) => {
    const p = { batch: 4, channels: 3, area: 50 };
    // Channel 1 holds values of ±1e20: its variance (1e40) overflows float32.
    const x = Float64Array.from({ length: p.batch * p.channels * p.area }, (_, i) => (Math.floor(i / p.area) % p.channels === 1 ? (i % 2 ? 1e20 : -1e20) : i % 7));
    const health0 = freshHealth(2);
    health0[HEALTH_SLOTS.step] = 9;
    const health = ctx.tensor('health', [healthLength(2)], { dtype: 'u32', data: health0 });
    const k = (await ctx.compile(batchnormStats)).bind(
      { x: ctx.tensor('x', [x.length], { data: x }), stats: ctx.tensor('stats', [2 * p.channels]), runningMean: ctx.tensor('mean', [p.channels]), runningVar: ctx.tensor('var', [p.channels], { data: [1, 1, 1] }), health },
      { ...p, eps: 1e-5, momentum: 0.1, meanSlot: HEALTH_SLOTS.parameters, varSlot: HEALTH_SLOTS.parameters + 1 },
    );
    ctx.submit('overflow', (e) => recordPass(e, 'overflow', [k]));
    expect(Array.from(await ctx.read(health))).toEqual([9, 9, HEALTH_NONE, HEALTH_NONE, 9]);
  });
});

describe('batchnorm kernels at NaN and ±∞', () => {
  // PyTorch's relu keeps a NaN, and its backward (threshold_backward: dy where not y ≤ 0) passes
  // the gradient there: batchnorm_forward's RELU must keep a NaN (max(·, 0) gave 0 on lavapipe),
  // and the input gradient's ReLU mask (reluInput: x is the ReLU's output) pass the NaN (or
  // whatever) gradient where x is NaN. Against the variants without the ReLU and those rules, bit
  // for bit, in batchnorm_backward_input and in batchnorm_backward_reduce's APPLY.
  for (const VEC4 of [false, true]) {
    gpuTest(`forward RELU, the backward's ReLU mask${VEC4 ? ', VEC4' : ''}`, async (ctx) => {
      const [batch, channels, area] = [2, 3, 8];
      const p = { batch, channels, area };
      const n = batch * channels * area;
      const x = Float32Array.from(randomArray(n, 71, -1, 2));
      const specials = new Float32Array(new Uint32Array([0x7fc00000, 0xffc00000, 0x7f800000, 0xff800000, 0x80000000, 0]).buffer);
      specials.forEach((v, k) => (x[5 * k + 1] = v));
      const tensor = (label: string, data: ArrayLike<number>) => ctx.tensor(label, [data.length], { data });
      const [tx, tdy] = [tensor('x', x), tensor('dy', f32(randomArray(n, 72)))];
      const tstats = tensor('stats', f32([...randomArray(channels, 73, -0.5, 0.5), ...randomArray(channels, 74, 0.5, 2)]));
      const [tgamma, tbeta] = [tensor('gamma', f32(randomArray(channels, 75, 0.5, 1.5))), tensor('beta', f32(randomArray(channels, 76)))];
      const [tdgamma, tdbeta] = [tensor('dgamma', f32(randomArray(channels, 77))), tensor('dbeta', f32(randomArray(channels, 78)))];
      const out = (label: string) => ctx.tensor(label, [n]);
      const [y, yRelu, dx, dxRelu, dxApply, dxApplyRelu] = ['y', 'y (RELU)', 'dx', 'dx (ReLU)', 'dx (APPLY)', 'dx (APPLY, ReLU)'].map(out);
      const sums = (label: string) => ctx.tensor(label, [channels]);
      const [dg0, db0, dg1, db1] = ['dgamma (APPLY)', 'dbeta (APPLY)', 'dgamma (APPLY, ReLU)', 'dbeta (APPLY, ReLU)'].map(sums);
      for (const t of [y, yRelu, dx, dxRelu, dxApply, dxApplyRelu]) ctx.fill(t!, NaN);
      const variant = { VEC4 };
      const list = [
        (await ctx.compile(batchnormForward, variant)).bind({ x: tx, stats: tstats, gamma: tgamma, beta: tbeta, y: y! }, p),
        (await ctx.compile(batchnormForward, { ...variant, RELU: true })).bind({ x: tx, stats: tstats, gamma: tgamma, beta: tbeta, y: yRelu! }, p),
        ...[dx, dxRelu].map(async (t, reluInput) => (await ctx.compile(batchnormBackwardInput, variant)).bind({ dy: tdy, x: tx, stats: tstats, gamma: tgamma, dgamma: tdgamma, dbeta: tdbeta, dx: t! }, { ...p, reluInput, dropoutScale: 1 })),
        ...[[dxApply, dg0, db0], [dxApplyRelu, dg1, db1]].map(async ([t, dg, db], reluInput) =>
          (await ctx.compile(batchnormBackwardReduce, { ...variant, APPLY: true })).bind({ dy: tdy, x: tx, stats: tstats, dgamma: dg!, dbeta: db!, gamma: tgamma, dx: t! }, { ...p, dropoutScale: 1, reluInput, groups: 1 }),
        ),
      ];
      const kernels = await Promise.all(list);
      ctx.submit('batchnorm NaN test', (e) => recordPass(e, 'batchnorm NaN test', kernels));
      const [gotY, gotYRelu, gotDx, gotDxRelu, gotApply, gotApplyRelu] = await ctx.readMany([y!, yRelu!, dx!, dxRelu!, dxApply!, dxApplyRelu!]);
      expect(Array.from(gotY!).some(Number.isNaN), 'a NaN in y').toBe(true);
      expect(Array.from(gotYRelu!), 'RELU: max(y, 0), a NaN kept').toEqual(Array.from(gotY!, (v) => Math.max(v, 0)));
      const masked = (g: ArrayLike<number>) => Array.from(g, (v, i) => (x[i]! <= 0 ? 0 : v));
      expect(Array.from(gotDx!).some(Number.isNaN), 'a NaN in dx').toBe(true);
      expect(Array.from(gotDxRelu!), 'batchnorm_backward_input, the ReLU mask').toEqual(masked(gotDx!));
      expect(Array.from(gotApplyRelu!), 'batchnorm_backward_reduce APPLY, the ReLU mask').toEqual(masked(gotApply!));
    });
  }
});
