/**
 * Learning-rate schedules as PyTorch computes them (torch.optim.lr_scheduler), as pure functions
 * of the progress: StepLR, MultiStepLR, ExponentialLR, CosineAnnealingLR, LinearLR, ConstantLR,
 * PolynomialLR and CosineAnnealingWarmRestarts are stepped once per epoch (their step_size,
 * milestones, T_max, total_iters and T_0 count epochs), OneCycleLR once per batch (total_steps counts optimizer steps) and, like
 * PyTorch's, it also cycles SGD's momentum or Adam's (NAdam's, RAdam's, Adamax's) β1 (cycle_momentum = True;
 * Adagrad and Adadelta have neither, and take OneCycleLR with cycle_momentum false only, as PyTorch).
 * The epoch-based ones may start with a linear warm-up (`warmup`: PyTorch's LinearLR before them in
 * a SequentialLR).
 * LambdaLR and MultiplicativeLR take a function of the epoch (one, or one a param group); SequentialLR
 * and ChainedScheduler compose the epoch-based ones: their rates come from stepping as PyTorch's
 * do (src/optim/stepped-schedules.ts).
 * ReduceLROnPlateau depends on a metric, not on the progress: its state (PlateauState) is the
 * network's, stepped once per epoch with the metric (plateauStep; `Trainer.fit` does it after
 * each evaluation, as a PyTorch loop calls `scheduler.step(val_loss)`).
 */
import { isStepped, steppedRate } from './stepped-schedules.js';

/** OneCycleLR's pct_start when none is given (PyTorch's default). */
const ONECYCLE_PCT_START = 0.3;

/**
 * A linear warm-up before an epoch-based schedule, as PyTorch's
 * `SequentialLR(opt, [LinearLR(opt, start_factor, 1.0, total_iters=epochs), main], milestones=[epochs])`:
 * for `epochs` epochs the rate rises linearly from startFactor × lr (PyTorch's default 1/3) to lr,
 * then the main schedule runs from its own epoch 0.
 */
export interface Warmup {
  readonly epochs: number;
  readonly startFactor?: number;
}

/** LinearLR's default start_factor (PyTorch's). */
export const WARMUP_START_FACTOR = 1 / 3;

/** The main schedule of one with a warm-up. */
export const withoutWarmup = (schedule: Schedule): Schedule => {
  if (!('warmup' in schedule) || schedule.warmup === undefined) return schedule;
  const { warmup: _, ...main } = schedule;
  return main as Schedule;
};

/**
 * The schedules stepped once per epoch, each of which may follow a warm-up (the one list the
 * checks, the checkpoints and the CLI read).
 */
export const EPOCH_SCHEDULE_KINDS = ['constant', 'step', 'multistep', 'exponential', 'cosine', 'linear', 'constant-lr', 'polynomial', 'cosine-restarts'] as const satisfies readonly Schedule['kind'][];
/** The schedules of data (the CLI's --schedule): the epoch-based ones, OneCycleLR (per batch) and ReduceLROnPlateau (on a metric). */
export const SCHEDULE_KINDS = [...EPOCH_SCHEDULE_KINDS, 'onecycle', 'plateau'] as const satisfies readonly Schedule['kind'][];
/**
 * The schedules a program gives (a function of the epoch, or a composition of schedules), which
 * the CLI's flags do not: LambdaLR, MultiplicativeLR, SequentialLR, ChainedScheduler.
 */
export const CODE_SCHEDULE_KINDS = ['lambda', 'multiplicative', 'sequential', 'chained'] as const satisfies readonly Schedule['kind'][];
/** What a SequentialLR or ChainedScheduler may hold: the epoch-based schedules and the functions. */
export const PART_SCHEDULE_KINDS = [...EPOCH_SCHEDULE_KINDS, 'lambda', 'multiplicative'] as const satisfies readonly Schedule['kind'][];

/** LambdaLR's and MultiplicativeLR's function: the factor of an epoch (PyTorch's last_epoch, from 0). */
export type LrLambda = (epoch: number) => number;

