/**
 * safetensors (https://huggingface.co/docs/safetensors), written and read from bytes.
 *
 * A file is an 8-byte little-endian u64 N, N bytes of UTF-8 JSON header, then the tensors'
 * bytes. The header maps each name to `{"dtype", "shape", "data_offsets": [begin, end]}` (offsets
 * from the start of the data) plus an optional `"__metadata__"` map of strings. Encoding lays the
 * file out as the Python library does: tensors by descending dtype alignment then by name,
 * `__metadata__` first, compact JSON padded with spaces to a multiple of 8 bytes, so every
 * tensor starts aligned. Data is little-endian; typed arrays are in host order, and every WebGPU
 * host is little-endian. Decoding checks everything and throws `CheckpointFormatError` naming
 * the file, the tensor and the field.
 *
 * A checksum, so that a damaged file is refused rather than loaded: where the metadata holds
 * `"checksum": "crc32"`, encoding writes `"crc32"` (8 hex digits: CRC-32, as zip and gzip use,
 * of the header's contents in a canonical form without the crc32 itself, then the data bytes), and
 * decoding checks any crc32 it finds (and refuses a `checksum` without one). Every single-bit
 * change to such a file is refused, the header's spacing aside (it holds no content); a file
 * without them (the Python library's, or this engine's before the checksum) loads unchecked.
 */

export class CheckpointFormatError extends Error {
  override name = 'CheckpointFormatError';
  constructor(
    readonly source: string,
    message: string,
  ) {
    super(`${source}: ${message}`);
  }
}

interface DtypeArrays {
  U64: BigUint64Array;
  I64: BigInt64Array;
  F64: Float64Array;
  F32: Float32Array;
  U32: Uint32Array;
  I32: Int32Array;
  /** bfloat16: each element's 16 bits (float32's high half); `halfToFloat32` converts. */
  BF16: Uint16Array;
  /** IEEE float16: each element's 16 bits; `halfToFloat32` converts. */
  F16: Uint16Array;
  U16: Uint16Array;
  I16: Int16Array;
  I8: Int8Array;
  U8: Uint8Array;
  /** One byte an element, 0 or 1 (as NumPy's and PyTorch's bool). */
  BOOL: Uint8Array;
}

export type SafetensorsDtype = keyof DtypeArrays;

/** A tensor; the dtype tells which typed array `data` is. */
export type SafetensorsTensor = {
  [D in SafetensorsDtype]: { dtype: D; shape: number[]; data: DtypeArrays[D] };
}[SafetensorsDtype];

export interface SafetensorsFile {
  tensors: Record<string, SafetensorsTensor>;
  metadata: Record<string, string>;
}

/**
 * Each dtype's typed array; listed in the order tensors are written in (the Python library's: its
 * Dtype enum — BOOL, U8, I8, I16, U16, F16, BF16, I32, U32, F32, F64, I64, U64 — descending). Its
 * 8-bit floats are not read.
 */
const DTYPES = {
  U64: BigUint64Array,
  I64: BigInt64Array,
  F64: Float64Array,
  F32: Float32Array,
  U32: Uint32Array,
  I32: Int32Array,
  BF16: Uint16Array,
  F16: Uint16Array,
  U16: Uint16Array,
  I16: Int16Array,
  I8: Int8Array,
  U8: Uint8Array,
  BOOL: Uint8Array,
} as const;

const DTYPE_ORDER = Object.keys(DTYPES) as SafetensorsDtype[];
const METADATA_KEY = '__metadata__';
/** The metadata field that asks for a checksum, its one algorithm, and the field that holds it. */
const CHECKSUM_KEY = 'checksum';
const CHECKSUM_KIND = 'crc32';
const CRC_KEY = 'crc32';

export function encodeSafetensors(tensors: Record<string, SafetensorsTensor>, metadata?: Record<string, string>): Uint8Array {
  const names = Object.keys(tensors).sort((a, b) => compareForLayout(tensors, a, b));
  if (metadata && (metadata[CHECKSUM_KEY] !== undefined || metadata[CRC_KEY] !== undefined)) metadata = withChecksum(names, tensors, metadata);
  const { json, dataLength } = encodeHeader(names, tensors, metadata);
  const headerLength = Math.ceil(json.byteLength / 8) * 8;
  const out = new Uint8Array(8 + headerLength + dataLength);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerLength), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.byteLength, 8 + headerLength);
  let at = 8 + headerLength;
  for (const name of names) {
    const { data } = tensors[name]!;
    out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), at);
    at += data.byteLength;
  }
  return out;
}

/**
 * `metadata` with its crc32 computed for these tensors in `names` order (a crc32 given is replaced:
 * a decoded file's metadata, re-encoded with other tensors, gets their checksum).
 */
