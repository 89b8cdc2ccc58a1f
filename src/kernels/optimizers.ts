/**
 * Optimizer updates with PyTorch's formulas: torch.optim.SGD (momentum, dampening, Nesterov,
 * weight decay), torch.optim.Adam / AdamW (and NAdam, RAdam, Adamax: adam_step's variants), torch.optim.RMSprop
 * (momentum, centered), Adagrad and Adadelta. Each kernel reads the per-step values (learning
 * rate, momentum or β1, bias corrections) from one small `hyper` buffer that is written once per
 * step, so a schedule never re-binds a kernel. One dispatch updates a network's parameter arena
 * (src/gpu/arena.ts); `slots` gives each block of ARENA_BLOCK elements the divergence guard's slot
 * of the parameter it holds. Each step clips the gradient first where asked (variants CLIP_NORM, by the
 * factor grad_norm writes: torch.nn.utils.clip_grad_norm_; CLIP_VALUE: clip_grad_value_).
 * Kernels: shaders/sgd_step.wgsl, adam_step.wgsl, rmsprop_step.wgsl, adagrad_step.wgsl, adadelta_step.wgsl, grad_norm.wgsl.
 * CPU reference: src/reference/optimizers.ts.
 */
import { defineKernel, type ParamSpec } from '../gpu/kernel.js';
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

/** The variants every optimizer step has: clip_grad_norm_, clip_grad_value_, param groups' weight decays and learning rates. */
const STEP_DEFINES = ['CLIP_NORM', 'CLIP_VALUE', 'GROUP_DECAY', 'GROUP_LR'] as const;

/** The fields of `struct Params` every step has, around its own (the host's values: src/optim/optimizers.ts, sgdKernelParams and the others). */
type StepParams<P extends ParamSpec> = { readonly length: 'u32' } & P & { readonly weightDecay: 'f32'; readonly clipValue: 'f32'; readonly decayAt: 'u32'; readonly groupLrs: 'u32' };

/** A state tensor: f32, one element a parameter element, updated in place. */
const STATE = { type: 'f32', access: 'read_write' } as const;
type StateBinding = typeof STATE;

/** The bindings every step has, around its own state tensors (S; V: those of one variant only). */
type StepBindings<S extends string, V extends string> = {
  readonly hyper: { readonly type: 'f32'; readonly access: 'read' };
  readonly grad: { readonly type: 'f32'; readonly access: 'read' };
} & { readonly [K in S]: StateBinding } & {
  readonly param: StateBinding;
  readonly health: { readonly type: 'u32'; readonly access: 'read_write' };
  readonly slots: { readonly type: 'u32'; readonly access: 'read' };
} & { readonly [K in V]: StateBinding & { readonly only: string } };

interface StepSpec<P extends ParamSpec, S extends string, V extends string, D extends string> {
  /** Kernel name: the WGSL file stem and entry point. */
  readonly name: string;
  readonly source: string;
  /** The step's own fields of `struct Params`, between `length` and weightDecay, clipValue, decayAt, groupLrs. */
  readonly params: P;
  /** Its state tensors, in binding order between grad and param. */
  readonly states: readonly S[];
  /** State tensors of one variant only, bound after slots: each name's variant. */
  readonly variantStates?: { readonly [K in V]: D };
  /** Its own variants, after STEP_DEFINES. */
  readonly defines?: readonly D[];
}

/**
 * An optimizer step's declaration: what every step shares (the 1-D grid of one invocation an
 * element, the bindings hyper, grad, param, health and slots around the step's own states, the
 * common parameters and variants, the libraries health.wgsl and optimizer_gradient.wgsl with
 * their constants, and each binding's length) from here, the step's own from `spec`. A non-finite
 * gradient, state or update of element i is recorded in `health` at slots[i / ARENA_BLOCK]
 * (src/kernels/health.ts).
 */
