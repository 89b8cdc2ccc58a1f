/**
 * Dense (fully connected, bias-free) layer: y = x · Wᵀ, W in PyTorch's [out, in] layout.
 * Kernels: shaders/dense_forward.wgsl, dense_backward_input.wgsl, dense_backward_weight.wgsl.
 * CPU reference: src/reference/dense.ts.
 */
import { defineKernel } from '../gpu/kernel.js';
import forwardSource from '../../shaders/dense_forward.wgsl?raw';
import backwardInputSource from '../../shaders/dense_backward_input.wgsl?raw';
import backwardWeightSource from '../../shaders/dense_backward_weight.wgsl?raw';

const denseParams = { batch: 'u32', inFeatures: 'u32', outFeatures: 'u32' } as const;
export type DenseShape = { batch: number; inFeatures: number; outFeatures: number };

/** y[b, o] = Σ_i x[b, i] · W[o, i]  (overwrites y) */
export const denseForward = defineKernel({
  name: 'dense_forward',
  linear: true,
  source: forwardSource,
  params: denseParams,
  bindings: {
    x: { type: 'f32', access: 'read' },
    weight: { type: 'f32', access: 'read' },
    y: { type: 'f32', access: 'read_write' },
  },
  workgroupSize: [64],
  grid: (p) => [p.batch * p.outFeatures],
  lengths: (p) => ({ x: p.batch * p.inFeatures, weight: p.outFeatures * p.inFeatures, y: p.batch * p.outFeatures }),
});

/** dx[b, i] = Σ_o dy[b, o] · W[o, i]  (overwrites dx) */
export const denseBackwardInput = defineKernel({
  name: 'dense_backward_input',
  linear: true,
  source: backwardInputSource,
  params: denseParams,
  bindings: {
    dy: { type: 'f32', access: 'read' },
    weight: { type: 'f32', access: 'read' },
    dx: { type: 'f32', access: 'read_write' },
  },
  workgroupSize: [64],
  grid: (p) => [p.batch * p.inFeatures],
  lengths: (p) => ({ dy: p.batch * p.outFeatures, weight: p.outFeatures * p.inFeatures, dx: p.batch * p.inFeatures }),
});

/** dW[o, i] = Σ_b dy[b, o] · x[b, i]  (overwrites dW) */
export const denseBackwardWeight = defineKernel({
  name: 'dense_backward_weight',
  linear: true,
  source: backwardWeightSource,
  params: denseParams,
  bindings: {
    dy: { type: 'f32', access: 'read' },
    x: { type: 'f32', access: 'read' },
    dweight: { type: 'f32', access: 'read_write' },
  },
  workgroupSize: [64],
  grid: (p) => [p.outFeatures * p.inFeatures],
  lengths: (p) => ({ dy: p.batch * p.outFeatures, x: p.batch * p.inFeatures, dweight: p.outFeatures * p.inFeatures }),
});
