/**
 * Optimizers as configuration, with PyTorch's names, defaults and update formulas (the kernels:
 * src/kernels/optimizers.ts; the float64 reference: src/reference/optimizers.ts). The learning
 * rate (and SGD's momentum or Adam's β1, which OneCycleLR cycles) come from a schedule each step
 * and reach the kernels through one small buffer (`hyperValues`).
 */
import { checkSchedule, scheduledValues, type Schedule } from './schedules.js';
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

/** The options every optimizer takes: its learning rate, weight decay and param groups. */
export interface OptimizerOptions {
  readonly lr?: number;
  readonly weightDecay?: number;
  readonly paramGroups?: readonly ParamGroup[];
}

export interface SgdOptions extends OptimizerOptions {
  readonly momentum?: number;
  readonly dampening?: number;
  readonly nesterov?: boolean;
}

export interface AdamOptions extends OptimizerOptions {
  readonly betas?: readonly [number, number];
  readonly eps?: number;
  /** AMSGrad: the step divides by the running maximum of exp_avg_sq (kept as max_exp_avg_sq), as PyTorch's amsgrad=True. */
  readonly amsgrad?: boolean;
}

/**
 * A LambdaLR's or MultiplicativeLR's list of functions: one a param group (PyTorch: "Expected 2
 * lr_lambdas, but got 3"), the optimizer's paramGroups then the parameters in none — or, where
 * every parameter is in a group (checkLambdaCoverage), one a paramGroups entry, as PyTorch's.
 */
function checkLambdaLists(name: string, groups: number, schedule: Schedule): void {
  const parts = schedule.kind === 'sequential' || schedule.kind === 'chained' ? schedule.schedulers.map((p, k) => [p, `schedulers[${k}].`] as const) : [[schedule, ''] as const];
  for (const [part, where] of parts) {
    // One a paramGroups entry (PyTorch's list, where every parameter is in a group: the network
    // checks that none is left out), or one more for the parameters in none.
    if (part.kind !== 'lambda' && part.kind !== 'multiplicative') continue;
    const length = Array.isArray(part.lrLambda) ? (part.lrLambda as readonly unknown[]).length : undefined;
    if (length !== undefined && length !== groups + 1 && !(groups > 0 && length === groups)) {
      const expected = groups === 0 ? '1' : `${groups} or ${groups + 1}`;
      throw new RangeError(`${name}: the schedule's ${where}lrLambda lists ${length} functions; expected ${expected}, one a param group (PyTorch: "Expected ${groups === 0 ? 1 : groups} lr_lambdas, but got ${length}"): ${groups === 0 ? 'the optimizer has no paramGroups, so one for all its parameters' : `the ${groups} paramGroups in order, then, where some parameters are in none, one for them`} (or give one function for all)`);
    }
  }
}

/**
 * A function list of one a paramGroups entry (none for the parameters in no group) takes a network
 * whose every parameter is in a group, as PyTorch's list (one a param_group) does; else the
 * parameters left out are named.
 */
const OPTIMIZER_CLASS: Record<Optimizer['kind'], string> = { sgd: 'SGD', adam: 'Adam', adamw: 'AdamW', rmsprop: 'RMSprop', adagrad: 'Adagrad', nadam: 'NAdam', radam: 'RAdam', adamax: 'Adamax', adadelta: 'Adadelta' };

export function checkLambdaCoverage(optimizer: Optimizer, names: readonly string[], groupIndices: readonly number[]): void {
  const groups = optimizer.paramGroups.length;
  const s = optimizer.schedule;
  const parts = s.kind === 'sequential' || s.kind === 'chained' ? s.schedulers.map((p, k) => [p, `schedulers[${k}].`] as const) : [[s, ''] as const];
  const outside = names.filter((_, i) => groupIndices[i] === groups);
  for (const [part, where] of parts) {
    if ((part.kind === 'lambda' || part.kind === 'multiplicative') && Array.isArray(part.lrLambda) && part.lrLambda.length === groups && outside.length > 0) {
      throw new RangeError(`${OPTIMIZER_CLASS[optimizer.kind]}: the schedule's ${where}lrLambda lists ${groups} functions, one a paramGroups entry, but ${outside.length === 1 ? 'parameter' : 'parameters'} ${outside.slice(0, 4).map((n) => `'${n}'`).join(', ')}${outside.length > 4 ? ', …' : ''} ${outside.length === 1 ? 'is' : 'are'} in none: give one more function for ${outside.length === 1 ? 'it' : 'them'}, or put ${outside.length === 1 ? 'it' : 'them'} in a group`);
    }
  }
}

