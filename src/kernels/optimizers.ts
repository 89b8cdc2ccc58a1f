/**
 * Optimizer updates with PyTorch's formulas: torch.optim.SGD (momentum, dampening, Nesterov,
 * weight decay), torch.optim.Adam / AdamW (and NAdam, RAdam, Adamax: adam_step's variants), torch.optim.RMSprop
 * (momentum, centered), Adagrad and Adadelta. Each kernel reads the per-step values (learning
 * rate, momentum or β1, bias corrections) from one small `hyper` buffer that is written once per
 * step, so a schedule never re-binds a kernel. One dispatch updates a network's parameter arena
 * (src/gpu/arena.ts); `slots` gives each block of ARENA_BLOCK elements the divergence guard's slot
 * of the parameter it holds. Both clip the gradient first where asked (variants CLIP_NORM, by the
 * factor grad_norm writes: torch.nn.utils.clip_grad_norm_; CLIP_VALUE: clip_grad_value_).
 * Kernels: shaders/sgd_step.wgsl, adam_step.wgsl, rmsprop_step.wgsl, adagrad_step.wgsl, adadelta_step.wgsl, grad_norm.wgsl.
 * CPU reference: src/reference/optimizers.ts.
 */
import { defineKernel } from '../gpu/kernel.js';
import sgdSource from '../../shaders/sgd_step.wgsl?raw';
import adamSource from '../../shaders/adam_step.wgsl?raw';
import rmspropSource from '../../shaders/rmsprop_step.wgsl?raw';
import adagradSource from '../../shaders/adagrad_step.wgsl?raw';
import adadeltaSource from '../../shaders/adadelta_step.wgsl?raw';
import gradNormSource from '../../shaders/grad_norm.wgsl?raw';
import healthSource from '../../shaders/lib/health.wgsl?raw';
import gradientSource from '../../shaders/lib/optimizer_gradient.wgsl?raw';
import { ARENA_BLOCK } from '../gpu/arena.js';
import { HEALTH_SLOTS } from './health.js';

/**
 * Elements of the `hyper` buffer: SGD reads [lr, momentum, first], Adam [lr, β1, stepSize, √bc2,
 * 1 − β1] (NAdam, RAdam, Adamax, Adagrad and Adadelta theirs: src/optim/optimizers.ts, hyperValues), written by the host each step; then clip_grad_norm_'s [factor, norm] at CLIP_AT, written
 * by gradNorm (so that clipping takes no storage binding of its own: WebGPU's default is 8 a stage).
 * With param groups' own learning rates (variant GROUP_LR), each parameter's [lr, stepSize] follow
 * from HYPER_LENGTH on (`groupLrs` parameters), written by the host each step too.
 */
export const HYPER_LENGTH = 7;
export const CLIP_AT = 5;

/** Entries of `slots` for `length` elements: one per block of ARENA_BLOCK. */
export const slotBlocks = (length: number) => Math.ceil(length / ARENA_BLOCK);

/**
 * param and velocity (the momentum buffer) updated in place; a non-finite gradient of element i is
 * recorded in `health` at slots[i / ARENA_BLOCK] (src/kernels/health.ts)
 */
export const sgdStep = defineKernel({
  name: 'sgd_step',
  linear: true,
  source: sgdSource,
  // 1 − dampening (and Adam's 1 − β2) from the host in float64, as PyTorch's alpha=1 − dampening.
  params: { length: 'u32', oneMinusDampening: 'f32', weightDecay: 'f32', nesterov: 'u32', clipValue: 'f32', decayAt: 'u32', groupLrs: 'u32' },
  bindings: {
    hyper: { type: 'f32', access: 'read' },
    grad: { type: 'f32', access: 'read' },
    velocity: { type: 'f32', access: 'read_write' },
    param: { type: 'f32', access: 'read_write' },
    health: { type: 'u32', access: 'read_write' },
    /** Each block's guard slot; with GROUP_DECAY each parameter's weight decay after them (f32 bits, from decayAt). */
    slots: { type: 'u32', access: 'read' },
  },
  defines: ['CLIP_NORM', 'CLIP_VALUE', 'GROUP_DECAY', 'GROUP_LR'],
  libraries: [healthSource, gradientSource],
  constants: { SLOT_BLOCK: ARENA_BLOCK, PARAM_SLOT0: HEALTH_SLOTS.parameters, CLIP_AT, HYPER_LENGTH },
  workgroupSize: [256],
  grid: (p) => [p.length],
  lengths: (p) => ({ hyper: HYPER_LENGTH + 2 * p.groupLrs, grad: p.length, velocity: p.length, param: p.length, health: HEALTH_SLOTS.parameters + 1, slots: Math.max(slotBlocks(p.length), p.decayAt + 1) }),
});

