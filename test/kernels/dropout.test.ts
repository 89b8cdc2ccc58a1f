/**
 * dropout_forward and dropout_backward against the float64 reference: the keep/drop pattern of
 * the Philox mask exactly (a bit per element, the bits past the length 0), the values within the
 * forward tolerance (the GPU's scale is f32).
 */
import { describe, expect } from 'vitest';
import { recordPass } from '../../src/gpu/context.js';
import { alphaDropoutParams, dropoutBackward, dropoutForward, dropoutForwardVariant, dropoutParams, maskFromBits, maskWords } from '../../src/kernels/dropout.js';
import { RANDOM_STREAM, alphaDropoutBackwardRef, alphaDropoutForwardRef, channelDropoutMaskRef, dropoutBackwardRef, dropoutForwardRef, dropoutMaskRef } from '../../src/reference/random.js';
import { dropoutTies, mismatches } from '../helpers/dropout.js';
import { TOLERANCE, expectAllClose, f32, randomArray } from '../helpers/allclose.js';
import { gpuTest } from '../helpers/gpu.js';

const kept = (mask: ArrayLike<number>): number[] => Array.from(mask, (m) => (m !== 0 ? 1 : 0));

describe('dropout kernels', () => {
  // Lengths that are not multiples of 4 or of a mask word's 32 (the last block and word are
  // partial), some above the forward's 64-wide workgroup of 2,048 elements; p = 0 keeps everything.
  for (const [length, p, seed, block] of [
    [1, 0.5, 1, 0],
    [3, 0.25, 2, 1],
    [7, 0.5, 3, 2],
    [258, 0.9, 4, 0],
    [1001, 0.5, 0xdeadbeef, 3],
    [1003, 0, 5, 1],
    // Multiples of 4: the VEC4 variants (what layers bind then) are checked too, bit for bit.
    [4, 0.5, 6, 0],
    [1004, 0.3, 7, 2],
    [5000, 0.1, 8, 5],
    // p = 1 zeroes every element (PyTorch's Dropout(1)): scale 0, the gradient 0 too.
    [1004, 1, 9, 1],
  ] as const) {
    gpuTest(`${length} elements, p ${p}, seed ${seed}, stream dropout + ${block}`, async (ctx) => {
      const stream = RANDOM_STREAM.dropout + block;
      const step = 17;
      const { threshold, scale } = dropoutParams(p);
      const x = f32(randomArray(length, length));
      const dy = f32(randomArray(length, length + 1));
      const tx = ctx.tensor('x', [length], { data: x });
      const tdy = ctx.tensor('dy', [length], { data: dy });
      const tmask = ctx.tensor('mask', [maskWords(length)], { dtype: 'u32' });
      const ty = ctx.tensor('y', [length]);
      const tdx = ctx.tensor('dx', [length]);
      for (const t of [ty, tdx]) ctx.fill(t, NaN);
      ctx.fill(tmask, 0xffffffff);
      const forward = (await ctx.compile(dropoutForward)).bind({ x: tx, mask: tmask, y: ty }, { length, threshold, scale, seed, stream, step, area: 1, shift: 0, dropped: 0 });
      const backward = (await ctx.compile(dropoutBackward)).bind({ dy: tdy, mask: tmask, dx: tdx }, { length, scale });
      const tdx4 = ctx.tensor('dx (VEC4)', [length]);
      ctx.fill(tdx4, NaN);
      const backward4 = length % 4 === 0 ? [(await ctx.compile(dropoutBackward, { VEC4: true })).bind({ dy: tdy, mask: tmask, dx: tdx4 }, { length, scale })] : [];
      const [ty4, tmask4] = [ctx.tensor('y (VEC4)', [length]), ctx.tensor('mask (VEC4)', [maskWords(length)], { dtype: 'u32' })];
      ctx.fill(ty4, NaN);
      ctx.fill(tmask4, 0xffffffff);
      expect(dropoutForwardVariant(length).VEC4, 'VEC4 where the length is whole vec4s').toBe(length % 4 === 0);
      const forward4 = length % 4 === 0 ? [(await ctx.compile(dropoutForward, dropoutForwardVariant(length))).bind({ x: tx, mask: tmask4, y: ty4 }, { length, threshold, scale, seed, stream, step, area: 1, shift: 0, dropped: 0 })] : [];
      ctx.submit('dropout test', (e) => recordPass(e, 'dropout test', [forward, backward, ...backward4, ...forward4]));

      const mask = dropoutMaskRef(length, p, seed, stream, step);
      const bits = await ctx.read(tmask);
      const gpuMask = maskFromBits(bits, length, p);
      expect(kept(gpuMask), 'kept elements').toEqual(kept(mask));
      const lastUsed = length - 32 * (bits.length - 1); // bits of the last word in use: 1 … 32
      if (lastUsed < 32) expect(bits[bits.length - 1]! >>> lastUsed, 'the bits past the length are 0').toBe(0);
      expectAllClose('dropout_forward mask', gpuMask, mask, TOLERANCE.forward);
      expectAllClose('dropout_forward y', await ctx.read(ty), dropoutForwardRef(x, mask), TOLERANCE.forward);
      expectAllClose('dropout_backward dx', await ctx.read(tdx), dropoutBackwardRef(dy, mask), TOLERANCE.forward);
      if (backward4.length > 0) expect(Array.from(await ctx.read(tdx4)), 'dropout_backward VEC4: the same dx').toEqual(Array.from(await ctx.read(tdx)));
      if (forward4.length > 0) {
        expect(Array.from(await ctx.read(ty4)), 'dropout_forward VEC4: the same y').toEqual(Array.from(await ctx.read(ty)));
        expect(Array.from(await ctx.read(tmask4)), 'dropout_forward VEC4: the same mask').toEqual(Array.from(bits));
      }
      if (p === 0) expect(kept(gpuMask).every((k) => k === 1), 'p = 0 keeps everything').toBe(true);

      // The next step draws a new mask (and still the reference's).
      ctx.fill(tmask, 0xffffffff);
      forward.update({ step: step + 1 });
      ctx.submit('dropout test, next step', (e) => recordPass(e, 'dropout test, next step', [forward]));
      const nextMask = dropoutMaskRef(length, p, seed, stream, step + 1);
      const gpuNext = maskFromBits(await ctx.read(tmask), length, p);
      expect(kept(gpuNext), 'kept elements, next step').toEqual(kept(nextMask));
      if (length > 100 && p > 0 && p < 1) expect(kept(gpuNext), 'the next step keeps other elements').not.toEqual(kept(gpuMask));
    });
  }

  // A draw whose high half equals the threshold's (2⁻¹⁶ of them) is decided by the secondary Philox
  // block (shaders/lib/dropout_draw.wgsl): 2²¹ + 13 elements hold about 32 such ties, and with
  // p = 0.3 (the threshold's low half 0xcccc) some are kept and some dropped, so a kernel that
  // decided ties by the high half alone, either way, fails.
  gpuTest('ties with the threshold\'s high half: the secondary block decides', async (ctx) => {
    const length = 2 ** 21 + 13;
    const p = 0.3;
    const [seed, stream, step] = [3, RANDOM_STREAM.dropout + 2, 9];
    const { threshold, scale } = dropoutParams(p);
    const ties = dropoutTies(length, p, seed, stream, step);
    expect(ties.kept, 'ties kept').toBeGreaterThan(0);
    expect(ties.dropped, 'ties dropped').toBeGreaterThan(0);
    const tx = ctx.tensor('x', [length], { data: new Float64Array(length).fill(1) });
    const tmask = ctx.tensor('mask', [maskWords(length)], { dtype: 'u32' });
    const ty = ctx.tensor('y', [length]);
    ctx.fill(ty, NaN);
    const k = (await ctx.compile(dropoutForward)).bind({ x: tx, mask: tmask, y: ty }, { length, threshold, scale, seed, stream, step, area: 1, shift: 0, dropped: 0 });
    ctx.submit('dropout ties', (e) => recordPass(e, 'dropout ties', [k]));
    expect(mismatches(maskFromBits(await ctx.read(tmask), length, p), dropoutMaskRef(length, p, seed, stream, step)), 'kept elements that differ from the reference').toEqual([]);
  });

  gpuTest('the kept fraction is about 1 − p', async (ctx) => {
    const length = 4001;
    const p = 0.3;
    const { threshold, scale } = dropoutParams(p);
    const tx = ctx.tensor('x', [length], { data: new Float64Array(length).fill(1) });
    const tmask = ctx.tensor('mask', [maskWords(length)], { dtype: 'u32' });
    const ty = ctx.tensor('y', [length]);
    ctx.fill(ty, NaN);
    const k = (await ctx.compile(dropoutForward)).bind(
      { x: tx, mask: tmask, y: ty },
      { length, threshold, scale, seed: 42, stream: RANDOM_STREAM.dropout, step: 0, area: 1, shift: 0, dropped: 0 },
    );
    ctx.submit('dropout fraction', (e) => recordPass(e, 'dropout fraction', [k]));
    const keptCount = kept(maskFromBits(await ctx.read(tmask), length, p)).reduce((a, b) => a + b, 0);
    // Binomial(4001, 0.7): standard deviation ≈ 29; allow five of them.
    expect(Math.abs(keptCount - 0.7 * length)).toBeLessThan(150);
  });
});

