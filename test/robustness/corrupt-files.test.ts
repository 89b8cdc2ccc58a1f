/**
 * A generated corpus of corrupt input files, each read the way the programs read it:
 *
 *   MNIST       loadMnist(dir), the four IDX files (raw or .gz) of a directory, one of them bad
 *   checkpoint  readFileBytes → decodeSafetensors → checkpointInfo (what the CLI checks before
 *               the GPU starts) → loadCheckpoint into a seed CNN on the GPU
 *
 * Every case must throw a typed error (IdxFormatError, CheckpointFormatError, or FileReadError for
 * a file that cannot be read) whose message begins with the bad file's path; no file in the corpus
 * may change (hashed before and after every case); and a refused checkpoint must leave the
 * network's weights, running statistics, optimizer state and step count as they were. Each
 * checkpoint row also says at which stage it must fail, so a check that moves later (past the
 * point where the CLI starts the GPU) fails here.
 */
import { createHash } from 'node:crypto';
import { lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { checkpointInfo, loadCheckpoint, OPTIMIZER_PREFIX } from '../../src/checkpoint/checkpoint.js';
import { CheckpointFormatError, decodeSafetensors, encodeSafetensors, type SafetensorsTensor } from '../../src/checkpoint/safetensors.js';
import { IdxFormatError } from '../../src/data/idx.js';
import type { GpuContext } from '../../src/gpu/context.js';
import type { Tensor } from '../../src/gpu/tensor.js';
import { loadMnist } from '../../src/node/mnist-files.js';
import { FileReadError, readFileBytes } from '../../src/node/read-file.js';
import type { Network } from '../../src/plan/network.js';
import { seedCnnBufferShapes, seedCnnParameterShapes } from '../../src/reference/seed-cnn.js';
import { createSeedCnn, gpuTest } from '../helpers/gpu.js';

type ErrorClass = typeof IdxFormatError | typeof CheckpointFormatError | typeof FileReadError;

// ---------------------------------------------------------------------------------------------
// IDX: a directory of the four MNIST files per case.

function idx(header: number[], body: ArrayLike<number> = []): Uint8Array {
  const out = new Uint8Array(4 * header.length + body.length);
  const view = new DataView(out.buffer);
  header.forEach((word, i) => view.setUint32(4 * i, word, false));
  out.set(body, 4 * header.length);
  return out;
}
const imagesFile = (count: number, rows: number, cols: number) => idx([2051, count, rows, cols], Array.from({ length: count * rows * cols }, (_, i) => (i * 37) % 256));
const labelsFile = (labels: number[]) => idx([2049, labels.length], labels);
const concat = (a: Uint8Array, b: ArrayLike<number>) => {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
};

const GOOD_MNIST: Record<string, Uint8Array> = {
  'train-images-idx3-ubyte': imagesFile(3, 2, 2),
  'train-labels-idx1-ubyte': labelsFile([5, 0, 4]),
  't10k-images-idx3-ubyte': imagesFile(2, 2, 2),
  't10k-labels-idx1-ubyte': labelsFile([7, 2]),
};
const TI = 'train-images-idx3-ubyte';
const TL = 'train-labels-idx1-ubyte';
const VI = 't10k-images-idx3-ubyte';
const VL = 't10k-labels-idx1-ubyte';

/** One MNIST case: files replacing (or, as undefined, removing) the good ones; `names` is the path the error must begin with. */
interface MnistCase {
  name: string;
  files: Record<string, Uint8Array | 'directory' | 'self-link' | undefined>;
  error: ErrorClass;
  /** Relative to the case's directory; '' is the directory itself; '!file' makes the case path a file. */
  names: string;
  /** The directory layout: the case's folder does not exist, or is a file. */
  layout?: 'absent' | 'file';
}

const random = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (Math.imul(i + 1, 2654435761) ^ seed) >>> 24);
const gzTruncated = () => {
  const gz = gzipSync(GOOD_MNIST[TL]!);
  return gz.subarray(0, gz.length - 6);
};