/** Param groups checked as PyTorch's optimizer checks them (each a params list or test, and a learning rate and weight decay ≥ 0 where given). */
function checkGroups(name: string, groups: unknown, schedule: Schedule): readonly ParamGroup[] {
  checkLambdaLists(name, Array.isArray(groups) ? groups.length : 0, schedule);
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

/** Adam's, NAdam's, RAdam's and Adamax's betas: two numbers in [0, 1) (PyTorch's default (0.9, 0.999)). */
function checkBetas(name: string, betas: unknown): readonly [number, number] {
  if (betas !== undefined && (!Array.isArray(betas) || betas.length !== 2)) throw new RangeError(`${name}: betas must be two numbers [β1, β2], got ${JSON.stringify(betas)}`);
  const [b1, b2] = (betas as readonly [number, number] | undefined) ?? [0.9, 0.999];
  return [check(name, 'betas[0]', b1, 0, 1, false), check(name, 'betas[1]', b2, 0, 1, false)];
}

function check(name: string, field: string, value: number, min: number, max: number, maxIncluded = true): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || !(value >= min && (maxIncluded ? value <= max : value < max))) {
    throw new RangeError(`${name}: ${field} must be ${max === Infinity ? `a finite number ≥ ${min}` : `in [${min}, ${max}${maxIncluded ? ']' : ')'}`}, got ${typeof value === 'number' ? String(value) : JSON.stringify(value)}`);
  }
  return value;
}

/**
 * What every optimizer's constructor checks first, in this order: its options (`keys`, then
 * paramGroups: no other), its schedule, that OneCycleLR cycles no momentum where it has none
 * (`hasMomentum` false: PyTorch raises where cycle_momentum is on), and its param groups (returned).
 */
function checkedGroups<T extends OptimizerOptions>(name: string, options: T, keys: readonly (keyof T & string)[], schedule: Schedule, hasMomentum = true): readonly ParamGroup[] {
  checkOptions(name, options, [...keys, 'paramGroups']);
  checkSchedule(schedule);
  if (!hasMomentum && schedule.kind === 'onecycle' && schedule.cycleMomentum !== false) {
    throw new RangeError(`${name}: OneCycleLR cycles a momentum, and ${name} has none (PyTorch 1.13: "optimizer must support momentum with \`cycle_momentum\` option enabled"); give the schedule cycleMomentum: false`);
  }
  return checkGroups(name, options.paramGroups, schedule);
}

/** A weight decay ≥ 0 (PyTorch's weight_decay; `fallback` where none is given). */
const checkWeightDecay = (name: string, weightDecay: number | undefined, fallback = 0) => check(name, 'weight_decay', weightDecay ?? fallback, 0, Infinity);

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
    this.paramGroups = checkedGroups('SGD', options, ['lr', 'momentum', 'dampening', 'weightDecay', 'nesterov'], schedule);
    // PyTorch 2's default (1.13 required one); the seed CNN's 0.01 is given where it is built.
    this.lr = check('SGD', 'lr', options.lr ?? 1e-3, 0, Infinity);
    this.momentum = check('SGD', 'momentum', options.momentum ?? 0, 0, 1);
    this.dampening = check('SGD', 'dampening', options.dampening ?? 0, 0, 1);
    this.weightDecay = checkWeightDecay('SGD', options.weightDecay);
    this.nesterov = trueOrFalse('SGD', 'nesterov', options.nesterov, false);
    if (this.nesterov && (this.momentum <= 0 || this.dampening !== 0)) throw new RangeError('SGD: Nesterov momentum requires a momentum and zero dampening (as PyTorch)');
  }

  describe(): string {
    return `SGD lr ${this.lr}, momentum ${this.momentum}${this.dampening ? `, dampening ${this.dampening}` : ''}${this.weightDecay ? `, weight decay ${this.weightDecay}` : ''}${this.nesterov ? ', Nesterov' : ''}${describeGroups(this.paramGroups)}`;
  }
}

