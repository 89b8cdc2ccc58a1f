/**
 * Optimizer updates with PyTorch's formulas: torch.optim.SGD (momentum, dampening, Nesterov,
 * weight decay) and torch.optim.Adam / AdamW. Each kernel reads the per-step values (learning
 * rate, momentum or β1, bias corrections) from one small `hyper` buffer that is written once per
 * step, so a schedule never re-binds a kernel. Kernels: shaders/sgd_step.wgsl, adam_step.wgsl.
 * CPU reference: src/reference/optimizers.ts.
 */
import { defineKernel } from '../gpu/kernel.js';
import sgdSource from '../../shaders/sgd_step.wgsl?raw';
import adamSource from '../../shaders/adam_step.wgsl?raw';
import healthSource from '../../shaders/lib/health.wgsl?raw';

/** Elements of the `hyper` buffer: SGD reads [lr, momentum, first], Adam [lr, β1, stepSize, √bc2]. */
export const HYPER_LENGTH = 4;

/**
 * param and velocity (the momentum buffer) updated in place; a non-finite gradient is recorded in
 * `health` at `slot` (src/kernels/health.ts)
 */
export const sgdStep = defineKernel({
  name: 'sgd_step',
  linear: true,
  source: sgdSource,
  params: { length: 'u32', dampening: 'f32', weightDecay: 'f32', nesterov: 'u32', slot: 'u32' },
  bindings: {
    hyper: { type: 'f32', access: 'read' },
    grad: { type: 'f32', access: 'read' },
    velocity: { type: 'f32', access: 'read_write' },
    param: { type: 'f32', access: 'read_write' },
    health: { type: 'u32', access: 'read_write' },
  },
  libraries: [healthSource],
  workgroupSize: [256],
  grid: (p) => [p.length],
  lengths: (p) => ({ hyper: 3, grad: p.length, velocity: p.length, param: p.length, health: p.slot + 1 }),
});

/** param, expAvg and expAvgSq updated in place; a non-finite gradient is recorded in `health` at `slot` */
export const adamStep = defineKernel({
  name: 'adam_step',
  linear: true,
  source: adamSource,
  params: { length: 'u32', beta2: 'f32', eps: 'f32', weightDecay: 'f32', decoupled: 'u32', slot: 'u32' },
  bindings: {
    hyper: { type: 'f32', access: 'read' },
    grad: { type: 'f32', access: 'read' },
    expAvg: { type: 'f32', access: 'read_write' },
    expAvgSq: { type: 'f32', access: 'read_write' },
    param: { type: 'f32', access: 'read_write' },
    health: { type: 'u32', access: 'read_write' },
  },
  libraries: [healthSource],
  workgroupSize: [256],
  grid: (p) => [p.length],
  lengths: (p) => ({ hyper: HYPER_LENGTH, grad: p.length, expAvg: p.length, expAvgSq: p.length, param: p.length, health: p.slot + 1 }),
});
