/**
 * The conv forward's bias epilogue (variant BIAS: a Conv2d with bias) against the bias-free conv
 * and then bias_add: the outputs bit for bit, with and without the ReLU; with the max-pool
 * epilogue, the pooled values and argmax bit for bit against the conv, bias_add and
 * maxpool2x2_forward; with the statistics epilogue, the output bit for bit and the partial
 * moments (merged here in float64) against the float64 mean and variance of that output. Shapes
 * with a partial quad and partial rows, tile channels past the layer's (6 in a tile of 8), three
 * weight slices (each slice's channels must take their own biases), a stride of 2, 1×1 and 5×5
 * kernels (LeNet-5's), and LeNet-5's second conv at batch 128; with the weights shared in
 * subgroups (W_SHARED, where the adapter has subgroups of 8) and without.
 * The bias's gradient from the weight gradient's kernel (variant BIAS): the weights' partial sums
 * bit for bit as without it, the bias's partial sums per split against float64 sums of dy over
 * the split's rows, and reduced (conv2d_backward_weight_reduce) against float64 and against
 * bias_backward: the scalar, vec2 and vec4 dy paths, 3×3, 1×1 and 5×5 kernels, stride 2, tiles of
 * 4 to 16 channels with channels past the layer's and three channel tiles, several tap groups (only
 * the first stores), dy shared in subgroups and not, and LeNet-5's second conv at batch 128.
 */
import { describe, expect } from 'vitest';
import { recordPass } from '../../src/gpu/context.js';
import { biasAdd, biasBackward } from '../../src/kernels/bias.js';
import {
  allocateConvPacked,
  bindConv2d,
  bindConvReduction,
  conv2dBackwardWeightKernel,
  conv2dParams,
  conv2dWeightSplits,
  conv2dWeightParams,
  conv2dWeightVariant,
  convStatsSlots,
  defaultConvTile,
  defaultWeightTile,
  poolTile,
  type Conv2dShape,
  type WeightTile,
} from '../../src/kernels/conv2d.js';
import type { ConvTile } from '../../src/kernels/conv-tile.js';
import { maxpool2x2Forward, maxpoolVariant } from '../../src/kernels/pooling.js';
import { biasBackwardRef } from '../../src/reference/bias.js';
import { TOLERANCE, expectAllClose, randomArray } from '../helpers/allclose.js';
import { gpuTest } from '../helpers/gpu.js';

interface Case {
  readonly shape: Conv2dShape;
  readonly relu: boolean;
  readonly tile?: ConvTile;
  readonly slices?: number;
  /** Also run the bias with the statistics epilogue, and with the max-pool epilogue. */
  readonly stats?: boolean;
  readonly pool?: boolean;
}

const CASES: readonly Case[] = [
  // 7 × 9 outputs: a partial quad and partial rows; 6 channels in a tile of 8.
  { shape: { batch: 3, inChannels: 2, height: 7, width: 9, outChannels: 6, kernelH: 3, kernelW: 3, stride: 1, padding: 1 }, relu: true, tile: { rows: 2, channels: 8, workgroup: 64 }, stats: true, pool: true },
  { shape: { batch: 3, inChannels: 2, height: 7, width: 9, outChannels: 6, kernelH: 3, kernelW: 3, stride: 1, padding: 1 }, relu: false, tile: { rows: 3, channels: 4, workgroup: 24 }, stats: true },
  // 64 input channels × 9 taps: 40 output channels in 3 packed slices.
  { shape: { batch: 2, inChannels: 64, height: 6, width: 6, outChannels: 40, kernelH: 3, kernelW: 3, stride: 1, padding: 1 }, relu: true, tile: { rows: 2, channels: 16, workgroup: 64 }, slices: 3, stats: true, pool: true },
  // A stride of 2 and a 1×1 kernel.
  { shape: { batch: 3, inChannels: 4, height: 13, width: 12, outChannels: 8, kernelH: 3, kernelW: 3, stride: 2, padding: 1 }, relu: true, pool: true },
  { shape: { batch: 5, inChannels: 32, height: 24, width: 24, outChannels: 10, kernelH: 1, kernelW: 1, stride: 1, padding: 0 }, relu: false, stats: true },
  // LeNet-5's convs (5×5, with bias, then ReLU and MaxPool2d(2)); the second at batch 128.
  { shape: { batch: 4, inChannels: 1, height: 28, width: 28, outChannels: 6, kernelH: 5, kernelW: 5, stride: 1, padding: 2 }, relu: true, pool: true },
  { shape: { batch: 128, inChannels: 6, height: 14, width: 14, outChannels: 16, kernelH: 5, kernelW: 5, stride: 1, padding: 0 }, relu: true, pool: true, stats: true },
];

