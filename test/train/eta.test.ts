/** Time-left estimates: an epoch's speed without its warm-up (compiling, a GPU's slower first steps). */
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
    const second = progress(5, 640, 26 + 4 * 0.45);
    expect(rate.of(second)).toBeCloseTo(512 / 1.8, 9);
    // One window: not yet known to be steady.
    expect(rate.measured).toBe(false);
    const third = progress(9, 1152, 26 + 8 * 0.45);
    expect(rate.of(third)).toBeCloseTo(1024 / 3.6, 9);
    expect(rate.measured).toBe(true);
    // 1 step left at 284 samples/s: 0.45 s, where the epoch's average (39 samples/s) says 3.3 s.
    expect(timeLeft(third, 128, 10, 0, rate.of(third)).epoch).toBeCloseTo(0.45, 6);
    expect(timeLeft(third, 128, 10, 0).epoch).toBeGreaterThan(3);
  });

  test("waits out a GPU's slower first steps: steady once two windows in a row agree within 25 %, measured from the first of them", () => {
    // The H200's first epoch (reports every 9 steps at batch 128): compiling until step 9, then
    // windows at about 10,000, 20,000 and 30,000 samples/s, then 30,000 and 29,000.
    const rate = new SteadyRate();
    let samples = 9 * 128;
    let seconds = 8.5;
    rate.of(progress(9, samples, seconds));
    const window = (samplesPerSecond: number) => {
      samples += 9 * 128;
      seconds += (9 * 128) / samplesPerSecond;
      return rate.of(progress(samples / 128, samples, seconds));
    };
    expect(window(10_000)).toBeCloseTo(10_000, 6);
    expect(rate.measured).toBe(false);
    expect(window(20_000)).toBeCloseTo(20_000, 6); // the latest window's speed: 10,000 and 20,000 disagree
    expect(rate.measured).toBe(false);
    expect(window(30_000)).toBeCloseTo(30_000, 6); // 20,000 and 30,000: a third apart
    expect(rate.measured).toBe(false);
    expect(window(30_000)).toBeCloseTo(30_000, 6); // agree: steady from the window before
    expect(rate.measured).toBe(true);
    // Then measured over every window since: 30,000, 30,000 and 24,000 samples/s.
    const third = window(24_000);
    expect(third).toBeCloseTo((3 * 9 * 128) / ((2 * 9 * 128) / 30_000 + (9 * 128) / 24_000), 6);
    expect(rate.measured).toBe(true);
  });

  test('starts again with each epoch, and falls back to the report\'s own speed when it cannot measure', () => {
    const rate = new SteadyRate();
    rate.of(progress(1, 128, 2));
    rate.of(progress(2, 256, 3));
    rate.of(progress(3, 384, 4));
    expect(rate.measured).toBe(true);
    rate.reset();
    expect(rate.measured).toBe(false);
    const p = progress(1, 128, 1);
    expect(rate.of(p)).toBe(p.samplesPerSecond);
    // A clock that went back (a resumed epoch's new timer): starts again from that report.
    const resumed = progress(3, 384, 0.5);
    expect(rate.of(resumed)).toBe(resumed.samplesPerSecond);
    expect(rate.of(progress(4, 512, 1.5))).toBeCloseTo(128, 9);
    expect(rate.measured).toBe(false);
  });

  test('formatDuration', () => {
    expect(formatDuration(75)).toBe('1 min 15 s');
    expect(formatDuration(5400)).toBe('1 h 30 min');
    expect(formatDuration(Infinity)).toBe('–');
  });
});
