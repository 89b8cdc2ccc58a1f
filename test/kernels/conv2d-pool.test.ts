/**
 * The conv forward's max-pool epilogue (variant POOL, fusion rule maxpool-epilogue) against the
 * conv and then maxpool2x2_forward: the pooled values and the argmax bit for bit, with ties
 * (small whole numbers, so equal sums are common: the first maximum in scan order must win), a
 * NaN, odd output sizes (floor mode drops the last row and column), output widths that leave a
 * partial quad, several weight slices, tile channels past the layer's, a stride of 2, the ReLU
 * epilogue, and the seed CNN's convblock3 at batch 128; with the weights shared in subgroups
 * (W_SHARED, where the adapter has subgroups of 8) and without.
 */
import { describe, expect } from 'vitest';
import { recordPass } from '../../src/gpu/context.js';
import { allocateConvPacked, bindConv2d, conv2dParams, type Conv2dShape } from '../../src/kernels/conv2d.js';
import type { ConvTile } from '../../src/kernels/conv-tile.js';
import { maxpool2x2Forward, maxpoolVariant } from '../../src/kernels/pooling.js';
import { randomArray } from '../helpers/allclose.js';
import { gpuTest } from '../helpers/gpu.js';

interface Case {
  readonly shape: Conv2dShape;
  readonly tile: ConvTile;
  readonly relu?: boolean;
  /** Whole-number inputs in −2..2 and weights in −1..1: many equal sums in a window. */
  readonly ties?: boolean;
  /** A NaN in the input. */
  readonly nan?: boolean;
  readonly slices?: number;
}

const CASES: readonly Case[] = [
  // 7 × 9 outputs: the last row and column are dropped; quads of 4 leave a partial one.
  { shape: { batch: 3, inChannels: 2, height: 7, width: 9, outChannels: 6, kernelH: 3, kernelW: 3, stride: 1, padding: 1 }, tile: { rows: 2, channels: 8, workgroup: 64 }, ties: true },
  { shape: { batch: 3, inChannels: 2, height: 7, width: 9, outChannels: 6, kernelH: 3, kernelW: 3, stride: 1, padding: 1 }, tile: { rows: 4, channels: 4, workgroup: 32 }, relu: true, ties: true },
  // 10 × 10 outputs (5 × 5 pooled: the second window of the last quad is past the width).
  { shape: { batch: 2, inChannels: 3, height: 12, width: 12, outChannels: 5, kernelH: 3, kernelW: 3, stride: 1, padding: 0 }, tile: { rows: 2, channels: 4, workgroup: 24 }, relu: true },
  { shape: { batch: 2, inChannels: 3, height: 12, width: 12, outChannels: 5, kernelH: 3, kernelW: 3, stride: 1, padding: 0 }, tile: { rows: 2, channels: 4, workgroup: 64 }, nan: true },
  // 64 input channels × 9 taps: 40 output channels in 3 packed slices.
  { shape: { batch: 2, inChannels: 64, height: 6, width: 6, outChannels: 40, kernelH: 3, kernelW: 3, stride: 1, padding: 1 }, tile: { rows: 2, channels: 16, workgroup: 64 }, slices: 3 },
  // A stride of 2 (7 × 6 outputs).
  { shape: { batch: 3, inChannels: 4, height: 13, width: 12, outChannels: 8, kernelH: 3, kernelW: 3, stride: 2, padding: 1 }, tile: { rows: 2, channels: 8, workgroup: 64 }, ties: true },
  // The seed CNN's convblock3 (1×1, 32 → 10) before pool1, at batch 128.
  { shape: { batch: 128, inChannels: 32, height: 24, width: 24, outChannels: 10, kernelH: 1, kernelW: 1, stride: 1, padding: 0 }, tile: { rows: 4, channels: 12, workgroup: 64 } },
];