describe('conv2d forward bias epilogue', () => {
  CASES.forEach((c, n) => {
    const s = c.shape;
    const name = `batch ${s.batch}, ${s.inChannels}→${s.outChannels} channels, ${s.height}×${s.width}, ${s.kernelH}×${s.kernelW} stride ${s.stride} padding ${s.padding}${c.relu ? ', ReLU' : ''}${c.stats ? ', statistics' : ''}${c.pool ? ', max pool' : ''}`;
    gpuTest(name, async (ctx) => {
      const p = conv2dParams(s);
      const tile = c.tile ?? defaultConvTile(p, 'forward');
      const packed = allocateConvPacked(ctx, 'w', p, 'forward', tile);
      if (c.slices) expect(packed.slices.length, 'weight slices').toBe(c.slices);
      const area = p.outHeight * p.outWidth;
      const outLength = s.batch * s.outChannels * area;
      const inputs = s.batch * s.inChannels * s.height * s.width;
      const weights = s.outChannels * s.inChannels * s.kernelH * s.kernelW;
      const x = ctx.tensor('x', [inputs], { data: Float32Array.from(randomArray(inputs, 50 + n)) });
      const weight = ctx.tensor('weight', [weights], { data: Float32Array.from(randomArray(weights, 60 + n, -0.3, 0.3)) });
      // Biases of both signs and as large as the sums: the ReLU's decisions move with them.
      const biasData = Float32Array.from(randomArray(s.outChannels, 70 + n, -0.8, 0.8));
      const bias = ctx.tensor('bias', [s.outChannels], { data: biasData });
      const want = ctx.tensor('conv, then bias_add', [outLength]);
      const plain = ctx.tensor('conv without bias', [outLength]);
      const add = (await ctx.compile(biasAdd, { RELU: c.relu })).bind({ bias, y: want }, { batch: s.batch, channels: s.outChannels, area });
      const setup = [
        ...(await bindConv2d(ctx, p, packed, { input: x, weight, output: plain })),
        ...(await bindConv2d(ctx, p, packed, { input: x, weight, output: want }, { pack: false })),
        add,
      ];
      ctx.submit('conv bias reference', (e) => recordPass(e, 'conv bias reference', setup));
      const [wantY, plainY] = await ctx.readMany([want, plain]);
      // The bias is there: with it, no channel's output equals the bias-free conv's.
      for (let ch = 0; ch < s.outChannels; ch++) {
        const plane = wantY!.subarray(ch * area, (ch + 1) * area);
        expect(plane.some((v, i) => v !== (c.relu ? Math.max(plainY![ch * area + i]!, 0) : plainY![ch * area + i]!)), `channel ${ch}: the bias changed its output`).toBe(true);
      }

      const sharing = ctx.adapter.subgroupSize === 8 ? [true, false] : [false];
      for (const shared of sharing) {
        const label = shared ? 'weights shared in subgroups' : 'weights read by each invocation';
        const y = ctx.tensor('y (bias epilogue)', [outLength]);
        ctx.fill(y, NaN);
        const list = await bindConv2d(ctx, p, packed, { input: x, weight, output: y, bias }, { relu: c.relu, sharedWeights: shared, pack: false });
        ctx.submit('conv bias', (e) => recordPass(e, 'conv bias', list));
        expect(Array.from(await ctx.read(y)), `${label}: the output is the conv's and then bias_add's, bit for bit`).toEqual(Array.from(wantY!));

        if (c.stats) {
          const slots = convStatsSlots(p, tile, shared);
          const moments = ctx.tensor('moments', [s.outChannels * slots * 3]);
          ctx.fill(moments, NaN);
          ctx.fill(y, NaN);
          const withStats = await bindConv2d(ctx, p, packed, { input: x, weight, output: y, bias, stats: moments }, { relu: c.relu, sharedWeights: shared, pack: false });
          ctx.submit('conv bias stats', (e) => recordPass(e, 'conv bias stats', withStats));
          const [gotY, gotMoments] = await ctx.readMany([y, moments]);
          expect(Array.from(gotY!), `${label}: with statistics, the output bit for bit`).toEqual(Array.from(wantY!));
          for (let ch = 0; ch < s.outChannels; ch++) {
            // The partial moments merged in float64 (Chan et al.), against the output's own.
            let [count, sum] = [0, 0];
            for (let k = 0; k < slots; k++) [count, sum] = [count + gotMoments![(ch * slots + k) * 3]!, sum + gotMoments![(ch * slots + k) * 3]! * gotMoments![(ch * slots + k) * 3 + 1]!];
            const mean = sum / count;
            let m2 = 0;
            for (let k = 0; k < slots; k++) {
              const [nk, mk, m2k] = [0, 1, 2].map((j) => gotMoments![(ch * slots + k) * 3 + j]!);
              m2 += m2k! + nk! * (mk! - mean) ** 2;
            }
            let [refSum, refM2] = [0, 0];
            const values: number[] = [];
            for (let b = 0; b < s.batch; b++) for (let i = 0; i < area; i++) values.push(wantY![(b * s.outChannels + ch) * area + i]!);
            for (const v of values) refSum += v;
            const refMean = refSum / values.length;
            for (const v of values) refM2 += (v - refMean) ** 2;
            expect(count, `${label}: channel ${ch}'s counted elements`).toBe(s.batch * area);
            // f32 partial moments over up to 12,800 elements: errors of a few 1e-7 relative.
            expect(Math.abs(mean - refMean), `${label}: channel ${ch}'s mean`).toBeLessThan(1e-5 * (1 + Math.abs(refMean)));
            expect(Math.abs(m2 / count - refM2 / values.length), `${label}: channel ${ch}'s variance`).toBeLessThan(1e-5 * (1 + refM2 / values.length));
          }
        }

        if (c.pool) {
          const pt = poolTile(tile, s.kernelH * s.kernelW);
          const pooledPacked = allocateConvPacked(ctx, 'w (pool tile)', p, 'forward', pt);
          const [poolH, poolW] = [Math.floor(p.outHeight / 2), Math.floor(p.outWidth / 2)];
          const pooledLength = s.batch * s.outChannels * poolH * poolW;
          const shape = { planes: s.batch * s.outChannels, height: p.outHeight, width: p.outWidth };
          const [wantPooled, wantArgmax] = [ctx.tensor('pooled (conv, bias_add, maxpool)', [pooledLength]), ctx.tensor('argmax (conv, bias_add, maxpool)', [pooledLength], { dtype: 'u32' })];
          const [pooled, argmax] = [ctx.tensor('pooled (epilogue)', [pooledLength]), ctx.tensor('argmax (epilogue)', [pooledLength], { dtype: 'u32' })];
          ctx.fill(pooled, NaN);
          ctx.fill(argmax, 0xdeadbeef);
          const pooling = [
            (await ctx.compile(maxpool2x2Forward, maxpoolVariant(shape))).bind({ x: want, y: wantPooled, argmax: wantArgmax }, shape),
            ...(await bindConv2d(ctx, p, pooledPacked, { input: x, weight, output: pooled, argmax, bias }, { relu: c.relu, sharedWeights: shared })),
          ];
          ctx.submit('conv bias pool', (e) => recordPass(e, 'conv bias pool', pooling));
          const [gotPooled, gotArgmax, expectPooled, expectArgmax] = await ctx.readMany([pooled, argmax, wantPooled, wantArgmax]);
          expect(Array.from(gotPooled!), `${label}: the pooled values`).toEqual(Array.from(expectPooled!));
          expect(Array.from(gotArgmax!), `${label}: the argmax`).toEqual(Array.from(expectArgmax!));
        }
      }
    }, 120_000);
  });

  gpuTest('a bias on the input gradient is refused', async (ctx) => {
    const p = conv2dParams({ batch: 1, inChannels: 2, height: 5, width: 5, outChannels: 4, kernelH: 3, kernelW: 3, stride: 1, padding: 1 });
    const packed = allocateConvPacked(ctx, 'w', p, 'input', defaultConvTile(p, 'input'));
    const [dy, w, dx, bias] = [ctx.tensor('dy', [100]), ctx.tensor('w', [72]), ctx.tensor('dx', [50]), ctx.tensor('bias', [4])];
    await expect(bindConv2d(ctx, p, packed, { input: dy, weight: w, output: dx, bias })).rejects.toThrow(/bias .* belongs to the forward/);
  });
});