describe('dropout_forward, variant CHANNELS (Dropout2d)', () => {
  // Planes of 1, 7, 33 and 676 elements: a channel inside a mask word, across words, and many words.
  for (const [channels, area] of [[40, 1], [37, 7], [20, 33], [128 * 16, 676]] as const) {
    gpuTest(`${channels} channels of ${area}: each channel's elements kept or dropped together, as the reference draws them`, async (ctx) => {
      const length = channels * area;
      const p = 0.3;
      const { threshold, scale } = dropoutParams(p);
      const x = f32(randomArray(length, area + 3));
      const [tx, tmask, ty] = [ctx.tensor('x', [length], { data: x }), ctx.tensor('mask', [maskWords(length)], { dtype: 'u32' }), ctx.tensor('y', [length])];
      ctx.fill(ty, NaN);
      ctx.fill(tmask, 0xffffffff);
      const k = (await ctx.compile(dropoutForward, { CHANNELS: true })).bind({ x: tx, mask: tmask, y: ty }, { length, threshold, scale, seed: 11, stream: 5, step: 3, area, shift: 0, dropped: 0 });
      ctx.submit('dropout2d', (e) => recordPass(e, 'dropout2d', [k]));
      const ref = channelDropoutMaskRef(length, area, p, 11, 5, 3);
      expect(mismatches(maskFromBits(await ctx.read(tmask), length, p), ref), 'mask bits that differ from the reference').toEqual([]);
      // The mask exactly (above); y is x · scale rounded to float32 on the GPU, against float64.
      expectAllClose('y', await ctx.read(ty), Float64Array.from(x, (v, i) => v * ref[i]!), TOLERANCE.forward);
      // Whole channels: within each, all kept or all dropped; and both happen.
      const keptChannels = Array.from({ length: channels }, (_, c) => ref[c * area]! !== 0);
      for (let c = 0; c < channels; c++) expect(ref.subarray(c * area, (c + 1) * area).every((v) => (v !== 0) === keptChannels[c])).toBe(true);
      expect(new Set(keptChannels).size).toBe(2);
      // The bits past the end are clear (a backward over whole words reads them).
      const lastWord = (await ctx.read(tmask))[maskWords(length) - 1]!;
      if (length % 32 !== 0) expect(lastWord >>> (length % 32)).toBe(0);
    });
  }
});

