/**
 * Checkpoints of any network as safetensors, under the model's PyTorch state_dict names:
 *
 *   <path>.weight, <path>.bias                     parameters (F32)
 *   <path>.running_mean / .running_var             BatchNorm running statistics (F32)
 *   <path>.num_batches_tracked                     training steps taken (I64, shape [])
 *   optimizer.<parameter name>.<state>             optimizer state (F32; optional on load):
 *                                                  SGD momentum_buffer, Adam exp_avg and exp_avg_sq (and AMSGrad max_exp_avg_sq),
 *                                                  NAdam's and RAdam's exp_avg and exp_avg_sq, Adamax's exp_avg and exp_inf,
 *                                                  Adadelta's square_avg and acc_delta
 *
 * The model's tensors load into PyTorch with
 *   `sd = safetensors.torch.load_file(f); model.load_state_dict({k: v for k, v in sd.items() if not k.startswith('optimizer.')})`
 * and a PyTorch state_dict saved with `safetensors.torch.save_file(model.state_dict(), f)` loads
 * here (its optimizer state and step count then start at zero, as for a fresh torch.optim optimizer).
 *
 * Loading refuses, naming the file, the tensor or field, and the value: bad metadata (epoch,
 * steps, seed, batch), a num_batches_tracked that is not an I64 scalar ≥ 0, is missing beside its
 * running_mean, or disagrees with the others or with the steps; non-finite values; parameters and
 * running statistics beyond ±1e18 (two of them multiplied overflow float32; a running variance
 * beyond 1e36, whose square root is the scale); a negative
 * running_var or Adam exp_avg_sq.
 */
import type { Tensor } from '../gpu/tensor.js';
import type { Network } from '../plan/network.js';
import { IGNORE_INDEX_RANGE, type ModelPlan } from '../plan/plan.js';
import { Adadelta, Adagrad, Adam, Adamax, AdamW, NAdam, RAdam, RMSprop, SGD, initialStateValue, type Optimizer, type ParamGroup } from '../optim/optimizers.js';
import { checkOptions, trueOrFalse } from '../layers/layer.js';
import { CODE_SCHEDULE_KINDS, CONSTANT_LR_DEFAULTS, EPOCH_SCHEDULE_KINDS, LINEAR_DEFAULTS, PLATEAU_DEFAULTS, PLATEAU_METRICS, POLYNOMIAL_DEFAULTS, SCHEDULE_KINDS, WARMUP_START_FACTOR, checkSchedule, describeSchedule, initialPlateau, plateauMode, type PlateauState, type Schedule, type SchedulePart, type Warmup } from '../optim/schedules.js';
import { isStepped } from '../optim/stepped-schedules.js';
import { checkClipping, clippingFromMetadata, clippingMetadata, describeClipping, type Clipping } from '../optim/clipping.js';
import type { RunningMetrics } from '../train/loss-head.js';
import { modelFileText } from '../models/model-file.js';
import { MAX_SEED } from '../reference/random.js';
import { CheckpointFormatError, decodeSafetensors, encodeSafetensors, halfToFloat32, type SafetensorsFile, type SafetensorsTensor } from './safetensors.js';

export const OPTIMIZER_PREFIX = 'optimizer.';
const stateName = (parameter: string, state: string) => `${OPTIMIZER_PREFIX}${parameter}.${state}`;

/** A tensor's name within its module (`convblock1.2.running_mean` → `running_mean`; a one-layer model's `running_mean` is its own). */
const localName = (name: string) => name.slice(name.lastIndexOf('.') + 1);
/** The tensor of `local` in the module of `name` (`convblock1.2.running_mean`, num_batches_tracked → `convblock1.2.num_batches_tracked`). */
const sibling = (name: string, local: string) => name.slice(0, name.lastIndexOf('.') + 1) + local;

/** Every BatchNorm's num_batches_tracked (`convblock1.2.num_batches_tracked`, …): one beside each running_mean. */
function trackedNames(network: Network): string[] {
  return network.buffers.filter((b) => localName(b.name) === 'running_mean').map((b) => sibling(b.name, 'num_batches_tracked'));
}

/**
 * Everything a checkpoint holds, read from the GPU in one copy, and the step counters as they were
 * when it was queued: called while training runs (the module API allows it), every tensor is of
 * the same step (read one by one, weights, momenta and `steps` came from steps 11 to 25).
 */
async function capture(network: Network): Promise<{ tensors: Record<string, SafetensorsTensor>; steps: number; optimizerSteps: number }> {
  const entries: [name: string, shape: readonly number[], tensor: Tensor][] = [];
  for (const p of network.parameters) {
    entries.push([p.name, p.shape, p.value]);
    for (const [state, tensor] of Object.entries(p.state)) entries.push([stateName(p.name, state), p.shape, tensor]);
  }
  for (const b of network.buffers) entries.push([b.name, b.shape, b.value]);
  // Counted when a step is queued, and the copy is queued behind the steps counted (readMany submits before it awaits).
  const steps = network.stepsTaken;
  const optimizerSteps = network.optimizerSteps;
  const values = await network.ctx.readMany(entries.map(([, , t]) => t), 'the network state');
  const tensors: Record<string, SafetensorsTensor> = {};
  entries.forEach(([name, shape], k) => (tensors[name] = { dtype: 'F32', shape: [...shape], data: values[k] as Float32Array }));
  for (const name of trackedNames(network)) tensors[name] = { dtype: 'I64', shape: [], data: BigInt64Array.of(BigInt(steps)) };
  return { tensors, steps, optimizerSteps };
}

/** Everything a checkpoint holds, read from the GPU (all of one step; see `capture`). */
export async function networkState(network: Network): Promise<Record<string, SafetensorsTensor>> {
  return (await capture(network)).tensors;
}

/**
 * What a checkpoint's metadata says of its optimizer: `optimizer` (sgd, adam, adamw, rmsprop,
 * adagrad, nadam, radam, adamax, adadelta), `lr` (the base rate), and SGD's `momentum`, `dampening`, `nesterov`,
 * `weight_decay`, Adam's `betas` (`B1,B2`), `eps`, `weight_decay`, `amsgrad`, RMSprop's `alpha`,
 * `eps`, `weight_decay`, `momentum`, `centered`, Adagrad's `lr_decay`, `eps`, `weight_decay`,
 * `initial_accumulator_value`, NAdam's `betas`, `eps`, `weight_decay`, `momentum_decay`, RAdam's and
 * Adamax's `betas`, `eps`, `weight_decay`, or Adadelta's `rho`, `eps`, `weight_decay` (PyTorch's param_groups names); and the schedule (`schedule`: SCHEDULE_KINDS;
 * a step schedule's `step_size` and `gamma`, a multistep one's
 * `milestones` (`5,10`) and `gamma`, an exponential one's `gamma`, a cosine one's `t_max` and `eta_min`,
 * LinearLR's `start_factor`, `end_factor` and `total_iters`, ConstantLR's `factor` and `total_iters`,
 * PolynomialLR's `total_iters` and `power`, CosineAnnealingWarmRestarts' `t_0`, `t_mult` and `eta_min`, a one-cycle
 * one's `max_lr`, `total_steps`, `pct_start`, `div_factor`, `final_div_factor`, `cycle_momentum`, `base_momentum` and `max_momentum`;
 * an epoch-based one's warm-up `warmup_epochs` and `warmup_start_factor`; ReduceLROnPlateau's `plateau_*`). A run that continues from the checkpoint takes them
 * (the CLI's --init), with its optimizer state.
 */
export function optimizerMetadata(opt: Optimizer): Record<string, string> {
  const schedule = opt.schedule;
  return {
    optimizer: opt.kind,
    lr: String(opt.lr),
    ...(opt.kind === 'sgd'
      ? { momentum: String(opt.momentum), dampening: String(opt.dampening), nesterov: String(opt.nesterov), weight_decay: String(opt.weightDecay) }
      : opt.kind === 'rmsprop'
      ? { alpha: String(opt.alpha), eps: String(opt.eps), weight_decay: String(opt.weightDecay), momentum: String(opt.momentum), centered: String(opt.centered) }
      : opt.kind === 'adagrad'
      ? { lr_decay: String(opt.lrDecay), eps: String(opt.eps), weight_decay: String(opt.weightDecay), initial_accumulator_value: String(opt.initialAccumulatorValue) }
      : opt.kind === 'adadelta'
      ? { rho: String(opt.rho), eps: String(opt.eps), weight_decay: String(opt.weightDecay) }
      : {
          betas: opt.betas.join(','), eps: String(opt.eps), weight_decay: String(opt.weightDecay),
          ...(opt.kind === 'nadam' ? { momentum_decay: String(opt.momentumDecay) } : opt.kind === 'radam' || opt.kind === 'adamax' ? {} : { amsgrad: String(opt.amsgrad) }),
        }),
    ...scheduleMetadata(schedule),
  };
}

/**
 * A schedule's fields as a checkpoint records them (`schedule` and its settings under PyTorch's
 * names). LambdaLR and MultiplicativeLR: the kind alone (a function is not stored, as PyTorch's
 * state_dict drops one); SequentialLR and ChainedScheduler: `schedulers`, JSON of each one's
 * fields, and SequentialLR's `milestones`.
 */
