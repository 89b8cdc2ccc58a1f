/**
 * Colour images from uint8 arrays, as torchvision presents them to a network: `ToTensor()` (value
 * / 255, HWC → CHW) then `Normalize(mean, std)` per channel — float32 samples [C, H, W].
 *
 *   uint8 [N, H, W, C] (channels last: Keras', NumPy's and PIL's layout) or [N, C, H, W] (channels
 *   first), C 1, 3 or 4, decided against the model's input [C, H, W]; where both fit (H = C = W,
 *   say) the model's own layout, channels first, is taken and said (`ambiguous`);
 *   x = (float32(v) / 255 − mean[c]) / std[c], each step rounded to float32 as PyTorch's float32
 *   tensors do (ToTensor's div(255) is a true division, not a multiplication by 1/255: every one of
 *   the 256 values is compared with torch's bits in test/data/tensor-data.test.ts);
 *   the default mean and std (channelStatistics): the training images' own, of v / 255, the
 *   population std (numpy's x.std(), as the CIFAR recipes compute them), in float64.
 *
 * The samples are kept as their bytes, channels first (channelsFirst), with the table of the 256
 * values a byte of each channel becomes (normalizedTable): the batch kernel looks them up on the GPU
 * (gather_batch's BYTES), a CPU reader with lookUpBytes, both the float32 above to the bit.
 *
 * Float samples of [C, H, W] may take the same Normalize (normalizeFloats). RandomCrop's padding of
 * such images (torchvision's recipe pads the uint8 image, before ToTensor and Normalize) is the fill
 * pixel's value after them, a channel (normalizedFill).
 */
import { shapeText } from './npy.js';

/** torchvision's Normalize(mean, std): one value a channel or one for all; `source` says where they came from, for messages. */
export interface Normalization {
  readonly mean: readonly number[];
  readonly std: readonly number[];
  readonly source: string;
}

/** How an array's images are laid out: channels last (HWC) or first (CHW). */
export interface ImageLayout {
  readonly order: 'HWC' | 'CHW';
  readonly channels: number;
  readonly rows: number;
  readonly cols: number;
  /** The other order would have fit the model too (the model's, channels first, was taken). */
  readonly ambiguous: boolean;
}

const CHANNELS = [1, 3, 4];

/** The layout of uint8 images `shape` ([N, a, b, c]) that gives the model's input [C, H, W]; refused naming the array where neither does. */
export function colourLayout(shape: readonly number[], input: readonly number[], source: string, name: string): ImageLayout {
  const [, a, b, c] = shape as [number, number, number, number];
  const [channels, rows, cols] = input as [number, number, number];
  const hwc = input.length === 3 && CHANNELS.includes(c) && c === channels && a === rows && b === cols;
  const chw = input.length === 3 && CHANNELS.includes(a) && a === channels && b === rows && c === cols;
  if (chw) return { order: 'CHW', channels, rows, cols, ambiguous: hwc };
  if (hwc) return { order: 'HWC', channels, rows, cols, ambiguous: false };
  const hint = input.length === 3 ? '' : ' (colour images become samples of [C, H, W]: give the model that input, a Flatten first where its first layer is dense)';
  throw new Error(`${source}: ${name} is uint8 ${shapeText(shape)}, colour images of [N, H, W, C] (channels last) or [N, C, H, W] (channels first) with C 1, 3 or 4; the model takes [${input.join(', ')}] per sample${hint}`);
}

/** A Normalize's values, one a channel: a single value is every channel's; another count is refused. */
function perChannel(values: readonly number[], channels: number, what: 'means' | 'stds', norm: Normalization, where: string): number[] {
  if (values.length === channels) return [...values];
  if (values.length === 1) return new Array<number>(channels).fill(values[0]!);
  throw new Error(`${where} has ${channels} channel${channels === 1 ? '' : 's'}; ${norm.source} gives ${values.length} ${what} (one a channel, or one for all)`);
}

/** float32 mean and std a channel, as Normalize holds them (torch.as_tensor(mean, dtype=float32)). */
function float32Channels(norm: Normalization, channels: number, where: string): { mean: number[]; std: number[] } {
  const mean = perChannel(norm.mean, channels, 'means', norm, where).map(Math.fround);
  const std = perChannel(norm.std, channels, 'stds', norm, where).map(Math.fround);
  const zero = std.findIndex((s) => s === 0);
  if (zero >= 0) throw new Error(`${norm.source}: the std of channel ${zero} is 0 in float32 (torchvision's Normalize refuses it: a division by zero)`);
  return { mean, std };
}

