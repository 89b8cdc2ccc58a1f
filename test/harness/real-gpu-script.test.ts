/**
 * scripts/real-gpu.sh, the real-GPU check (issue 11, item 7), runs where no test can: on a lent
 * machine, in one call of the device tool, which brings back at most 8 files from $OUT, named in
 * letters, digits, '.', '_' and '-' (/work/.library/device/README.md). What can be held here: the
 * script parses, answers a wrong verb with its usage, and writes no more files than come back.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const SCRIPT = 'scripts/real-gpu.sh';
/** The device tool's limit on the files it brings back from $OUT. */
const FILES_BACK = 8;

describe('scripts/real-gpu.sh', () => {
  it('parses (bash -n)', () => {
    const r = spawnSync('bash', ['-n', SCRIPT], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('answers no verb or a wrong one with its usage (exit 2), doing nothing', () => {
    for (const args of [[], ['bogus']]) {
      const r = spawnSync('bash', [SCRIPT, ...args], { encoding: 'utf8' });
      expect(r.status).toBe(2);
      expect(r.stderr).toBe('usage: bash scripts/real-gpu.sh pack | run\n');
    }
  });

  it(`writes at most ${FILES_BACK} files into $OUT, each a name the device tool brings back`, () => {
    const text = readFileSync(SCRIPT, 'utf8');
    const names = new Set([...text.matchAll(/"\$out\/([^"]+)"/g)].map((m) => m[1]!));
    // The files it writes: run.log, the probe, the benchmarks, the tuning table, the epochs, the profile, the tests.
    expect(names.size).toBeGreaterThanOrEqual(7);
    expect(names.size).toBeLessThanOrEqual(FILES_BACK);
    for (const name of names) expect(name).toMatch(/^[A-Za-z0-9._-]+$/);
  });
});
