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
 * other); RELU: y = max(x + other, 0). The same f32 addition in every variant, so a sum is the same
 * bits wherever it is made.
 */
export const residualAdd = defineKernel({
  name: 'residual_add',
  linear: true,
  source,
  libraries: [reluSource],
  params: { length: 'u32' },
  bindings: {
    x: { type: 'f32', access: 'read', writtenIn: 'ACCUMULATE' },
    other: { type: 'f32', access: 'read', unless: 'COPY' },
    y: { type: 'f32', access: 'read_write', unless: 'ACCUMULATE' },
  },
  defines: ['ACCUMULATE', 'COPY', 'RELU'],
  workgroupSize: [256],
  grid: (p) => [Math.ceil(p.length / 4)],
  lengths: (p) => ({ x: p.length, other: p.length, y: p.length }),
});
