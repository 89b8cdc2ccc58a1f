/** Time-left estimates: an epoch's speed without its warm-up (compiling, a GPU's slower first steps). */
import { describe, expect, test } from 'vitest';
import { STEADY_SECONDS, SteadyRate, formatDuration, timeLeft } from '../../src/train/eta.js';
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
    // The H200's first epoch (eighteenth sitting; reports every 9 steps at batch 128): compiling
    // until step 9, then windows at about 10,000, 20,000 and 30,000 samples/s, then 30,000 and 29,000.
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
    expect(window(20_000)).toBeCloseTo(20_000, 6); // the latest window's speed: 10,000 and 20,000 disagree
    expect(window(30_000)).toBeCloseTo(30_000, 6); // 20,000 and 30,000: a third apart
    expect(window(30_000)).toBeCloseTo(30_000, 6); // agree: steady from the window before
    // Then measured over the later windows: 30,000 and 24,000 samples/s.
    const third = window(24_000);
    expect(third).toBeCloseTo((2 * 9 * 128) / ((9 * 128) / 30_000 + (9 * 128) / 24_000), 6);
    // Windows of 40–50 ms: steady, but not yet STEADY_SECONDS of it to vouch for.
    expect(rate.measured).toBe(false);
  });

  test("forgets the epoch's slow start as it goes, and vouches for the speed after STEADY_SECONDS of steady windows", () => {
    // The H200's first run (twenty-second sitting): reports every 9 steps, 25 ms apart; the
    // first windows at about 19,000 samples/s (two agreed: the CLI promised 1 min 3 s for 20
    // epochs), the rest 39,000 and 55,000 in turn (about 46,000: the epochs took 1.2 s).
    const rate = new SteadyRate();
    let samples = 9 * 128;
    let seconds = 0.185;
    const speeds: number[] = [];
    const spans: number[] = [];
    let announced: number | undefined;
    rate.of(progress(9, samples, seconds));
    for (let k = 0; k < 200; k++) {
      const speed = k < 5 ? 19_000 : k % 2 === 0 ? 39_000 : 55_000;
      samples += 9 * 128;
      seconds += (9 * 128) / speed;
      speeds.push(rate.of(progress(samples / 128, samples, seconds)));
      spans.push(seconds);
      if (announced === undefined && rate.measured) announced = k;
    }
    expect(speeds[2]).toBeCloseTo(19_000, 6); // steady too soon: the slow windows agree
    const late = (2 * 9 * 128) / ((9 * 128) / 39_000 + (9 * 128) / 55_000);
    // At the 469-step epoch's end (51 windows, 1.46 s): the later half of the windows, within 3 %
    // of 46,000, where every window since the first steady one read 39,000; not yet vouched for
    // (its later half spans 0.6 s): the CLI announces there with this speed.
    expect(Math.abs(speeds[50]! - late) / late).toBeLessThan(0.03);
    expect(announced).toBeGreaterThan(50);
    // Vouched for once the later half spans STEADY_SECONDS (twice that since the first steady window).
    expect(spans[announced!]! - spans[1]!).toBeGreaterThanOrEqual(2 * STEADY_SECONDS - 0.1);
    expect(spans[announced! - 1]! - spans[1]!).toBeLessThan(2 * STEADY_SECONDS + 0.1);
    expect(Math.abs(speeds[announced!]! - late) / late).toBeLessThan(0.02);
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
