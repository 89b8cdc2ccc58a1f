/**
 * A data set resident on the GPU, uploaded once, and the epoch's order of its samples. Two kinds:
 *
 *   an image split (`MnistSplit`: uint8 images of rows × cols, uint8 labels), packed four bytes
 *   to a u32 and normalised on the GPU as MNIST's, with the optional random rotation; its batches
 *   are cut by the `mnist_batch` kernel;
 *   a tensor split (`TensorSplit`: float32 inputs of any sample shape, integer class labels or a
 *   regression's float targets), used as they are — no normalisation, no augmentation, as a
 *   PyTorch `TensorDataset` — its batches cut by `gather_batch` (src/kernels/data.ts);
 *   a colour split (`ColourSplit`: uint8 colour images [C, H, W] and the float32 each byte of a
 *   channel becomes, ToTensor() then Normalize's): the same as the tensor split of those floats, to
 *   the bit, kept as bytes — a quarter of the memory (CIFAR-10's training set: 153.6 MB, not
 *   614.4 MB) — and looked up by `gather_batch`'s BYTES variant as it cuts a batch.
 *
 * Either way no sample travels from the CPU during training.
 */
import type { Dispatch, GpuContext } from '../gpu/context.js';
import type { Tensor } from '../gpu/tensor.js';
import type { MnistSplit } from '../data/idx.js';
import { packedWords, shufflePermutation } from '../kernels/data.js';
import { bufferLimit, formatBytes } from '../plan/network.js';
import { IGNORE_INDEX_RANGE } from '../plan/plan.js';

/**
 * A data set of float inputs, used as they are (PyTorch's `TensorDataset(inputs, labels)`):
 * `inputs` holds count samples of `shape` (the model's `inputShape`: [features], [C, H, W], …)
 * one after another; and either `labels`, one class index per sample (whole numbers ≥ 0; a model
 * whose loss has an ignoreIndex also takes that, negative too, such as PyTorch's −100), or
 * `targets`, count × T floats (T = the model's outputs: regression, with the 'mse' or 'half-sse' loss).
 */
export interface TensorSplit {
  readonly inputs: Float32Array;
  readonly labels?: Uint8Array | Uint16Array | Uint32Array | Int32Array | readonly number[];
  readonly targets?: Float32Array;
  readonly count: number;
  readonly shape: readonly number[];
}

/**
 * Colour images kept as bytes (what src/data/tensor-data.ts makes of uint8 [N, H, W, C] or
 * [N, C, H, W]): `pixels` holds count samples of `shape` [C, H, W], channels first, one byte a
 * value; `table` the C × 256 float32 values a byte becomes, channel c's byte v at c·256 + v
 * (normalizedTable: ToTensor() then Normalize). Sample s's input is then table[c·256 + pixels[…]]
 * at each of its places; labels and targets as a TensorSplit's.
 */
export interface ColourSplit {
  readonly pixels: Uint8Array;
  readonly table: Float32Array;
  readonly labels?: TensorSplit['labels'];
  readonly targets?: Float32Array;
  readonly count: number;
  readonly shape: readonly number[];
}

/** The label of a sample of a regression split: no class (the batch metrics count none correct). */
export const NO_CLASS = 0xffffffff;

interface SplitBase {
  readonly name: string;
  readonly count: number;
  /** One sample's shape: [1, rows, cols] for an image split. */
  readonly shape: readonly number[];
  readonly labels: Tensor<'u32'>;
  /** One more than the largest label: a model must have at least as many outputs. */
  readonly classes: number;
  /**
   * The two smallest and the two largest distinct labels (fewer where there are fewer; none for
   * targets): what a trainer needs to tell, for its loss's ignore index, whether every other label
   * is a class of its model (labelProblem), though the split is uploaded before it knows the model.
   */
  readonly labelExtremes: LabelExtremes;
  /** The epoch's order of the samples (identity until shuffled). */
  readonly order: Tensor<'u32'>;
  /** The context whose device holds the tensors (a Trainer refuses a split of another). */
  readonly context: GpuContext;
}

