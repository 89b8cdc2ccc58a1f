/**
 * safetensors: round trips, the exact bytes of small files (the upstream library's own test
 * vectors, so PyTorch's loader reads what we write), every malformed case, and atomic writes.
 */
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { CheckpointFormatError, crc32, decodeSafetensors, encodeSafetensors, halfToFloat32, type SafetensorsTensor } from '../../src/checkpoint/safetensors.js';
import { writeFileAtomic } from '../../src/node/atomic-write.js';

const ascii = (bytes: Uint8Array) => String.fromCharCode(...bytes);

/** A safetensors file from a header given as text (no padding added) and data bytes. */
function rawFile(header: string, data: ArrayLike<number> = []): Uint8Array {
  const json = new TextEncoder().encode(header);
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

function expectFormatError(bytes: Uint8Array, pattern: RegExp): void {
  const run = () => decodeSafetensors(bytes, 'model.safetensors');
  expect(run).toThrow(CheckpointFormatError);
  expect(run).toThrow(pattern);
}

describe('round trip', () => {
  test('F32, I64 scalar, I32 and U8 tensors and metadata', () => {
    const tensors: Record<string, SafetensorsTensor> = {
      'conv1.weight': { dtype: 'F32', shape: [2, 1, 3], data: Float32Array.from([0.5, -1, 2.25, 1e-8, 3.4e38, -0]) },
      'bn1.num_batches_tracked': { dtype: 'I64', shape: [], data: BigInt64Array.from([9007199254740993n]) },
      'steps': { dtype: 'I32', shape: [2], data: Int32Array.from([-7, 2 ** 31 - 1]) },
      'mask': { dtype: 'U8', shape: [3], data: Uint8Array.from([0, 1, 255]) },
      'empty': { dtype: 'F32', shape: [0, 4], data: new Float32Array(0) },
    };
    const decoded = decodeSafetensors(encodeSafetensors(tensors, { format: 'pt', epoch: '3' }), 'roundtrip');
    expect(decoded.metadata).toEqual({ format: 'pt', epoch: '3' });
    expect(decoded.tensors).toEqual(tensors);
    expect(decoded.tensors['bn1.num_batches_tracked']!.data).toBeInstanceOf(BigInt64Array);
    expect(Object.is(decoded.tensors['conv1.weight']!.data[5], -0)).toBe(true);
  });

  test('every dtype read: U64, U32, BF16, F16, U16, I16, I8 and BOOL too, laid out as the Python library orders them', () => {
    const tensors: Record<string, SafetensorsTensor> = {
      u64: { dtype: 'U64', shape: [2], data: BigUint64Array.from([0n, 2n ** 64n - 1n]) },
      i64: { dtype: 'I64', shape: [1], data: BigInt64Array.from([-3n]) },
      f64: { dtype: 'F64', shape: [1], data: Float64Array.from([0.1]) },
      f32: { dtype: 'F32', shape: [1], data: Float32Array.from([1.5]) },
      u32: { dtype: 'U32', shape: [1], data: Uint32Array.from([2 ** 32 - 1]) },
      i32: { dtype: 'I32', shape: [1], data: Int32Array.from([-1]) },
      bf16: { dtype: 'BF16', shape: [2], data: Uint16Array.from([0x3f80, 0xc0a0]) },
      f16: { dtype: 'F16', shape: [2], data: Uint16Array.from([0x3c00, 0x0001]) },
      u16: { dtype: 'U16', shape: [1], data: Uint16Array.from([65535]) },
      i16: { dtype: 'I16', shape: [1], data: Int16Array.from([-32768]) },
      i8: { dtype: 'I8', shape: [1], data: Int8Array.from([-128]) },
      u8: { dtype: 'U8', shape: [1], data: Uint8Array.from([255]) },
      bool: { dtype: 'BOOL', shape: [3], data: Uint8Array.from([1, 0, 1]) },
    };
    // Written in reverse name order, so the layout's order is the dtype rule's, not the insertion's.
    const bytes = encodeSafetensors(Object.fromEntries(Object.entries(tensors).reverse()));
    const decoded = decodeSafetensors(bytes, 'all');
    expect(decoded.tensors).toEqual(tensors);
    for (const [name, t] of Object.entries(tensors)) expect(decoded.tensors[name]!.data.constructor).toBe(t.data.constructor);
    // The safetensors Rust crate sorts by its Dtype enum (BOOL, U8, I8, I16, U16, F16, BF16, I32, U32, F32, F64, I64, U64) descending, then by name.
    const length = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect(Object.keys(JSON.parse(ascii(bytes.subarray(8, 8 + length))))).toEqual(['u64', 'i64', 'f64', 'f32', 'u32', 'i32', 'bf16', 'f16', 'u16', 'i16', 'i8', 'u8', 'bool']);
    expect(Array.from(halfToFloat32(decoded.tensors.bf16 as Extract<SafetensorsTensor, { dtype: 'BF16' }>))).toEqual([1, -5]);
    expect(Array.from(halfToFloat32(decoded.tensors.f16 as Extract<SafetensorsTensor, { dtype: 'F16' }>))).toEqual([1, 2 ** -24]);
  });

  test('a BOOL byte other than 0 or 1 is refused, reading and writing', () => {
    expectFormatError(rawFile('{"m":{"dtype":"BOOL","shape":[3],"data_offsets":[0,3]}}', [1, 0, 2]), /^model\.safetensors: tensor "m": BOOL element 2 is the byte 2, expected 0 or 1$/);
    expect(() => encodeSafetensors({ m: { dtype: 'BOOL', shape: [1], data: Uint8Array.from([7]) } })).toThrow(/^encodeSafetensors: tensor "m": BOOL element 0 is the byte 7, expected 0 or 1$/);
  });

  test('decoded data is copied out aligned, even from an odd offset', () => {
    const file = encodeSafetensors({ a: { dtype: 'U8', shape: [1], data: Uint8Array.from([1]) }, b: { dtype: 'F32', shape: [1], data: Float32Array.from([7]) } });
    const shifted = new Uint8Array(file.length + 1);
    shifted.set(file, 1);
    const decoded = decodeSafetensors(shifted.subarray(1), 'shifted');
    expect(decoded.tensors.b!.data).toEqual(Float32Array.from([7]));
    expect(decoded.tensors.b!.data.byteOffset).toBe(0);
    shifted.fill(0);
    expect(decoded.tensors.a!.data[0]).toBe(1);
  });

  test('no metadata decodes as {}', () => {
    expect(decodeSafetensors(encodeSafetensors({}), 'empty').metadata).toEqual({});
  });
});

describe('byte layout, as the Python library writes it', () => {
  test('an F32 tensor: length prefix, compact JSON, space padding, little-endian floats', () => {
    // safetensors/src/tensor.rs, test_serialization_forced_alignement.
    const bytes = encodeSafetensors({ attn0: { dtype: 'F32', shape: [1, 1, 2, 3], data: Float32Array.from([0, 1, 2, 3, 4, 5]) } });
    const header = '{"attn0":{"dtype":"F32","shape":[1,1,2,3],"data_offsets":[0,24]}}';
    expect(header.length).toBe(65);
    expect(Array.from(bytes.subarray(0, 8))).toEqual([72, 0, 0, 0, 0, 0, 0, 0]);
    expect(ascii(bytes.subarray(8, 80))).toBe(`${header}       `);
    expect(Array.from(bytes.subarray(80))).toEqual([0, 0, 0, 0, 0, 0, 128, 63, 0, 0, 0, 64, 0, 0, 64, 64, 0, 0, 128, 64, 0, 0, 160, 64]);
    expect(bytes.length).toBe(8 + 72 + 24);
  });

  test('metadata only: __metadata__ first, padded to 40 bytes', () => {
    // safetensors/src/tensor.rs, test_empty.
    const bytes = encodeSafetensors({}, { framework: 'pt' });
    expect(Array.from(bytes)).toEqual([
      40, 0, 0, 0, 0, 0, 0, 0, 123, 34, 95, 95, 109, 101, 116, 97, 100, 97, 116, 97, 95, 95, 34, 58, 123, 34, 102, 114, 97, 109, 101, 119, 111, 114, 107,
      34, 58, 34, 112, 116, 34, 125, 125, 32, 32, 32, 32, 32,
    ]);
    expect(Array.from(encodeSafetensors({}))).toEqual([8, 0, 0, 0, 0, 0, 0, 0, 123, 125, 32, 32, 32, 32, 32, 32]);
  });

  test('tensors by descending alignment then name, each starting aligned', () => {
    const bytes = encodeSafetensors({
      b: { dtype: 'U8', shape: [1], data: Uint8Array.from([9]) },
      z: { dtype: 'F32', shape: [1], data: Float32Array.from([1]) },
      a: { dtype: 'F32', shape: [1], data: Float32Array.from([2]) },
      n: { dtype: 'I64', shape: [], data: BigInt64Array.from([3n]) },
    });
    const length = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect(length % 8).toBe(0);
    expect(ascii(bytes.subarray(8, 8 + length)).trimEnd()).toBe(
      '{"n":{"dtype":"I64","shape":[],"data_offsets":[0,8]},' +
        '"a":{"dtype":"F32","shape":[1],"data_offsets":[8,12]},' +
        '"z":{"dtype":"F32","shape":[1],"data_offsets":[12,16]},' +
        '"b":{"dtype":"U8","shape":[1],"data_offsets":[16,17]}}',
    );
    expect(Array.from(bytes.subarray(8 + length))).toEqual([3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 64, 0, 0, 128, 63, 9]);
  });
});

describe('malformed files name the file, the tensor and the field', () => {
  const good = '{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}';
  const eight = [0, 0, 128, 63, 0, 0, 0, 64];

  test('the well-formed base case decodes', () => {
    expect(decodeSafetensors(rawFile(good, eight), 'model.safetensors').tensors.w!.data).toEqual(Float32Array.from([1, 2]));
  });
  test('shorter than the length prefix', () => {
    expectFormatError(new Uint8Array(5), /^model\.safetensors: file is 5 bytes, expected at least the 8-byte header length$/);
  });
  test('header length past the end of the file', () => {
    const bytes = rawFile(good, eight);
    new DataView(bytes.buffer).setBigUint64(0, 1n << 40n, true);
    expectFormatError(bytes, /^model\.safetensors: header length is 1099511627776 bytes, but only \d+ bytes follow it \(truncated, or not a safetensors file\)$/);
  });
  test('header not UTF-8, not JSON, not an object', () => {
    const latin1 = rawFile('{"x":{}}');
    latin1[10] = 0xff;
    expectFormatError(latin1, /^model\.safetensors: header is not valid UTF-8$/);
    expectFormatError(rawFile('{"w": '), /^model\.safetensors: header is not valid JSON/);
    expectFormatError(rawFile('[1, 2]'), /^model\.safetensors: header is an array, expected a JSON object$/);
  });
  test('unknown dtype', () => {
    expectFormatError(rawFile(good.replace('F32', 'F8_E4M3'), eight), /^model\.safetensors: tensor "w": dtype is "F8_E4M3", expected one of U64, I64, F64, F32, U32, I32, BF16, F16, U16, I16, I8, U8, BOOL$/);
    expectFormatError(rawFile(good.replace('"F32"', '"toString"'), eight), /tensor "w": dtype is "toString"/);
  });
  test('bad shape', () => {
    expectFormatError(rawFile(good.replace('[2]', '[-2]'), eight), /^model\.safetensors: tensor "w": shape is \[-2\], expected an array of non-negative integers$/);
    expectFormatError(rawFile(good.replace('[2]', '[1.5]'), eight), /tensor "w": shape is \[1\.5\]/);
    expectFormatError(rawFile(good.replace('"shape":[2],', ''), eight), /tensor "w": shape is undefined/);
  });
  test('bad data_offsets', () => {
    expectFormatError(rawFile(good.replace('[0,8]', '[8,0]'), eight), /^model\.safetensors: tensor "w": data_offsets is \[8,0\], expected \[begin, end\] with 0 ≤ begin ≤ end$/);
    expectFormatError(rawFile(good.replace('[0,8]', '[0,12]'), eight), /tensor "w": data_offsets \[0, 12\] run past the 8 data bytes \(truncated\)/);
    expectFormatError(rawFile(good, eight.slice(0, 6)), /tensor "w": data_offsets \[0, 8\] run past the 6 data bytes/);
  });
  test('offsets disagree with dtype and shape', () => {
    expectFormatError(rawFile(good.replace('[2]', '[3]'), eight), /^model\.safetensors: tensor "w": data_offsets \[0, 8\] span 8 bytes, expected 3·4 = 12 for F32 shape \[3\]$/);
  });
  test('overlapping tensors', () => {
    const header = '{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"b":{"dtype":"U8","shape":[4],"data_offsets":[2,6]}}';
    expectFormatError(rawFile(header, [1, 2, 3, 4, 5, 6]), /^model\.safetensors: tensor "b": data_offsets \[2, 6\] overlap tensor "a" \(data_offsets end at 4\); expected begin = 4$/);
  });
  test('a gap between tensors, and a gap at the start', () => {
    const header = '{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},"b":{"dtype":"U8","shape":[2],"data_offsets":[4,6]}}';
    expectFormatError(rawFile(header, [1, 2, 3, 4, 5, 6]), /tensor "b": data_offsets \[4, 6\] leave a gap of 2 bytes after tensor "a"/);
    expectFormatError(rawFile('{"a":{"dtype":"U8","shape":[2],"data_offsets":[2,4]}}', [1, 2, 3, 4]), /tensor "a": data_offsets \[2, 4\] leave a gap of 2 bytes after the start of the data/);
  });
  test('trailing bytes after the last tensor', () => {
    expectFormatError(rawFile(good, [...eight, 0, 0]), /^model\.safetensors: 2 trailing bytes after the last tensor's data; expected the file to end at data offset 8$/);
  });
  test('bad __metadata__', () => {
    expectFormatError(rawFile('{"__metadata__":{"epoch":3}}'), /^model\.safetensors: __metadata__\.epoch is 3, expected a string$/);
    expectFormatError(rawFile('{"__metadata__":"pt"}'), /^model\.safetensors: __metadata__ is "pt", expected an object of strings$/);
  });
  test('a tensor entry that is not an object', () => {
    expectFormatError(rawFile('{"w":[0,8]}'), /^model\.safetensors: tensor "w" is an array, expected \{dtype, shape, data_offsets\}$/);
  });
});

describe('encoding checks its input', () => {
  test('data of the wrong type or length, and the reserved name', () => {
    const f32 = Float32Array.from([1, 2]);
    expect(() => encodeSafetensors({ w: { dtype: 'F32', shape: [3], data: f32 } })).toThrow(/^encodeSafetensors: tensor "w": data has 2 elements, expected 3 for shape \[3\]$/);
    expect(() => encodeSafetensors({ w: { dtype: 'I32', shape: [2], data: f32 } as unknown as SafetensorsTensor })).toThrow(
      /^encodeSafetensors: tensor "w": data is a Float32Array, expected a Int32Array for dtype I32$/,
    );
    expect(() => encodeSafetensors({ __metadata__: { dtype: 'F32', shape: [2], data: f32 } })).toThrow(/tensor name __metadata__ is reserved/);
  });
});

describe('the checksum: a damaged file is refused', () => {
  const tensors = (): Record<string, SafetensorsTensor> => ({
    'conv.weight': { dtype: 'F32', shape: [3, 5], data: Float32Array.from({ length: 15 }, (_, i) => Math.sin(i) * 0.3) },
    'bn.num_batches_tracked': { dtype: 'I64', shape: [], data: BigInt64Array.of(40n) },
    'mask': { dtype: 'U8', shape: [3], data: Uint8Array.of(0, 7, 255) },
  });
  const metadata = { format: 'pt', epoch: '2', lr: '0.01', checksum: 'crc32' };

  test('CRC-32 is zlib\'s (its check value, and continued over pieces)', () => {
    const text = new TextEncoder().encode('123456789');
    expect(crc32(text)).toBe(0xcbf43926);
    expect(crc32(text.subarray(4), crc32(text.subarray(0, 4)))).toBe(0xcbf43926);
    expect(crc32(new Uint8Array(0))).toBe(0);
  });

  test('written where asked, and read back', () => {
    const bytes = encodeSafetensors(tensors(), metadata);
    const decoded = decodeSafetensors(bytes, 'ok.safetensors');
    expect(decoded.metadata.crc32).toMatch(/^[0-9a-f]{8}$/);
    expect(decoded.metadata.checksum).toBe('crc32');
    // Re-encoding a decoded file with other values computes their checksum (the old one is not kept).
    decoded.tensors['conv.weight']!.data[0] = 5;
    const again = decodeSafetensors(encodeSafetensors(decoded.tensors, decoded.metadata), 'again');
    expect(again.metadata.crc32).not.toBe(decoded.metadata.crc32);
    // Not asked for: none written (the Python library's files have none).
    expect(decodeSafetensors(encodeSafetensors(tensors(), { format: 'pt' }), 'plain').metadata).toEqual({ format: 'pt' });
    expect(() => encodeSafetensors(tensors(), { checksum: 'md5' })).toThrow(/^encodeSafetensors: metadata checksum is "md5", expected "crc32"/);
  });

  test('every single-bit change to the file is refused', () => {
    const bytes = encodeSafetensors(tensors(), metadata);
    const headerEnd = 8 + Number(new DataView(bytes.buffer).getBigUint64(0, true));
    const loaded: string[] = [];
    let checksumRefusals = 0;
    for (let at = 0; at < bytes.length; at++) {
      for (let bit = 0; bit < 8; bit++) {
        const damaged = bytes.slice();
        damaged[at]! ^= 1 << bit;
        try {
          decodeSafetensors(damaged, 'damaged.safetensors');
          loaded.push(`byte ${at} bit ${bit}`);
        } catch (error) {
          expect(error).toBeInstanceOf(CheckpointFormatError);
          if (/do not match its checksum/.test((error as Error).message)) checksumRefusals++;
        }
      }
    }
    expect(loaded).toEqual([]);
    // The data's every bit is caught by the checksum alone (a float32's flipped bit is still a number).
    expect(checksumRefusals).toBeGreaterThanOrEqual((bytes.length - headerEnd) * 8);
  });

  test('a changed value, a lost checksum, a bad one', () => {
    const bytes = encodeSafetensors(tensors(), metadata);
    const text = ascii(bytes);
    const swap = (from: string, to: string) => {
      expect(from.length).toBe(to.length);
      const at = text.indexOf(from);
      expect(at).toBeGreaterThan(0);
      const out = bytes.slice();
      out.set(new TextEncoder().encode(to), at);
      return out;
    };
    expectFormatError(swap('"epoch":"2"', '"epoch":"3"'), /^model\.safetensors: its contents do not match its checksum \(__metadata__\.crc32 [0-9a-f]{8}, the contents give [0-9a-f]{8}\): the file was damaged after it was written/);
    expectFormatError(swap('"crc32":"', '"crc23":"'), /^model\.safetensors: __metadata__\.crc32 is missing beside checksum "crc32" \(the file is damaged\)$/);
    expectFormatError(swap('"checksum":"crc32"', '"checksum":"crc31"'), /^model\.safetensors: __metadata__\.checksum is "crc31", expected "crc32"/);
    const crc = decodeSafetensors(bytes, 'x').metadata.crc32!;
    expectFormatError(swap(`"crc32":"${crc}"`, `"crc32":"${crc.toUpperCase().replace(/[0-9]/g, 'Z')}"`), /^model\.safetensors: __metadata__\.crc32 is "[0-9A-Z]{8}", expected 8 lowercase hex digits/);
  });
});

describe('writeFileAtomic', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'atomic-write-'));
  });
  afterAll(async () => {
    await chmod(dir, 0o700);
    await rm(dir, { recursive: true, force: true });
  });

  test('writes, replaces, and leaves no temporary file', async () => {
    const path = join(dir, 'model.safetensors');
    await writeFileAtomic(path, Uint8Array.from([1, 2, 3]));
    await writeFileAtomic(path, Uint8Array.from([4, 5]));
    expect(Array.from(await readFile(path))).toEqual([4, 5]);
    expect(await readdir(dir)).toEqual(['model.safetensors']);
  });

  test('a failed write (the target is a directory) cleans up and leaves the target as it was', async () => {
    const target = join(dir, 'taken');
    await mkdir(target);
    await writeFile(join(target, 'keep'), 'old');
    await expect(writeFileAtomic(target, Uint8Array.from([1]))).rejects.toThrow(`cannot write ${target}:`);
    expect(await readFile(join(target, 'keep'), 'utf8')).toBe('old');
    expect((await readdir(dir)).filter((name) => name.includes('.tmp-'))).toEqual([]);
  });

  test('a failed write (a name too long for the temporary file) leaves the old file untouched', async () => {
    const path = join(dir, 'm'.repeat(250));
    await writeFile(path, 'old');
    await expect(writeFileAtomic(path, Uint8Array.from([1]))).rejects.toThrow(/ENAMETOOLONG/);
    expect(await readFile(path, 'utf8')).toBe('old');
    expect((await readdir(dir)).filter((name) => name.includes('.tmp-'))).toEqual([]);
  });

  test('a read-only directory leaves the old file untouched', async (ctx) => {
    if (process.getuid?.() === 0) ctx.skip('running as root: a read-only directory does not stop root from writing');
    const sub = join(dir, 'read-only');
    await mkdir(sub);
    const path = join(sub, 'model.safetensors');
    await writeFile(path, 'old');
    await chmod(sub, 0o500);
    try {
      await expect(writeFileAtomic(path, Uint8Array.from([1]))).rejects.toThrow(`cannot write ${path}:`);
      expect(await readFile(path, 'utf8')).toBe('old');
      expect(await readdir(sub)).toEqual(['model.safetensors']);
    } finally {
      await chmod(sub, 0o700);
    }
  });
});
