/**
 * SGD with momentum, PyTorch's update: v ← μ·v + g; p ← p − lr·v.
 * Kernel: shaders/sgd_momentum.wgsl. CPU reference: src/reference/sgd-momentum.ts.
 */
import { defineKernel } from '../gpu/kernel.js';
import source from '../../shaders/sgd_momentum.wgsl?raw';

/** velocity and param updated in place */
export const sgdMomentum = defineKernel({
  name: 'sgd_momentum',
  source,
  params: { length: 'u32', lr: 'f32', momentum: 'f32' },
  bindings: {
    grad: { type: 'f32', access: 'read' },
    velocity: { type: 'f32', access: 'read_write' },
    param: { type: 'f32', access: 'read_write' },
  },
  workgroupSize: [256],
  grid: (p) => [p.length],
  lengths: (p) => ({ grad: p.length, velocity: p.length, param: p.length }),
});
