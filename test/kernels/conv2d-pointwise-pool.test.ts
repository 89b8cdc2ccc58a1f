/**
 * The max pool's backward folded into a 1×1, stride-1, unpadded layer's pointwise gradients
 * (variant POOL of conv2d_backward_input_pointwise and conv2d_backward_weight_pointwise): each
 * reads the pool's gradient (a quarter of the layer's output) and its argmax in place of the
 * full dy that maxpool2x2_backward writes. Bit for bit against maxpool2x2_backward followed by
 * the same kernels without POOL (the plain path), and against the float64 reference (the pool's
 * backward, then the conv's gradients). The argmax comes from maxpool2x2_forward on a conv output
 * full of ties (values on a coarse grid: PyTorch's rule as the engine keeps it, the first maximum
 * in row-major window order), with NaNs (a window's choice is its NaN) and −0 beside +0; the
 * pool's gradient holds −0 and NaN too. Shapes: the seed CNN's convblock3 at batch 3; a plane of
 * one 2 × 8 window row; 5 and 13 input channels (partial 4-channel groups), 3 and 7 output
 * channels (channel tiles with channels past the layer's); workgroups of 32; a weight gradient on
 * a width of 12 (quads, not octets); splits across images. With the ReLU mask (input gradient),
 * the bias's sums (weight gradient), dy shared in subgroups and not. And what they refuse: widths
 * and heights that leave cells past the windows (odd planes), and the kernels compiled for the
 * full gradient.
 */
import { describe, expect } from 'vitest';
import { recordPass } from '../../src/gpu/context.js';
import {
  POINTWISE_TAPS,
  allocateConvPacked,
  bindConv2d,
  conv2dBackwardWeightKernel,
  conv2dParams,
  conv2dWeightParams,
  conv2dWeightSplits,
  conv2dWeightVariant,
  pointwiseInputTile,
  pooledGradientProblem,
  type Conv2dShape,
  type WeightTile,
} from '../../src/kernels/conv2d.js';
import { maxpool2x2Backward, maxpool2x2Forward, maxpoolVariant } from '../../src/kernels/pooling.js';
import { conv2dBackwardInputRef, conv2dBackwardWeightRef } from '../../src/reference/conv2d.js';
import { maxPool2x2ForwardRef, maxPoolBackwardRef } from '../../src/reference/pooling.js';
import { TOLERANCE, bitDifferences, expectAllClose, randomArray, reluOutput } from '../helpers/allclose.js';
import { gpuTest } from '../helpers/gpu.js';

const pointwise = (s: Omit<Conv2dShape, 'kernelH' | 'kernelW' | 'stride' | 'padding'>): Conv2dShape => ({ ...s, kernelH: 1, kernelW: 1, stride: 1, padding: 0 });

interface Case {
  readonly shape: Conv2dShape;
  /** The pointwise weight tile's output channels, rows a split and workgroup. */
  readonly weight: Pick<WeightTile, 'channels' | 'rows' | 'workgroup'>;
  /** The input gradient's workgroup; none: the input gradient is not run (a width of 4k, not 8k). */
  readonly input?: number;
}

const CASES: readonly Case[] = [
  // The seed CNN's convblock3 at batch 3: 10 channels in a tile of 12, splits of 2 images.
  { shape: pointwise({ batch: 3, inChannels: 32, height: 24, width: 24, outChannels: 10 }), weight: { channels: 12, rows: 48, workgroup: 64 }, input: 64 },
  // One row of 4 windows a plane; 5 input channels (a partial group, 2 groups in 8 slots); 7 output channels in a tile of 8; 3 rows a split across images of 2.
  { shape: pointwise({ batch: 3, inChannels: 5, height: 2, width: 8, outChannels: 7 }), weight: { channels: 8, rows: 3, workgroup: 64 }, input: 32 },
  // 16 × 6 planes; 13 input channels; 3 output channels in a tile of 4; workgroups of 32.
  { shape: pointwise({ batch: 2, inChannels: 13, height: 6, width: 16, outChannels: 3 }), weight: { channels: 4, rows: 5, workgroup: 32 }, input: 32 },
  // A width of 12: the weight gradient's quads of whole windows (the input gradient's octets do not fit it).
  { shape: pointwise({ batch: 2, inChannels: 6, height: 4, width: 12, outChannels: 9 }), weight: { channels: 16, rows: 3, workgroup: 64 } },
];

