/**
 * The data pipeline on the GPU: the epoch's shuffle, and batches gathered from the resident data
 * set: uint8 images with normalisation and random rotation (an ImageSplit), or float inputs as
 * they are (a TensorSplit, or a ColourSplit's bytes looked up in its table). Kernels: shaders/shuffle_permutation.wgsl, mnist_batch.wgsl,
 * gather_batch.wgsl. CPU reference: src/reference/random.ts, src/reference/mnist-input.ts (a
 * gather's is indexing: its test indexes).
 */
import { defineKernel } from '../gpu/kernel.js';
import shuffleSource from '../../shaders/shuffle_permutation.wgsl?raw';
import batchSource from '../../shaders/mnist_batch.wgsl?raw';
import gatherSource from '../../shaders/gather_batch.wgsl?raw';
import philoxSource from '../../shaders/lib/philox.wgsl?raw';

/** u32 words holding `bytes` bytes, four to a word. */
export const packedWords = (bytes: number) => Math.ceil(bytes / 4);

/** permutation = the epoch's Fisher–Yates shuffle of 0 … count − 1  (overwrites permutation) */
export const shufflePermutation = defineKernel({
  name: 'shuffle_permutation',
  source: shuffleSource,
  libraries: [philoxSource],
  params: { count: 'u32', seed: 'u32', stream: 'u32', epoch: 'u32' },
  bindings: {
    permutation: { type: 'u32', access: 'read_write' },
  },
  workgroupSize: [1],
  grid: () => [1],
  lengths: (p) => ({ permutation: p.count }),
});

/** images, batchLabels = batch `first … first + batch − 1` of the epoch's order  (overwrites both) */
export const mnistBatch = defineKernel({
  name: 'mnist_batch',
  linear: true,
  source: batchSource,
  libraries: [philoxSource],
  params: {
    count: 'u32',
    first: 'u32',
    batch: 'u32',
    rows: 'u32',
    cols: 'u32',
    augment: 'u32',
    maxDegrees: 'f32',
    fill: 'u32',
    mean: 'f32',
    deviation: 'f32',
    seed: 'u32',
    stream: 'u32',
    epoch: 'u32',
  },
  bindings: {
    pixels: { type: 'u32', access: 'read' },
    labels: { type: 'u32', access: 'read' },
    order: { type: 'u32', access: 'read' },
    images: { type: 'f32', access: 'read_write' },
    batchLabels: { type: 'u32', access: 'read_write' },
  },
  workgroupSize: [64],
  // One invocation per image row.
  grid: (p) => [p.batch * p.rows],
  lengths: (p) => ({
    pixels: packedWords(p.count * p.rows * p.cols),
    labels: packedWords(p.count),
    order: p.count,
    images: p.batch * p.rows * p.cols,
    batchLabels: p.batch,
  }),
});

/**
 * images, batchLabels (and TARGETS: batchTargets) = samples `first … first + batch − 1` of the
 * epoch's order, as they are, or (CROP_FLIP) randomly cropped from their padding (`fills`: its
 * value, one a channel) and flipped (height, width, padding, flipP, seed, stream, epoch: unused
 * otherwise; BYTES reads height and width too); BYTES: the inputs a colour split's bytes
 * (`pixels`, each sample ⌈size / 4⌉ words) looked up in `table` (256 float32 a channel)
 * (overwrites them)
 */
export const gatherBatch = defineKernel({
  name: 'gather_batch',
  linear: true,
  source: gatherSource,
  libraries: [philoxSource],
  params: {
    count: 'u32',
    first: 'u32',
    batch: 'u32',
    size: 'u32',
    targetSize: 'u32',
    height: 'u32',
    width: 'u32',
    padding: 'u32',
    flipP: 'f32',
    seed: 'u32',
    stream: 'u32',
    epoch: 'u32',
    windowFirst: 'u32',
    windowCount: 'u32',
  },
  bindings: {
    inputs: { type: 'f32', access: 'read', unless: 'BYTES' },
    labels: { type: 'u32', access: 'read' },
    order: { type: 'u32', access: 'read' },
    images: { type: 'f32', access: 'read_write' },
    batchLabels: { type: 'u32', access: 'read_write' },
    // Not with CROP_FLIP, which leaves TARGETS out: at most eight storage bindings in any variant.
    targets: { type: 'f32', access: 'read', only: 'TARGETS', unless: 'CROP_FLIP' },
    batchTargets: { type: 'f32', access: 'read_write', only: 'TARGETS', unless: 'CROP_FLIP' },
    fills: { type: 'f32', access: 'read', only: 'CROP_FLIP' },
    pixels: { type: 'u32', access: 'read', only: 'BYTES' },
    table: { type: 'f32', access: 'read', only: 'BYTES' },
  },
  defines: ['TARGETS', 'CROP_FLIP', 'BYTES'],
  // A byte's channel is its place in the sample over height·width: the samples' [C, H, W], bound whether it crops or not.
  variantRequires: { BYTES: (p) => (p.height * p.width > 0 && p.size % (p.height * p.width) === 0 ? undefined : `bytes of [C, H, W] samples: size ${p.size} is no whole number of height ${p.height} × width ${p.width} planes`) },
  workgroupSize: [64],
  // One invocation per four elements of the batch's inputs or targets, the longer (a last batch binds its own, smaller grid).
  grid: (p) => [Math.ceil((p.batch * Math.max(p.size, p.targetSize)) / 4)],
  lengths: (p) => {
    const channels = p.height * p.width > 0 ? p.size / (p.height * p.width) : 0;
    return { inputs: p.windowCount * p.size, labels: p.count, order: p.count, images: p.batch * p.size, batchLabels: p.batch, targets: p.count * p.targetSize, batchTargets: p.batch * p.targetSize, fills: channels, pixels: p.windowCount * packedWords(p.size), table: 256 * channels };
  },
});
