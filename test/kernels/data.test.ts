/**
 * shuffle_permutation and mnist_batch against the float64 reference: the epoch's Fisher–Yates
 * permutation exactly; batches gathered from a small synthetic u8 data set, normalised, with and
 * without random rotation. gather_batch (a float data set's batches, as they are) against
 * indexing, bit for bit, at awkward sizes and at a real one; its BYTES variant (a colour split's
 * bytes looked up in a table) against the float variant, bit for bit.
 */
import { describe, expect } from 'vitest';
import { recordPass } from '../../src/gpu/context.js';
import type { GpuContext } from '../../src/gpu/context.js';
import { gatherBatch, mnistBatch, packedWords, shufflePermutation } from '../../src/kernels/data.js';
import { normalizePixelRef, rotateImageRef } from '../../src/reference/mnist-input.js';
import { RANDOM_STREAM, rotationAngleRef, shufflePermutationRef } from '../../src/reference/random.js';
import { cropFlipDrawsRef, cropFlipRef } from '../../src/reference/augment.js';
import { TOLERANCE, allCloseReport, expectAllClose, randomArray } from '../helpers/allclose.js';
import { gpuTest } from '../helpers/gpu.js';

const MEAN = 0.1307;
const DEVIATION = 0.3081;
/** A batch label the kernel never writes. */
const NO_LABEL = 0xdeadbeef;

/** Bytes four to a u32, little-endian (byte i is bits 8·(i mod 4) … of word ⌊i/4⌋). */
function packBytes(bytes: ArrayLike<number>): Uint32Array {
  const words = new Uint32Array(packedWords(bytes.length));
  for (let i = 0; i < bytes.length; i++) words[i >> 2]! |= (bytes[i]! & 0xff) << (8 * (i & 3));
  return words;
}

/** A synthetic u8 data set: `count` images of rows×cols bytes in [lo, 255], labels 0–9. */
function dataSet(count: number, rows: number, cols: number, seed: number, lo = 0) {
  const pixels = Array.from(randomArray(count * rows * cols, seed, lo, 256), Math.floor);
  const labels = Array.from(randomArray(count, seed + 1, 0, 10), Math.floor);
  return { count, rows, cols, pixels, labels };
}

type DataSet = ReturnType<typeof dataSet>;

interface BatchOptions {
  readonly first: number;
  readonly batch: number;
  readonly augment?: { readonly maxDegrees: number; readonly seed: number; readonly epoch: number };
}

/** Runs mnist_batch on poisoned outputs (NaN images, NO_LABEL labels); returns what it left. */
async function gpuBatch(ctx: GpuContext, data: DataSet, order: ArrayLike<number>, o: BatchOptions) {
  const area = data.rows * data.cols;
  const tpixels = ctx.tensor('pixels', [packedWords(data.count * area)], { dtype: 'u32', data: packBytes(data.pixels) });
  const tlabels = ctx.tensor('labels', [packedWords(data.count)], { dtype: 'u32', data: packBytes(data.labels) });
  const torder = ctx.tensor('order', [data.count], { dtype: 'u32', data: order });
  const timages = ctx.tensor('images', [o.batch, 1, data.rows, data.cols]);
  const tbatchLabels = ctx.tensor('batchLabels', [o.batch], { dtype: 'u32' });
  ctx.fill(timages, NaN);
  ctx.fill(tbatchLabels, NO_LABEL);
  const k = (await ctx.compile(mnistBatch)).bind(
    { pixels: tpixels, labels: tlabels, order: torder, images: timages, batchLabels: tbatchLabels },
    {
      count: data.count,
      first: o.first,
      batch: o.batch,
      rows: data.rows,
      cols: data.cols,
      augment: o.augment ? 1 : 0,
      maxDegrees: o.augment?.maxDegrees ?? 0,
      fill: 1,
      mean: MEAN,
      deviation: DEVIATION,
      seed: o.augment?.seed ?? 0,
      stream: RANDOM_STREAM.rotation,
      epoch: o.augment?.epoch ?? 0,
    },
  );
  ctx.submit('mnist batch test', (e) => recordPass(e, 'mnist batch test', [k]));
  return { images: await ctx.read(timages), labels: await ctx.read(tbatchLabels) };
}

/** The bytes of image `index`. */
const imageBytes = (data: DataSet, index: number) => data.pixels.slice(index * data.rows * data.cols, (index + 1) * data.rows * data.cols);