export type Schedule =
  | { readonly kind: 'constant'; readonly warmup?: Warmup }
  | { readonly kind: 'step'; readonly stepSize: number; readonly gamma?: number; readonly warmup?: Warmup }
  | { readonly kind: 'multistep'; readonly milestones: readonly number[]; readonly gamma?: number; readonly warmup?: Warmup }
  | { readonly kind: 'exponential'; readonly gamma: number; readonly warmup?: Warmup }
  | { readonly kind: 'cosine'; readonly tMax: number; readonly etaMin?: number; readonly warmup?: Warmup }
  /** LinearLR: the rate from startFactor × lr to endFactor × lr over totalIters epochs, then kept (LINEAR_DEFAULTS). */
  | { readonly kind: 'linear'; readonly startFactor?: number; readonly endFactor?: number; readonly totalIters?: number; readonly warmup?: Warmup }
  /** ConstantLR: factor × lr for totalIters epochs, then lr (CONSTANT_LR_DEFAULTS). */
  | { readonly kind: 'constant-lr'; readonly factor?: number; readonly totalIters?: number; readonly warmup?: Warmup }
  /** PolynomialLR: lr × (1 − epoch / totalIters)^power to 0 at totalIters, then 0 (POLYNOMIAL_DEFAULTS). */
  | { readonly kind: 'polynomial'; readonly totalIters?: number; readonly power?: number; readonly warmup?: Warmup }
  /**
   * CosineAnnealingWarmRestarts (SGDR), stepped once per epoch: cosine from lr to etaMin (default 0)
   * over t0 epochs, then again from lr over t0 × tMult (default 1), t0 × tMult², … epochs.
   */
  | { readonly kind: 'cosine-restarts'; readonly t0: number; readonly tMult?: number; readonly etaMin?: number; readonly warmup?: Warmup }
  /**
   * LambdaLR: base_lr × lrLambda(epoch); MultiplicativeLR: the current rate × lrLambda(epoch) from
   * epoch 1. One function, or a list of one a param group (PyTorch's group order: the optimizer's
   * paramGroups, then the parameters in none), each factor a finite number ≥ 0. A checkpoint
   * cannot hold a function: continuing one needs it given again.
   */
  | { readonly kind: 'lambda'; readonly lrLambda: LrLambda | readonly LrLambda[] }
  | { readonly kind: 'multiplicative'; readonly lrLambda: LrLambda | readonly LrLambda[] }
  /**
   * SequentialLR: schedulers[0] until milestones[0], then schedulers[1] from its own epoch 0 (PyTorch
   * steps it with step(0) there), … (milestones: epochs, increasing, one fewer than the schedulers).
   */
  | { readonly kind: 'sequential'; readonly schedulers: readonly SchedulePart[]; readonly milestones: readonly number[] }
  /** ChainedScheduler: every scheduler stepped each epoch in turn, each on the rate the one before left. */
  | { readonly kind: 'chained'; readonly schedulers: readonly SchedulePart[] }
  | {
      readonly kind: 'onecycle';
      readonly maxLr: number;
      readonly totalSteps: number;
      readonly pctStart?: number;
      readonly divFactor?: number;
      readonly finalDivFactor?: number;
      readonly cycleMomentum?: boolean;
      readonly baseMomentum?: number;
      readonly maxMomentum?: number;
    }
  | {
      readonly kind: 'plateau';
      /** 'min': the metric should fall (a loss); 'max': rise (an accuracy). Default: 'max' for an accuracy `metric`, else 'min' (PyTorch's). */
      readonly mode?: 'min' | 'max';
      /** The rate is multiplied by it on a plateau (default 0.1; < 1). */
      readonly factor?: number;
      /** Epochs without improvement tolerated before the rate falls (default 10). */
      readonly patience?: number;
      /** What counts as an improvement (default 1e-4), relative ('rel', default) or absolute ('abs'). */
      readonly threshold?: number;
      readonly thresholdMode?: 'rel' | 'abs';
      /** Epochs after a reduction in which bad epochs are not counted (default 0). */
      readonly cooldown?: number;
      /** The rate never falls below it (default 0). */
      readonly minLr?: number;
      /** A reduction smaller than this is not made (default 1e-8). */
      readonly eps?: number;
      /**
       * What `Trainer.fit` steps it with after each epoch (not PyTorch's: there the loop passes
       * it): the test loss (default), the test accuracy, the training loss or training accuracy.
       */
      readonly metric?: PlateauMetric;
    };

/** A schedule a SequentialLR or ChainedScheduler holds (PART_SCHEDULE_KINDS, without a warm-up). */
export type SchedulePart = Extract<Schedule, { kind: (typeof PART_SCHEDULE_KINDS)[number] }>;

/** LinearLR's, ConstantLR's and PolynomialLR's defaults (PyTorch's). */
export const LINEAR_DEFAULTS = { startFactor: WARMUP_START_FACTOR, endFactor: 1, totalIters: 5 } as const;
export const CONSTANT_LR_DEFAULTS = { factor: 1 / 3, totalIters: 5 } as const;
export const POLYNOMIAL_DEFAULTS = { totalIters: 5, power: 1 } as const;

/** ReduceLROnPlateau's defaults (PyTorch's; the metric this engine's). */
export const PLATEAU_DEFAULTS = { factor: 0.1, patience: 10, threshold: 1e-4, thresholdMode: 'rel', cooldown: 0, minLr: 0, eps: 1e-8, metric: 'test-loss' } as const;

