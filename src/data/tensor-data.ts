/**
 * A training set from arrays — the four of Keras' `mnist.npz` and of `np.savez(f, x_train=…,
 * y_train=…, x_test=…, y_test=…)` or a safetensors file of those names — as the data of a run:
 *
 *   uint8 x of [N, H, W] (grey images, as Keras' mnist.npz and MNIST's IDX files hold them): an
 *     image split, normalised on the GPU as MNIST's and open to the rotation, as the IDX files;
 *   uint8 x of [N, H, W, C] or [N, C, H, W] (colour images, as Keras' cifar10): a colour split,
 *     the bytes [N, C, H, W] and a table of what torchvision's ToTensor() and Normalize(mean, std)
 *     make of each byte of each channel (colour-images.ts), with the model's normalisation, else
 *     x_train's own mean and std a channel: the float32 samples [C, H, W] of today's tensor split,
 *     to the bit, looked up where they are read (on the GPU a batch at a time; splitInputs here);
 *   any other x: a tensor split of float32 samples used as they are (PyTorch's TensorDataset;
 *     float64 rounded to float32, integers and booleans as their values), its sample shape
 *     x.shape[1:] — or, where that differs only by dimensions of 1, the model's input shape (a
 *     [N, 28, 28] array into a model of [1, 28, 28]); the ids of a model whose first layer is an
 *     Embedding are such samples (whole numbers below 2^24); a normalisation given (DataModel's)
 *     applies to samples of [C, H, W] as Normalize(mean, std);
 *   integer or boolean y of [N] (or [N, 1]): class labels; float y: regression targets, N × T.
 *
 * Everything is checked before anything is uploaded; an error names the file and the array.
 */
import { channelStatistics, channelsFirst, colourLayout, lookUpBytes, normalizeFloats, normalizedTable, type ImageLayout, type Normalization } from './colour-images.js';
import type { MnistDataset, MnistSplit } from './idx.js';
import { shapeText, type NpyArray } from './npy.js';
import type { ColourSplit, TensorSplit } from '../train/gpu-dataset.js';

/** A data set of two tensor splits (float inputs) or colour splits (uint8 images, their floats looked up), from arrays. */
export interface TensorDataset {
  train: TensorSplit | ColourSplit;
  test: TensorSplit | ColourSplit;
  /** Where the arrays came from, for messages. */
  source: string;
  /** The Normalize applied to x: colour images' always, float samples' where the model's data asked for one. */
  normalize?: Normalization;
  /** Colour images: how x_train's were read (channels last or first). */
  layout?: ImageLayout;
}

/** A run's data: MNIST-like images (IDX files, or uint8 [N, H, W] arrays) or float tensors. */
export type TrainingData = MnistDataset | TensorDataset;

export function isImageData(data: TrainingData): data is MnistDataset {
  return 'images' in data.train;
}

/** The array names read, Keras' (`keras.datasets.mnist.load_data()` reads mnist.npz so). */
export const DATA_ARRAYS = ['x_train', 'y_train', 'x_test', 'y_test'] as const;

/** What the arrays must fit: the model's input shape, and whether its inputs are token ids. */
export interface DataModel {
  readonly input: readonly number[];
  /** The model's first layer is an Embedding: x holds ids, never images. */
  readonly ids?: boolean;
  /** Normalize(mean, std) of colour images (default: x_train's own) and of float samples [C, H, W] (default: none). */
  readonly normalize?: Normalization;
}

/** The largest whole number float32 holds exactly (an id must be below it). */
const FLOAT32_WHOLE = 2 ** 24;

