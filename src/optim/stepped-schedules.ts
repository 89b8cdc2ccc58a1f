/**
 * The schedules whose rate PyTorch computes by stepping, not from a closed form: MultiplicativeLR
 * (each epoch's factor times the current rate), SequentialLR and ChainedScheduler (their
 * schedulers' chainable get_lr on the current rate), and LambdaLR (base_lr × its function, in
 * them or alone). Reproduced step by step in torch 1.13's arithmetic, one param group at a time:
 * each scheduler's step() (last_epoch + 1, get_lr on the group's rate), SequentialLR's step(0) of
 * the next scheduler at a milestone (its closed form where it has one, else get_lr at last_epoch
 * 0: a MultiplicativeLR there keeps the previous scheduler's rate) and ChainedScheduler's step()
 * of each in order. The rates are kept per schedule (`trajectory`), so a user's function is called
 * once an epoch and group, as PyTorch calls it.
 */
import { CONSTANT_LR_DEFAULTS, LINEAR_DEFAULTS, POLYNOMIAL_DEFAULTS, scheduledValues, type LrLambda, type Schedule, type ScheduleProgress } from './schedules.js';
import { shownValue } from '../layers/layer.js';

/** A scheduler a SequentialLR or ChainedScheduler may hold (and LambdaLR, MultiplicativeLR alone). */
export type SteppedPart = Exclude<Schedule, { kind: 'onecycle' | 'plateau' | 'sequential' | 'chained' }>;

/** Whether the rate comes from stepping (this module) rather than a closed form. */
export const isStepped = (schedule: Schedule): boolean => ['lambda', 'multiplicative', 'sequential', 'chained'].includes(schedule.kind);

/** Its schedulers: a composition's, else itself (a ChainedScheduler of one steps as the scheduler alone). */
const partsOf = (schedule: Schedule): readonly SteppedPart[] => (schedule.kind === 'sequential' || schedule.kind === 'chained' ? schedule.schedulers : [schedule as SteppedPart]);

/** Whether a function list (one a param group) gives each group a rate of its own. */
export const hasGroupLambdas = (schedule: Schedule): boolean => isStepped(schedule) && partsOf(schedule).some((p) => (p.kind === 'lambda' || p.kind === 'multiplicative') && Array.isArray(p.lrLambda));

/** One scheduler's counters: PyTorch's last_epoch, and CosineAnnealingWarmRestarts' T_cur and T_i. */
interface PartState {
  lastEpoch: number;
  tCur: number;
  tI: number;
}

/** Python's float `%` (the sign of the divisor), which CosineAnnealingLR's restart test uses. */
const pyMod = (a: number, n: number) => {
  const m = a % n;
  return m !== 0 && m < 0 !== n < 0 ? m + n : m;
};

/** The group's function of a LambdaLR or MultiplicativeLR, its factor at `epoch` checked (finite ≥ 0). */
function factor(part: Extract<SteppedPart, { kind: 'lambda' | 'multiplicative' }>, group: number, epoch: number): number {
  const list = Array.isArray(part.lrLambda);
  const functions = part.lrLambda as readonly LrLambda[];
  // A list of one a paramGroups entry leaves the group of the parameters in none empty (the network
  // checks it): its rate, the run's shown one, follows the first group's function.
  const fn = (list ? functions[group] ?? (group === functions.length ? functions[0] : undefined) : part.lrLambda) as LrLambda | undefined;
  const name = `${part.kind === 'lambda' ? 'LambdaLR' : 'MultiplicativeLR'}: lr_lambda${list ? `[${group}]` : ''}`;
  if (fn === undefined) throw new RangeError(`${name} does not exist: the list has ${(part.lrLambda as readonly LrLambda[]).length} functions, one a param group`);
  const v: unknown = fn(epoch);
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
    throw new RangeError(`${name}(${epoch}) gave ${shownValue(v)} at epoch ${epoch}: a factor must be a finite number ≥ 0`);
  }
  return v;
}

/**
 * One step() of a scheduler (step(0) where `zero`): its counters move now, and the returned
 * function gives the group's new rate from its current one (not called while a resumed run's
 * counters catch up, so that no function is called for an epoch before the checkpoint's).
 */
