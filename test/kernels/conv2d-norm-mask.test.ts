/**
 * The batch norm and dropout before a 1×1 conv applied as the conv loads its input (variant
 * NORM_MASK of conv2d_forward's 4-column tile and of conv2d_backward_weight_pointwise), fed by
 * batchnorm_dropout_forward's MASK_ONLY pass (the mask bits and the per-channel affine, no output
 * written). Bit for bit against the unfused path (batchnorm_dropout_forward writing z, then the
 * same kernels reading z), and against float64 (the batch norm, the mask from the reference's
 * draws, the conv). Shapes: the seed CNN's convblock3 at batch 3 (32 → 10 channels on 24 × 24,
 * the forward's 2×2 max-pool epilogue, the weight gradient reading the pool's gradient); 5 → 7
 * channels on 6 × 10 (vec2 loads, planes of 60 elements: mask words across channels, a partial
 * 4-channel group and channel tile); 3 → 4 channels on 5 × 7 (scalar loads, the batch norm's
 * scalar pass, one output row short of a tile); 70 → 3 channels on 1 × 3 (fewer mask invocations than
 * channels: MASK_ONLY's grid covers every channel's affine). Each with weights shared in subgroups and not
 * (a device described without subgroups), dy shared in subgroups and not. The input holds −0
 * and a value in a dropped place that is an infinity (a dropped ∞ is NaN, as the pass stores it).
 */
import { describe, expect } from 'vitest';
import { recordPass, type GpuContext } from '../../src/gpu/context.js';
import { batchnormDropoutForward, batchnormVariant } from '../../src/kernels/batchnorm.js';
import { dropoutParams, maskWords } from '../../src/kernels/dropout.js';
import {
  POINTWISE_TAPS,
  allocateConvPacked,
  bindConv2d,
  conv2dBackwardWeightKernel,
  conv2dKernel,
  conv2dParams,
  conv2dWeightParams,
  conv2dWeightSplits,
  conv2dWeightVariant,
  convVariant,
  type Conv2dShape,
  type ConvTile,
  type WeightTile,
} from '../../src/kernels/conv2d.js';
import { conv2dBackwardWeightRef, conv2dForwardRef } from '../../src/reference/conv2d.js';
import { maxPool2x2ForwardRef, maxPoolBackwardRef } from '../../src/reference/pooling.js';
import { dropoutMaskRef } from '../../src/reference/random.js';
import { TOLERANCE, bitDifferences, expectAllClose, randomArray } from '../helpers/allclose.js';
import { gpuTest, withoutSubgroups } from '../helpers/gpu.js';

interface Case {
  readonly shape: Conv2dShape;
  readonly forward: ConvTile;
  readonly weight: Pick<WeightTile, 'channels' | 'rows' | 'workgroup'>;
  /** The forward stores the 2×2 max pool, and the weight gradient reads the pool's gradient (POOL). */
  readonly pool: boolean;
}

const pointwise = (s: Omit<Conv2dShape, 'kernelH' | 'kernelW' | 'stride' | 'padding'>): Conv2dShape => ({ ...s, kernelH: 1, kernelW: 1, stride: 1, padding: 0 });

const CASES: readonly Case[] = [
  { shape: pointwise({ batch: 3, inChannels: 32, height: 24, width: 24, outChannels: 10 }), forward: { rows: 4, channels: 12, workgroup: 64 }, weight: { channels: 12, rows: 48, workgroup: 64 }, pool: true },
  { shape: pointwise({ batch: 2, inChannels: 5, height: 6, width: 10, outChannels: 7 }), forward: { rows: 2, channels: 8, workgroup: 32 }, weight: { channels: 8, rows: 3, workgroup: 32 }, pool: false },
  { shape: pointwise({ batch: 3, inChannels: 3, height: 5, width: 7, outChannels: 4 }), forward: { rows: 3, channels: 4, workgroup: 64 }, weight: { channels: 4, rows: 2, workgroup: 64 }, pool: false },
  // Fewer mask words (7, a workgroup of 64 invocations) than channels (70): MASK_ONLY's grid covers every channel's affine.
  { shape: pointwise({ batch: 1, inChannels: 70, height: 1, width: 3, outChannels: 3 }), forward: { rows: 1, channels: 4, workgroup: 64 }, weight: { channels: 4, rows: 1, workgroup: 64 }, pool: false },
];

