/**
 * conv2d_backward_weight_wide (a 3×3, stride-1 layer's weight gradient generated for its shape:
 * the output row in pieces of 4 columns and a narrower last one, kernel rows as tap groups): its
 * partial sums bit for bit against conv2d_backward_weight's at the same split, reduced against the
 * float64 reference, and (variant BIAS) the bias's partial sums bit for bit; dy shared in subgroups
 * of 8 (where the adapter has them) and loaded by each invocation. Shapes: last pieces of 2 (rows
 * of 10 and 6), 1 (5), 3 (11) and a whole row of 1; paddings 0, 1 and 2; 12 taps a lane with 10
 * and 3 input channels (30 kernel rows in 8 slots, 9 in 8: idle slots) and with padding; 9 taps a
 * lane with 16, 5 and 1 input channels; output channels past the layer's in a tile and several
 * tiles; splits that run across an image's end; scalar, vec2 and vec4 reads. And the host side:
 * the tile fits, is offered and is the default only on an adapter with subgroups of 8 (the default
 * on a software one), for 3×3, stride-1 layers of small planes.
 */
import { describe, expect, test } from 'vitest';
import { recordPass } from '../../src/gpu/context.js';
import {
  bindConvReduction,
  conv2dBackwardWeightKernel,
  conv2dParams,
  conv2dWeightParams,
  conv2dWeightSplits,
  conv2dWeightVariant,
  defaultWeightTile,
  weightTileFits,
  wideWeightTile,
  type Conv2dShape,
  type WeightTile,
} from '../../src/kernels/conv2d.js';
import { conv2dBackwardWeightRef } from '../../src/reference/conv2d.js';
import { candidateWeightTiles } from '../../src/tune/tuner.js';
import { TOLERANCE, expectAllClose, randomArray } from '../helpers/allclose.js';
import { gpuTest } from '../helpers/gpu.js';

interface Case {
  readonly shape: Conv2dShape;
  /** The row-wide tile's output channels, taps, rows a split and workgroup. */
  readonly tile: Pick<WeightTile, 'channels' | 'taps' | 'rows' | 'workgroup'>;
}

const conv3 = (s: Omit<Conv2dShape, 'kernelH' | 'kernelW' | 'stride'>): Conv2dShape => ({ ...s, kernelH: 3, kernelW: 3, stride: 1 });

const CASES: readonly Case[] = [
  // The seed CNN's convblock4 (rows of 10: pieces 4, 4, 2; vec4 x, vec2 dy), 12 taps a lane: 30
  // kernel rows in 8 slots; 6 output channels in a tile of 8; 4 rows a split across images of 10.
  { shape: conv3({ batch: 3, inChannels: 10, height: 12, width: 12, outChannels: 6, padding: 0 }), tile: { channels: 8, taps: 12, rows: 4, workgroup: 64 } },
  // Rows of 6 with padding 1 (convblock7's plane), 20 output channels in two tiles of 16, 16
  // input channels (16 slots of 9 taps), 5 rows a split, workgroups of 32.
  { shape: conv3({ batch: 2, inChannels: 16, height: 6, width: 6, outChannels: 20, padding: 1 }), tile: { channels: 16, taps: 9, rows: 5, workgroup: 32 } },
  // Width 7 (scalar x), rows of 5 (pieces 4, 1; scalar dy), 3 input channels at 12 taps (9
  // kernel rows: 3 groups, 5 idle slots), 5 output channels in two tiles of 4, 3 rows a split.
  { shape: conv3({ batch: 2, inChannels: 3, height: 7, width: 7, outChannels: 5, padding: 0 }), tile: { channels: 4, taps: 12, rows: 3, workgroup: 64 } },
  // Padding 2: rows of 11 (pieces 4, 4, 3), 5 input channels (5 groups in 8 slots), 9 output
  // channels in a tile of 12, 7 rows a split of 9, workgroups of 128.
  { shape: conv3({ batch: 2, inChannels: 5, height: 7, width: 9, outChannels: 9, padding: 2 }), tile: { channels: 12, taps: 9, rows: 7, workgroup: 128 } },
  // 12 taps a lane with padding 1 on rows of 10 (vec2 x and dy), two tiles of 8, a split an image.
  { shape: conv3({ batch: 2, inChannels: 10, height: 10, width: 10, outChannels: 16, padding: 1 }), tile: { channels: 8, taps: 12, rows: 10, workgroup: 64 } },
  // One pixel: a 3×3 input, one input channel (one group, 7 idle slots), a split of 2 images.
  { shape: conv3({ batch: 3, inChannels: 1, height: 3, width: 3, outChannels: 3, padding: 0 }), tile: { channels: 4, taps: 9, rows: 2, workgroup: 64 } },
];