const MNIST_CASES: MnistCase[] = [
  { name: 'images: wrong magic', files: { [TI]: idx([0x12345678, 3, 2, 2], new Uint8Array(12)) }, error: IdxFormatError, names: TI },
  { name: 'labels: the images magic', files: { [TL]: idx([2051, 3], [5, 0, 4]) }, error: IdxFormatError, names: TL },
  { name: 'images: dtype byte float (0x0d)', files: { [TI]: idx([0x0d03, 3, 2, 2], new Uint8Array(12)) }, error: IdxFormatError, names: TI },
  { name: 'images: dtype byte int (0x0c)', files: { [TI]: idx([0x0c03, 3, 2, 2], new Uint8Array(12)) }, error: IdxFormatError, names: TI },
  { name: 'images: 4 dimensions', files: { [TI]: idx([0x0804, 3, 2, 2, 1], new Uint8Array(12)) }, error: IdxFormatError, names: TI },
  { name: 'images: 2 dimensions', files: { [TI]: idx([0x0802, 3, 4], new Uint8Array(12)) }, error: IdxFormatError, names: TI },
  { name: 'labels: 3 dimensions', files: { [TL]: idx([0x0803, 3, 1, 1], [5, 0, 4]) }, error: IdxFormatError, names: TL },
  { name: 'images: truncated header (10 bytes)', files: { [TI]: imagesFile(3, 2, 2).subarray(0, 10) }, error: IdxFormatError, names: TI },
  { name: 'images: magic only', files: { [TI]: imagesFile(3, 2, 2).subarray(0, 4) }, error: IdxFormatError, names: TI },
  { name: 'labels: truncated header (6 bytes)', files: { [TL]: labelsFile([5, 0, 4]).subarray(0, 6) }, error: IdxFormatError, names: TL },
  { name: 'images: truncated data (one byte short)', files: { [TI]: imagesFile(3, 2, 2).subarray(0, 16 + 11) }, error: IdxFormatError, names: TI },
  { name: 'labels: truncated data', files: { [VL]: labelsFile([7, 2]).subarray(0, 9) }, error: IdxFormatError, names: VL },
  { name: 'images: one extra byte', files: { [VI]: concat(imagesFile(2, 2, 2), [0]) }, error: IdxFormatError, names: VI },
  { name: 'labels: three extra bytes', files: { [TL]: concat(labelsFile([5, 0, 4]), [1, 2, 3]) }, error: IdxFormatError, names: TL },
  { name: 'train: 3 images, 2 labels', files: { [TL]: labelsFile([5, 0]) }, error: IdxFormatError, names: TI },
  { name: 'test: 2 images, 3 labels', files: { [VL]: labelsFile([7, 2, 1]) }, error: IdxFormatError, names: VI },
  { name: 'zero images and zero labels', files: { [TI]: idx([2051, 0, 2, 2]), [TL]: idx([2049, 0]) }, error: IdxFormatError, names: TI },
  { name: 'zero test labels', files: { [VL]: idx([2049, 0]) }, error: IdxFormatError, names: VL },
  { name: 'zero rows', files: { [TI]: idx([2051, 3, 0, 2]) }, error: IdxFormatError, names: TI },
  { name: 'zero cols', files: { [VI]: idx([2051, 2, 2, 0]) }, error: IdxFormatError, names: VI },
  { name: 'dims claiming 257 GB (60000·65535·65535)', files: { [TI]: idx([2051, 60000, 65535, 65535], new Uint8Array(64)) }, error: IdxFormatError, names: TI },
  { name: 'count 2^32−1 images', files: { [TI]: idx([2051, 0xffffffff, 2, 2], new Uint8Array(12)) }, error: IdxFormatError, names: TI },
  { name: 'count 2^32−1 labels', files: { [TL]: idx([2049, 0xffffffff], [5, 0, 4]) }, error: IdxFormatError, names: TL },
  { name: 'label 10 (MNIST has 0–9)', files: { [TL]: labelsFile([5, 10, 4]) }, error: IdxFormatError, names: TL },
  { name: 'label 255', files: { [VL]: labelsFile([7, 255]) }, error: IdxFormatError, names: VL },
  { name: 'test images 1×4, train 2×2', files: { [VI]: imagesFile(2, 1, 4) }, error: IdxFormatError, names: VI },
  { name: 'empty images file', files: { [TI]: new Uint8Array(0) }, error: IdxFormatError, names: TI },
  { name: 'empty labels file', files: { [VL]: new Uint8Array(0) }, error: IdxFormatError, names: VL },
  { name: 'text in place of labels', files: { [TL]: new TextEncoder().encode('5\n0\n4\n') }, error: IdxFormatError, names: TL },
  { name: '1 KiB of random bytes', files: { [TI]: random(1024, 7) }, error: IdxFormatError, names: TI },
  { name: 'a gzipped file under the raw name', files: { [TI]: gzipSync(imagesFile(3, 2, 2)) }, error: IdxFormatError, names: TI },
  { name: '.gz that is not gzip', files: { [TL]: undefined, [`${TL}.gz`]: GOOD_MNIST[TL]! }, error: IdxFormatError, names: `${TL}.gz` },
  { name: '.gz truncated', files: { [TL]: undefined, [`${TL}.gz`]: gzTruncated() }, error: IdxFormatError, names: `${TL}.gz` },
  { name: '.gz with trailing garbage', files: { [VI]: undefined, [`${VI}.gz`]: concat(gzipSync(GOOD_MNIST[VI]!), [1, 2, 3, 4]) }, error: IdxFormatError, names: `${VI}.gz` },
  { name: '.gz empty', files: { [VI]: undefined, [`${VI}.gz`]: new Uint8Array(0) }, error: IdxFormatError, names: `${VI}.gz` },
  { name: '.gz of a truncated IDX file', files: { [TI]: undefined, [`${TI}.gz`]: gzipSync(imagesFile(3, 2, 2).subarray(0, 20)) }, error: IdxFormatError, names: `${TI}.gz` },
  { name: '.gz of labels out of range', files: { [TL]: undefined, ['train-labels.idx1-ubyte.gz']: gzipSync(labelsFile([5, 0, 40])) }, error: IdxFormatError, names: 'train-labels.idx1-ubyte.gz' },
  { name: 'a directory in place of the images', files: { [TI]: 'directory' }, error: FileReadError, names: TI },
  { name: 'a directory in place of a .gz', files: { [VL]: undefined, [`${VL}.gz`]: 'directory' }, error: FileReadError, names: `${VL}.gz` },
  { name: 'a symbolic link to itself', files: { [TL]: 'self-link' }, error: FileReadError, names: TL },
  { name: 'a file missing', files: { [VL]: undefined }, error: FileReadError, names: '' },
  { name: 'all files missing', files: { [TI]: undefined, [TL]: undefined, [VI]: undefined, [VL]: undefined }, error: FileReadError, names: '' },
  { name: 'the directory does not exist', files: {}, layout: 'absent', error: FileReadError, names: '' },
  { name: 'the directory is a file', files: {}, layout: 'file', error: FileReadError, names: '' },
];