/** The reference image of batch sample b (position first + b of the order), rotated or not. */
function expectedImage(data: DataSet, order: ArrayLike<number>, o: BatchOptions, b: number): Float64Array {
  const bytes = imageBytes(data, order[o.first + b]!);
  if (!o.augment) return Float64Array.from(bytes, normalizePixelRef);
  const degrees = rotationAngleRef(o.augment.seed, o.augment.epoch, o.first + b, o.augment.maxDegrees);
  return Float64Array.from(rotateImageRef(bytes, data.rows, data.cols, degrees, 1), normalizePixelRef);
}

/** Pixels of `actual` outside the forward tolerance of `expected`. */
function mismatches(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  let count = 0;
  for (let i = 0; i < expected.length; i++) if (allCloseReport([actual[i]!], [expected[i]!], TOLERANCE.forward)) count++;
  return count;
}

describe('shuffle_permutation', () => {
  for (const [count, seed, epoch] of [
    [1, 1, 0],
    [2, 2, 0],
    [7, 3, 1],
    [1000, 4, 0],
    [1000, 4, 1],
    [1000, 0xfeedface, 12345],
  ] as const) {
    gpuTest(`${count} elements, seed ${seed}, epoch ${epoch}`, async (ctx) => {
      const t = ctx.tensor('permutation', [count], { dtype: 'u32' });
      ctx.fill(t, NO_LABEL);
      const k = (await ctx.compile(shufflePermutation)).bind({ permutation: t }, { count, seed, stream: RANDOM_STREAM.shuffle, epoch });
      ctx.submit('shuffle test', (e) => recordPass(e, 'shuffle test', [k]));
      const perm = Array.from(await ctx.read(t));
      expect(perm).toEqual(Array.from(shufflePermutationRef(count, seed, epoch)));
      expect([...perm].sort((a, b) => a - b), 'a permutation').toEqual(Array.from({ length: count }, (_, i) => i));
    });
  }
});

