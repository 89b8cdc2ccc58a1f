/** What a file's arrays become as a run's data (src/data/tensor-data.ts): images, float samples, ids, labels or targets, and the refusals. */
import { describe, expect, test } from 'vitest';
import { dataFromArrays, isImageData, splitInputs, type TensorDataset } from '../../src/data/tensor-data.js';
import type { MnistDataset } from '../../src/data/idx.js';
import type { NpyArray } from '../../src/data/npy.js';
import { normalizedFill } from '../../src/data/colour-images.js';
import { cropFlipRef } from '../../src/reference/augment.js';
import { runTorch, skipWithoutTorch } from '../helpers/torch.js';

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
    expect(splitInputs(data.train)).toEqual(Float32Array.from({ length: 16 }, (_, i) => 0.1 * i));
    expect(data.train.labels).toEqual(Int32Array.of(0, 1, 2, 0));
    expect(data.train.targets).toBeUndefined();
    // uint8 samples of another rank are floats too (their values).
    const bytes = dataFromArrays(splits((n) => arr('u1', [n, 3], Uint8Array.from({ length: n * 3 }, (_, i) => 250 + (i % 6))), labels64), 'b.npz', { input: [3] }) as TensorDataset;
    expect(Array.from(splitInputs(bytes.train).subarray(0, 6))).toEqual([250, 251, 252, 253, 254, 255]);
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
    expect(Array.from(splitInputs(ids.train).subarray(0, 6))).toEqual([0, 1, 2, 3, 4, 5]);
    const refuse = (x: NpyArray, message: string) => expect(() => dataFromArrays(arrays({ x_train: x, y_train: labels64(2), x_test: x, y_test: labels64(2) }), 't.npz', { input: [2], ids: true })).toThrow(message);
    refuse(arr('f4', [2, 2], Float32Array.of(1, 2.5, 3, 4)), "t.npz: x_train holds 2.5 at flat index 1; the model's first layer is an Embedding, whose ids are whole numbers 0 … 2^24 − 1");
    refuse(arr('i8', [2, 2], BigInt64Array.of(1n, 2n, -3n, 4n)), 'holds -3 at flat index 2');
    refuse(arr('i8', [2, 2], BigInt64Array.of(1n, 2n, 3n, 16777217n)), 'holds 16777217 at flat index 3');
  });

  test('an integer feature float32 cannot hold exactly is refused, not rounded', () => {
    const x = (n: number) => arr('i4', [n, 1], Int32Array.from({ length: n }, (_, i) => (i === 1 ? 16777217 : i)));
    expect(() => dataFromArrays(splits(x, labels64), 'i.npz', { input: [1] })).toThrow('i.npz: x_train holds 16777217 at flat index 1, which float32 cannot hold exactly; convert the array to float32 first');
    const ok = dataFromArrays(splits((n) => arr('i8', [n, 1], BigInt64Array.from({ length: n }, (_, i) => BigInt(-16777216 + i))), labels64), 'i.npz', { input: [1] }) as TensorDataset;
    expect(Array.from(splitInputs(ok.train))).toEqual([-16777216, -16777215, -16777214, -16777213]);
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

/** Keras' cifar10 normalisation constants, as the CIFAR recipes give them. */
const CIFAR = { mean: [0.4914, 0.4822, 0.4465], std: [0.247, 0.2435, 0.2616], source: '--normalize' };
const IDENTITY = { mean: [0], std: [1], source: '--normalize 0/1' };
/** n images of H × W × C (channels last) whose pixel (s, h, w, c) is (s·97 + h·31 + w·7 + c·61) mod 256. */
const hwcPixels = (n: number, h: number, w: number, c: number) => Uint8Array.from({ length: n * h * w * c }, (_, i) => {
  const [s, y, x, k] = [Math.floor(i / (h * w * c)), Math.floor(i / (w * c)) % h, Math.floor(i / c) % w, i % c];
  return (s * 97 + y * 31 + x * 7 + k * 61) % 256;
});
/** The same images channels first. */
const toChw = (pixels: Uint8Array, h: number, w: number, c: number) => Uint8Array.from({ length: pixels.length }, (_, i) => {
  const [s, k, y, x] = [Math.floor(i / (c * h * w)), Math.floor(i / (h * w)) % c, Math.floor(i / w) % h, i % w];
  return pixels[((s * h + y) * w + x) * c + k]!;
});
const labels8 = (n: number) => arr('u1', [n, 1], Uint8Array.from({ length: n }, (_, i) => i % 3));

describe('dataFromArrays: colour images (uint8 [N, H, W, C] or [N, C, H, W]) as ToTensor() and Normalize(mean, std) make them', () => {
  test.each([[1, 2, 3], [3, 2, 3], [4, 3, 2]])('C = %i, %i × %i: channels last and channels first give the same [C, H, W] samples, v / 255 where mean 0 and std 1', (c, h, w) => {
    const pixels = hwcPixels(4, h, w, c);
    const hwc = dataFromArrays(splits((n) => arr('u1', [n, h, w, c], hwcPixels(n, h, w, c)), labels8), 'c.npz', { input: [c, h, w], normalize: IDENTITY }) as TensorDataset;
    const chw = dataFromArrays(splits((n) => arr('u1', [n, c, h, w], toChw(hwcPixels(n, h, w, c), h, w, c)), labels8), 'c.npz', { input: [c, h, w], normalize: IDENTITY }) as TensorDataset;
    expect(isImageData(hwc)).toBe(false);
    expect(hwc.train.shape).toEqual([c, h, w]);
    expect(hwc.layout).toMatchObject({ order: 'HWC', ambiguous: false });
    expect(chw.layout).toMatchObject({ order: 'CHW', ambiguous: false });
    // Sample s, channel k, row y, column x of the float samples is pixel (s, y, x, k) of the HWC array.
    const expected = Float32Array.from({ length: pixels.length }, (_, i) => {
      const [s, k, y, x] = [Math.floor(i / (c * h * w)), Math.floor(i / (h * w)) % c, Math.floor(i / w) % h, i % w];
      return pixels[((s * h + y) * w + x) * c + k]! / 255;
    });
    expect(splitInputs(hwc.train)).toEqual(expected);
    expect(splitInputs(chw.train)).toEqual(expected);
    // Kept as bytes, channels first, with a table a channel; any run of samples looked up on its own.
    expect('pixels' in hwc.train && hwc.train.pixels.length).toBe(pixels.length);
    expect(splitInputs(hwc.train, 2, 1)).toEqual(expected.subarray(2 * c * h * w, 3 * c * h * w));
    expect(splitInputs(chw.train, 1, 3)).toEqual(expected.subarray(c * h * w));
    // Keras' cifar10 labels: uint8 [N, 1].
    expect(hwc.train.labels).toEqual(Int32Array.of(0, 1, 2, 0));
  });

  test('where both layouts fit (H = W = C) the model\'s, channels first, is taken and said; neither: refused naming the array, its shape and the model\'s input', () => {
    const both = dataFromArrays(splits((n) => arr('u1', [n, 3, 3, 3], hwcPixels(n, 3, 3, 3)), labels8), 'a.npz', { input: [3, 3, 3], normalize: IDENTITY }) as TensorDataset;
    expect(both.layout).toMatchObject({ order: 'CHW', ambiguous: true });
    expect(splitInputs(both.train).subarray(0, 3)).toEqual(Float32Array.from(hwcPixels(1, 3, 3, 3).subarray(0, 3), (v) => v / 255));
    const refuse = (shape: number[], input: number[], message: string) => expect(() => dataFromArrays(splits((n) => arr('u1', [n, ...shape], new Uint8Array(n * shape.reduce((a, b) => a * b))), labels8), 'r.npz', { input })).toThrow(message);
    refuse([32, 32, 3], [3, 28, 28], 'r.npz: x_train is uint8 (4, 32, 32, 3), colour images of [N, H, W, C] (channels last) or [N, C, H, W] (channels first) with C 1, 3 or 4; the model takes [3, 28, 28] per sample');
    refuse([8, 8, 2], [2, 8, 8], 'r.npz: x_train is uint8 (4, 8, 8, 2), colour images');
    refuse([8, 8, 3], [192], 'the model takes [192] per sample (colour images become samples of [C, H, W]: give the model that input, a Flatten first where its first layer is dense)');
  });

  test("the default mean and std: x_train's own a channel, numpy's x_train / 255 .mean and population .std (float64), for both splits", (ctx) => {
    skipWithoutTorch(ctx);
    const x = (n: number) => arr('u1', [n, 5, 4, 3], hwcPixels(n, 5, 4, 3).map((v, i) => (v * (i % 3 + 1)) % 256));
    const data = dataFromArrays(splits(x, labels8), 'd.npz', { input: [3, 5, 4] }) as TensorDataset;
    const numpy = runTorch<{ mean: number[]; std: number[] }>(`
import json, sys, numpy as np
spec = json.load(sys.stdin)
x = np.array(spec['x'], dtype=np.uint8).reshape(spec['shape']) / 255
print(json.dumps({'mean': x.mean(axis=(0, 1, 2)).tolist(), 'std': x.std(axis=(0, 1, 2)).tolist()}))
`, { x: Array.from(x(4).data as Uint8Array), shape: [4, 5, 4, 3] });
    expect(data.normalize!.source).toBe("x_train's own mean and std");
    data.normalize!.mean.forEach((m, c) => expect(m).toBeCloseTo(numpy.mean[c]!, 14));
    data.normalize!.std.forEach((s, c) => expect(s).toBeCloseTo(numpy.std[c]!, 14));
    expect(data.normalize!.mean.map(Math.fround)).toEqual(numpy.mean.map(Math.fround));
    expect(data.normalize!.std.map(Math.fround)).toEqual(numpy.std.map(Math.fround));
    // The test split with the training split's statistics.
    const m = data.normalize!.mean.map(Math.fround), s = data.normalize!.std.map(Math.fround);
    const v = (x(2).data as Uint8Array)[3 * 7 + 1]!;
    expect(splitInputs(data.test)[1 * 20 + 7]).toBe(Math.fround(Math.fround(Math.fround(v / 255) - m[1]!) / s[1]!));
    const flat = (n: number) => arr('u1', [n, 2, 2, 3], Uint8Array.from({ length: n * 12 }, (_, i) => (i % 3 === 2 ? 9 : i)));
    expect(() => dataFromArrays(splits(flat, labels8), 'f.npz', { input: [3, 2, 2] })).toThrow("f.npz: x_train's channel 2 holds one value (9) in every pixel: its std is 0, which Normalize cannot divide by; give the mean and std to normalise with");
  });

  test("ToTensor() then Normalize(mean, std): every value's bits as torch's float32 (torchvision's code: .div(255), then .sub_(mean).div_(std))", (ctx) => {
    skipWithoutTorch(ctx);
    // Every uint8 value in every channel: images of 16 × 16 whose pixel (h, w) is 16·h + w.
    const pixels = Uint8Array.from({ length: 256 * 3 }, (_, i) => Math.floor(i / 3));
    const data = dataFromArrays(arrays({ x_train: arr('u1', [1, 16, 16, 3], pixels), y_train: labels8(1), x_test: arr('u1', [1, 16, 16, 3], pixels), y_test: labels8(1) }), 't.npz', { input: [3, 16, 16], normalize: CIFAR }) as TensorDataset;
    const torch = runTorch<number[]>(`
import json, sys, numpy as np, torch
spec = json.load(sys.stdin)
pic = np.array(spec['pixels'], dtype=np.uint8).reshape(16, 16, 3)
# torchvision.transforms.functional.to_tensor of an HWC uint8 ndarray, then normalize (inplace=False)
img = torch.from_numpy(pic.transpose((2, 0, 1))).contiguous().to(dtype=torch.get_default_dtype()).div(255)
mean = torch.as_tensor(spec['mean'], dtype=img.dtype).view(-1, 1, 1)
std = torch.as_tensor(spec['std'], dtype=img.dtype).view(-1, 1, 1)
print(json.dumps(img.clone().sub_(mean).div_(std).flatten().view(torch.int32).tolist()))
`, { pixels: Array.from(pixels), ...CIFAR });
    expect(Array.from(new Int32Array(splitInputs(data.train).buffer))).toEqual(torch);
  });

  test("RandomCrop(padding, fill) of the uint8 image, RandomHorizontalFlip, ToTensor(), Normalize: the engine's sample (normalised image, then the crop with normalizedFill's padding) has torch's bits", (ctx) => {
    skipWithoutTorch(ctx);
    // 5 × 7 RGB(A) images (H ≠ W), every offset's corner and a middle one, flipped and not.
    const [h, w, padding] = [5, 7, 4];
    const draws = [{ top: 0, left: 0, flipped: false }, { top: 8, left: 8, flipped: true }, { top: 0, left: 8, flipped: true }, { top: 8, left: 1, flipped: false }, { top: 4, left: 4, flipped: true }, { top: 2, left: 6, flipped: false }];
    for (const [channels, fill, norm] of [[3, [0], CIFAR], [3, [124, 116, 104], CIFAR], [4, [255], { mean: [0.5, 0.4, 0.3, 0.2], std: [0.25, 0.5, 0.125, 0.3], source: '--normalize' }], [1, [17], { mean: [0.1307], std: [0.3081], source: '--normalize' }]] as const) {
      const pixels = hwcPixels(draws.length, h, w, channels);
      const x = arr('u1', [draws.length, h, w, channels], pixels);
      const data = dataFromArrays(arrays({ x_train: x, y_train: labels8(draws.length), x_test: x, y_test: labels8(draws.length) }), 't.npz', { input: [channels, h, w], normalize: norm }) as TensorDataset;
      const fills = normalizedFill(fill, channels, norm, 't.npz', '--crop-fill');
      const size = channels * h * w;
      const ours = Float32Array.from(draws.flatMap((d, s) => Array.from(cropFlipRef(splitInputs(data.train).subarray(s * size, (s + 1) * size), h, w, d, padding, fills))));
      const torch = runTorch<number[]>(`
import json, sys, numpy as np, torch
spec = json.load(sys.stdin)
n, h, w, c, p = len(spec['draws']), spec['h'], spec['w'], spec['c'], spec['padding']
pics = np.array(spec['pixels'], dtype=np.uint8).reshape(n, h, w, c)
fill = spec['fill'] * c if len(spec['fill']) == 1 else spec['fill']
mean = torch.as_tensor(spec['mean'], dtype=torch.float32).view(-1, 1, 1)
std = torch.as_tensor(spec['std'], dtype=torch.float32).view(-1, 1, 1)
out = []
for pic, d in zip(pics, spec['draws']):
    # RandomCrop(padding=p, fill): F.pad of the uint8 image with the fill pixel (PIL's ImageOps.expand, a value a channel), then F.crop at (top, left)
    padded = torch.tensor(fill, dtype=torch.uint8).repeat(h + 2 * p, w + 2 * p, 1)
    padded[p:p + h, p:p + w] = torch.from_numpy(pic)
    img = padded[d['top']:d['top'] + h, d['left']:d['left'] + w]
    # RandomHorizontalFlip: F.hflip, the columns reversed
    if d['flipped']:
        img = img.flip(1)
    # ToTensor() (HWC uint8 to CHW, .div(255)), then Normalize (inplace=False)
    img = img.permute(2, 0, 1).contiguous().to(dtype=torch.get_default_dtype()).div(255)
    out.append(img.sub(mean).div(std))
print(json.dumps(torch.stack(out).flatten().view(torch.int32).tolist()))
`, { draws, h, w, c: channels, padding, pixels: Array.from(pixels), fill, mean: norm.mean, std: norm.std });
      expect(Array.from(new Int32Array(ours.buffer)), `${channels} channels, fill ${fill.join(', ')}`).toEqual(torch);
    }
  });

  test('float samples of [C, H, W] take a given Normalize; of another rank, grey images and ids refuse one; a mean a channel too few refused', () => {
    const x = (n: number) => arr('f4', [n, 2, 1, 2], Float32Array.from({ length: n * 4 }, (_, i) => i / 7));
    const data = dataFromArrays(splits(x, labels64), 'f.npz', { input: [2, 1, 2], normalize: { mean: [0.5, 0.25], std: [0.2, 3], source: '--normalize' } }) as TensorDataset;
    expect(data.normalize).toMatchObject({ mean: [0.5, 0.25] });
    expect(splitInputs(data.train)).toEqual(Float32Array.from({ length: 16 }, (_, i) => {
      const c = Math.floor(i / 2) % 2;
      return Math.fround(Math.fround(Math.fround(i / 7) - Math.fround([0.5, 0.25][c]!)) / Math.fround([0.2, 3][c]!));
    }));
    // The array read is left as it was.
    const original = x(4);
    dataFromArrays(arrays({ x_train: original, y_train: labels64(4), x_test: x(2), y_test: labels64(2) }), 'f.npz', { input: [2, 1, 2], normalize: { mean: [1], std: [2], source: '--normalize 1/2' } });
    expect(original.data[1]).toBe(Math.fround(1 / 7));
    const refuse = (map: Map<string, NpyArray>, model: Parameters<typeof dataFromArrays>[2], message: string) => expect(() => dataFromArrays(map, 'n.npz', model)).toThrow(message);
    refuse(splits((n) => arr('f4', [n, 3], new Float32Array(n * 3)), labels64), { input: [3], normalize: CIFAR }, "n.npz: x_train: the samples are [3]; --normalize normalises samples of [C, H, W] a channel (torchvision's Normalize)");
    refuse(splits((n) => arr('u1', [n, 2, 3], new Uint8Array(n * 6)), labels64), { input: [1, 2, 3], normalize: CIFAR }, "n.npz: x_train holds grey images (uint8 (4, 2, 3)), normalised as MNIST's on the GPU; --normalize is for colour images (uint8 [N, H, W, C] or [N, C, H, W]) and float samples of [C, H, W]");
    refuse(splits((n) => arr('i8', [n, 3], new BigInt64Array(n * 3)), labels64), { input: [3], ids: true, normalize: CIFAR }, "n.npz: x_train holds token ids (the model's first layer is an Embedding), which --normalize cannot normalise");
    refuse(splits((n) => arr('u1', [n, 2, 2, 3], hwcPixels(n, 2, 2, 3)), labels8), { input: [3, 2, 2], normalize: { mean: [0.5, 0.5], std: [0.5], source: '--normalize 0.5,0.5/0.5' } }, 'n.npz: x_train has 3 channels; --normalize 0.5,0.5/0.5 gives 2 means (one a channel, or one for all)');
  });
});
