/**
 * A permutation of a sample's dimensions (torchvision.ops.Permute, src/layers/permute.ts), the
 * batch dimension kept first: one gathering kernel for rank 2–4 samples; the gradient is the
 * inverse permutation, the same kernel. Kernel: shaders/permute.wgsl. CPU reference:
 * src/reference/permute.ts.
 */
import { defineKernel } from '../gpu/kernel.js';
import source from '../../shaders/permute.wgsl?raw';

/** y = x with its sample dimensions permuted: `size0 … size3` y's sample shape, `stride0 … stride3` each one's step in x's sample  (overwrites y) */
export const permute = defineKernel({
  name: 'permute',
  linear: true,
  source,
  params: { count: 'u32', size0: 'u32', size1: 'u32', size2: 'u32', size3: 'u32', stride0: 'u32', stride1: 'u32', stride2: 'u32', stride3: 'u32' },
  bindings: {
    x: { type: 'f32', access: 'read' },
    y: { type: 'f32', access: 'read_write' },
  },
  workgroupSize: [64],
  grid: (p) => [p.count],
  lengths: (p) => ({ x: p.count, y: p.count }),
});

/**
 * The kernel's parameters for `batch` samples of `shape` permuted by `dims` (output dimension k is
 * input dimension dims[k]), padded to rank 4 with leading sizes 1.
 */
export function permuteParams(shape: readonly number[], dims: readonly number[], batch: number) {
  const strides = shape.map((_, k) => shape.slice(k + 1).reduce((a, b) => a * b, 1));
  const pad = 4 - shape.length;
  const size = (k: number) => (k < pad ? 1 : shape[dims[k - pad]!]!);
  const stride = (k: number) => (k < pad ? 0 : strides[dims[k - pad]!]!);
  const count = batch * shape.reduce((a, b) => a * b, 1);
  return { count, size0: size(0), size1: size(1), size2: size(2), size3: size(3), stride0: stride(0), stride1: stride(1), stride2: stride(2), stride3: stride(3) };
}

/** The inverse of a permutation: inverse[dims[k]] = k. */
export function inversePermutation(dims: readonly number[]): number[] {
  const inverse = new Array<number>(dims.length);
  dims.forEach((d, k) => (inverse[d] = k));
  return inverse;
}
