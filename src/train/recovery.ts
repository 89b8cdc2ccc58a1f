/**
 * A training run that survives what it can: a lost device and (when asked) a divergence.
 *
 * The run keeps an in-memory snapshot of the whole training state (Trainer.snapshot: weights,
 * optimizer state, running statistics, counters, the epoch's running metrics), taken at the start
 * of every epoch and every `snapshotEvery` steps; a snapshot is never taken of a diverged state.
 * - A lost device (`DeviceLostError`): a new device is created, the network, data and trainer are
 *   built on it again (`build`), the snapshot restored, and the epoch continues from the
 *   snapshot's step. Every step is a function of the state and the step's number, so the run ends
 *   bit for bit where an uninterrupted one would (on the same adapter). A loss before the first
 *   snapshot of a fresh network (no step taken: `build` makes it again from its seed) starts the
 *   run again on the new device; of a network that has trained (loaded, or a run before) it is
 *   thrown, since `build` need not make that state again. A new device that cannot be made, or
 *   the build that fails on it, is tried again twice (1 s, then 2 s later).
 * - A divergence (`DivergenceError`): with `onDivergence: 'stop'` (the default) it is thrown; with
 *   'rollback' the state at the start of the epoch (the last checkpoint's) is restored, the
 *   learning rate halved, and the run goes on from there; diverging again before that epoch is
 *   over goes back one more epoch (of the last four).
 * At most `maxRecoveries` of each; then the error is thrown.
 */
import { checkOptions } from '../layers/layer.js';
import type { GpuContext } from '../gpu/context.js';
import { DeviceLostError } from '../gpu/errors.js';
import { DivergenceError, type EpochRecord, type FitOptions, type FitResult, type Trainer, type TrainingSnapshot } from './trainer.js';

export const DIVERGENCE_POLICIES = ['stop', 'rollback'] as const;
export type DivergencePolicy = (typeof DIVERGENCE_POLICIES)[number];

export interface RecoveryOptions {
  /** A new device after a loss. */
  readonly createContext: () => Promise<GpuContext>;
  /** The network (its tuning, optimizer and seed as before), the data and the trainer, on a device. */
  readonly build: (ctx: GpuContext) => Promise<Trainer>;
  /** Steps between snapshots (default 50; every epoch's start is one too). */
  readonly snapshotEvery?: number;
  readonly onDivergence?: DivergencePolicy;
  /** How many losses and how many rollbacks to survive (default 3 each). */
  readonly maxRecoveries?: number;
  /** Told what happened and what is done about it (one line). */
  readonly log?: (line: string) => void;
  /** Told the trainer in use after a rebuild (for whoever saves checkpoints from it). */
  readonly onTrainer?: (trainer: Trainer) => void;
}

export interface RecoveredFit extends FitResult {
  /** The trainer in use at the end (a new one after a device loss). */
  readonly trainer: Trainer;
  readonly deviceLosses: number;
  readonly rollbacks: number;
}