/** An image split on the GPU: uint8 pixels four to a u32, labels four to a u32. */
export interface GpuImageSplit extends SplitBase {
  readonly kind: 'images';
  readonly rows: number;
  readonly cols: number;
  readonly pixels: Tensor<'u32'>;
}

/**
 * A tensor split on the GPU: float inputs (or a colour split's bytes and table), one u32 label a
 * sample (NO_CLASS with targets), targets where given.
 */
export interface GpuTensorSplit extends SplitBase {
  readonly kind: 'tensors';
  /** The float inputs of the first window (all of them where one binding holds the split); absent for a colour split's bytes. */
  readonly inputs?: Tensor<'f32'>;
  /**
   * The inputs in windows of whole samples, each within one storage binding
   * (maxStorageBufferBindingSize): sample s of window w is its local sample s − first. One window
   * unless the split is larger than a binding (full CIFAR-10's training set on lavapipe's 128 MiB:
   * as float32, 614.4 MB in 5; as a colour split's bytes, 153.6 MB in 2). A colour split's windows
   * hold bytes (`pixels`), every window of one split the same kind.
   */
  readonly windows: readonly InputWindow[];
  /** A colour split: the float32 [C, 256] its bytes become (ColourSplit's table). */
  readonly table?: Tensor<'f32'>;
  /** Regression: targetSize floats a sample. */
  readonly targets?: Tensor<'f32'>;
  readonly targetSize?: number;
  /** Where the inputs could not be token ids, for a model that reads them as ids (idProblem). */
  readonly inputRange: InputRange;
}

/**
 * A window of a tensor split's inputs: samples first … first + count − 1, as float32 (`inputs`) or
 * as a colour split's bytes (`pixels`): four to a u32, little-endian, each sample starting a word
 * of its own — packedWords(size) words a sample, its last padded with zero bytes where its size is
 * no multiple of 4 — so that a window, and a sample, always starts on a whole word.
 */
export type InputWindow = { readonly first: number; readonly count: number } & ({ readonly inputs: Tensor<'f32'> } | { readonly pixels: Tensor<'u32'> });

/**
 * How many samples of `sampleBytes` each window holds so that every one is within a binding of
 * `limit` bytes: as many whole samples as fit, the last window the rest.
 */
export function windowCounts(count: number, sampleBytes: number, limit: number): number[] {
  const perWindow = Math.floor(limit / sampleBytes);
  if (perWindow < 1) throw new RangeError(`a sample of ${sampleBytes} bytes is past a binding of ${limit}`);
  const counts: number[] = [];
  for (let first = 0; first < count; first += perWindow) counts.push(Math.min(perWindow, count - first));
  return counts;
}

/** The smallest and the largest input and the first that is not a whole number, each with its index in the inputs. */
export interface InputRange {
  readonly lowest: { readonly value: number; readonly at: number };
  readonly highest: { readonly value: number; readonly at: number };
  readonly fraction?: { readonly value: number; readonly at: number };
}

export type GpuSplit = GpuImageSplit | GpuTensorSplit;

export interface LabelExtremes {
  readonly lowest: readonly number[];
  readonly highest: readonly number[];
}

/** The two smallest and two largest distinct values of labels[0 … count). */
function labelExtremes(labels: ArrayLike<number>, count: number): LabelExtremes {
  const lowest: number[] = [];
  const highest: number[] = [];
  const keep = (list: number[], v: number, before: (a: number, b: number) => boolean) => {
    if (list.includes(v)) return;
    list.push(v);
    list.sort((a, b) => (before(a, b) ? -1 : 1));
    if (list.length > 2) list.pop();
  };
  for (let i = 0; i < count; i++) {
    const v = labels[i]!;
    if (lowest.length < 2 || v < lowest[1]!) keep(lowest, v, (a, b) => a < b);
    if (highest.length < 2 || v > highest[1]!) keep(highest, v, (a, b) => a > b);
  }
  return { lowest, highest };
}