export function scheduleMetadata(schedule: Schedule): Record<string, string> {
  return {
    schedule: schedule.kind,
    ...(schedule.kind === 'step' ? { step_size: String(schedule.stepSize), gamma: String(schedule.gamma ?? 0.1) } : {}),
    ...(schedule.kind === 'multistep' ? { milestones: schedule.milestones.join(','), gamma: String(schedule.gamma ?? 0.1) } : {}),
    ...(schedule.kind === 'exponential' ? { gamma: String(schedule.gamma) } : {}),
    ...(schedule.kind === 'cosine' ? { t_max: String(schedule.tMax), eta_min: String(schedule.etaMin ?? 0) } : {}),
    ...(schedule.kind === 'linear'
      ? { start_factor: String(schedule.startFactor ?? LINEAR_DEFAULTS.startFactor), end_factor: String(schedule.endFactor ?? LINEAR_DEFAULTS.endFactor), total_iters: String(schedule.totalIters ?? LINEAR_DEFAULTS.totalIters) }
      : {}),
    ...(schedule.kind === 'constant-lr' ? { factor: String(schedule.factor ?? CONSTANT_LR_DEFAULTS.factor), total_iters: String(schedule.totalIters ?? CONSTANT_LR_DEFAULTS.totalIters) } : {}),
    ...(schedule.kind === 'polynomial' ? { total_iters: String(schedule.totalIters ?? POLYNOMIAL_DEFAULTS.totalIters), power: String(schedule.power ?? POLYNOMIAL_DEFAULTS.power) } : {}),
    ...(schedule.kind === 'cosine-restarts' ? { t_0: String(schedule.t0), t_mult: String(schedule.tMult ?? 1), eta_min: String(schedule.etaMin ?? 0) } : {}),
    ...(schedule.kind === 'onecycle'
      ? {
          max_lr: String(schedule.maxLr), total_steps: String(schedule.totalSteps), pct_start: String(schedule.pctStart ?? 0.3),
          // Its other settings where given (PyTorch's defaults otherwise: 25, 1e4, true, 0.85, 0.95).
          ...Object.fromEntries(
            ([['div_factor', schedule.divFactor], ['final_div_factor', schedule.finalDivFactor], ['cycle_momentum', schedule.cycleMomentum], ['base_momentum', schedule.baseMomentum], ['max_momentum', schedule.maxMomentum]] as const)
              .filter(([, v]) => v !== undefined)
              .map(([k, v]) => [k, String(v)]),
          ),
        }
      : {}),
    // A linear warm-up before it (SequentialLR of LinearLR and the schedule).
    ...('warmup' in schedule && schedule.warmup ? { warmup_epochs: String(schedule.warmup.epochs), warmup_start_factor: String(schedule.warmup.startFactor ?? WARMUP_START_FACTOR) } : {}),
    ...(schedule.kind === 'plateau'
      ? {
          plateau_mode: plateauMode(schedule), plateau_factor: String(schedule.factor ?? PLATEAU_DEFAULTS.factor), plateau_patience: String(schedule.patience ?? PLATEAU_DEFAULTS.patience),
          plateau_threshold: String(schedule.threshold ?? PLATEAU_DEFAULTS.threshold), plateau_threshold_mode: schedule.thresholdMode ?? PLATEAU_DEFAULTS.thresholdMode, plateau_cooldown: String(schedule.cooldown ?? PLATEAU_DEFAULTS.cooldown),
          plateau_min_lr: String(schedule.minLr ?? PLATEAU_DEFAULTS.minLr), plateau_eps: String(schedule.eps ?? PLATEAU_DEFAULTS.eps), plateau_metric: schedule.metric ?? PLATEAU_DEFAULTS.metric,
        }
      : {}),
    ...(schedule.kind === 'sequential' || schedule.kind === 'chained' ? { schedulers: JSON.stringify(schedule.schedulers.map(scheduleMetadata)) } : {}),
    ...(schedule.kind === 'sequential' ? { milestones: schedule.milestones.join(',') } : {}),
  };
}

/**
 * The loss's settings, recorded where the loss is theirs: SmoothL1Loss's β (`smooth_l1_beta`),
 * HuberLoss's δ (`huber_delta`), KLDivLoss's `log_target`; and where given, the NLL losses' per-class
 * weights (`class_weights`) and BCEWithLogitsLoss's `pos_weight`, each a comma-separated list, and
 * the NLL losses' `ignore_index` (an integer).
 */
export function lossParameterMetadata(plan: Pick<ModelPlan, 'loss' | 'lossBeta' | 'classWeights' | 'posWeight' | 'logTarget' | 'ignoreIndex'>): Record<string, string> {
  return {
    ...(plan.loss === 'smooth-l1' ? { smooth_l1_beta: String(plan.lossBeta) } : plan.loss === 'huber' ? { huber_delta: String(plan.lossBeta) } : {}),
    ...(plan.loss === 'kl-div' ? { log_target: String(plan.logTarget) } : {}),
    ...(plan.classWeights ? { class_weights: plan.classWeights.join(',') } : {}),
    ...(plan.posWeight ? { pos_weight: plan.posWeight.join(',') } : {}),
    ...(plan.ignoreIndex !== undefined ? { ignore_index: String(plan.ignoreIndex) } : {}),
  };
}

/**
 * A checkpoint's `ignore_index` (undefined where it records none): an integer from −2³¹ to 2³¹ − 1;
 * `where` names the file in the error of another value.
 */
export function ignoreIndexFromMetadata(metadata: Record<string, string>, where: string): number | undefined {
  const text = metadata.ignore_index;
  if (text === undefined) return undefined;
  const value = text.trim() === '' ? NaN : Number(text);
  const [low, high] = IGNORE_INDEX_RANGE;
  if (!Number.isInteger(value) || value < low || value > high) throw new Error(`${where}: __metadata__.ignore_index is ${JSON.stringify(text)}, expected an integer from ${low} to ${high}`);
  return value;
}

/**
 * A checkpoint's `class_weights` or `pos_weight` as numbers (undefined where it records none);
 * `where` names the file in the error of a malformed list.
 */
export function lossWeightsFromMetadata(metadata: Record<string, string>, key: 'class_weights' | 'pos_weight', where: string): number[] | undefined {
  const text = metadata[key];
  if (text === undefined) return undefined;
  const values = text.split(',').map((v) => (v.trim() === '' ? NaN : Number(v)));
  if (!values.every((v) => Number.isFinite(v) && v >= 0)) throw new Error(`${where}: __metadata__.${key} is ${JSON.stringify(text)}, expected numbers ≥ 0, separated by commas`);
  return values;
}

/**
 * The param groups as a checkpoint records them: `weight_decay_groups` and `lr_groups`, JSON of
 * each parameter whose weight decay (learning rate) is not the optimizer's (`{"fc.bias": 0}`);
 * none: no key.
 */
export function paramGroupsMetadata(network: Pick<Network, 'parameters' | 'weightDecays' | 'learningRates' | 'optimizer'>): Record<string, string> {
  const apart = (values: readonly number[], base: number) => network.parameters.map((p, k) => [p.name, values[k]!] as const).filter(([, v]) => v !== base);
  const [decays, rates] = [apart(network.weightDecays, network.optimizer.weightDecay), apart(network.learningRates, network.optimizer.lr)];
  return { ...(decays.length === 0 ? {} : { weight_decay_groups: JSON.stringify(Object.fromEntries(decays)) }), ...(rates.length === 0 ? {} : { lr_groups: JSON.stringify(Object.fromEntries(rates)) }) };
}

/** A checkpoint's `weight_decay_groups` and `lr_groups` as param groups (one per setting), checked; undefined where both are absent. */
export function paramGroupsFromMetadata(metadata: Readonly<Record<string, string>>, source: string): ParamGroup[] | undefined {
  const read = (key: 'weight_decay_groups' | 'lr_groups', what: string) => {
    const text = metadata[key];
    if (text === undefined) return [];
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    const entries = typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? Object.entries(parsed) : undefined;
    if (!entries || !entries.every(([, v]) => typeof v === 'number' && v >= 0 && Number.isFinite(v))) {
      throw new CheckpointFormatError(source, `__metadata__.${key} is ${JSON.stringify(text)}, expected JSON of parameter names and ${what} ≥ 0 such as {"fc.bias": 0}`);
    }
    return entries as [string, number][];
  };
  const [decays, rates] = [new Map(read('weight_decay_groups', 'weight decays')), new Map(read('lr_groups', 'learning rates'))];
  if (decays.size === 0 && rates.size === 0) return metadata.weight_decay_groups === undefined && metadata.lr_groups === undefined ? undefined : [];
  // One group for each (weight decay, learning rate) the parameters hold apart.
  const groups = new Map<string, { params: string[]; weightDecay?: number; lr?: number }>();
  for (const name of new Set([...decays.keys(), ...rates.keys()])) {
    const [weightDecay, lr] = [decays.get(name), rates.get(name)];
    const key = `${weightDecay}|${lr}`;
    const group = groups.get(key) ?? { params: [], ...(weightDecay === undefined ? {} : { weightDecay }), ...(lr === undefined ? {} : { lr }) };
    group.params.push(name);
    groups.set(key, group);
  }
  return [...groups.values()];
}

/**
 * A stepped schedule's state (LambdaLR, MultiplicativeLR, SequentialLR, ChainedScheduler), as
 * PyTorch's scheduler and optimizer state_dicts hold it: `scheduler_last_epoch`, the epoch of the
 * next step (the checkpoint's `epoch` where given: its epochs done, else the last step's), and
 * `scheduler_last_lr`, each param group's rate there (JSON, PyTorch's group order), from which a
 * loaded run goes on (MultiplicativeLR multiplies the saved rate, as PyTorch's loaded one does).
 */
function steppedMetadata(network: Network, epoch: string | undefined): Record<string, string> {
  if (!isStepped(network.optimizer.schedule)) return {};
  const e = epoch !== undefined && Number.isInteger(Number(epoch)) && Number(epoch) >= 0 ? Number(epoch) : network.scheduleEpoch;
  return { scheduler_last_epoch: String(e), scheduler_last_lr: JSON.stringify(network.groupRates(e)) };
}

