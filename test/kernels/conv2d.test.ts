/**
 * conv2d_forward (and its RELU variant) and conv2d_backward_input, fed by conv2d_pack_weights, for
 * the default tile and other tiles, and the weight-gradient pair conv2d_backward_weight +
 * conv2d_backward_weight_reduce against the float64 reference.
 */
import { describe, expect, test } from 'vitest';
import { recordPass } from '../../src/gpu/context.js';
import {
  allocateConvPacked,
  bindConv2d,
  conv2dBackwardWeight,
  conv2dBackwardWeightKernel,
  bindConvReduction,
  conv2dKernel,
  conv2dParams,
  convSlices,
  convVectors,
  defaultConvTile,
  defaultWeightTile,
  describeWeightTile,
  gpuWeightTiles,
  type ConvTile,
  conv2dSplitPixels,
  conv2dWeightSplits,
  conv2dWeightParams,
  conv2dWeightVariant,
  convStatsSlots,
  poolTile,
  type Conv2dShape,
} from '../../src/kernels/conv2d.js';
import { candidateWeightTiles, tileFits } from '../../src/tune/tuner.js';
import { conv2dBackwardInputRef, conv2dBackwardWeightRef, conv2dForwardRef } from '../../src/reference/conv2d.js';
import { reluForwardRef } from '../../src/reference/relu.js';
import { maxPool2x2ForwardRef } from '../../src/reference/pooling.js';
import { TOLERANCE, expectAllClose, f32, randomArray } from '../helpers/allclose.js';
import { gpuTest } from '../helpers/gpu.js';

/** The register tile of the declared conv2d_backward_weight (conv2dBackwardWeight). */
const DECLARED_WEIGHT_TILE = { channels: 16, taps: 18, workgroup: 64 };

interface Case extends Conv2dShape {
  /** Target pixels per weight-gradient split (small ones force several splits). */
  readonly splitTarget?: number;
  /** The weight gradient must be split at least this many times. */
  readonly minSplits?: number;
  /** The forward's produced channels must take at least this many uniform slices. */
  readonly minSlices?: number;
  /** Also run the other TILES (each tile is a pipeline to compile: seconds on a cold lavapipe cache). */
  readonly tiles?: boolean;
  /** Weight-gradient register tiles (channels, taps, shareDy) to hold to the declared tile's bits. */
  readonly weightTiles?: readonly (readonly [number, number, boolean?])[];
}

/** Tiles tried besides each direction's default: other rows, channel counts and workgroup sizes. */
const TILES: readonly ConvTile[] = [
  { rows: 1, channels: 4, workgroup: 13 },
  { rows: 3, channels: 8, workgroup: 64 },
  { rows: 2, channels: 32, workgroup: 128 },
];