/**
 * param, expAvg and expAvgSq updated in place (Adam, AdamW; variants NADAM, RADAM and ADAMAX: PyTorch ≥ 2.0's
 * NAdam, 1.13's RAdam and Adamax (expAvgSq: its exp_inf), whose per-step values `hyper` holds; AMSGRAD: Adam's only); a non-finite gradient
 * is recorded in `health` as sgdStep's
 */
export const adamStep = defineKernel({
  name: 'adam_step',
  linear: true,
  source: adamSource,
  params: { length: 'u32', beta2: 'f32', oneMinusBeta2: 'f32', eps: 'f32', weightDecay: 'f32', decoupled: 'u32', clipValue: 'f32', decayAt: 'u32', groupLrs: 'u32' },
  bindings: {
    hyper: { type: 'f32', access: 'read' },
    grad: { type: 'f32', access: 'read' },
    expAvg: { type: 'f32', access: 'read_write' },
    expAvgSq: { type: 'f32', access: 'read_write' },
    param: { type: 'f32', access: 'read_write' },
    health: { type: 'u32', access: 'read_write' },
    /** Each block's guard slot; with GROUP_DECAY each parameter's weight decay after them (f32 bits, from decayAt). */
    slots: { type: 'u32', access: 'read' },
    /** AMSGrad's running maximum of exp_avg_sq. */
    maxExpAvgSq: { type: 'f32', access: 'read_write', only: 'AMSGRAD' },
  },
  defines: ['CLIP_NORM', 'CLIP_VALUE', 'AMSGRAD', 'GROUP_DECAY', 'GROUP_LR', 'NADAM', 'RADAM', 'ADAMAX'],
  libraries: [healthSource, gradientSource],
  constants: { SLOT_BLOCK: ARENA_BLOCK, PARAM_SLOT0: HEALTH_SLOTS.parameters, CLIP_AT, HYPER_LENGTH },
  workgroupSize: [256],
  grid: (p) => [p.length],
  lengths: (p) => ({ hyper: HYPER_LENGTH + 2 * p.groupLrs, grad: p.length, expAvg: p.length, expAvgSq: p.length, param: p.length, health: HEALTH_SLOTS.parameters + 1, slots: Math.max(slotBlocks(p.length), p.decayAt + 1), maxExpAvgSq: p.length }),
});

/** param and sum (the squared gradients' sum) updated in place; a non-finite gradient is recorded in `health` as sgdStep's */
export const adagradStep = defineKernel({
  name: 'adagrad_step',
  linear: true,
  source: adagradSource,
  params: { length: 'u32', eps: 'f32', weightDecay: 'f32', clipValue: 'f32', decayAt: 'u32', groupLrs: 'u32' },
  bindings: {
    hyper: { type: 'f32', access: 'read' },
    grad: { type: 'f32', access: 'read' },
    sum: { type: 'f32', access: 'read_write' },
    param: { type: 'f32', access: 'read_write' },
    health: { type: 'u32', access: 'read_write' },
    /** Each block's guard slot; with GROUP_DECAY each parameter's weight decay after them (f32 bits, from decayAt). */
    slots: { type: 'u32', access: 'read' },
  },
  defines: ['CLIP_NORM', 'CLIP_VALUE', 'GROUP_DECAY', 'GROUP_LR'],
  libraries: [healthSource, gradientSource],
  constants: { SLOT_BLOCK: ARENA_BLOCK, PARAM_SLOT0: HEALTH_SLOTS.parameters, CLIP_AT, HYPER_LENGTH },
  workgroupSize: [256],
  grid: (p) => [p.length],
  lengths: (p) => ({ hyper: HYPER_LENGTH + 2 * p.groupLrs, grad: p.length, sum: p.length, param: p.length, health: HEALTH_SLOTS.parameters + 1, slots: Math.max(slotBlocks(p.length), p.decayAt + 1) }),
});

/**
 * param, squareAvg and accDelta (PyTorch 1.13's Adadelta: square_avg, acc_delta) updated in place;
 * a non-finite gradient is recorded in `health` as sgdStep's
 */
