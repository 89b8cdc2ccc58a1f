/**
 * The one comparison helper: |actual − expected| ≤ atol + rtol·|expected|, element-wise.
 * A failure names the label, the worst index, both values and the tolerance.
 */
import { expect } from 'vitest';

export interface Tolerance {
  readonly atol: number;
  readonly rtol: number;
}

/** Named presets. f32 GPU results against float64 references. */
export const TOLERANCE = {
  /** A forward result: a few f32 roundings. */
  forward: { atol: 1e-6, rtol: 1e-5 },
  /** A gradient: sums of products, more roundings. */
  gradient: { atol: 1e-5, rtol: 1e-4 },
  /** Exact: integer results, copies. */
  exact: { atol: 0, rtol: 0 },
} as const satisfies Record<string, Tolerance>;

export function allCloseReport(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: Tolerance): string | undefined {
  if (actual.length !== expected.length) return `length ${actual.length}, expected ${expected.length}`;
  let worst = -1;
  let worstExcess = 0;
  let failures = 0;
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    const limit = tol.atol + tol.rtol * Math.abs(e);
    const err = Math.abs(a - e);
    if (!(err <= limit)) {
      failures++;
      const excess = Number.isNaN(err) ? Infinity : err - limit;
      if (worst < 0 || excess > worstExcess) {
        worst = i;
        worstExcess = excess;
      }
    }
  }
  if (worst < 0) return undefined;
  return `${failures} of ${expected.length} elements differ; worst at [${worst}]: got ${actual[worst]}, expected ${expected[worst]} (|Δ| = ${Math.abs(actual[worst]! - expected[worst]!)}, allowed ${tol.atol} + ${tol.rtol}·|e|)`;
}

export function expectAllClose(label: string, actual: ArrayLike<number>, expected: ArrayLike<number>, tol: Tolerance): void {
  const report = allCloseReport(actual, expected, tol);
  expect(report, `${label}: ${report}`).toBeUndefined();
}

/** Deterministic pseudo-random numbers for test data (mulberry32). */
export function randomArray(length: number, seed: number, lo = -1, hi = 1): Float64Array {
  let s = seed >>> 0;
  const out = new Float64Array(length);
  for (let i = 0; i < length; i++) {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    const u = ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    out[i] = lo + (hi - lo) * u;
  }
  return out;
}

/** Rounds float64 values to float32, so a reference sees the inputs the GPU sees. */
export function f32(values: ArrayLike<number>): Float64Array {
  return Float64Array.from(Float32Array.from(values as ArrayLike<number>));
}

/** The largest |ours − theirs| over the largest |theirs| (the difference itself where theirs is all 0); the lengths must agree. */
export function scaledError(ours: ArrayLike<number>, theirs: ArrayLike<number>): number {
  if (ours.length !== theirs.length) throw new Error(`scaledError: ${ours.length} values against ${theirs.length}`);
  let [diff, scale] = [0, 0];
  for (let k = 0; k < theirs.length; k++) {
    diff = Math.max(diff, Math.abs(ours[k]! - theirs[k]!));
    scale = Math.max(scale, Math.abs(theirs[k]!));
  }
  return diff / Math.max(scale, 1e-300);
}

/** The largest |GPU − float64| over the largest |float64| of each tensor, for the log. */
export function scaledErrors(pairs: Record<string, [ArrayLike<number>, ArrayLike<number>]>): string {
  return Object.entries(pairs)
    .map(([name, [ours, theirs]]) => `${name} ${scaledError(ours, theirs).toExponential(1)}`)
    .join(', ');
}

/** The first indices (at most 5) where two arrays' bits differ (float32 by their bits, u32 as they are), with both values: empty where they are the same bits. */
export function bitDifferences(got: ArrayLike<number>, want: ArrayLike<number>): string[] {
  expect(got.length).toBe(want.length);
  const bits = (v: ArrayLike<number>) => (v instanceof Float32Array ? new Uint32Array(v.buffer, v.byteOffset, v.length) : (v as Uint32Array));
  const [a, b] = [bits(got), bits(want)];
  const out: string[] = [];
  for (let i = 0; i < a.length && out.length < 5; i++) if (a[i] !== b[i]) out.push(`[${i}] ${got[i]} against ${want[i]}`);
  return out;
}

/** Random values with exact zeros, −0, negatives and NaNs among them (a ReLU's output, as a mask sees it). */
export function reluOutput(n: number, seed: number): Float32Array {
  const v = Float32Array.from(randomArray(n, seed));
  for (let i = 0; i < n; i += 7) v[i] = 0;
  for (let i = 3; i < n; i += 11) v[i] = -0;
  for (let i = 5; i < n; i += 13) v[i] = Number.NaN;
  return v;
}