function withChecksum(names: string[], tensors: Record<string, SafetensorsTensor>, metadata: Record<string, string>): Record<string, string> {
  const { [CRC_KEY]: _old, ...rest } = metadata;
  if (rest[CHECKSUM_KEY] !== CHECKSUM_KIND) {
    throw new CheckpointFormatError('encodeSafetensors', `metadata ${CHECKSUM_KEY} is ${JSON.stringify(rest[CHECKSUM_KEY])}, expected "${CHECKSUM_KIND}" (the checksum this format writes; its value goes in ${CRC_KEY})`);
  }
  const entries: Entry[] = [];
  let offset = 0;
  for (const name of names) {
    const tensor = checkEncodable(name, tensors[name]!);
    entries.push({ name, dtype: tensor.dtype, shape: tensor.shape, begin: offset, end: offset + tensor.data.byteLength });
    offset += tensor.data.byteLength;
  }
  let crc = crc32(canonicalHeader(rest, entries));
  for (const name of names) {
    const { data } = tensors[name]!;
    crc = crc32(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), crc);
  }
  return { ...rest, [CRC_KEY]: hex32(crc) };
}

/** The header's contents, independent of its spacing and key order: metadata by key, tensors by offset. */
function canonicalHeader(metadata: Record<string, string>, entries: readonly Entry[]): Uint8Array {
  const byOffset = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  return new TextEncoder().encode(JSON.stringify([sortedObject(metadata), byOffset.map((e) => [e.name, e.dtype, e.shape, e.begin, e.end])]));
}