function stepPart(part: SteppedPart, st: PartState, base: number, group: number, zero: boolean): (lr: number) => number {
  if (part.kind === 'cosine-restarts') {
    // Its own step(): before its first step, or step(0), T_cur = 0 and T_i = T_0; else T_cur + 1, one restart at T_i.
    const { t0, tMult = 1, etaMin = 0 } = part;
    if (zero || st.lastEpoch < 0) [st.tCur, st.tI, st.lastEpoch] = [0, t0, 0];
    else {
      st.lastEpoch++;
      st.tCur++;
      if (st.tCur >= st.tI) [st.tCur, st.tI] = [st.tCur - st.tI, st.tI * tMult];
    }
    const [tCur, tI] = [st.tCur, st.tI];
    return () => etaMin + ((base - etaMin) * (1 + Math.cos((Math.PI * tCur) / tI))) / 2;
  }
  if (zero) {
    st.lastEpoch = 0;
    // step(epoch): _get_closed_form_lr where the scheduler has one (the engine's closed forms are PyTorch's).
    if (!['constant', 'lambda', 'multiplicative'].includes(part.kind)) return () => scheduledValues(part, base, 0, { epoch: 0, step: 0 }).lr;
  } else st.lastEpoch++;
  const t = st.lastEpoch;
  // get_lr, the chainable form, on the group's current rate.
  switch (part.kind) {
    case 'constant':
      // As LambdaLR(lambda epoch: 1.0), which the warm-up's tests hold it against.
      return () => base * 1;
    case 'lambda': {
      const f = factor(part, group, t);
      return () => base * f;
    }
    case 'multiplicative': {
      const f = t > 0 ? factor(part, group, t) : 1;
      return (lr) => (t > 0 ? lr * f : lr);
    }
    case 'step': {
      const gamma = part.gamma ?? 0.1;
      return (lr) => (t === 0 || t % part.stepSize !== 0 ? lr : lr * gamma);
    }
    case 'multistep': {
      const count = part.milestones.filter((m) => m === t).length;
      const gamma = part.gamma ?? 0.1;
      return (lr) => (count === 0 ? lr : lr * gamma ** count);
    }
    case 'exponential':
      return (lr) => (t === 0 ? lr : lr * part.gamma);
    case 'cosine': {
      const { tMax } = part;
      const etaMin = part.etaMin ?? 0;
      return (lr) => {
        if (t === 0) return lr;
        if (pyMod(t - 1 - tMax, 2 * tMax) === 0) return lr + ((base - etaMin) * (1 - Math.cos(Math.PI / tMax))) / 2;
        return ((1 + Math.cos((Math.PI * t) / tMax)) / (1 + Math.cos((Math.PI * (t - 1)) / tMax))) * (lr - etaMin) + etaMin;
      };
    }
    case 'linear': {
      const startFactor = part.startFactor ?? LINEAR_DEFAULTS.startFactor;
      const endFactor = part.endFactor ?? LINEAR_DEFAULTS.endFactor;
      const totalIters = part.totalIters ?? LINEAR_DEFAULTS.totalIters;
      return (lr) => {
        if (t === 0) return lr * startFactor;
        if (t > totalIters) return lr;
        return lr * (1 + (endFactor - startFactor) / (totalIters * startFactor + (t - 1) * (endFactor - startFactor)));
      };
    }
    case 'constant-lr': {
      const f = part.factor ?? CONSTANT_LR_DEFAULTS.factor;
      const totalIters = part.totalIters ?? CONSTANT_LR_DEFAULTS.totalIters;
      return (lr) => (t === 0 ? lr * f : t !== totalIters ? lr : lr * (1 / f));
    }
    case 'polynomial': {
      const totalIters = part.totalIters ?? POLYNOMIAL_DEFAULTS.totalIters;
      const power = part.power ?? POLYNOMIAL_DEFAULTS.power;
      return (lr) => (t === 0 || t > totalIters ? lr : lr * ((1 - t / totalIters) / (1 - (t - 1) / totalIters)) ** power);
    }
  }
}

/**
 * The group's rate at each epoch from 0 (from `from.epoch`, where a checkpoint saved the rate: its
 * counters catch up without a rate, then the saved rate goes on, as PyTorch's loaded optimizer
 * and scheduler states do).
 */
function* rates(schedule: Schedule, base: number, group: number, from?: { readonly epoch: number; readonly lr: number }): Generator<number, never> {
  const parts = partsOf(schedule);
  const states: PartState[] = parts.map(() => ({ lastEpoch: -1, tCur: 0, tI: 0 }));
  const sequential = schedule.kind === 'sequential' ? schedule.milestones : undefined;
  let lr = base;
  const live = (epoch: number) => from === undefined || epoch > from.epoch;
  // Epoch 0: a ChainedScheduler's schedulers each made in turn (each constructor's initial step on
  // the rate the one before left); a SequentialLR's first one only (the others' undone: their
  // last_epoch back to −1, the rate back to initial_lr).
  const first = sequential ? [0] : parts.map((_, k) => k);
  for (const k of first) {
    const next = stepPart(parts[k]!, states[k]!, base, group, false);
    if (live(0)) lr = next(lr);
  }
  for (let epoch = 0; ; epoch++) {
    if (from !== undefined && epoch === from.epoch) lr = from.lr;
    if (from === undefined || epoch >= from.epoch) yield lr;
    const next = epoch + 1;
    if (sequential) {
      // SequentialLR.step(): bisect_right over the milestones; at a milestone the next scheduler's step(0).
      const idx = sequential.filter((m) => m <= next).length;
      const step = stepPart(parts[idx]!, states[idx]!, base, group, idx > 0 && sequential[idx - 1] === next);
      if (live(next)) lr = step(lr);
    } else {
      for (let k = 0; k < parts.length; k++) {
        const step = stepPart(parts[k]!, states[k]!, base, group, false);
        if (live(next)) lr = step(lr);
      }
    }
  }
}

/** The rates computed so far, a schedule and (base, group, resume point) each. */
const trajectories = new WeakMap<Schedule, Map<string, { readonly from: number; readonly values: number[]; readonly next: Generator<number, never> }>>();

/**
 * The rate of a stepped schedule at `progress.epoch` for the param group `progress.group` (0 by
 * default: PyTorch's group order, which picks a function from a list) whose own rate is `base`;
 * from `progress.from` where a checkpoint saved the group's rate.
 */
export function steppedRate(schedule: Schedule, base: number, progress: ScheduleProgress): number {
  const { epoch, group = 0, from } = progress;
  if (from !== undefined && epoch < from.epoch) {
    throw new RangeError(`the schedule goes on from epoch ${from.epoch + 1} (the rate its checkpoint saved); epoch ${epoch + 1} is before it`);
  }
  let byKey = trajectories.get(schedule);
  if (!byKey) trajectories.set(schedule, (byKey = new Map()));
  const key = `${base}|${group}|${from ? `${from.epoch}|${from.lr}` : ''}`;
  let trajectory = byKey.get(key);
  if (!trajectory) byKey.set(key, (trajectory = { from: from?.epoch ?? 0, values: [], next: rates(schedule, base, group, from) }));
  while (trajectory.values.length <= epoch - trajectory.from) trajectory.values.push(trajectory.next.next().value);
  return trajectory.values[epoch - trajectory.from]!;
}