const P_DROP = 0.3;
const DRAWS = { seed: 11, stream: 4, step: 2 };

async function check(base: GpuContext, c: Case, n: number, subgroups: boolean) {
  const ctx = subgroups ? base : withoutSubgroups(base);
  const s = c.shape;
  const p = conv2dParams(s);
  const area = s.height * s.width;
  const inputs = s.batch * s.inChannels * area;
  const outputs = s.batch * s.outChannels * area;
  const C = s.inChannels;
  // The batch norm's input, its statistics (mean, invStd), gamma and beta.
  const yData = Float32Array.from(randomArray(inputs, 10 + n));
  for (let i = 3; i < inputs; i += 29) yData[i] = -0;
  const maskRef = dropoutMaskRef(inputs, P_DROP, DRAWS.seed, DRAWS.stream, DRAWS.step);
  const droppedAt = maskRef.findIndex((m) => m === 0);
  yData[droppedAt] = Number.POSITIVE_INFINITY;
  const statsData = Float32Array.from({ length: 2 * C }, (_, i) => (i < C ? 0.1 * (i % 3) - 0.1 : 0.8 + 0.05 * (i - C)));
  const gammaData = Float32Array.from(randomArray(C, 20 + n, 0.5, 1.5));
  const betaData = Float32Array.from(randomArray(C, 30 + n, -0.3, 0.3));
  const y = ctx.tensor('batch norm input', [inputs], { data: yData });
  const stats = ctx.tensor('stats', [2 * C], { data: statsData });
  const gamma = ctx.tensor('gamma', [C], { data: gammaData });
  const beta = ctx.tensor('beta', [C], { data: betaData });
  const words = maskWords(inputs);
  const [mask, maskOnly] = [ctx.tensor('mask', [words], { dtype: 'u32' }), ctx.tensor('mask (MASK_ONLY)', [words], { dtype: 'u32' })];
  const z = ctx.tensor('z', [inputs]);
  const affine = ctx.tensor('affine', [4 * C]);
  for (const t of [z, affine]) ctx.fill(t, NaN);
  const bnP = { batch: s.batch, channels: C, area, ...dropoutParams(P_DROP), ...DRAWS };
  const variant = batchnormVariant(bnP);
  const bn = [
    (await ctx.compile(batchnormDropoutForward, variant)).bind({ x: y, stats, gamma, beta, mask, y: z }, bnP),
    (await ctx.compile(batchnormDropoutForward, { ...variant, MASK_ONLY: true })).bind({ stats, gamma, beta, mask: maskOnly, affine }, bnP),
  ];
  ctx.submit('batch norm and dropout', (e) => recordPass(e, 'batch norm and dropout', bn));
  const [maskBits, maskOnlyBits, zValues, affineValues] = await ctx.readMany([mask, maskOnly, z, affine]);
  expect(bitDifferences(maskOnlyBits!, maskBits!), 'MASK_ONLY: the same mask words').toEqual([]);
  const { scale } = dropoutParams(P_DROP);
  const wantAffine = Float32Array.from({ length: 4 * C }, (_, i) => {
    const ch = Math.floor(i / 4);
    return [statsData[ch]!, Math.fround(statsData[C + ch]! * gammaData[ch]!), betaData[ch]!, scale][i % 4]!;
  });
  expect(bitDifferences(affineValues!, wantAffine), 'MASK_ONLY: affine = (mean, invStd·gamma, beta, scale)').toEqual([]);
  // float64: the batch norm, then the reference's mask (a dropped ∞ is NaN, as f32 gives it).
  const z64 = Float64Array.from(yData, (v, i) => {
    const ch = Math.floor(i / area) % C;
    return ((v - statsData[ch]!) * statsData[C + ch]! * gammaData[ch]! + betaData[ch]!) * maskRef[i]!;
  });
  expect(Number.isNaN((zValues as Float32Array)[droppedAt]!), 'a dropped ∞ stored as NaN').toBe(true);
  const finiteZ = z64.map((v) => (Number.isNaN(v) ? 0 : v));

  // The forward: NORM_MASK on the batch norm's input against the plain kernel on z.
  const weightData = Float32Array.from(randomArray(s.outChannels * C, 40 + n));
  const weight = ctx.tensor('weight', [s.outChannels * C], { data: weightData });
  const packed = allocateConvPacked(ctx, 'norm mask', p, 'forward', c.forward);
  const forwardOut = c.pool ? s.batch * s.outChannels * Math.floor(s.height / 2) * Math.floor(s.width / 2) : outputs;
  const [want, got] = [ctx.tensor('forward (z)', [forwardOut]), ctx.tensor('forward (NORM_MASK)', [forwardOut])];
  const [argWant, argGot] = [ctx.tensor('argmax (z)', [forwardOut], { dtype: 'u32' }), ctx.tensor('argmax (NORM_MASK)', [forwardOut], { dtype: 'u32' })];
  for (const t of [want, got]) ctx.fill(t, NaN);
  const plain = await bindConv2d(ctx, p, packed, { input: z, weight, output: want, ...(c.pool ? { argmax: argWant } : {}) });
  const fv = convVariant(ctx, p, 'forward', c.forward, { pool: c.pool });
  expect(fv.W_SHARED, 'weights shared in subgroups').toBe(subgroups);
  const folded = (await ctx.compile(conv2dKernel(p, 'forward', c.forward, { pool: c.pool }), { ...fv, NORM_MASK: true })).bind(
    { x: y, weight: packed.tensor(0), y: got, affine, dropMask: maskOnly, ...(c.pool ? { argmax: argGot } : {}) },
    { ...p, channelBase: 0, channelCount: s.outChannels, rowVec4s: packed.slices[0]!.rowLength / 4, statsSlots: 0 },
  );
  ctx.submit('forward', (e) => recordPass(e, 'forward', [...plain, folded]));
  const [a, b, aa, ab] = await ctx.readMany([want, got, argWant, argGot]);
  expect(bitDifferences(b!, a!), 'forward: bit for bit').toEqual([]);
  if (c.pool) expect(bitDifferences(ab!, aa!), 'argmax: the same').toEqual([]);
  // Against float64, the channels the ∞'s NaN does not reach (its image's outputs all hold it).
  const nanImage = Math.floor(droppedAt / (C * area));
  const convRef = conv2dForwardRef(finiteZ, weightData, s);
  const forwardRef = c.pool ? maxPool2x2ForwardRef(convRef, s.batch, s.outChannels, s.height, s.width).y : convRef;
  const perImage = forwardOut / s.batch;
  const clean = Array.from(forwardRef.keys()).filter((i) => Math.floor(i / perImage) !== nanImage);
  expect(clean.every((i) => Number.isFinite((b as Float32Array)[i]!)), 'finite where no NaN reaches').toBe(true);
  expect(Array.from({ length: perImage }, (_, k) => (b as Float32Array)[nanImage * perImage + k]!).some(Number.isNaN), "the dropped ∞'s NaN reaches its image").toBe(true);
  expectAllClose('forward: against float64', clean.map((i) => (b as Float32Array)[i]!), clean.map((i) => forwardRef[i]!), TOLERANCE.forward);

  // The weight gradient: NORM_MASK on the batch norm's input against the plain kernel on z, at one split.
  const tile: WeightTile = { ...c.weight, taps: POINTWISE_TAPS, pointwise: true };
  const wp = conv2dWeightParams(p, tile, ctx.adapter.subgroupSize ?? 8);
  const splits = conv2dWeightSplits(wp);
  const weights = s.outChannels * C;
  const dyData = Float32Array.from(randomArray(forwardOut, 50 + n));
  const dy = ctx.tensor('dy', [forwardOut], { data: dyData });
  const [pw, pg] = [ctx.tensor('partial (z)', [splits * weights]), ctx.tensor('partial (NORM_MASK)', [splits * weights])];
  for (const t of [pw, pg]) ctx.fill(t, NaN);
  const kernel = conv2dBackwardWeightKernel(tile, p, c.pool);
  const wv = { ...conv2dWeightVariant(wp, tile, 8, false, c.pool), DY_SHARED: subgroups };
  const pool = c.pool ? { argmax: argWant } : {};
  const list = [
    (await ctx.compile(kernel, wv)).bind({ x: z, dy, partial: pw, ...pool }, wp),
    (await ctx.compile(kernel, { ...wv, NORM_MASK: true })).bind({ x: y, dy, partial: pg, affine, dropMask: maskOnly, ...pool }, wp),
  ];
  ctx.submit('weight gradient', (e) => recordPass(e, 'weight gradient', list));
  const [w0, w1] = await ctx.readMany([pw, pg]);
  expect(bitDifferences(w1!, w0!), 'weight gradient: partial sums bit for bit').toEqual([]);
  // Against float64 but for the weights of the NaN's input channel (its NaN reaches only them).
  const nanChannel = Math.floor(droppedAt / area) % C;
  const dyFull = c.pool ? maxPoolBackwardRef(dyData, aa as Uint32Array, outputs) : Float64Array.from(dyData);
  const weightRef = conv2dBackwardWeightRef(dyFull, finiteZ, s);
  const reduced = new Float64Array(weights);
  for (let k = 0; k < splits; k++) for (let e = 0; e < weights; e++) reduced[e] = reduced[e]! + (w1 as Float32Array)[k * weights + e]!;
  const others = Array.from(weightRef.keys()).filter((e) => e % C !== nanChannel);
  expect(Array.from({ length: s.outChannels }, (_, o) => reduced[o * C + nanChannel]!).every(Number.isNaN), "the NaN's channel's weights NaN").toBe(true);
  expectAllClose('weight gradient: against float64', others.map((e) => reduced[e]!), others.map((e) => weightRef[e]!), TOLERANCE.gradient);
}