// ---------------------------------------------------------------------------------------------
// Checkpoints: one file per case, from a valid seed-CNN checkpoint built on the CPU.

const BN_MODULES = [1, 2, 4, 5, 6, 7].map((k) => `convblock${k}.2`);
const GOOD_STEPS = 42n;

/** A valid seed-CNN checkpoint as the trainer writes it: parameters, SGD momentum, BN statistics and counters. */
function goodTensors(): Record<string, SafetensorsTensor> {
  const tensors: Record<string, SafetensorsTensor> = {};
  let k = 0;
  const values = (n: number, f: (i: number) => number) => Float32Array.from({ length: n }, (_, i) => f(i));
  for (const [name, shape] of Object.entries(seedCnnParameterShapes())) {
    const n = shape.reduce((a, b) => a * b, 1);
    tensors[name] = { dtype: 'F32', shape, data: values(n, (i) => Math.sin(++k + i) * 0.3) };
    tensors[`${OPTIMIZER_PREFIX}${name}.momentum_buffer`] = { dtype: 'F32', shape, data: values(n, (i) => Math.cos(k + i) * 0.01) };
  }
  for (const [name, shape] of Object.entries(seedCnnBufferShapes())) {
    tensors[name] = { dtype: 'F32', shape, data: values(shape[0]!, (i) => (name.endsWith('var') ? 0.5 + i / 16 : (i - 8) / 10)) };
  }
  for (const m of BN_MODULES) tensors[`${m}.num_batches_tracked`] = { dtype: 'I64', shape: [], data: BigInt64Array.of(GOOD_STEPS) };
  return tensors;
}
const GOOD_METADATA = { format: 'pt', producer: 'webgpu-backprop', steps: String(GOOD_STEPS), optimizer: 'sgd', lr: '0.01', momentum: '0.9', epoch: '2', seed: '3', batch: '128', model: 'seed-cnn' };

/** The valid file with some tensors changed (undefined removes one) and metadata merged (undefined removes a key). */
function variant(tensors: Record<string, SafetensorsTensor | undefined> = {}, metadata: Record<string, string | undefined> = {}): Uint8Array {
  const t: Record<string, SafetensorsTensor> = { ...goodTensors() };
  for (const [name, value] of Object.entries(tensors)) {
    if (value === undefined) delete t[name];
    else t[name] = value;
  }
  const m: Record<string, string> = { ...GOOD_METADATA };
  for (const [key, value] of Object.entries(metadata)) {
    if (value === undefined) delete m[key];
    else m[key] = value;
  }
  return encodeSafetensors(t, m);
}

/** The valid tensor `name` with element i set to v. */
function poke(name: string, i: number, v: number): Record<string, SafetensorsTensor> {
  const t = goodTensors()[name]!;
  const data = Float32Array.from(t.data as Float32Array);
  data[i] = v;
  return { [name]: { dtype: 'F32', shape: t.shape, data } };
}
const i64 = (v: bigint, shape: number[] = []): SafetensorsTensor => ({ dtype: 'I64', shape, data: shape.length === 0 ? BigInt64Array.of(v) : BigInt64Array.from({ length: shape[0]! }, () => v) });

