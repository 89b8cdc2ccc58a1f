/**
 * The conv input gradient's ReLU mask (variant RELU_MASK, fusion rule relu-grad-in-input-gradient:
 * a ReLU before the conv) against the plain input gradient and then relu_backward on the ReLU's
 * output, bit for bit: dx written as vec4s (width a multiple of 4), vec2s and scalars (an odd
 * width, partial quads), several weight slices, a stride of 2, tile channels past the layer's,
 * a ReLU output with exact zeros and negative values (blocked) and positive ones (passed); with
 * the weights shared in subgroups (W_SHARED, where the adapter has subgroups of 8) and without.
 */
import { describe, expect } from 'vitest';
import { recordPass } from '../../src/gpu/context.js';
import { allocateConvPacked, bindConv2d, conv2dParams, convVectors, defaultConvTile, type Conv2dShape } from '../../src/kernels/conv2d.js';
import type { ConvTile } from '../../src/kernels/conv-tile.js';
import { reluBackward } from '../../src/kernels/relu.js';
import { randomArray } from '../helpers/allclose.js';
import { gpuTest } from '../helpers/gpu.js';

interface Case {
  readonly shape: Conv2dShape;
  readonly tile?: ConvTile;
  /** dx's store width the layer binds (convVectors), to be sure each is covered. */
  readonly stores: 1 | 2 | 4;
  readonly slices?: number;
}

const CASES: readonly Case[] = [
  { shape: { batch: 3, inChannels: 6, height: 8, width: 8, outChannels: 5, kernelH: 3, kernelW: 3, stride: 1, padding: 1 }, stores: 4, tile: { rows: 2, channels: 8, workgroup: 64 } },
  { shape: { batch: 2, inChannels: 5, height: 7, width: 10, outChannels: 4, kernelH: 3, kernelW: 3, stride: 1, padding: 0 }, stores: 2 },
  { shape: { batch: 2, inChannels: 3, height: 9, width: 11, outChannels: 7, kernelH: 3, kernelW: 3, stride: 1, padding: 1 }, stores: 1, tile: { rows: 3, channels: 4, workgroup: 24 } },
  // 64 output channels × 9 taps reduced: 40 input channels in 3 packed slices.
  { shape: { batch: 2, inChannels: 40, height: 6, width: 6, outChannels: 64, kernelH: 3, kernelW: 3, stride: 1, padding: 1 }, stores: 2, tile: { rows: 2, channels: 16, workgroup: 64 }, slices: 3 },
  { shape: { batch: 3, inChannels: 4, height: 13, width: 12, outChannels: 8, kernelH: 3, kernelW: 3, stride: 2, padding: 1 }, stores: 4 },
  // A VGG-sized layer: 16 → 16 channels on 24 × 24 at batch 32.
  { shape: { batch: 32, inChannels: 16, height: 24, width: 24, outChannels: 16, kernelH: 3, kernelW: 3, stride: 1, padding: 1 }, stores: 4 },
];

