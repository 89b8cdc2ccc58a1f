/**
 * conv2d_backward_weight_pointwise (a 1×1, stride-1, unpadded layer's weight gradient, dy shared
 * in subgroups of 8): its partial sums bit for bit against conv2d_backward_weight's 1×1 path at
 * the same split, reduced against the float64 reference, and (variant BIAS) the bias's partial
 * sums bit for bit against the other kernel's; with dy shared (where the adapter has subgroups of
 * 8) and loaded by each invocation. Shapes: widths of 9 (scalar reads), 10 (vec2) and 24 (vec4);
 * splits that run across an image's end; input channels that leave a 4-channel group partial and
 * slots past the last group (5 channels: 2 groups in 8 slots; 37: 10 in 16); output channels past
 * the layer's in a tile and several channel tiles; one channel on a 1×1 plane; the seed CNN's
 * convblock3 at batch 5. And the host side: the tile is offered, fits and is the default only on
 * an adapter with subgroups of 8, and only for 1×1, stride-1, unpadded layers.
 */
import { describe, expect, test } from 'vitest';
import { recordPass } from '../../src/gpu/context.js';
import {
  POINTWISE_TAPS,
  bindConvReduction,
  conv2dBackwardWeightKernel,
  conv2dParams,
  conv2dWeightParams,
  conv2dWeightSplits,
  conv2dWeightVariant,
  defaultWeightTile,
  pointwiseWeightTile,
  weightTileFits,
  type Conv2dShape,
  type WeightTile,
} from '../../src/kernels/conv2d.js';
import { conv2dBackwardWeightRef } from '../../src/reference/conv2d.js';
import { candidateWeightTiles } from '../../src/tune/tuner.js';
import { TOLERANCE, expectAllClose, randomArray } from '../helpers/allclose.js';
import { gpuTest } from '../helpers/gpu.js';

interface Case {
  readonly shape: Conv2dShape;
  /** The pointwise tile's output channels, rows a split and workgroup. */
  readonly tile: Pick<WeightTile, 'channels' | 'rows' | 'workgroup'>;
}

const pointwise = (s: Omit<Conv2dShape, 'kernelH' | 'kernelW' | 'stride' | 'padding'>): Conv2dShape => ({ ...s, kernelH: 1, kernelW: 1, stride: 1, padding: 0 });

const CASES: readonly Case[] = [
  // Width 9 (scalar reads, a partial quad), 4 rows a split across images of 7 rows; 5 input
  // channels (a partial group, 2 groups in 8 slots); 6 output channels in a tile of 8.
  { shape: pointwise({ batch: 3, inChannels: 5, height: 7, width: 9, outChannels: 6 }), tile: { channels: 8, rows: 4, workgroup: 64 } },
  // Width 10 (vec2 reads, the last pair of a row past its end); 37 input channels (10 groups in 16
  // slots: two subgroups); 20 output channels in two tiles of 16; workgroups of 32.
  { shape: pointwise({ batch: 2, inChannels: 37, height: 6, width: 10, outChannels: 20 }), tile: { channels: 16, rows: 5, workgroup: 32 } },
  // The seed CNN's convblock3 (vec4 reads), 10 channels in a tile of 12, splits of 2 images.
  { shape: pointwise({ batch: 5, inChannels: 32, height: 24, width: 24, outChannels: 10 }), tile: { channels: 12, rows: 48, workgroup: 64 } },
  // 64 input channels (two subgroups), 11 output channels in three tiles of 4, 3 rows a split of 7.
  { shape: pointwise({ batch: 2, inChannels: 64, height: 7, width: 7, outChannels: 11 }), tile: { channels: 4, rows: 3, workgroup: 128 } },
  // One input channel on a 1×1 plane: a quad of one pixel, 7 idle slots.
  { shape: pointwise({ batch: 3, inChannels: 1, height: 1, width: 1, outChannels: 3 }), tile: { channels: 4, rows: 2, workgroup: 64 } },
];

