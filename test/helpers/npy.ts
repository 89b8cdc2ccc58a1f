/**
 * NumPy's files written from the tests (the engine only reads them): a `.npy` as `np.save` lays it
 * out, and an `.npz` as `np.savez` (stored) or `np.savez_compressed` (deflated) — with numpy's
 * zip64 extra field in each local header (`force_zip64=True`) where asked.
 */
import { deflateRawSync } from 'node:zlib';
import { crc32 } from '../../src/checkpoint/safetensors.js';

export type TypedArray = Float32Array | Float64Array | Int8Array | Uint8Array | Int16Array | Uint16Array | Int32Array | Uint32Array | BigInt64Array | BigUint64Array;

export interface NpyOptions {
  /** The format version (1: a 2-byte header length; 2 and 3: 4 bytes). */
  version?: 1 | 2 | 3;
  fortran?: boolean;
  /** The descr written, e.g. '<f4' (default: the array's little-endian type). */
  descr?: string;
}

const DESCR = new Map<unknown, string>([
  [Float32Array, '<f4'], [Float64Array, '<f8'], [Int8Array, '|i1'], [Uint8Array, '|u1'], [Int16Array, '<i2'], [Uint16Array, '<u2'],
  [Int32Array, '<i4'], [Uint32Array, '<u4'], [BigInt64Array, '<i8'], [BigUint64Array, '<u8'],
]);

export function npyBytes(data: TypedArray, shape: readonly number[], options: NpyOptions = {}): Uint8Array {
  const { version = 1, fortran = false, descr = DESCR.get(data.constructor)! } = options;
  const shapeText = `(${shape.join(', ')}${shape.length === 1 ? ',' : ''})`;
  let header = `{'descr': '${descr}', 'fortran_order': ${fortran ? 'True' : 'False'}, 'shape': ${shapeText}, }`;
  const prefix = 8 + (version === 1 ? 2 : 4);
  // Padded with spaces and a newline so the data starts at a multiple of 64, as numpy does.
  const total = Math.ceil((prefix + header.length + 1) / 64) * 64;
  header = header.padEnd(total - prefix - 1, ' ') + '\n';
  const out = new Uint8Array(total + data.byteLength);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, version, 0]);
  const view = new DataView(out.buffer);
  if (version === 1) view.setUint16(8, header.length, true);
  else view.setUint32(8, header.length, true);
  out.set(new TextEncoder().encode(header), prefix);
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), total);
  return out;
}

export interface ZipOptions {
  deflate?: boolean;
  /** numpy's force_zip64: every local header carries a zip64 extra of its sizes. */
  zip64?: boolean;
  /** A general-purpose flag for every member (1: encrypted). */
  flags?: number;
  /** The compression method written (default 0 or 8). */
  method?: number;
}

/** A zip of the members, each stored or deflated, with its central directory. */
export function zipBytes(members: Record<string, Uint8Array>, options: ZipOptions = {}): Uint8Array {
  const parts: Uint8Array[] = [];
  const central: Uint8Array[] = [];
  let offset = 0;
  for (const [name, content] of Object.entries(members)) {
    const nameBytes = new TextEncoder().encode(name);
    const data = options.deflate ? new Uint8Array(deflateRawSync(content)) : content;
    const method = options.method ?? (options.deflate ? 8 : 0);
    const crc = crc32(content);
    const extra = options.zip64 ? new Uint8Array(20) : new Uint8Array(0);
    if (options.zip64) {
      const v = new DataView(extra.buffer);
      v.setUint16(0, 1, true);
      v.setUint16(2, 16, true);
      v.setBigUint64(4, BigInt(content.length), true);
      v.setBigUint64(12, BigInt(data.length), true);
    }
    const local = new Uint8Array(30 + nameBytes.length + extra.length);
    const l = new DataView(local.buffer);
    l.setUint32(0, 0x04034b50, true);
    l.setUint16(4, options.zip64 ? 45 : 20, true);
    l.setUint16(6, options.flags ?? 0, true);
    l.setUint16(8, method, true);
    l.setUint32(14, crc, true);
    l.setUint32(18, options.zip64 ? 0xffffffff : data.length, true);
    l.setUint32(22, options.zip64 ? 0xffffffff : content.length, true);
    l.setUint16(26, nameBytes.length, true);
    l.setUint16(28, extra.length, true);
    local.set(nameBytes, 30);
    local.set(extra, 30 + nameBytes.length);
    const entry = new Uint8Array(46 + nameBytes.length);
    const c = new DataView(entry.buffer);
    c.setUint32(0, 0x02014b50, true);
    c.setUint16(4, 20, true);
    c.setUint16(6, 20, true);
    c.setUint16(8, options.flags ?? 0, true);
    c.setUint16(10, method, true);
    c.setUint32(16, crc, true);
    c.setUint32(20, data.length, true);
    c.setUint32(24, content.length, true);
    c.setUint16(28, nameBytes.length, true);
    c.setUint32(42, offset, true);
    entry.set(nameBytes, 46);
    parts.push(local, data);
    central.push(entry);
    offset += local.length + data.length;
  }
  const directorySize = central.reduce((n, e) => n + e.length, 0);
  const end = new Uint8Array(22);
  const e = new DataView(end.buffer);
  e.setUint32(0, 0x06054b50, true);
  e.setUint16(8, central.length, true);
  e.setUint16(10, central.length, true);
  e.setUint32(12, directorySize, true);
  e.setUint32(16, offset, true);
  const all = [...parts, ...central, end];
  const out = new Uint8Array(all.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of all) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** An `.npz` of named arrays (each with its shape), as np.savez writes it (np.savez_compressed with deflate). */
export function npzBytes(arrays: Record<string, { data: TypedArray; shape: readonly number[] }>, options: ZipOptions = { zip64: true }): Uint8Array {
  return zipBytes(Object.fromEntries(Object.entries(arrays).map(([name, a]) => [`${name}.npy`, npyBytes(a.data, a.shape)])), options);
}
