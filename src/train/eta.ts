/** How long a run will take, from its measured speed: for the CLI's progress line and the page's. */
import type { Progress } from './trainer.js';

/** 75 → "1 min 15 s", 5400 → "1 h 30 min". */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '–';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h > 0 ? `${h} h ${m} min` : m > 0 ? `${m} min ${s % 60} s` : `${s} s`;
}

/**
 * Seconds of training left in this epoch and in the run (`epochsAfter` more whole epochs of
 * `stepsPerEpoch` steps), at `samplesPerSecond` (default: the progress' own, over the whole epoch
 * so far); evaluation time not counted.
 */
export function timeLeft(p: Progress, batch: number, stepsPerEpoch: number, epochsAfter: number, samplesPerSecond = p.samplesPerSecond): { epoch: number; run: number; perEpoch: number } {
  const rate = Math.max(1e-9, samplesPerSecond);
  const epoch = ((p.steps - p.step) * batch) / rate;
  const perEpoch = (stepsPerEpoch * batch) / rate;
  return { epoch, run: epoch + epochsAfter * perEpoch, perEpoch };
}

/**
 * An epoch's speed for time-left estimates, measured from its first progress report on: the
 * first steps also pay for compiling the kernels (seconds each on a fresh machine, where the
 * epoch's average would promise minutes for a half-minute epoch).
 */
export class SteadyRate {
  private first: { samples: number; seconds: number } | undefined;
  private later = false;

  /** Starts a new epoch. */
  reset(): void {
    this.first = undefined;
    this.later = false;
  }

  /** Whether a report after the epoch's first has come, so `of` no longer counts the first steps. */
  get measured(): boolean {
    return this.later;
  }

  /** Samples/s between the epoch's first report and `p`; until a later report, `p`'s own. */
  of(p: Progress): number {
    if (!this.first) {
      this.first = { samples: p.samples, seconds: p.seconds };
      return p.samplesPerSecond;
    }
    const seconds = p.seconds - this.first.seconds;
    if (!(seconds > 0) || p.samples <= this.first.samples) return p.samplesPerSecond;
    this.later = true;
    return (p.samples - this.first.samples) / seconds;
  }
}
