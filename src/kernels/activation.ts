/**
 * Element-wise activations whose backward reads their input: LeakyReLU (the default variant) and
 * SiLU (variant SILU), one source. Kernels: shaders/activation_forward.wgsl,
 * activation_backward.wgsl. CPU reference: src/reference/activation.ts.
 */
import { defineKernel } from '../gpu/kernel.js';
import forwardSource from '../../shaders/activation_forward.wgsl?raw';
import sigmoidSource from '../../shaders/lib/sigmoid.wgsl?raw';
import backwardSource from '../../shaders/activation_backward.wgsl?raw';

/** y = LeakyReLU(x) or SiLU(x)  (overwrites y) */
export const activationForward = defineKernel({
  name: 'activation_forward',
  linear: true,
  source: forwardSource,
  libraries: [sigmoidSource],
  params: { count: 'u32', slope: 'f32' },
  bindings: {
    x: { type: 'f32', access: 'read' },
    y: { type: 'f32', access: 'read_write' },
  },
  defines: ['SILU'],
  workgroupSize: [64],
  grid: (p) => [p.count],
  lengths: (p) => ({ x: p.count, y: p.count }),
});

/** dx = dy · the activation's derivative at the input x  (overwrites dx) */
export const activationBackward = defineKernel({
  name: 'activation_backward',
  linear: true,
  source: backwardSource,
  libraries: [sigmoidSource],
  params: { count: 'u32', slope: 'f32' },
  bindings: {
    dy: { type: 'f32', access: 'read' },
    x: { type: 'f32', access: 'read' },
    dx: { type: 'f32', access: 'read_write' },
  },
  defines: ['SILU'],
  workgroupSize: [64],
  grid: (p) => [p.count],
  lengths: (p) => ({ dy: p.count, x: p.count, dx: p.count }),
});
