/**
 * Optimizers as configuration, with PyTorch's names, defaults and update formulas (the kernels:
 * src/kernels/optimizers.ts; the float64 reference: src/reference/optimizers.ts). The learning
 * rate (and SGD's momentum or Adam's β1, which OneCycleLR cycles) come from a schedule each step
 * and reach the kernels through one small buffer (`hyperValues`).
 */
import { checkSchedule, type Schedule } from './schedules.js';
import { checkOptions, trueOrFalse } from '../layers/layer.js';
import type { Clipping } from './clipping.js';

/**
 * Parameters with a learning rate or weight decay of their own, as PyTorch's param_groups
 * ([{ params, lr, weight_decay }]): the usual `no_decay` group of biases and normalisation weights is
 * `{ params: (name, shape) => shape.length === 1, weightDecay: 0 }`, a head trained faster
 * `{ params: ['fc.weight', 'fc.bias'], lr: 0.1 }`. What a group leaves out, and every parameter in
 * no group, takes the optimizer's. A schedule scales each group's rate from the group's own, as
 * PyTorch's schedulers keep a base_lr a group (CosineAnnealingLR's eta_min shared); OneCycleLR (whose
 * max_lr sets every group's rate, as PyTorch's scalar max_lr) and ReduceLROnPlateau with a group's
 * own rate are refused. (A group's own betas, momentum or other settings: refused.)
 */
export interface ParamGroup {
  /** The parameters: state_dict names (`'fc.bias'`), or a test of each parameter's name and shape. */
  readonly params: readonly string[] | ((name: string, shape: readonly number[]) => boolean);
  readonly weightDecay?: number;
  readonly lr?: number;
}

export interface SgdOptions {
  readonly lr?: number;
  readonly momentum?: number;
  readonly dampening?: number;
  readonly weightDecay?: number;
  readonly nesterov?: boolean;
  readonly paramGroups?: readonly ParamGroup[];
}

export interface AdamOptions {
  readonly lr?: number;
  readonly betas?: readonly [number, number];
  readonly eps?: number;
  readonly weightDecay?: number;
  readonly paramGroups?: readonly ParamGroup[];
  /** AMSGrad: the step divides by the running maximum of exp_avg_sq (kept as max_exp_avg_sq), as PyTorch's amsgrad=True. */
  readonly amsgrad?: boolean;
}

/** Param groups checked as PyTorch's optimizer checks them (each a params list or test, and a learning rate and weight decay ≥ 0 where given). */
function checkGroups(name: string, groups: unknown, schedule: Schedule): readonly ParamGroup[] {
  if (groups === undefined) return [];
  if (!Array.isArray(groups)) throw new TypeError(`${name}: paramGroups must be a list of { params, lr, weightDecay }, got ${JSON.stringify(groups)}`);
  return groups.map((g: unknown, k) => {
    if (typeof g !== 'object' || g === null) throw new TypeError(`${name}: paramGroups[${k}] must be { params, lr, weightDecay }, got ${JSON.stringify(g)}`);
    const extra = Object.keys(g).find((key) => key !== 'params' && key !== 'weightDecay' && key !== 'lr');
    if (extra !== undefined) {
      throw new RangeError(`${name}: paramGroups[${k}] has '${extra}'; a group takes params, lr and weightDecay (its own ${extra === 'weight_decay' ? 'weight_decay is weightDecay here' : `${extra} is not supported`})`);
    }
    const { params, weightDecay, lr } = g as { params?: unknown; weightDecay?: unknown; lr?: unknown };
    const list = Array.isArray(params) && params.every((p) => typeof p === 'string');
    if (!list && typeof params !== 'function') throw new TypeError(`${name}: paramGroups[${k}].params must be a list of parameter names or a function (name, shape) => boolean, got ${JSON.stringify(params)}`);
    if (weightDecay !== undefined) check(name, `paramGroups[${k}].weight_decay`, weightDecay as number, 0, Infinity);
    if (lr !== undefined) {
      check(name, `paramGroups[${k}].lr`, lr as number, 0, Infinity);
      if (schedule.kind === 'onecycle') throw new RangeError(`${name}: paramGroups[${k}] has a learning rate of its own, but OneCycleLR's max_lr sets every group's rate (PyTorch's scalar max_lr overrides the groups' lr); leave the group's lr out, or use another schedule`);
      if (schedule.kind === 'plateau') throw new RangeError(`${name}: paramGroups[${k}] has a learning rate of its own, which ReduceLROnPlateau here does not keep apart (one rate for all groups); leave the group's lr out, or use another schedule`);
    }
    return g as ParamGroup;
  });
}