/**
 * Why a split's labels do not fit a model of `classes` outputs whose loss ignores `ignoreIndex`
 * (undefined: none): a label other than the ignore index below 0 or past the outputs; undefined
 * when every one fits. The upload checks what it can alone (whole numbers, negatives in 32 bits);
 * this, which needs the model, is the trainer's check.
 */
export function labelProblem(split: GpuSplit, classes: number, ignoreIndex: number | undefined): string | undefined {
  const lowest = split.labelExtremes.lowest.find((v) => v !== ignoreIndex);
  const highest = split.labelExtremes.highest.find((v) => v !== ignoreIndex);
  const ignoring = ignoreIndex === undefined ? '' : ` (the loss ignores ${ignoreIndex})`;
  if (lowest !== undefined && lowest < 0) {
    const advice = ignoreIndex === undefined ? ": a label below 0 is one only a loss's ignoreIndex takes (PyTorch's CrossEntropyLoss ignores -100 by default; give the model's options ignoreIndex: -100 for that)" : '';
    return `the ${split.name} labels include ${lowest}, which is not a class${ignoring}${advice}`;
  }
  if (highest !== undefined && highest >= classes) {
    return `the ${split.name} labels go up to ${highest}${ignoring}; the model has ${classes} output${classes === 1 ? '' : 's'} (its last layer should have ${highest + 1})`;
  }
  return undefined;
}

/**
 * Why a split's inputs are not token ids of a table of `numEmbeddings` rows (an Embedding, `layer`
 * its description: `layer '0' (Embedding)`), or undefined: an id that is no whole number in
 * [0, numEmbeddings) is named with its sample and value. The GPU would give that position a NaN
 * row (shaders/embedding_forward.wgsl), and the run would stop as a divergence instead.
 */
export function idProblem(split: GpuSplit, numEmbeddings: number, layer: string): string | undefined {
  if (split.kind === 'images') return `the ${split.name} split holds images (normalised on the GPU as MNIST's), but ${layer} takes token ids: give a tensor split whose inputs are the ids (whole numbers)`;
  const size = split.shape.reduce((a, b) => a * b, 1);
  const where = (at: number) => `inputs[${at}] (sample ${Math.floor(at / size)}, position ${at % size})`;
  const { lowest, highest, fraction } = split.inputRange;
  if (fraction) return `the ${split.name} split's ${where(fraction.at)} is ${fraction.value}, but ${layer} takes token ids: whole numbers from 0 to ${numEmbeddings - 1}`;
  if (lowest.value < 0) return `the ${split.name} split's ${where(lowest.at)} is ${lowest.value}, but ${layer} takes token ids from 0 to ${numEmbeddings - 1} (PyTorch's IndexError: index out of range)`;
  if (highest.value >= numEmbeddings) return `the ${split.name} split's ${where(highest.at)} is ${highest.value}, past ${layer}'s ${numEmbeddings} rows (ids 0 to ${numEmbeddings - 1}; num_embeddings must be at least ${highest.value + 1})`;
  return undefined;
}

/** What uploadTensors learns of the inputs in one pass: their InputRange, and the first that is not finite. */
interface InputScan {
  readonly range: InputRange;
  readonly nonFinite?: { readonly value: number; readonly at: number };
}

/** A tensor split's float inputs scanned (InputScan). */
function scanInputs(inputs: Float32Array): InputScan {
  let [lo, hi, fraction, bad] = [0, 0, -1, -1];
  for (let i = 0; i < inputs.length; i++) {
    const v = inputs[i]!;
    if (v < inputs[lo]!) lo = i;
    if (v > inputs[hi]!) hi = i;
    if (fraction < 0 && !Number.isInteger(v)) fraction = i;
    if (bad < 0 && !Number.isFinite(v)) bad = i;
  }
  const at = (i: number) => ({ value: inputs[i]!, at: i });
  return { range: { lowest: at(lo), highest: at(hi), ...(fraction >= 0 ? { fraction: at(fraction) } : {}) }, ...(bad >= 0 ? { nonFinite: at(bad) } : {}) };
}