describe('conv2d_backward_weight_wide', () => {
  CASES.forEach((c, n) => {
    const s = c.shape;
    gpuTest(`batch ${s.batch}, ${s.inChannels}→${s.outChannels} channels, ${s.height}×${s.width} padding ${s.padding}, tile ${c.tile.channels} channels × ${c.tile.taps} taps, ${c.tile.rows} rows a split, wg${c.tile.workgroup}`, async (ctx) => {
      const p0 = conv2dParams(s);
      const tile: WeightTile = { ...c.tile, wide: true };
      // conv2d_backward_weight at the same split (its register tile does not change the bits).
      const plain: WeightTile = { rows: c.tile.rows, channels: 16, taps: 9, workgroup: 64 };
      const p = conv2dWeightParams(p0, tile, ctx.adapter.subgroupSize);
      const q = conv2dWeightParams(p0, plain);
      const splits = conv2dWeightSplits(p);
      const weights = s.outChannels * s.inChannels * 9;
      const [inputs, outputs] = [s.batch * s.inChannels * s.height * s.width, s.batch * s.outChannels * p0.outHeight * p0.outWidth];
      const xData = Float32Array.from(randomArray(inputs, 50 + n));
      const dyData = Float32Array.from(randomArray(outputs, 60 + n));
      const x = ctx.tensor('x', [inputs], { data: xData });
      const dy = ctx.tensor('dy', [outputs], { data: dyData });
      const [wantPartial, partial] = [ctx.tensor('partial (conv2d_backward_weight)', [splits * weights]), ctx.tensor('partial', [splits * weights])];
      const [wantBias, biasPartial] = [ctx.tensor('bias partial (conv2d_backward_weight)', [splits * s.outChannels]), ctx.tensor('bias partial', [splits * s.outChannels])];
      const dweight = ctx.tensor('dweight', [weights]);
      ctx.fill(wantPartial, NaN);
      ctx.fill(wantBias, NaN);
      const reference = [(await ctx.compile(conv2dBackwardWeightKernel(plain), { ...conv2dWeightVariant(q, plain), BIAS: true })).bind({ x, dy, partial: wantPartial, biasPartial: wantBias }, q)];
      ctx.submit('conv2d_backward_weight', (e) => recordPass(e, 'conv2d_backward_weight', reference));
      const [want, wantBiasValues] = await ctx.readMany([wantPartial, wantBias]);
      const expected = conv2dBackwardWeightRef(dyData, xData, s);

      const base = conv2dWeightVariant(p, tile, ctx.adapter.subgroupSize);
      expect(base.DY_SHARED, 'dy shared where the subgroups are 8').toBe(ctx.adapter.subgroupSize === 8);
      if (ctx.adapter.subgroupSize === 8) expect(p.tapSlots % 8, 'whole subgroups of slots').toBe(0);
      const sharing = ctx.adapter.subgroupSize === 8 ? [true, false] : [false];
      for (const shared of sharing) {
        for (const bias of [false, true]) {
          const label = `${shared ? 'dy shared in subgroups' : 'dy loaded by each invocation'}${bias ? ', BIAS' : ''}`;
          ctx.fill(partial, NaN);
          ctx.fill(biasPartial, NaN);
          ctx.fill(dweight, NaN);
          const kernel = await ctx.compile(conv2dBackwardWeightKernel(tile, p0), { ...base, DY_SHARED: shared, BIAS: bias });
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

  gpuTest('a kernel generated for one plane refuses another', async (ctx) => {
    const p0 = conv2dParams(conv3({ batch: 2, inChannels: 10, height: 12, width: 12, outChannels: 16, padding: 0 }));
    const other = conv2dParams(conv3({ batch: 2, inChannels: 10, height: 10, width: 10, outChannels: 16, padding: 0 }));
    const tile: WeightTile = { rows: 4, channels: 16, taps: 12, workgroup: 64, wide: true };
    const q = conv2dWeightParams(other, tile, ctx.adapter.subgroupSize);
    const kernel = await ctx.compile(conv2dBackwardWeightKernel(tile, p0), conv2dWeightVariant(q, tile, ctx.adapter.subgroupSize));
    const tensors = {
      x: ctx.tensor('x', [2 * 10 * 100]),
      dy: ctx.tensor('dy', [2 * 16 * 64]),
      partial: ctx.tensor('partial', [conv2dWeightSplits(q) * 16 * 90]),
    };
    expect(() => kernel.bind(tensors, q)).toThrow(/generated for height 12, width 12, outHeight 10, outWidth 10, bound with height 10, width 10, outHeight 8, outWidth 8/);
  });
});

describe('the row-wide weight-gradient tile on the host', () => {
  const seed = (inChannels: number, size: number, padding = 0) => conv2dParams(conv3({ batch: 128, inChannels, height: size, width: size, outChannels: 16, padding }));
  const c4 = seed(10, 12);
  const c5 = seed(16, 10);
  const c7 = seed(16, 6, 1);
  const strided = conv2dParams({ ...conv3({ batch: 128, inChannels: 16, height: 10, width: 10, outChannels: 16, padding: 0 }), stride: 2 });
  const wide = conv2dParams(conv3({ batch: 128, inChannels: 16, height: 26, width: 26, outChannels: 32, padding: 0 }));

  test('its taps leave the fewest kernel rows idle in whole subgroups: 12 at 10 input channels, 9 at 16', () => {
    expect(wideWeightTile(c4)).toEqual({ rows: 20, channels: 16, taps: 12, workgroup: 64, wide: true });
    expect(wideWeightTile(c5)).toEqual({ rows: 32, channels: 16, taps: 9, workgroup: 64, wide: true });
    expect(wideWeightTile(c7).taps).toBe(9);
    expect(conv2dWeightParams(c4, wideWeightTile(c4), 8).tapSlots).toBe(8);
    expect(conv2dWeightParams(c4, wideWeightTile(c4), undefined).tapSlots, 'no subgroups: no idle slots').toBe(8);
    expect(conv2dWeightParams(c5, { ...wideWeightTile(c5), taps: 12 }, 8).tapSlots, '48 kernel rows in 12 groups, padded to 16').toBe(16);
  });

  test('it fits only a 3×3, stride-1 layer on an adapter with subgroups of 8', () => {
    const t = wideWeightTile(c4);
    expect(weightTileFits(c4, t, 8)).toBe(true);
    expect(weightTileFits(c4, t, undefined), 'no subgroups').toBe(false);
    expect(weightTileFits(c4, t, 32), 'subgroups of 32').toBe(false);
    expect(weightTileFits(strided, t, 8), 'stride 2').toBe(false);
    expect(weightTileFits(c4, { ...t, taps: 18 }, 8), '18 taps').toBe(false);
    expect(weightTileFits(c4, { ...t, taps: 12, wide: undefined }, 8), '12 taps is no register tile of conv2d_backward_weight').toBe(false);
    expect(weightTileFits(c4, { ...t, pointwise: true }, 8), 'pointwise and wide').toBe(false);
    expect(() => conv2dBackwardWeightKernel(t)).toThrow(/pass its parameters/);
    expect(() => conv2dBackwardWeightKernel({ ...t, taps: 18 }, c4)).toThrow(/18 taps a tile, expected one of 9, 12/);
  });

  test("it is a software adapter's default with subgroups of 8 on small planes, and the tuner's first candidate there; elsewhere neither", () => {
    expect(defaultWeightTile(c4, { software: true, subgroupSize: 8 })).toEqual(wideWeightTile(c4));
    expect(defaultWeightTile(c7, { software: true, subgroupSize: 8 })).toEqual(wideWeightTile(c7));
    expect(defaultWeightTile(c4, { software: true, subgroupSize: undefined }).wide).toBeUndefined();
    expect(defaultWeightTile(c4, { software: false, subgroupSize: 8 }).wide).toBeUndefined();
    expect(defaultWeightTile(wide, { software: true, subgroupSize: 8 }).wide, 'rows of 24').toBeUndefined();
    expect(defaultWeightTile(strided, { software: true, subgroupSize: 8 }).wide).toBeUndefined();
    expect(candidateWeightTiles(c4, 8)[0]).toEqual(wideWeightTile(c4));
    expect(candidateWeightTiles(c4, 8).some((t) => t.wide && t.taps === 9), 'the other tap count').toBe(true);
    expect(candidateWeightTiles(c4, 8).some((t) => !t.wide), 'conv2d_backward_weight is tried too').toBe(true);
    expect(candidateWeightTiles(c4, undefined).some((t) => t.wide)).toBe(false);
    expect(candidateWeightTiles(c4, 8, true).some((t) => t.wide), 'a hardware GPU').toBe(false);
    expect(candidateWeightTiles(wide, 8).some((t) => t.wide)).toBe(false);
  });
});
