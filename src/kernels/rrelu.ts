/**
 * RReLU in training (PyTorch's nn.RReLU: a random negative slope per element from U(lower, upper),
 * drawn from the counter-based Philox generator, so the backward pass draws the same slopes again
 * and nothing is kept between the passes): forward and input gradient from one source (variant
 * BACKWARD). Eval is LeakyReLU's kernel (src/kernels/activation.ts) with the mean slope.
 * Kernel: shaders/rrelu.wgsl. CPU reference: src/reference/rrelu.ts.
 */
import { defineKernel } from '../gpu/kernel.js';
import source from '../../shaders/rrelu.wgsl?raw';
import philoxSource from '../../shaders/lib/philox.wgsl?raw';

/** y = x > 0 ? x : r·x; BACKWARD: dx = x > 0 ? dy : r·dy, r = lower + (upper − lower)·u(i)  (overwrites y, dx) */
export const rrelu = defineKernel({
  name: 'rrelu',
  linear: true,
  source,
  libraries: [philoxSource],
  params: { count: 'u32', lower: 'f32', upper: 'f32', seed: 'u32', stream: 'u32', step: 'u32' },
  bindings: {
    x: { type: 'f32', access: 'read' },
    y: { type: 'f32', access: 'read_write', unless: 'BACKWARD' },
    dy: { type: 'f32', access: 'read', only: 'BACKWARD' },
    dx: { type: 'f32', access: 'read_write', only: 'BACKWARD' },
  },
  defines: ['BACKWARD'],
  workgroupSize: [64],
  grid: (p) => [Math.ceil(p.count / 4)],
  lengths: (p) => ({ x: p.count, y: p.count, dy: p.count, dx: p.count }),
});
