/** NumPy's .npy and .npz files read (src/data/npy.ts): every dtype, the header versions, zip64 and deflate, and the refusals. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inflateRawSync } from 'node:zlib';
import { describe, expect, test } from 'vitest';
import { NpyFormatError, parseNpy, parseNpz, shapeText } from '../../src/data/npy.js';
import { npyBytes, npzBytes, zipBytes, type TypedArray } from '../helpers/npy.js';
import { hasTorch, python } from '../helpers/torch.js';

const inflate = (bytes: Uint8Array) => new Uint8Array(inflateRawSync(bytes));

const SAMPLES: [string, TypedArray][] = [
  ['f4', Float32Array.of(1.5, -0, Infinity, NaN, 3.4e38, 1e-45)],
  ['f8', Float64Array.of(0.1, -2.5, 1e300, 5e-324, -Infinity, 7)],
  ['i1', Int8Array.of(-128, 127, 0, -1, 5, 6)],
  ['u1', Uint8Array.of(0, 255, 1, 2, 3, 4)],
  ['i2', Int16Array.of(-32768, 32767, 0, 1, 2, 3)],
  ['u2', Uint16Array.of(65535, 0, 1, 2, 3, 4)],
  ['i4', Int32Array.of(-(2 ** 31), 2 ** 31 - 1, 0, 1, 2, 3)],
  ['u4', Uint32Array.of(2 ** 32 - 1, 0, 1, 2, 3, 4)],
  ['i8', BigInt64Array.of(-(2n ** 63n), 2n ** 63n - 1n, 0n, 1n, 2n, 3n)],
  ['u8', BigUint64Array.of(2n ** 64n - 1n, 0n, 1n, 2n, 3n, 4n)],
];

describe('.npy', () => {
  test.each(SAMPLES)('%s: values and shape read back, in header versions 1, 2 and 3', (dtype, data) => {
    for (const version of [1, 2, 3] as const) {
      const a = parseNpy(npyBytes(data, [2, 3], { version }), 'a.npy');
      expect(a.dtype).toBe(dtype);
      expect(a.shape).toEqual([2, 3]);
      expect(Array.from(a.data as ArrayLike<unknown>)).toEqual(Array.from(data as ArrayLike<unknown>));
    }
  });

  test('bool, scalar and empty shapes; a one-dimensional Fortran array is C order too', () => {
    const b = parseNpy(npyBytes(Uint8Array.of(1, 0, 1), [3], { descr: '|b1' }), 'b.npy');
    expect(b).toMatchObject({ dtype: 'b1', shape: [3] });
    expect(Array.from(b.data as Uint8Array)).toEqual([1, 0, 1]);
    expect(parseNpy(npyBytes(Float32Array.of(2), []), 's.npy')).toMatchObject({ shape: [] });
    expect(parseNpy(npyBytes(new Float32Array(0), [0, 5]), 'e.npy')).toMatchObject({ shape: [0, 5] });
    expect(parseNpy(npyBytes(Float32Array.of(1, 2), [2, 1], { fortran: true }), 'f.npy').shape).toEqual([2, 1]);
    expect(shapeText([7])).toBe('(7,)');
    expect(shapeText([2, 3])).toBe('(2, 3)');
  });

  test('data that starts off its element size (a member inside a zip) is copied, not misread', () => {
    const bytes = npyBytes(Float64Array.of(1.25, -3), [2]);
    const shifted = new Uint8Array(bytes.length + 3);
    shifted.set(bytes, 3);
    expect(Array.from(parseNpy(shifted.subarray(3), 'x.npy').data as Float64Array)).toEqual([1.25, -3]);
  });

  test('float16 is read as the float32 values it holds, every one of the 65,536 as NumPy widens it', (ctx) => {
    const bits = Uint16Array.from({ length: 65536 }, (_, i) => i);
    const a = parseNpy(npyBytes(bits, [256, 256], { descr: '<f2' }), 'half.npy');
    expect(a.dtype).toBe('f4');
    expect(a.shape).toEqual([256, 256]);
    const got = a.data as Float32Array;
    // Known values: 1, −2, the largest, the smallest normal and subnormal, ±∞, −0, a NaN.
    expect([got[0x3c00], got[0xc000], got[0x7bff], got[0x0400], got[0x0001], got[0x7c00], got[0xfc00]]).toEqual([1, -2, 65504, 2 ** -14, 2 ** -24, Infinity, -Infinity]);
    expect(Object.is(got[0x8000], -0)).toBe(true);
    expect(Number.isNaN(got[0x7e00])).toBe(true);
    if (!hasTorch) ctx.skip(`${python} has no NumPy (apt-get install python3-torch brings it)`);
    const theirs = spawnSync(python, ['-c', 'import numpy as np, sys; sys.stdout.buffer.write(np.arange(65536, dtype=np.uint16).view(np.float16).astype(np.float32).tobytes())'], { maxBuffer: 1 << 20 });
    expect(theirs.status).toBe(0);
    const want = new Uint32Array(Uint8Array.from(theirs.stdout).buffer);
    const mine = new Uint32Array(got.buffer, got.byteOffset, got.length);
    // NaNs compared as NaNs (a quiet NaN's payload is NumPy's choice), every other value bit for bit.
    const differ = [...mine.keys()].filter((i) => mine[i] !== want[i] && !(Number.isNaN(got[i]) && Number.isNaN(new Float32Array(want.buffer)[i])));
    expect(differ).toEqual([]);
  });

  test('refusals name the file and say what to do', () => {
    const ok = npyBytes(Float32Array.of(1, 2, 3, 4), [2, 2]);
    const refuse = (bytes: Uint8Array, message: string | RegExp) => {
      expect(() => parseNpy(bytes, 'a.npy')).toThrow(NpyFormatError);
      expect(() => parseNpy(bytes, 'a.npy')).toThrow(message);
    };
    refuse(new TextEncoder().encode('hello world!'), 'a.npy: does not begin with \\x93NUMPY, expected a NumPy .npy file');
    refuse(zipBytes({ 'x.npy': ok }), '(it is a zip file: an .npz?)');
    const v4 = ok.slice();
    v4[6] = 4;
    refuse(v4, 'format version 4.0, expected 1.0, 2.0 or 3.0');
    refuse(ok.subarray(0, ok.length - 1), 'holds 15 bytes of data, expected 16 (shape (2, 2) of <f4)');
    refuse(npyBytes(Float32Array.of(1, 2, 3, 4), [2, 2], { fortran: true }), "is in Fortran order (column-major); save np.ascontiguousarray(a) instead");
    refuse(npyBytes(Float32Array.of(1, 2), [2], { descr: '>f4' }), "its dtype >f4 is big-endian; save a.astype('<f4') instead");
    refuse(npyBytes(Uint16Array.of(1, 2), [2], { descr: '>f2' }), "its dtype >f2 is big-endian; save a.astype('<f2') instead");
    refuse(npyBytes(Float64Array.of(1, 2), [2], { descr: '<c8' }), 'its dtype <c8 is not read here');
    refuse(npyBytes(Float64Array.of(1), [1], { descr: '|O' }), 'its dtype |O is not read here');
    // A structured array's descr is a list.
    const structured = new TextDecoder('latin1').decode(npyBytes(Float32Array.of(1), [1])).replace("'descr': '<f4'", "'descr': [('a', '<f4')]");
    refuse(Uint8Array.from(structured, (c) => c.charCodeAt(0)), 'a structured array');
  });
});

describe('.npz', () => {
  const arrays = { x_train: { data: Float32Array.of(1, 2, 3, 4, 5, 6), shape: [3, 2] }, y_train: { data: BigInt64Array.of(0n, 1n, 2n), shape: [3] } };

  test.each([
    ['np.savez (stored, zip64 local headers)', { zip64: true }],
    ['np.savez_compressed (deflated)', { zip64: true, deflate: true }],
    ['a plain zip', {}],
  ] as const)('%s: every .npy member by its name', (_, options) => {
    const bytes = zipBytes({ 'x_train.npy': npzMember(arrays.x_train), 'notes.txt': new TextEncoder().encode('skipped'), 'y_train.npy': npzMember(arrays.y_train) }, options);
    const read = parseNpz(bytes, 'd.npz', inflate);
    expect([...read.keys()]).toEqual(['x_train', 'y_train']);
    expect(read.get('x_train')).toMatchObject({ dtype: 'f4', shape: [3, 2] });
    expect(Array.from(read.get('x_train')!.data as Float32Array)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(Array.from(read.get('y_train')!.data as BigInt64Array)).toEqual([0n, 1n, 2n]);
  });

  test('refusals: not a zip, another compression, encrypted, damaged (CRC, directory, a member), naming the member', () => {
    const bytes = npzBytes(arrays);
    const refuse = (b: Uint8Array, message: string) => expect(() => parseNpz(b, 'd.npz', inflate)).toThrow(message);
    refuse(npyBytes(Float32Array.of(1), [1]), 'd.npz: is not a zip file (no end of central directory), expected a NumPy .npz file (it is a .npy file: give it a .npy name)');
    refuse(zipBytes({ 'x.npy': npzMember(arrays.x_train) }, { method: 12 }), 'd.npz: x.npy: is compressed by zip method 12; expected stored (np.savez) or deflate (np.savez_compressed)');
    refuse(zipBytes({ 'x.npy': npzMember(arrays.x_train) }, { flags: 1 }), 'd.npz: x.npy: is encrypted');
    // One byte of x_train's data flipped: its CRC-32 says so.
    const damaged = bytes.slice();
    const at = indexOfBytes(damaged, npzMember(arrays.x_train)) + 128 + 4;
    damaged[at] = damaged[at]! ^ 1;
    refuse(damaged, 'd.npz: x_train.npy: fails its CRC-32 check: the file is damaged');
    // The central directory's first signature broken.
    const directory = bytes.slice();
    const central = lastIndexOfSignature(directory, 0x02014b50, true);
    directory[central] = 0;
    refuse(directory, 'd.npz: its zip directory is damaged at entry 1 of 2');
    // A deflated member that does not inflate.
    const deflated = zipBytes({ 'x.npy': npzMember(arrays.x_train) }, { deflate: true });
    deflated[40] = 0xff;
    deflated[41] = 0xff;
    expect(() => parseNpz(deflated, 'd.npz', inflate)).toThrow(/^d\.npz: x\.npy: (does not inflate|fails its CRC-32|is \d+ bytes)/);
  });

  test("numpy's own np.savez and np.savez_compressed files read as numpy wrote them", (t) => {
    if (spawnSync(python, ['-c', 'import numpy'], { stdio: 'ignore' }).status !== 0) t.skip(`${python} has no numpy`);
    const dir = mkdtempSync(join(tmpdir(), 'npz-'));
    const script = `
import numpy as np, sys, json
d = sys.argv[1]
r = np.random.default_rng(3)
a = {'x_train': r.integers(0, 256, size=(5, 7, 9), dtype=np.uint8), 'y_train': r.integers(-5, 100, size=(5,)),
     'f64': r.normal(size=(3, 4)), 'f32': r.normal(size=(4, 3)).astype(np.float32), 'i32': np.arange(-6, 6, dtype=np.int32).reshape(3, 4),
     'b': np.array([True, False, True]), 'big': np.arange(100000, dtype=np.float32)}
np.savez(d + '/s.npz', **a)
np.savez_compressed(d + '/c.npz', **a)
np.save(d + '/one.npy', a['f64'])
print(json.dumps({k: {'dtype': v.dtype.str, 'shape': list(v.shape), 'values': v.ravel().tolist()} for k, v in a.items()}))
`;
    const run = spawnSync(python, ['-c', script, dir], { encoding: 'utf8', maxBuffer: 64 << 20 });
    expect(run.status, run.stderr).toBe(0);
    const expected = JSON.parse(run.stdout) as Record<string, { dtype: string; shape: number[]; values: (number | boolean)[] }>;
    for (const file of ['s.npz', 'c.npz']) {
      const read = parseNpz(new Uint8Array(readFileSync(join(dir, file))), file, inflate);
      expect([...read.keys()].sort()).toEqual(Object.keys(expected).sort());
      for (const [name, e] of Object.entries(expected)) {
        const a = read.get(name)!;
        expect(a.shape, `${file}: ${name}`).toEqual(e.shape);
        expect(Array.from(a.data as ArrayLike<number | bigint>, (v) => (a.dtype === 'b1' ? v === 1 : Number(v))), `${file}: ${name}`).toEqual(e.values);
      }
    }
    const one = parseNpy(new Uint8Array(readFileSync(join(dir, 'one.npy'))), 'one.npy');
    expect(Array.from(one.data as Float64Array)).toEqual(expected.f64!.values);
  });
});

function npzMember(a: { data: TypedArray; shape: readonly number[] }): Uint8Array {
  return npyBytes(a.data, a.shape);
}

function indexOfBytes(haystack: Uint8Array, needle: Uint8Array): number {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return i;
  }
  throw new Error('not found');
}

function lastIndexOfSignature(bytes: Uint8Array, signature: number, first = false): number {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let found = -1;
  for (let i = 0; i + 4 <= bytes.length; i++) {
    if (view.getUint32(i, true) === signature) {
      found = i;
      if (first) return i;
    }
  }
  return found;
}