/** A safetensors file from header text and data bytes, with the header length given or true. */
function rawFile(header: string, data: ArrayLike<number> = [], length?: bigint): Uint8Array {
  const json = new TextEncoder().encode(header);
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, length ?? BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}
/** A copy of bytes with byte i set to b. */
const withByte = (bytes: Uint8Array, i: number, b: number) => {
  const out = Uint8Array.from(bytes);
  out[i] = b;
  return out;
};
const u8Tensor = (offsets: [number, number], shape = [offsets[1] - offsets[0]], dtype = 'U8') => ({ dtype, shape, data_offsets: offsets });

type Stage = 'read' | 'decode' | 'info' | 'load';
interface CheckpointCase {
  name: string;
  bytes: Uint8Array | 'directory' | 'absent';
  /** The first stage that must refuse the file. */
  stage: Stage;
  /** A fragment the message must hold, to tell which check fired. */
  says: string | RegExp;
}

const good = variant();
/** The valid file with a checksum, as the engine writes its checkpoints. */
const summed = variant({}, { checksum: 'crc32' });
/** A copy of summed with its text `from` replaced by `to` (same length). */
const summedWith = (from: string, to: string) => {
  const at = new TextDecoder().decode(summed).indexOf(from);
  const out = Uint8Array.from(summed);
  out.set(new TextEncoder().encode(to), at);
  return out;
};
const CHECKPOINT_CASES: CheckpointCase[] = [
  { name: 'empty file', bytes: new Uint8Array(0), stage: 'decode', says: 'file is 0 bytes' },
  { name: '7 bytes', bytes: good.subarray(0, 7), stage: 'decode', says: 'expected at least the 8-byte header length' },
  { name: 'truncated in the header', bytes: good.subarray(0, 100), stage: 'decode', says: 'header length is' },
  { name: 'truncated in the data', bytes: good.subarray(0, good.length - 1000), stage: 'decode', says: 'run past the' },
  { name: 'truncated by one byte', bytes: good.subarray(0, good.length - 1), stage: 'decode', says: 'run past the' },
  { name: 'one trailing byte', bytes: concat(good, [0]), stage: 'decode', says: '1 trailing bytes' },
  { name: 'header length 2^63', bytes: rawFile('{}', [], 2n ** 63n), stage: 'decode', says: 'header length is 9223372036854775808 bytes' },
  { name: 'header length beyond the file', bytes: rawFile('{}', [], 3n), stage: 'decode', says: 'header length is 3 bytes, but only 2' },
  { name: 'header not JSON', bytes: rawFile('{"a": [1, 2'), stage: 'decode', says: 'header is not valid JSON' },
  { name: 'header not UTF-8', bytes: withByte(rawFile('{"ab":{}}'), 10, 0xff), stage: 'decode', says: 'header is not valid UTF-8' },
  { name: 'header a JSON array', bytes: rawFile('[1,2,3]'), stage: 'decode', says: 'header is an array, expected a JSON object' },
  { name: 'header JSON null', bytes: rawFile('null'), stage: 'decode', says: 'header is null' },
  { name: '__metadata__ an array', bytes: rawFile('{"__metadata__":["epoch"]}'), stage: 'decode', says: '__metadata__ is an array' },
  { name: '__metadata__ value a number', bytes: rawFile('{"__metadata__":{"epoch":3}}'), stage: 'decode', says: '__metadata__.epoch is 3, expected a string' },
  { name: 'tensor entry a string', bytes: rawFile('{"w":"F32"}'), stage: 'decode', says: 'tensor "w" is "F32"' },
  { name: 'unknown dtype F8_E4M3', bytes: rawFile(JSON.stringify({ w: u8Tensor([0, 2], [2], 'F8_E4M3') }), [0, 0]), stage: 'decode', says: 'dtype is "F8_E4M3"' },
  { name: 'a BOOL byte of 2', bytes: rawFile(JSON.stringify({ w: u8Tensor([0, 2], [2], 'BOOL') }), [1, 2]), stage: 'decode', says: 'BOOL element 1 is the byte 2, expected 0 or 1' },
  { name: 'negative dimension', bytes: rawFile(JSON.stringify({ w: u8Tensor([0, 2], [-2]) }), [0, 0]), stage: 'decode', says: 'expected an array of non-negative integers' },
  { name: 'shape and offsets disagree', bytes: rawFile(JSON.stringify({ w: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }), new Uint8Array(8)), stage: 'decode', says: 'span 8 bytes, expected 3·4 = 12' },
  { name: 'offsets out of range', bytes: rawFile(JSON.stringify({ w: u8Tensor([0, 9]) }), new Uint8Array(4)), stage: 'decode', says: 'run past the 4 data bytes' },
  { name: 'offsets overlap', bytes: rawFile(JSON.stringify({ a: u8Tensor([0, 4]), b: u8Tensor([2, 6]) }), new Uint8Array(6)), stage: 'decode', says: 'overlap' },
  { name: 'offsets leave a gap', bytes: rawFile(JSON.stringify({ a: u8Tensor([0, 2]), b: u8Tensor([4, 6]) }), new Uint8Array(6)), stage: 'decode', says: 'leave a gap of 2 bytes' },
  { name: 'offsets do not cover the data', bytes: rawFile(JSON.stringify({ a: u8Tensor([0, 2]) }), new Uint8Array(6)), stage: 'decode', says: '4 trailing bytes' },
  { name: 'offsets reversed', bytes: rawFile(JSON.stringify({ a: u8Tensor([4, 0], [0]) }), new Uint8Array(4)), stage: 'decode', says: 'expected [begin, end] with 0 ≤ begin ≤ end' },
  { name: 'offsets fractional', bytes: rawFile(JSON.stringify({ a: { dtype: 'U8', shape: [2], data_offsets: [0, 2.5] } }), new Uint8Array(2)), stage: 'decode', says: 'data_offsets is [0,2.5]' },
  { name: 'checksummed: one bit of a weight flipped', bytes: withByte(summed, summed.length - 5000, summed[summed.length - 5000]! ^ 0x10), stage: 'decode', says: 'do not match its checksum' },
  { name: 'checksummed: its epoch edited', bytes: summedWith('"epoch":"2"', '"epoch":"7"'), stage: 'decode', says: 'do not match its checksum' },
  { name: 'a directory', bytes: 'directory', stage: 'read', says: 'is a directory, expected a checkpoint' },
  { name: 'no such file', bytes: 'absent', stage: 'read', says: 'does not exist, expected a checkpoint' },
  { name: 'metadata epoch "abc"', bytes: variant({}, { epoch: 'abc' }), stage: 'info', says: '__metadata__.epoch is "abc", expected a whole number ≥ 0' },
  { name: 'metadata epoch "-5"', bytes: variant({}, { epoch: '-5' }), stage: 'info', says: '__metadata__.epoch is "-5", expected a whole number ≥ 0' },
  { name: 'metadata epoch "1.5"', bytes: variant({}, { epoch: '1.5' }), stage: 'info', says: '__metadata__.epoch is "1.5", expected a whole number ≥ 0' },
  { name: 'metadata epoch ""', bytes: variant({}, { epoch: '' }), stage: 'info', says: '__metadata__.epoch is ""' },
  { name: 'metadata steps "many"', bytes: variant({}, { steps: 'many' }), stage: 'info', says: '__metadata__.steps is "many", expected a whole number ≥ 0' },
  { name: 'metadata steps "-1"', bytes: variant({}, { steps: '-1' }), stage: 'info', says: '__metadata__.steps is "-1"' },
  { name: 'metadata steps disagree with num_batches_tracked', bytes: variant({}, { steps: '41' }), stage: 'info', says: `__metadata__.steps is "41", but tensor 'convblock1.2.num_batches_tracked' is 42` },
  { name: 'metadata seed 2^32', bytes: variant({}, { seed: '4294967296' }), stage: 'info', says: '__metadata__.seed is "4294967296", expected a whole number from 0 to 4294967295' },
  { name: 'metadata seed "0x10"', bytes: variant({}, { seed: '0x10' }), stage: 'info', says: '__metadata__.seed is "0x10"' },
  { name: 'metadata batch "0"', bytes: variant({}, { batch: '0' }), stage: 'info', says: '__metadata__.batch is "0", expected a whole number ≥ 1' },
  { name: 'metadata batch "12.8"', bytes: variant({}, { batch: '12.8' }), stage: 'info', says: '__metadata__.batch is "12.8"' },
  { name: 'num_batches_tracked F32', bytes: variant({ 'convblock4.2.num_batches_tracked': { dtype: 'F32', shape: [], data: Float32Array.of(42) } }), stage: 'info', says: "'convblock4.2.num_batches_tracked': dtype is F32, expected I64" },
  { name: 'num_batches_tracked I32', bytes: variant({ 'convblock4.2.num_batches_tracked': { dtype: 'I32', shape: [], data: Int32Array.of(42) } }), stage: 'info', says: 'dtype is I32, expected I64' },
  { name: 'num_batches_tracked negative', bytes: variant(Object.fromEntries(BN_MODULES.map((m) => [`${m}.num_batches_tracked`, i64(-1n)])), { steps: undefined }), stage: 'info', says: "'convblock1.2.num_batches_tracked' is -1, expected a step count from 0" },
  { name: 'num_batches_tracked missing', bytes: variant({ 'convblock7.2.num_batches_tracked': undefined }), stage: 'info', says: "tensor 'convblock7.2.num_batches_tracked' is missing" },
  { name: 'num_batches_tracked all missing, no metadata', bytes: encodeSafetensors(Object.fromEntries(Object.entries(goodTensors()).filter(([k]) => !k.endsWith('num_batches_tracked')))), stage: 'info', says: 'num_batches_tracked\' is missing' },
  { name: 'num_batches_tracked disagree', bytes: variant({ 'convblock5.2.num_batches_tracked': i64(40n) }, { steps: undefined }), stage: 'info', says: "tensor 'convblock5.2.num_batches_tracked' is 40, but 'convblock1.2.num_batches_tracked' is 42" },
  { name: 'num_batches_tracked shape [2]', bytes: variant({ 'convblock1.2.num_batches_tracked': i64(42n, [2]) }), stage: 'info', says: 'shape is [2], expected [] (one step count)' },
  { name: 'num_batches_tracked 2^62', bytes: variant(Object.fromEntries(BN_MODULES.map((m) => [`${m}.num_batches_tracked`, i64(2n ** 62n)])), { steps: undefined }), stage: 'info', says: 'is 4611686018427387904, expected a step count from 0 to 9007199254740991' },
  { name: 'weight missing', bytes: variant({ 'convblock3.0.weight': undefined }), stage: 'load', says: "tensor 'convblock3.0.weight' is missing" },
  { name: 'running_var missing', bytes: variant({ 'convblock2.2.running_var': undefined }), stage: 'load', says: "tensor 'convblock2.2.running_var' is missing (expected F32 [32])" },
  { name: 'weight with the wrong shape', bytes: variant({ 'convblock8.0.weight': { dtype: 'F32', shape: [10, 16], data: new Float32Array(160) } }), stage: 'load', says: 'shape is [10, 16], expected [10, 16, 1, 1]' },
  { name: 'weight I32', bytes: variant({ 'convblock8.0.weight': { dtype: 'I32', shape: [10, 16, 1, 1], data: new Int32Array(160) } }), stage: 'load', says: "'convblock8.0.weight': dtype is I32, expected F32" },
  { name: 'weight F64 beyond float32', bytes: variant({ 'convblock8.0.weight': { dtype: 'F64', shape: [10, 16, 1, 1], data: Float64Array.from({ length: 160 }, (_, i) => (i === 9 ? 1e300 : 0.1)) } }), stage: 'load', says: "tensor 'convblock8.0.weight': element 9 is Infinity" },
  { name: 'bias U8', bytes: variant({ 'convblock1.2.bias': { dtype: 'U8', shape: [16], data: new Uint8Array(16) } }), stage: 'load', says: 'dtype is U8, expected F32' },
  { name: 'NaN weight', bytes: variant(poke('convblock2.0.weight', 100, NaN)), stage: 'load', says: "'convblock2.0.weight': element 100 is NaN, expected a finite number" },
  { name: '+Infinity bias', bytes: variant(poke('convblock1.2.bias', 3, Infinity)), stage: 'load', says: 'element 3 is Infinity' },
  { name: '−Infinity running_mean', bytes: variant(poke('convblock6.2.running_mean', 0, -Infinity)), stage: 'load', says: 'element 0 is -Infinity' },
  { name: 'NaN running_var', bytes: variant(poke('convblock6.2.running_var', 2, NaN)), stage: 'load', says: "'convblock6.2.running_var': element 2 is NaN" },
  { name: 'negative running_var', bytes: variant(poke('convblock5.2.running_var', 4, -0.25)), stage: 'load', says: "'convblock5.2.running_var': element 4 is -0.25, expected a variance ≥ 0" },
  { name: 'weight 3e38', bytes: variant(poke('convblock1.0.weight', 9, 3e38)), stage: 'load', says: "'convblock1.0.weight': element 9 is 3e+38, expected |v| ≤ 1e18 (beyond that a product of two such values overflows float32)" },
  { name: 'weight −1e20', bytes: variant(poke('convblock8.0.weight', 0, -1e20)), stage: 'load', says: 'element 0 is -1e+20, expected |v| ≤ 1e18' },
  { name: 'running_mean 1e19', bytes: variant(poke('convblock7.2.running_mean', 1, 1e19)), stage: 'load', says: "'convblock7.2.running_mean': element 1 is 1e+19" },
  { name: 'running_var 3.4e38', bytes: variant(poke('convblock1.2.running_var', 0, 3.4e38)), stage: 'load', says: 'element 0 is 3.4e+38, expected a variance ≤ 1e36' },
  { name: 'running_var 1e37', bytes: variant(poke('convblock1.2.running_var', 3, 1e37)), stage: 'load', says: 'element 3 is 1e+37, expected a variance ≤ 1e36' },
  { name: 'NaN momentum_buffer', bytes: variant(poke('optimizer.convblock3.0.weight.momentum_buffer', 5, NaN)), stage: 'load', says: "'optimizer.convblock3.0.weight.momentum_buffer': element 5 is NaN" },
  { name: 'momentum_buffer with the wrong shape', bytes: variant({ 'optimizer.convblock8.0.weight.momentum_buffer': { dtype: 'F32', shape: [160], data: new Float32Array(160) } }), stage: 'load', says: 'shape is [160], expected [10, 16, 1, 1]' },
];

