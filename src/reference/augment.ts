/**
 * The training-time image transforms of a float data set (gather_batch's CROP_FLIP variant),
 * torchvision's semantics: RandomCrop(size = the sample's own, padding, fill) then
 * RandomHorizontalFlip(p), with the draws of the counter-based generator (src/reference/random.ts)
 * so that a seed gives the kernel's batches bit for bit.
 */
import { RANDOM_STREAM, philox4x32, randomBelowRef } from './random.js';

export interface CropFlip {
  /** Pixels of `fill` added on each side before the crop (torchvision's padding, one for all four). */
  readonly padding: number;
  /** The probability of a horizontal flip (torchvision's RandomHorizontalFlip p). */
  readonly flipP: number;
  /** The padding's value: one for all channels, or one a channel. */
  readonly fill: number | readonly number[];
}

/** Sample position `position` of epoch `epoch`'s order: its crop's top and left in the padded image, and whether it flips. */
export function cropFlipDrawsRef(seed: number, epoch: number, position: number, padding: number, flipP: number): { top: number; left: number; flipped: boolean } {
  const [w0, w1, w2] = philox4x32([position, epoch, RANDOM_STREAM.cropFlip, 0], [seed, 0]);
  const span = 2 * padding + 1;
  return { top: randomBelowRef(w0, span), left: randomBelowRef(w1, span), flipped: (w2 >>> 8) * 2 ** -24 < Math.fround(flipP) };
}

/**
 * One [C, H, W] sample (C·H·W values) padded by `padding` pixels of `fill` on each side (one value
 * for all channels, or fill[c] in channel c: torchvision's fill tuple), cropped
 * back to H × W with its top-left corner at (top, left) of the padded image, then mirrored left to
 * right where `flipped` (the crop first, as transforms.Compose([RandomCrop, RandomHorizontalFlip])).
 */
export function cropFlipRef(sample: ArrayLike<number>, height: number, width: number, draws: { top: number; left: number; flipped: boolean }, padding: number, fill: number | ArrayLike<number>): Float64Array {
  const area = height * width;
  const channels = sample.length / area;
  if (typeof fill !== 'number' && fill.length !== channels) throw new RangeError(`cropFlipRef: ${fill.length} fill values for ${channels} channels`);
  // The padded image, built as torchvision pads: fill all round.
  const ph = height + 2 * padding;
  const pw = width + 2 * padding;
  const padded = new Float64Array(channels * ph * pw);
  for (let c = 0; c < channels; c++) {
    padded.fill(typeof fill === 'number' ? fill : fill[c]!, c * ph * pw, (c + 1) * ph * pw);
    for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) padded[c * ph * pw + (y + padding) * pw + x + padding] = sample[c * area + y * width + x]!;
  }
  const cropped = new Float64Array(channels * area);
  for (let c = 0; c < channels; c++) {
    for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) cropped[c * area + y * width + x] = padded[c * ph * pw + (y + draws.top) * pw + x + draws.left]!;
  }
  if (!draws.flipped) return cropped;
  const out = new Float64Array(cropped.length);
  for (let c = 0; c < channels; c++) {
    for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) out[c * area + y * width + x] = cropped[c * area + y * width + (width - 1 - x)]!;
  }
  return out;
}