/** The float inputs of `count` images of a colour split's bytes (each looked up in its channel's table) scanned, as scanInputs scans them expanded: the same indices. */
function scanColour(pixels: Uint8Array, table: Float32Array, shape: readonly number[], count: number): InputScan {
  const area = shape[1]! * shape[2]!;
  const size = shape[0]! * area;
  let [lo, hi, fraction, bad] = [Infinity, -Infinity, -1, -1];
  let [loAt, hiAt] = [0, 0];
  for (let s = 0; s < count; s++) {
    for (let c = 0; c < shape[0]!; c++) {
      for (let i = s * size + c * area, end = i + area; i < end; i++) {
        const v = table[c * 256 + pixels[i]!]!;
        if (v < lo) [lo, loAt] = [v, i];
        if (v > hi) [hi, hiAt] = [v, i];
        if (fraction < 0 && !Number.isInteger(v)) fraction = i;
        if (bad < 0 && !Number.isFinite(v)) bad = i;
      }
    }
  }
  const at = (i: number) => ({ value: table[Math.floor((i % size) / area) * 256 + pixels[i]!]!, at: i });
  return { range: { lowest: at(loAt), highest: at(hiAt), ...(fraction >= 0 ? { fraction: at(fraction) } : {}) }, ...(bad >= 0 ? { nonFinite: at(bad) } : {}) };
}

/** Bytes as little-endian u32 words (zero-padded to a whole word). */
function packBytes(bytes: Uint8Array): Uint32Array {
  const padded = new Uint8Array(packedWords(bytes.length) * 4);
  padded.set(bytes);
  return new Uint32Array(padded.buffer);
}

const kindOf = (v: unknown) => (v as { constructor?: { name?: string } } | null)?.constructor?.name ?? typeof v;

/**
 * Uploads the first `limit` samples of a split (all by default): an image split (`MnistSplit`,
 * what loadMnist gives), a tensor split (`TensorSplit`: float inputs as they are) or a colour split
 * (`ColourSplit`: bytes and their table, a tensor split of the floats they become).
 */
export function uploadSplit(ctx: GpuContext, name: string, split: MnistSplit, limit?: number): GpuImageSplit;
export function uploadSplit(ctx: GpuContext, name: string, split: TensorSplit | ColourSplit, limit?: number): GpuTensorSplit;
export function uploadSplit(ctx: GpuContext, name: string, split: MnistSplit | TensorSplit | ColourSplit, limit?: number): GpuSplit;
export function uploadSplit(ctx: GpuContext, name: string, split: MnistSplit | TensorSplit | ColourSplit, limit = split?.count): GpuSplit {
  if (typeof split !== 'object' || split === null) throw new TypeError(`${name} split: expected { images, labels, count, rows, cols } (uint8 images), { inputs, labels, count, shape } (float inputs) or { pixels, table, labels, count, shape } (colour images as bytes), got ${kindOf(split)}`);
  return 'inputs' in split || 'table' in split ? uploadTensors(ctx, name, split, limit) : uploadImages(ctx, name, split, limit);
}

/** The fields a split may have: a misspelt one (`channels`, `label`) would be dropped. */
function checkFields(name: string, split: object, fields: readonly string[], other: string): void {
  for (const key of Object.keys(split)) {
    if (!fields.includes(key)) throw new TypeError(`${name} split: unknown field '${key}'; ${other}`);
  }
}