export const adadeltaStep = defineKernel({
  name: 'adadelta_step',
  linear: true,
  source: adadeltaSource,
  // 1 − ρ from the host in float64, as PyTorch's value=1 − rho.
  params: { length: 'u32', rho: 'f32', oneMinusRho: 'f32', eps: 'f32', weightDecay: 'f32', clipValue: 'f32', decayAt: 'u32', groupLrs: 'u32' },
  bindings: {
    hyper: { type: 'f32', access: 'read' },
    grad: { type: 'f32', access: 'read' },
    squareAvg: { type: 'f32', access: 'read_write' },
    accDelta: { type: 'f32', access: 'read_write' },
    param: { type: 'f32', access: 'read_write' },
    health: { type: 'u32', access: 'read_write' },
    /** Each block's guard slot; with GROUP_DECAY each parameter's weight decay after them (f32 bits, from decayAt). */
    slots: { type: 'u32', access: 'read' },
  },
  defines: ['CLIP_NORM', 'CLIP_VALUE', 'GROUP_DECAY', 'GROUP_LR'],
  libraries: [healthSource, gradientSource],
  constants: { SLOT_BLOCK: ARENA_BLOCK, PARAM_SLOT0: HEALTH_SLOTS.parameters, CLIP_AT, HYPER_LENGTH },
  workgroupSize: [256],
  grid: (p) => [p.length],
  lengths: (p) => ({ hyper: HYPER_LENGTH + 2 * p.groupLrs, grad: p.length, squareAvg: p.length, accDelta: p.length, param: p.length, health: HEALTH_SLOTS.parameters + 1, slots: Math.max(slotBlocks(p.length), p.decayAt + 1) }),
});

/** param, squareAvg (and momentumBuffer: MOMENTUM; gradAvg: CENTERED) updated in place; a non-finite gradient is recorded in `health` as sgdStep's */
export const rmspropStep = defineKernel({
  name: 'rmsprop_step',
  linear: true,
  source: rmspropSource,
  params: { length: 'u32', alpha: 'f32', oneMinusAlpha: 'f32', eps: 'f32', weightDecay: 'f32', clipValue: 'f32', decayAt: 'u32', groupLrs: 'u32' },
  bindings: {
    hyper: { type: 'f32', access: 'read' },
    grad: { type: 'f32', access: 'read' },
    squareAvg: { type: 'f32', access: 'read_write' },
    param: { type: 'f32', access: 'read_write' },
    health: { type: 'u32', access: 'read_write' },
    /** Each block's guard slot; with GROUP_DECAY each parameter's weight decay after them (f32 bits, from decayAt). */
    slots: { type: 'u32', access: 'read' },
    momentumBuffer: { type: 'f32', access: 'read_write', only: 'MOMENTUM' },
    gradAvg: { type: 'f32', access: 'read_write', only: 'CENTERED' },
  },
  defines: ['CLIP_NORM', 'CLIP_VALUE', 'GROUP_DECAY', 'GROUP_LR', 'MOMENTUM', 'CENTERED'],
  libraries: [healthSource, gradientSource],
  constants: { SLOT_BLOCK: ARENA_BLOCK, PARAM_SLOT0: HEALTH_SLOTS.parameters, CLIP_AT, HYPER_LENGTH },
  workgroupSize: [256],
  grid: (p) => [p.length],
  lengths: (p) => ({ hyper: HYPER_LENGTH + 2 * p.groupLrs, grad: p.length, squareAvg: p.length, param: p.length, health: HEALTH_SLOTS.parameters + 1, slots: Math.max(slotBlocks(p.length), p.decayAt + 1), momentumBuffer: p.length, gradAvg: p.length }),
});

/** Elements one workgroup of gradNorm's partial pass reduces to one partial. */
export const GRAD_NORM_CHUNK = 4096;

/** Partials of gradNorm's first pass over `length` gradients (the finishing pass's `length`). */
export const gradNormPartials = (length: number) => Math.ceil(length / GRAD_NORM_CHUNK);

/**
 * The gradients' total norm and clip_grad_norm_'s factor, two dispatches: x = the gradients,
 * y = the partials (length: the gradients' count, finish 0); then x = the partials, y[at] = the
 * factor, y[at + 1] = the norm (length: the partials' count, finish 1; one workgroup; a network
 * binds its `hyper` buffer as y, at CLIP_AT). Variants L1 and INF for norm_type 1 and inf; else the 2-norm.
 */
export const gradNorm = defineKernel({
  name: 'grad_norm',
  source: gradNormSource,
  // fold: the partial pass's workgroups a row (the device's maxComputeWorkgroupsPerDimension): past
  // it (over 268 M gradients at WebGPU's 65,535) the chunks continue on the next row.
  params: { length: 'u32', maxNorm: 'f32', finish: 'u32', at: 'u32', fold: 'u32' },
  bindings: {
    x: { type: 'f32', access: 'read' },
    y: { type: 'f32', access: 'read_write' },
  },
  defines: ['L1', 'INF'],
  constants: { CHUNK: GRAD_NORM_CHUNK },
  workgroupSize: [256],
  // One workgroup a CHUNK in the partial pass (rows of `fold`); one for all the partials in the finishing pass.
  grid: (p, [wg]) => (p.finish ? [wg] : [Math.min(gradNormPartials(p.length), p.fold) * wg, Math.ceil(gradNormPartials(p.length) / p.fold)]),
  lengths: (p) => ({ x: p.length, y: p.finish ? p.at + 2 : gradNormPartials(p.length) }),
});