describe('mnist_batch', () => {
  // 11 images of 5×7 (35 pixels: not a multiple of the 64-wide workgroup), a shuffled order.
  const data = dataSet(11, 5, 7, 2024);
  const order = shufflePermutationRef(data.count, 9, 3);

  for (const [first, batch] of [
    [0, 1],
    [0, 4],
    [4, 4],
    [0, 11],
  ] as const) {
    gpuTest(`no augmentation: samples ${first} … ${first + batch - 1}`, async (ctx) => {
      const o = { first, batch };
      const gpu = await gpuBatch(ctx, data, order, o);
      for (let b = 0; b < batch; b++) {
        const area = data.rows * data.cols;
        expectAllClose(`image of sample ${b}`, gpu.images.subarray(b * area, (b + 1) * area), expectedImage(data, order, o, b), TOLERANCE.forward);
      }
      expect(Array.from(gpu.labels), 'labels').toEqual(Array.from({ length: batch }, (_, b) => data.labels[order[first + b]!]!));
    });
  }

  gpuTest('a batch past the end of the split fills its first samples and leaves the rest', async (ctx) => {
    const o = { first: 8, batch: 5 };
    const gpu = await gpuBatch(ctx, data, order, o);
    const area = data.rows * data.cols;
    for (let b = 0; b < 3; b++) {
      expectAllClose(`image of sample ${b}`, gpu.images.subarray(b * area, (b + 1) * area), expectedImage(data, order, o, b), TOLERANCE.forward);
    }
    expect(Array.from(gpu.images.subarray(3 * area), Number.isNaN).every(Boolean), 'samples 3 and 4 untouched (NaN)').toBe(true);
    expect(Array.from(gpu.labels)).toEqual([data.labels[order[8]!], data.labels[order[9]!], data.labels[order[10]!], NO_LABEL, NO_LABEL]);
  });

  // Rotation by at most 7° moves no pixel of a 5×7 image (the offsets stay under half a pixel):
  // these 11 images are 13×15 (195 pixels), where it does.
  const wide = dataSet(11, 13, 15, 4242);
  for (const [first, batch, seed, epoch] of [
    [0, 11, 5, 0],
    [3, 6, 77, 4],
    [10, 3, 8, 1],
  ] as const) {
    gpuTest(`rotation (±7°, fill 1): samples ${first} … ${first + batch - 1} of 13×15 images, seed ${seed}, epoch ${epoch}`, async (ctx) => {
      const o = { first, batch, augment: { maxDegrees: 7, seed, epoch } };
      const gpu = await gpuBatch(ctx, wide, order, o);
      const area = wide.rows * wide.cols;
      const samples = Math.min(batch, wide.count - first);
      let wrong = 0;
      let moved = 0;
      for (let b = 0; b < samples; b++) {
        const image = gpu.images.subarray(b * area, (b + 1) * area);
        wrong += mismatches(image, expectedImage(wide, order, o, b));
        moved += mismatches(image, expectedImage(wide, order, { first, batch }, b));
      }
      // Nearest-neighbour sampling floors a rotated coordinate, so where it lies close to an
      // integer the GPU's f32 angle, sin and cos and the reference's float64 ones can pick
      // neighbouring pixels. WGSL only promises sin and cos to 2⁻¹¹ absolute: up to 0.01 px at
      // 20 px from the centre, so about 2% of the coordinates could floor the other way. Allow
      // that (lavapipe measured 0 of 3,510 here).
      expect(wrong, `pixels that differ from the reference rotation, of ${samples * area}`).toBeLessThanOrEqual(0.02 * samples * area);
      expect(moved, 'pixels the rotation changed').toBeGreaterThan(0.05 * samples * area);
      expect(Array.from(gpu.images.subarray(samples * area), Number.isNaN).every(Boolean), 'samples past the end untouched').toBe(true);
      const labels = Array.from({ length: batch }, (_, b) => (b < samples ? wide.labels[order[first + b]!]! : NO_LABEL));
      expect(Array.from(gpu.labels)).toEqual(labels);
    });
  }

  gpuTest('rotation by a large angle (28×28, ±90°) moves pixels and brings in the fill', async (ctx) => {
    // Bytes ≥ 2, so a pixel equal to the fill (1) came from outside the image.
    const big = dataSet(4, 28, 28, 99, 2);
    const bigOrder = [2, 0, 3, 1];
    const augment = { maxDegrees: 90, seed: 31, epoch: 2 };
    const o = { first: 0, batch: 4, augment };
    const gpu = await gpuBatch(ctx, big, bigOrder, o);
    const area = 28 * 28;
    const angles = Array.from({ length: 4 }, (_, b) => rotationAngleRef(augment.seed, augment.epoch, b, augment.maxDegrees));
    const b = angles.reduce((best, a, i) => (Math.abs(a) > Math.abs(angles[best]!) ? i : best), 0);
    expect(Math.abs(angles[b]!), 'the largest angle of the batch').toBeGreaterThan(20);
    const image = gpu.images.subarray(b * area, (b + 1) * area);
    // Nearest-neighbour sampling: see the ±7° test.
    expect(mismatches(image, expectedImage(big, bigOrder, o, b)), 'pixels that differ from the reference rotation').toBeLessThanOrEqual(0.02 * area);
    const unrotated = Float64Array.from(imageBytes(big, bigOrder[b]!), normalizePixelRef);
    expect(mismatches(image, unrotated), 'pixels that moved').toBeGreaterThan(area / 2);
    const fill = normalizePixelRef(1);
    const filled = Array.from(image).filter((v) => Math.abs(v - fill) <= 1e-5).length;
    expect(filled, 'fill pixels').toBeGreaterThan(10);
  });
});

/** Inputs of `count` samples in windows of `window` samples, each a tensor of its own (as uploadSplit keeps a split past one binding). */
function windowsOf(ctx: GpuContext, inputs: ArrayLike<number>, count: number, size: number, window: number) {
  const data = Float32Array.from(inputs);
  return Array.from({ length: Math.ceil(count / window) }, (_, k) => {
    const first = k * window;
    const n = Math.min(window, count - first);
    return { inputs: ctx.tensor(`inputs ${first}…`, [n * size], { data: data.subarray(first * size, (first + n) * size) }), first, count: n };
  });
}

/** gather_batch's CROP_FLIP parameters, unused without it. */
const NO_CROP_FLIP = { height: 0, width: 0, padding: 0, flipP: 0, seed: 0, stream: 0, epoch: 0 };

