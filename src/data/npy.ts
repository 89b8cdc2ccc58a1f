/**
 * NumPy's array files, read from bytes: `.npy` (one array) and `.npz` (a zip of `.npy` files, as
 * `np.savez` and `np.savez_compressed` write them; Keras' `mnist.npz` is one).
 *
 * A `.npy` file is the magic `\x93NUMPY`, a version (1.0, 2.0 or 3.0), a header length (2 bytes
 * in 1.0, 4 after), a header — a Python dict literal `{'descr': '<f4', 'fortran_order': False,
 * 'shape': (60000, 28, 28), }` — and the array's bytes in C order. Read here: little-endian (or
 * byte-order-free) booleans, integers of 1 to 8 bytes and floats of 4 and 8, and float16 (read as
 * the float32 values it holds, exactly: dtype f4); Fortran order,
 * big-endian data, complex, structured and object arrays are refused, naming the file,
 * the array and what to do instead. An `.npz` is read through its central directory; a member is
 * stored or deflated (`inflateRaw` is the runtime's: Node's zlib in src/node/data-files.ts), and
 * checked against its CRC-32.
 * Every failure throws `NpyFormatError` naming the file (and the member). `encodeNpy` writes a
 * `.npy` as np.save does (the CLI's predictions).
 */

import { crc32, halfBitsToFloat32 } from '../checkpoint/safetensors.js';

export class NpyFormatError extends Error {
  override name = 'NpyFormatError';
  constructor(
    readonly source: string,
    message: string,
  ) {
    super(`${source}: ${message}`);
  }
}

/** The element types read: NumPy's dtype kind and size (`f4` float32, `u1` uint8, `i8` int64, `b1` bool). */
export type NpyDtype = 'f4' | 'f8' | 'i1' | 'u1' | 'i2' | 'u2' | 'i4' | 'u4' | 'i8' | 'u8' | 'b1';

interface NpyArrays {
  f4: Float32Array;
  f8: Float64Array;
  i1: Int8Array;
  u1: Uint8Array;
  i2: Int16Array;
  u2: Uint16Array;
  i4: Int32Array;
  u4: Uint32Array;
  i8: BigInt64Array;
  u8: BigUint64Array;
  b1: Uint8Array;
}

/** An array: its dtype tells which typed array `data` is (a bool array's bytes are 0 or 1). */
export type NpyArray = {
  [D in NpyDtype]: { dtype: D; shape: number[]; data: NpyArrays[D] };
}[NpyDtype];

const ARRAYS: { [D in NpyDtype]: { new (buffer: ArrayBuffer, offset: number, length: number): NpyArrays[D]; BYTES_PER_ELEMENT: number } } = {
  f4: Float32Array,
  f8: Float64Array,
  i1: Int8Array,
  u1: Uint8Array,
  i2: Int16Array,
  u2: Uint16Array,
  i4: Int32Array,
  u4: Uint32Array,
  i8: BigInt64Array,
  u8: BigUint64Array,
  b1: Uint8Array,
};

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

/** A shape as NumPy prints it: `(60000, 28, 28)`, `(7,)`, `()`. */
export function shapeText(shape: readonly number[]): string {
  return `(${shape.join(', ')}${shape.length === 1 ? ',' : ''})`;
}

/** Whether the bytes begin as a `.npy` file does. */
export function isNpy(bytes: Uint8Array): boolean {
  return MAGIC.every((b, i) => bytes[i] === b);
}