function defineOptimizerKernel<P extends ParamSpec, S extends string, V extends string = never, D extends string = never>(spec: StepSpec<P, S, V, D>) {
  const variantStates = Object.entries(spec.variantStates ?? {}) as [V, D][];
  const states: string[] = [...spec.states, ...variantStates.map(([name]) => name)];
  return defineKernel({
    name: spec.name,
    linear: true,
    source: spec.source,
    params: { length: 'u32', ...spec.params, weightDecay: 'f32', clipValue: 'f32', decayAt: 'u32', groupLrs: 'u32' } as StepParams<P>,
    bindings: {
      hyper: { type: 'f32', access: 'read' },
      grad: { type: 'f32', access: 'read' },
      ...Object.fromEntries(spec.states.map((name) => [name, STATE])),
      param: STATE,
      health: { type: 'u32', access: 'read_write' },
      /** Each block's guard slot; with GROUP_DECAY each parameter's weight decay after them (f32 bits, from decayAt). */
      slots: { type: 'u32', access: 'read' },
      ...Object.fromEntries(variantStates.map(([name, variant]) => [name, { ...STATE, only: variant }])),
    } as StepBindings<S, V>,
    defines: [...STEP_DEFINES, ...(spec.defines ?? [])],
    libraries: [healthSource, gradientSource],
    constants: { SLOT_BLOCK: ARENA_BLOCK, PARAM_SLOT0: HEALTH_SLOTS.parameters, CLIP_AT, HYPER_LENGTH },
    workgroupSize: [256],
    grid: (p) => [p.length],
    lengths: (p) =>
      ({
        hyper: HYPER_LENGTH + 2 * p.groupLrs,
        grad: p.length,
        param: p.length,
        health: HEALTH_SLOTS.parameters + 1,
        slots: Math.max(slotBlocks(p.length), p.decayAt + 1),
        ...Object.fromEntries(states.map((name) => [name, p.length])),
      }) as { readonly [K in keyof StepBindings<S, V>]: number },
  });
}

/** SGD: param and velocity (the momentum buffer) updated in place. */
export const sgdStep = defineOptimizerKernel({
  name: 'sgd_step',
  source: sgdSource,
  // 1 − dampening (and Adam's 1 − β2) from the host in float64, as PyTorch's alpha=1 − dampening.
  params: { oneMinusDampening: 'f32', nesterov: 'u32' },
  states: ['velocity'],
});

/**
 * param, expAvg and expAvgSq updated in place (Adam, AdamW; variants NADAM, RADAM and ADAMAX: PyTorch ≥ 2.0's
 * NAdam, 1.13's RAdam and Adamax (expAvgSq: its exp_inf), whose per-step values `hyper` holds; AMSGRAD: Adam's only,
 * binding maxExpAvgSq, the running maximum of exp_avg_sq)
 */
export const adamStep = defineOptimizerKernel({
  name: 'adam_step',
  source: adamSource,
  params: { beta2: 'f32', oneMinusBeta2: 'f32', eps: 'f32', decoupled: 'u32' },
  states: ['expAvg', 'expAvgSq'],
  variantStates: { maxExpAvgSq: 'AMSGRAD' },
  defines: ['AMSGRAD', 'NADAM', 'RADAM', 'ADAMAX'],
});

/** param and sum (the squared gradients' sum) updated in place */
export const adagradStep = defineOptimizerKernel({
  name: 'adagrad_step',
  source: adagradSource,
  params: { eps: 'f32' },
  states: ['sum'],
});

/** param, squareAvg and accDelta (PyTorch 1.13's Adadelta: square_avg, acc_delta) updated in place */
export const adadeltaStep = defineOptimizerKernel({
  name: 'adadelta_step',
  source: adadeltaSource,
  // 1 − ρ from the host in float64, as PyTorch's value=1 − rho.
  params: { rho: 'f32', oneMinusRho: 'f32', eps: 'f32' },
  states: ['squareAvg', 'accDelta'],
});

/** param, squareAvg (and momentumBuffer: MOMENTUM; gradAvg: CENTERED) updated in place */
export const rmspropStep = defineOptimizerKernel({
  name: 'rmsprop_step',
  source: rmspropSource,
  params: { alpha: 'f32', oneMinusAlpha: 'f32', eps: 'f32' },
  states: ['squareAvg'],
  variantStates: { momentumBuffer: 'MOMENTUM', gradAvg: 'CENTERED' },
  defines: ['MOMENTUM', 'CENTERED'],
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