export function dataFromArrays(arrays: ReadonlyMap<string, NpyArray>, source: string, model: DataModel): TrainingData {
  const missing = DATA_ARRAYS.filter((name) => !arrays.has(name));
  if (missing.length > 0) {
    const found = [...arrays.keys()];
    throw new Error(`${source}: has no ${missing.join(', ')}; expected the arrays ${DATA_ARRAYS.join(', ')} (as Keras' mnist.npz, or np.savez(file, x_train=…, y_train=…, x_test=…, y_test=…)), found ${found.length > 0 ? found.join(', ') : 'none'}`);
  }
  const get = (name: (typeof DATA_ARRAYS)[number]) => arrays.get(name)!;
  const [xTrain, yTrain, xTest, yTest] = DATA_ARRAYS.map(get) as [NpyArray, NpyArray, NpyArray, NpyArray];
  for (const [x, y, split] of [[xTrain, yTrain, 'train'], [xTest, yTest, 'test']] as const) {
    if (x.shape.length < 2) throw new Error(`${source}: x_${split} has shape ${shapeText(x.shape)}, expected (samples, …): at least two dimensions`);
    if (y.shape.length === 0 || y.shape[0] !== x.shape[0]) throw new Error(`${source}: y_${split} has shape ${shapeText(y.shape)}, expected ${x.shape[0]} rows, one for each sample of x_${split}`);
  }
  if (xTrain.dtype !== xTest.dtype || !same(xTrain.shape.slice(1), xTest.shape.slice(1))) {
    throw new Error(`${source}: x_test is ${xTest.dtype} of samples [${xTest.shape.slice(1).join(', ')}], expected x_train's ${xTrain.dtype} of [${xTrain.shape.slice(1).join(', ')}]`);
  }
  if (classKind(yTrain) !== classKind(yTest)) throw new Error(`${source}: y_train holds ${classKind(yTrain)} and y_test ${classKind(yTest)}; expected the same kind`);
  // Colour images without a normalisation given: the training images' own mean and std, for both splits.
  const normalize = model.normalize ?? (isColour(xTrain, model) ? channelStatistics(xTrain.data as Uint8Array, xTrain.shape[0]!, colourLayout(xTrain.shape, model.input, source, 'x_train'), source, 'x_train') : undefined);
  const withNormalize = { ...model, normalize };
  const [train, test] = [samplesOf(xTrain, source, 'x_train', withNormalize), samplesOf(xTest, source, 'x_test', withNormalize)];
  if (train.kind === 'images' && test.kind === 'images') return { train: imageSplit(train, yTrain, source, 'train'), test: imageSplit(test, yTest, source, 'test'), source };
  if (train.kind !== 'images' && test.kind !== 'images') {
    return { train: tensorSplit(train, yTrain, source, 'train'), test: tensorSplit(test, yTest, source, 'test'), source, ...(normalize ? { normalize } : {}), ...(train.kind === 'colour' ? { layout: train.layout } : {}) };
  }
  throw new Error(`${source}: x_train and x_test are not the same kind`);
}

const same = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((d, i) => d === b[i]);
/** uint8 [N, H, W, C] or [N, C, H, W]: colour images (unless the model takes ids). */
const isColour = (x: NpyArray, model: DataModel) => !model.ids && x.dtype === 'u1' && x.shape.length === 4;
const classKind = (y: NpyArray) => (y.dtype === 'f4' || y.dtype === 'f8' ? 'float targets' : 'class labels');

/**
 * An array of samples (an x) as the model takes them: grey images, float32 samples of its input
 * shape, or colour images as bytes [count, C, H, W] (channels first) and the float32 [C, 256] that
 * ToTensor() and Normalize make of a byte of each channel (normalizedTable).
 */
export type Samples =
  | { readonly kind: 'images'; readonly pixels: Uint8Array; readonly count: number; readonly rows: number; readonly cols: number }
  | { readonly kind: 'tensors'; readonly inputs: Float32Array; readonly count: number; readonly shape: readonly number[] }
  | { readonly kind: 'colour'; readonly pixels: Uint8Array; readonly table: Float32Array; readonly count: number; readonly shape: readonly number[]; readonly layout: ImageLayout };

