/**
 * conv2d_backward_input_pointwise (a 1×1, stride-1, unpadded layer's input gradient, an invocation
 * a quad of pixels × all input channels, the weights at constant indices): bit for bit against
 * conv2d_backward_input's tiles (the plain path: its default tile, the weights shared in subgroups
 * where the adapter has subgroups of 8, and not) and against the float64 reference; with the ReLU
 * mask (RELU_MASK, a ReLU output holding zeros, −0, negatives and NaNs) bit for bit against the
 * plain path's. Each case as the layer binds it (the widest vectors the plane allows) and with
 * narrower vectors forced. Shapes: a plane that is a multiple of 4 (vec4s; the seed CNN's
 * convblock3 at batch 3), a multiple of 4 whose rows are not (quads across rows), of 2 (vec2s, a
 * partial last quad), odd (scalars); input channels that leave the last 4-channel group partial;
 * one channel on a 1×1 plane. And the host side: the tile is the default only on a software
 * adapter with subgroups of 8, the tuner's candidate on any, and fits only 1×1, stride-1, unpadded
 * layers whose channels unroll within MAX_TILE_TAPS.
 */
import { describe, expect, test } from 'vitest';
import { recordPass } from '../../src/gpu/context.js';
import {
  allocateConvPacked,
  bindConv2d,
  conv2dKernel,
  conv2dParams,
  defaultConvTile,
  pointwiseInputFits,
  pointwiseInputProblem,
  pointwiseInputTile,
  pointwiseInputVectors,
  type Conv2dShape,
  type ConvVectors,
} from '../../src/kernels/conv2d.js';
import type { ConvTile } from '../../src/kernels/conv-tile.js';
import { conv2dBackwardInputRef } from '../../src/reference/conv2d.js';
import { candidateTiles, tileFits } from '../../src/tune/tuner.js';
import { TOLERANCE, bitDifferences, expectAllClose, randomArray, reluOutput } from '../helpers/allclose.js';
import { gpuTest } from '../helpers/gpu.js';

const pointwise = (s: Omit<Conv2dShape, 'kernelH' | 'kernelW' | 'stride' | 'padding'>): Conv2dShape => ({ ...s, kernelH: 1, kernelW: 1, stride: 1, padding: 0 });

interface Case {
  readonly shape: Conv2dShape;
  /** The vectors the layer binds (pointwiseInputVectors), to be sure each is covered. */
  readonly vectors: 1 | 2 | 4;
  readonly workgroup?: number;
}

const CASES: readonly Case[] = [
  // The seed CNN's convblock3 (32 → 10 channels on 24 × 24) at batch 3.
  { shape: pointwise({ batch: 3, inChannels: 32, height: 24, width: 24, outChannels: 10 }), vectors: 4 },
  // A plane of 12 pixels in rows of 6: quads across rows; 5 input channels (a partial group of 4).
  { shape: pointwise({ batch: 2, inChannels: 5, height: 2, width: 6, outChannels: 7 }), vectors: 4, workgroup: 32 },
  // 18 pixels (vec2s, the last quad half past the plane); 13 input channels; workgroups of 24.
  { shape: pointwise({ batch: 3, inChannels: 13, height: 3, width: 6, outChannels: 3 }), vectors: 2, workgroup: 24 },
  // 35 pixels (scalars, the last quad 3 pixels); 18 output channels.
  { shape: pointwise({ batch: 2, inChannels: 9, height: 5, width: 7, outChannels: 18 }), vectors: 1 },
  // One channel on a 1×1 plane: a quad of one pixel, 3 tile channels past the layer's.
  { shape: pointwise({ batch: 3, inChannels: 1, height: 1, width: 1, outChannels: 1 }), vectors: 1 },
];

