/**
 * An MNIST split resident on the GPU: the uint8 images and labels uploaded once, four bytes to a
 * u32, and the epoch's order of the samples. Batches are cut from it by the `mnist_batch` kernel
 * (src/kernels/data.ts), so no image travels from the CPU during training.
 */
import type { Dispatch, GpuContext } from '../gpu/context.js';
import type { Tensor } from '../gpu/tensor.js';
import type { MnistSplit } from '../data/idx.js';
import { packedWords, shufflePermutation } from '../kernels/data.js';

export interface GpuSplit {
  readonly name: string;
  readonly count: number;
  readonly rows: number;
  readonly cols: number;
  readonly pixels: Tensor<'u32'>;
  readonly labels: Tensor<'u32'>;
  /** One more than the largest label: a model must have at least as many outputs. */
  readonly classes: number;
  /** The epoch's order of the samples (identity until shuffled). */
  readonly order: Tensor<'u32'>;
  /** The context whose device holds the tensors (a Trainer refuses a split of another). */
  readonly context: GpuContext;
}

/** Bytes as little-endian u32 words (zero-padded to a whole word). */
function packBytes(bytes: Uint8Array): Uint32Array {
  const padded = new Uint8Array(packedWords(bytes.length) * 4);
  padded.set(bytes);
  return new Uint32Array(padded.buffer);
}

/** Uploads the first `limit` samples of a split (all by default). */
export function uploadSplit(ctx: GpuContext, name: string, split: MnistSplit, limit = split.count): GpuSplit {
  const fail = (what: string) => new TypeError(`${name} split: ${what}`);
  const kind = (v: unknown) => (v as { constructor?: { name?: string } } | null)?.constructor?.name ?? typeof v;
  // Pixels are bytes, normalised on the GPU as MNIST's: floats in [0, 1] would be read as 0 or 1 of 255.
  if (!(split.images instanceof Uint8Array)) throw fail(`images must be a Uint8Array of pixels 0 … 255 (as MNIST's files hold them; they are normalised on the GPU), got ${kind(split.images)}`);
  if (!(split.labels instanceof Uint8Array)) throw fail(`labels must be a Uint8Array of class indices 0 … 255, got ${kind(split.labels)}`);
  for (const field of ['count', 'rows', 'cols'] as const) {
    if (!Number.isInteger(split[field]) || split[field] < 1) throw fail(`${field} must be a whole number ≥ 1, got ${JSON.stringify(split[field])}`);
  }
  const count = Math.min(limit, split.count);
  if (!(count >= 1)) throw new Error(`${name}: at least one sample is needed (limit ${limit}, the split has ${split.count})`);
  const area = split.rows * split.cols;
  if (split.images.length < count * area) throw fail(`images hold ${split.images.length} bytes, fewer than ${count} images of ${split.rows}×${split.cols} (${count * area})`);
  if (split.labels.length < count) throw fail(`labels hold ${split.labels.length}, fewer than the ${count} images`);
  const pixels = packBytes(split.images.subarray(0, count * area));
  const labels = packBytes(split.labels.subarray(0, count));
  let classes = 0;
  for (let i = 0; i < count; i++) classes = Math.max(classes, split.labels[i]! + 1);
  return {
    name,
    count,
    classes,
    rows: split.rows,
    cols: split.cols,
    pixels: ctx.tensor(`${name} pixels`, [pixels.length], { dtype: 'u32', data: pixels }),
    labels: ctx.tensor(`${name} labels`, [labels.length], { dtype: 'u32', data: labels }),
    order: ctx.tensor(`${name} order`, [count], { dtype: 'u32', data: Uint32Array.from({ length: count }, (_, i) => i) }),
    context: ctx,
  };
}

/** The dispatch that writes the epoch's shuffle of `split` into its order (one per epoch). */
export async function shuffleDispatch(ctx: GpuContext, split: GpuSplit, seed: number, stream: number): Promise<Dispatch & { update(p: { epoch: number }): void }> {
  return (await ctx.compile(shufflePermutation)).bind({ permutation: split.order }, { count: split.count, seed, stream, epoch: 0 }, `${split.name} shuffle`);
}
