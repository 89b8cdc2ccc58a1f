/**
 * Tanh activation, forward and backward (the backward reads the forward's output).
 * Kernels: shaders/tanh_forward.wgsl, tanh_backward.wgsl. CPU reference: src/reference/tanh.ts.
 */
import { defineKernel } from '../gpu/kernel.js';
import forwardSource from '../../shaders/tanh_forward.wgsl?raw';
import backwardSource from '../../shaders/tanh_backward.wgsl?raw';

/** y = tanh(x)  (overwrites y) */
export const tanhForward = defineKernel({
  name: 'tanh_forward',
  linear: true,
  source: forwardSource,
  params: { count: 'u32' },
  bindings: {
    x: { type: 'f32', access: 'read' },
    y: { type: 'f32', access: 'read_write' },
  },
  workgroupSize: [256],
  grid: (p) => [p.count],
  lengths: (p) => ({ x: p.count, y: p.count }),
});

/** dx = dy · (1 − y²)  (overwrites dx) */
export const tanhBackward = defineKernel({
  name: 'tanh_backward',
  linear: true,
  source: backwardSource,
  params: { count: 'u32' },
  bindings: {
    dy: { type: 'f32', access: 'read' },
    y: { type: 'f32', access: 'read' },
    dx: { type: 'f32', access: 'read_write' },
  },
  workgroupSize: [256],
  grid: (p) => [p.count],
  lengths: (p) => ({ dy: p.count, y: p.count, dx: p.count }),
});
