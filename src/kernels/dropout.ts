/**
 * Inverted dropout with masks from the counter-based Philox generator (shaders/lib/philox.wgsl),
 * so a run is reproducible from its seed and a mask never has to come from the CPU.
 * Kernels: shaders/dropout_forward.wgsl, dropout_backward.wgsl. CPU reference: src/reference/random.ts.
 */
import { defineKernel } from '../gpu/kernel.js';
import forwardSource from '../../shaders/dropout_forward.wgsl?raw';
import backwardSource from '../../shaders/dropout_backward.wgsl?raw';
import philoxSource from '../../shaders/lib/philox.wgsl?raw';

/** The dropout kernel's parameters for drop probability p: threshold ⌊p·2³²⌋ and scale 1/(1 − p). */
export function dropoutParams(p: number): { threshold: number; scale: number } {
  if (!(p >= 0 && p < 1)) throw new Error(`dropout: probability ${p} must be in [0, 1)`);
  return { threshold: Math.min(Math.floor(p * 2 ** 32), 2 ** 32 - 1), scale: 1 / (1 - p) };
}

/** mask = keep ? 1/(1 − p) : 0;  y = x · mask  (overwrites mask and y) */
export const dropoutForward = defineKernel({
  name: 'dropout_forward',
  linear: true,
  source: forwardSource,
  libraries: [philoxSource],
  params: { length: 'u32', threshold: 'u32', scale: 'f32', seed: 'u32', stream: 'u32', step: 'u32' },
  bindings: {
    x: { type: 'f32', access: 'read' },
    mask: { type: 'f32', access: 'read_write' },
    y: { type: 'f32', access: 'read_write' },
  },
  workgroupSize: [64],
  grid: (p) => [Math.ceil(p.length / 4)],
  lengths: (p) => ({ x: p.length, mask: p.length, y: p.length }),
});

/** dx = dy · mask  (overwrites dx) */
export const dropoutBackward = defineKernel({
  name: 'dropout_backward',
  linear: true,
  source: backwardSource,
  params: { length: 'u32' },
  defines: ['VEC4'],
  bindings: {
    dy: { type: 'f32', access: 'read', vec4: 'VEC4' },
    mask: { type: 'f32', access: 'read', vec4: 'VEC4' },
    dx: { type: 'f32', access: 'read_write', vec4: 'VEC4' },
  },
  workgroupSize: [256],
  grid: (p) => [Math.ceil(p.length / 4)],
  lengths: (p) => ({ dy: p.length, mask: p.length, dx: p.length }),
});