/**
 * What Adam (AdamW), NAdam, RAdam and Adamax share: a learning rate, betas, eps, a weight decay and
 * param groups, checked in that order after the options (the common ones, `keys`, then
 * paramGroups), as each of their constructors does; eps defaults to PyTorch's 1e-8 for all four.
 */
abstract class AdamMoments<O extends RadamOptions> {
  readonly lr: number;
  readonly betas: readonly [number, number];
  readonly eps: number;
  readonly weightDecay: number;
  /** Parameters with a learning rate or weight decay of their own (the rest take lr and weightDecay). */
  readonly paramGroups: readonly ParamGroup[];

  protected constructor(
    name: string,
    options: O,
    keys: readonly Exclude<keyof O & string, keyof RadamOptions>[],
    readonly schedule: Schedule,
    defaults: { readonly lr: number; readonly weightDecay: number },
  ) {
    this.paramGroups = checkedGroups<RadamOptions>(name, options, ['lr', 'betas', 'eps', 'weightDecay', ...(keys as readonly (keyof RadamOptions)[])], schedule);
    this.lr = check(name, 'lr', options.lr ?? defaults.lr, 0, Infinity);
    this.betas = checkBetas(name, options.betas);
    this.eps = check(name, 'eps', options.eps ?? 1e-8, 0, Infinity);
    this.weightDecay = checkWeightDecay(name, options.weightDecay, defaults.weightDecay);
  }

  /** `describe()`'s text: the name, the common settings, `extra`, the param groups. */
  protected described(name: string, extra = ''): string {
    return `${name} lr ${this.lr}, betas (${this.betas.join(', ')}), eps ${this.eps}, weight decay ${this.weightDecay}${extra}${describeGroups(this.paramGroups)}`;
  }
}

export class Adam extends AdamMoments<AdamOptions> {
  readonly amsgrad: boolean;
  /** The optimizer state per parameter, PyTorch's names (AMSGrad's max_exp_avg_sq besides). */
  readonly stateNames: readonly ('exp_avg' | 'exp_avg_sq' | 'max_exp_avg_sq')[];

  constructor(
    options: AdamOptions = {},
    schedule: Schedule = { kind: 'constant' },
    /** AdamW: weight decay applied to the parameter, not added to the gradient. */
    readonly kind: 'adam' | 'adamw' = 'adam',
  ) {
    const name = kind === 'adamw' ? 'AdamW' : 'Adam';
    super(name, options, ['amsgrad'], schedule, { lr: 1e-3, weightDecay: kind === 'adamw' ? 1e-2 : 0 });
    this.amsgrad = trueOrFalse(name, 'amsgrad', options.amsgrad, false);
    this.stateNames = this.amsgrad ? ['exp_avg', 'exp_avg_sq', 'max_exp_avg_sq'] : ['exp_avg', 'exp_avg_sq'];
  }

  describe(): string {
    return this.described(this.kind === 'adamw' ? 'AdamW' : 'Adam', this.amsgrad ? ', AMSGrad' : '');
  }
}