describe('gather_batch: a float data set\'s batches, as they are', () => {
  /** Runs gather_batch on poisoned outputs (TARGETS where targetSize > 0); returns what it left and what indexing gives. */
  async function gather(ctx: GpuContext, count: number, size: number, first: number, batch: number, seed: number, targetSize = 0, window = count) {
    const inputs = randomArray(count * size, seed, -3, 3);
    const labels = Uint32Array.from(randomArray(count, seed + 1, 0, 1000), Math.floor);
    const order = shufflePermutationRef(count, seed, 1);
    const t = {
      inputs: ctx.tensor('inputs', [count * size], { data: inputs }),
      labels: ctx.tensor('labels', [count], { dtype: 'u32', data: labels }),
      order: ctx.tensor('order', [count], { dtype: 'u32', data: order }),
      images: ctx.tensor('images', [batch * size]),
      batchLabels: ctx.tensor('batchLabels', [batch], { dtype: 'u32' }),
    };
    ctx.fill(t.images, NaN);
    ctx.fill(t.batchLabels, NO_LABEL);
    const targets = Float32Array.from(randomArray(count * Math.max(1, targetSize), seed + 2, -5, 5));
    const batchTargets = ctx.tensor('batchTargets', [batch * Math.max(1, targetSize)]);
    ctx.fill(batchTargets, NaN);
    const params = { count, first, batch, size, targetSize, ...NO_CROP_FLIP };
    const kernel = await ctx.compile(gatherBatch, targetSize > 0 ? { TARGETS: true } : {});
    const targetTensors = targetSize > 0 ? { targets: ctx.tensor('targets', [targets.length], { data: targets }), batchTargets } : {};
    // The inputs in windows of `window` samples, a dispatch each (a split past one binding: src/train/gpu-dataset.ts).
    const ks = windowsOf(ctx, inputs, count, size, window).map((w) => kernel.bind({ ...t, inputs: w.inputs, ...targetTensors } as never, { ...params, windowFirst: w.first, windowCount: w.count }));
    ctx.submit('gather test', (e) => recordPass(e, 'gather test', ks));
    const samples = Math.min(batch, count - first);
    const expected = new Float32Array(batch * size).fill(NaN);
    const expectedLabels = new Array<number>(batch).fill(NO_LABEL);
    const expectedTargets = new Float32Array(batch * Math.max(1, targetSize)).fill(NaN);
    for (let b = 0; b < samples; b++) {
      const sample = order[first + b]!;
      expected.set(Float32Array.from(inputs.subarray(sample * size, (sample + 1) * size)), b * size);
      expectedLabels[b] = labels[sample]!;
      if (targetSize > 0) expectedTargets.set(targets.subarray(sample * targetSize, (sample + 1) * targetSize), b * targetSize);
    }
    return { images: await ctx.read(t.images), labels: Array.from(await ctx.read(t.batchLabels)), expected, expectedLabels, targets: await ctx.read(batchTargets), expectedTargets };
  }

  for (const [count, size, first, batch] of [
    [7, 3, 0, 4], // a size that is no multiple of 4
    [7, 3, 4, 4], // the last batch: 3 samples, the rest untouched
    [10, 75, 6, 5], // [3, 5, 5] images
    [60, 1, 17, 32], // one feature a sample
  ] as const) {
    gpuTest(`${count} samples of ${size}, batch ${batch} from ${first}`, async (ctx) => {
      const r = await gather(ctx, count, size, first, batch, count + size);
      // A copy: the same bits, NaN where no sample is (Object.is tells NaN and -0 apart, toEqual on arrays does).
      expect(Array.from(r.images).every((v, i) => Object.is(v, r.expected[i])), 'images bit for bit').toBe(true);
      expect(r.labels).toEqual(r.expectedLabels);
    });
  }

  // Targets shorter and longer than the inputs (the grid covers the longer), a last batch.
  for (const [count, size, first, batch, targetSize] of [
    [9, 3, 4, 4, 2],
    [9, 2, 8, 4, 7],
    [40, 5, 0, 16, 1],
  ] as const) {
    gpuTest(`TARGETS: ${count} samples of ${size} with ${targetSize} targets each, batch ${batch} from ${first}`, async (ctx) => {
      const r = await gather(ctx, count, size, first, batch, count * size, targetSize);
      expect(Array.from(r.images).every((v, i) => Object.is(v, r.expected[i])), 'images bit for bit').toBe(true);
      expect(Array.from(r.targets).every((v, i) => Object.is(v, r.expectedTargets[i])), 'targets bit for bit').toBe(true);
      expect(r.labels).toEqual(r.expectedLabels);
    });
  }

  gpuTest('a real size: CIFAR-10\'s 3×32×32 at batch 128, from a set of 1,000', async (ctx) => {
    const r = await gather(ctx, 1000, 3 * 32 * 32, 896, 128, 5);
    expect(Array.from(r.images).every((v, i) => Object.is(v, r.expected[i])), 'images bit for bit').toBe(true);
    expect(r.labels).toEqual(r.expectedLabels);
  });

  gpuTest('inputs in windows (a split past one binding): each dispatch writes the batch\'s samples its window holds — inputs, labels and targets as from one window', async (ctx) => {
    for (const [count, size, first, batch, targetSize, window] of [[50, 7, 0, 32, 0, 13], [50, 7, 32, 32, 3, 17], [1000, 3 * 32 * 32, 896, 128, 0, 333]] as const) {
      const r = await gather(ctx, count, size, first, batch, 9, targetSize, window);
      expect(Array.from(r.images).every((v, i) => Object.is(v, r.expected[i])), `${count} × ${size} in windows of ${window}: images bit for bit`).toBe(true);
      expect(r.labels).toEqual(r.expectedLabels);
      if (targetSize > 0) expect(Array.from(r.targets).every((v, i) => Object.is(v, r.expectedTargets[i])), 'targets bit for bit').toBe(true);
    }
  });
});

