/**
 * Debian's python3-torch for the tests that compare with PyTorch itself: where it is missing they
 * skip, saying so. `runTorch` runs a script with a JSON spec on stdin and parses its JSON stdout
 * (NaN as Python's json writes it).
 */
import { spawnSync } from 'node:child_process';
import { expect } from 'vitest';

export const python = '/usr/bin/python3';
export const hasTorch = spawnSync(python, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0;

/** Skips the test where PyTorch is not installed. */
export function skipWithoutTorch(ctx: { skip: (note?: string) => void }): void {
  if (!hasTorch) ctx.skip(`${python} has no PyTorch (apt-get install python3-torch)`);
}

/** Runs `code` with `spec` as JSON on stdin; its stdout parsed as JSON (NaN read back as NaN). */
export function runTorch<T>(code: string, spec: unknown): T {
  const run = spawnSync(python, ['-c', code], { input: JSON.stringify(spec, (_, v) => (typeof v === 'number' && Number.isNaN(v) ? '__NaN__' : v)).replace(/"__NaN__"/g, 'NaN'), encoding: 'utf8', maxBuffer: 64 << 20 });
  expect(run.status, run.stderr).toBe(0);
  return JSON.parse(run.stdout.replace(/\bNaN\b/g, '"__NaN__"'), (_, v) => (v === '__NaN__' ? NaN : v)) as T;
}

/** float32 values as their bits, signed (JSON has no ∞), for a script that reads them back with `torch.tensor(bits, dtype=torch.int32).view(torch.float32)`. */
export const float32Bits = (values: ArrayLike<number>): number[] => Array.from(new Int32Array(Float32Array.from(values).buffer));

/** float32 bits (signed or not: a script's `t.view(torch.int32)`) as numbers. */
export const fromFloat32Bits = (bits: number[]): number[] => Array.from(new Float32Array(Uint32Array.from(bits, (b) => b >>> 0).buffer));

/** One float32 ulp at |t| (2^−149 for subnormals and 0). */
export const ulp32 = (t: number): number => 2 ** Math.max(Math.floor(Math.log2(Math.abs(t))) - 23, -149);

/**
 * Where `ours` is off PyTorch's float32 `theirs` in a tail where PyTorch rounds a subnormal factor
 * to whole 2^−149 (`unit`: what one of those is worth in the result), a message; else undefined.
 * Allowed: 4 ulp of the result and one `unit`. A subnormal result of PyTorch's is not compared
 * (lavapipe's exp flushes those to 0: the README's tail note); 0, ∞ and NaN must be the same.
 */
export function tailMismatch(ours: number, theirs: number, unit: number): string | undefined {
  if (Number.isNaN(theirs) || !Number.isFinite(theirs) || theirs === 0) return Object.is(Math.abs(ours), Math.abs(theirs)) || (Number.isNaN(theirs) && Number.isNaN(ours)) ? undefined : `${ours} against ${theirs}`;
  if (Math.abs(theirs) < 2 ** -126) return undefined;
  const tol = 4 * ulp32(theirs) + unit;
  return Math.abs(ours - theirs) <= tol ? undefined : `${ours} against ${theirs} (${(Math.abs(ours - theirs) / ulp32(theirs)).toFixed(1)} ulp)`;
}