// Batch 1, one channel, odd sizes (pixel counts not multiples of the 64-wide workgroup), padding
// 0 and 1 (more for the larger kernels), stride 1 and 2, kernels 1×1, 3×3, 2×3, 3×2, 5×5, 7×7
// and 12×12, channel counts that are not multiples of the 16-channel tile and above it. Forward
// and backward-input stage the weights of 576 / (4·KH·KW) channels at a time (16 for a 3×3, 5
// for a 5×5), so 17 and 33 channels take several chunks. Small split targets force the weight
// gradient into several splits.
const CASES: readonly Case[] = [
  { batch: 1, inChannels: 1, height: 1, width: 1, outChannels: 1, kernelH: 1, kernelW: 1, stride: 1, padding: 0 },
  { batch: 1, inChannels: 1, height: 5, width: 7, outChannels: 1, kernelH: 3, kernelW: 3, stride: 1, padding: 1 },
  { batch: 2, inChannels: 3, height: 7, width: 9, outChannels: 10, kernelH: 3, kernelW: 3, stride: 2, padding: 1 },
  { batch: 3, inChannels: 17, height: 6, width: 5, outChannels: 33, kernelH: 3, kernelW: 3, stride: 1, padding: 1, splitTarget: 64, minSplits: 2, tiles: true, weightTiles: [[4, 9], [12, 18], [16, 9, true], [8, 18, true]] },
  { batch: 2, inChannels: 10, height: 9, width: 8, outChannels: 17, kernelH: 2, kernelW: 3, stride: 1, padding: 0, splitTarget: 64, minSplits: 2 },
  { batch: 2, inChannels: 33, height: 5, width: 5, outChannels: 3, kernelH: 1, kernelW: 1, stride: 2, padding: 0 },
  { batch: 1, inChannels: 3, height: 8, width: 11, outChannels: 17, kernelH: 3, kernelW: 2, stride: 2, padding: 1, tiles: true },
  { batch: 4, inChannels: 3, height: 11, width: 13, outChannels: 5, kernelH: 3, kernelW: 3, stride: 1, padding: 1, splitTarget: 64, minSplits: 9 },
  { batch: 5, inChannels: 1, height: 12, width: 12, outChannels: 16, kernelH: 3, kernelW: 3, stride: 1, padding: 0, splitTarget: 128, minSplits: 4 },
  { batch: 1, inChannels: 33, height: 7, width: 6, outChannels: 33, kernelH: 5, kernelW: 5, stride: 1, padding: 2 },
  { batch: 2, inChannels: 3, height: 9, width: 8, outChannels: 5, kernelH: 7, kernelW: 7, stride: 2, padding: 3 },
  { batch: 1, inChannels: 2, height: 12, width: 13, outChannels: 3, kernelH: 12, kernelW: 12, stride: 1, padding: 0 },
  // 64 input channels × 9 taps: a 16-channel tile's packed weights fill a uniform binding with 16
  // channels at most (64·9·16·4 = 36,864 bytes; 32 channels would be 73,728), so 33 output
  // channels take 3 slices.
  { batch: 2, inChannels: 64, height: 5, width: 6, outChannels: 33, kernelH: 3, kernelW: 3, stride: 1, padding: 1, minSlices: 3, tiles: true },
  // Widths that are multiples of 4 (vec4 loads and stores, both directions), with padding 1 and
  // 2: vectors that start left of the row (all padding) and straddle no row end.
  { batch: 2, inChannels: 5, height: 6, width: 8, outChannels: 9, kernelH: 3, kernelW: 3, stride: 1, padding: 1, tiles: true },
  { batch: 1, inChannels: 3, height: 5, width: 12, outChannels: 6, kernelH: 5, kernelW: 5, stride: 1, padding: 2, weightTiles: [[8, 18, true]] },
  { batch: 2, inChannels: 7, height: 3, width: 12, outChannels: 6, kernelH: 1, kernelW: 1, stride: 1, padding: 0, weightTiles: [[4, 18], [12, 9], [8, 18, true]] },
  // The weight gradient's vector variants: dy as vec4s with x as vec2s (two channel tiles, several
  // splits), and dy as vec2s with x as vec2s at padding 2.
  { batch: 2, inChannels: 4, height: 7, width: 10, outChannels: 18, kernelH: 3, kernelW: 3, stride: 1, padding: 0, splitTarget: 16, minSplits: 2 },
  { batch: 1, inChannels: 2, height: 6, width: 8, outChannels: 5, kernelH: 3, kernelW: 3, stride: 1, padding: 2 },
  // x as vec4s in the 3×3 windows at padding 4 (whole vectors of padding left of the row); a 1×1
  // with x and dy as vec2s, and a last tap group of 2 channels, its splits 8 rows (the 1×1 path
  // takes a split's quads row by row, across the end of an image).
  { batch: 1, inChannels: 2, height: 5, width: 8, outChannels: 3, kernelH: 3, kernelW: 3, stride: 1, padding: 4 },
  { batch: 2, inChannels: 20, height: 5, width: 6, outChannels: 3, kernelH: 1, kernelW: 1, stride: 1, padding: 0, splitTarget: 48, minSplits: 2 },
  // 16 input channels × 9 taps = 8 tap groups: dy shared in subgroups of 8 (DY_SHARED, where the
  // device's subgroups are 8 wide), with two channel tiles (the second partial) and several
  // splits, dy as vec4s; and one tile of 5 channels with dy as scalars (a 7-wide output).
  { batch: 2, inChannels: 16, height: 10, width: 10, outChannels: 20, kernelH: 3, kernelW: 3, stride: 1, padding: 0, splitTarget: 16, minSplits: 2, weightTiles: [[8, 9], [16, 9]] },
  { batch: 1, inChannels: 16, height: 7, width: 7, outChannels: 5, kernelH: 3, kernelW: 3, stride: 1, padding: 1 },
  // Many channels summed: the default tile narrows so its packed weights fit a uniform binding
  // (130·9 = 1,170 floats a channel: 12 channels a tile forward; 300·9 = 2,700 in the input
  // gradient: 4). A 16-channel default refused both (Conv2d(128, 128, 3) included).
  { batch: 1, inChannels: 130, height: 4, width: 5, outChannels: 20, kernelH: 3, kernelW: 3, stride: 1, padding: 1 },
  { batch: 2, inChannels: 3, height: 5, width: 4, outChannels: 300, kernelH: 3, kernelW: 3, stride: 1, padding: 1 },
];

const describeCase = (c: Case) =>
  `batch ${c.batch}, ${c.inChannels}→${c.outChannels} channels, ${c.height}×${c.width}, kernel ${c.kernelH}×${c.kernelW}, stride ${c.stride}, padding ${c.padding}` +
  (c.splitTarget ? `, split target ${c.splitTarget}` : '');