/** A crop-and-flip case: `fill` one value for all channels, or one a channel. */
interface CropCase { count: number; shape: readonly number[]; first: number; batch: number; padding: number; flipP: number; fill: number | readonly number[]; seed: number; epoch: number; window?: number }

describe('gather_batch CROP_FLIP: torchvision\'s RandomCrop(padding) then RandomHorizontalFlip(p), drawn per sample', () => {
  /** Runs the variant on poisoned outputs; returns what it left, the reference's batch and the draws. */
  async function cropFlip(ctx: GpuContext, o: CropCase) {
    const size = o.shape.reduce((a, b) => a * b, 1);
    const [height, width] = o.shape.slice(-2) as [number, number];
    // The padding's value a channel: one number is every channel's (C copies), a list is one a channel.
    const channels = size / (height * width);
    const fills = Float32Array.from({ length: channels }, (_, c) => (typeof o.fill === 'number' ? o.fill : o.fill[c]!));
    const inputs = Float32Array.from(randomArray(o.count * size, o.seed, -3, 3));
    const labels = Uint32Array.from(randomArray(o.count, o.seed + 1, 0, 1000), Math.floor);
    const order = shufflePermutationRef(o.count, o.seed, 2);
    const t = {
      inputs: ctx.tensor('inputs', [inputs.length], { data: inputs }),
      labels: ctx.tensor('labels', [o.count], { dtype: 'u32', data: labels }),
      order: ctx.tensor('order', [o.count], { dtype: 'u32', data: order }),
      images: ctx.tensor('images', [o.batch * size]),
      batchLabels: ctx.tensor('batchLabels', [o.batch], { dtype: 'u32' }),
      fills: ctx.tensor('fills', [channels], { data: fills }),
    };
    ctx.fill(t.images, NaN);
    ctx.fill(t.batchLabels, NO_LABEL);
    const params = { count: o.count, first: o.first, batch: o.batch, size, targetSize: 0, height, width, padding: o.padding, flipP: o.flipP, seed: o.seed, stream: RANDOM_STREAM.cropFlip, epoch: o.epoch };
    const kernel = await ctx.compile(gatherBatch, { CROP_FLIP: true });
    const ks = windowsOf(ctx, inputs, o.count, size, o.window ?? o.count).map((w) => kernel.bind({ ...t, inputs: w.inputs }, { ...params, windowFirst: w.first, windowCount: w.count }));
    ctx.submit('crop test', (e) => recordPass(e, 'crop test', ks));
    const samples = Math.min(o.batch, o.count - o.first);
    const expected = new Float32Array(o.batch * size).fill(NaN);
    const draws = [];
    for (let b = 0; b < samples; b++) {
      const sample = order[o.first + b]!;
      const d = cropFlipDrawsRef(o.seed, o.epoch, o.first + b, o.padding, o.flipP);
      draws.push(d);
      expected.set(Float32Array.from(cropFlipRef(inputs.subarray(sample * size, (sample + 1) * size), height, width, d, o.padding, fills)), b * size);
    }
    return { images: await ctx.read(t.images), labels: Array.from(await ctx.read(t.batchLabels)), expected, draws, expectedLabels: Array.from({ length: o.batch }, (_, b) => (b < samples ? labels[order[o.first + b]!]! : NO_LABEL)) };
  }

  for (const o of [
    { count: 11, shape: [3, 5, 7], first: 0, batch: 8, padding: 2, flipP: 0.5, fill: 0, seed: 3, epoch: 1 }, // 105 values a sample: a sample's draws change inside an invocation's four
    { count: 11, shape: [3, 5, 7], first: 8, batch: 8, padding: 3, flipP: 0.5, fill: -1.25, seed: 4, epoch: 2 }, // the last batch of 3; padding wider than half the height
    { count: 9, shape: [6, 4], first: 1, batch: 8, padding: 1, flipP: 0.3, fill: 0.5, seed: 5, epoch: 7 }, // [H, W] samples
    { count: 20, shape: [1, 3, 2], first: 0, batch: 20, padding: 5, flipP: 0, fill: 2, seed: 6, epoch: 1 }, // a crop only (the padding past the image: whole rows of fill)
    { count: 20, shape: [2, 3, 9], first: 0, batch: 20, padding: 0, flipP: 1, fill: 0, seed: 7, epoch: 1 }, // a flip only, every sample
    { count: 23, shape: [3, 5, 7], first: 8, batch: 12, padding: 2, flipP: 0.5, fill: 0.25, seed: 8, epoch: 4, window: 6 }, // the inputs in four windows (a split past one binding)
    // A fill a channel (colour images' black after Normalize: −mean[c]/std[c]).
    { count: 11, shape: [3, 5, 7], first: 3, batch: 8, padding: 2, flipP: 0.5, fill: [-1.9894737, -1.9803922, -1.7068965], seed: 12, epoch: 2 }, // CIFAR's three channels; a sample's draws change inside an invocation's four
    { count: 9, shape: [4, 3, 2], first: 0, batch: 9, padding: 3, flipP: 1, fill: [0.5, -2, 3.25, -0.125], seed: 13, epoch: 1 }, // four channels (RGBA), padding past the image, every sample flipped
    { count: 17, shape: [5, 2, 3], first: 5, batch: 7, padding: 1, flipP: 0.5, fill: [1, 2, 3, 4, 5], seed: 14, epoch: 3, window: 4 }, // five channels, the inputs in five windows
    { count: 6, shape: [1, 4, 4], first: 0, batch: 6, padding: 2, flipP: 0, fill: [-0.75], seed: 15, epoch: 1 }, // one channel, a list of one
  ] as CropCase[]) {
    gpuTest(`${o.count} samples of [${o.shape.join(', ')}], batch ${o.batch} from ${o.first}, padding ${o.padding}, flip p ${o.flipP}, fill ${typeof o.fill === 'number' ? o.fill : `[${o.fill.join(', ')}] a channel`}${o.window ? `, in windows of ${o.window}` : ''}`, async (ctx) => {
      const r = await cropFlip(ctx, o);
      expect(Array.from(r.images).every((v, i) => Object.is(v, r.expected[i])), 'images bit for bit, NaN past the samples').toBe(true);
      expect(r.labels).toEqual(r.expectedLabels);
      // The draws cover what they should: offsets within [0, 2·padding], flips as p allows.
      for (const d of r.draws) expect(d.top <= 2 * o.padding && d.left <= 2 * o.padding).toBe(true);
      if (o.flipP === 1) expect(r.draws.every((d) => d.flipped)).toBe(true);
      if (o.flipP === 0) expect(r.draws.some((d) => d.flipped)).toBe(false);
      if (o.padding === 0) expect(r.draws.every((d) => d.top === 0 && d.left === 0)).toBe(true);
    });
  }

  gpuTest('a real size: CIFAR-10\'s 3×32×32 at batch 128, padding 4, p 0.5, from a set of 1,000; another epoch draws anew', async (ctx) => {
    const o = { count: 1000, shape: [3, 32, 32], first: 640, batch: 128, padding: 4, flipP: 0.5, fill: 0, seed: 11, epoch: 3 };
    const r = await cropFlip(ctx, o);
    expect(Array.from(r.images).every((v, i) => Object.is(v, r.expected[i])), 'images bit for bit').toBe(true);
    expect(r.labels).toEqual(r.expectedLabels);
    const flips = r.draws.filter((d) => d.flipped).length;
    expect(flips).toBeGreaterThan(40);
    expect(flips).toBeLessThan(88);
    expect(new Set(r.draws.map((d) => d.top)).size).toBe(9);
    const next = await cropFlip(ctx, { ...o, epoch: 4 });
    expect(next.draws.filter((d, b) => d.top === r.draws[b]!.top && d.left === r.draws[b]!.left && d.flipped === r.draws[b]!.flipped).length).toBeLessThan(10);
  });
});