export interface RmspropOptions extends OptimizerOptions {
  readonly alpha?: number;
  readonly eps?: number;
  readonly momentum?: number;
  readonly centered?: boolean;
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
    this.paramGroups = checkedGroups('RMSprop', options, ['lr', 'alpha', 'eps', 'weightDecay', 'momentum', 'centered'], schedule);
    this.lr = check('RMSprop', 'lr', options.lr ?? 1e-2, 0, Infinity);
    this.alpha = check('RMSprop', 'alpha', options.alpha ?? 0.99, 0, 1);
    this.eps = check('RMSprop', 'eps', options.eps ?? 1e-8, 0, Infinity);
    this.weightDecay = checkWeightDecay('RMSprop', options.weightDecay);
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

export interface AdagradOptions extends OptimizerOptions {
  readonly lrDecay?: number;
  readonly initialAccumulatorValue?: number;
  readonly eps?: number;
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
    this.paramGroups = checkedGroups('Adagrad', options, ['lr', 'lrDecay', 'weightDecay', 'initialAccumulatorValue', 'eps'], schedule, false);
    this.lr = check('Adagrad', 'lr', options.lr ?? 1e-2, 0, Infinity);
    this.lrDecay = check('Adagrad', 'lr_decay', options.lrDecay ?? 0, 0, Infinity);
    this.weightDecay = checkWeightDecay('Adagrad', options.weightDecay);
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

/** Adam's options without AMSGrad (PyTorch 1.13's RAdam has none). */
export type RadamOptions = Omit<AdamOptions, 'amsgrad'>;

export interface NadamOptions extends RadamOptions {
  readonly momentumDecay?: number;
}

/**
 * torch.optim.NAdam: Adam's moments with Nesterov momentum — the step takes the gradient at
 * lr·(1 − μ_t)/(1 − Π_t) and exp_avg at lr·μ_{t+1}/(1 − Π_{t+1}), both divided by
 * √(exp_avg_sq / (1 − β2^t)) + eps, where μ_t = β1·(1 − ½·0.96^(t·momentum_decay)) and Π_t =
 * μ_1·…·μ_t (PyTorch's state mu_product): Dozat's and PyTorch ≥ 2.0's (pytorch#92699). PyTorch
 * 1.13's default step took Π_t·μ_t·μ_{t+1}, counting μ_t twice.
 * PyTorch's defaults (lr 2e-3, betas (0.9, 0.999), eps 1e-8, momentum_decay 4e-3); weight decay
 * added to the gradient. OneCycleLR cycles β1, as Adam's.
 */
export class NAdam extends AdamMoments<NadamOptions> {
  readonly kind = 'nadam';
  readonly momentumDecay: number;
  /**
   * The optimizer state per parameter, PyTorch's names (its mu_product, one number the same for
   * every parameter, is the product of the steps' μ: `nadamMuProduct`).
   */
  readonly stateNames = ['exp_avg', 'exp_avg_sq'] as const;

  constructor(options: NadamOptions = {}, schedule: Schedule = { kind: 'constant' }) {
    super('NAdam', options, ['momentumDecay'], schedule, { lr: 2e-3, weightDecay: 0 });
    this.momentumDecay = check('NAdam', 'momentum_decay', options.momentumDecay ?? 4e-3, 0, Infinity);
  }

  describe(): string {
    return this.described('NAdam', `, momentum decay ${this.momentumDecay}`);
  }
}

/**
 * torch.optim.RAdam (PyTorch 1.13): Adam's moments, the step rectified. With ρ∞ = 2/(1 − β2) − 1
 * and ρ_t = ρ∞ − 2t·β2^t/(1 − β2^t): where ρ_t > 5, param −= lr·r_t·m̂·√(1 − β2^t)/(√exp_avg_sq + eps)
 * (m̂ = exp_avg/(1 − β1^t), r_t = √((ρ_t − 4)(ρ_t − 2)ρ∞ / ((ρ∞ − 4)(ρ∞ − 2)ρ_t))); else the
 * un-adapted param −= lr·m̂ (the first five steps at β2 0.999). PyTorch's defaults (lr 1e-3, betas
 * (0.9, 0.999), eps 1e-8); weight decay added to the gradient. OneCycleLR cycles β1, as Adam's.
 */
export class RAdam extends AdamMoments<RadamOptions> {
  readonly kind = 'radam';
  /** The optimizer state per parameter, PyTorch's names. */
  readonly stateNames = ['exp_avg', 'exp_avg_sq'] as const;

  constructor(options: RadamOptions = {}, schedule: Schedule = { kind: 'constant' }) {
    super('RAdam', options, [], schedule, { lr: 1e-3, weightDecay: 0 });
  }

  describe(): string {
    return this.described('RAdam');
  }
}

/** Adamax's options: Adam's without AMSGrad (torch.optim.Adamax has none). */
export type AdamaxOptions = RadamOptions;

/**
 * torch.optim.Adamax (PyTorch 1.13): Adam's first moment, and the infinity norm exp_inf ←
 * max(β2·exp_inf, |g| + eps) in place of exp_avg_sq; param −= lr/(1 − β1^t)·exp_avg/exp_inf.
 * PyTorch's defaults (lr 2e-3, betas (0.9, 0.999), eps 1e-8); weight decay added to the gradient.
 * OneCycleLR cycles β1, as Adam's.
 */
export class Adamax extends AdamMoments<AdamaxOptions> {
  readonly kind = 'adamax';
  /** The optimizer state per parameter, PyTorch's names. */
  readonly stateNames = ['exp_avg', 'exp_inf'] as const;

  constructor(options: AdamaxOptions = {}, schedule: Schedule = { kind: 'constant' }) {
    super('Adamax', options, [], schedule, { lr: 2e-3, weightDecay: 0 });
  }