function sampleCount(name: string, split: { count: unknown }, limit: unknown): number {
  const fail = (what: string) => new TypeError(`${name} split: ${what}`);
  if (!Number.isInteger(split.count) || (split.count as number) < 1) throw fail(`count must be a whole number ≥ 1, got ${JSON.stringify(split.count)}`);
  if (!Number.isInteger(limit)) throw new RangeError(`${name}: limit must be a whole number ≥ 1, got ${JSON.stringify(limit)}`);
  const count = Math.min(limit as number, split.count as number);
  if (!(count >= 1)) throw new RangeError(`${name}: at least one sample is needed (limit ${limit}, the split has ${split.count})`);
  return count;
}

function uploadImages(ctx: GpuContext, name: string, split: MnistSplit, limit: unknown): GpuImageSplit {
  const fail = (what: string) => new TypeError(`${name} split: ${what}`);
  checkFields(name, split, ['images', 'labels', 'count', 'rows', 'cols'], 'an image split has images, labels, count, rows, cols (for float inputs of any shape: inputs, labels, count, shape)');
  // Pixels are bytes, normalised on the GPU as MNIST's: floats in [0, 1] would be read as 0 or 1 of 255.
  if (!(split.images instanceof Uint8Array)) {
    throw fail(`images must be a Uint8Array of pixels 0 … 255 (as MNIST's files hold them; they are normalised on the GPU), got ${kindOf(split.images)}; for float inputs give { inputs, labels, count, shape }`);
  }
  if (!(split.labels instanceof Uint8Array)) throw fail(`labels must be a Uint8Array of class indices 0 … 255, got ${kindOf(split.labels)}`);
  for (const field of ['rows', 'cols'] as const) {
    if (!Number.isInteger(split[field]) || split[field] < 1) throw fail(`${field} must be a whole number ≥ 1, got ${JSON.stringify(split[field])}`);
  }
  const count = sampleCount(name, split, limit);
  const area = split.rows * split.cols;
  if (split.images.length < count * area) throw fail(`images hold ${split.images.length} bytes, fewer than ${count} images of ${split.rows}×${split.cols} (${count * area})`);
  if (split.labels.length < count) throw fail(`labels hold ${split.labels.length}, fewer than the ${count} images`);
  const pixels = packBytes(split.images.subarray(0, count * area));
  const labels = packBytes(split.labels.subarray(0, count));
  let classes = 0;
  for (let i = 0; i < count; i++) classes = Math.max(classes, split.labels[i]! + 1);
  return {
    kind: 'images',
    name,
    count,
    classes,
    labelExtremes: labelExtremes(split.labels, count),
    shape: [1, split.rows, split.cols],
    rows: split.rows,
    cols: split.cols,
    pixels: ctx.tensor(`${name} pixels`, [pixels.length], { dtype: 'u32', data: pixels }),
    labels: ctx.tensor(`${name} labels`, [labels.length], { dtype: 'u32', data: labels }),
    order: identityOrder(ctx, name, count),
    context: ctx,
  };
}