/**
 * One array of samples (`name` in messages: x_train, or predict's --input): uint8 [N, H, W] are
 * images, unless the model takes ids; uint8 [N, H, W, C] or [N, C, H, W] colour images, as bytes
 * [C, H, W] and the table of ToTensor and the model's Normalize (required); else float32 samples of the model's
 * input shape, ids checked, normalised where the model's data asks.
 */
export function samplesOf(x: NpyArray, source: string, name: string, model: DataModel): Samples {
  if (x.shape.length < 2) throw new Error(`${source}: ${name} has shape ${shapeText(x.shape)}, expected (samples, …): at least two dimensions`);
  const count = x.shape[0]!;
  if (count === 0) throw new Error(`${source}: ${name} holds no samples`);
  const norm = model.normalize;
  if (norm && model.ids) throw new Error(`${source}: ${name} holds token ids (the model's first layer is an Embedding), which ${norm.source} cannot normalise`);
  if (!model.ids && x.dtype === 'u1' && x.shape.length === 3) {
    if (norm) throw new Error(`${source}: ${name} holds grey images (uint8 ${shapeText(x.shape)}), normalised as MNIST's on the GPU; ${norm.source} is for colour images (uint8 [N, H, W, C] or [N, C, H, W]) and float samples of [C, H, W]`);
    return { kind: 'images', pixels: x.data as Uint8Array, count, rows: x.shape[1]!, cols: x.shape[2]! };
  }
  if (isColour(x, model)) {
    const layout = colourLayout(x.shape, model.input, source, name);
    if (!norm) throw new Error(`${source}: ${name} holds colour images (uint8 ${shapeText(x.shape)}), which take a mean and std a channel to normalise with (ToTensor, then Normalize(mean, std)); none given`);
    const table = normalizedTable(layout.channels, norm, `${source}: ${name}`);
    return { kind: 'colour', pixels: channelsFirst(x.data as Uint8Array, count, layout), table, count, shape: [layout.channels, layout.rows, layout.cols], layout };
  }
  const shape = sampleShape(x.shape.slice(1), model.input, source, name);
  const inputs = floats(x);
  if (model.ids) {
    // Whole numbers below 2^24 (an int64 beyond it rounds to another id in float32, and is refused here too).
    const bad = inputs.findIndex((v) => !(Number.isInteger(v) && v >= 0 && v < FLOAT32_WHOLE));
    if (bad >= 0) throw new Error(`${source}: ${name} holds ${String(x.data[bad])} at flat index ${bad}; the model's first layer is an Embedding, whose ids are whole numbers 0 … 2^24 − 1`);
  } else if (x.dtype === 'f4' || x.dtype === 'f8') {
    nonFinite(inputs, x, source, name);
  } else if (x.dtype === 'i8' || x.dtype === 'u8' || x.dtype === 'i4' || x.dtype === 'u4') {
    // An integer beyond float32's whole numbers would change in the conversion: said, not rounded.
    const bad = inputs.findIndex((v, i) => (Math.abs(v) < FLOAT32_WHOLE ? Number(x.data[i]) !== v : BigInt(v) !== BigInt(x.data[i]!)));
    if (bad >= 0) throw new Error(`${source}: ${name} holds ${String(x.data[bad])} at flat index ${bad}, which float32 cannot hold exactly; convert the array to float32 first`);
  }
  return { kind: 'tensors', inputs: norm ? normalizeFloats(inputs, shape, norm, `${source}: ${name}`) : inputs, count, shape };
}

/** The samples' shape as the model takes it: its own, or the model's where only dimensions of 1 differ. */
function sampleShape(shape: readonly number[], input: readonly number[], source: string, name: string): readonly number[] {
  if (same(shape, input)) return shape;
  const squeezed = (s: readonly number[]) => s.filter((d) => d !== 1);
  if (same(squeezed(shape), squeezed(input))) return input;
  throw new Error(`${source}: ${name}'s samples are [${shape.join(', ')}]; the model takes [${input.join(', ')}] per sample`);
}