// ---------------------------------------------------------------------------------------------

let root: string;
let before: Map<string, string>;

/**
 * Every entry under dir: a link's target, 'directory', or a file's size, inode and change times
 * (any write, truncation or replacement changes them) and, for files under `hashUnder`, its sha256.
 */
async function snapshot(dir: string, hashUnder = dir, into = new Map<string, string>()): Promise<Map<string, string>> {
  for (const entry of await readdir(dir)) {
    const path = join(dir, entry);
    const info = await lstat(path, { bigint: true });
    if (info.isSymbolicLink()) into.set(path, `link → ${await readlink(path)}`);
    else if (info.isDirectory()) {
      into.set(path, 'directory');
      await snapshot(path, hashUnder, into);
    } else {
      const hash = path.startsWith(hashUnder) ? createHash('sha256').update(await readFile(path)).digest('hex') : '';
      into.set(path, `${info.size} bytes, inode ${info.ino}, mtime ${info.mtimeNs}, ctime ${info.ctimeNs} ${hash}`);
    }
  }
  return into;
}

const mnistDir = (i: number) => join(root, 'mnist', String(i).padStart(2, '0'));
const checkpointPath = (i: number) => join(root, 'checkpoints', `${String(i).padStart(2, '0')}.safetensors`);

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'corrupt-files-'));
  await mkdir(join(root, 'mnist'));
  await mkdir(join(root, 'checkpoints'));
  for (const [i, c] of MNIST_CASES.entries()) {
    const dir = mnistDir(i);
    if (c.layout === 'absent') continue;
    if (c.layout === 'file') {
      await writeFile(dir, 'not a directory\n');
      continue;
    }
    await mkdir(dir);
    for (const [name, bytes] of Object.entries({ ...GOOD_MNIST, ...c.files })) {
      const path = join(dir, name);
      if (bytes === undefined) continue;
      if (bytes === 'directory') await mkdir(path);
      else if (bytes === 'self-link') await symlink(path, path);
      else await writeFile(path, bytes);
    }
  }
  await mkdir(join(root, 'mnist', 'good'));
  for (const [name, bytes] of Object.entries(GOOD_MNIST)) await writeFile(join(root, 'mnist', 'good', name), bytes);
  for (const [i, c] of CHECKPOINT_CASES.entries()) {
    if (c.bytes === 'directory') await mkdir(checkpointPath(i));
    else if (c.bytes !== 'absent') await writeFile(checkpointPath(i), c.bytes);
  }
  await writeFile(join(root, 'checkpoints', 'good.safetensors'), good);
  before = await snapshot(root);
});