/** The epoch metrics `Trainer.fit` can step ReduceLROnPlateau with. */
export const PLATEAU_METRICS = ['test-loss', 'test-accuracy', 'train-loss', 'train-accuracy'] as const;
export type PlateauMetric = (typeof PLATEAU_METRICS)[number];

/** ReduceLROnPlateau's state (PyTorch's scheduler attributes): the current rate, the best metric, the bad epochs in a row, the cooldown left, the epochs stepped. */
export interface PlateauState {
  readonly lr: number;
  readonly best: number;
  readonly numBadEpochs: number;
  readonly cooldownCounter: number;
  readonly lastEpoch: number;
}

/** The fields given (an undefined one takes the default, as a destructuring default would). */
function definedOf<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** The metric a ReduceLROnPlateau schedule watches, in words: `test loss`. */
export function plateauMetricWords(schedule: Extract<Schedule, { kind: 'plateau' }>): string {
  return (schedule.metric ?? PLATEAU_DEFAULTS.metric).replace('-', ' ');
}

/** ReduceLROnPlateau's mode: as given, else 'max' for an accuracy metric and 'min' for a loss. */
export function plateauMode(schedule: Extract<Schedule, { kind: 'plateau' }>): 'min' | 'max' {
  return schedule.mode ?? ((schedule.metric ?? PLATEAU_DEFAULTS.metric).endsWith('accuracy') ? 'max' : 'min');
}

/** A fresh ReduceLROnPlateau's state, for an optimizer's initial rate. */
export function initialPlateau(schedule: Extract<Schedule, { kind: 'plateau' }>, lr: number): PlateauState {
  return { lr, best: plateauMode(schedule) === 'min' ? Infinity : -Infinity, numBadEpochs: 0, cooldownCounter: 0, lastEpoch: 0 };
}

/** PyTorch's ReduceLROnPlateau.step(metrics): the state after one epoch's metric (NaN is never better). */
export function plateauStep(schedule: Extract<Schedule, { kind: 'plateau' }>, state: PlateauState, metric: number): PlateauState {
  const { factor, patience, threshold, thresholdMode, cooldown, minLr, eps } = { ...PLATEAU_DEFAULTS, ...definedOf(schedule) };
  const mode = plateauMode(schedule);
  const better =
    mode === 'min'
      ? thresholdMode === 'rel' ? metric < state.best * (1 - threshold) : metric < state.best - threshold
      : thresholdMode === 'rel' ? metric > state.best * (threshold + 1) : metric > state.best + threshold;
  let { lr, best, numBadEpochs, cooldownCounter } = state;
  if (better) {
    best = metric;
    numBadEpochs = 0;
  } else {
    numBadEpochs++;
  }
  if (cooldownCounter > 0) {
    cooldownCounter--;
    numBadEpochs = 0;
  }
  if (numBadEpochs > patience) {
    const reduced = Math.max(lr * factor, minLr);
    if (lr - reduced > eps) lr = reduced;
    cooldownCounter = cooldown;
    numBadEpochs = 0;
  }
  return { lr, best, numBadEpochs, cooldownCounter, lastEpoch: state.lastEpoch + 1 };
}

export interface ScheduleProgress {
  /** Epochs completed before this step (the scheduler's last_epoch for the per-epoch schedules). */
  readonly epoch: number;
  /** Optimizer steps taken before this one (OneCycleLR's last_epoch). */
  readonly step: number;
  /** The param group, in PyTorch's order (the optimizer's paramGroups, then the parameters in none): picks a function from a list (default 0). */
  readonly group?: number;
  /** The group's rate at an epoch a checkpoint saved, from which a stepped schedule (lambda, multiplicative, sequential, chained) goes on. */
  readonly from?: { readonly epoch: number; readonly lr: number };
}

/**
 * The schedule, checked as PyTorch's schedulers check their arguments (a bad one would otherwise
 * give a NaN or undefined learning rate at the first step, reported as a divergence). Returns it.
 */
