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
 * `stepsPerEpoch` steps; or, where the run stops at a step count, `runStepsLeft` steps from here,
 * this epoch's included), at `samplesPerSecond` (default: the progress' own, over the whole epoch
 * so far); evaluation time not counted.
 */
export function timeLeft(p: Progress, batch: number, stepsPerEpoch: number, epochsAfter: number, samplesPerSecond = p.samplesPerSecond, runStepsLeft?: number): { epoch: number; run: number; perEpoch: number } {
  const rate = Math.max(1e-9, samplesPerSecond);
  const epoch = ((p.steps - p.step) * batch) / rate;
  const perEpoch = (stepsPerEpoch * batch) / rate;
  return { epoch, run: runStepsLeft === undefined ? epoch + epochsAfter * perEpoch : (runStepsLeft * batch) / rate, perEpoch };
}

/** How closely two windows' speeds must agree (of the larger) for the speed to count as steady. */
export const STEADY_AGREEMENT = 0.25;

/** How many seconds of steady windows `measured` wants before it vouches for the speed. */
export const STEADY_SECONDS = 1;

/**
 * An epoch's speed for time-left estimates, without its warm-up: the first steps also pay for
 * compiling the kernels (seconds each on a fresh machine, where the epoch's average would promise
 * minutes for a half-minute epoch), and on a GPU the steps after them ran slower still: on an H200
 * the speed between the first two reports (steps 9 to 18) read 9,983 samples/s and promised 6 s
 * an epoch, where the epochs took 2 s (30,000 samples/s). So the speed counts as steady once two
 * windows in a row (a window: from one report to the next) agree within STEADY_AGREEMENT, and is
 * then measured over the later half of the epoch's windows since the first of them, so that the
 * slow start fades out as the epoch goes on; until then, the latest window's (the first report:
 * its own). `measured` (the CLI's one-time "Expected:" line) waits for STEADY_SECONDS of that
 * span: on the H200 (twenty-second sitting) an epoch's 52 windows last 25 ms each, two of the
 * first slow ones agreed, and the line promised 1 min 3 s (19,186 samples/s) for a run whose
 * epochs took 25 s (48,000).
 */
export class SteadyRate {
  private reports: { samples: number; seconds: number }[] = [];
  private from: number | undefined;

  /** Starts a new epoch. */
  reset(): void {
    this.reports = [];
    this.from = undefined;
  }

  /** Whether two windows in a row have agreed and `of` has measured STEADY_SECONDS since. */
  get measured(): boolean {
    const r = this.reports;
    return this.from !== undefined && r.at(-1)!.seconds - r[this.start()]!.seconds >= STEADY_SECONDS;
  }

  /** The report `of` measures from once steady: the later half of those since `from`, two windows at least. */
  private start(): number {
    const last = this.reports.length - 1;
    return Math.max(this.from!, Math.min(last - 2, Math.floor((this.from! + last) / 2)));
  }

  /** Samples/s at `p`: over the later half of the steady windows, else the latest window's, else `p`'s own. */
  of(p: Progress): number {
    const last = this.reports.at(-1);
    if (last && (p.seconds < last.seconds || p.samples < last.samples)) this.reset(); // a resumed epoch's new clock
    const latest = this.reports.at(-1);
    if (!latest || (p.seconds > latest.seconds && p.samples > latest.samples)) this.reports.push({ samples: p.samples, seconds: p.seconds });
    const r = this.reports;
    const n = r.length;
    if (n < 2) return p.samplesPerSecond;
    const rate = (a: number, b: number) => (r[b]!.samples - r[a]!.samples) / (r[b]!.seconds - r[a]!.seconds);
    if (this.from === undefined && n >= 3) {
      const earlier = rate(n - 3, n - 2);
      const later = rate(n - 2, n - 1);
      if (Math.abs(earlier - later) <= STEADY_AGREEMENT * Math.max(earlier, later)) this.from = n - 3;
    }
    return rate(this.from === undefined ? n - 2 : this.start(), n - 1);
  }
}