afterAll(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

/** What the call threw (undefined when it returned). */
async function thrownBy(run: () => Promise<unknown>): Promise<unknown> {
  try {
    await run();
  } catch (e) {
    return e;
  }
  return undefined;
}

/** The error must be a `type` whose one-line message begins with `path: `. */
function expectNamed(error: unknown, type: ErrorClass, path: string): Error {
  expect(error, 'expected the file to be refused').toBeInstanceOf(type);
  const { message } = error as Error;
  expect(message.startsWith(`${path}: `), `message ${JSON.stringify(message)} should begin with ${path}: `).toBe(true);
  expect(message, 'one line').not.toContain('\n');
  return error as Error;
}

async function expectRefusal(run: () => Promise<unknown>, type: ErrorClass, path: string): Promise<Error> {
  return expectNamed(await thrownBy(run), type, path);
}

/** Nothing in the corpus changed: every file's metadata, and the hashes of the case's own files. */
async function expectCorpusUnchanged(own: string): Promise<void> {
  const now = await snapshot(root, own);
  const then = new Map([...before].map(([path, value]) => [path, path.startsWith(own) ? value : value.replace(/ [0-9a-f]{64}$/, ' ')]));
  expect(now).toEqual(then);
}

test('the corpus holds at least 50 corrupt files', () => {
  expect(MNIST_CASES.length + CHECKPOINT_CASES.length).toBeGreaterThanOrEqual(50);
  expect(MNIST_CASES.length).toBeGreaterThanOrEqual(40);
  expect(CHECKPOINT_CASES.length).toBeGreaterThanOrEqual(50);
});

describe('MNIST directories: loadMnist refuses each with a typed error naming the file', () => {
  test('the good directory loads (the corpus is corrupt only where it says)', async () => {
    const { train, test: testSplit } = await loadMnist(join(root, 'mnist', 'good'));
    expect([train.count, testSplit.count]).toEqual([3, 2]);
  });

  test.each(MNIST_CASES.map((c, i) => [c.name, i, c] as const))('%s', async (_, i, c) => {
    const dir = mnistDir(i);
    await expectRefusal(() => loadMnist(dir), c.error, c.names === '' ? dir : join(dir, c.names));
    await expectCorpusUnchanged(dir);
  });
});

/** The reading the CLI does: the file, then the safetensors, then the metadata before the GPU; then the load. */
async function readCheckpoint(path: string, network: Network | undefined, reached: { stage: Stage }): Promise<void> {
  reached.stage = 'read';
  const bytes = await readFileBytes(path, 'a checkpoint');
  reached.stage = 'decode';
  const file = decodeSafetensors(bytes, path);
  reached.stage = 'info';
  checkpointInfo(file, path);
  reached.stage = 'load';
  if (network) loadCheckpoint(network, bytes, path);
}

const errorFor = (stage: Stage): ErrorClass => (stage === 'read' ? FileReadError : CheckpointFormatError);
const STAGES: Stage[] = ['read', 'decode', 'info', 'load'];

describe('checkpoints without a GPU: refused at the stage each row names, before the GPU starts', () => {
  test.each(CHECKPOINT_CASES.map((c, i) => [c.name, i, c] as const))('%s', async (_, i, c) => {
    const path = checkpointPath(i);
    const reached = { stage: 'read' as Stage };
    if (c.stage === 'load') {
      await readCheckpoint(path, undefined, reached);
      expect(reached.stage).toBe('load');
    } else {
      const error = await expectRefusal(() => readCheckpoint(path, undefined, reached), errorFor(c.stage), path);
      expect(reached.stage).toBe(c.stage);
      if (typeof c.says === 'string') expect(error.message).toContain(c.says);
      else expect(error.message).toMatch(c.says);
    }
    await expectCorpusUnchanged(path);
  });
});

describe('checkpoints into a seed CNN on the GPU: every one refused, the network untouched', () => {
  let network: Network | undefined;
  let weights: Float32Array[];

  const tensorsOf = (model: Network): Tensor[] => [...model.parameters.flatMap((p) => [p.value, ...Object.values(p.state)]), ...model.buffers.map((b) => b.value)];

  async function state(ctx: GpuContext, model: Network): Promise<Float32Array[]> {
    const out: Float32Array[] = [];
    for (const t of tensorsOf(model)) out.push(Float32Array.from(await ctx.read(t)));
    return out;
  }

  async function model(ctx: GpuContext): Promise<Network> {
    if (!network) {
      network = createSeedCnn(ctx, { maxBatch: 2, seed: 3 });
      network.stepsTaken = 7;
      weights = await state(ctx, network);
    }
    return network;
  }

  /** The first tensor element or step count that differs from before; the network is then put back, so one failure does not spill into the next rows. */
  async function changed(ctx: GpuContext, net: Network): Promise<string | undefined> {
    const now = await state(ctx, net);
    const tensors = tensorsOf(net);
    let found: string | undefined;
    for (let t = 0; t < now.length && !found; t++) {
      const i = now[t]!.findIndex((v, k) => !Object.is(v, weights[t]![k]));
      if (i >= 0) found = `${tensors[t]!.label} element ${i}: ${weights[t]![i]} → ${now[t]![i]}`;
    }
    if (!found && net.stepsTaken !== 7) found = `stepsTaken: 7 → ${net.stepsTaken}`;
    if (found) {
      tensors.forEach((t, k) => ctx.write(t, weights[k]!));
      net.stepsTaken = 7;
    }
    return found;
  }

  gpuTest('the good checkpoint loads: its weights, statistics and steps replace the network’s', async (ctx) => {
    const fresh = createSeedCnn(ctx, { maxBatch: 2, seed: 3 });
    await readCheckpoint(join(root, 'checkpoints', 'good.safetensors'), fresh, { stage: 'read' });
    expect(fresh.stepsTaken).toBe(Number(GOOD_STEPS));
    expect(Array.from(await ctx.read(fresh.parameters[0]!.value))).toEqual(Array.from(goodTensors()[fresh.parameters[0]!.name]!.data as Float32Array));
  });

  for (const [i, c] of CHECKPOINT_CASES.entries()) {
    gpuTest(`${c.name} (refused at ${c.stage})`, async (ctx) => {
      const net = await model(ctx);
      const path = checkpointPath(i);
      const reached = { stage: 'read' as Stage };
      const thrown = await thrownBy(() => readCheckpoint(path, net, reached));
      const change = await changed(ctx, net);
      const error = expectNamed(thrown, errorFor(c.stage), path);
      expect(change, 'the network was changed').toBeUndefined();
      expect(STAGES.indexOf(reached.stage), `refused at ${reached.stage}`).toBe(STAGES.indexOf(c.stage));
      if (typeof c.says === 'string') expect(error.message).toContain(c.says);
      else expect(error.message).toMatch(c.says);
      await expectCorpusUnchanged(path);
    });
  }
});

test('afterwards every file of the corpus hashes as before', async () => {
  expect(await snapshot(root)).toEqual(before);
});