export function checkSchedule(schedule: Schedule): Schedule {
  const fail = (name: string, field: string, value: unknown, expected: string): never => {
    throw new RangeError(`${name}: ${field} must be ${expected}, got ${typeof value === 'number' ? String(value) : JSON.stringify(value)}`);
  };
  const num = (name: string, field: string, value: unknown, ok: (v: number) => boolean, expected: string, optional = true) => {
    if (value === undefined && optional) return;
    if (typeof value !== 'number' || !Number.isFinite(value) || !ok(value)) fail(name, field, value, expected);
  };
  // A key a schedule does not take (a misspelt gamma) would leave its default in place.
  const options: Record<string, readonly string[]> = {
    constant: [],
    step: ['stepSize', 'gamma'],
    multistep: ['milestones', 'gamma'],
    exponential: ['gamma'],
    cosine: ['tMax', 'etaMin'],
    linear: ['startFactor', 'endFactor', 'totalIters'],
    'constant-lr': ['factor', 'totalIters'],
    polynomial: ['totalIters', 'power'],
    'cosine-restarts': ['t0', 'tMult', 'etaMin'],
    onecycle: ['maxLr', 'totalSteps', 'pctStart', 'divFactor', 'finalDivFactor', 'cycleMomentum', 'baseMomentum', 'maxMomentum'],
    plateau: ['mode', 'factor', 'patience', 'threshold', 'thresholdMode', 'cooldown', 'minLr', 'eps', 'metric'],
    lambda: ['lrLambda'],
    multiplicative: ['lrLambda'],
    sequential: ['schedulers', 'milestones'],
    chained: ['schedulers'],
  } satisfies Record<Schedule['kind'], readonly string[]>;
  // An epoch-based one may also have a warm-up.
  const keys = Object.fromEntries(Object.entries(options).map(([k, v]) => [k, ['kind', ...v, ...((EPOCH_SCHEDULE_KINDS as readonly string[]).includes(k) ? ['warmup'] : [])]]));
  const kind = (schedule as { kind?: unknown } | undefined)?.kind;
  if ((schedule as { warmup?: unknown } | undefined)?.warmup !== undefined && (kind === 'onecycle' || kind === 'plateau')) {
    throw new RangeError(`schedule ${kind}: a warm-up goes before an epoch-based schedule only (${EPOCH_SCHEDULE_KINDS.join(', ')})${kind === 'onecycle' ? '; OneCycleLR has its own (pct_start)' : ''}`);
  }
  if ((schedule as { warmup?: unknown } | undefined)?.warmup !== undefined && (CODE_SCHEDULE_KINDS as readonly string[]).includes(kind as string)) {
    throw new RangeError(`schedule ${kind}: takes no warm-up; a warm-up before it is a SequentialLR: { kind: 'sequential', schedulers: [{ kind: 'linear', totalIters: N }, …], milestones: [N] }`);
  }
  if (typeof kind === 'string' && keys[kind] && typeof schedule === 'object') {
    const unknown = Object.keys(schedule).find((k) => !keys[kind]!.includes(k));
    if (unknown !== undefined) throw new RangeError(`schedule ${kind}: unknown option '${unknown}'; the options are ${keys[kind]!.join(', ')}`);
  }
  const warmup = (schedule as { warmup?: unknown } | undefined)?.warmup;
  if (warmup !== undefined && typeof kind === 'string' && keys[kind]?.includes('warmup')) {
    if (typeof warmup !== 'object' || warmup === null) fail('LinearLR', 'warmup', warmup, '{ epochs, startFactor }');
    const extra = Object.keys(warmup as object).find((k) => k !== 'epochs' && k !== 'startFactor');
    if (extra !== undefined) throw new RangeError(`schedule ${kind}: warmup has '${extra}'; it takes epochs and startFactor`);
    const w = warmup as Warmup;
    num('LinearLR', 'total_iters (warmup epochs)', w.epochs, (v) => Number.isInteger(v) && v >= 1, 'a whole number ≥ 1', false);
    // PyTorch: "Starting multiplicative factor expected to be greater than 0 and less or equal to 1."
    num('LinearLR', 'start_factor', w.startFactor, (v) => v > 0 && v <= 1, 'a number in (0, 1]');
  }
  switch (kind) {
    case 'constant':
      return schedule;
    case 'step': {
      const s = schedule as Extract<Schedule, { kind: 'step' }>;
      num('StepLR', 'step_size', s.stepSize, (v) => Number.isInteger(v) && v >= 1, 'a whole number ≥ 1', false);
      num('StepLR', 'gamma', s.gamma, (v) => v >= 0, 'a number ≥ 0');
      return schedule;
    }
    case 'multistep': {
      const s = schedule as Extract<Schedule, { kind: 'multistep' }>;
      // As PyTorch reads them: any order, a repeated one applies gamma once for each time it is given.
      const m = s.milestones as unknown;
      if (!Array.isArray(m) || !m.every((v) => Number.isInteger(v) && v >= 0)) fail('MultiStepLR', 'milestones', m, 'a list of whole numbers ≥ 0 (epochs)');
      num('MultiStepLR', 'gamma', s.gamma, (v) => v >= 0, 'a number ≥ 0');
      return schedule;
    }
    case 'exponential': {
      const s = schedule as Extract<Schedule, { kind: 'exponential' }>;
      num('ExponentialLR', 'gamma', s.gamma, (v) => v >= 0, 'a number ≥ 0', false);
      return schedule;
    }
    case 'cosine': {
      const s = schedule as Extract<Schedule, { kind: 'cosine' }>;
      num('CosineAnnealingLR', 'T_max', s.tMax, (v) => v > 0, 'a number > 0', false);
      num('CosineAnnealingLR', 'eta_min', s.etaMin, (v) => v >= 0, 'a number ≥ 0');
      return schedule;
    }
    // total_iters, which PyTorch does not check: below 1 (or not whole) its stepped rates leave its
    // own closed form (LinearLR(total_iters=0) keeps start_factor × lr for ever, its closed form is 0/0).
    case 'linear': {
      const s = schedule as Extract<Schedule, { kind: 'linear' }>;
      // PyTorch ≥ 2.0: "Starting multiplicative factor expected to be greater than 0 and less or equal to 1."
      // (1.13 let 0 through, then divided by zero at its second step.)
      num('LinearLR', 'start_factor', s.startFactor, (v) => v > 0 && v <= 1, 'a number in (0, 1]');
      num('LinearLR', 'end_factor', s.endFactor, (v) => v >= 0 && v <= 1, 'a number in [0, 1]');
      num('LinearLR', 'total_iters', s.totalIters, (v) => Number.isInteger(v) && v >= 1, 'a whole number ≥ 1 (epochs)');
      return schedule;
    }
    case 'constant-lr': {
      const s = schedule as Extract<Schedule, { kind: 'constant-lr' }>;
      // PyTorch checks factor in [0, 1] but restores the rate at total_iters by × 1/factor: 0 raises ZeroDivisionError there.
      num('ConstantLR', 'factor', s.factor, (v) => v > 0 && v <= 1, 'a number in (0, 1] (PyTorch accepts 0, then divides by it at total_iters)');
      num('ConstantLR', 'total_iters', s.totalIters, (v) => Number.isInteger(v) && v >= 1, 'a whole number ≥ 1 (epochs)');
      return schedule;
    }
    case 'polynomial': {
      const s = schedule as Extract<Schedule, { kind: 'polynomial' }>;
      num('PolynomialLR', 'total_iters', s.totalIters, (v) => Number.isInteger(v) && v >= 1, 'a whole number ≥ 1 (epochs)');
      // PyTorch does not check it; below 0 the rate grows, and at total_iters 0.0 ** power raises ZeroDivisionError.
      num('PolynomialLR', 'power', s.power, (v) => v >= 0, 'a number ≥ 0');
      return schedule;
    }
    case 'cosine-restarts': {
      const s = schedule as Extract<Schedule, { kind: 'cosine-restarts' }>;
      // PyTorch: "Expected positive integer T_0", "Expected integer T_mult >= 1".
      num('CosineAnnealingWarmRestarts', 'T_0', s.t0, (v) => Number.isInteger(v) && v >= 1, 'a whole number ≥ 1 (epochs)', false);
      num('CosineAnnealingWarmRestarts', 'T_mult', s.tMult, (v) => Number.isInteger(v) && v >= 1, 'a whole number ≥ 1');
      num('CosineAnnealingWarmRestarts', 'eta_min', s.etaMin, (v) => v >= 0, 'a number ≥ 0');
      return schedule;
    }
    case 'onecycle': {
      const s = schedule as Extract<Schedule, { kind: 'onecycle' }>;
      num('OneCycleLR', 'max_lr', s.maxLr, (v) => v > 0, 'a number > 0', false);
      num('OneCycleLR', 'total_steps', s.totalSteps, (v) => Number.isInteger(v) && v >= 1, 'a whole number ≥ 1', false);
      num('OneCycleLR', 'pct_start', s.pctStart, (v) => v > 0 && v < 1, 'a number in (0, 1)');
      num('OneCycleLR', 'div_factor', s.divFactor, (v) => v > 0, 'a number > 0');
      num('OneCycleLR', 'final_div_factor', s.finalDivFactor, (v) => v > 0, 'a number > 0');
      num('OneCycleLR', 'base_momentum', s.baseMomentum, (v) => v >= 0 && v <= 1, 'a number in [0, 1]');
      num('OneCycleLR', 'max_momentum', s.maxMomentum, (v) => v >= 0 && v <= 1, 'a number in [0, 1]');
      if (s.cycleMomentum !== undefined && typeof s.cycleMomentum !== 'boolean') fail('OneCycleLR', 'cycle_momentum', s.cycleMomentum, 'true or false');
      // The warm-up phase ends at step pct_start·total_steps − 1: at 0 its first step divides 0 by 0
      // (a NaN learning rate; PyTorch raises ZeroDivisionError when it steps).
      if ((s.pctStart ?? ONECYCLE_PCT_START) * s.totalSteps === 1) {
        throw new RangeError(`OneCycleLR: pct_start ${s.pctStart ?? ONECYCLE_PCT_START} × total_steps ${s.totalSteps} is 1: the warm-up would end before its first step (PyTorch divides by zero there); choose another pct_start or total_steps`);
      }
      return schedule;
    }
    case 'plateau': {
      const s = schedule as Extract<Schedule, { kind: 'plateau' }>;
      const oneOf = (field: string, value: unknown, allowed: readonly string[]) => {
        if (value !== undefined && !allowed.includes(value as string)) fail('ReduceLROnPlateau', field, value, allowed.map((a) => `'${a}'`).join(' or '));
      };
      oneOf('mode', s.mode, ['min', 'max']);
      oneOf('threshold_mode', s.thresholdMode, ['rel', 'abs']);
      oneOf('metric', s.metric, PLATEAU_METRICS);
      // PyTorch: "Factor should be < 1.0."
      num('ReduceLROnPlateau', 'factor', s.factor, (v) => v >= 0 && v < 1, 'a number in [0, 1)');
      num('ReduceLROnPlateau', 'patience', s.patience, (v) => Number.isInteger(v) && v >= 0, 'a whole number ≥ 0');
      num('ReduceLROnPlateau', 'threshold', s.threshold, (v) => v >= 0, 'a number ≥ 0');
      num('ReduceLROnPlateau', 'cooldown', s.cooldown, (v) => Number.isInteger(v) && v >= 0, 'a whole number ≥ 0');
      num('ReduceLROnPlateau', 'min_lr', s.minLr, (v) => v >= 0, 'a number ≥ 0');
      num('ReduceLROnPlateau', 'eps', s.eps, (v) => v >= 0, 'a number ≥ 0');
      return schedule;
    }
    case 'lambda':
    case 'multiplicative': {
      const name = kind === 'lambda' ? 'LambdaLR' : 'MultiplicativeLR';
      const f = (schedule as { lrLambda?: unknown }).lrLambda;
      const ok = typeof f === 'function' || (Array.isArray(f) && f.length > 0 && f.every((g) => typeof g === 'function'));
      if (!ok) throw new TypeError(`${name}: lrLambda must be a function of the epoch (epoch) => factor, or a list of one a param group, got ${Array.isArray(f) ? `[${f.map((g) => typeof g).join(', ')}]` : typeof f === 'object' ? JSON.stringify(f) : typeof f}`);
      return schedule;
    }
    case 'sequential':
    case 'chained': {
      const name = kind === 'sequential' ? 'SequentialLR' : 'ChainedScheduler';
      const parts = (schedule as { schedulers?: unknown }).schedulers;
      if (!Array.isArray(parts) || parts.length === 0) fail(name, 'schedulers', parts, 'a list of one or more schedules');
      (parts as unknown[]).forEach((part, k) => {
        const partKind = (part as { kind?: unknown } | null)?.kind;
        if (!(PART_SCHEDULE_KINDS as readonly unknown[]).includes(partKind)) {
          const why = partKind === 'sequential' || partKind === 'chained' ? ' (a composition in a composition is not taken: PyTorch 1.13 cannot step a SequentialLR or ChainedScheduler with step(0) at a milestone)'
            : partKind === 'onecycle' ? ' (OneCycleLR steps once a batch)' : partKind === 'plateau' ? ' (ReduceLROnPlateau steps on a metric)' : '';
          throw new RangeError(`${name}: schedulers[${k}] must be an epoch-based schedule (${PART_SCHEDULE_KINDS.join(', ')}), got ${JSON.stringify(partKind)}${why}`);
        }
        if ((part as { warmup?: unknown }).warmup !== undefined) throw new RangeError(`${name}: schedulers[${k}] has a warm-up; make the warm-up a scheduler of its own in a SequentialLR`);
        try {
          checkSchedule(part as Schedule);
        } catch (error) {
          throw new RangeError(`${name}: schedulers[${k}]: ${error instanceof Error ? error.message : String(error)}`);
        }
      });
      if (kind === 'sequential') {
        const m = (schedule as { milestones?: unknown }).milestones;
        // PyTorch: "Sequential Schedulers expects number of schedulers provided to be one more than the number of milestone points".
        if (!Array.isArray(m) || m.length !== (parts as unknown[]).length - 1) {
          fail(name, 'milestones', m, `a list of ${(parts as unknown[]).length - 1} epochs (one fewer than the schedulers, as PyTorch requires)`);
        }
        // PyTorch takes any list and bisects it; one not increasing would skip a scheduler or run them out of order.
        if (!(m as unknown[]).every((v, k) => Number.isInteger(v) && (v as number) >= 0 && (k === 0 || (v as number) > (m as number[])[k - 1]!))) {
          fail(name, 'milestones', m, 'whole numbers ≥ 0 (epochs), increasing');
        }
      }
      return schedule;
    }
    default:
      throw new RangeError(`schedule: kind must be ${[...SCHEDULE_KINDS, ...CODE_SCHEDULE_KINDS].map((k) => `'${k}'`).join(', ').replace(/, ([^,]*)$/, ' or $1')}, got ${JSON.stringify((schedule as { kind?: unknown } | undefined)?.kind)}`);
  }
}