export async function fitWithRecovery(first: Trainer, fit: FitOptions, options: RecoveryOptions): Promise<RecoveredFit> {
  checkOptions('fitWithRecovery options', options, ['createContext', 'build', 'snapshotEvery', 'onDivergence', 'maxRecoveries', 'log', 'onTrainer']);
  if (options.onDivergence !== undefined && !(DIVERGENCE_POLICIES as readonly string[]).includes(options.onDivergence)) {
    throw new RangeError(`fitWithRecovery: onDivergence must be ${DIVERGENCE_POLICIES.map((p) => `'${p}'`).join(' or ')}, got ${JSON.stringify(options.onDivergence)}`);
  }
  const { snapshotEvery = 50, onDivergence = 'stop', maxRecoveries = 3, log = () => {} } = options;
  let trainer = first;
  const startSteps = trainer.model.stepsTaken;
  const history: EpochRecord[] = [];
  let snapshot: TrainingSnapshot | undefined;
  /** Snapshots at the starts of the last epochs (the states their checkpoints were saved from). */
  const epochStarts: TrainingSnapshot[] = [];
  /** Whether the run diverged again before it got past the epoch it rolled back to. */
  let rolledBack = false;
  let resume: TrainingSnapshot | undefined;
  let best: EpochRecord | undefined;
  let deviceLosses = 0;
  let rollbacks = 0;
  /** Rollbacks since the run last got past an epoch it rolled back to (the ones tried on the divergence at hand). */
  let tried = 0;
  for (;;) {
    try {
      const stepsDone = resume ? resume.stepsTaken - startSteps : 0;
      await trainer.fit({
        ...fit,
        resume,
        maxSteps: fit.maxSteps === undefined ? undefined : fit.maxSteps - stepsDone,
        snapshotEvery,
        onSnapshot: (s) => {
          snapshot = s;
          // An epoch's start, or where this run began inside one (a cut checkpoint's step: its state is
          // the last checkpoint's too, the one to roll back to).
          if (s.step !== 0 && epochStarts.length > 0) return;
          if (epochStarts.at(-1)?.epoch !== s.epoch) [rolledBack, tried] = [false, 0];
          epochStarts.push(s);
          if (epochStarts.length > 4) epochStarts.shift();
        },
        onEpoch: async (record) => {
          // An epoch trained again after a device loss (from a snapshot inside it) ends exactly as
          // it did: it was handed on already. Handed on means onEpoch finished (its checkpoint saved).
          if (history.some((h) => h.epoch === record.epoch)) return;
          // The best over the whole run, not only since the last recovery.
          const r = { ...record, best: trainer.beatsRecord(record.test, best) };
          await fit.onEpoch?.(r);
          if (r.best) best = r;
          history.push(r);
        },
      });
      break;
    } catch (error) {
      // Before the first snapshot only a fresh network can be made again (by `build`, from its seed).
      if (!snapshot && !(error instanceof DeviceLostError && startSteps === 0)) throw error;
      if (error instanceof DeviceLostError && deviceLosses < maxRecoveries) {
        deviceLosses++;
        const from = snapshot ? `continuing from epoch ${snapshot.epoch}, step ${snapshot.step} (the last snapshot)` : 'starting the run again (it was lost before the first snapshot, the network not trained yet)';
        log(`${error.summary}: creating a new device and ${from}`);
        trainer.ctx.destroy();
        trainer = await rebuild(options, log);
        options.onTrainer?.(trainer);
        if (!snapshot) {
          resume = undefined;
          continue;
        }
      } else if (!snapshot) {
        throw error;
      } else if (error instanceof DivergenceError && onDivergence === 'rollback' && epochStarts.length > 0 && rollbacks < maxRecoveries) {
        // Back to the last checkpoint's state (the epoch's start): a state a few steps before the
        // divergence is often past saving already. Diverging again before getting past that
        // epoch goes one epoch further back (its weights may be past saving too).
        if (rolledBack && epochStarts.length > 1) epochStarts.pop();
        rolledBack = true;
        rollbacks++;
        tried++;
        snapshot = { ...epochStarts.at(-1)!, lrFactor: trainer.model.lrFactor / 2 };
        epochStarts[epochStarts.length - 1] = snapshot;
        // The epochs from there on are trained again: their records are replaced.
        const keep = history.filter((r) => r.epoch < snapshot!.epoch);
        history.splice(0, history.length, ...keep);
        best = keep.reduce<EpochRecord | undefined>((b, r) => (trainer.beatsRecord(r.test, b) ? r : b), undefined);
        log(`${error.summary}. Rolling back to epoch ${snapshot.epoch}, step ${snapshot.step} (the last good snapshot) with the learning rate halved (×${snapshot.lrFactor} of the schedule's)`);
        trainer.model.resetHealth();
      } else {
        // Rollbacks that did not get past it: its advice says so (not "roll back").
        if (!(error instanceof DivergenceError) || onDivergence !== 'rollback') throw error;
        throw tried > 0 ? error.afterRollbacks(tried) : rollbacks > 0 ? error.afterRollbacks(0, rollbacks) : error;
      }
      trainer.restore(snapshot);
      resume = snapshot;
    }
  }
  return { history, best, trainer, deviceLosses, rollbacks };
}

/** A new device and the trainer built on it; tried three times (a driver still resetting may refuse the first). */
async function rebuild(options: RecoveryOptions, log: (line: string) => void): Promise<Trainer> {
  const tries = 3;
  for (let attempt = 1; ; attempt++) {
    let ctx: GpuContext | undefined;
    try {
      ctx = await options.createContext();
      return await options.build(ctx);
    } catch (error) {
      ctx?.destroy();
      const reason = error instanceof Error && error.message ? error.message : String((error as Error)?.name ?? error);
      if (attempt === tries) throw new Error(`the device was lost, and going on on a new one failed (${tries} tries): ${reason}`, { cause: error });
      log(`making a new device and the run on it failed (${reason}); trying again in ${attempt} s`);
      await new Promise((r) => setTimeout(r, 1000 * attempt));
    }
  }
}