describe('conv2d vector loads and stores', () => {
  const seed = (height: number, inChannels: number, outChannels: number, kernel: number, padding = 0, stride = 1) =>
    conv2dParams({ batch: 128, inChannels, height, width: height, outChannels, kernelH: kernel, kernelW: kernel, stride, padding });

  test('are the widest the widths allow, loads only at stride 1', () => {
    // convblock2: x 26 wide (vec2 loads), y 24 wide (vec4 stores); its input gradient the reverse.
    expect(convVectors(seed(26, 16, 32, 3), 'forward')).toEqual({ input: 2, output: 4 });
    expect(convVectors(seed(26, 16, 32, 3), 'input')).toEqual({ input: 4, output: 2 });
    // convblock7: 6 wide, padding 1.
    expect(convVectors(seed(6, 16, 16, 3, 1), 'forward')).toEqual({ input: 2, output: 2 });
    // Odd widths: scalars; stride 2: scalar loads (the columns a block reads are not consecutive).
    expect(convVectors(seed(7, 3, 5, 3, 1), 'forward')).toEqual({ input: 1, output: 1 });
    expect(convVectors(seed(16, 3, 5, 3, 1, 2), 'forward')).toEqual({ input: 1, output: 4 });
  });

  test('the weight gradient reads dy and x as the widest vectors the widths allow (x only where read whole)', () => {
    const variant = (x: 0 | 2 | 4, dy: 0 | 2 | 4) => ({ X_VEC4: x === 4, X_VEC2: x === 2, DY_VEC4: dy === 4, DY_VEC2: dy === 2, DY_SHARED: false, BIAS: false, POOL: false, NORM_MASK: false });
    const taps = { taps: 18 };
    expect(conv2dWeightVariant(seed(26, 16, 32, 3), taps)).toEqual(variant(2, 4));
    expect(conv2dWeightVariant(seed(28, 1, 16, 3), taps)).toEqual(variant(4, 2));
    // convblock7: padding 1, so its windows start on odd columns.
    expect(conv2dWeightVariant(seed(6, 16, 16, 3, 1), taps)).toEqual(variant(0, 2));
    // A 1×1 reads its own pixels; at stride 2, one component a load (no vectors for x).
    expect(conv2dWeightVariant(seed(24, 32, 10, 1), taps)).toEqual(variant(4, 4));
    expect(conv2dWeightVariant(seed(24, 32, 10, 1, 0, 2), taps)).toEqual(variant(0, 4));
    expect(conv2dWeightVariant(seed(7, 3, 5, 3, 1), taps)).toEqual(variant(0, 0));
    // A layer with a bias asks for its partial sums too (BIAS); nothing else changes.
    expect(conv2dWeightVariant(seed(26, 16, 32, 3), taps, undefined, true)).toEqual({ ...variant(2, 4), BIAS: true });
  });

  test('the weight gradient shares dy in subgroups of 8 where the tap groups come in eights', () => {
    // convblock2 and convblock5: 16 channels × 9 taps = 8 groups of 18 or 16 of 9; convblock4:
    // 10 × 9 = 5 groups of 18 or 10 of 9.
    for (const taps of [{ taps: 18 }, { taps: 9 }]) {
      expect(conv2dWeightVariant(seed(26, 16, 32, 3), taps, 8)).toEqual({ X_VEC4: false, X_VEC2: true, DY_VEC4: true, DY_VEC2: false, DY_SHARED: true, BIAS: false, POOL: false, NORM_MASK: false });
      expect(conv2dWeightVariant(seed(10, 16, 16, 3), taps, 8).DY_SHARED).toBe(true);
      expect(conv2dWeightVariant(seed(12, 10, 16, 3), taps, 8).DY_SHARED).toBe(false);
      // Without subgroups, or with another size: no sharing.
      expect(conv2dWeightVariant(seed(26, 16, 32, 3), taps).DY_SHARED).toBe(false);
      expect(conv2dWeightVariant(seed(26, 16, 32, 3), taps, 32).DY_SHARED).toBe(false);
    }
    // 8 input channels × 9 taps: 4 groups of 18, 8 of 9.
    expect(conv2dWeightVariant(seed(10, 8, 16, 3), { taps: 18 }, 8).DY_SHARED).toBe(false);
    expect(conv2dWeightVariant(seed(10, 8, 16, 3), { taps: 9 }, 8).DY_SHARED).toBe(true);
  });

  test('the weight gradient\'s default register tile: 9 taps for a 3×3 kernel, the fewest channels that hold a layer\'s up to 16', () => {
    expect(defaultWeightTile(seed(26, 16, 32, 3))).toMatchObject({ channels: 16, taps: 9, workgroup: 64 });
    expect(defaultWeightTile(seed(24, 32, 10, 1))).toMatchObject({ channels: 12, taps: 18 });
    expect(defaultWeightTile(seed(9, 3, 5, 5))).toMatchObject({ channels: 8, taps: 18 });
    // convblock2: 16 tap groups × 2 channel tiles = 32 invocations a split, 16 splits for about 512.
    expect(defaultWeightTile(seed(26, 16, 32, 3)).rows).toBe((128 * 24) / 16);
    expect(() => conv2dBackwardWeightKernel({ channels: 6, taps: 9, workgroup: 64 })).toThrow(/6 channels a tile, expected one of 4, 8, 12, 16/);
    expect(() => conv2dBackwardWeightKernel({ channels: 8, taps: 12, workgroup: 64 })).toThrow(/12 taps a tile, expected one of 9, 18/);
  });

  gpuTest('a variant is refused where the widths do not allow it', async (ctx) => {
    // 56 and 112 elements: whole vec4s, so what refuses the variant is the width.
    const p = conv2dParams({ batch: 1, inChannels: 2, height: 4, width: 7, outChannels: 4, kernelH: 3, kernelW: 3, stride: 1, padding: 1 });
    const tile = defaultConvTile(p, 'forward');
    const packed = allocateConvPacked(ctx, 'w', p, 'forward', tile);
    const tensors = { x: ctx.tensor('x', [2 * 4 * 7]), weight: packed.tensor(0), y: ctx.tensor('y', [4 * 4 * 7]) };
    const params = { ...p, channelBase: 0, channelCount: 4, rowVec4s: packed.slices[0]!.rowLength / 4, statsSlots: 0 };
    const wide = await ctx.compile(conv2dKernel(p, 'forward', tile), { IN_VEC4: true });
    expect(() => wide.bind(tensors, params)).toThrow(/variant IN_VEC4 cannot run these parameters: the input width 7 is not a multiple of 4/);
    const half = await ctx.compile(conv2dKernel(p, 'forward', tile), { OUT_VEC2: true });
    expect(() => half.bind(tensors, params)).toThrow(/variant OUT_VEC2 cannot run these parameters: the output width 7 is not a multiple of 2/);
    const plain = await ctx.compile(conv2dKernel(p, 'forward', tile));
    expect(() => plain.bind(tensors, params)).not.toThrow();

    // The weight gradient's tap-group slots: 2 × 9 taps in 2 groups of 9, so DY_SHARED needs them
    // padded (shareDy), and fewer slots than groups would leave taps without an invocation.
    const wtile = { rows: 4, channels: 4, taps: 9, workgroup: 64 };
    const wtensors = { x: tensors.x, dy: ctx.tensor('dy', [4 * 4 * 7]), partial: ctx.tensor('partial', [72]) };
    if (ctx.adapter.subgroupSize === 8) {
      const shared = await ctx.compile(conv2dBackwardWeightKernel(wtile), { DY_SHARED: true });
      expect(() => shared.bind(wtensors, conv2dWeightParams(p, wtile, 8))).toThrow(/variant DY_SHARED cannot run these parameters: its 2 tap-group slots are not a multiple of 8/);
      expect(() => shared.bind(wtensors, conv2dWeightParams(p, { ...wtile, shareDy: true }, 8))).not.toThrow();
    }
    const weight = await ctx.compile(conv2dBackwardWeightKernel(wtile));
    expect(() => weight.bind(wtensors, { ...conv2dWeightParams(p, wtile), tapSlots: 1 })).toThrow(/tapSlots 1, expected at least the layer's 2 tap groups of 9/);
  });
});

describe('conv2d default tiles', () => {
  const layer = (inChannels: number, outChannels: number, k: number) => conv2dParams({ batch: 1, inChannels, height: 16, width: 16, outChannels, kernelH: k, kernelW: k, stride: 1, padding: 1 });
  test('fit a uniform binding wherever 4 channels do (reduce channels × taps ≤ 4096): common wide layers build', () => {
    for (const [cin, cout, k] of [[64, 128, 3], [128, 128, 3], [128, 256, 3], [256, 256, 3], [32, 64, 5], [64, 64, 5], [455, 16, 3]] as const) {
      for (const direction of ['forward', 'input'] as const) {
        const p = layer(cin, cout, k);
        const tile = defaultConvTile(p, direction);
        expect(() => convSlices(p, direction, tile), `${cin}→${cout} ${k}×${k} ${direction}`).not.toThrow();
      }
    }
    expect(defaultConvTile(layer(128, 128, 3), 'forward').channels).toBe(12);
    expect(defaultConvTile(layer(16, 32, 3), 'forward').channels).toBe(16);
    const p = layer(128, 128, 3);
    expect(() => convSlices(p, 'forward', { rows: 4, channels: 16, workgroup: 64 })).toThrow('the forward supports input channels × taps ≤ 1024 with 16 tile channels (≤ 4096 with 4, the fewest)');
  });

  test('beyond that, the error says what fits', () => {
    const p = layer(512, 512, 3);
    expect(() => convSlices(p, 'forward', defaultConvTile(p, 'forward'))).toThrow(
      'conv2d: 512 channels × 3×3 taps × 4 tile channels of packed weights exceed 65536 bytes (a uniform binding): the forward supports input channels × taps ≤ 4096 (with 4 tile channels, the fewest)',
    );
  });
});

describe('conv2d kernels', () => {
  CASES.forEach((c, n) => {
    gpuTest(describeCase(c), async (ctx) => {
      const shape: Conv2dShape = { ...c };
      const p = conv2dParams(shape);
      const splitPixels = conv2dSplitPixels(p, c.splitTarget);
      const wp = conv2dWeightParams(p, { ...DECLARED_WEIGHT_TILE, rows: splitPixels / p.outWidth }, ctx.adapter.subgroupSize);
      const splits = conv2dWeightSplits(wp);
      if (c.minSplits) expect(splits, 'weight-gradient splits').toBeGreaterThanOrEqual(c.minSplits);
      const { batch, inChannels, height, width, outChannels, kernelH, kernelW, outHeight, outWidth } = p;
      const weightLength = outChannels * inChannels * kernelH * kernelW;

      const x = f32(randomArray(batch * inChannels * height * width, 100 + n));
      const w = f32(randomArray(weightLength, 200 + n));
      const dy = f32(randomArray(batch * outChannels * outHeight * outWidth, 300 + n));
      const tx = ctx.tensor('x', [batch, inChannels, height, width], { data: x });
      const tw = ctx.tensor('w', [outChannels, inChannels, kernelH, kernelW], { data: w });
      const tdy = ctx.tensor('dy', [batch, outChannels, outHeight, outWidth], { data: dy });
      const ty = ctx.tensor('y', [batch, outChannels, outHeight, outWidth]);
      const tyRelu = ctx.tensor('y (RELU variant)', [batch, outChannels, outHeight, outWidth]);
      const tdx = ctx.tensor('dx', [batch, inChannels, height, width]);
      const tpartial = ctx.tensor('partial', [splits, outChannels, inChannels, kernelH, kernelW]);
      const tdw = ctx.tensor('dw', [outChannels, inChannels, kernelH, kernelW]);
      for (const t of [ty, tyRelu, tdx, tpartial, tdw]) ctx.fill(t, NaN);

      const forwardTile = defaultConvTile(p, 'forward');
      if (c.minSlices) expect(convSlices(p, 'forward', forwardTile).length, 'forward slices').toBeGreaterThanOrEqual(c.minSlices);
      const packedForward = allocateConvPacked(ctx, 'w', p, 'forward', forwardTile);
      const packedInput = allocateConvPacked(ctx, 'w', p, 'input', defaultConvTile(p, 'input'));
      const kernels = [
        ...(await bindConv2d(ctx, p, packedForward, { input: tx, weight: tw, output: ty })),
        ...(await bindConv2d(ctx, p, packedForward, { input: tx, weight: tw, output: tyRelu }, { relu: true })),
        ...(await bindConv2d(ctx, p, packedInput, { input: tdy, weight: tw, output: tdx })),
        (await ctx.compile(conv2dBackwardWeight, conv2dWeightVariant(p, DECLARED_WEIGHT_TILE, ctx.adapter.subgroupSize))).bind({ x: tx, dy: tdy, partial: tpartial }, wp),
        await bindConvReduction(ctx, [{ partial: tpartial, dweight: tdw, length: weightLength, splits }], 'reduce'),
      ];
      ctx.submit('conv2d test', (e) => recordPass(e, 'conv2d test', kernels));

      // The forward output is a sum of up to Cin·KH·KW (825 here) products, like a gradient, and
      // may cancel to near 0 where the forward preset's 1e-6 absolute is less than the f32
      // rounding of the sum: the gradient preset.
      const yRef = conv2dForwardRef(x, w, shape);
      expectAllClose('conv2d_forward y', await ctx.read(ty), yRef, TOLERANCE.gradient);
      expectAllClose('conv2d_forward (RELU) y', await ctx.read(tyRelu), reluForwardRef(yRef), TOLERANCE.gradient);
      const dxRef = conv2dBackwardInputRef(dy, w, shape);
      expectAllClose('conv2d_backward_input dx', await ctx.read(tdx), dxRef, TOLERANCE.gradient);
      expectAllClose('conv2d_backward_weight(+reduce) dW', await ctx.read(tdw), conv2dBackwardWeightRef(dy, x, shape), TOLERANCE.gradient);

      // The vector loads and stores bound above (where the widths allow them), and the weights
      // shared in subgroups (where the device's are 8 wide), read the same values into the same
      // sums: the bits of the kernels with neither.
      const scalar = { input: 1, output: 1 } as const;
      const sharedWeights = ctx.adapter.subgroupSize === 8;
      for (const [direction, packed, input, output] of [['forward', packedForward, tx, ty], ['input', packedInput, tdy, tdx]] as const) {
        const vectors = convVectors(p, direction);
        if (vectors.input === 1 && vectors.output === 1 && !sharedWeights) continue;
        const vectored = await ctx.read(output);
        const relu = direction === 'forward' ? await ctx.read(tyRelu) : undefined;
        ctx.fill(output, NaN);
        const list = await bindConv2d(ctx, p, packed, { input, weight: tw, output }, { vectors: scalar, sharedWeights: false });
        if (relu) list.push(...(await bindConv2d(ctx, p, packed, { input, weight: tw, output: tyRelu }, { relu: true, vectors: scalar, sharedWeights: false })));
        ctx.submit('conv2d scalar test', (e) => recordPass(e, 'conv2d scalar test', list));
        expect(vectored, `${direction}: vec${vectors.input} loads, vec${vectors.output} stores${sharedWeights ? ', shared weights' : ''} against scalars`).toEqual(await ctx.read(output));
        if (relu) expect(relu, 'forward with ReLU: vectors against scalars').toEqual(await ctx.read(tyRelu));
      }
      const weightVariant = conv2dWeightVariant(p, DECLARED_WEIGHT_TILE, ctx.adapter.subgroupSize);
      if (ctx.adapter.subgroupSize === 8 && c.inChannels * c.kernelH * c.kernelW === 144) expect(weightVariant.DY_SHARED, 'dy shared in subgroups').toBe(true);
      if (Object.values(weightVariant).some(Boolean)) {
        const vectored = await ctx.read(tdw);
        ctx.fill(tdw, NaN);
        const list = [
          (await ctx.compile(conv2dBackwardWeight)).bind({ x: tx, dy: tdy, partial: tpartial }, wp),
          await bindConvReduction(ctx, [{ partial: tpartial, dweight: tdw, length: weightLength, splits }], 'reduce'),
        ];
        ctx.submit('conv2d weight scalar test', (e) => recordPass(e, 'conv2d weight scalar test', list));
        expect(vectored, `weight gradient ${JSON.stringify(weightVariant)} against scalars`).toEqual(await ctx.read(tdw));
      }

      // The weight gradient's other register tiles at the same split (on the cases that name them:
      // each is a pipeline to compile): the same sums in the same order (only which invocation
      // holds them changes), so the declared tile's bits.
      const dw0 = await ctx.read(tdw);
      for (const [channels, taps, shareDy] of c.weightTiles ?? []) {
        const tile = { channels, taps, workgroup: 64, rows: splitPixels / p.outWidth, shareDy };
        const variant = conv2dWeightVariant(p, tile, ctx.adapter.subgroupSize);
        // Padded tap groups (shareDy) where the adapter's subgroups are 8 invocations.
        if (shareDy && ctx.adapter.subgroupSize === 8) expect(variant.DY_SHARED, `tile ${JSON.stringify(tile)}: dy shared`).toBe(true);
        ctx.fill(tdw, NaN);
        const list = [
          (await ctx.compile(conv2dBackwardWeightKernel(tile), variant)).bind({ x: tx, dy: tdy, partial: tpartial }, conv2dWeightParams(p, tile, ctx.adapter.subgroupSize)),
          await bindConvReduction(ctx, [{ partial: tpartial, dweight: tdw, length: weightLength, splits }], 'reduce'),
        ];
        ctx.submit('conv2d weight register tile test', (e) => recordPass(e, 'conv2d weight register tile test', list));
        expect(await ctx.read(tdw), `weight gradient, ${channels} channels × ${taps} taps against 16 × 18`).toEqual(dw0);
      }

      // Every other tile that fits the kernel: the same sums in the same order, so the same values
      // (on the cases marked `tiles`: a 3×3 with channels off the tiles, a 3×2 at stride 2, and
      // one that takes several uniform slices).
      if (!c.tiles) return;
      const y0 = await ctx.read(ty);
      const dx0 = await ctx.read(tdx);
      for (const tile of TILES.filter((t) => tileFits(p, 'forward', t) && tileFits(p, 'input', t))) {
        ctx.fill(ty, NaN);
        ctx.fill(tdx, NaN);
        const f = allocateConvPacked(ctx, 'w', p, 'forward', tile);
        const i = allocateConvPacked(ctx, 'w', p, 'input', tile);
        const list = [...(await bindConv2d(ctx, p, f, { input: tx, weight: tw, output: ty })), ...(await bindConv2d(ctx, p, i, { input: tdy, weight: tw, output: tdx }))];
        ctx.submit('conv2d tile test', (e) => recordPass(e, 'conv2d tile test', list));
        expect(await ctx.read(ty), `forward, tile ${JSON.stringify(tile)}`).toEqual(y0);
        expect(await ctx.read(tdx), `input gradient, tile ${JSON.stringify(tile)}`).toEqual(dx0);
      }
      // The weight gradient's tuning candidates (rows per split, workgroup size), a hardware
      // GPU's many-split ones too: another split sums in another order, so each is held against
      // float64 again.
      const dwRef = conv2dBackwardWeightRef(dy, x, shape);
      for (const tile of [...candidateWeightTiles(p, ctx.adapter.subgroupSize), ...gpuWeightTiles(p, defaultWeightTile(p), ctx.adapter.subgroupSize)]) {
        const q = conv2dWeightParams(p, tile, ctx.adapter.subgroupSize);
        const part = ctx.tensor('partial', [conv2dWeightSplits(q) * weightLength]);
        ctx.fill(tdw, NaN);
        const list = [
          (await ctx.compile(conv2dBackwardWeightKernel(tile, p), conv2dWeightVariant(q, tile, ctx.adapter.subgroupSize))).bind({ x: tx, dy: tdy, partial: part }, q),
          await bindConvReduction(ctx, [{ partial: part, dweight: tdw, length: weightLength, splits: conv2dWeightSplits(q) }], 'reduce'),
        ];
        ctx.submit('conv2d weight tile test', (e) => recordPass(e, 'conv2d weight tile test', list));
        expectAllClose(`conv2d_backward_weight dW, ${describeWeightTile(tile)}`, await ctx.read(tdw), dwRef, TOLERANCE.gradient);
      }
    });
  });
});

// A hardware GPU's weight-gradient tiles (gpuWeightTiles: hundreds of splits where the default
// has 16) at the real size: convblock2 of the seed CNN at batch 128, 73,728 output pixels summed
// per weight, against float64 within the tuner's bound (1e-5 of the result's largest value).
gpuTest('a GPU\'s many-split weight-gradient tiles at convblock2\'s real size (batch 128) against float64', async (ctx) => {
  const p = conv2dParams({ batch: 128, inChannels: 16, height: 26, width: 26, outChannels: 32, kernelH: 3, kernelW: 3, stride: 1, padding: 0 });
  const shape: Conv2dShape = { batch: 128, inChannels: 16, height: 26, width: 26, outChannels: 32, kernelH: 3, kernelW: 3, stride: 1, padding: 0 };
  const x = f32(randomArray(128 * 16 * 26 * 26, 21));
  const dy = f32(randomArray(128 * 32 * 24 * 24, 22));
  const ref = conv2dBackwardWeightRef(dy, x, shape);
  const scale = Math.max(...ref.map(Math.abs));
  const weightLength = 32 * 16 * 9;
  const tiles = gpuWeightTiles(p, defaultWeightTile(p), ctx.adapter.subgroupSize);
  expect(tiles.map((t) => conv2dWeightSplits({ ...p, splitPixels: t.rows * p.outWidth }))).toEqual([220]);
  const scope = ctx.scoped(() => ({
    x: ctx.tensor('x', [x.length], { data: Float32Array.from(x) }),
    dy: ctx.tensor('dy', [dy.length], { data: Float32Array.from(dy) }),
    partial: ctx.tensor('partial', [220 * weightLength]),
    dw: ctx.tensor('dw', [weightLength]),
  }));
  const t = scope.value;
  try {
    for (const tile of tiles) {
      const q = conv2dWeightParams(p, tile, ctx.adapter.subgroupSize);
      ctx.fill(t.dw, NaN);
      const list = [
        (await ctx.compile(conv2dBackwardWeightKernel(tile, p), conv2dWeightVariant(q, tile, ctx.adapter.subgroupSize))).bind({ x: t.x, dy: t.dy, partial: t.partial }, q),
        await bindConvReduction(ctx, [{ partial: t.partial, dweight: t.dw, length: weightLength, splits: conv2dWeightSplits(q) }], 'reduce'),
      ];
      ctx.submit('conv2d GPU weight tile test', (e) => recordPass(e, 'conv2d GPU weight tile test', list));
      const got = await ctx.read(t.dw);
      let worst = 0;
      for (let i = 0; i < weightLength; i++) worst = Math.max(worst, Number.isNaN(got[i]!) ? Infinity : Math.abs(got[i]! - ref[i]!));
      expect(worst / scale, `${describeWeightTile(tile)}: worst error ${worst} of ${scale}`).toBeLessThan(1e-5);
      for (const d of list) d.destroy?.();
    }
  } finally {
    scope.destroy();
  }
}, 120_000);

describe('conv2d forward ReLU epilogue at NaN and ±∞', () => {
  // PyTorch's relu keeps a NaN (and its max_pool2d takes it): the epilogue's ReLU, as stored, as
  // the statistics read it and as the max pool reduces it, must too, where max(·, 0) would have
  // given 0 (lavapipe) or whatever a compiler makes of a NaN. Against the plain conv and the
  // reference's relu (Math.max: NaN to NaN) and max pool, bit for bit. Outputs 12 wide (vec4
  // stores), 6 wide (vec2) and 9 wide (scalar). Inputs: NaNs of both signs, then ±∞ (whose sums
  // give ±∞ and, where both meet, NaN) in a second input.
  const SHAPES: readonly Conv2dShape[] = [
    { batch: 2, inChannels: 3, height: 12, width: 12, outChannels: 5, kernelH: 3, kernelW: 3, stride: 1, padding: 1 },
    { batch: 2, inChannels: 2, height: 6, width: 6, outChannels: 6, kernelH: 3, kernelW: 3, stride: 1, padding: 1 },
    { batch: 3, inChannels: 2, height: 7, width: 9, outChannels: 6, kernelH: 3, kernelW: 3, stride: 1, padding: 1 },
  ];
  SHAPES.forEach((s, n) => {
    gpuTest(`${s.height}×${s.width}, ${s.inChannels}→${s.outChannels} channels: the stored output, the statistics and the max pool`, async (ctx) => {
      const p = conv2dParams(s);
      const tile = defaultConvTile(p, 'forward');
      const packed = allocateConvPacked(ctx, 'w', p, 'forward', tile);
      const pooledPacked = allocateConvPacked(ctx, 'w (pool tile)', p, 'forward', poolTile(tile, s.kernelH * s.kernelW));
      const inputs = s.batch * s.inChannels * s.height * s.width;
      const outputs = s.batch * s.outChannels * p.outHeight * p.outWidth;
      const weights = s.outChannels * s.inChannels * s.kernelH * s.kernelW;
      const weight = ctx.tensor('weight', [weights], { data: f32(randomArray(weights, 400 + n, -0.3, 0.3)) });
      const negativeNaN = new Float32Array(new Uint32Array([0xffc00000]).buffer)[0]!;
      for (const [what, special] of [['NaN', [NaN, negativeNaN]], ['±∞', [Infinity, -Infinity]]] as const) {
        const xData = Float32Array.from(randomArray(inputs, 500 + n));
        special.forEach((v, k) => (xData[Math.floor(inputs / 3) + k] = v));
        const x = ctx.tensor('x', [inputs], { data: xData });
        const [plain, y] = [ctx.tensor('y (plain)', [outputs]), ctx.tensor('y (RELU)', [outputs])];
        const [pooledLength, poolH, poolW] = [s.batch * s.outChannels * Math.floor(p.outHeight / 2) * Math.floor(p.outWidth / 2), Math.floor(p.outHeight / 2), Math.floor(p.outWidth / 2)];
        const [pooled, argmax] = [ctx.tensor('pooled', [pooledLength]), ctx.tensor('argmax', [pooledLength], { dtype: 'u32' })];
        const slots = convStatsSlots(p, tile, false);
        const moments = ctx.tensor('moments', [s.outChannels * slots * 3]);
        const yStats = ctx.tensor('y (RELU, STATS)', [outputs]);
        for (const t of [y, pooled, moments, yStats]) ctx.fill(t, NaN);
        const list = [
          ...(await bindConv2d(ctx, p, packed, { input: x, weight, output: plain }, { sharedWeights: false })),
          ...(await bindConv2d(ctx, p, packed, { input: x, weight, output: y }, { relu: true, sharedWeights: false, pack: false })),
          ...(await bindConv2d(ctx, p, packed, { input: x, weight, output: yStats, stats: moments }, { relu: true, sharedWeights: false, pack: false })),
          ...(await bindConv2d(ctx, p, pooledPacked, { input: x, weight, output: pooled, argmax }, { relu: true, sharedWeights: false })),
        ];
        ctx.submit('conv relu NaN test', (e) => recordPass(e, 'conv relu NaN test', list));
        const [gotPlain, gotY, gotYStats, gotMoments, gotPooled, gotArgmax] = await ctx.readMany([plain, y, yStats, moments, pooled, argmax]);
        const want = Float32Array.from(reluForwardRef(gotPlain!));
        expect(Array.from(want).some(Number.isNaN), `${what}: a NaN among the outputs`).toBe(true);
        expect(Array.from(gotY!), `${what}: the ReLU epilogue's output, bit for bit`).toEqual(Array.from(want));
        expect(Array.from(gotYStats!), `${what}: with statistics, the output`).toEqual(Array.from(want));
        // Each channel's partial moments: not finite where its outputs are not (a NaN: every channel).
        const area = p.outHeight * p.outWidth;
        for (let ch = 0; ch < s.outChannels; ch++) {
          const finite = Array.from({ length: s.batch * area }, (_, i) => want[(Math.floor(i / area) * s.outChannels + ch) * area + (i % area)]!).every(Number.isFinite);
          const partial = Array.from({ length: slots }, (_, k) => gotMoments![(ch * slots + k) * 3 + 1]! + gotMoments![(ch * slots + k) * 3 + 2]!);
          expect(partial.every(Number.isFinite), `${what}: channel ${ch}'s partial moments are finite where its outputs are`).toBe(finite);
        }
        const ref = maxPool2x2ForwardRef(want, s.batch, s.outChannels, p.outHeight, p.outWidth);
        expect(Array.from(gotPooled!), `${what}: the pooled values`).toEqual(Array.from(Float32Array.from(ref.y)));
        expect(Array.from(gotArgmax!), `${what}: the argmax`).toEqual(Array.from(ref.argmax));
        expect(pooledLength, 'pooled outputs').toBe(s.batch * s.outChannels * poolH * poolW);
      }
    });
  });
});
