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
 * `stepsPerEpoch` steps), at the progress' samples/s; evaluation time not counted.
 */
export function timeLeft(p: Progress, batch: number, stepsPerEpoch: number, epochsAfter: number): { epoch: number; run: number; perEpoch: number } {
  const rate = Math.max(1e-9, p.samplesPerSecond);
  const epoch = ((p.steps - p.step) * batch) / rate;
  const perEpoch = (stepsPerEpoch * batch) / rate;
  return { epoch, run: epoch + epochsAfter * perEpoch, perEpoch };
}