function check(name: string, field: string, value: number, min: number, max: number, maxIncluded = true): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || !(value >= min && (maxIncluded ? value <= max : value < max))) {
    throw new RangeError(`${name}: ${field} must be ${max === Infinity ? `a finite number ≥ ${min}` : `in [${min}, ${max}${maxIncluded ? ']' : ')'}`}, got ${typeof value === 'number' ? String(value) : JSON.stringify(value)}`);
  }
  return value;
}

export class SGD {
  readonly kind = 'sgd';
  readonly lr: number;
  readonly momentum: number;
  readonly dampening: number;
  readonly weightDecay: number;
  readonly nesterov: boolean;
  /** Parameters with a learning rate or weight decay of their own (the rest take lr and weightDecay). */
  readonly paramGroups: readonly ParamGroup[];
  /** The optimizer state per parameter, PyTorch's names. */
  readonly stateNames = ['momentum_buffer'] as const;

  constructor(options: SgdOptions = {}, readonly schedule: Schedule = { kind: 'constant' }) {
    checkOptions('SGD', options, ['lr', 'momentum', 'dampening', 'weightDecay', 'nesterov', 'paramGroups']);
    checkSchedule(schedule);
    this.paramGroups = checkGroups('SGD', options.paramGroups, schedule);
    // PyTorch 2's default (1.13 required one); the seed CNN's 0.01 is given where it is built.
    this.lr = check('SGD', 'lr', options.lr ?? 1e-3, 0, Infinity);
    this.momentum = check('SGD', 'momentum', options.momentum ?? 0, 0, 1);
    this.dampening = check('SGD', 'dampening', options.dampening ?? 0, 0, 1);
    this.weightDecay = check('SGD', 'weight_decay', options.weightDecay ?? 0, 0, Infinity);
    this.nesterov = trueOrFalse('SGD', 'nesterov', options.nesterov, false);
    if (this.nesterov && (this.momentum <= 0 || this.dampening !== 0)) throw new RangeError('SGD: Nesterov momentum requires a momentum and zero dampening (as PyTorch)');
  }

  describe(): string {
    return `SGD lr ${this.lr}, momentum ${this.momentum}${this.dampening ? `, dampening ${this.dampening}` : ''}${this.weightDecay ? `, weight decay ${this.weightDecay}` : ''}${this.nesterov ? ', Nesterov' : ''}${describeGroups(this.paramGroups)}`;
  }
}

export class Adam {
  readonly lr: number;
  readonly betas: readonly [number, number];
  readonly eps: number;
  readonly weightDecay: number;
  readonly amsgrad: boolean;
  /** Parameters with a learning rate or weight decay of their own (the rest take lr and weightDecay). */
  readonly paramGroups: readonly ParamGroup[];
  /** The optimizer state per parameter, PyTorch's names (AMSGrad's max_exp_avg_sq besides). */
  readonly stateNames: readonly ('exp_avg' | 'exp_avg_sq' | 'max_exp_avg_sq')[];

  constructor(
    options: AdamOptions = {},
    readonly schedule: Schedule = { kind: 'constant' },
    /** AdamW: weight decay applied to the parameter, not added to the gradient. */
    readonly kind: 'adam' | 'adamw' = 'adam',
  ) {
    const name = kind === 'adamw' ? 'AdamW' : 'Adam';
    checkOptions(name, options, ['lr', 'betas', 'eps', 'weightDecay', 'amsgrad', 'paramGroups']);
    checkSchedule(schedule);
    this.paramGroups = checkGroups(name, options.paramGroups, schedule);
    this.lr = check(name, 'lr', options.lr ?? 1e-3, 0, Infinity);
    if (options.betas !== undefined && (!Array.isArray(options.betas) || options.betas.length !== 2)) throw new RangeError(`${name}: betas must be two numbers [β1, β2], got ${JSON.stringify(options.betas)}`);
    const [b1, b2] = options.betas ?? [0.9, 0.999];
    this.betas = [check(name, 'betas[0]', b1, 0, 1, false), check(name, 'betas[1]', b2, 0, 1, false)];
    this.eps = check(name, 'eps', options.eps ?? 1e-8, 0, Infinity);
    this.weightDecay = check(name, 'weight_decay', options.weightDecay ?? (kind === 'adamw' ? 1e-2 : 0), 0, Infinity);
    this.amsgrad = trueOrFalse(name, 'amsgrad', options.amsgrad, false);
    this.stateNames = this.amsgrad ? ['exp_avg', 'exp_avg_sq', 'max_exp_avg_sq'] : ['exp_avg', 'exp_avg_sq'];
  }

