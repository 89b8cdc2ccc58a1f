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