describe('dropout_forward, variant ALPHA (AlphaDropout; with CHANNELS, FeatureAlphaDropout), and dropout_backward with its scale a', () => {
  // [length, area (1: AlphaDropout), p]: partial words and blocks, channels across words, the seed CNN's size; p 0 (a copy) and 1 (zeros, PyTorch's).
  // The variant a layer binds (dropoutForwardVariant): VEC4 at 1,004 and the seed CNN's size without channels.
  for (const [length, area, p] of [[7, 1, 0.5], [1001, 1, 0.2], [37 * 7, 7, 0.3], [1003, 1, 0], [1004, 1, 1], [128 * 16 * 676, 1, 0.1], [128 * 16 * 676, 676, 0.25]] as const) {
    gpuTest(`${length} elements${area > 1 ? `, channels of ${area}` : ''}, p ${p}`, async (ctx) => {
      const [seed, stream, step] = [length % 1000 + 1, RANDOM_STREAM.dropout + 3, 4];
      const params = { ...alphaDropoutParams(p), seed, stream, step, area, length };
      // Standard normal inputs (a SELU network's), so that the self-normalisation can be seen.
      const x = f32(Array.from(randomArray(2 * length, length + 9, 1e-9, 1).subarray(0, length), (u, i) => Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * ((i * 0.6180339887) % 1))));
      const dy = f32(randomArray(length, length + 10));
      const t = { x: ctx.tensor('x', [length], { data: x }), mask: ctx.tensor('mask', [maskWords(length)], { dtype: 'u32' }), y: ctx.tensor('y', [length]), dy: ctx.tensor('dy', [length], { data: dy }), dx: ctx.tensor('dx', [length]) };
      for (const o of [t.y, t.dx]) ctx.fill(o, NaN);
      ctx.fill(t.mask, 0xffffffff);
      const kernels = [
        (await ctx.compile(dropoutForward, dropoutForwardVariant(length, { alpha: true, channels: area > 1 }))).bind({ x: t.x, mask: t.mask, y: t.y }, params),
        (await ctx.compile(dropoutBackward)).bind({ dy: t.dy, mask: t.mask, dx: t.dx }, { length, scale: params.scale }),
      ];
      ctx.submit('alpha dropout test', (e) => recordPass(e, 'alpha dropout test', kernels));
      const mask = area > 1 ? channelDropoutMaskRef(length, area, p, seed, stream, step) : dropoutMaskRef(length, p, seed, stream, step);
      expect(mismatches(maskFromBits(await ctx.read(t.mask), length, p), mask), 'mask bits that differ from the reference').toEqual([]);
      const y = await ctx.read(t.y);
      expectAllClose('alpha dropout y', y, alphaDropoutForwardRef(x, mask, p), TOLERANCE.forward);
      expectAllClose('alpha dropout dx', await ctx.read(t.dx), alphaDropoutBackwardRef(dy, mask, p), TOLERANCE.forward);
      if (p === 0) expect(Array.from(y), 'p = 0: a copy').toEqual(Array.from(x));
      if (p === 1) expect(y.every((v) => v === 0), 'p = 1: zeros').toBe(true);
      if (length > 100_000) {
        // The dropped fraction is p (per channel where whole channels drop), and a standard normal
        // input keeps mean 0 and variance 1 (the point of alpha dropout).
        const units = length / area;
        const dropped = Array.from({ length: units }, (_, k) => (mask[k * area] === 0 ? 1 : 0)).reduce((a: number, b: number) => a + b, 0);
        expect(Math.abs(dropped / units - p)).toBeLessThan(5 * Math.sqrt((p * (1 - p)) / units));
        const mean = y.reduce((a, v) => a + v, 0) / length;
        const variance = y.reduce((a, v) => a + (v - mean) ** 2, 0) / length;
        const spread = area > 1 ? 0.05 : 0.01;
        expect(Math.abs(mean), 'mean').toBeLessThan(spread);
        expect(Math.abs(variance - 1), 'variance').toBeLessThan(2 * spread);
      }
    });
  }
});