interface GradCase {
  readonly shape: Conv2dShape;
  /** The weight gradient's tile (rows a split, channels, taps); the layer's default where absent. */
  readonly tile?: WeightTile;
}

const GRAD_CASES: readonly GradCase[] = [
  // 7 × 9 outputs (dy read as scalars), 6 channels in a tile of 8, 4 rows a split (6 splits).
  { shape: { batch: 3, inChannels: 2, height: 7, width: 9, outChannels: 6, kernelH: 3, kernelW: 3, stride: 1, padding: 1 }, tile: { rows: 4, channels: 8, taps: 9, workgroup: 64 } },
  // 40 channels in three tiles of 16; 64 × 9 taps in 32 groups of 18 (dy shared in subgroups).
  { shape: { batch: 2, inChannels: 64, height: 6, width: 6, outChannels: 40, kernelH: 3, kernelW: 3, stride: 1, padding: 1 }, tile: { rows: 5, channels: 16, taps: 18, workgroup: 64 } },
  // Stride 2 (the taps one by one), dy as vec2s; tiles of 4 channels.
  { shape: { batch: 3, inChannels: 4, height: 13, width: 12, outChannels: 8, kernelH: 3, kernelW: 3, stride: 2, padding: 1 }, tile: { rows: 7, channels: 4, taps: 9, workgroup: 32 } },
  // The 1×1 path, dy as vec4s; 10 channels in a tile of 12, 32 taps in two groups.
  { shape: { batch: 5, inChannels: 32, height: 24, width: 24, outChannels: 10, kernelH: 1, kernelW: 1, stride: 1, padding: 0 }, tile: { rows: 48, channels: 12, taps: 18, workgroup: 64 } },
  // convblock2's shape at batch 8: 16 groups of 9 taps (dy shared in subgroups), dy as vec2s.
  { shape: { batch: 8, inChannels: 16, height: 26, width: 26, outChannels: 32, kernelH: 3, kernelW: 3, stride: 1, padding: 0 }, tile: { rows: 24, channels: 16, taps: 9, workgroup: 64 } },
  // LeNet-5's convs: the first (5×5, padding 2), the second at batch 128 with its default tile.
  { shape: { batch: 4, inChannels: 1, height: 28, width: 28, outChannels: 6, kernelH: 5, kernelW: 5, stride: 1, padding: 2 } },
  { shape: { batch: 128, inChannels: 6, height: 14, width: 14, outChannels: 16, kernelH: 5, kernelW: 5, stride: 1, padding: 0 } },
  // convblock4's shape at batch 6: 10 groups of 9 taps padded to 16 slots (shareDy: dy shared in
  // subgroups of 8; only group 0 stores the bias, the idle slots nothing).
  { shape: { batch: 6, inChannels: 10, height: 12, width: 12, outChannels: 16, kernelH: 3, kernelW: 3, stride: 1, padding: 0 }, tile: { rows: 7, channels: 16, taps: 9, workgroup: 64, shareDy: true } },
];