/** ToTensor() then Normalize of one uint8 value v in a channel of float32 mean and std: each step rounded to float32. */
const normalizedValue = (v: number, mean: number, std: number) => Math.fround(Math.fround(Math.fround(v / 255) - mean) / std);

/**
 * The value a pixel of `fill` (torchvision's RandomCrop fill of a uint8 image: one whole number
 * 0 … 255 for all channels, or one a channel) has after ToTensor() and Normalize(mean, std): one
 * float32 a channel, what a padded pixel of the image becomes (0, the default, is black:
 * −mean[c]/std[c]). Another count, or a value that is no pixel, is refused naming `flag`.
 */
export function normalizedFill(fill: readonly number[], channels: number, norm: Normalization, where: string, flag: string): number[] {
  const bad = fill.find((v) => !(Number.isInteger(v) && v >= 0 && v <= 255));
  if (bad !== undefined) throw new Error(`${flag}: ${where} holds uint8 colour images, padded before ToTensor() and Normalize as torchvision's RandomCrop pads them: the fill is a pixel value, a whole number from 0 (black, the default) to 255, got ${bad}`);
  if (fill.length !== 1 && fill.length !== channels) throw new Error(`${flag}: ${fill.length} values; ${where} has ${channels} channel${channels === 1 ? '' : 's'} (one value a channel, or one for all)`);
  const { mean, std } = float32Channels(norm, channels, where);
  return Array.from({ length: channels }, (_, c) => normalizedValue(fill[fill.length === 1 ? 0 : c]!, mean[c]!, std[c]!));
}

/** The offset of pixel (c, h, w) of a sample within it. */
const pixelIndex = (layout: ImageLayout) => layout.order === 'HWC'
  ? (c: number, p: number) => p * layout.channels + c
  : (c: number, p: number) => c * layout.rows * layout.cols + p;

/** Each channel's histogram of the 256 values, over `count` images. */
function histograms(pixels: Uint8Array, count: number, layout: ImageLayout): Float64Array[] {
  const { channels, rows, cols } = layout;
  const area = rows * cols;
  const size = channels * area;
  const at = pixelIndex(layout);
  const counts = Array.from({ length: channels }, () => new Float64Array(256));
  for (let c = 0; c < channels; c++) {
    const h = counts[c]!;
    for (let s = 0; s < count; s++) for (let p = 0; p < area; p++) h[pixels[s * size + at(c, p)]!]!++;
  }
  return counts;
}

/**
 * The images' mean and population std a channel of v / 255, in float64 (the CIFAR recipes'
 * `x = x_train / 255; x.mean(axis=(0, 1, 2)), x.std(axis=(0, 1, 2))`): from each channel's
 * histogram, the sum of the values exact. A channel of one value (std 0) is refused: Normalize
 * would divide by zero.
 */
export function channelStatistics(pixels: Uint8Array, count: number, layout: ImageLayout, source: string, name: string): Normalization {
  const n = count * layout.rows * layout.cols;
  const mean: number[] = [];
  const std: number[] = [];
  histograms(pixels, count, layout).forEach((h, c) => {
    let sum = 0;
    for (let v = 0; v < 256; v++) sum += h[v]! * v;
    const m = sum / n / 255;
    let squares = 0;
    for (let v = 0; v < 256; v++) squares += h[v]! * (v / 255 - m) ** 2;
    const s = Math.sqrt(squares / n);
    if (Math.fround(s) === 0) throw new Error(`${source}: ${name}'s channel ${c} holds one value (${Math.round(m * 255)}) in every pixel: its std is 0, which Normalize cannot divide by; give the mean and std to normalise with`);
    mean.push(m);
    std.push(s);
  });
  return { mean, std, source: `${name}'s own mean and std` };
}

/**
 * ToTensor() then Normalize(mean, std) of each of the 256 byte values, a channel: float32 [C, 256],
 * channel c's value v at c·256 + v (a value's result is the same wherever it is in the image).
 */