/** A colour split case: samples of [C, H, W] bytes, a batch, optionally cropped and flipped (fills a channel), targets, windows of a few samples. */
interface ByteCase { count: number; shape: readonly [number, number, number]; first: number; batch: number; crop?: { padding: number; flipP: number; fills: readonly number[] }; targetSize?: number; window?: number; seed: number }

describe('gather_batch BYTES: a colour split\'s bytes looked up in its table, the float variant\'s batch to the bit', () => {
  /** Bytes of `size` a sample as u32 words, each sample from a word of its own (its last zero-padded): the test's own packing, sample by sample. */
  function sampleWordsOf(bytes: Uint8Array, size: number, first: number, count: number): Uint32Array {
    const words = packedWords(size);
    const out = new Uint32Array(count * words);
    for (let s = 0; s < count; s++) out.set(packBytes(bytes.subarray((first + s) * size, (first + s + 1) * size)), s * words);
    return out;
  }

  /** The same batch cut twice on poisoned outputs: from the floats (the float variant) and from the bytes and table (BYTES), each in windows of `window` samples. */
  async function both(ctx: GpuContext, o: ByteCase) {
    const [channels, height, width] = o.shape;
    const size = channels * height * width;
    const bytes = Uint8Array.from(randomArray(o.count * size, o.seed, 0, 256), Math.floor);
    // A table of distinct values a channel (a Normalize's): byte v of channel c is (v / 255 − m[c]) / s[c].
    const table = Float32Array.from({ length: channels * 256 }, (_, k) => (k % 256 / 255 - 0.3 - 0.1 * Math.floor(k / 256)) / (0.2 + 0.05 * Math.floor(k / 256)));
    const inputs = Float32Array.from(bytes, (v, i) => table[Math.floor((i % size) / (height * width)) * 256 + v]!);
    const labels = Uint32Array.from(randomArray(o.count, o.seed + 1, 0, 1000), Math.floor);
    const order = shufflePermutationRef(o.count, o.seed, 3);
    const targetSize = o.targetSize ?? 0;
    const targets = Float32Array.from(randomArray(o.count * Math.max(1, targetSize), o.seed + 2, -5, 5));
    const window = o.window ?? o.count;
    const shared = {
      labels: ctx.tensor('labels', [o.count], { dtype: 'u32', data: labels }),
      order: ctx.tensor('order', [o.count], { dtype: 'u32', data: order }),
      ...(o.crop ? { fills: ctx.tensor('fills', [channels], { data: Float32Array.from(o.crop.fills) }) } : {}),
      ...(targetSize > 0 ? { targets: ctx.tensor('targets', [targets.length], { data: targets }) } : {}),
    };
    const params = { count: o.count, first: o.first, batch: o.batch, size, targetSize, height, width, padding: o.crop?.padding ?? 0, flipP: o.crop?.flipP ?? 0, seed: o.seed, stream: RANDOM_STREAM.cropFlip, epoch: 2 };
    const variant = { ...(o.crop ? { CROP_FLIP: true } : {}), ...(targetSize > 0 ? { TARGETS: true } : {}) };
    const run = async (byteVariant: boolean) => {
      const out = { images: ctx.tensor('images', [o.batch * size]), batchLabels: ctx.tensor('batchLabels', [o.batch], { dtype: 'u32' }), ...(targetSize > 0 ? { batchTargets: ctx.tensor('batchTargets', [o.batch * targetSize]) } : {}) };
      ctx.fill(out.images, NaN);
      ctx.fill(out.batchLabels, NO_LABEL);
      if (out.batchTargets) ctx.fill(out.batchTargets, NaN);
      const kernel = await ctx.compile(gatherBatch, { ...variant, ...(byteVariant ? { BYTES: true } : {}) });
      const tableTensor = ctx.tensor('table', [table.length], { data: table });
      const ks = windowsOf(ctx, inputs, o.count, size, window).map((w) => {
        const source = byteVariant ? { pixels: ctx.tensor(`pixels ${w.first}…`, [w.count * packedWords(size)], { dtype: 'u32', data: sampleWordsOf(bytes, size, w.first, w.count) }), table: tableTensor } : { inputs: w.inputs };
        return kernel.bind({ ...shared, ...out, ...source } as never, { ...params, windowFirst: w.first, windowCount: w.count });
      });
      ctx.submit('bytes test', (e) => recordPass(e, 'bytes test', ks));
      return { images: await ctx.read(out.images), labels: Array.from(await ctx.read(out.batchLabels)), targets: out.batchTargets ? await ctx.read(out.batchTargets) : new Float32Array(0) };
    };
    return { floats: await run(false), bytes: await run(true), samples: Math.min(o.batch, o.count - o.first) };
  }

  const fills = (c: number) => Array.from({ length: c }, (_, k) => -1.5 - 0.25 * k);
  for (const o of [
    { count: 9, shape: [1, 3, 5], first: 0, batch: 8, seed: 21 }, // one channel, 15 bytes a sample: words that end inside it, padded
    { count: 9, shape: [3, 5, 7], first: 4, batch: 8, seed: 22 }, // CIFAR's three channels, 105 bytes; the last batch of 5
    { count: 10, shape: [4, 3, 2], first: 2, batch: 6, seed: 23 }, // four channels (RGBA), 24 bytes: whole words
    { count: 23, shape: [3, 5, 7], first: 8, batch: 12, window: 5, seed: 24 }, // windows of five samples
    { count: 11, shape: [1, 7, 3], first: 0, batch: 11, window: 3, targetSize: 2, seed: 25 }, // regression targets, windows of three
    { count: 11, shape: [3, 5, 7], first: 3, batch: 8, crop: { padding: 2, flipP: 0.5, fills: fills(3) }, seed: 26 }, // crop and flip, a fill a channel
    { count: 17, shape: [4, 3, 5], first: 5, batch: 9, crop: { padding: 3, flipP: 0.5, fills: fills(4) }, window: 4, seed: 27 }, // padding past the image, windows of four
    { count: 13, shape: [1, 6, 5], first: 0, batch: 13, crop: { padding: 1, flipP: 1, fills: fills(1) }, window: 6, seed: 28 }, // every sample flipped, 30 bytes a sample
  ] as ByteCase[]) {
    gpuTest(`${o.count} samples of [${o.shape.join(', ')}], batch ${o.batch} from ${o.first}${o.crop ? `, padding ${o.crop.padding}, flip p ${o.crop.flipP}` : ''}${o.targetSize ? `, ${o.targetSize} targets` : ''}${o.window ? `, in windows of ${o.window}` : ''}`, async (ctx) => {
      const r = await both(ctx, o);
      // The float variant's own correctness is the tests above; here the bytes give its bits, NaN where no sample is.
      expect(Array.from(r.bytes.images).every((v, i) => Object.is(v, r.floats.images[i])), 'images bit for bit').toBe(true);
      expect(r.floats.images.slice(0, r.samples * o.shape.reduce((a, b) => a * b, 1)).some(Number.isNaN), 'every sample written').toBe(false);
      expect(r.bytes.labels).toEqual(r.floats.labels);
      expect(Array.from(r.bytes.targets).every((v, i) => Object.is(v, r.floats.targets[i])), 'targets bit for bit').toBe(true);
    });
  }

  gpuTest('a real size: CIFAR-10\'s 3×32×32 at batch 128 from a set of 1,000 in windows of 333, padding 4, p 0.5', async (ctx) => {
    const o: ByteCase = { count: 1000, shape: [3, 32, 32], first: 640, batch: 128, crop: { padding: 4, flipP: 0.5, fills: fills(3) }, window: 333, seed: 29 };
    const r = await both(ctx, o);
    expect(Array.from(r.bytes.images).every((v, i) => Object.is(v, r.floats.images[i])), 'images bit for bit').toBe(true);
    expect(r.bytes.labels).toEqual(r.floats.labels);
  });

  gpuTest('BYTES refuses parameters whose size is no whole number of height × width planes (a byte\'s channel is its plane)', async (ctx) => {
    const kernel = await ctx.compile(gatherBatch, { BYTES: true });
    const t = { labels: ctx.tensor('labels', [2], { dtype: 'u32' }), order: ctx.tensor('order', [2], { dtype: 'u32' }), images: ctx.tensor('images', [10]), batchLabels: ctx.tensor('batchLabels', [2], { dtype: 'u32' }), pixels: ctx.tensor('pixels', [4], { dtype: 'u32' }), table: ctx.tensor('table', [0]) };
    expect(() => kernel.bind(t, { count: 2, first: 0, batch: 2, size: 5, targetSize: 0, ...NO_CROP_FLIP, windowFirst: 0, windowCount: 2 })).toThrow(/variant BYTES cannot run these parameters: bytes of \[C, H, W\] samples: size 5 is no whole number of height 0 × width 0 planes/);
  });
});