/** PyTorch's `_annealing_cos`. */
const annealCos = (start: number, end: number, pct: number) => end + ((start - end) / 2) * (Math.cos(Math.PI * pct) + 1);

/**
 * The learning rate and momentum (β1) of the step at `progress`, from the optimizer's own
 * (ReduceLROnPlateau: from its state's rate, which the caller passes as `lr`).
 */
export function scheduledValues(schedule: Schedule, lr: number, momentum: number, progress: ScheduleProgress): { lr: number; momentum: number } {
  if (isStepped(schedule)) return { lr: steppedRate(schedule, lr, progress), momentum };
  const warmup = 'warmup' in schedule ? schedule.warmup : undefined;
  if (warmup) {
    // SequentialLR: LinearLR to the milestone, then the main schedule from its epoch 0 (step(0)).
    const start = warmup.startFactor ?? WARMUP_START_FACTOR;
    if (progress.epoch < warmup.epochs) return { lr: lr * (start + ((1 - start) * progress.epoch) / warmup.epochs), momentum };
    return scheduledValues(withoutWarmup(schedule), lr, momentum, { ...progress, epoch: progress.epoch - warmup.epochs });
  }
  switch (schedule.kind) {
    case 'constant':
    case 'plateau':
    case 'lambda':
    case 'multiplicative':
    case 'sequential':
    case 'chained':
      return { lr, momentum };
    case 'step':
      return { lr: lr * (schedule.gamma ?? 0.1) ** Math.floor(progress.epoch / schedule.stepSize), momentum };
    case 'multistep':
      // PyTorch's closed form: gamma to the number of milestones passed (bisect_right over its sorted counter).
      return { lr: lr * (schedule.gamma ?? 0.1) ** schedule.milestones.filter((m) => m <= progress.epoch).length, momentum };
    case 'exponential':
      return { lr: lr * schedule.gamma ** progress.epoch, momentum };
    case 'cosine': {
      const etaMin = schedule.etaMin ?? 0;
      return { lr: etaMin + ((lr - etaMin) * (1 + Math.cos((Math.PI * progress.epoch) / schedule.tMax))) / 2, momentum };
    }
    // LinearLR, ConstantLR and PolynomialLR: PyTorch's closed forms (_get_closed_form_lr; its step()
    // chains factors to the same rates, within rounding).
    case 'linear': {
      const { startFactor, endFactor, totalIters } = { ...LINEAR_DEFAULTS, ...definedOf(schedule) };
      return { lr: lr * (startFactor + ((endFactor - startFactor) * Math.min(totalIters, progress.epoch)) / totalIters), momentum };
    }
    case 'constant-lr': {
      const { factor, totalIters } = { ...CONSTANT_LR_DEFAULTS, ...definedOf(schedule) };
      return { lr: lr * (factor + (progress.epoch >= totalIters ? 1 - factor : 0)), momentum };
    }
    case 'polynomial': {
      const { totalIters, power } = { ...POLYNOMIAL_DEFAULTS, ...definedOf(schedule) };
      return { lr: lr * (1 - Math.min(totalIters, progress.epoch) / totalIters) ** power, momentum };
    }
    case 'cosine-restarts': {
      // step() once an epoch: T_cur counts the epochs since the last restart, T_i the current period.
      const { t0, tMult = 1, etaMin = 0 } = schedule;
      let [tCur, tI] = [tMult === 1 ? progress.epoch % t0 : progress.epoch, t0];
      while (tCur >= tI) {
        tCur -= tI;
        tI *= tMult;
      }
      return { lr: etaMin + ((lr - etaMin) * (1 + Math.cos((Math.PI * tCur) / tI))) / 2, momentum };
    }
    case 'onecycle': {
      const { maxLr, totalSteps, pctStart = ONECYCLE_PCT_START, divFactor = 25, finalDivFactor = 1e4, cycleMomentum = true, baseMomentum = 0.85, maxMomentum = 0.95 } = schedule;
      if (progress.step >= totalSteps) {
        throw new RangeError(`OneCycleLR: step ${progress.step + 1} is past total_steps ${totalSteps} (as PyTorch, it cannot step further)`);
      }
      const initialLr = maxLr / divFactor;
      const minLr = initialLr / finalDivFactor;
      const phases = [
        { end: pctStart * totalSteps - 1, lr: [initialLr, maxLr], momentum: [maxMomentum, baseMomentum] },
        { end: totalSteps - 1, lr: [maxLr, minLr], momentum: [baseMomentum, maxMomentum] },
      ] as const;
      let start = 0;
      for (let i = 0; i < phases.length; i++) {
        const phase = phases[i]!;
        if (progress.step <= phase.end || i === phases.length - 1) {
          const pct = (progress.step - start) / (phase.end - start);
          return {
            lr: annealCos(phase.lr[0], phase.lr[1], pct),
            momentum: cycleMomentum ? annealCos(phase.momentum[0], phase.momentum[1], pct) : momentum,
          };
        }
        start = phase.end;
      }
      throw new Error('unreachable');
    }
  }
}