/** A stepped schedule's state a checkpoint records (undefined: none), checked against the network's param groups. */
function steppedFromMetadata(metadata: Readonly<Record<string, string>>, source: string, groups: number): { epoch: number; lrs: number[] } | undefined {
  const [epochText, lrText] = [metadata.scheduler_last_epoch, metadata.scheduler_last_lr];
  if (epochText === undefined && lrText === undefined) return undefined;
  if (epochText === undefined || lrText === undefined) throw new CheckpointFormatError(source, `__metadata__ holds ${epochText === undefined ? 'scheduler_last_lr but not scheduler_last_epoch' : 'scheduler_last_epoch but not scheduler_last_lr'} (a stepped schedule's state is both)`);
  const epoch = wholeNumber(metadata, 'scheduler_last_epoch', 0, Number.MAX_SAFE_INTEGER, source)!;
  let lrs: unknown;
  try {
    lrs = JSON.parse(lrText);
  } catch {
    lrs = undefined;
  }
  if (!Array.isArray(lrs) || lrs.length !== groups || !lrs.every((v) => typeof v === 'number' && Number.isFinite(v) && v >= 0)) {
    throw new CheckpointFormatError(source, `__metadata__.scheduler_last_lr is ${JSON.stringify(lrText)}, expected a JSON list of ${groups} rates ≥ 0 (one a param group of this network's optimizer, as PyTorch's optimizer state holds one a group)`);
  }
  return { epoch, lrs: lrs as number[] };
}

/** ReduceLROnPlateau's state as a checkpoint records it (PyTorch's scheduler state_dict: _last_lr, best, num_bad_epochs, cooldown_counter, last_epoch). */
export function plateauMetadata(state: PlateauState | undefined): Record<string, string> {
  if (!state) return {};
  return { plateau_lr: String(state.lr), plateau_best: String(state.best), plateau_bad_epochs: String(state.numBadEpochs), plateau_cooldown_counter: String(state.cooldownCounter), plateau_last_epoch: String(state.lastEpoch) };
}

/** The ReduceLROnPlateau state a checkpoint records (undefined: none), checked; bad values throw naming the field. */
export function plateauFromMetadata(metadata: Readonly<Record<string, string>>, source: string): PlateauState | undefined {
  const keys = ['plateau_lr', 'plateau_best', 'plateau_bad_epochs', 'plateau_cooldown_counter', 'plateau_last_epoch'] as const;
  const present = keys.filter((k) => metadata[k] !== undefined);
  if (present.length === 0) return undefined;
  if (present.length < keys.length) throw new CheckpointFormatError(source, `__metadata__ holds ${present.join(', ')} but not ${keys.filter((k) => !present.includes(k)).join(', ')} (ReduceLROnPlateau's state is all of them)`);
  const value = (key: (typeof keys)[number], ok: (v: number) => boolean, expected: string) => {
    const text = metadata[key]!;
    const v = Number(text);
    if (text.trim() === '' || !ok(v)) throw new CheckpointFormatError(source, `__metadata__.${key} is ${JSON.stringify(text)}, expected ${expected}`);
    return v;
  };
  const count = (key: (typeof keys)[number]) => wholeNumber(metadata, key, 0, Number.MAX_SAFE_INTEGER, source)!;
  return {
    lr: value('plateau_lr', (v) => Number.isFinite(v) && v >= 0, 'a number ≥ 0'),
    // ±Infinity before the first epoch's metric, as PyTorch's best starts; NaN cannot be one.
    best: value('plateau_best', (v) => !Number.isNaN(v), 'a number (Infinity or -Infinity before the first epoch)'),
    numBadEpochs: count('plateau_bad_epochs'),
    cooldownCounter: count('plateau_cooldown_counter'),
    lastEpoch: count('plateau_last_epoch'),
  };
}

/** The optimizers a checkpoint's `optimizer` field may name (its `schedule`: SCHEDULE_KINDS). */
export const OPTIMIZER_KINDS = ['sgd', 'adam', 'adamw', 'rmsprop', 'adagrad', 'nadam', 'radam', 'adamax', 'adadelta'] as const;

/**
 * The optimizer settings a checkpoint's metadata holds (what optimizerMetadata wrote), each
 * checked: only the fields present, so a caller can let its own values stand where one is
 * absent (the CLI's flags). Undefined where the checkpoint names no optimizer (a PyTorch
 * state_dict). A field present but out of range throws `CheckpointFormatError` naming `source`.
 */
export interface SavedOptimizer {
  readonly kind: (typeof OPTIMIZER_KINDS)[number];
  readonly lr?: number;
  readonly weightDecay?: number;
  readonly momentum?: number;
  readonly dampening?: number;
  readonly nesterov?: boolean;
  readonly betas?: readonly [number, number];
  readonly eps?: number;
  readonly amsgrad?: boolean;
  /** RMSprop's. */
  readonly alpha?: number;
  readonly centered?: boolean;
  /** Adagrad's. */
  readonly lrDecay?: number;
  readonly initialAccumulatorValue?: number;
  /** NAdam's. */
  readonly momentumDecay?: number;
  /** Adadelta's. */
  readonly rho?: number;
  /** The param groups' weight decays (`weight_decay_groups`). */
  readonly paramGroups?: readonly ParamGroup[];
  readonly schedule?: Schedule['kind'];
  readonly stepSize?: number;
  readonly milestones?: readonly number[];
  readonly gamma?: number;
  readonly tMax?: number;
  /** CosineAnnealingLR's and CosineAnnealingWarmRestarts' `eta_min`. */
  readonly etaMin?: number;
  /** LinearLR's `start_factor`, `end_factor`; its, ConstantLR's and PolynomialLR's `total_iters`; ConstantLR's `factor`; PolynomialLR's `power`. */
  readonly startFactor?: number;
  readonly endFactor?: number;
  readonly totalIters?: number;
  readonly factor?: number;
  readonly power?: number;
  /** CosineAnnealingWarmRestarts' `t_0` and `t_mult`. */
  readonly t0?: number;
  readonly tMult?: number;
  readonly maxLr?: number;
  readonly totalSteps?: number;
  readonly pctStart?: number;
  /** OneCycleLR's other settings (`div_factor`, `final_div_factor`, `cycle_momentum`, `base_momentum`, `max_momentum`). */
  readonly oneCycle?: Pick<Extract<Schedule, { kind: 'onecycle' }>, 'divFactor' | 'finalDivFactor' | 'cycleMomentum' | 'baseMomentum' | 'maxMomentum'>;
  /** A linear warm-up before the schedule (`warmup_epochs`, `warmup_start_factor`). */
  readonly warmup?: Warmup;
  /** ReduceLROnPlateau's settings (its `plateau_*` fields). */
  readonly plateau?: Omit<Extract<Schedule, { kind: 'plateau' }>, 'kind'>;
  /** A SequentialLR's or ChainedScheduler's schedulers (`schedulers`: JSON of each one's fields), each read as the file's own are. */
  readonly schedulers?: readonly SavedOptimizer[];
}