  describe(): string {
    return `${this.kind === 'adamw' ? 'AdamW' : 'Adam'} lr ${this.lr}, betas (${this.betas.join(', ')}), eps ${this.eps}, weight decay ${this.weightDecay}${this.amsgrad ? ', AMSGrad' : ''}${describeGroups(this.paramGroups)}`;
  }
}

export interface RmspropOptions {
  readonly lr?: number;
  readonly alpha?: number;
  readonly eps?: number;
  readonly weightDecay?: number;
  readonly momentum?: number;
  readonly centered?: boolean;
  readonly paramGroups?: readonly ParamGroup[];
}

/**
 * torch.optim.RMSprop: square_avg ← α·square_avg + (1 − α)·g²; the step divides g by
 * √square_avg + eps (centered: √(square_avg − grad_avg²) + eps, grad_avg the gradients' running
 * mean), through a momentum buffer where momentum > 0. PyTorch's defaults (lr 0.01, α 0.99, eps
 * 1e-8).
 */
export class RMSprop {
  readonly kind = 'rmsprop';
  readonly lr: number;
  readonly alpha: number;
  readonly eps: number;
  readonly weightDecay: number;
  readonly momentum: number;
  readonly centered: boolean;
  /** Parameters with a learning rate or weight decay of their own (the rest take lr and weightDecay). */
  readonly paramGroups: readonly ParamGroup[];
  /**
   * The optimizer state per parameter, PyTorch's names: square_avg, and momentum_buffer where
   * momentum is used (given, or cycled by OneCycleLR), grad_avg where centered.
   */
  readonly stateNames: readonly ('square_avg' | 'momentum_buffer' | 'grad_avg')[];

  constructor(options: RmspropOptions = {}, readonly schedule: Schedule = { kind: 'constant' }) {
    checkOptions('RMSprop', options, ['lr', 'alpha', 'eps', 'weightDecay', 'momentum', 'centered', 'paramGroups']);
    checkSchedule(schedule);
    this.paramGroups = checkGroups('RMSprop', options.paramGroups, schedule);
    this.lr = check('RMSprop', 'lr', options.lr ?? 1e-2, 0, Infinity);
    this.alpha = check('RMSprop', 'alpha', options.alpha ?? 0.99, 0, 1);
    this.eps = check('RMSprop', 'eps', options.eps ?? 1e-8, 0, Infinity);
    this.weightDecay = check('RMSprop', 'weight_decay', options.weightDecay ?? 0, 0, Infinity);
    this.momentum = check('RMSprop', 'momentum', options.momentum ?? 0, 0, 1);
    this.centered = trueOrFalse('RMSprop', 'centered', options.centered, false);
    // OneCycleLR cycles RMSprop's momentum (PyTorch's cycle_momentum, on by default): the buffer is needed then too.
    const cycled = schedule.kind === 'onecycle' && schedule.cycleMomentum !== false;
    this.stateNames = ['square_avg', ...(this.momentum > 0 || cycled ? (['momentum_buffer'] as const) : []), ...(this.centered ? (['grad_avg'] as const) : [])];
  }

  describe(): string {
    return `RMSprop lr ${this.lr}, alpha ${this.alpha}, eps ${this.eps}${this.weightDecay ? `, weight decay ${this.weightDecay}` : ''}${this.momentum ? `, momentum ${this.momentum}` : ''}${this.centered ? ', centered' : ''}${describeGroups(this.paramGroups)}`;
  }
}

export interface AdagradOptions {
  readonly lr?: number;
  readonly lrDecay?: number;
  readonly weightDecay?: number;
  readonly initialAccumulatorValue?: number;
  readonly eps?: number;
  readonly paramGroups?: readonly ParamGroup[];
}

/**
 * torch.optim.Adagrad: sum ← sum + g²; the step divides g by √sum + eps, at the rate
 * lr / (1 + (step − 1)·lr_decay). PyTorch's defaults (lr 0.01, lr_decay 0, eps 1e-10, the sum
 * starting at initial_accumulator_value 0). It has no momentum: OneCycleLR must not cycle one
 * (PyTorch raises where cycle_momentum is on).
 */