export function normalizedTable(channels: number, norm: Normalization, where: string): Float32Array {
  const { mean, std } = float32Channels(norm, channels, where);
  const table = new Float32Array(channels * 256);
  for (let c = 0; c < channels; c++) {
    for (let v = 0; v < 256; v++) table[c * 256 + v] = normalizedValue(v, mean[c]!, std[c]!);
  }
  return table;
}

/** `count` images of `layout` as bytes [count, C, H, W] (ToTensor's HWC → CHW, not yet divided): the array itself where it is channels first already. */
export function channelsFirst(pixels: Uint8Array, count: number, layout: ImageLayout): Uint8Array {
  const size = layout.channels * layout.rows * layout.cols;
  if (layout.order === 'CHW') return pixels.subarray(0, count * size);
  const area = layout.rows * layout.cols;
  const at = pixelIndex(layout);
  const out = new Uint8Array(count * size);
  for (let s = 0; s < count; s++) {
    for (let c = 0; c < layout.channels; c++) {
      const o = s * size + c * area;
      for (let p = 0; p < area; p++) out[o + p] = pixels[s * size + at(c, p)]!;
    }
  }
  return out;
}

const shapeSize = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/**
 * The float32 samples [count, C, H, W] of bytes [·, C, H, W] (channelsFirst's) from sample `first`:
 * each byte of channel c looked up in `table` (normalizedTable's).
 */
export function lookUpBytes(bytes: Uint8Array, table: Float32Array, shape: readonly number[], first = 0, count = bytes.length / shapeSize(shape) - first): Float32Array {
  const area = shape[1]! * shape[2]!;
  const size = shapeSize(shape);
  const out = new Float32Array(count * size);
  for (let s = 0; s < count; s++) {
    for (let o = 0; o < size; o += area) {
      const row = (o / area) * 256;
      const from = (first + s) * size + o;
      for (let p = 0; p < area; p++) out[s * size + o + p] = table[row + bytes[from + p]!]!;
    }
  }
  return out;
}

/** ToTensor() then Normalize(mean, std): `count` images of `layout` as float32 [count, C, H, W] (normalizedTable's value of each byte). */
export function toTensorNormalize(pixels: Uint8Array, count: number, layout: ImageLayout, norm: Normalization, where: string): Float32Array {
  const { channels, rows, cols } = layout;
  const table = normalizedTable(channels, norm, where);
  return lookUpBytes(channelsFirst(pixels, count, layout), table, [channels, rows, cols], 0, count);
}

/** Normalize(mean, std) of float32 samples of [C, H, W] (a new array): (x − mean[c]) / std[c], in float32. */
export function normalizeFloats(inputs: Float32Array, shape: readonly number[], norm: Normalization, where: string): Float32Array {
  if (shape.length !== 3) throw new Error(`${where}: the samples are [${shape.join(', ')}]; ${norm.source} normalises samples of [C, H, W] a channel (torchvision's Normalize)`);
  const [channels, rows, cols] = shape as [number, number, number];
  const { mean, std } = float32Channels(norm, channels, where);
  const area = rows * cols;
  const out = new Float32Array(inputs.length);
  for (let o = 0; o < inputs.length; o += area) {
    const c = (o / area) % channels;
    for (let i = o; i < o + area; i++) out[i] = Math.fround(Math.fround(inputs[i]! - mean[c]!) / std[c]!);
  }
  return out;
}

/** A Normalize as the flag and the metadata write it: `MEAN,…/STD,…`. */
export function normalizationText(norm: Pick<Normalization, 'mean' | 'std'>): string {
  return `${norm.mean.join(',')}/${norm.std.join(',')}`;
}

/** Whether two Normalizes are the same on every channel (a single value is every channel's). */
export function sameNormalization(a: Pick<Normalization, 'mean' | 'std'>, b: Pick<Normalization, 'mean' | 'std'>): boolean {
  const same = (x: readonly number[], y: readonly number[]) => {
    const n = Math.max(x.length, y.length);
    if ((x.length !== n && x.length !== 1) || (y.length !== n && y.length !== 1)) return false;
    for (let i = 0; i < n; i++) if (x[x.length === 1 ? 0 : i] !== y[y.length === 1 ? 0 : i]) return false;
    return true;
  };
  return same(a.mean, b.mean) && same(a.std, b.std);
}