/** A factor as PyTorch's defaults write it: 1/3 (1.0 / 3), else the number. */
const factorText = (v: number) => (v === 1 / 3 ? '1/3' : String(v));

/** One line for the run's header. */
export function describeSchedule(schedule: Schedule): string {
  const warmup = 'warmup' in schedule ? schedule.warmup : undefined;
  if (warmup) {
    return `LinearLR(start_factor=${factorText(warmup.startFactor ?? WARMUP_START_FACTOR)}, total_iters=${warmup.epochs} epochs), then from epoch ${warmup.epochs + 1} ${describeSchedule(withoutWarmup(schedule))} (SequentialLR)`;
  }
  switch (schedule.kind) {
    case 'constant':
      return 'constant learning rate';
    case 'lambda':
    case 'multiplicative': {
      const n = Array.isArray(schedule.lrLambda) ? (schedule.lrLambda as readonly LrLambda[]).length : 1;
      return `${schedule.kind === 'lambda' ? 'LambdaLR' : 'MultiplicativeLR'}(lr_lambda=${n === 1 ? 'a function' : `${n} functions, one a param group`} of the epoch)`;
    }
    case 'sequential':
      return `SequentialLR([${schedule.schedulers.map(describeSchedule).join(', ')}], milestones=[${schedule.milestones.join(', ')}] epochs)`;
    case 'chained':
      return `ChainedScheduler([${schedule.schedulers.map(describeSchedule).join(', ')}])`;
    case 'step':
      return `StepLR(step_size=${schedule.stepSize} epochs, gamma=${schedule.gamma ?? 0.1})`;
    case 'multistep':
      return `MultiStepLR(milestones=[${schedule.milestones.join(', ')}] epochs, gamma=${schedule.gamma ?? 0.1})`;
    case 'exponential':
      return `ExponentialLR(gamma=${schedule.gamma} per epoch)`;
    case 'cosine':
      return `CosineAnnealingLR(T_max=${schedule.tMax} epochs, eta_min=${schedule.etaMin ?? 0})`;
    case 'linear': {
      const { startFactor, endFactor, totalIters } = { ...LINEAR_DEFAULTS, ...definedOf(schedule) };
      return `LinearLR(start_factor=${factorText(startFactor)}, end_factor=${factorText(endFactor)}, total_iters=${totalIters} epochs)`;
    }
    case 'constant-lr': {
      const { factor, totalIters } = { ...CONSTANT_LR_DEFAULTS, ...definedOf(schedule) };
      return `ConstantLR(factor=${factorText(factor)}, total_iters=${totalIters} epochs)`;
    }
    case 'polynomial': {
      const { totalIters, power } = { ...POLYNOMIAL_DEFAULTS, ...definedOf(schedule) };
      return `PolynomialLR(total_iters=${totalIters} epochs, power=${power})`;
    }
    case 'cosine-restarts':
      return `CosineAnnealingWarmRestarts(T_0=${schedule.t0} epochs, T_mult=${schedule.tMult ?? 1}, eta_min=${schedule.etaMin ?? 0})`;
    case 'onecycle':
      return `OneCycleLR(max_lr=${schedule.maxLr}, total_steps=${schedule.totalSteps}, pct_start=${schedule.pctStart ?? ONECYCLE_PCT_START})`;
    case 'plateau': {
      const { factor, patience, threshold, thresholdMode, cooldown, minLr } = { ...PLATEAU_DEFAULTS, ...definedOf(schedule) };
      return `ReduceLROnPlateau(mode=${plateauMode(schedule)}, factor=${factor}, patience=${patience} epochs, threshold=${threshold} ${thresholdMode}, cooldown=${cooldown}, min_lr=${minLr}; on the ${plateauMetricWords(schedule)})`;
    }
  }
}
