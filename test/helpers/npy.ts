/**
 * NumPy's files written from the tests (the engine only reads them): a `.npy` as `np.save` lays it
 * out, and an `.npz` as `np.savez` (stored) or `np.savez_compressed` (deflated) — with numpy's
 * zip64 extra field in each local header (`force_zip64=True`) where asked.
 */
import { deflateRawSync } from 'node:zlib';
import { crc32 } from '../../src/checkpoint/safetensors.js';
import { encodeNpy, type NpyEncodeOptions, type NpyTypedArray } from '../../src/data/npy.js';

export type TypedArray = NpyTypedArray;

/** A `.npy` file (the engine's own writer, with the options the reader's tests need). */
export function npyBytes(data: TypedArray, shape: readonly number[], options: NpyEncodeOptions = {}): Uint8Array {
  return encodeNpy(data, shape, options);
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