/** A conv output full of ties: values on a grid of quarters, with NaNs, −0 and +0 among them. */
function tiedOutput(n: number, seed: number): Float32Array {
  const v = Float32Array.from(randomArray(n, seed), (x) => Math.round(x * 4) / 4);
  for (let i = 5; i < n; i += 37) v[i] = Number.NaN;
  for (let i = 2; i < n; i += 9) v[i] = -0;
  return v;
}

/** The pool's gradient with −0 among random values, and NaNs in the first plane (`plane` windows: image 0's channel 0, so the other channels' weights stay finite). */
function poolGradient(n: number, seed: number, plane: number): Float32Array {
  const v = Float32Array.from(randomArray(n, seed));
  for (let i = 3; i < n; i += 17) v[i] = -0;
  for (let i = 1; i < plane; i += 3) v[i] = Number.NaN;
  return v;
}

describe('the max pool\'s backward folded into the pointwise gradients (POOL)', () => {
  CASES.forEach((c, n) => {
    const s = c.shape;
    gpuTest(`batch ${s.batch}, ${s.inChannels}→${s.outChannels} channels, ${s.height}×${s.width}${c.input ? '' : ' (weight gradient only)'}`, async (ctx) => {
      const p = conv2dParams(s);
      const [H2, W2] = [s.height / 2, s.width / 2];
      const [inputs, outputs, windows] = [s.batch * s.inChannels * s.height * s.width, s.batch * s.outChannels * s.height * s.width, s.batch * s.outChannels * H2 * W2];
      const poolP = { planes: s.batch * s.outChannels, height: s.height, width: s.width };
      // The argmax as the forward writes it, of an output full of ties.
      const y = ctx.tensor('conv output', [outputs], { data: tiedOutput(outputs, 50 + n) });
      const pooled = ctx.tensor('pooled', [windows]);
      const argmax = ctx.tensor('argmax', [windows], { dtype: 'u32' });
      const gData = poolGradient(windows, 60 + n, H2 * W2);
      const g = ctx.tensor('pool gradient', [windows], { data: gData });
      const dyFull = ctx.tensor('dy (maxpool2x2_backward)', [outputs]);
      const variant = maxpoolVariant(poolP);
      const pool = [
        (await ctx.compile(maxpool2x2Forward, variant)).bind({ x: y, y: pooled, argmax }, poolP),
        (await ctx.compile(maxpool2x2Backward, { ...variant, RELU: false })).bind({ dy: g, argmax, dx: dyFull }, poolP),
      ];
      ctx.submit('max pool', (e) => recordPass(e, 'max pool', pool));
      const [argmaxValues, dyValues] = await ctx.readMany([argmax, dyFull]);
      // The engine's tie rule (the first maximum in row-major window order, a NaN chosen), as the reference has it.
      expect(Array.from(argmaxValues!), 'argmax as the reference chooses').toEqual(Array.from(maxPool2x2ForwardRef(tiedOutput(outputs, 50 + n), s.batch, s.outChannels, s.height, s.width).argmax));
      const ties = (() => {
        const v = tiedOutput(outputs, 50 + n);
        let count = 0;
        for (let w = 0; w < windows; w++) {
          const plane = Math.floor(w / (H2 * W2));
          const top = (plane * s.height + 2 * Math.floor((w % (H2 * W2)) / W2)) * s.width + 2 * (w % W2);
          const four = [v[top]!, v[top + 1]!, v[top + s.width]!, v[top + s.width + 1]!];
          if (four.filter((x) => x === Math.max(...four)).length > 1) count++;
        }
        return count;
      })();
      expect(ties, 'windows with tied maxima').toBeGreaterThan(0);
      const dyRef = maxPoolBackwardRef(gData, argmaxValues!, outputs);

      // The weight gradient: partial sums bit for bit, POOL against the full dy, at one split.
      const tile: WeightTile = { ...c.weight, taps: POINTWISE_TAPS, pointwise: true };
      const wp = conv2dWeightParams(p, tile, ctx.adapter.subgroupSize);
      const splits = conv2dWeightSplits(wp);
      const weights = s.outChannels * s.inChannels;
      const xData = Float32Array.from(randomArray(inputs, 70 + n));
      const x = ctx.tensor('x', [inputs], { data: xData });
      const [want, got] = [ctx.tensor('partial (full dy)', [splits * weights]), ctx.tensor('partial (POOL)', [splits * weights])];
      const [wantBias, gotBias] = [ctx.tensor('bias partial (full dy)', [splits * s.outChannels]), ctx.tensor('bias partial (POOL)', [splits * s.outChannels])];
      const sharing = ctx.adapter.subgroupSize === 8 ? [true, false] : [false];
      const expectedWeight = conv2dBackwardWeightRef(dyRef, xData, s);
      for (const shared of sharing) {
        for (const bias of [false, true]) {
          const label = `${shared ? 'dy shared' : 'dy loaded by each invocation'}${bias ? ', BIAS' : ''}`;
          for (const t of [want, got]) ctx.fill(t, NaN);
          for (const t of [wantBias, gotBias]) ctx.fill(t, NaN);
          const plain = { ...conv2dWeightVariant(wp, tile, ctx.adapter.subgroupSize, bias), DY_SHARED: shared };
          const folded = conv2dWeightVariant(wp, tile, ctx.adapter.subgroupSize, bias, true);
          expect(folded.POOL && folded.DY_VEC2 && !folded.DY_VEC4, 'POOL reads vec2s').toBe(true);
          const list = [
            (await ctx.compile(conv2dBackwardWeightKernel(tile), plain)).bind({ x, dy: dyFull, partial: want, ...(bias ? { biasPartial: wantBias } : {}) }, wp),
            (await ctx.compile(conv2dBackwardWeightKernel(tile, p, true), { ...folded, DY_SHARED: shared })).bind({ x, dy: g, argmax, partial: got, ...(bias ? { biasPartial: gotBias } : {}) }, wp),
          ];
          ctx.submit(label, (e) => recordPass(e, label, list));
          const [a, b, ab, bb] = await ctx.readMany([want, got, wantBias, gotBias]);
          expect(bitDifferences(b as Float32Array, a as Float32Array), `${label}: partial sums bit for bit`).toEqual([]);
          if (bias) expect(bitDifferences(bb as Float32Array, ab as Float32Array), `${label}: the bias's partial sums bit for bit`).toEqual([]);
          // Against float64 where no NaN reaches the sums (a NaN in the pool's gradient poisons its channel).
          const reduced = new Float64Array(weights);
          for (let k = 0; k < splits; k++) for (let e = 0; e < weights; e++) reduced[e] = reduced[e]! + (b as Float32Array)[k * weights + e]!;
          const finite = Array.from(expectedWeight.keys()).filter((e) => !Number.isNaN(expectedWeight[e]!));
          expect(finite.length, 'the weights of the channels without a NaN').toBe(weights - s.inChannels);
          expectAllClose(`${label}: against float64`, finite.map((e) => reduced[e]!), finite.map((e) => expectedWeight[e]!), TOLERANCE.gradient);
        }
      }

      if (c.input === undefined) {
        expect(pooledGradientProblem(p), 'the input gradient takes octets of whole windows').toMatch(/not a multiple of 8/);
        return;
      }
      // The input gradient: dx bit for bit, POOL against the full dy, with and without the ReLU mask.
      const wData = Float32Array.from(randomArray(weights, 80 + n));
      const weight = ctx.tensor('weight', [weights], { data: wData });
      const inTile = { ...pointwiseInputTile(p), workgroup: c.input };
      const packed = allocateConvPacked(ctx, 'pointwise', p, 'input', inTile);
      const mask = ctx.tensor('relu output', [inputs], { data: reluOutput(inputs, 90 + n) });
      const [dxWant, dxGot] = [ctx.tensor('dx (full dy)', [inputs]), ctx.tensor('dx (POOL)', [inputs])];
      const expectedInput = conv2dBackwardInputRef(dyRef, wData, s);
      for (const relu of [false, true]) {
        const label = relu ? 'with the ReLU mask' : 'dx';
        for (const t of [dxWant, dxGot]) ctx.fill(t, NaN);
        const reluOutputT = relu ? mask : undefined;
        const list = [
          ...(await bindConv2d(ctx, p, packed, { input: dyFull, weight, output: dxWant, reluOutput: reluOutputT }, { label: 'full dy' })),
          ...(await bindConv2d(ctx, p, packed, { input: g, weight, output: dxGot, argmax, reluOutput: reluOutputT }, { label: 'POOL', pack: false })),
        ];
        ctx.submit(label, (e) => recordPass(e, label, list));
        const [a, b] = await ctx.readMany([dxWant, dxGot]);
        expect(bitDifferences(b as Float32Array, a as Float32Array), `${label}: bit for bit`).toEqual([]);
        if (!relu) {
          const finite = Array.from(expectedInput.keys()).filter((i) => !Number.isNaN(expectedInput[i]!));
          expect(finite.length).toBeGreaterThan(inputs / 2);
          expectAllClose(`${label}: against float64`, finite.map((i) => (b as Float32Array)[i]!), finite.map((i) => expectedInput[i]!), TOLERANCE.gradient);
        }
      }
      expect(Array.from(dyValues!).some((v) => Object.is(v, -0)), 'a −0 chosen').toBe(true);
    });
  });

  gpuTest('refused: cells past the windows (odd planes), a width the octets or quads do not fill, the kernels compiled for the full gradient', async (ctx) => {
    const shape = (height: number, width: number) => conv2dParams(pointwise({ batch: 2, inChannels: 8, height, width, outChannels: 4 }));
    expect(pooledGradientProblem(shape(24, 24))).toBeUndefined();
    expect(pooledGradientProblem(shape(23, 24))).toMatch(/height 23 is odd/);
    expect(pooledGradientProblem(shape(24, 23))).toMatch(/width 23/);
    expect(pooledGradientProblem(shape(24, 12))).toMatch(/width 12 is not a multiple of 8/);
    const tile: WeightTile = { channels: 4, rows: 2, taps: POINTWISE_TAPS, workgroup: 64, pointwise: true };
    for (const [h, w, why] of [[7, 8, /height 7 is odd/], [8, 10, /width 10 is not a multiple of 4/]] as const) {
      const wp = conv2dWeightParams(shape(h, w), tile, 8);
      await expect(ctx.compile(conv2dBackwardWeightKernel(tile, undefined, true), conv2dWeightVariant(wp, tile, ctx.adapter.subgroupSize, false, true)).then((k) => k.bind({ x: ctx.tensor('x', [2 * 8 * h * w]), dy: ctx.tensor('g', [2 * 4 * Math.floor(h / 2) * Math.floor(w / 2)]), argmax: ctx.tensor('a', [2 * 4 * Math.floor(h / 2) * Math.floor(w / 2)], { dtype: 'u32' }), partial: ctx.tensor('p', [conv2dWeightSplits(wp) * 32]) }, wp))).rejects.toThrow(why);
    }
    const wp = conv2dWeightParams(shape(8, 8), tile, 8);
    const bindings = { x: ctx.tensor('x', [2 * 8 * 64]), dy: ctx.tensor('dy', [2 * 4 * 64]), argmax: ctx.tensor('a', [2 * 4 * 16], { dtype: 'u32' }), partial: ctx.tensor('p', [conv2dWeightSplits(wp) * 32]) };
    await expect(ctx.compile(conv2dBackwardWeightKernel(tile), conv2dWeightVariant(wp, tile, ctx.adapter.subgroupSize, false, true)).then((k) => k.bind(bindings, wp))).rejects.toThrow(/compiled for the full gradient/);
    expect(() => conv2dWeightVariant(wp, { taps: 9 }, 8, false, true)).toThrow(/only a pointwise tile/);
    expect(() => conv2dBackwardWeightKernel({ channels: 16, taps: 9, workgroup: 64 }, undefined, true)).toThrow(/only a pointwise tile/);
  });
});