describe("conv2d weight gradient's bias variant", () => {
  GRAD_CASES.forEach((c, n) => {
    const s = c.shape;
    const name = `batch ${s.batch}, ${s.inChannels}→${s.outChannels} channels, ${s.height}×${s.width}, ${s.kernelH}×${s.kernelW} stride ${s.stride} padding ${s.padding}`;
    gpuTest(name, async (ctx) => {
      const p0 = conv2dParams(s);
      const tile = c.tile ?? defaultWeightTile(p0);
      const p = conv2dWeightParams(p0, tile, ctx.adapter.subgroupSize);
      const splits = conv2dWeightSplits(p);
      const area = p.outHeight * p.outWidth;
      const weights = s.outChannels * s.inChannels * s.kernelH * s.kernelW;
      const [inputs, outputs] = [s.batch * s.inChannels * s.height * s.width, s.batch * s.outChannels * area];
      const dyData = Float32Array.from(randomArray(outputs, 80 + n));
      const x = ctx.tensor('x', [inputs], { data: Float32Array.from(randomArray(inputs, 90 + n)) });
      const dy = ctx.tensor('dy', [outputs], { data: dyData });
      const [plainPartial, partial] = [ctx.tensor('partial (no bias)', [splits * weights]), ctx.tensor('partial', [splits * weights])];
      const [biasPartial, dbias, dbiasUnfused] = [ctx.tensor('bias partial', [splits * s.outChannels]), ctx.tensor('dbias', [s.outChannels]), ctx.tensor('dbias (bias_backward)', [s.outChannels])];
      const kernel = conv2dBackwardWeightKernel(tile);
      const base = conv2dWeightVariant(p, tile, ctx.adapter.subgroupSize);
      expect(conv2dWeightVariant(p, tile, ctx.adapter.subgroupSize, true), 'the layer asks for BIAS').toEqual({ ...base, BIAS: true });
      if (n === 1 || n === 3 || n === 4) expect(Math.ceil((s.inChannels * s.kernelH * s.kernelW) / tile.taps), 'tap groups (only the first stores the bias)').toBeGreaterThan(1);
      // The unfused path, once: the weights' partial sums without BIAS and bias_backward.
      ctx.fill(plainPartial, NaN);
      const reference = [
        (await ctx.compile(kernel, base)).bind({ x, dy, partial: plainPartial }, p),
        (await ctx.compile(biasBackward)).bind({ dy, dbias: dbiasUnfused }, { batch: s.batch, channels: s.outChannels, area }),
      ];
      ctx.submit('weight gradient without bias', (e) => recordPass(e, 'weight gradient without bias', reference));
      const [wantPartial, unfused] = await ctx.readMany([plainPartial, dbiasUnfused]);
      const wantBias = biasBackwardRef(dyData, s.batch, s.outChannels, area);
      // Per split: dy summed in float64 over the split's output rows (b·outHeight + oy).
      const rowsPerSplit = tile.rows;
      const splitSums = new Float64Array(splits * s.outChannels);
      const splitScale = new Float64Array(splits * s.outChannels);
      for (let b = 0; b < s.batch; b++) {
        for (let ch = 0; ch < s.outChannels; ch++) {
          for (let oy = 0; oy < p.outHeight; oy++) {
            const k = Math.floor((b * p.outHeight + oy) / rowsPerSplit) * s.outChannels + ch;
            for (let ox = 0; ox < p.outWidth; ox++) {
              const v = dyData[((b * s.outChannels + ch) * p.outHeight + oy) * p.outWidth + ox]!;
              splitSums[k] = splitSums[k]! + v;
              splitScale[k] = splitScale[k]! + Math.abs(v);
            }
          }
        }
      }

      const sharing = base.DY_SHARED ? [true, false] : [false];
      for (const shared of sharing) {
        const label = shared ? 'dy shared in subgroups' : 'dy loaded by each invocation';
        const variant = { ...base, DY_SHARED: shared, BIAS: true };
        ctx.fill(partial, NaN);
        ctx.fill(biasPartial, NaN);
        ctx.fill(dbias, NaN);
        const list = [
          (await ctx.compile(kernel, variant)).bind({ x, dy, partial, biasPartial }, p),
          await bindConvReduction(ctx, [{ partial: biasPartial, dweight: dbias, length: s.outChannels, splits }], 'bias reduce'),
        ];
        ctx.submit('weight and bias gradient', (e) => recordPass(e, 'weight and bias gradient', list));
        const [gotPartial, gotBiasPartial, gotBias] = await ctx.readMany([partial, biasPartial, dbias]);
        expect(Array.from(gotPartial!), `${label}: the weights' partial sums, bit for bit as without BIAS`).toEqual(Array.from(wantPartial!));
        // f32 sums of up to 2,304 values (a split's rows of one channel): a few roundings of their scale.
        for (let k = 0; k < splits * s.outChannels; k++) {
          const err = Math.abs(gotBiasPartial![k]! - splitSums[k]!);
          expect(err, `${label}: split ${Math.floor(k / s.outChannels)}, channel ${k % s.outChannels}: ${gotBiasPartial![k]} against ${splitSums[k]}`).toBeLessThanOrEqual(2e-6 * splitScale[k]! + 1e-7);
        }
        expectAllClose(`${label}: the bias's gradient against float64`, gotBias!, wantBias, TOLERANCE.gradient);
        expectAllClose(`${label}: the bias's gradient against bias_backward`, gotBias!, unfused!, TOLERANCE.gradient);
      }
    }, 120_000);
  });
});