  describe(): string {
    return this.described('Adamax');
  }
}

export interface AdadeltaOptions extends OptimizerOptions {
  readonly rho?: number;
  readonly eps?: number;
}

/**
 * torch.optim.Adadelta (PyTorch 1.13): square_avg ← ρ·square_avg + (1 − ρ)·g²; delta ←
 * √(acc_delta + eps) / √(square_avg + eps)·g; acc_delta ← ρ·acc_delta + (1 − ρ)·delta²; param −=
 * lr·delta. PyTorch's defaults (lr 1.0, rho 0.9, eps 1e-6); weight decay added to the gradient. It
 * has no momentum: OneCycleLR must not cycle one (PyTorch raises where cycle_momentum is on).
 */
export class Adadelta {
  readonly kind = 'adadelta';
  readonly lr: number;
  readonly rho: number;
  readonly eps: number;
  readonly weightDecay: number;
  /** Parameters with a learning rate or weight decay of their own (the rest take lr and weightDecay). */
  readonly paramGroups: readonly ParamGroup[];
  /** The optimizer state per parameter, PyTorch's names. */
  readonly stateNames = ['square_avg', 'acc_delta'] as const;

  constructor(options: AdadeltaOptions = {}, readonly schedule: Schedule = { kind: 'constant' }) {
    this.paramGroups = checkedGroups('Adadelta', options, ['lr', 'rho', 'eps', 'weightDecay'], schedule, false);
    this.lr = check('Adadelta', 'lr', options.lr ?? 1, 0, Infinity);
    this.rho = check('Adadelta', 'rho', options.rho ?? 0.9, 0, 1);
    this.eps = check('Adadelta', 'eps', options.eps ?? 1e-6, 0, Infinity);
    this.weightDecay = checkWeightDecay('Adadelta', options.weightDecay);
  }

