/**
 * Sigmoid activation. Kernels: shaders/sigmoid_forward.wgsl, sigmoid_backward.wgsl.
 * CPU reference: src/reference/sigmoid.ts.
 */
import { defineKernel } from '../gpu/kernel.js';
import forwardSource from '../../shaders/sigmoid_forward.wgsl?raw';
import sigmoidSource from '../../shaders/lib/sigmoid.wgsl?raw';
import backwardSource from '../../shaders/sigmoid_backward.wgsl?raw';

/** y = σ(x)  (overwrites y) */
export const sigmoidForward = defineKernel({
  name: 'sigmoid_forward',
  linear: true,
  source: forwardSource,
  libraries: [sigmoidSource],
  params: { count: 'u32' },
  bindings: {
    x: { type: 'f32', access: 'read' },
    y: { type: 'f32', access: 'read_write' },
  },
  workgroupSize: [64],
  grid: (p) => [p.count],
  lengths: (p) => ({ x: p.count, y: p.count }),
});

/**
 * dx = dy · y(1 − y)  (overwrites dx). Variant `SPREADSHEET_DERIVATIVE`: every unit of a row of
 * `features` uses its first unit's derivative, as the 2-2-2 spreadsheet's ∂E/∂w3, ∂E/∂w4 do.
 */
export const sigmoidBackward = defineKernel({
  name: 'sigmoid_backward',
  linear: true,
  source: backwardSource,
  params: { count: 'u32', features: 'u32' },
  bindings: {
    dy: { type: 'f32', access: 'read' },
    y: { type: 'f32', access: 'read' },
    dx: { type: 'f32', access: 'read_write' },
  },
  workgroupSize: [64],
  grid: (p) => [p.count],
  lengths: (p) => ({ dy: p.count, y: p.count, dx: p.count }),
  defines: ['SPREADSHEET_DERIVATIVE'],
});
