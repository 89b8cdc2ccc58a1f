/**
 * Plain stochastic gradient descent. Kernel: shaders/sgd_update.wgsl. CPU reference: src/reference/sgd.ts.
 */
import { defineKernel } from '../gpu/kernel.js';
import source from '../../shaders/sgd_update.wgsl?raw';

/** param ← param − lr · grad  (in place) */
export const sgdUpdate = defineKernel({
  name: 'sgd_update',
  linear: true,
  source,
  params: { count: 'u32', lr: 'f32' },
  bindings: {
    grad: { type: 'f32', access: 'read' },
    param: { type: 'f32', access: 'read_write' },
  },
  workgroupSize: [64],
  grid: (p) => [p.count],
  lengths: (p) => ({ grad: p.count, param: p.count }),
});