  describe(): string {
    return `Adadelta lr ${this.lr}, rho ${this.rho}, eps ${this.eps}${this.weightDecay ? `, weight decay ${this.weightDecay}` : ''}${describeGroups(this.paramGroups)}`;
  }
}

export type Optimizer = SGD | Adam | RMSprop | Adagrad | NAdam | RAdam | Adamax | Adadelta;

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

/** Each parameter's param group in PyTorch's order (by the network's parameters): its paramGroups index, or paramGroups.length for one in none. */
export function paramGroupIndices(optimizer: Optimizer, parameters: readonly { readonly name: string; readonly shape: readonly number[] }[]): number[] {
  return groupsOf(optimizer, parameters).map((k) => (k < 0 ? optimizer.paramGroups.length : k));
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
 * Adagrad [clr, 0, clr, 0, 0] (clr = lr / (1 + (step − 1)·lr_decay));
 * NAdam [lr·(1 − μ_t)/(1 − Π_t), β1, lr·μ_{t+1}/(1 − Π_t·μ_{t+1}), 1 − β2^t, 1 − β1] (the gradient's
 * and exp_avg's coefficients; μ_t, Π_t: `nadamMu`, `nadamMuProduct`);
 * RAdam [lr, 1 where ρ_t > 5 else 0, lr·r_t / (1 − β1^t) (else lr / (1 − β1^t)), √(1 − β2^t), 1 − β1] (r_t: `radamRectification`);
 * Adamax [lr, β1, clr = lr / (1 − β1^t), 0, 1 − β1]; Adadelta [lr, 0, lr, 0, 0].
 * A param group's rate gives its own [0] and [2] (the kernels' GROUP_LR).
 */
export function hyperValues(optimizer: Optimizer, step: number, lr: number, momentum: number): [number, number, number, number, number] {
  if (optimizer.kind === 'sgd' || optimizer.kind === 'rmsprop') return [lr, momentum, step === 1 ? 1 : 0, 0, 0];
  // Adagrad's rate: clr = lr / (1 + (step − 1)·lr_decay), in float64 as PyTorch computes it.
  if (optimizer.kind === 'adagrad') {
    const clr = lr / (1 + (step - 1) * optimizer.lrDecay);
    return [clr, 0, clr, 0, 0];
  }
  if (optimizer.kind === 'adadelta') return [lr, 0, lr, 0, 0];
  // Adamax's clr = lr / (1 − β1^t) (torch/optim/adamax.py: bias_correction = 1 - beta1 ** step).
  if (optimizer.kind === 'adamax') return [lr, momentum, lr / (1 - momentum ** step), 0, 1 - momentum];
  const [, beta2] = optimizer.betas;
  if (optimizer.kind === 'nadam') {
    // torch/optim/nadam.py (≥ 2.0, _single_tensor_nadam), in its order: mu_product *= mu, then
    // mu_product_next = mu_product * mu_next (1.13 took mu_product * mu * mu_next, μ_t twice).
    const mu = nadamMu(momentum, optimizer.momentumDecay, step);
    const muNext = nadamMu(momentum, optimizer.momentumDecay, step + 1);
    const product = nadamMuProduct(optimizer, step - 1) * mu;
    const productNext = product * muNext;
    return [(lr * (1 - mu)) / (1 - product), momentum, (lr * muNext) / (1 - productNext), 1 - beta2 ** step, 1 - momentum];
  }
  const stepSize = lr / (1 - momentum ** step);
  if (optimizer.kind === 'radam') {
    const rect = radamRectification(beta2, step);
    return rect === undefined ? [lr, 0, stepSize, Math.sqrt(1 - beta2 ** step), 1 - momentum] : [lr, 1, (lr * rect) / (1 - momentum ** step), Math.sqrt(1 - beta2 ** step), 1 - momentum];
  }
  return [lr, momentum, stepSize, Math.sqrt(1 - beta2 ** step), 1 - momentum];
}

/** NAdam's momentum μ_t at (1-based) step t: β1·(1 − ½·0.96^(t·momentum_decay)), as torch/optim/nadam.py. */
export const nadamMu = (beta1: number, momentumDecay: number, step: number) => beta1 * (1 - 0.5 * 0.96 ** (step * momentumDecay));

/** The product of `nadamMuProduct` up to a step count, kept for the next step's (each step extends it by one). */
const muProducts = new WeakMap<NAdam, { steps: number; product: number }>();

/**
 * Below this, 1 − mu_product (all a step takes of it) is 1 in float64, at this step and every later
 * one (each μ ≤ 1): nadamMuProduct gives 0 from there (PyTorch's would go on shrinking, to 5e-324).
 */
const MU_PRODUCT_NEGLIGIBLE = 2 ** -64;

/**
 * NAdam's mu_product after `steps` optimizer steps: μ_1·…·μ_steps in float64, multiplied in
 * PyTorch's order from 1, each μ_i of the β1 the schedule gives step i (OneCycleLR's cycled β1
 * depends on the step alone; every other schedule keeps β1); 0 once below 2^−64 (from step 56 at
 * PyTorch's defaults). PyTorch keeps it as state; here it follows from the step count, so checkpoints and
 * snapshots need no field for it (a run continued with another β1 or schedule within those first
 * steps would differ from PyTorch's kept product).
 */
export function nadamMuProduct(optimizer: NAdam, steps: number): number {
  if (!Number.isInteger(steps) || steps < 0) throw new RangeError(`nadamMuProduct: steps must be a whole number ≥ 0, got ${steps}`);
  const known = muProducts.get(optimizer);
  let { steps: done, product } = known && known.steps <= steps ? known : { steps: 0, product: 1 };
  while (done < steps && product !== 0) {
    const { momentum } = scheduledValues(optimizer.schedule, optimizer.lr, optimizer.betas[0], { epoch: 0, step: done });
    done++;
    product *= nadamMu(momentum, optimizer.momentumDecay, done);
    if (product < MU_PRODUCT_NEGLIGIBLE) product = 0;
  }
  muProducts.set(optimizer, { steps: done, product });
  return product;
}

/**
 * RAdam's rectification term r_t at (1-based) step t, as torch/optim/radam.py computes it in
 * float64: √((ρ_t − 4)(ρ_t − 2)ρ∞ / ((ρ∞ − 4)(ρ∞ − 2)ρ_t)), ρ∞ = 2/(1 − β2) − 1, ρ_t = ρ∞ −
 * 2t·β2^t/(1 − β2^t); undefined where ρ_t ≤ 5 (the un-adapted step).
 */
export function radamRectification(beta2: number, step: number): number | undefined {
  const rhoInf = 2 / (1 - beta2) - 1;
  const rhoT = rhoInf - (2 * step * beta2 ** step) / (1 - beta2 ** step);
  return rhoT > 5 ? Math.sqrt(((rhoT - 4) * (rhoT - 2) * rhoInf) / ((rhoInf - 4) * (rhoInf - 2) * rhoT)) : undefined;
}

/**
 * The optimizer kernels' fixed parameters besides the length (src/kernels/optimizers.ts): 1 − x
 * computed here in float64, as PyTorch's `alpha=1 - dampening` and `value=1 - beta2` are; the
 * bound of clip_grad_value_ where the network clips by value (read by the CLIP_VALUE variant only),
 * where in `slots` the param groups' weight decays start (GROUP_DECAY only), and how many
 * parameters' learning rates follow HYPER_LENGTH in `hyper` (GROUP_LR only; else 0).
 */
export const sgdKernelParams = (o: SGD, clipping?: Clipping, decayAt = 0, groupLrs = 0) => ({ oneMinusDampening: 1 - o.dampening, nesterov: o.nesterov ? 1 : 0, ...stepParams(o, clipping, decayAt, groupLrs) });
export const rmspropKernelParams = (o: RMSprop, clipping?: Clipping, decayAt = 0, groupLrs = 0) => ({ alpha: o.alpha, oneMinusAlpha: 1 - o.alpha, eps: o.eps, ...stepParams(o, clipping, decayAt, groupLrs) });
export const adamKernelParams = (o: Adam | NAdam | RAdam | Adamax, clipping?: Clipping, decayAt = 0, groupLrs = 0) => ({ beta2: o.betas[1], oneMinusBeta2: 1 - o.betas[1], eps: o.eps, decoupled: o.kind === 'adamw' ? 1 : 0, ...stepParams(o, clipping, decayAt, groupLrs) });

/** adam_step's variant of an optimizer of Adam's moments: AMSGRAD (Adam's, AdamW's), NADAM, RADAM, ADAMAX (exp_inf in exp_avg_sq's place). */
export const adamVariant = (o: Adam | NAdam | RAdam | Adamax) => ({ AMSGRAD: (o.kind === 'adam' || o.kind === 'adamw') && o.amsgrad, NADAM: o.kind === 'nadam', RADAM: o.kind === 'radam', ADAMAX: o.kind === 'adamax' });
/** adadelta_step's parameters: 1 − ρ in float64, as PyTorch's `value=1 - rho`. */
export const adadeltaKernelParams = (o: Adadelta, clipping?: Clipping, decayAt = 0, groupLrs = 0) => ({ rho: o.rho, oneMinusRho: 1 - o.rho, eps: o.eps, ...stepParams(o, clipping, decayAt, groupLrs) });
export const adagradKernelParams = (o: Adagrad, clipping?: Clipping, decayAt = 0, groupLrs = 0) => ({ eps: o.eps, ...stepParams(o, clipping, decayAt, groupLrs) });

/** The parameters every optimizer step has (src/kernels/optimizers.ts: defineOptimizerKernel), besides the length. */
const stepParams = (o: Optimizer, clipping: Clipping | undefined, decayAt: number, groupLrs: number) => ({ weightDecay: o.weightDecay, clipValue: clipValueOf(clipping), decayAt, groupLrs });
const clipValueOf = (clipping?: Clipping) => (clipping?.kind === 'value' ? clipping.clipValue : 0);

/** The optimizer kernels' variant for a network's clipping (src/kernels/optimizers.ts). */
export const clipVariant = (clipping?: Clipping) => ({ CLIP_NORM: clipping?.kind === 'norm', CLIP_VALUE: clipping?.kind === 'value' });

/** The optimizer's momentum-like value a schedule starts from: SGD's and RMSprop's momentum, Adam's (NAdam's, RAdam's, Adamax's) β1; none (0) for Adagrad and Adadelta. */
export const baseMomentum = (optimizer: Optimizer) => (optimizer.kind === 'sgd' || optimizer.kind === 'rmsprop' ? optimizer.momentum : optimizer.kind === 'adagrad' || optimizer.kind === 'adadelta' ? 0 : optimizer.betas[0]);

/** A state tensor's value before the first step: Adagrad's sum starts at initial_accumulator_value, every other state at 0. */
export const initialStateValue = (optimizer: Optimizer, state: string) => (optimizer.kind === 'adagrad' && state === 'sum' ? optimizer.initialAccumulatorValue : 0);
