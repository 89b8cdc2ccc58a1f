/**
 * Half squared error loss, mean over the batch: loss = (1/B) Σ_b Σ_j ½ (t − a)².
 * Kernel: shaders/half_squared_error.wgsl. CPU reference: src/reference/loss.ts.
 */
import { defineKernel } from '../gpu/kernel.js';
import source from '../../shaders/half_squared_error.wgsl?raw';

/** terms = ½(t − a)², grad = (a − t)/B, loss[0] = Σ terms / B  (all overwritten) */
export const halfSquaredError = defineKernel({
  name: 'half_squared_error',
  source,
  params: { batch: 'u32', features: 'u32' },
  bindings: {
    prediction: { type: 'f32', access: 'read' },
    targets: { type: 'f32', access: 'read' },
    terms: { type: 'f32', access: 'read_write' },
    grad: { type: 'f32', access: 'read_write' },
    loss: { type: 'f32', access: 'read_write' },
  },
  workgroupSize: [64],
  // One workgroup reduces everything.
  grid: (_p, wg) => [wg[0]],
  lengths: (p) => {
    const n = p.batch * p.features;
    return { prediction: n, targets: n, terms: n, grad: n, loss: 1 };
  },
});