describe('conv2d forward max-pool epilogue', () => {
  CASES.forEach((c, n) => {
    const s = c.shape;
    const name = `batch ${s.batch}, ${s.inChannels}→${s.outChannels} channels, ${s.height}×${s.width}, ${s.kernelH}×${s.kernelW} stride ${s.stride} padding ${s.padding}, tile ${c.tile.rows}×${c.tile.channels} wg${c.tile.workgroup}${c.relu ? ', ReLU' : ''}${c.ties ? ', ties' : ''}${c.nan ? ', a NaN' : ''}`;
    gpuTest(name, async (ctx) => {
      const p = conv2dParams(s);
      const packed = allocateConvPacked(ctx, 'w', p, 'forward', c.tile);
      if (c.slices) expect(packed.slices.length, 'weight slices').toBe(c.slices);
      const inputs = s.batch * s.inChannels * s.height * s.width;
      const weights = s.outChannels * s.inChannels * s.kernelH * s.kernelW;
      const xData = Float32Array.from(randomArray(inputs, 30 + n, c.ties ? -2.5 : -1, c.ties ? 2.5 : 1), (v) => (c.ties ? Math.round(v) : v));
      if (c.nan) xData[Math.floor(inputs / 3)] = NaN;
      const wData = Float32Array.from(randomArray(weights, 40 + n, c.ties ? -1.5 : -0.3, c.ties ? 1.5 : 0.3), (v) => (c.ties ? Math.round(v) : v));
      const x = ctx.tensor('x', [inputs], { data: xData });
      const weight = ctx.tensor('weight', [weights], { data: wData });
      const [poolH, poolW] = [Math.floor(p.outHeight / 2), Math.floor(p.outWidth / 2)];
      const pooledLength = s.batch * s.outChannels * poolH * poolW;
      const conv = ctx.tensor('conv output', [s.batch * s.outChannels * p.outHeight * p.outWidth]);
      const expectedY = ctx.tensor('pooled (conv, then maxpool)', [pooledLength]);
      const expectedArgmax = ctx.tensor('argmax (conv, then maxpool)', [pooledLength], { dtype: 'u32' });
      const shape = { planes: s.batch * s.outChannels, height: p.outHeight, width: p.outWidth };
      const sharing = ctx.adapter.subgroupSize === 8 ? [true, false] : [false];
      for (const shared of sharing) {
        const y = ctx.tensor('pooled (epilogue)', [pooledLength]);
        const argmax = ctx.tensor('argmax (epilogue)', [pooledLength], { dtype: 'u32' });
        ctx.fill(y, NaN);
        ctx.fill(argmax, 0xdeadbeef);
        const list = [
          ...(await bindConv2d(ctx, p, packed, { input: x, weight, output: conv }, { relu: c.relu, sharedWeights: shared })),
          (await ctx.compile(maxpool2x2Forward, maxpoolVariant(shape))).bind({ x: conv, y: expectedY, argmax: expectedArgmax }, shape),
          ...(await bindConv2d(ctx, p, packed, { input: x, weight, output: y, argmax }, { relu: c.relu, sharedWeights: shared, pack: false })),
        ];
        ctx.submit('conv pool test', (e) => recordPass(e, 'conv pool test', list));
        const [gotY, gotArgmax, wantY, wantArgmax] = await ctx.readMany([y, argmax, expectedY, expectedArgmax]);
        const label = shared ? 'weights shared in subgroups' : 'weights read by each invocation';
        // Equal as bits (NaN where the pool's NaN is): toEqual takes NaN as equal to NaN.
        expect(Array.from(gotY!), `${label}: the pooled values`).toEqual(Array.from(wantY!));
        expect(Array.from(gotArgmax!), `${label}: the argmax`).toEqual(Array.from(wantArgmax!));
        if (c.ties) {
          // The ties are there: some window holds its maximum more than once.
          const convValues = await ctx.read(conv);
          let tied = 0;
          for (let o = 0; o < pooledLength; o++) {
            const plane = Math.floor(o / (poolH * poolW));
            const r = o % (poolH * poolW);
            const top = (plane * p.outHeight + Math.floor(r / poolW) * 2) * p.outWidth + (r % poolW) * 2;
            const window = [top, top + 1, top + p.outWidth, top + p.outWidth + 1].map((i) => convValues[i]!);
            if (window.filter((v) => v === wantY![o]).length > 1) tied++;
          }
          expect(tied, 'windows with a tied maximum').toBeGreaterThan(0);
        }
        if (c.nan) expect(Array.from(gotY!).some(Number.isNaN), 'a NaN reached the pooled output').toBe(true);
      }
    }, 120_000);
  });
});