/** The data's checksum against its crc32, where the metadata holds one (see the file's comment). */
function checkChecksum(bytes: Uint8Array, dataStart: number, metadata: Record<string, string>, entries: readonly Entry[], source: string): void {
  const kind = metadata[CHECKSUM_KEY];
  const written = metadata[CRC_KEY];
  if (kind !== undefined && kind !== CHECKSUM_KIND) {
    throw new CheckpointFormatError(source, `${METADATA_KEY}.${CHECKSUM_KEY} is ${JSON.stringify(kind)}, expected "${CHECKSUM_KIND}" (damaged, or written by a later version)`);
  }
  if (written === undefined) {
    if (kind !== undefined) throw new CheckpointFormatError(source, `${METADATA_KEY}.${CRC_KEY} is missing beside ${CHECKSUM_KEY} "${CHECKSUM_KIND}" (the file is damaged)`);
    return;
  }
  if (!/^[0-9a-f]{8}$/.test(written)) throw new CheckpointFormatError(source, `${METADATA_KEY}.${CRC_KEY} is ${JSON.stringify(written)}, expected 8 lowercase hex digits (the file is damaged)`);
  const { [CRC_KEY]: _written, ...rest } = metadata;
  const found = hex32(crc32(bytes.subarray(dataStart), crc32(canonicalHeader(rest, entries))));
  if (found !== written) {
    throw new CheckpointFormatError(
      source,
      `its contents do not match its checksum (${METADATA_KEY}.${CRC_KEY} ${written}, the contents give ${found}): the file was damaged after it was written, or edited by a tool that kept the old checksum (to keep such an edit, remove ${CHECKSUM_KEY} and ${CRC_KEY} from its metadata)`,
    );
  }
}

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC-32 (IEEE 802.3, zlib's `crc32`) of `bytes`, continuing from `crc` (0 to begin). */
export function crc32(bytes: Uint8Array, crc = 0): number {
  let c = ~crc >>> 0;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

const hex32 = (n: number) => n.toString(16).padStart(8, '0');

/** The unpadded JSON header for tensors laid out in `names` order, and their total bytes. */
function encodeHeader(names: string[], tensors: Record<string, SafetensorsTensor>, metadata?: Record<string, string>): { json: Uint8Array; dataLength: number } {
  const entries: [string, unknown][] = metadata ? [[METADATA_KEY, sortedObject(metadata)]] : [];
  let offset = 0;
  for (const name of names) {
    const tensor = checkEncodable(name, tensors[name]!);
    entries.push([name, { dtype: tensor.dtype, shape: tensor.shape, data_offsets: [offset, offset + tensor.data.byteLength] }]);
    offset += tensor.data.byteLength;
  }
  return { json: new TextEncoder().encode(JSON.stringify(Object.fromEntries(entries))), dataLength: offset };
}

export function decodeSafetensors(bytes: Uint8Array, source: string): SafetensorsFile {
  const header = readHeader(bytes, source);
  const dataStart = 8 + header.length;
  const dataLength = bytes.byteLength - dataStart;
  const metadata = readMetadata(header.json[METADATA_KEY], source);
  const entries = Object.entries(header.json)
    .filter(([name]) => name !== METADATA_KEY)
    .map(([name, value]) => readEntry(name, value, dataLength, source));
  checkTiling(entries, dataLength, source);
  checkChecksum(bytes, dataStart, metadata, entries, source);
  const tensors = Object.fromEntries(entries.map((entry) => [entry.name, copyTensor(bytes, dataStart, entry)]));
  for (const [name, tensor] of Object.entries(tensors)) checkBools(name, tensor, source);
  return { tensors, metadata };
}

/** A BOOL tensor's bytes are 0 or 1 (any other byte is no bool: a damaged or mislabelled tensor). */
function checkBools(name: string, tensor: SafetensorsTensor, source: string): void {
  if (tensor.dtype !== 'BOOL') return;
  const bad = tensor.data.findIndex((v) => v > 1);
  if (bad >= 0) throw new CheckpointFormatError(source, `tensor ${JSON.stringify(name)}: BOOL element ${bad} is the byte ${tensor.data[bad]}, expected 0 or 1`);
}

/**
 * A F16 or BF16 tensor's values as float32, exactly (every half and bfloat16 value is a float32;
 * as PyTorch's .float()).
 */
export function halfToFloat32(tensor: Extract<SafetensorsTensor, { dtype: 'F16' | 'BF16' }>): Float32Array {
  return halfBitsToFloat32(tensor.data, tensor.dtype === 'BF16' ? 'bfloat16' : 'float16');
}

/** 16-bit floats' bits (IEEE float16, or bfloat16: float32's high half) as float32 values, exactly. */
export function halfBitsToFloat32(bits: Uint16Array, kind: 'float16' | 'bfloat16'): Float32Array {
  const out = new Float32Array(bits.length);
  if (kind === 'bfloat16') {
    new Uint32Array(out.buffer).set(Uint32Array.from(bits, (h) => h << 16));
    return out;
  }
  for (let i = 0; i < out.length; i++) {
    const h = bits[i]!;
    const sign = h & 0x8000 ? -1 : 1;
    const exponent = (h >> 10) & 0x1f;
    const fraction = h & 0x3ff;
    // Subnormals fraction·2⁻²⁴; normals (1024 + fraction)·2^(exponent − 25); all 1s ±∞ or NaN.
    out[i] = exponent === 0x1f ? (fraction ? NaN : sign * Infinity) : exponent === 0 ? sign * fraction * 2 ** -24 : sign * (1024 + fraction) * 2 ** (exponent - 25);
  }
  return out;
}

/** The tensor's bytes copied into a fresh buffer, so its typed array is aligned. */
function copyTensor(bytes: Uint8Array, dataStart: number, { dtype, shape, begin, end }: Entry): SafetensorsTensor {
  const copy = new ArrayBuffer(end - begin);
  new Uint8Array(copy).set(bytes.subarray(dataStart + begin, dataStart + end));
  return { dtype, shape, data: new DTYPES[dtype](copy) } as SafetensorsTensor;
}

/** Descending alignment, then name: the Python library's layout. */
function compareForLayout(tensors: Record<string, SafetensorsTensor>, a: string, b: string): number {
  const byDtype = DTYPE_ORDER.indexOf(tensors[a]!.dtype) - DTYPE_ORDER.indexOf(tensors[b]!.dtype);
  return byDtype !== 0 ? byDtype : a < b ? -1 : a > b ? 1 : 0;
}

function sortedObject(values: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(values).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

function checkEncodable(name: string, tensor: SafetensorsTensor): SafetensorsTensor {
  const source = 'encodeSafetensors';
  if (name === METADATA_KEY) throw new CheckpointFormatError(source, `tensor name ${METADATA_KEY} is reserved for the metadata`);
  const where = `tensor ${JSON.stringify(name)}`;
  if (!isDtype(tensor.dtype)) throw new CheckpointFormatError(source, `${where}: dtype ${JSON.stringify(tensor.dtype)} is not one of ${DTYPE_ORDER.join(', ')}`);
  if (!(tensor.data instanceof DTYPES[tensor.dtype])) {
    throw new CheckpointFormatError(source, `${where}: data is a ${tensor.data.constructor.name}, expected a ${DTYPES[tensor.dtype].name} for dtype ${tensor.dtype}`);
  }
  const elements = checkShape(tensor.shape, source, where);
  if (tensor.data.length !== elements) {
    throw new CheckpointFormatError(source, `${where}: data has ${tensor.data.length} elements, expected ${elements} for shape [${tensor.shape.join(', ')}]`);
  }
  checkBools(name, tensor, source);
  return tensor;
}

/** The element count of a shape of non-negative integers ([] is a scalar: 1 element). */
function checkShape(shape: unknown, source: string, where: string): number {
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw new CheckpointFormatError(source, `${where}: shape is ${JSON.stringify(shape)}, expected an array of non-negative integers`);
  }
  const elements = (shape as number[]).reduce((n, d) => n * d, 1);
  if (!Number.isSafeInteger(elements)) throw new CheckpointFormatError(source, `${where}: shape ${JSON.stringify(shape)} has too many elements`);
  return elements;
}

interface Header {
  length: number;
  json: Record<string, unknown>;
}

function readHeader(bytes: Uint8Array, source: string): Header {
  if (bytes.byteLength < 8) throw new CheckpointFormatError(source, `file is ${bytes.byteLength} bytes, expected at least the 8-byte header length`);
  const length = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  if (length > BigInt(bytes.byteLength - 8)) {
    throw new CheckpointFormatError(source, `header length is ${length} bytes, but only ${bytes.byteLength - 8} bytes follow it (truncated, or not a safetensors file)`);
  }
  const text = decodeUtf8(bytes.subarray(8, 8 + Number(length)), source);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new CheckpointFormatError(source, `header is not valid JSON (${(err as Error).message})`);
  }
  if (!isObject(json)) throw new CheckpointFormatError(source, `header is ${describe(json)}, expected a JSON object`);
  return { length: Number(length), json };
}

function decodeUtf8(bytes: Uint8Array, source: string): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new CheckpointFormatError(source, 'header is not valid UTF-8');
  }
}