describe('conv2d_backward_weight_pointwise', () => {
  CASES.forEach((c, n) => {
    const s = c.shape;
    gpuTest(`batch ${s.batch}, ${s.inChannels}→${s.outChannels} channels, ${s.height}×${s.width}, tile ${c.tile.channels} channels, ${c.tile.rows} rows a split, wg${c.tile.workgroup}`, async (ctx) => {
      const p0 = conv2dParams(s);
      const tile: WeightTile = { ...c.tile, taps: POINTWISE_TAPS, pointwise: true };
      // The other kernel's 1×1 path at the same split (its register tile does not change the bits).
      const plain: WeightTile = { rows: c.tile.rows, channels: 16, taps: 18, workgroup: 64 };
      const p = conv2dWeightParams(p0, tile, ctx.adapter.subgroupSize);
      const q = conv2dWeightParams(p0, plain);
      expect(p.tapSlots % 8, 'whole subgroups of slots').toBe(0);
      const splits = conv2dWeightSplits(p);
      const weights = s.outChannels * s.inChannels;
      const [inputs, outputs] = [s.batch * s.inChannels * s.height * s.width, s.batch * s.outChannels * s.height * s.width];
      const xData = Float32Array.from(randomArray(inputs, 30 + n));
      const dyData = Float32Array.from(randomArray(outputs, 40 + n));
      const x = ctx.tensor('x', [inputs], { data: xData });
      const dy = ctx.tensor('dy', [outputs], { data: dyData });
      const [wantPartial, partial] = [ctx.tensor('partial (conv2d_backward_weight)', [splits * weights]), ctx.tensor('partial', [splits * weights])];
      const [wantBias, biasPartial] = [ctx.tensor('bias partial (conv2d_backward_weight)', [splits * s.outChannels]), ctx.tensor('bias partial', [splits * s.outChannels])];
      const dweight = ctx.tensor('dweight', [weights]);
      const plainVariant = { ...conv2dWeightVariant(q, plain), DY_SHARED: false, BIAS: true };
      ctx.fill(wantPartial, NaN);
      ctx.fill(wantBias, NaN);
      const reference = [(await ctx.compile(conv2dBackwardWeightKernel(plain), plainVariant)).bind({ x, dy, partial: wantPartial, biasPartial: wantBias }, q)];
      ctx.submit('conv2d_backward_weight', (e) => recordPass(e, 'conv2d_backward_weight', reference));
      const [want, wantBiasValues] = await ctx.readMany([wantPartial, wantBias]);
      const expected = conv2dBackwardWeightRef(dyData, xData, s);

      const base = conv2dWeightVariant(p, tile, ctx.adapter.subgroupSize);
      expect(base.DY_SHARED, 'a pointwise tile shares dy').toBe(true);
      const sharing = ctx.adapter.subgroupSize === 8 ? [true, false] : [false];
      for (const shared of sharing) {
        for (const bias of [false, true]) {
          const label = `${shared ? 'dy shared in subgroups' : 'dy loaded by each invocation'}${bias ? ', BIAS' : ''}`;
          ctx.fill(partial, NaN);
          ctx.fill(biasPartial, NaN);
          ctx.fill(dweight, NaN);
          const kernel = await ctx.compile(conv2dBackwardWeightKernel(tile), { ...base, DY_SHARED: shared, BIAS: bias });
          const list = [
            kernel.bind({ x, dy, partial, ...(bias ? { biasPartial } : {}) }, p),
            await bindConvReduction(ctx, [{ partial, dweight, length: weights, splits }], 'reduce'),
          ];
          ctx.submit(label, (e) => recordPass(e, label, list));
          const [got, gotBias, reduced] = await ctx.readMany([partial, biasPartial, dweight]);
          expect(Array.from(got!), `${label}: partial sums bit for bit as conv2d_backward_weight's`).toEqual(Array.from(want!));
          if (bias) expect(Array.from(gotBias!), `${label}: the bias's partial sums bit for bit`).toEqual(Array.from(wantBiasValues!));
          expectAllClose(`${label}: reduced against float64`, reduced!, expected, TOLERANCE.gradient);
        }
      }
    });
  });
});

describe('the pointwise tile on the host', () => {
  const p = conv2dParams(pointwise({ batch: 128, inChannels: 32, height: 24, width: 24, outChannels: 10 }));
  const padded = conv2dParams({ ...pointwise({ batch: 128, inChannels: 32, height: 24, width: 24, outChannels: 10 }), padding: 1 });
  const strided = conv2dParams({ ...pointwise({ batch: 128, inChannels: 32, height: 24, width: 24, outChannels: 10 }), stride: 2 });
  const t = pointwiseWeightTile(p);

  test('it fits only a 1×1, stride-1, unpadded layer on an adapter with subgroups of 8', () => {
    expect(t).toEqual({ rows: 48, channels: 12, taps: POINTWISE_TAPS, workgroup: 64, pointwise: true });
    expect(weightTileFits(p, t, 8)).toBe(true);
    expect(weightTileFits(p, t, undefined), 'no subgroups').toBe(false);
    expect(weightTileFits(p, t, 32), 'subgroups of 32').toBe(false);
    expect(weightTileFits(padded, t, 8), 'padding 1').toBe(false);
    expect(weightTileFits(strided, t, 8), 'stride 2').toBe(false);
    expect(weightTileFits(p, { ...t, taps: 18 }, 8), 'a pointwise tile sums 4 taps').toBe(false);
    expect(weightTileFits(p, { ...t, pointwise: undefined }, 8), 'the same registers without pointwise: 4 taps is not a register tile').toBe(false);
    expect(() => conv2dBackwardWeightKernel({ ...t, taps: 9 })).toThrow(/4 \(a pointwise tile\)/);
  });

  test("it is a software adapter's default with subgroups of 8, and the tuner's first candidate there; elsewhere neither", () => {
    expect(defaultWeightTile(p, { software: true, subgroupSize: 8 })).toEqual(t);
    expect(defaultWeightTile(p, { software: true, subgroupSize: undefined }).pointwise).toBeUndefined();
    expect(defaultWeightTile(p, { software: false, subgroupSize: 8 }).pointwise).toBeUndefined();
    expect(defaultWeightTile(padded, { software: true, subgroupSize: 8 }).pointwise).toBeUndefined();
    expect(candidateWeightTiles(p, 8)[0]).toEqual(t);
    expect(candidateWeightTiles(p, 8).some((c) => !c.pointwise), 'the other kernel is tried too').toBe(true);
    expect(candidateWeightTiles(p, undefined).some((c) => c.pointwise)).toBe(false);
    expect(candidateWeightTiles(padded, 8).some((c) => c.pointwise)).toBe(false);
  });
});