function uploadTensors(ctx: GpuContext, name: string, split: TensorSplit | ColourSplit, limit: unknown): GpuTensorSplit {
  const fail = (what: string) => new TypeError(`${name} split: ${what}`);
  const colour = 'table' in split;
  if (colour) {
    checkFields(name, split, ['pixels', 'table', 'labels', 'targets', 'count', 'shape'], 'a colour split has pixels, table, labels or targets, count, shape');
    if (!(split.pixels instanceof Uint8Array)) throw fail(`pixels must be a Uint8Array (count images of shape [C, H, W], channels first), got ${kindOf(split.pixels)}`);
    if (!(split.table instanceof Float32Array)) throw fail(`table must be a Float32Array (256 values a channel: what each byte becomes), got ${kindOf(split.table)}`);
  } else {
    checkFields(name, split, ['inputs', 'labels', 'targets', 'count', 'shape'], 'a tensor split has inputs, labels or targets, count, shape');
    if (!(split.inputs instanceof Float32Array)) throw fail(`inputs must be a Float32Array (count samples of shape, one after another), got ${kindOf(split.inputs)}`);
  }
  const { shape } = split;
  if (!Array.isArray(shape) || shape.length === 0 || !shape.every((d) => Number.isInteger(d) && d >= 1)) {
    throw fail(`shape must be one sample's shape, whole numbers ≥ 1 such as [3, 32, 32] or [20], got ${JSON.stringify(shape)}`);
  }
  if (colour && (shape.length !== 3 || split.table.length !== shape[0]! * 256)) throw fail(`a colour split's shape is [C, H, W] and its table 256 values a channel; got [${shape.join(', ')}] and ${split.table.length}`);
  if ((split.labels === undefined) === (split.targets === undefined)) {
    throw fail(`give labels (class indices) or targets (floats: regression), ${split.labels === undefined ? 'got neither' : 'not both'}`);
  }
  const count = sampleCount(name, split, limit);
  const size = shape.reduce((a, b) => a * b, 1);
  // The arrays' lengths must be the count's, as a TensorDataset's tensors share their first
  // dimension: longer inputs than count samples would pair sample i with another's targets.
  const total = (split.count as number) * size;
  if (colour ? split.pixels.length !== total : split.inputs.length !== total) {
    throw fail(colour ? `pixels hold ${split.pixels.length} bytes, expected ${split.count} images of [${shape.join(', ')}] (${total})` : `inputs hold ${split.inputs.length} values, expected ${split.count} samples of [${shape.join(', ')}] (${total})`);
  }
  const labels = new Uint32Array(count).fill(NO_CLASS);
  let classes = 0;
  let labelRange: LabelExtremes = { lowest: [], highest: [] };
  let targets: Float32Array | undefined;
  let targetSize: number | undefined;
  if (split.labels !== undefined) {
    const labelsOk = split.labels instanceof Uint8Array || split.labels instanceof Uint16Array || split.labels instanceof Uint32Array || split.labels instanceof Int32Array || Array.isArray(split.labels);
    if (!labelsOk) throw fail(`labels must be class indices (a Uint8Array, Uint16Array, Uint32Array, Int32Array or an array of whole numbers ≥ 0, or a loss's ignoreIndex), got ${kindOf(split.labels)}`);
    if (split.labels.length !== split.count) throw fail(`labels hold ${split.labels.length}, expected one for each of the ${split.count} samples`);
    for (let i = 0; i < count; i++) {
      const label = split.labels[i]!;
      // A negative label (a loss's ignoreIndex, such as −100) travels as its 32-bit two's complement; the trainer checks it against the model (labelProblem).
      if (!Number.isInteger(label) || label < IGNORE_INDEX_RANGE[0] || label >= NO_CLASS) {
        throw fail(`labels[${i}] is ${JSON.stringify(label)}, expected a class index (a whole number ≥ 0) or a loss's ignoreIndex (a whole number from ${IGNORE_INDEX_RANGE[0]})`);
      }
      labels[i] = label;
      classes = Math.max(classes, label + 1);
    }
    labelRange = labelExtremes(split.labels, count);
  } else {
    if (!(split.targets instanceof Float32Array)) throw fail(`targets must be a Float32Array (count samples' targets, one after another), got ${kindOf(split.targets)}`);
    // Each sample's targets: the whole array over the split's count (as PyTorch's [N, T] tensor).
    targetSize = split.targets.length / (split.count as number);
    if (!Number.isInteger(targetSize) || targetSize < 1) throw fail(`targets hold ${split.targets.length} values, not a whole number ≥ 1 of them for each of the ${split.count} samples`);
    targets = split.targets.subarray(0, count * targetSize);
    const badTarget = targets.findIndex((v) => !Number.isFinite(v));
    if (badTarget >= 0) throw fail(`targets[${badTarget}] (sample ${Math.floor(badTarget / targetSize)}) is ${targets[badTarget]}, expected a finite number`);
  }
  // A non-finite input trains to NaN and is then reported as a divergence, blaming the learning rate.
  const scan = colour ? scanColour(split.pixels, split.table, shape, count) : scanInputs(split.inputs.subarray(0, count * size));
  if (scan.nonFinite) throw fail(`inputs[${scan.nonFinite.at}] (sample ${Math.floor(scan.nonFinite.at / size)}) is ${scan.nonFinite.value}, expected a finite number`);
  // The batch kernel binds a window whole: as many whole samples as one binding holds.
  const { limit: most, name: limitName } = bufferLimit(ctx.device.limits);
  const sampleBytes = colour ? 4 * packedWords(size) : 4 * size;
  if (sampleBytes > most) throw new RangeError(`${name} split: one sample of [${shape.join(', ')}] is ${formatBytes(sampleBytes)} of ${colour ? 'bytes' : 'float32'}; this adapter binds at most ${formatBytes(most)} (${limitName})`);
  const windows: InputWindow[] = [];
  let first = 0;
  for (const n of windowCounts(count, sampleBytes, most)) {
    const label = `${name} ${colour ? 'pixels' : 'inputs'}${first === 0 && n === count ? '' : ` ${first}…${first + n - 1}`}`;
    if (colour) {
      const data = sampleWords(split.pixels, size, first, n);
      windows.push({ pixels: ctx.tensor(label, [data.length], { dtype: 'u32', data }), first, count: n });
    } else {
      const data = split.inputs.subarray(first * size, (first + n) * size);
      windows.push({ inputs: ctx.tensor(label, [data.length], { data }), first, count: n });
    }
    first += n;
  }
  return {
    kind: 'tensors',
    name,
    count,
    classes,
    labelExtremes: labelRange,
    shape: [...shape],
    ...('inputs' in windows[0]! ? { inputs: windows[0].inputs } : {}),
    windows,
    ...(colour ? { table: ctx.tensor(`${name} table`, [split.table.length], { data: split.table }) } : {}),
    inputRange: scan.range,
    ...(targets ? { targets: ctx.tensor(`${name} targets`, [targets.length], { data: targets }), targetSize } : {}),
    labels: ctx.tensor(`${name} labels`, [count], { dtype: 'u32', data: labels }),
    order: identityOrder(ctx, name, count),
    context: ctx,
  };
}