describe('conv2d input gradient ReLU mask', () => {
  CASES.forEach((c, n) => {
    const s = c.shape;
    const name = `batch ${s.batch}, ${s.inChannels}→${s.outChannels} channels, ${s.height}×${s.width}, ${s.kernelH}×${s.kernelW} stride ${s.stride} padding ${s.padding}, dx stored ${c.stores} at a time`;
    gpuTest(name, async (ctx) => {
      const p = conv2dParams(s);
      expect(convVectors(p, 'input').output, 'the store width this case covers').toBe(c.stores);
      const tile = c.tile ?? defaultConvTile(p, 'input');
      const packed = allocateConvPacked(ctx, 'w', p, 'input', tile);
      if (c.slices) expect(packed.slices.length, 'weight slices').toBe(c.slices);
      const inputs = s.batch * s.inChannels * s.height * s.width;
      const outputs = s.batch * s.outChannels * p.outHeight * p.outWidth;
      const weights = s.outChannels * s.inChannels * s.kernelH * s.kernelW;
      const dy = ctx.tensor('dy', [outputs], { data: Float32Array.from(randomArray(outputs, 80 + n)) });
      const weight = ctx.tensor('weight', [weights], { data: Float32Array.from(randomArray(weights, 90 + n, -0.3, 0.3)) });
      // The ReLU's output: ≥ 0 as a ReLU's is, a third of it exactly 0, and some negative values
      // too (a mask must read `> 0`, not a sign bit or `!= 0`).
      const reluData = Float32Array.from(randomArray(inputs, 100 + n, -0.5, 1), (v, i) => (i % 3 === 0 ? 0 : v));
      const reluOutput = ctx.tensor('relu output', [inputs], { data: reluData });
      const plain = ctx.tensor('dx (plain)', [inputs]);
      const want = ctx.tensor('dx (plain, then relu_backward)', [inputs]);
      const setup = [
        ...(await bindConv2d(ctx, p, packed, { input: dy, weight, output: plain })),
        (await ctx.compile(reluBackward)).bind({ dy: plain, y: reluOutput, dx: want }, { length: inputs }),
      ];
      ctx.submit('conv relu mask reference', (e) => recordPass(e, 'conv relu mask reference', setup));
      const [wantDx, plainDx] = await ctx.readMany([want, plain]);
      expect(Array.from(wantDx!).some((v, i) => v !== plainDx![i]), 'the mask blocks some gradient').toBe(true);
      expect(Array.from(wantDx!).some((v) => v !== 0), 'and passes some').toBe(true);
      const sharing = ctx.adapter.subgroupSize === 8 ? [true, false] : [false];
      for (const shared of sharing) {
        const dx = ctx.tensor('dx (RELU_MASK)', [inputs]);
        ctx.fill(dx, NaN);
        const list = await bindConv2d(ctx, p, packed, { input: dy, weight, output: dx, reluOutput }, { sharedWeights: shared, pack: false });
        ctx.submit('conv relu mask', (e) => recordPass(e, 'conv relu mask', list));
        const label = shared ? 'weights shared in subgroups' : 'weights read by each invocation';
        expect(Array.from(await ctx.read(dx)), `${label}: dx, bit for bit`).toEqual(Array.from(wantDx!));
      }
    }, 120_000);
  });

  gpuTest('a ReLU mask on the forward is refused', async (ctx) => {
    const p = conv2dParams({ batch: 1, inChannels: 2, height: 5, width: 5, outChannels: 4, kernelH: 3, kernelW: 3, stride: 1, padding: 1 });
    const packed = allocateConvPacked(ctx, 'w', p, 'forward', defaultConvTile(p, 'forward'));
    const [x, w, y] = [ctx.tensor('x', [50]), ctx.tensor('w', [72]), ctx.tensor('y', [100])];
    await expect(bindConv2d(ctx, p, packed, { input: x, weight: w, output: y, reluOutput: x })).rejects.toThrow(/ReLU mask .* belongs to the input gradient/);
  });
});

describe('conv2d input gradient ReLU mask at NaN and ±∞', () => {
  // PyTorch's relu backward (threshold_backward: dy where not y ≤ 0) passes the gradient where the
  // ReLU's output is NaN, whatever its sign bit: RELU_MASK against the plain input gradient and
  // that rule, bit for bit, with NaNs of both signs, ±∞ and ±0 among the ReLU's outputs, for each
  // store width (vec4, vec2, scalar).
  CASES.forEach((c, n) => {
    const s = c.shape;
    gpuTest(`${s.height}×${s.width}, dx stored ${c.stores} at a time`, async (ctx) => {
      const p = conv2dParams(s);
      const tile = c.tile ?? defaultConvTile(p, 'input');
      const packed = allocateConvPacked(ctx, 'w', p, 'input', tile);
      const inputs = s.batch * s.inChannels * s.height * s.width;
      const outputs = s.batch * s.outChannels * p.outHeight * p.outWidth;
      const weights = s.outChannels * s.inChannels * s.kernelH * s.kernelW;
      const dy = ctx.tensor('dy', [outputs], { data: Float32Array.from(randomArray(outputs, 80 + n)) });
      const weight = ctx.tensor('weight', [weights], { data: Float32Array.from(randomArray(weights, 90 + n, -0.3, 0.3)) });
      const specials = new Float32Array(new Uint32Array([0x7fc00000, 0xffc00000, 0x7f800001, 0xffffffff, 0x7f800000, 0xff800000, 0x80000000, 0]).buffer);
      const reluData = Float32Array.from(randomArray(inputs, 100 + n, 0, 1), (v, i) => specials[i % 11] ?? v);
      const reluOutput = ctx.tensor('relu output', [inputs], { data: reluData });
      const [plain, dx] = [ctx.tensor('dx (plain)', [inputs]), ctx.tensor('dx (RELU_MASK)', [inputs])];
      ctx.fill(dx, NaN);
      const list = [
        ...(await bindConv2d(ctx, p, packed, { input: dy, weight, output: plain })),
        ...(await bindConv2d(ctx, p, packed, { input: dy, weight, output: dx, reluOutput }, { sharedWeights: false, pack: false })),
      ];
      ctx.submit('conv relu mask NaN', (e) => recordPass(e, 'conv relu mask NaN', list));
      const [gotPlain, got] = await ctx.readMany([plain, dx]);
      // The elements that differ (a failure lists a few: a diff of the whole array takes minutes).
      const wrong = Array.from(got!.keys()).filter((i) => !Object.is(got![i], reluData[i]! <= 0 ? 0 : gotPlain![i]!));
      expect(wrong.slice(0, 4).map((i) => [i, reluData[i], got![i], gotPlain![i]]), `dx: dy passed where the ReLU output is not ≤ 0 (${wrong.length} elements differ)`).toEqual([]);
    }, 120_000);
  });
});
