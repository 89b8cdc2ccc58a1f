/**
 * The divergence guard's record (shaders/lib/health.wgsl): one small u32 buffer per network that
 * the optimizer kernels (every gradient element), the training loss (batch_metrics) and the
 * running-statistics update (batchnorm_stats) write when they meet a non-finite value, at no extra
 * pass over the data. The host writes the step number
 * before each step and reads the record without stalling (with the progress snapshots) and at the
 * end of each epoch, before anything is saved.
 */

/** Slots of the record: [0] first bad step, [1] the current step, [2] the loss, [3 + k] parameter or buffer k. */
export const HEALTH_SLOTS = { first: 0, step: 1, loss: 2, parameters: 3 } as const;
/** A slot that has not seen a non-finite value. */
export const HEALTH_NONE = 0xffffffff;

export const healthLength = (parameters: number) => HEALTH_SLOTS.parameters + parameters;

/** The initial record: nothing seen. */
export function freshHealth(parameters: number): Uint32Array {
  const record = new Uint32Array(healthLength(parameters)).fill(HEALTH_NONE);
  record[HEALTH_SLOTS.step] = 0;
  return record;
}

export interface Divergence {
  /** The first step (the network's step number, 1-based) whose loss or gradient was non-finite. */
  readonly step: number;
  /** Whether that step's loss was non-finite. */
  readonly loss: boolean;
  /**
   * The parameters whose gradient (or update: the new value, the momentum or Adam's moments) was
   * non-finite at that step, in backward order (the first is where a non-finite value entered the
   * backward pass, or the last layer it reached).
   */
  readonly parameters: readonly string[];
  /** Running statistics (or, found at an epoch's end, weights) that became non-finite, by name. */
  readonly state?: readonly string[];
  /**
   * Set when found by the end-of-epoch check of the weights and statistics (a value out of bounds,
   * src/checkpoint/checkpoint.ts), not by the guard at its step: what was wrong.
   */
  readonly atEpochEnd?: string;
}

/**
 * Reads a record whose slots are `names` (the first `parameterCount` parameters', then buffers'):
 * undefined when every step so far was finite.
 */
export function decodeHealth(record: Uint32Array, names: readonly string[], parameterCount = names.length): Divergence | undefined {
  const first = record[HEALTH_SLOTS.first]!;
  if (first === HEALTH_NONE) return undefined;
  const at = names.filter((_, k) => record[HEALTH_SLOTS.parameters + k] === first);
  const parameters = at.filter((name) => names.indexOf(name) < parameterCount).reverse();
  const state = at.filter((name) => names.indexOf(name) >= parameterCount);
  return { step: first, loss: record[HEALTH_SLOTS.loss] === first, parameters, ...(state.length ? { state } : {}) };
}

/** One line: what went non-finite (the epoch and step are the caller's to add). */
export function describeDivergence(d: Divergence, parameterCount: number): string {
  const what = [d.loss ? 'the loss' : '', d.state?.length ? `${d.state[0]}${d.state.length > 1 ? ` (and ${d.state.length - 1} more tensors)` : ''}` : '', d.parameters.length ? `the gradient or update of ${d.parameters[0]}${d.parameters.length > 1 ? ` (first in the backward pass; ${d.parameters.length} of ${parameterCount} parameter tensors)` : ''}` : '']
    .filter(Boolean).join(' and ');
  return `${what} became non-finite (NaN or ±Inf)`;
}
