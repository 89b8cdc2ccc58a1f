/**
 * GLU (PyTorch's nn.GLU(dim): the split dimension's first half times the sigmoid of its second;
 * src/layers/activations.ts): forward and input gradient from one source (variant BACKWARD).
 * Kernel: shaders/glu.wgsl (σ: shaders/lib/sigmoid.wgsl). CPU reference: src/reference/glu.ts.
 */
import { defineKernel } from '../gpu/kernel.js';
import source from '../../shaders/glu.wgsl?raw';
import sigmoidSource from '../../shaders/lib/sigmoid.wgsl?raw';

/** y = a·σ(b); BACKWARD: dx = [dy·σ(b), dy·a·σ(b)·σ(−b)]  (overwrites y, dx) */
export const glu = defineKernel({
  name: 'glu',
  linear: true,
  source,
  libraries: [sigmoidSource],
  // count: output elements (outer · half · inner); half: the output's size of the split dimension.
  params: { count: 'u32', half: 'u32', inner: 'u32' },
  bindings: {
    x: { type: 'f32', access: 'read' },
    y: { type: 'f32', access: 'read_write', unless: 'BACKWARD' },
    dy: { type: 'f32', access: 'read', only: 'BACKWARD' },
    dx: { type: 'f32', access: 'read_write', only: 'BACKWARD' },
  },
  defines: ['BACKWARD'],
  workgroupSize: [64],
  grid: (p) => [p.count],
  lengths: (p) => ({ x: 2 * p.count, y: p.count, dy: p.count, dx: 2 * p.count }),
});