/**
 * Samples first … first + count − 1 of bytes of `size` a sample as u32 words, four bytes to a word
 * (little-endian), each sample starting a word of its own: packedWords(size) words a sample, the
 * last padded with zero bytes (InputWindow).
 */
function sampleWords(bytes: Uint8Array, size: number, first: number, count: number): Uint32Array {
  const stride = 4 * packedWords(size);
  const out = new Uint8Array(count * stride);
  if (stride === size) out.set(bytes.subarray(first * size, (first + count) * size));
  else for (let s = 0; s < count; s++) out.set(bytes.subarray((first + s) * size, (first + s + 1) * size), s * stride);
  return new Uint32Array(out.buffer);
}

const identityOrder = (ctx: GpuContext, name: string, count: number) => ctx.tensor(`${name} order`, [count], { dtype: 'u32', data: Uint32Array.from({ length: count }, (_, i) => i) });

/** Frees a split's GPU buffers (the page replaces its splits when the limits change). */
export function destroySplit(split: GpuSplit): void {
  for (const t of [...(split.kind === 'images' ? [split.pixels] : split.windows.map((w) => ('inputs' in w ? w.inputs : w.pixels))), split.labels, split.order]) t.buffer.destroy();
  if (split.kind === 'tensors') for (const t of [split.targets, split.table]) t?.buffer.destroy();
}

/** The dispatch that writes the epoch's shuffle of `split` into its order (one per epoch). */
export async function shuffleDispatch(ctx: GpuContext, split: GpuSplit, seed: number, stream: number): Promise<Dispatch & { update(p: { epoch: number }): void }> {
  return (await ctx.compile(shufflePermutation)).bind({ permutation: split.order }, { count: split.count, seed, stream, epoch: 0 }, `${split.name} shuffle`);
}
