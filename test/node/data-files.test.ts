/** --data FILE.safetensors (src/node/data-files.ts): every dtype the format holds becomes the arrays an .npz of the same values gives. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { encodeSafetensors, type SafetensorsTensor } from '../../src/checkpoint/safetensors.js';
import { loadTrainingData } from '../../src/node/data-files.js';
import type { TensorSplit } from '../../src/train/gpu-dataset.js';

const dir = mkdtempSync(join(tmpdir(), 'data-files-'));
const save = (name: string, tensors: Record<string, SafetensorsTensor>) => {
  const file = join(dir, name);
  writeFileSync(file, encodeSafetensors(tensors));
  return file;
};

test('float16 and bfloat16 samples are their float32 values; I16, U16, I8, U32, U64 and BOOL labels and samples are read as .npy\'s', async () => {
  // 1, 2^−24 (a subnormal), −2 and 65504 as float16; 1, −5, 2^−126 and 3.3895e38 as bfloat16.
  const f16 = save('f16.safetensors', {
    x_train: { dtype: 'F16', shape: [2, 2], data: Uint16Array.of(0x3c00, 0x0001, 0xc000, 0x7bff) },
    y_train: { dtype: 'I16', shape: [2], data: Int16Array.of(1, 0) },
    x_test: { dtype: 'BF16', shape: [2, 2], data: Uint16Array.of(0x3f80, 0xc0a0, 0x0080, 0x7f7f) },
    y_test: { dtype: 'U16', shape: [2], data: Uint16Array.of(0, 1) },
  });
  const a = await loadTrainingData(f16, { input: [2] });
  const train = a.train as TensorSplit;
  const test = a.test as TensorSplit;
  expect(Array.from(train.inputs)).toEqual([1, 2 ** -24, -2, 65504]);
  expect(Array.from(test.inputs)).toEqual([1, -5, 2 ** -126, new Float32Array(Uint32Array.of(0x7f7f0000).buffer)[0]]);
  expect(Array.from(train.labels!)).toEqual([1, 0]);
  expect(Array.from(test.labels!)).toEqual([0, 1]);

  const ints = save('ints.safetensors', {
    x_train: { dtype: 'BOOL', shape: [2, 3], data: Uint8Array.of(1, 0, 1, 0, 0, 1) },
    y_train: { dtype: 'I8', shape: [2], data: Int8Array.of(2, 1) },
    x_test: { dtype: 'BOOL', shape: [1, 3], data: Uint8Array.of(0, 1, 1) },
    y_test: { dtype: 'U64', shape: [1], data: BigUint64Array.of(2n) },
  });
  const b = await loadTrainingData(ints, { input: [3] });
  expect(Array.from((b.train as TensorSplit).inputs)).toEqual([1, 0, 1, 0, 0, 1]);
  expect(Array.from((b.train as TensorSplit).labels!)).toEqual([2, 1]);
  expect(Array.from((b.test as TensorSplit).labels!)).toEqual([2]);

  // A U32 sample beyond float32's whole numbers is refused as an .npy's would be, naming the file and the array.
  const wide = save('wide.safetensors', {
    x_train: { dtype: 'U32', shape: [1, 1], data: Uint32Array.of(2 ** 24 + 1) },
    y_train: { dtype: 'U32', shape: [1], data: Uint32Array.of(0) },
    x_test: { dtype: 'U32', shape: [1, 1], data: Uint32Array.of(3) },
    y_test: { dtype: 'U32', shape: [1], data: Uint32Array.of(0) },
  });
  await expect(loadTrainingData(wide, { input: [1] })).rejects.toThrow(`${wide}: x_train holds 16777217 at flat index 0, which float32 cannot hold exactly; convert the array to float32 first`);
});