/** The `schedulers` of a SequentialLR or ChainedScheduler, each checked; a bad one names its place. */
function savedParts(metadata: Readonly<Record<string, string>>, kind: SavedOptimizer['kind'], source: string): SavedOptimizer[] | undefined {
  const text = metadata.schedulers;
  const composed = metadata.schedule === 'sequential' || metadata.schedule === 'chained';
  if (text === undefined) {
    if (composed) throw new CheckpointFormatError(source, `__metadata__.schedulers is missing (the ${metadata.schedule} schedule needs it)`);
    return undefined;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  const parts = Array.isArray(parsed) && parsed.length > 0 && parsed.every((p) => typeof p === 'object' && p !== null && !Array.isArray(p) && Object.values(p).every((v) => typeof v === 'string')) ? (parsed as Record<string, string>[]) : undefined;
  if (!composed || !parts) {
    throw new CheckpointFormatError(source, `__metadata__.schedulers is ${JSON.stringify(text)}, expected ${composed ? 'a JSON list of each scheduler\'s fields such as [{"schedule":"linear","total_iters":"3"},{"schedule":"cosine","t_max":"10"}]' : `none with schedule ${metadata.schedule ?? 'constant'}`}`);
  }
  return parts.map((part, k) => {
    try {
      if (part.schedulers !== undefined || part.schedule === 'sequential' || part.schedule === 'chained' || part.optimizer !== undefined) throw new Error(`schedule ${part.schedule}: not a scheduler a composition holds`);
      return savedOptimizer({ ...part, optimizer: kind }, source)!;
    } catch (error) {
      const why = error instanceof CheckpointFormatError ? error.message.replace(`${source}: `, '') : error instanceof Error ? error.message : String(error);
      throw new CheckpointFormatError(source, `__metadata__.schedulers[${k}]: ${why}`);
    }
  });
}

export function savedOptimizer(metadata: Readonly<Record<string, string>>, source: string): SavedOptimizer | undefined {
  const kind = metadata.optimizer;
  if (kind === undefined) return undefined;
  const field = (name: string, expected: string) => new CheckpointFormatError(source, `__metadata__.${name} is ${JSON.stringify(metadata[name])}, expected ${expected}`);
  if (!(OPTIMIZER_KINDS as readonly string[]).includes(kind)) throw field('optimizer', OPTIMIZER_KINDS.join(', '));
  // The ranges the optimizers' and schedules' constructors accept (a file saved from code may hold any of those).
  const number = (name: string, min: number, max = Infinity, whole = false): number | undefined => {
    const text = metadata[name];
    if (text === undefined) return undefined;
    const v = Number(text);
    if (text.trim() === '' || !(v >= min && v <= max) || (whole && !Number.isInteger(v))) {
      // Number.MIN_VALUE: above 0 (said so, not as 5e-324).
      const range = min === Number.MIN_VALUE ? (max === Infinity ? '> 0' : `in (0, ${max}]`) : max === Infinity ? `≥ ${min}` : `from ${min} to ${max}`;
      throw field(name, `${whole ? 'a whole number' : 'a number'} ${range}`);
    }
    return v;
  };
  const out: { -readonly [K in keyof SavedOptimizer]: SavedOptimizer[K] } = { kind: kind as SavedOptimizer['kind'] };
  const set = <K extends keyof SavedOptimizer>(key: K, value: SavedOptimizer[K] | undefined) => {
    if (value !== undefined) out[key] = value;
  };
  set('lr', number('lr', 0));
  set('weightDecay', number('weight_decay', 0));
  set('paramGroups', paramGroupsFromMetadata(metadata, source));
  const flag = (name: string): boolean | undefined => {
    const text = metadata[name];
    if (text !== undefined && text !== 'true' && text !== 'false') throw field(name, 'true or false');
    return text === undefined ? undefined : text === 'true';
  };
  if (kind === 'sgd') {
    set('momentum', number('momentum', 0, 1));
    set('dampening', number('dampening', 0, 1));
    set('nesterov', flag('nesterov'));
  } else if (kind === 'rmsprop') {
    set('alpha', number('alpha', 0, 1));
    set('eps', number('eps', 0));
    set('momentum', number('momentum', 0, 1));
    set('centered', flag('centered'));
  } else if (kind === 'adagrad') {
    set('lrDecay', number('lr_decay', 0));
    set('eps', number('eps', 0));
    set('initialAccumulatorValue', number('initial_accumulator_value', 0));
  } else if (kind === 'adadelta') {
    set('rho', number('rho', 0, 1));
    set('eps', number('eps', 0));
  } else {
    const betas = metadata.betas?.split(',');
    if (betas !== undefined && (betas.length !== 2 || betas.some((b) => b.trim() === '' || !(Number(b) >= 0 && Number(b) < 1)))) throw field('betas', 'two numbers in [0, 1) such as 0.9,0.999');
    set('betas', betas?.map(Number) as [number, number] | undefined);
    set('eps', number('eps', 0));
    if (kind === 'adam' || kind === 'adamw') set('amsgrad', flag('amsgrad'));
    if (kind === 'nadam') set('momentumDecay', number('momentum_decay', 0));
  }
  const schedule = metadata.schedule;
  const kinds = [...SCHEDULE_KINDS, ...CODE_SCHEDULE_KINDS];
  if (schedule !== undefined && !(kinds as readonly string[]).includes(schedule)) throw field('schedule', kinds.join(', '));
  set('schedule', schedule as Schedule['kind'] | undefined);
  set('schedulers', savedParts(metadata, kind as SavedOptimizer['kind'], source));
  set('stepSize', number('step_size', 1, Number.MAX_SAFE_INTEGER, true));
  // '' is an empty list (PyTorch's MultiStepLR([]) keeps the rate).
  const milestones = metadata.milestones === undefined ? undefined : metadata.milestones === '' ? [] : metadata.milestones.split(',').map((m) => (m.trim() === '' ? NaN : Number(m)));
  if (milestones !== undefined && !milestones.every((m) => Number.isInteger(m) && m >= 0)) {
    throw field('milestones', 'whole numbers ≥ 0, comma-separated (MultiStepLR\'s epochs)');
  }
  set('milestones', milestones);
  set('gamma', number('gamma', 0));
  set('tMax', number('t_max', 1, Number.MAX_SAFE_INTEGER, true));
  set('etaMin', number('eta_min', 0));
  set('startFactor', number('start_factor', Number.MIN_VALUE, 1));
  set('endFactor', number('end_factor', 0, 1));
  set('totalIters', number('total_iters', 1, Number.MAX_SAFE_INTEGER, true));
  set('factor', number('factor', Number.MIN_VALUE, 1));
  set('power', number('power', 0));
  set('t0', number('t_0', 1, Number.MAX_SAFE_INTEGER, true));
  set('tMult', number('t_mult', 1, Number.MAX_SAFE_INTEGER, true));
  set('maxLr', number('max_lr', 0));
  set('totalSteps', number('total_steps', 1, Number.MAX_SAFE_INTEGER, true));
  set('pctStart', number('pct_start', 0, 1));
  const oneCycle = { divFactor: number('div_factor', Number.MIN_VALUE), finalDivFactor: number('final_div_factor', Number.MIN_VALUE), cycleMomentum: flag('cycle_momentum'), baseMomentum: number('base_momentum', 0, 1), maxMomentum: number('max_momentum', 0, 1) };
  const oneCycleGiven = Object.fromEntries(Object.entries(oneCycle).filter(([, v]) => v !== undefined));
  if (Object.keys(oneCycleGiven).length > 0) set('oneCycle', oneCycleGiven);
  const warmupEpochs = number('warmup_epochs', 1, Number.MAX_SAFE_INTEGER, true);
  const warmupStart = number('warmup_start_factor', Number.MIN_VALUE, 1);
  if (warmupStart !== undefined && warmupEpochs === undefined) throw new CheckpointFormatError(source, '__metadata__ holds warmup_start_factor but not warmup_epochs (a warm-up is both)');
  if (warmupEpochs !== undefined && schedule !== undefined && !(EPOCH_SCHEDULE_KINDS as readonly string[]).includes(schedule)) {
    throw new CheckpointFormatError(source, `__metadata__.warmup_epochs is given with schedule ${schedule}: a warm-up goes before an epoch-based schedule only (${EPOCH_SCHEDULE_KINDS.join(', ')})`);
  }
  if (warmupEpochs !== undefined) set('warmup', { epochs: warmupEpochs, ...(warmupStart === undefined ? {} : { startFactor: warmupStart }) });
  const choice = <T extends string>(name: string, allowed: readonly T[]): T | undefined => {
    const text = metadata[name];
    if (text !== undefined && !(allowed as readonly string[]).includes(text)) throw field(name, allowed.join(' or '));
    return text as T | undefined;
  };
  const plateau = {
    mode: choice('plateau_mode', ['min', 'max'] as const),
    factor: number('plateau_factor', 0, 1 - Number.EPSILON),
    patience: number('plateau_patience', 0, Number.MAX_SAFE_INTEGER, true),
    threshold: number('plateau_threshold', 0),
    thresholdMode: choice('plateau_threshold_mode', ['rel', 'abs'] as const),
    cooldown: number('plateau_cooldown', 0, Number.MAX_SAFE_INTEGER, true),
    minLr: number('plateau_min_lr', 0),
    eps: number('plateau_eps', 0),
    metric: choice('plateau_metric', PLATEAU_METRICS),
  };
  const given = Object.fromEntries(Object.entries(plateau).filter(([, v]) => v !== undefined));
  if (Object.keys(given).length > 0) set('plateau', given);
  return out;
}

/** The schedule of a checkpoint's settings (none named: a constant rate); `missing` throws for a field it needs. */
function savedSchedule(saved: SavedOptimizer, missing: (name: string, of: string) => never): Schedule {
  const warmup = saved.warmup ? { warmup: saved.warmup } : {};
  const kind = saved.schedule ?? 'constant';
  switch (kind) {
    case 'constant':
      return { kind, ...warmup };
    case 'step':
      return { kind, stepSize: saved.stepSize ?? missing('step_size', 'the step schedule'), gamma: saved.gamma, ...warmup };
    case 'multistep':
      return { kind, milestones: saved.milestones ?? missing('milestones', 'the multistep schedule'), gamma: saved.gamma, ...warmup };
    case 'exponential':
      return { kind, gamma: saved.gamma ?? missing('gamma', 'the exponential schedule'), ...warmup };
    case 'cosine':
      return { kind, tMax: saved.tMax ?? missing('t_max', 'the cosine schedule'), etaMin: saved.etaMin, ...warmup };
    // A setting left out: PyTorch's default.
    case 'linear':
      return { kind, startFactor: saved.startFactor, endFactor: saved.endFactor, totalIters: saved.totalIters, ...warmup };
    case 'constant-lr':
      return { kind, factor: saved.factor, totalIters: saved.totalIters, ...warmup };
    case 'polynomial':
      return { kind, totalIters: saved.totalIters, power: saved.power, ...warmup };
    case 'cosine-restarts':
      return { kind, t0: saved.t0 ?? missing('t_0', 'the cosine-restarts schedule'), tMult: saved.tMult, etaMin: saved.etaMin, ...warmup };
    case 'onecycle':
      return { kind, maxLr: saved.maxLr ?? saved.lr ?? missing('max_lr', 'the one-cycle schedule'), totalSteps: saved.totalSteps ?? missing('total_steps', 'the one-cycle schedule'), pctStart: saved.pctStart, ...(saved.kind === 'adagrad' || saved.kind === 'adadelta' ? { cycleMomentum: false } : {}), ...saved.oneCycle };
    case 'plateau':
      return { kind, ...saved.plateau };
    case 'sequential':
      return { kind, schedulers: saved.schedulers!.map((p) => savedSchedule(p, missing) as SchedulePart), milestones: saved.milestones ?? missing('milestones', 'the sequential schedule') };
    case 'chained':
      return { kind, schedulers: saved.schedulers!.map((p) => savedSchedule(p, missing) as SchedulePart) };
    case 'lambda':
    case 'multiplicative':
      return missing('the function', `the ${kind} schedule`);
  }
}

/**
 * The optimizer a checkpoint was trained with, rebuilt from its metadata (savedOptimizer; a
 * setting it lacks takes PyTorch's default), with its schedule; undefined where it names none.
 * A run that goes on with it continues the checkpoint's optimizer state as the CLI's --init does.
 */
export function optimizerFromMetadata(metadata: Readonly<Record<string, string>>, source: string, options: { readonly schedule?: Schedule } = {}): Optimizer | undefined {
  checkOptions('optimizerFromMetadata', options, ['schedule']);
  const saved = savedOptimizer(metadata, source);
  if (!saved) return undefined;
  const missing = (name: string, of: string): never => {
    throw new CheckpointFormatError(source, `__metadata__.${name} is missing (${of} needs it)`);
  };
  const schedule = options.schedule === undefined ? withoutFunctions(saved, metadata, source) && savedSchedule(saved, missing) : givenSchedule(checkSchedule(options.schedule), metadata, source);
  try {
    if (saved.kind === 'sgd') return new SGD({ lr: saved.lr, momentum: saved.momentum, dampening: saved.dampening, nesterov: saved.nesterov, weightDecay: saved.weightDecay, paramGroups: saved.paramGroups }, schedule);
    if (saved.kind === 'rmsprop') return new RMSprop({ lr: saved.lr, alpha: saved.alpha, eps: saved.eps, momentum: saved.momentum, centered: saved.centered, weightDecay: saved.weightDecay, paramGroups: saved.paramGroups }, schedule);
    if (saved.kind === 'adagrad') return new Adagrad({ lr: saved.lr, lrDecay: saved.lrDecay, eps: saved.eps, weightDecay: saved.weightDecay, initialAccumulatorValue: saved.initialAccumulatorValue, paramGroups: saved.paramGroups }, schedule);
    if (saved.kind === 'nadam') return new NAdam({ lr: saved.lr, betas: saved.betas, eps: saved.eps, weightDecay: saved.weightDecay, momentumDecay: saved.momentumDecay, paramGroups: saved.paramGroups }, schedule);
    if (saved.kind === 'radam') return new RAdam({ lr: saved.lr, betas: saved.betas, eps: saved.eps, weightDecay: saved.weightDecay, paramGroups: saved.paramGroups }, schedule);
    if (saved.kind === 'adamax') return new Adamax({ lr: saved.lr, betas: saved.betas, eps: saved.eps, weightDecay: saved.weightDecay, paramGroups: saved.paramGroups }, schedule);
    if (saved.kind === 'adadelta') return new Adadelta({ lr: saved.lr, rho: saved.rho, eps: saved.eps, weightDecay: saved.weightDecay, paramGroups: saved.paramGroups }, schedule);
    const options = { lr: saved.lr, betas: saved.betas, eps: saved.eps, weightDecay: saved.weightDecay, amsgrad: saved.amsgrad, paramGroups: saved.paramGroups };
    return saved.kind === 'adamw' ? new AdamW(options, schedule) : new Adam(options, schedule);
  } catch (error) {
    // Settings each in range but not together (Nesterov without momentum): the constructor's words.
    throw new CheckpointFormatError(source, `its optimizer settings: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** The fields of a schedule's settings (scheduleMetadata's keys; ReduceLROnPlateau's state apart). */
const SCHEDULE_FIELDS = ['schedule', 'schedulers', 'step_size', 'milestones', 'gamma', 't_max', 'eta_min', 'start_factor', 'end_factor', 'total_iters', 'factor', 'power', 't_0', 't_mult', 'max_lr', 'total_steps', 'pct_start', 'div_factor', 'final_div_factor', 'cycle_momentum', 'base_momentum', 'max_momentum', 'warmup_epochs', 'warmup_start_factor', 'plateau_mode', 'plateau_factor', 'plateau_patience', 'plateau_threshold', 'plateau_threshold_mode', 'plateau_cooldown', 'plateau_min_lr', 'plateau_eps', 'plateau_metric'];

/** True where the file's schedule holds no LambdaLR or MultiplicativeLR (whose functions it cannot hold); else an error naming the field. */
function withoutFunctions(saved: SavedOptimizer, metadata: Readonly<Record<string, string>>, source: string): true {
  const place = saved.schedule === 'lambda' || saved.schedule === 'multiplicative' ? ['schedule', saved.schedule] : (saved.schedulers ?? []).map((p, k) => [`schedulers[${k}]`, p.schedule]).find(([, kind]) => kind === 'lambda' || kind === 'multiplicative');
  if (place === undefined) return true;
  const [field, kind] = place as [string, string];
  throw new CheckpointFormatError(source, `__metadata__.${field} is ${kind} (${kind === 'lambda' ? 'LambdaLR' : 'MultiplicativeLR'}): a checkpoint does not hold its function (PyTorch's state_dict drops a plain function too); ` +
    `give the schedule again: optimizerFromMetadata(metadata, source, { schedule: ${metadata.schedule === kind ? `{ kind: '${kind}', lrLambda }` : `{ kind: '${metadata.schedule}', … }`} })`);
}

/** The schedule a caller gives a checkpoint's optimizer (its functions again), held against the file's settings: another is refused, naming the field. */
function givenSchedule(schedule: Schedule, metadata: Readonly<Record<string, string>>, source: string): Schedule {
  const given = scheduleMetadata(schedule);
  for (const key of SCHEDULE_FIELDS) {
    const theirs = key === 'schedule' ? metadata.schedule ?? 'constant' : metadata[key];
    if (theirs !== given[key]) {
      throw new CheckpointFormatError(source, `__metadata__.${key} is ${theirs === undefined ? 'absent' : JSON.stringify(theirs)}, and the schedule given has ${given[key] === undefined ? 'none' : JSON.stringify(given[key])}: give the schedule the file was trained with (its functions again; ${describeSchedule(schedule)} is another)`);
    }
  }
  return schedule;
}

/**
 * The steps a checkpoint's run took into the epoch after its last whole one (`epoch_step`, written
 * where --steps cut an epoch short): 0 when absent; 1 … stepsPerEpoch − 1 at this run's batch and
 * train limit, else an error naming the field.
 */
export function readEpochStep(metadata: Record<string, string>, file: string, stepsPerEpoch: number): number {
  const text = metadata.epoch_step;
  if (text === undefined) return 0;
  const v = Number(text);
  if (text.trim() === '' || !Number.isInteger(v) || v < 1 || v >= stepsPerEpoch) {
    throw new CheckpointFormatError(file, `__metadata__.epoch_step is ${JSON.stringify(text)}, expected a whole number from 1 to ${stepsPerEpoch - 1} (the steps taken into the epoch it stopped in, of ${stepsPerEpoch} an epoch at this batch and train limit)`);
  }
  return v;
}

/** A cut epoch's running sums as `epoch_metrics` holds them (the ignored samples a fifth field where there are any). */
export const epochMetricsText = (m: RunningMetrics) => [m.batchLoss, m.lossSum, m.correct, m.count, ...(m.ignored ? [m.ignored] : [])].join(',');

/**
 * The running metrics of the epoch a checkpoint stopped in (`epoch_metrics`: the last batch's
 * loss, the summed loss, the correct predictions and the samples, and where any were, the samples
 * whose label is the ignore index; written with `epoch_step`), so
 * that epoch's train loss and accuracy count its every step; undefined when absent (they then
 * count this run's steps). Checked against the steps taken: an error names the field.
 */
export function readEpochMetrics(metadata: Record<string, string>, file: string, fromStep: number, batch: number): RunningMetrics | undefined {
  const text = metadata.epoch_metrics;
  if (text === undefined) return undefined;
  const count = fromStep * batch;
  const parts = text.split(',').map((t) => (t.trim() === '' ? NaN : Number(t)));
  const [batchLoss, lossSum, correct, seen, ignored = 0] = parts;
  const good = fromStep > 0 && (parts.length === 4 || parts.length === 5) && batchLoss! >= 0 && lossSum! >= 0 && Number.isFinite(batchLoss) && Number.isFinite(lossSum) &&
    Number.isInteger(correct) && correct! >= 0 && Number.isInteger(ignored) && ignored >= 0 && correct! + ignored <= count && seen === count;
  if (!good) {
    throw new CheckpointFormatError(file, `__metadata__.epoch_metrics is ${JSON.stringify(text)}, expected ${fromStep > 0 ? `the last batch's loss, the summed loss, the correct predictions and the samples of its ${fromStep} steps of ${batch} (the samples ${count}), and any ignored samples` : 'it only with epoch_step'}, comma-separated`);
  }
  return { batchLoss: batchLoss!, lossSum: lossSum!, correct: correct!, count, ...(ignored ? { ignored } : {}) };
}

/**
 * The checkpoint file's bytes. Its metadata holds the steps taken, the network's seed (its
 * initial weights and dropout draws: a run continues the same only with the same), the optimizer's settings
 * (optimizerMetadata) and the network as a model file (`model_file`, which `evaluate --init`,
 * `classify --init` and `mnist --init` rebuild it from), then `metadata` (which may replace any).
 */
export async function encodeCheckpoint(network: Network, metadata: Record<string, string> = {}): Promise<Uint8Array> {
  const { tensors: state, steps, optimizerSteps } = await capture(network);
  // Never a checkpoint that could not be loaded again (a diverged run's NaN, Inf, 1e20).
  for (const [name, t] of Object.entries(state)) {
    const bad = t.dtype === 'F32' ? checkTensorValues(name, t.data) : undefined;
    if (bad) throw new Error(`not saving a checkpoint: tensor '${name}': ${bad} (the network has diverged)`);
  }
  return encodeSafetensors(state, {
    format: 'pt',
    producer: 'webgpu-backprop',
    // A damaged file is refused on load (safetensors.ts writes the crc32).
    checksum: 'crc32',
    steps: String(steps),
    optimizer_steps: String(optimizerSteps),
    seed: String(network.seed),
    loss: network.plan.loss,
    ...(network.plan.labelSmoothing > 0 ? { label_smoothing: String(network.plan.labelSmoothing) } : {}),
    ...lossParameterMetadata(network.plan),
    ...optimizerMetadata(network.optimizer),
    ...plateauMetadata(network.plateau),
    ...steppedMetadata(network, metadata.epoch),
    ...paramGroupsMetadata(network),
    ...clippingMetadata(network.clipping),
    ...(network.lrFactor !== 1 ? { lr_factor: String(network.lrFactor) } : {}),
    model_file: modelFileText(network.model, network.plan.inputShape),
    ...metadata,
  });
}

/** What a checkpoint's metadata and step counters say about the run that wrote it, checked. */
export interface CheckpointInfo {
  /** Epochs completed (metadata `epoch`; 0 when absent). */
  epoch: number;
  /** The gradient clipping the run used (metadata `clip_grad_norm`, `clip_grad_norm_type`, `clip_grad_value`); undefined: none recorded. */
  clipping?: Clipping;
  /** ReduceLROnPlateau's state at the save (metadata `plateau_lr`, `plateau_best`, …); undefined: none recorded. */
  plateau?: PlateauState;
  /** The learning rate's factor after rollbacks (metadata `lr_factor`, in (0, 1]; 1 when absent). */
  lrFactor: number;
  /** Training steps taken (metadata `steps`, else the BatchNorm num_batches_tracked, else 0). */
  steps: number;
  /**
   * The steps its optimizer state has taken (metadata `optimizer_steps`; else `steps` where the
   * file holds optimizer state, 0 where it holds none: a PyTorch state_dict's fresh optimizer).
   */
  optimizerSteps: number;
  /** The run's seed (metadata `seed`), 0 … 2^32−1. */
  seed?: number;
  /** The run's batch size (metadata `batch`), ≥ 1. */
  batch?: number;
  /** The model's name (metadata `model`). */
  model?: string;
}


/**
 * The checkpoint's epoch, steps, seed, batch and model, every one checked: a field that is present
 * but not a whole number in its range, or step counters that disagree, throw
 * `CheckpointFormatError` naming `source`. Needs no GPU:
 * `checkpointInfo(decodeSafetensors(bytes, file), file)`.
 */
export function checkpointInfo(file: SafetensorsFile, source: string): CheckpointInfo {
  const { metadata, tensors } = file;
  const epoch = wholeNumber(metadata, 'epoch', 0, Number.MAX_SAFE_INTEGER, source);
  const steps = wholeNumber(metadata, 'steps', 0, Number.MAX_SAFE_INTEGER, source);
  const seed = wholeNumber(metadata, 'seed', 0, MAX_SEED, source);
  const batch = wholeNumber(metadata, 'batch', 1, Number.MAX_SAFE_INTEGER, source);
  const tracked = trackedSteps(tensors, source);
  const [first, ...others] = tracked;
  for (const other of others) {
    if (other.value !== first!.value) {
      throw new CheckpointFormatError(
        source,
        `tensor '${other.name}' is ${other.value}, but '${first!.name}' is ${first!.value}; expected every BatchNorm's num_batches_tracked to equal the steps taken`,
      );
    }
  }
  if (first && steps !== undefined && steps !== first.value) {
    throw new CheckpointFormatError(
      source,
      `__metadata__.steps is ${JSON.stringify(metadata.steps)}, but tensor '${first.name}' is ${first.value}; expected them to agree (both count the steps taken)`,
    );
  }
  const taken = steps ?? first?.value ?? 0;
  const optimizerSteps = wholeNumber(metadata, 'optimizer_steps', 0, taken, source);
  const hasState = Object.keys(tensors).some((name) => name.startsWith(OPTIMIZER_PREFIX));
  // A rollback's cut to the learning rate carries on into a continued run.
  const lrFactor = metadata.lr_factor === undefined ? 1 : Number(metadata.lr_factor);
  if (!(lrFactor > 0 && lrFactor <= 1)) throw new CheckpointFormatError(source, `__metadata__.lr_factor is ${JSON.stringify(metadata.lr_factor)}, expected a number in (0, 1]`);
  let clipping: Clipping | undefined;
  try {
    clipping = checkClipping(clippingFromMetadata(metadata));
  } catch (e) {
    throw new CheckpointFormatError(source, (e as Error).message);
  }
  const info: CheckpointInfo = { epoch: epoch ?? 0, lrFactor, steps: taken, optimizerSteps: hasState ? optimizerSteps ?? taken : 0 };
  if (clipping !== undefined) info.clipping = clipping;
  const plateau = plateauFromMetadata(metadata, source);
  if (plateau !== undefined) info.plateau = plateau;
  // Checked here, before anything loads (loadCheckpoint's differences read it).
  paramGroupsFromMetadata(metadata, source);
  if (seed !== undefined) info.seed = seed;
  if (batch !== undefined) info.batch = batch;
  if (metadata.model !== undefined) info.model = metadata.model;
  return info;
}

/** A metadata field as a whole number in [min, max]; undefined when absent. */
function wholeNumber(metadata: Readonly<Record<string, string>>, field: string, min: number, max: number, source: string): number | undefined {
  const text = metadata[field];
  if (text === undefined) return undefined;
  const digits = /^[0-9]+$/.test(text);
  const value = Number(text);
  if (digits && value >= min && value <= max) return value;
  const range = max !== Number.MAX_SAFE_INTEGER ? `from ${min} to ${max}` : digits && value > max ? `≥ ${min} (at most ${max})` : `≥ ${min}`;
  throw new CheckpointFormatError(source, `__metadata__.${field} is ${JSON.stringify(text)}, expected a whole number ${range}`);
}

/**
 * Every num_batches_tracked, checked: an I64 scalar (shape [] as PyTorch saves it, or [1]) with a
 * value ≥ 0, present beside every running_mean.
 */
function trackedSteps(tensors: Record<string, SafetensorsTensor>, source: string): { name: string; value: number }[] {
  for (const name of Object.keys(tensors)) {
    if (localName(name) !== 'running_mean') continue;
    const tracked = sibling(name, 'num_batches_tracked');
    if (!tensors[tracked]) {
      throw new CheckpointFormatError(source, `tensor '${tracked}' is missing (expected I64 [] beside '${name}': the BatchNorm's steps taken, which PyTorch always saves)`);
    }
  }
  const found: { name: string; value: number }[] = [];
  for (const [name, t] of Object.entries(tensors)) {
    if (localName(name) !== 'num_batches_tracked') continue;
    if (t.dtype !== 'I64') throw new CheckpointFormatError(source, `tensor '${name}': dtype is ${t.dtype}, expected I64 (PyTorch's num_batches_tracked)`);
    if (t.data.length !== 1 || t.shape.length > 1) {
      throw new CheckpointFormatError(source, `tensor '${name}': shape is [${t.shape.join(', ')}], expected [] (one step count)`);
    }
    const value = t.data[0]!;
    if (value < 0n || value > BigInt(Number.MAX_SAFE_INTEGER)) {
      throw new CheckpointFormatError(source, `tensor '${name}' is ${value}, expected a step count from 0 to ${Number.MAX_SAFE_INTEGER}`);
    }
    found.push({ name, value: Number(value) });
  }
  return found;
}

/** Beyond this a product of two values (a weight times an activation) overflows float32. */
export const MAX_MAGNITUDE = 1e18;

/** A running variance's bound: its square root (the scale it divides by) within MAX_MAGNITUDE. */
export const MAX_VARIANCE = MAX_MAGNITUDE * MAX_MAGNITUDE;

/** What a tensor's values must satisfy beyond being finite. */
interface ValueRules {
  bounded?: number;
  nonNegative?: string;
}

/** The first element breaking the rules, as a message; undefined when all is well. */
function badValue(data: Float32Array, rules: ValueRules): string | undefined {
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    if (!Number.isFinite(v)) return `element ${i} is ${v}, expected a finite number`;
    if (rules.bounded === MAX_VARIANCE && v > MAX_VARIANCE) {
      return rules.nonNegative === 'a variance'
        ? `element ${i} is ${float32String(v)}, expected a variance ≤ 1e36 (a scale ≤ 1e18; beyond it the normalised values lose all precision)`
        : `element ${i} is ${float32String(v)}, expected ${rules.nonNegative} ≤ 1e36 (gradients ≤ 1e18)`;
    }
    if (rules.bounded && Math.abs(v) > rules.bounded) {
      return `element ${i} is ${float32String(v)}, expected |v| ≤ 1e18 (beyond that a product of two such values overflows float32)`;
    }
    if (rules.nonNegative && v < 0) return `element ${i} is ${float32String(v)}, expected ${rules.nonNegative} ≥ 0`;
  }
  return undefined;
}

/** The shortest decimal that reads back as the same float32 (3e+38, not 3.0000000054977558e+38). */
function float32String(v: number): string {
  const text = (n: number) => (Math.abs(n) >= 1e6 || (n !== 0 && Math.abs(n) < 1e-4) ? n.toExponential() : String(n));
  for (let digits = 1; digits < 9; digits++) {
    const shortest = Number(v.toPrecision(digits));
    if (Math.fround(shortest) === v) return text(shortest);
  }
  return text(v);
}

/**
 * What is wrong with a state_dict entry's values (non-finite, beyond its bound, a negative
 * variance), as a message; undefined when nothing is. The loader refuses such a file, the saver
 * refuses to write one, and the training loop treats such a state as diverged.
 */
export function checkTensorValues(name: string, data: Float32Array): string | undefined {
  return badValue(data, rulesFor(name));
}

/** The rules for one state_dict entry, by the last part of its name. */
function rulesFor(name: string): ValueRules {
  // Optimizer state within the parameters' bound (a mean of squared gradients within its square):
  // a momentum of 7.8e36 diverged the run at its next step, blamed on the learning rate.
  if (name.startsWith(OPTIMIZER_PREFIX)) {
    if (name.endsWith('.exp_avg_sq') || name.endsWith('.max_exp_avg_sq') || name.endsWith('.square_avg')) return { bounded: MAX_VARIANCE, nonNegative: 'a mean of squared gradients' };
    // Adagrad's sum of squared gradients (a negative one would step by √ of it: NaN).
    if (name.endsWith('.sum')) return { bounded: MAX_VARIANCE, nonNegative: 'a sum of squared gradients' };
    // Adadelta's mean of squared updates, Adamax's infinity norm (a negative one would turn its steps around).
    if (name.endsWith('.acc_delta')) return { bounded: MAX_VARIANCE, nonNegative: 'a mean of squared updates' };
    if (name.endsWith('.exp_inf')) return { bounded: MAX_MAGNITUDE, nonNegative: 'a running maximum of gradient magnitudes' };
    return { bounded: MAX_MAGNITUDE };
  }
  if (localName(name) === 'running_var') return { bounded: MAX_VARIANCE, nonNegative: 'a variance' };
  return { bounded: MAX_MAGNITUDE };
}

/**
 * The tensors a network's checkpoint holds: its parameters (each with the optimizer's states) and
 * buffers. A Network is one; `planLayout` gives it from a plan, before any GPU exists.
 */
export interface CheckpointLayout {
  readonly parameters: readonly { readonly name: string; readonly shape: readonly number[] }[];
  readonly stateNames: readonly string[];
  readonly buffers: readonly { readonly name: string; readonly shape: readonly number[] }[];
  /** The optimizer whose state it takes (sgd, adam, adamw, …): a file of another's is refused (Adam's state into AdamW, or NAdam's, means another update). */
  readonly optimizerKind?: Optimizer['kind'];
}

export function planLayout(plan: ModelPlan, optimizer: Pick<Optimizer, 'stateNames' | 'kind'>): CheckpointLayout {
  return {
    parameters: plan.scheduled.flatMap((n) => n.parameters.map((p) => ({ name: p.name, shape: p.shape }))),
    stateNames: optimizer.stateNames,
    optimizerKind: optimizer.kind,
    buffers: plan.scheduled.flatMap((n) => n.buffers.map((b) => ({ name: b.name, shape: b.shape }))),
  };
}

export interface LoadOptions {
  /**
   * Load a checkpoint whose optimizer state is another optimizer's (Adam's exp_avg into an SGD
   * network): that state is dropped and the network's starts at zero. Default false: refused.
   */
  readonly dropOtherOptimizerState?: boolean;
}

/**
 * Checks a checkpoint's bytes against a layout: every parameter and running statistic present
 * with its shape (optimizer state may be absent: it starts at zero), the values within their
 * rules, the metadata and step counters sound (`checkpointInfo`). Returns the values by name
 * (`optimizer.<name>.<state>` undefined where absent). Needs no GPU: run it before one starts.
 */
/** LoadOptions, checked: a misspelt key or a value that is not a boolean is refused, not ignored. */
function checkLoadOptions(options: LoadOptions): void {
  checkOptions('loadCheckpoint options', options, ['dropOtherOptimizerState']);
  trueOrFalse('loadCheckpoint options', 'dropOtherOptimizerState', options.dropOtherOptimizerState, false);
}

export function checkCheckpoint(
  layout: CheckpointLayout,
  bytes: Uint8Array,
  source: string,
  options: LoadOptions = {},
): { metadata: Record<string, string>; info: CheckpointInfo; values: Map<string, Float32Array | undefined> } {
  checkLoadOptions(options);
  const file = decodeSafetensors(bytes, source);
  const info = checkpointInfo(file, source);
  const hasState = Object.keys(file.tensors).some((name) => name.startsWith(OPTIMIZER_PREFIX));
  // Adam's state under AdamW (or back): the same tensors, another update (weight decay added to the
  // gradient or decoupled); the state is that optimizer's.
  const otherKind = hasState && layout.optimizerKind !== undefined && file.metadata.optimizer !== undefined && file.metadata.optimizer !== layout.optimizerKind;
  // AMSGrad's state (max_exp_avg_sq besides) under Adam without it, or back: another update too
  // (PyTorch's amsgrad optimizer cannot step on a state without it: a KeyError).
  const fileAmsgrad = Object.keys(file.tensors).some((name) => name.startsWith(OPTIMIZER_PREFIX) && localName(name) === 'max_exp_avg_sq');
  const amsgradOther = hasState && !otherKind && (layout.optimizerKind === 'adam' || layout.optimizerKind === 'adamw') && fileAmsgrad !== layout.stateNames.includes('max_exp_avg_sq');
  if (amsgradOther && !options.dropOtherOptimizerState) {
    throw new CheckpointFormatError(source, `its optimizer state is ${fileAmsgrad ? 'AMSGrad\'s (with max_exp_avg_sq)' : 'Adam\'s without AMSGrad (no max_exp_avg_sq)'}, and this network's optimizer ${fileAmsgrad ? 'has no amsgrad' : 'has amsgrad'}: the state would go on under another update; build the network with the checkpoint's optimizer (optimizerFromMetadata(metadata) gives it, with its settings), or load with { dropOtherOptimizerState: true }`);
  }
  // RMSprop's state without a momentum buffer or grad_avg this network's keeps (momentum, centered):
  // PyTorch's RMSprop cannot step on it either (a KeyError); the other way round is another
  // optimizer's state, below.
  const fileStates = new Set(Object.keys(file.tensors).filter((name) => name.startsWith(OPTIMIZER_PREFIX)).map(localName));
  const rmspropMissing = hasState && !otherKind && layout.optimizerKind === 'rmsprop' ? layout.stateNames.filter((n) => !fileStates.has(n)) : [];
  if (rmspropMissing.length > 0 && !options.dropOtherOptimizerState) {
    const cause = (n: string) => (n === 'grad_avg' ? 'RMSprop without centered' : n === 'momentum_buffer' ? 'RMSprop without momentum' : "another optimizer's state");
    throw new CheckpointFormatError(source, `its optimizer state has no ${rmspropMissing.join(' or ')} (${[...new Set(rmspropMissing.map(cause))].join('; ')}), which this network's RMSprop keeps: the state would go on under another update; build the network with the checkpoint's optimizer (optimizerFromMetadata(metadata) gives it, with its settings), or load with { dropOtherOptimizerState: true }`);
  }
  if (!options.dropOtherOptimizerState) {
    // Another optimizer's state would be dropped without a word (PyTorch's optimizer.load_state_dict refuses too).
    const other = Object.keys(file.tensors).find((name) => name.startsWith(OPTIMIZER_PREFIX) && !layout.stateNames.includes(localName(name)));
    if (other !== undefined || otherKind) {
      const saved = file.metadata.optimizer ? ` (its __metadata__.optimizer: ${file.metadata.optimizer})` : '';
      const sameKind = file.metadata.optimizer !== undefined && file.metadata.optimizer === layout.optimizerKind;
      const what = other !== undefined
        ? sameKind
          ? `tensor '${other}' is ${layout.optimizerKind} state that this network's ${layout.optimizerKind} (other settings; state: ${layout.stateNames.join(', ')}) does not keep`
          : `tensor '${other}' is another optimizer's state${saved}, which this network's optimizer (state: ${layout.stateNames.join(', ')}) would drop`
        : `its optimizer state is ${file.metadata.optimizer}'s, and this network's optimizer is ${layout.optimizerKind}: the state would go on under another update`;
      throw new CheckpointFormatError(source, `${what}; build the network with the checkpoint's optimizer (optimizerFromMetadata(metadata) gives it, with its settings), or load with { dropOtherOptimizerState: true }`);
    }
  }
  // The file's tensors this network does not have (refused below; named with a missing one).
  const known = new Set<string>([...layout.parameters.map((p) => p.name), ...layout.buffers.map((b) => b.name)]);
  for (const b of layout.buffers) if (localName(b.name) === 'running_mean') known.add(sibling(b.name, 'num_batches_tracked'));
  const parameterOf = (name: string) => name.slice(OPTIMIZER_PREFIX.length, name.lastIndexOf('.'));
  const parameterNames = new Set(layout.parameters.map((p) => p.name));
  const unexpected = Object.keys(file.tensors).filter((name) => !known.has(name) && !(name.startsWith(OPTIMIZER_PREFIX) && parameterNames.has(parameterOf(name))));
  const take = (name: string, shape: readonly number[], optional = false): Float32Array | undefined => {
    const t = file.tensors[name];
    if (!t) {
      if (optional) return undefined;
      // As PyTorch's load_state_dict reports missing and unexpected keys together: a renamed module shows as both.
      const instead = unexpected.filter((n) => !n.startsWith(OPTIMIZER_PREFIX));
      const hint = instead.length === 0 ? '' : `; the file has ${instead.length === 1 ? 'a tensor' : `${instead.length} tensors`} this network lacks (${instead.slice(0, 2).map((n) => `'${n}'`).join(', ')}${instead.length > 2 ? ', …' : ''}): another network, or a module named otherwise`;
      throw new CheckpointFormatError(source, `tensor '${name}' is missing (expected F32 [${shape.join(', ')}])${hint}`);
    }
    // F64 (a PyTorch model after .double()) is rounded to float32, as load_state_dict's copy_ does;
    // F16 and BF16 (after .half(), .bfloat16()) are float32 values exactly.
    if (t.dtype !== 'F32' && t.dtype !== 'F64' && t.dtype !== 'F16' && t.dtype !== 'BF16') {
      throw new CheckpointFormatError(source, `tensor '${name}': dtype is ${t.dtype}, expected F32 (or F64, rounded to float32; or F16 or BF16, widened)`);
    }
    if (t.shape.join(',') !== shape.join(',')) {
      throw new CheckpointFormatError(source, `tensor '${name}': shape is [${t.shape.join(', ')}], expected [${shape.join(', ')}]`);
    }
    const data = t.dtype === 'F32' ? t.data : t.dtype === 'F64' ? Float32Array.from(t.data) : halfToFloat32(t);
    const bad = badValue(data, rulesFor(name));
    if (bad) throw new CheckpointFormatError(source, `tensor '${name}': ${bad}${t.dtype === 'F64' ? ' (rounded to float32)' : ''}`);
    return data;
  };
  const values = new Map<string, Float32Array | undefined>();
  for (const p of layout.parameters) {
    values.set(p.name, take(p.name, p.shape));
    // Another optimizer's state, dropped where asked: this network's starts at zero.
    for (const state of layout.stateNames) values.set(stateName(p.name, state), otherKind || amsgradOther || rmspropMissing.length > 0 ? undefined : take(stateName(p.name, state), p.shape, true));
  }
  for (const b of layout.buffers) values.set(b.name, take(b.name, b.shape));
  // A tensor this network does not have (after the missing ones, which say more): another, larger
  // network's file, which would load in part. Refused, as PyTorch's strict load_state_dict does.
  if (unexpected.length > 0) {
    const shown = unexpected.slice(0, 3).map((n) => `'${n}'`).join(', ');
    throw new CheckpointFormatError(source, `${unexpected.length === 1 ? 'tensor' : `${unexpected.length} tensors`} ${shown}${unexpected.length > 3 ? ', …' : ''} ${unexpected.length === 1 ? 'is' : 'are'} not this network's (PyTorch's strict load_state_dict refuses unexpected keys too): the file holds another network`);
  }
  // The optimizer's state whole (every state of every parameter) or none (a fresh optimizer): a
  // part missing would start at zero while the rest goes on (Adam's exp_avg_sq at 0 under its
  // bias correction: huge first updates).
  const states = layout.parameters.flatMap((p) => layout.stateNames.map((state) => stateName(p.name, state)));
  const present = states.find((name) => values.get(name) !== undefined);
  const absent = states.find((name) => values.get(name) === undefined);
  if (present !== undefined && absent !== undefined) {
    throw new CheckpointFormatError(source, `tensor '${absent}' is missing while '${present}' is there: the optimizer's state must be saved whole (every state of every parameter) or not at all`);
  }
  return { metadata: file.metadata, info, values };
}

/**
 * Loads a checkpoint's bytes into the network (`checkCheckpoint` first: nothing is written to the
 * network unless the whole file checks out); `network.stepsTaken` becomes its steps, and its
 * optimizer's steps go on from the file's `optimizer_steps` (from 0 where the file holds no state
 * for it: `optimizerOrigin`). The network's own settings stay (its seed, optimizer, schedule and
 * loss, which PyTorch's optimizer.load_state_dict would replace): `differences` lists those the
 * file records otherwise — a continuation as the file's run builds the network with
 * `optimizerFromMetadata(metadata)` and `seed: info.seed`, as the CLI's --init does.
 */
export function loadCheckpoint(network: Network, bytes: Uint8Array, source: string, options: LoadOptions = {}): { metadata: Record<string, string>; info: CheckpointInfo; differences: string[] } {
  const layout: CheckpointLayout = { parameters: network.parameters, stateNames: network.optimizer.stateNames, buffers: network.buffers, optimizerKind: network.optimizer.kind };
  const { metadata, info, values } = checkCheckpoint(layout, bytes, source, options);
  // A stepped schedule goes on from the file's rates where the file's schedule is the network's (its
  // settings; the functions are the network's) at the file's rate; else from the network's own.
  const mine = network.optimizer.schedule;
  const same = isStepped(mine) && metadata.schedule === mine.kind && scheduleMetadata(mine).schedulers === metadata.schedulers && Number(metadata.lr) === network.optimizer.lr;
  const stepped = same ? steppedFromMetadata(metadata, source, network.optimizer.paramGroups.length + 1) : undefined;
  const writes: [Tensor, Float32Array][] = [];
  for (const p of network.parameters) {
    writes.push([p.value, values.get(p.name)!]);
    // A state the file lacks starts afresh (Adagrad's sum at its initial_accumulator_value, any other at 0).
    for (const [state, tensor] of Object.entries(p.state)) writes.push([tensor, values.get(stateName(p.name, state)) ?? new Float32Array(tensor.length).fill(initialStateValue(network.optimizer, state))]);
  }
  for (const b of network.buffers) writes.push([b.value, values.get(b.name)!]);
  for (const [tensor, data] of writes) network.ctx.write(tensor, data);
  network.stepsTaken = info.steps;
  network.lrFactor = info.lrFactor;
  // ReduceLROnPlateau goes on from the file's state where both have that schedule (a network
  // whose schedule is another, or a file without the state: the network's own).
  const schedule = network.optimizer.schedule;
  if (info.plateau && schedule.kind === 'plateau' && metadata.schedule === 'plateau') {
    // Another learning rate asked of the network: its rate from here (the counters go on); another
    // metric or mode: the best and the counters start again (they were another quantity's).
    const lr = metadata.lr !== undefined && Number(metadata.lr) !== network.optimizer.lr ? network.optimizer.lr : info.plateau.lr;
    const sameMetric = (metadata.plateau_metric ?? PLATEAU_DEFAULTS.metric) === (schedule.metric ?? PLATEAU_DEFAULTS.metric) && (metadata.plateau_mode ?? plateauMode(schedule)) === plateauMode(schedule);
    network.plateau = sameMetric ? { ...info.plateau, lr } : { ...initialPlateau(schedule, lr), lastEpoch: info.plateau.lastEpoch };
  }
  if (stepped) network.scheduleFrom = stepped;
  // No optimizer state loaded (a PyTorch state_dict, or another optimizer's dropped): a fresh
  // optimizer, whose steps count from here, as a new torch.optim optimizer's would.
  const restored = network.parameters.some((p) => Object.keys(p.state).some((state) => values.get(stateName(p.name, state)) !== undefined));
  network.optimizerOrigin = restored ? info.steps - info.optimizerSteps : info.steps;
  return { metadata, info, differences: settingDifferences(network, metadata, info) };
}

/** The run settings a checkpoint records otherwise than the network has them: `seed 7 (this network's 99)`. */
function settingDifferences(network: Network, metadata: Record<string, string>, info: CheckpointInfo): string[] {
  const mine: Record<string, string> = { loss: network.plan.loss, label_smoothing: String(network.plan.labelSmoothing), ...lossParameterMetadata(network.plan), ...optimizerMetadata(network.optimizer) };
  const out: string[] = [];
  if (info.seed !== undefined && info.seed !== network.seed) out.push(`seed ${info.seed} (this network's ${network.seed}: other dropout masks from here on)`);
  // A file that records its loss records a label smoothing where it had one: none is 0.
  const recorded = metadata.loss !== undefined && metadata.label_smoothing === undefined ? { ...metadata, label_smoothing: '0' } : metadata;
  // Numbers compare as numbers ('0.10' is 0.1), lists by their numbers (betas in order; milestones as PyTorch reads them, in any order).
  const numbers = (text: string, sort: boolean) => {
    if (text === '') return '';
    const list = text.split(',').map(Number);
    return (sort ? list.sort((a, b) => a - b) : list).join(',');
  };
  for (const key of ['loss', 'label_smoothing', 'smooth_l1_beta', 'huber_delta', 'log_target', 'optimizer', 'lr', 'momentum', 'dampening', 'nesterov', 'weight_decay', 'betas', 'eps', 'amsgrad', 'alpha', 'centered', 'lr_decay', 'initial_accumulator_value', 'momentum_decay', 'rho', 'schedule', 'step_size', 'milestones', 'gamma', 't_max', 't_0', 't_mult', 'eta_min', 'start_factor', 'end_factor', 'total_iters', 'factor', 'power', 'max_lr', 'total_steps', 'pct_start', 'div_factor', 'final_div_factor', 'cycle_momentum', 'base_momentum', 'max_momentum', 'plateau_mode', 'plateau_factor', 'plateau_patience', 'plateau_threshold', 'plateau_threshold_mode', 'plateau_cooldown', 'plateau_min_lr', 'plateau_eps', 'plateau_metric', 'schedulers']) {
    const theirs = recorded[key];
    if (theirs === undefined || mine[key] === undefined) continue;
    const list = key === 'betas' || key === 'milestones';
    const same = theirs === mine[key] || (list ? numbers(theirs, key === 'milestones') === numbers(mine[key]!, key === 'milestones') : theirs.trim() !== '' && Number(theirs) === Number(mine[key]));
    if (!same) out.push(`${key} ${theirs} (this network's ${mine[key]})`);
  }
  // Per-class weights and pos_weight: a file that records its loss records them where it had them (none recorded: none).
  for (const key of ['class_weights', 'pos_weight'] as const) {
    const theirs = metadata[key] ?? (metadata.loss !== undefined ? 'none' : undefined);
    const ours = mine[key] ?? 'none';
    if (theirs === undefined || theirs === ours || (theirs !== 'none' && ours !== 'none' && numbers(theirs, false) === numbers(ours, false))) continue;
    out.push(`${key} ${theirs} (this network's ${ours})`);
  }
  // The ignore index, likewise: none recorded beside a loss is none.
  {
    const theirs = metadata.ignore_index ?? (metadata.loss !== undefined ? 'none' : undefined);
    const ours = mine.ignore_index ?? 'none';
    if (theirs !== undefined && theirs !== ours && !(theirs.trim() !== '' && Number(theirs) === Number(ours))) out.push(`ignore_index ${theirs} (this network's ${ours})`);
  }
  // A warm-up: this engine records one whenever there is one (none recorded by it is none).
  if (metadata.producer === 'webgpu-backprop' || metadata.warmup_epochs !== undefined) {
    for (const key of ['warmup_epochs', 'warmup_start_factor']) {
      const [theirs, ours] = [metadata[key], mine[key]];
      if (theirs === ours || (theirs !== undefined && ours !== undefined && Number(theirs) === Number(ours))) continue;
      out.push(`${key} ${theirs ?? 'none'} (this network's ${ours ?? 'none'})`);
    }
  }
  // Param groups' weight decays and learning rates: this engine records them whenever a parameter's is apart (none: none).
  for (const key of ['weight_decay_groups', 'lr_groups'] as const) {
    if (metadata[key] === undefined && metadata.producer !== 'webgpu-backprop') continue;
    const canonical = (text: string | undefined) => JSON.stringify(Object.entries(text === undefined ? {} : (JSON.parse(text) as Record<string, number>)).sort(([a], [b]) => (a < b ? -1 : 1)));
    const [theirs, ours] = [metadata[key], paramGroupsMetadata(network)[key]];
    if (canonical(theirs) !== canonical(ours)) out.push(`${key} ${theirs ?? 'none'} (this network's ${ours ?? 'none'})`);
  }
  // This engine records its clipping whenever there is one: none recorded by it is none.
  if (info.clipping !== undefined || metadata.producer === 'webgpu-backprop') {
    const [theirs, ours] = [info.clipping, network.clipping].map((c) => (c ? describeClipping(c) : 'no gradient clipping'));
    if (theirs !== ours) out.push(`${theirs} (this network's ${ours})`);
  }
  return out;
}
