/**
 * A residual block's kernels (src/layers/residual.ts): its sum, and its gradient at the block's two
 * ends. Kernel: shaders/residual_add.wgsl. CPU reference: src/reference/network.ts (the sums in
 * networkStepRef).
 */
import { defineKernel } from '../gpu/kernel.js';
import source from '../../shaders/residual_add.wgsl?raw';
import reluSource from '../../shaders/lib/relu.wgsl?raw';

/**
 * y = x + other (overwrites y); ACCUMULATE: x += other (x updated in place, no y); COPY: y = x (no
 * other); RELU: y = max(x + other, 0); VEC4 (length a multiple of 4): four elements one vec4
 * (residualVariant). The same f32 addition in every variant, so a sum is the same bits wherever it
 * is made.
 */
export const residualAdd = defineKernel({
  name: 'residual_add',
  linear: true,
  source,
  libraries: [reluSource],
  params: { length: 'u32' },
  bindings: {
    x: { type: 'f32', access: 'read', writtenIn: 'ACCUMULATE', vec4: 'VEC4' },
    other: { type: 'f32', access: 'read', unless: 'COPY', vec4: 'VEC4' },
    y: { type: 'f32', access: 'read_write', unless: 'ACCUMULATE', vec4: 'VEC4' },
  },
  defines: ['ACCUMULATE', 'COPY', 'RELU', 'VEC4'],
  variantRequires: { VEC4: (p) => (p.length % 4 === 0 ? undefined : `${p.length} elements are not whole vec4s`) },
  workgroupSize: [256],
  grid: (p) => [Math.ceil(p.length / 4)],
  lengths: (p) => ({ x: p.length, other: p.length, y: p.length }),
});

/** VEC4 where the length is whole vec4s. */
export const residualVariant = (length: number) => ({ VEC4: length % 4 === 0 });