export class Adagrad {
  readonly kind = 'adagrad';
  readonly lr: number;
  readonly lrDecay: number;
  readonly weightDecay: number;
  readonly initialAccumulatorValue: number;
  readonly eps: number;
  /** Parameters with a learning rate or weight decay of their own (the rest take lr and weightDecay). */
  readonly paramGroups: readonly ParamGroup[];
  /** The optimizer state per parameter, PyTorch's name: the squared gradients' running sum. */
  readonly stateNames = ['sum'] as const;

  constructor(options: AdagradOptions = {}, readonly schedule: Schedule = { kind: 'constant' }) {
    checkOptions('Adagrad', options, ['lr', 'lrDecay', 'weightDecay', 'initialAccumulatorValue', 'eps', 'paramGroups']);
    checkSchedule(schedule);
    if (schedule.kind === 'onecycle' && schedule.cycleMomentum !== false) {
      throw new RangeError('Adagrad: OneCycleLR cycles a momentum, and Adagrad has none (PyTorch 1.13: "optimizer must support momentum with `cycle_momentum` option enabled"); give the schedule cycleMomentum: false');
    }
    this.paramGroups = checkGroups('Adagrad', options.paramGroups, schedule);
    this.lr = check('Adagrad', 'lr', options.lr ?? 1e-2, 0, Infinity);
    this.lrDecay = check('Adagrad', 'lr_decay', options.lrDecay ?? 0, 0, Infinity);
    this.weightDecay = check('Adagrad', 'weight_decay', options.weightDecay ?? 0, 0, Infinity);
    this.initialAccumulatorValue = check('Adagrad', 'initial_accumulator_value', options.initialAccumulatorValue ?? 0, 0, Infinity);
    this.eps = check('Adagrad', 'eps', options.eps ?? 1e-10, 0, Infinity);
  }

  describe(): string {
    return `Adagrad lr ${this.lr}${this.lrDecay ? `, lr decay ${this.lrDecay}` : ''}, eps ${this.eps}${this.weightDecay ? `, weight decay ${this.weightDecay}` : ''}${this.initialAccumulatorValue ? `, initial accumulator ${this.initialAccumulatorValue}` : ''}${describeGroups(this.paramGroups)}`;
  }
}

/** torch.optim.AdamW: Adam with decoupled weight decay (default 0.01). */
export class AdamW extends Adam {
  constructor(options: AdamOptions = {}, schedule: Schedule = { kind: 'constant' }) {
    super(options, schedule, 'adamw');
  }
}

export type Optimizer = SGD | Adam | RMSprop | Adagrad;

const describeGroups = (groups: readonly ParamGroup[]) =>
  groups.length === 0 ? '' : `, ${groups.length} param group${groups.length === 1 ? '' : 's'} (${groups.map((g) => [g.lr === undefined ? '' : `lr ${g.lr}`, g.weightDecay === undefined ? '' : `weight decay ${g.weightDecay}`].filter(Boolean).join(' ') || 'defaults').join('; ')})`;

/**
 * Each parameter's param group (by the network's parameters, in order; −1: none). A name no
 * parameter has, or a parameter in two groups, is refused (PyTorch refuses the second: "some
 * parameters appear in more than one parameter group").
 */
function groupsOf(optimizer: Optimizer, parameters: readonly { readonly name: string; readonly shape: readonly number[] }[]): number[] {
  const names = new Set(parameters.map((p) => p.name));
  optimizer.paramGroups.forEach((g, k) => {
    if (typeof g.params === 'function') return;
    const unknown = g.params.find((n) => !names.has(n));
    if (unknown !== undefined) throw new RangeError(`paramGroups[${k}]: the network has no parameter '${unknown}' (its parameters: ${[...names].slice(0, 6).join(', ')}${names.size > 6 ? ', …' : ''})`);
  });
  return parameters.map((p) => {
    const groups = optimizer.paramGroups.map((g, k) => [g, k] as const).filter(([g]) => (typeof g.params === 'function' ? g.params(p.name, p.shape) === true : g.params.includes(p.name)));
    if (groups.length > 1) throw new RangeError(`paramGroups[${groups[0]![1]}] and paramGroups[${groups[1]![1]}] both hold '${p.name}' (PyTorch: some parameters appear in more than one parameter group)`);
    return groups.length === 1 ? groups[0]![1] : -1;
  });
}

/** Each parameter's weight decay (by the network's parameters, in order): its group's, else the optimizer's. */
export function weightDecays(optimizer: Optimizer, parameters: readonly { readonly name: string; readonly shape: readonly number[] }[]): number[] {
  return groupsOf(optimizer, parameters).map((k) => optimizer.paramGroups[k]?.weightDecay ?? optimizer.weightDecay);
}

