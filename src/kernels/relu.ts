/**
 * ReLU, forward and backward (the backward reads the forward's output, as PyTorch does).
 * Kernels: shaders/relu_forward.wgsl, relu_backward.wgsl. CPU reference: src/reference/relu.ts.
 */
import { defineKernel } from '../gpu/kernel.js';
import forwardSource from '../../shaders/relu_forward.wgsl?raw';
import backwardSource from '../../shaders/relu_backward.wgsl?raw';
import reluSource from '../../shaders/lib/relu.wgsl?raw';

/** y = max(x, 0), a NaN kept as PyTorch's relu keeps it  (overwrites y) */
export const reluForward = defineKernel({
  name: 'relu_forward',
  linear: true,
  source: forwardSource,
  libraries: [reluSource],
  params: { length: 'u32' },
  bindings: {
    x: { type: 'f32', access: 'read' },
    y: { type: 'f32', access: 'read_write' },
  },
  workgroupSize: [256],
  grid: (p) => [Math.ceil(p.length / 4)],
  lengths: (p) => ({ x: p.length, y: p.length }),
});

/** dx = dy except where y ≤ 0, there 0 (a NaN y passes dy: PyTorch's threshold_backward)  (overwrites dx) */
export const reluBackward = defineKernel({
  name: 'relu_backward',
  linear: true,
  source: backwardSource,
  libraries: [reluSource],
  params: { length: 'u32' },
  bindings: {
    dy: { type: 'f32', access: 'read' },
    y: { type: 'f32', access: 'read' },
    dx: { type: 'f32', access: 'read_write' },
  },
  workgroupSize: [256],
  grid: (p) => [Math.ceil(p.length / 4)],
  lengths: (p) => ({ dy: p.length, y: p.length, dx: p.length }),
});