function imageSplit(x: Extract<Samples, { kind: 'images' }>, y: NpyArray, source: string, split: string): MnistSplit {
  const labels = classLabels(y, source, split);
  const bad = labels.findIndex((v) => v < 0 || v > 255);
  if (bad >= 0) throw new Error(`${source}: y_${split}[${bad}] is ${labels[bad]}; labels of uint8 images are 0 … 255`);
  return { images: x.pixels, labels: Uint8Array.from(labels), count: x.count, rows: x.rows, cols: x.cols };
}

function tensorSplit(x: Exclude<Samples, { kind: 'images' }>, y: NpyArray, source: string, split: string): TensorSplit | ColourSplit {
  const { count, shape } = x;
  const samples = x.kind === 'colour' ? { pixels: x.pixels, table: x.table } : { inputs: x.inputs };
  if (classKind(y) === 'float targets') {
    const targets = floats(y);
    nonFinite(targets, y, source, `y_${split}`);
    return { ...samples, targets, count, shape };
  }
  if (y.shape.length > 2 || (y.shape.length === 2 && y.shape[1] !== 1)) {
    throw new Error(`${source}: y_${split} has shape ${shapeText(y.shape)} of integers, expected class labels of (${count},); regression targets are float arrays`);
  }
  return { ...samples, labels: classLabels(y, source, split), count, shape };
}

/** The float32 inputs of `count` samples of a split from sample `first` (all by default): a tensor split's own, a colour split's bytes looked up in its table. */
export function splitInputs(split: TensorSplit | ColourSplit | Exclude<Samples, { kind: 'images' }>, first = 0, count = split.count - first): Float32Array {
  if ('inputs' in split) {
    const size = split.inputs.length / split.count;
    return split.inputs.subarray(first * size, (first + count) * size);
  }
  return lookUpBytes(split.pixels, split.table, split.shape, first, count);
}

/** A NaN or an infinity (or a float64 beyond float32's range, infinite once rounded) refused naming the array and where: it would train to NaN. */
function nonFinite(values: Float32Array, a: NpyArray, source: string, name: string): void {
  const bad = values.findIndex((v) => !Number.isFinite(v));
  if (bad < 0) return;
  const size = values.length / a.shape[0]!;
  const original = Number(a.data[bad]);
  throw new Error(`${source}: ${name} holds ${original} at flat index ${bad} (sample ${Math.floor(bad / size)})${Number.isFinite(original) ? ', beyond float32' : ''}; every value must be finite`);
}

/** An array's values as float32 (float64 rounded to nearest, as PyTorch's .float()). */
function floats(a: NpyArray): Float32Array {
  if (a.dtype === 'f4') return a.data;
  if (a.dtype === 'i8' || a.dtype === 'u8') return Float32Array.from(a.data, (v: bigint) => Number(v));
  return Float32Array.from(a.data as ArrayLike<number>);
}

/** Class labels as int32 (a negative one is the loss's ignore_index, or refused by the Trainer). */
function classLabels(y: NpyArray, source: string, split: string): Int32Array {
  if (y.dtype === 'i8' || y.dtype === 'u8') {
    const out = new Int32Array(y.data.length);
    for (let i = 0; i < out.length; i++) {
      const v = y.data[i]!;
      if (v < -(2n ** 31n) || v >= 2n ** 31n) throw new Error(`${source}: y_${split}[${i}] is ${v}, beyond a class label's 32 bits`);
      out[i] = Number(v);
    }
    return out;
  }
  if (y.dtype === 'u4') {
    const bad = y.data.findIndex((v) => v >= 2 ** 31);
    if (bad >= 0) throw new Error(`${source}: y_${split}[${bad}] is ${y.data[bad]}, beyond a class label's 32 bits`);
  }
  return Int32Array.from(y.data as ArrayLike<number>);
}
