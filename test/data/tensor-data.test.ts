/** What a file's arrays become as a run's data (src/data/tensor-data.ts): images, float samples, ids, labels or targets, and the refusals. */
import { describe, expect, test } from 'vitest';
import { dataFromArrays, isImageData, type TensorDataset } from '../../src/data/tensor-data.js';
import type { MnistDataset } from '../../src/data/idx.js';
import type { NpyArray } from '../../src/data/npy.js';

const arr = <D extends NpyArray['dtype']>(dtype: D, shape: number[], data: Extract<NpyArray, { dtype: D }>['data']) => ({ dtype, shape, data }) as NpyArray;
const arrays = (entries: Record<string, NpyArray>) => new Map(Object.entries(entries));
/** A train and a test split alike: x built by `x(count)`, y by `y(count)`. */
const splits = (x: (n: number) => NpyArray, y: (n: number) => NpyArray) => arrays({ x_train: x(4), y_train: y(4), x_test: x(2), y_test: y(2) });
const labels64 = (n: number) => arr('i8', [n], BigInt64Array.from({ length: n }, (_, i) => BigInt(i % 3)));

describe('dataFromArrays', () => {
  test("uint8 [N, H, W] are images, as the IDX files' (Keras' mnist.npz); their labels uint8", () => {
    const data = dataFromArrays(splits((n) => arr('u1', [n, 2, 3], Uint8Array.from({ length: n * 6 }, (_, i) => i)), labels64), 'm.npz', { input: [1, 2, 3] }) as MnistDataset;
    expect(isImageData(data)).toBe(true);
    expect(data.train).toMatchObject({ count: 4, rows: 2, cols: 3 });
    expect(Array.from(data.train.images.subarray(0, 7))).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(data.train.labels).toEqual(Uint8Array.of(0, 1, 2, 0));
    expect(() => dataFromArrays(splits((n) => arr('u1', [n, 2, 3], new Uint8Array(n * 6)), (n) => arr('i8', [n], BigInt64Array.from({ length: n }, () => 300n))), 'm.npz', { input: [1, 2, 3] }))
      .toThrow('m.npz: y_train[0] is 300; labels of uint8 images are 0 … 255');
  });

  test('float samples as they are: float64 rounded to float32, [N, 28, 28] into a model of [1, 28, 28], labels as int32', () => {
    const data = dataFromArrays(splits((n) => arr('f8', [n, 2, 2], Float64Array.from({ length: n * 4 }, (_, i) => 0.1 * i)), labels64), 'f.npz', { input: [1, 2, 2] }) as TensorDataset;
    expect(isImageData(data)).toBe(false);
    expect(data.train.shape).toEqual([1, 2, 2]);
    expect(data.train.inputs).toEqual(Float32Array.from({ length: 16 }, (_, i) => 0.1 * i));
    expect(data.train.labels).toEqual(Int32Array.of(0, 1, 2, 0));
    expect(data.train.targets).toBeUndefined();
    // uint8 samples of another rank are floats too (their values).
    const bytes = dataFromArrays(splits((n) => arr('u1', [n, 3], Uint8Array.from({ length: n * 3 }, (_, i) => 250 + (i % 6))), labels64), 'b.npz', { input: [3] }) as TensorDataset;
    expect(Array.from(bytes.train.inputs.subarray(0, 6))).toEqual([250, 251, 252, 253, 254, 255]);
    expect(() => dataFromArrays(splits((n) => arr('f4', [n, 4], new Float32Array(n * 4)), labels64), 'f.npz', { input: [2, 2] })).toThrow("f.npz: x_train's samples are [4]; the model takes [2, 2] per sample");
  });

  test('a NaN or infinite value (or a float64 beyond float32) in x or in float y: refused naming the file, the array and where, before the GPU', () => {
    const x = (bad: number) => (n: number) => arr('f8', [n, 3], Float64Array.from({ length: n * 3 }, (_, i) => (i === 4 ? bad : i)));
    expect(() => dataFromArrays(splits(x(NaN), labels64), 'f.npz', { input: [3] })).toThrow('f.npz: x_train holds NaN at flat index 4 (sample 1); every value must be finite');
    expect(() => dataFromArrays(splits(x(1e39), labels64), 'f.npz', { input: [3] })).toThrow('f.npz: x_train holds 1e+39 at flat index 4 (sample 1), beyond float32; every value must be finite');
    const targets = (n: number) => arr('f4', [n, 2], Float32Array.from({ length: n * 2 }, (_, i) => (n === 2 && i === 3 ? -Infinity : i)));
    expect(() => dataFromArrays(splits(x(0), targets), 'r.npz', { input: [3] })).toThrow('r.npz: y_test holds -Infinity at flat index 3 (sample 1); every value must be finite');
  });

  test("a model whose first layer is an Embedding takes x as ids (uint8 images too); a fraction, a negative or 2^24 refused", () => {
    const ids = dataFromArrays(splits((n) => arr('u1', [n, 2, 3], Uint8Array.from({ length: n * 6 }, (_, i) => i)), labels64), 't.npz', { input: [2, 3], ids: true }) as TensorDataset;
    expect(isImageData(ids)).toBe(false);
    expect(Array.from(ids.train.inputs.subarray(0, 6))).toEqual([0, 1, 2, 3, 4, 5]);
    const refuse = (x: NpyArray, message: string) => expect(() => dataFromArrays(arrays({ x_train: x, y_train: labels64(2), x_test: x, y_test: labels64(2) }), 't.npz', { input: [2], ids: true })).toThrow(message);
    refuse(arr('f4', [2, 2], Float32Array.of(1, 2.5, 3, 4)), "t.npz: x_train holds 2.5 at flat index 1; the model's first layer is an Embedding, whose ids are whole numbers 0 … 2^24 − 1");
    refuse(arr('i8', [2, 2], BigInt64Array.of(1n, 2n, -3n, 4n)), 'holds -3 at flat index 2');
    refuse(arr('i8', [2, 2], BigInt64Array.of(1n, 2n, 3n, 16777217n)), 'holds 16777217 at flat index 3');
  });

  test('an integer feature float32 cannot hold exactly is refused, not rounded', () => {
    const x = (n: number) => arr('i4', [n, 1], Int32Array.from({ length: n }, (_, i) => (i === 1 ? 16777217 : i)));
    expect(() => dataFromArrays(splits(x, labels64), 'i.npz', { input: [1] })).toThrow('i.npz: x_train holds 16777217 at flat index 1, which float32 cannot hold exactly; convert the array to float32 first');
    const ok = dataFromArrays(splits((n) => arr('i8', [n, 1], BigInt64Array.from({ length: n }, (_, i) => BigInt(-16777216 + i))), labels64), 'i.npz', { input: [1] }) as TensorDataset;
    expect(Array.from(ok.train.inputs)).toEqual([-16777216, -16777215, -16777214, -16777213]);
  });

  test('float y are regression targets (N × T); integer y of [N, 1] are labels; int64 labels beyond 32 bits refused', () => {
    const targets = dataFromArrays(splits((n) => arr('f4', [n, 3], new Float32Array(n * 3)), (n) => arr('f8', [n, 2], Float64Array.from({ length: n * 2 }, (_, i) => i / 3))), 'r.npz', { input: [3] }) as TensorDataset;
    expect(targets.train.labels).toBeUndefined();
    expect(targets.train.targets).toEqual(Float32Array.from({ length: 8 }, (_, i) => i / 3));
    const column = dataFromArrays(splits((n) => arr('f4', [n, 3], new Float32Array(n * 3)), (n) => arr('u2', [n, 1], Uint16Array.from({ length: n }, (_, i) => i + 1))), 'c.npz', { input: [3] }) as TensorDataset;
    expect(column.train.labels).toEqual(Int32Array.of(1, 2, 3, 4));
    const x = (n: number) => arr('f4', [n, 3], new Float32Array(n * 3));
    expect(() => dataFromArrays(splits(x, (n) => arr('i4', [n, 2], new Int32Array(n * 2))), 'c.npz', { input: [3] })).toThrow('c.npz: y_train has shape (4, 2) of integers, expected class labels of (4,); regression targets are float arrays');
    expect(() => dataFromArrays(splits(x, (n) => arr('i8', [n], BigInt64Array.from({ length: n }, () => 2n ** 40n))), 'c.npz', { input: [3] })).toThrow("c.npz: y_train[0] is 1099511627776, beyond a class label's 32 bits");
  });

  test('the four arrays, their counts and their agreement are checked, naming the file and the array', () => {
    const x = (n: number) => arr('f4', [n, 3], new Float32Array(n * 3));
    const refuse = (map: Map<string, NpyArray>, message: string) => expect(() => dataFromArrays(map, 'd.npz', { input: [3] })).toThrow(message);
    refuse(arrays({ x_train: x(4), y_train: labels64(4), data: x(2) }), "d.npz: has no x_test, y_test; expected the arrays x_train, y_train, x_test, y_test (as Keras' mnist.npz, or np.savez(file, x_train=…, y_train=…, x_test=…, y_test=…)), found x_train, y_train, data");
    refuse(arrays({ x_train: x(4), y_train: labels64(3), x_test: x(2), y_test: labels64(2) }), 'd.npz: y_train has shape (3,), expected 4 rows, one for each sample of x_train');
    refuse(arrays({ x_train: arr('f4', [4], new Float32Array(4)), y_train: labels64(4), x_test: x(2), y_test: labels64(2) }), 'd.npz: x_train has shape (4,), expected (samples, …): at least two dimensions');
    refuse(arrays({ x_train: x(4), y_train: labels64(4), x_test: arr('f4', [0, 3], new Float32Array(0)), y_test: labels64(0) }), 'd.npz: x_test holds no samples');
    refuse(arrays({ x_train: x(4), y_train: labels64(4), x_test: arr('f4', [2, 4], new Float32Array(8)), y_test: labels64(2) }), "d.npz: x_test is f4 of samples [4], expected x_train's f4 of [3]");
    refuse(arrays({ x_train: x(4), y_train: labels64(4), x_test: x(2), y_test: arr('f4', [2], new Float32Array(2)) }), 'd.npz: y_train holds class labels and y_test float targets; expected the same kind');
  });
});