/** Each parameter's base learning rate (by the network's parameters, in order): its group's, else the optimizer's; a schedule scales each from it. */
export function learningRates(optimizer: Optimizer, parameters: readonly { readonly name: string; readonly shape: readonly number[] }[]): number[] {
  return groupsOf(optimizer, parameters).map((k) => optimizer.paramGroups[k]?.lr ?? optimizer.lr);
}

/**
 * The `hyper` buffer of a step (1-based `step`, counted per optimizer), from the scheduled
 * learning rate and momentum (β1 for Adam), in float64 as PyTorch computes it:
 * SGD and RMSprop [lr, momentum, 1 on the first step else 0, 0, 0]; Adam [lr, β1, lr / (1 − β1^t), √(1 − β2^t), 1 − β1];
 * Adagrad [clr, 0, clr, 0, 0] (clr = lr / (1 + (step − 1)·lr_decay)).
 */
export function hyperValues(optimizer: Optimizer, step: number, lr: number, momentum: number): [number, number, number, number, number] {
  if (optimizer.kind === 'sgd' || optimizer.kind === 'rmsprop') return [lr, momentum, step === 1 ? 1 : 0, 0, 0];
  // Adagrad's rate: clr = lr / (1 + (step − 1)·lr_decay), in float64 as PyTorch computes it.
  if (optimizer.kind === 'adagrad') {
    const clr = lr / (1 + (step - 1) * optimizer.lrDecay);
    return [clr, 0, clr, 0, 0];
  }
  const [, beta2] = optimizer.betas;
  return [lr, momentum, lr / (1 - momentum ** step), Math.sqrt(1 - beta2 ** step), 1 - momentum];
}

/**
 * The optimizer kernels' fixed parameters besides the length (src/kernels/optimizers.ts): 1 − x
 * computed here in float64, as PyTorch's `alpha=1 - dampening` and `value=1 - beta2` are; the
 * bound of clip_grad_value_ where the network clips by value (read by the CLIP_VALUE variant only),
 * where in `slots` the param groups' weight decays start (GROUP_DECAY only), and how many
 * parameters' learning rates follow HYPER_LENGTH in `hyper` (GROUP_LR only; else 0).
 */
export const sgdKernelParams = (o: SGD, clipping?: Clipping, decayAt = 0, groupLrs = 0) => ({ oneMinusDampening: 1 - o.dampening, weightDecay: o.weightDecay, nesterov: o.nesterov ? 1 : 0, clipValue: clipValueOf(clipping), decayAt, groupLrs });
export const rmspropKernelParams = (o: RMSprop, clipping?: Clipping, decayAt = 0, groupLrs = 0) => ({ alpha: o.alpha, oneMinusAlpha: 1 - o.alpha, eps: o.eps, weightDecay: o.weightDecay, clipValue: clipValueOf(clipping), decayAt, groupLrs });
export const adamKernelParams = (o: Adam, clipping?: Clipping, decayAt = 0, groupLrs = 0) => ({ beta2: o.betas[1], oneMinusBeta2: 1 - o.betas[1], eps: o.eps, weightDecay: o.weightDecay, decoupled: o.kind === 'adamw' ? 1 : 0, clipValue: clipValueOf(clipping), decayAt, groupLrs });
export const adagradKernelParams = (o: Adagrad, clipping?: Clipping, decayAt = 0, groupLrs = 0) => ({ eps: o.eps, weightDecay: o.weightDecay, clipValue: clipValueOf(clipping), decayAt, groupLrs });
const clipValueOf = (clipping?: Clipping) => (clipping?.kind === 'value' ? clipping.clipValue : 0);

/** The optimizer kernels' variant for a network's clipping (src/kernels/optimizers.ts). */
export const clipVariant = (clipping?: Clipping) => ({ CLIP_NORM: clipping?.kind === 'norm', CLIP_VALUE: clipping?.kind === 'value' });

/** The optimizer's momentum-like value a schedule starts from: SGD's and RMSprop's momentum, Adam's β1. */
export const baseMomentum = (optimizer: Optimizer) => (optimizer.kind === 'sgd' || optimizer.kind === 'rmsprop' ? optimizer.momentum : optimizer.kind === 'adagrad' ? 0 : optimizer.betas[0]);

/** A state tensor's value before the first step: Adagrad's sum starts at initial_accumulator_value, every other state at 0. */
export const initialStateValue = (optimizer: Optimizer, state: string) => (optimizer.kind === 'adagrad' && state === 'sum' ? optimizer.initialAccumulatorValue : 0);
