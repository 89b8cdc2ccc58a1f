/**
 * MNIST's IDX files, parsed and checked from bytes (no file system, so it runs in a browser too).
 *
 * An IDX file is a big-endian u32 header followed by unsigned bytes: images are
 * `magic 2051, count, rows, cols` then count·rows·cols pixels; labels are `magic 2049, count`
 * then count labels. A malformed file throws `IdxFormatError` naming the file, the field and what
 * was expected.
 */

export class IdxFormatError extends Error {
  override name = 'IdxFormatError';
  constructor(
    readonly source: string,
    message: string,
  ) {
    super(`${source}: ${message}`);
  }
}

export interface IdxImages {
  readonly count: number;
  readonly rows: number;
  readonly cols: number;
  /** count·rows·cols pixels, row-major, 0 = background; a view into the file's bytes. */
  readonly pixels: Uint8Array;
}

export interface IdxLabels {
  readonly count: number;
  /** A view into the file's bytes. */
  readonly labels: Uint8Array;
}

/** One split of MNIST: `images` holds count·rows·cols pixels, `labels` count digits. */
export interface MnistSplit {
  images: Uint8Array;
  labels: Uint8Array;
  count: number;
  rows: number;
  cols: number;
}

export interface MnistDataset {
  train: MnistSplit;
  test: MnistSplit;
  /** Where the files came from, for messages. */
  source: string;
}

const IMAGES_MAGIC = 2051;
const LABELS_MAGIC = 2049;

export function parseIdxImages(bytes: Uint8Array, source: string): IdxImages {
  const { count, rows, cols } = readHeader(bytes, source, IMAGES_MAGIC, ['count', 'rows', 'cols']);
  if (count === 0) throw new IdxFormatError(source, 'count is 0 images, expected at least one');
  if (rows * cols === 0) throw new IdxFormatError(source, `image size is ${rows}×${cols}, expected rows and cols > 0`);
  const headerBytes = 16;
  checkLength(bytes, source, headerBytes, count, rows * cols, `${count}·${rows}·${cols}`);
  return { count, rows, cols, pixels: view(bytes, headerBytes, count * rows * cols) };
}

export function parseIdxLabels(bytes: Uint8Array, source: string, classes = 10): IdxLabels {
  if (!Number.isInteger(classes) || classes < 1 || classes > 256) throw new RangeError(`parseIdxLabels: classes is ${classes}, expected a whole number from 1 to 256`);
  const { count } = readHeader(bytes, source, LABELS_MAGIC, ['count']);
  if (count === 0) throw new IdxFormatError(source, 'count is 0 labels, expected at least one');
  const headerBytes = 8;
  checkLength(bytes, source, headerBytes, count, 1, `${count}`);
  const labels = view(bytes, headerBytes, count);
  const bad = labels.findIndex((label) => label >= classes);
  if (bad >= 0) {
    throw new IdxFormatError(source, `label ${labels[bad]} at index ${bad} is out of range 0–${classes - 1}`);
  }
  return { count, labels };
}

/** An image file and its label file must describe the same number of examples. */
export function checkImagesMatchLabels(
  images: Pick<IdxImages, 'count'>,
  labels: Pick<IdxLabels, 'count'>,
  imagesSource: string,
  labelsSource: string,
): void {
  if (images.count !== labels.count) {
    throw new IdxFormatError(
      imagesSource,
      `count is ${images.count} images, but ${labelsSource} has ${labels.count} labels; expected the same count`,
    );
  }
}

/** Reads the magic number, checks it, then reads the named u32 fields that follow it. */
function readHeader<const F extends readonly string[]>(bytes: Uint8Array, source: string, magic: number, fields: F): Record<F[number], number> {
  const kind = magic === IMAGES_MAGIC ? 'an IDX image file' : 'an IDX label file';
  const headerBytes = 4 * (fields.length + 1);
  checkHeaderLength(bytes, source, 4, kind);
  const found = new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0, false);
  if (found !== magic) {
    const gzip = bytes[0] === 0x1f && bytes[1] === 0x8b ? '; the file looks gzip-compressed, gunzip it first' : '';
    throw new IdxFormatError(source, `magic number is ${found}, expected ${magic} (${kind})${magicProblem(found, magic)}${gzip}`);
  }
  checkHeaderLength(bytes, source, headerBytes, kind);
  const data = new DataView(bytes.buffer, bytes.byteOffset, headerBytes);
  return Object.fromEntries(fields.map((field, i) => [field, data.getUint32(4 * (i + 1), false)])) as Record<F[number], number>;
}

/** Bytes 0–1 of a magic number are zero, byte 2 is the element type, byte 3 the dimensions. */
const IDX_TYPES: Record<number, string> = { 0x08: 'unsigned byte', 0x09: 'signed byte', 0x0b: 'short', 0x0c: 'int', 0x0d: 'float', 0x0e: 'double' };

/** Which part of an IDX magic number is wrong, when the found one has IDX's form. */
function magicProblem(found: number, magic: number): string {
  if (found >>> 16 !== 0) return '';
  const [type, dims] = [(found >>> 8) & 0xff, found & 0xff];
  const [wantType, wantDims] = [(magic >>> 8) & 0xff, magic & 0xff];
  const hex = (b: number) => `0x${b.toString(16).padStart(2, '0')}`;
  const problems: string[] = [];
  if (type !== wantType) problems.push(`its element type byte is ${hex(type)} (${IDX_TYPES[type] ?? 'not an IDX type'}), expected ${hex(wantType)} (${IDX_TYPES[wantType]})`);
  if (dims !== wantDims) problems.push(`it has ${dims} dimension${dims === 1 ? '' : 's'}, expected ${wantDims}`);
  return problems.map((p) => `; ${p}`).join('');
}

/** A .gz file's bytes are its unpacked data's (its own size on disk is another number). */
const sizeOf = (bytes: Uint8Array, source: string) => `${source.endsWith('.gz') ? 'its unpacked data is' : 'file is'} ${bytes.byteLength} bytes`;

function checkHeaderLength(bytes: Uint8Array, source: string, headerBytes: number, kind: string): void {
  if (bytes.byteLength < headerBytes) {
    throw new IdxFormatError(source, `${sizeOf(bytes, source)}, expected at least ${headerBytes} header bytes of ${kind} (truncated)`);
  }
}

/** The file must be exactly the header plus count items of itemBytes each. */
function checkLength(bytes: Uint8Array, source: string, headerBytes: number, count: number, itemBytes: number, formula: string): void {
  const expected = headerBytes + count * itemBytes;
  if (bytes.byteLength === expected) return;
  const problem = bytes.byteLength < expected ? 'truncated, or count is wrong' : `${bytes.byteLength - expected} trailing bytes`;
  throw new IdxFormatError(source, `${sizeOf(bytes, source)}, expected ${headerBytes} + ${formula} = ${expected} from the header's count (${problem})`);
}

/** A plain Uint8Array view (not a Node Buffer) of length bytes from offset. */
function view(bytes: Uint8Array, offset: number, length: number): Uint8Array {
  return new Uint8Array(bytes.buffer, bytes.byteOffset + offset, length);
}