/** One `.npy` file's array; `source` names it in errors (a path, or `file.npz: x_train.npy`). */
export function parseNpy(bytes: Uint8Array, source: string): NpyArray {
  if (!isNpy(bytes)) {
    const zip = bytes[0] === 0x50 && bytes[1] === 0x4b ? ' (it is a zip file: an .npz?)' : '';
    throw new NpyFormatError(source, `does not begin with \\x93NUMPY, expected a NumPy .npy file${zip}`);
  }
  if (bytes.length < 10) throw new NpyFormatError(source, `is ${bytes.length} bytes, shorter than a .npy header`);
  const major = bytes[6]!;
  if (major < 1 || major > 3) throw new NpyFormatError(source, `format version ${major}.${bytes[7]}, expected 1.0, 2.0 or 3.0`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const lengthBytes = major === 1 ? 2 : 4;
  if (bytes.length < 8 + lengthBytes) throw new NpyFormatError(source, `is ${bytes.length} bytes, shorter than a .npy header`);
  const headerLength = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const dataStart = 8 + lengthBytes + headerLength;
  if (dataStart > bytes.length) throw new NpyFormatError(source, `its header says ${headerLength} bytes, but the file ends at ${bytes.length}`);
  const header = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(bytes.subarray(8 + lengthBytes, dataStart));
  const { descr, fortranOrder, shape } = parseHeader(header, source);
  const half = /^[<|=]f2$/.test(descr);
  const dtype = half ? 'u2' : dtypeOf(descr, source);
  if (fortranOrder && shape.filter((n) => n > 1).length > 1) {
    throw new NpyFormatError(source, `is in Fortran order (column-major); save np.ascontiguousarray(a) instead`);
  }
  const count = shape.reduce((a, b) => a * b, 1);
  const type = ARRAYS[dtype];
  const byteLength = count * type.BYTES_PER_ELEMENT;
  if (bytes.length - dataStart !== byteLength) {
    throw new NpyFormatError(source, `holds ${bytes.length - dataStart} bytes of data, expected ${byteLength} (shape ${shapeText(shape)} of ${descr})`);
  }
  // The data is copied where it does not start on its element size (a member of a zip may not).
  const offset = bytes.byteOffset + dataStart;
  const aligned = offset % type.BYTES_PER_ELEMENT === 0 ? bytes : bytes.slice(dataStart);
  const data = aligned === bytes ? new type(bytes.buffer as ArrayBuffer, offset, count) : new type(aligned.buffer as ArrayBuffer, 0, count);
  // float16 as the float32 values it holds, exactly (as PyTorch's .float()).
  if (half) return { dtype: 'f4', shape, data: halfBitsToFloat32(data as Uint16Array, 'float16') };
  return { dtype, shape, data } as NpyArray;
}

/** The header's three fields, from its Python dict literal. */
function parseHeader(header: string, source: string): { descr: string; fortranOrder: boolean; shape: number[] } {
  const field = (name: string, pattern: string): RegExpMatchArray => {
    const match = header.match(new RegExp(`['"]${name}['"]\\s*:\\s*${pattern}`));
    if (!match) throw new NpyFormatError(source, `its header has no ${name} field as NumPy writes it: ${header.trim()}`);
    return match;
  };
  const descrMatch = header.match(/['"]descr['"]\s*:\s*(['"])([^'"]*)\1/);
  if (!descrMatch) {
    const structured = /['"]descr['"]\s*:\s*\[/.test(header) ? ' (a structured array: save each field as its own array)' : '';
    throw new NpyFormatError(source, `its header has no plain descr field${structured}: ${header.trim()}`);
  }
  const fortranOrder = field('fortran_order', '(True|False)')[1] === 'True';
  const shapeText = field('shape', '\\(([^)]*)\\)')[1]!;
  const shape = shapeText.split(',').map((s) => s.trim()).filter((s) => s !== '').map((s) => {
    const n = Number(s.replace(/L$/, ''));
    if (!Number.isSafeInteger(n) || n < 0) throw new NpyFormatError(source, `its shape (${shapeText}) holds ${s}, expected whole numbers`);
    return n;
  });
  return { descr: descrMatch[2]!, fortranOrder, shape };
}

function dtypeOf(descr: string, source: string): NpyDtype {
  const match = /^([<>|=])([a-zA-Z])(\d+)$/.exec(descr);
  if (!match) throw new NpyFormatError(source, `its dtype ${descr} is not read here (float16/32/64, integers, bool)`);
  const [, order, kind, size] = match;
  if (order === '>' && size !== '1') throw new NpyFormatError(source, `its dtype ${descr} is big-endian; save a.astype('<${kind}${size}') instead`);
  const name = `${kind}${size}`;
  if (!(name in ARRAYS)) throw new NpyFormatError(source, `its dtype ${descr} is not read here; expected a float (<f2, <f4, <f8), an integer (|u1, <i8, …) or bool (|b1)`);
  return name as NpyDtype;
}

/** A typed array `encodeNpy` writes (its dtype follows from its type). */
export type NpyTypedArray = NpyArrays[NpyDtype];

/** How `encodeNpy` lays a file out: numpy's defaults, or (for tests of the reader) another version, order or descr. */
export interface NpyEncodeOptions {
  /** The format version (1: a 2-byte header length; 2 and 3: 4 bytes). Default 1, as np.save. */
  version?: 1 | 2 | 3;
  fortran?: boolean;
  /** The descr written (default: the array's type, little-endian). */
  descr?: string;
}

const DESCRS = new Map<unknown, string>([
  [Float32Array, '<f4'], [Float64Array, '<f8'], [Int8Array, '|i1'], [Uint8Array, '|u1'], [Int16Array, '<i2'], [Uint16Array, '<u2'],
  [Int32Array, '<i4'], [Uint32Array, '<u4'], [BigInt64Array, '<i8'], [BigUint64Array, '<u8'],
]);

/** A `.npy` file of `data` in C order, as `np.save` writes it: the header padded so the data starts at a multiple of 64 bytes. */
export function encodeNpy(data: NpyTypedArray, shape: readonly number[], options: NpyEncodeOptions = {}): Uint8Array {
  const { version = 1, fortran = false, descr = DESCRS.get(data.constructor)! } = options;
  const count = shape.reduce((a, b) => a * b, 1);
  if (count !== data.length) throw new RangeError(`encodeNpy: shape ${shapeText(shape)} holds ${count} values, the data ${data.length}`);
  const prefix = 8 + (version === 1 ? 2 : 4);
  const text = `{'descr': '${descr}', 'fortran_order': ${fortran ? 'True' : 'False'}, 'shape': ${shapeText(shape)}, }`;
  const total = Math.ceil((prefix + text.length + 1) / 64) * 64;
  const header = text.padEnd(total - prefix - 1, ' ') + '\n';
  const out = new Uint8Array(total + data.byteLength);
  out.set([...MAGIC, version, 0]);
  const view = new DataView(out.buffer);
  if (version === 1) view.setUint16(8, header.length, true);
  else view.setUint32(8, header.length, true);
  out.set(new TextEncoder().encode(header), prefix);
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), total);
  return out;
}

/** How a zip member's bytes are inflated (raw deflate: no zlib header). */
export type InflateRaw = (bytes: Uint8Array, expectedLength: number) => Uint8Array;

/**
 * The `.npy` members of an `.npz` file, by name without `.npy` (`x_train`), in the file's order.
 * Members that are not `.npy` files are skipped; a member of another compression, an encrypted
 * one, or a directory that does not add up is refused.
 */
export function parseNpz(bytes: Uint8Array, source: string, inflateRaw: InflateRaw): Map<string, NpyArray> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // The end of central directory record: its signature, searched back over a comment of up to 64 KiB.
  let end = -1;
  for (let i = bytes.length - 22; i >= Math.max(0, bytes.length - 22 - 0xffff); i--) {
    if (view.getUint32(i, true) === 0x06054b50) {
      end = i;
      break;
    }
  }
  if (end < 0) {
    const npy = isNpy(bytes) ? ' (it is a .npy file: give it a .npy name)' : '';
    throw new NpyFormatError(source, `is not a zip file (no end of central directory), expected a NumPy .npz file${npy}`);
  }
  let entries = view.getUint16(end + 10, true);
  let directory = view.getUint32(end + 16, true);
  if (entries === 0xffff || directory === 0xffffffff) {
    // Zip64: the record's locator sits just before it.
    const locator = end - 20;
    if (locator < 0 || view.getUint32(locator, true) !== 0x07064b50) throw new NpyFormatError(source, 'its zip64 end record is missing');
    const record = Number(view.getBigUint64(locator + 8, true));
    if (record + 56 > bytes.length || view.getUint32(record, true) !== 0x06064b50) throw new NpyFormatError(source, 'its zip64 end record is damaged');
    entries = Number(view.getBigUint64(record + 32, true));
    directory = Number(view.getBigUint64(record + 48, true));
  }
  const arrays = new Map<string, NpyArray>();
  let at = directory;
  for (let e = 0; e < entries; e++) {
    if (at + 46 > bytes.length || view.getUint32(at, true) !== 0x02014b50) throw new NpyFormatError(source, `its zip directory is damaged at entry ${e + 1} of ${entries}`);
    const flags = view.getUint16(at + 8, true);
    const method = view.getUint16(at + 10, true);
    const crc = view.getUint32(at + 16, true);
    let compressed = view.getUint32(at + 20, true);
    let size = view.getUint32(at + 24, true);
    const nameLength = view.getUint16(at + 28, true);
    const extraLength = view.getUint16(at + 30, true);
    const commentLength = view.getUint16(at + 32, true);
    let local = view.getUint32(at + 42, true);
    const name = new TextDecoder().decode(bytes.subarray(at + 46, at + 46 + nameLength));
    // Zip64's sizes and offset, in that order, for the fields that hold 0xffffffff.
    let extra = at + 46 + nameLength;
    const extraEnd = extra + extraLength;
    while (extra + 4 <= extraEnd) {
      const id = view.getUint16(extra, true);
      const length = view.getUint16(extra + 2, true);
      if (id === 0x0001) {
        let p = extra + 4;
        const next = () => {
          const v = Number(view.getBigUint64(p, true));
          p += 8;
          return v;
        };
        if (size === 0xffffffff) size = next();
        if (compressed === 0xffffffff) compressed = next();
        if (local === 0xffffffff) local = next();
      }
      extra += 4 + length;
    }
    at = extraEnd + commentLength;
    if (!name.endsWith('.npy')) continue;
    const member = `${source}: ${name}`;
    if (flags & 1) throw new NpyFormatError(member, 'is encrypted');
    if (local + 30 > bytes.length || view.getUint32(local, true) !== 0x04034b50) throw new NpyFormatError(member, 'its local zip header is damaged');
    const start = local + 30 + view.getUint16(local + 26, true) + view.getUint16(local + 28, true);
    if (start + compressed > bytes.length) throw new NpyFormatError(member, `its ${compressed} bytes run past the file's end`);
    const raw = bytes.subarray(start, start + compressed);
    let data: Uint8Array;
    if (method === 0) data = raw;
    else if (method === 8) {
      try {
        data = inflateRaw(raw, size);
      } catch (cause) {
        throw new NpyFormatError(member, `does not inflate (${(cause as Error).message})`);
      }
    } else throw new NpyFormatError(member, `is compressed by zip method ${method}; expected stored (np.savez) or deflate (np.savez_compressed)`);
    if (data.length !== size) throw new NpyFormatError(member, `is ${data.length} bytes, its zip directory says ${size}`);
    if (crc32(data) !== crc) throw new NpyFormatError(member, 'fails its CRC-32 check: the file is damaged');
    arrays.set(name.slice(0, -'.npy'.length), parseNpy(data, member));
  }
  return arrays;
}