describe('conv2d_backward_input_pointwise', () => {
  CASES.forEach((c, n) => {
    const s = c.shape;
    gpuTest(`batch ${s.batch}, ${s.inChannels}→${s.outChannels} channels, ${s.height}×${s.width} (vec${c.vectors}), wg${c.workgroup ?? 64}`, async (ctx) => {
      const p = conv2dParams(s);
      const tile: ConvTile = { ...pointwiseInputTile(p), workgroup: c.workgroup ?? 64 };
      expect(pointwiseInputFits(p, tile)).toBe(true);
      expect(pointwiseInputVectors(p).output, 'the vectors the layer binds').toBe(c.vectors);
      const [inputs, outputs] = [s.batch * s.inChannels * s.height * s.width, s.batch * s.outChannels * s.height * s.width];
      const dyData = Float32Array.from(randomArray(outputs, 50 + n));
      const weightData = Float32Array.from(randomArray(s.outChannels * s.inChannels, 60 + n));
      const dy = ctx.tensor('dy', [outputs], { data: dyData });
      const weight = ctx.tensor('weight', [weightData.length], { data: weightData });
      const reluOut = ctx.tensor('relu output', [inputs], { data: reluOutput(inputs, 70 + n) });
      const [want, wantMasked, dx] = [ctx.tensor('dx (conv2d_backward_input)', [inputs]), ctx.tensor('masked dx (conv2d_backward_input)', [inputs]), ctx.tensor('dx', [inputs])];
      // The plain path: conv2d_backward_input's default tile (its vectors by the widths), with and without shared weights.
      const plainTile = defaultConvTile(p, 'input');
      const plainPacked = allocateConvPacked(ctx, 'plain', p, 'input', plainTile);
      const packed = allocateConvPacked(ctx, 'pointwise', p, 'input', tile);
      expect(packed.slices.length, 'one slice, one tile a row').toBe(1);
      const sharing = ctx.adapter.subgroupSize === 8 ? [true, false] : [false];
      const plain: Float32Array[] = [];
      for (const shared of sharing) {
        ctx.fill(want, NaN);
        ctx.fill(wantMasked, NaN);
        const list = [
          ...(await bindConv2d(ctx, p, plainPacked, { input: dy, weight, output: want }, { sharedWeights: shared })),
          ...(await bindConv2d(ctx, p, plainPacked, { input: dy, weight, output: wantMasked, reluOutput: reluOut }, { sharedWeights: shared, pack: false })),
        ];
        ctx.submit('plain', (e) => recordPass(e, 'plain', list));
        const [a, b] = await ctx.readMany([want, wantMasked]);
        plain.push(Float32Array.from(a!), Float32Array.from(b!));
      }
      // The plain path agrees with itself shared or not (the tests of conv2d_backward_input hold it).
      expect(bitDifferences(plain.at(-2)!, plain[0]!)).toEqual([]);
      expectAllClose('the plain path against float64', plain[0]!, conv2dBackwardInputRef(dyData, weightData, s), TOLERANCE.gradient);
      const widths = ([4, 2, 1] as const).filter((w) => w <= c.vectors);
      for (const w of widths) {
        for (const masked of [false, true]) {
          const vectors: ConvVectors = { input: w, output: w };
          const label = `vec${w}${masked ? ', ReLU mask' : ''}`;
          ctx.fill(dx, NaN);
          const list = await bindConv2d(ctx, p, packed, { input: dy, weight, output: dx, reluOutput: masked ? reluOut : undefined }, { vectors });
          expect(list.at(-1)!.label).toMatch(/input gradient/);
          ctx.submit(label, (e) => recordPass(e, label, list));
          const got = Float32Array.from(await ctx.read(dx));
          expect(bitDifferences(got, plain[masked ? 1 : 0]!), `${label}: bit for bit as conv2d_backward_input's`).toEqual([]);
          if (!masked) expectAllClose(`${label} against float64`, got, conv2dBackwardInputRef(dyData, weightData, s), TOLERANCE.gradient);
        }
      }
    });
  });

  gpuTest('its kernel is the pointwise one, and a pointwise tile refuses a forward epilogue', async (ctx) => {
    const p = conv2dParams(pointwise({ batch: 2, inChannels: 8, height: 4, width: 4, outChannels: 3 }));
    const tile = pointwiseInputTile(p);
    expect(conv2dKernel(p, 'input', tile).name).toBe('conv2d_backward_input_pointwise');
    expect(() => conv2dKernel(p, 'forward', tile)).toThrow(/input gradient only/);
    const packed = allocateConvPacked(ctx, 'pointwise', p, 'input', tile);
    const [dy, weight, dx, bias] = [ctx.tensor('dy', [96]), ctx.tensor('weight', [24]), ctx.tensor('dx', [256]), ctx.tensor('bias', [3])];
    await expect(bindConv2d(ctx, p, packed, { input: dy, weight, output: dx, bias })).rejects.toThrow(/input gradient only/);
  });
});