function readMetadata(value: unknown, source: string): Record<string, string> {
  if (value === undefined) return {};
  if (!isObject(value)) throw new CheckpointFormatError(source, `${METADATA_KEY} is ${describe(value)}, expected an object of strings`);
  for (const [key, item] of Object.entries(value)) {
    if (typeof item !== 'string') throw new CheckpointFormatError(source, `${METADATA_KEY}.${key} is ${describe(item)}, expected a string`);
  }
  return value as Record<string, string>;
}

interface Entry {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  begin: number;
  end: number;
}

function readEntry(name: string, value: unknown, dataLength: number, source: string): Entry {
  const where = `tensor ${JSON.stringify(name)}`;
  if (!isObject(value)) throw new CheckpointFormatError(source, `${where} is ${describe(value)}, expected {dtype, shape, data_offsets}`);
  const { dtype, shape, data_offsets: offsets } = value;
  if (!isDtype(dtype)) {
    throw new CheckpointFormatError(source, `${where}: dtype is ${JSON.stringify(dtype)}, expected one of ${DTYPE_ORDER.join(', ')}`);
  }
  const elements = checkShape(shape, source, where);
  const [begin, end] = readOffsets(offsets, dataLength, source, where);
  const itemBytes = DTYPES[dtype].BYTES_PER_ELEMENT;
  if (end - begin !== elements * itemBytes) {
    throw new CheckpointFormatError(
      source,
      `${where}: data_offsets [${begin}, ${end}] span ${end - begin} bytes, expected ${elements}·${itemBytes} = ${elements * itemBytes} for ${dtype} shape [${(shape as number[]).join(', ')}]`,
    );
  }
  return { name, dtype, shape: shape as number[], begin, end };
}

function readOffsets(offsets: unknown, dataLength: number, source: string, where: string): [number, number] {
  const valid = Array.isArray(offsets) && offsets.length === 2 && offsets.every((o) => Number.isSafeInteger(o) && o >= 0);
  if (!valid || offsets[0] > offsets[1]) {
    throw new CheckpointFormatError(source, `${where}: data_offsets is ${JSON.stringify(offsets)}, expected [begin, end] with 0 ≤ begin ≤ end`);
  }
  const [begin, end] = offsets as [number, number];
  if (end > dataLength) {
    throw new CheckpointFormatError(source, `${where}: data_offsets [${begin}, ${end}] run past the ${dataLength} data bytes (truncated)`);
  }
  return [begin, end];
}

/** The tensors must cover the data exactly: in offset order, each begins where the last ended. */
function checkTiling(entries: Entry[], dataLength: number, source: string): void {
  const sorted = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let position = 0;
  let previous = 'the start of the data';
  for (const entry of sorted) {
    if (entry.begin !== position) {
      const problem = entry.begin < position ? `overlap ${previous}` : `leave a gap of ${entry.begin - position} bytes after ${previous}`;
      throw new CheckpointFormatError(source, `tensor ${JSON.stringify(entry.name)}: data_offsets [${entry.begin}, ${entry.end}] ${problem}; expected begin = ${position}`);
    }
    position = entry.end;
    previous = `tensor ${JSON.stringify(entry.name)} (data_offsets end at ${position})`;
  }
  if (position !== dataLength) {
    throw new CheckpointFormatError(source, `${dataLength - position} trailing bytes after the last tensor's data; expected the file to end at data offset ${position}`);
  }
}

function isDtype(value: unknown): value is SafetensorsDtype {
  return typeof value === 'string' && Object.hasOwn(DTYPES, value);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  return value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value === 'object' ? 'an object' : JSON.stringify(value);
}