describe('the batch norm and dropout applied as a 1×1 conv loads its input (NORM_MASK, MASK_ONLY)', () => {
  CASES.forEach((c, n) => {
    const s = c.shape;
    for (const subgroups of [true, false]) {
      gpuTest(`batch ${s.batch}, ${s.inChannels}→${s.outChannels} channels, ${s.height}×${s.width}${c.pool ? ', max pool' : ''}, ${subgroups ? 'subgroups' : 'no subgroups'}`, async (ctx) => {
        await check(ctx, c, n, subgroups);
      });
    }
  });

  gpuTest('refused: the other tiles and kernels, the input gradient', async (ctx) => {
    const p = conv2dParams(pointwise({ batch: 2, inChannels: 8, height: 8, width: 8, outChannels: 4 }));
    const requires = (tile: ConvTile, direction: 'forward' | 'input') => conv2dKernel(p, direction, tile).variantRequires!.NORM_MASK!({ ...p, channelBase: 0, channelCount: 4, rowVec4s: 1, statsSlots: 0 });
    expect(requires({ rows: 2, channels: 4, workgroup: 64 }, 'forward')).toBeUndefined();
    expect(requires({ rows: 2, channels: 4, workgroup: 64, wide: true }, 'forward')).toMatch(/row-wide/);
    expect(requires({ rows: 2, channels: 4, workgroup: 64 }, 'input')).toMatch(/forward/);
    expect(() => conv2dWeightVariant(p, { taps: 4 }, 8, false, false, true)).toThrow(/only a pointwise tile/);
    const plainWeight = conv2dBackwardWeightKernel({ channels: 4, taps: 9, workgroup: 64 });
    const wp = conv2dWeightParams(p, { rows: 2, taps: 9 }, 8);
    expect(plainWeight.variantRequires!.NORM_MASK!(wp)).toMatch(/only conv2d_backward_weight_pointwise/);
    expect(ctx).toBeDefined();
  });
});