describe('the pointwise input-gradient tile on the host', () => {
  const p = conv2dParams(pointwise({ batch: 128, inChannels: 32, height: 24, width: 24, outChannels: 10 }));
  const padded = conv2dParams({ ...pointwise({ batch: 128, inChannels: 32, height: 24, width: 24, outChannels: 10 }), padding: 1 });
  const strided = conv2dParams({ ...pointwise({ batch: 128, inChannels: 32, height: 24, width: 24, outChannels: 10 }), stride: 2 });
  const wide = conv2dParams(pointwise({ batch: 8, inChannels: 64, height: 6, width: 6, outChannels: 16 }));
  const t = pointwiseInputTile(p);
  const lavapipe = { software: true, subgroupSize: 8 };

  test('it fits only a 1×1, stride-1, unpadded layer whose channels unroll within the budget, and only the input gradient', () => {
    expect(t).toEqual({ rows: 1, channels: 32, workgroup: 64, pointwise: true });
    expect(pointwiseInputTile(conv2dParams(pointwise({ batch: 1, inChannels: 5, height: 3, width: 3, outChannels: 2 }))).channels, 'rounded up to 4').toBe(8);
    expect(tileFits(p, 'input', t)).toBe(true);
    expect(tileFits(p, 'forward', t), 'not the forward').toBe(false);
    expect(tileFits(p, 'input', { ...t, channels: 16 }), "all the layer's channels").toBe(false);
    expect(tileFits(p, 'input', { ...t, rows: 2 }), 'one quad').toBe(false);
    expect(tileFits(padded, 'input', t), 'padding 1').toBe(false);
    expect(tileFits(strided, 'input', t), 'stride 2').toBe(false);
    expect(pointwiseInputProblem(wide), '16 × 64 products').toMatch(/1024 products/);
    expect(tileFits(wide, 'input', pointwiseInputTile(wide))).toBe(false);
  });

  test('it is the default and a candidate only on a software adapter with subgroups of 8 (where it was measured)', () => {
    expect(defaultConvTile(p, 'input', lavapipe)).toEqual(t);
    expect(defaultConvTile(p, 'input', { software: true, subgroupSize: undefined }).pointwise).toBeUndefined();
    expect(defaultConvTile(p, 'input', { software: false, subgroupSize: 8 }).pointwise).toBeUndefined();
    expect(defaultConvTile(p, 'input').pointwise).toBeUndefined();
    expect(defaultConvTile(p, 'forward', lavapipe).pointwise).toBeUndefined();
    expect(defaultConvTile(padded, 'input', lavapipe).pointwise).toBeUndefined();
    expect(defaultConvTile(wide, 'input', lavapipe).pointwise).toBeUndefined();
    expect(candidateTiles(p, 'input', lavapipe)[0]).toEqual(t);
    expect(candidateTiles(p, 'input', lavapipe).filter((c) => c.pointwise)).toHaveLength(1);
    expect(candidateTiles(p, 'input', { software: false, subgroupSize: 32 }).some((c) => c.pointwise), 'not offered elsewhere').toBe(false);
    expect(candidateTiles(p, 'forward', lavapipe).some((c) => c.pointwise)).toBe(false);
    expect(candidateTiles(padded, 'input', lavapipe).some((c) => c.pointwise)).toBe(false);
  });
});
