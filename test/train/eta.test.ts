/** Time-left estimates: the speed after an epoch's first report, so compiling does not count. */
import { describe, expect, test } from 'vitest';
import { SteadyRate, formatDuration, timeLeft } from '../../src/train/eta.js';
import type { Progress } from '../../src/train/trainer.js';

const progress = (step: number, samples: number, seconds: number): Progress => ({ step, steps: 10, loss: 1, accuracy: 50, samples, seconds, samplesPerSecond: samples / seconds });

describe('SteadyRate', () => {
  test('leaves out the time before the first report (a cold start compiling its kernels)', () => {
    const rate = new SteadyRate();
    // Step 1 took 26 s (compiling), the next ones 0.45 s each at batch 128.
    const first = progress(1, 128, 26);
    expect(rate.of(first)).toBeCloseTo(128 / 26, 9);
    expect(rate.measured).toBe(false);
    const later = progress(5, 640, 26 + 4 * 0.45);
    expect(rate.of(later)).toBeCloseTo(512 / 1.8, 9);
    expect(rate.measured).toBe(true);
    // 5 steps left at 284 samples/s: 2.25 s, where the epoch's average (23 samples/s) says 28 s.
    expect(timeLeft(later, 128, 10, 0, rate.of(later)).epoch).toBeCloseTo(2.25, 6);
    expect(timeLeft(later, 128, 10, 0).epoch).toBeGreaterThan(25);
  });

  test('starts again with each epoch, and falls back to the report\'s own speed when it cannot measure', () => {
    const rate = new SteadyRate();
    rate.of(progress(1, 128, 2));
    rate.of(progress(2, 256, 3));
    rate.reset();
    expect(rate.measured).toBe(false);
    const p = progress(1, 128, 1);
    expect(rate.of(p)).toBe(p.samplesPerSecond);
    // A clock that went back (a resumed epoch's new timer): the report's own speed.
    const resumed = progress(3, 384, 0.5);
    expect(rate.of(resumed)).toBe(resumed.samplesPerSecond);
  });

  test('formatDuration', () => {
    expect(formatDuration(75)).toBe('1 min 15 s');
    expect(formatDuration(5400)).toBe('1 h 30 min');
    expect(formatDuration(Infinity)).toBe('–');
  });
});
