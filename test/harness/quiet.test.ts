/**
 * harness/quiet.ts, the launcher of the benchmark harnesses (`npm run bench:node` and the others):
 * the harness's stdout passes untouched, its stderr without Dawn's start-up noise (shown with
 * --verbose, which the harness does not see), and its exit status is the launcher's.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const dir = mkdtempSync(join(tmpdir(), 'quiet-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// A stand-in harness: noise and a real message on stderr, its arguments on stdout, exit 3.
const script = join(dir, 'harness.mjs');
writeFileSync(
  script,
  [
    "process.stderr.write('Warning: maxDynamicUniformBuffersPerPipelineLayout artificially reduced from 1000000 to 16.\\n');",
    "process.stderr.write('XDG_RUNTIME_DIR is invalid or not set\\n');",
    "process.stderr.write('harness: a real message\\n');",
    "process.stdout.write(JSON.stringify(process.argv.slice(2)) + '\\n');",
    'process.exit(3);',
  ].join('\n'),
);

const run = (...args: string[]) =>
  spawnSync(process.execPath, ['--import', './bin/register.js', 'harness/quiet.ts', script, ...args], { encoding: 'utf8', env: { ...process.env, WEBGPU_BACKPROP_VERBOSE: '' } });

describe('harness/quiet.ts', () => {
  it('drops the start-up noise, keeps the rest, passes the arguments and the exit status', () => {
    const r = run('--batch', '8');
    expect(r.status).toBe(3);
    expect(r.stderr).toBe('harness: a real message\n');
    expect(JSON.parse(r.stdout)).toEqual(['--batch', '8']);
  });

  it('shows the noise with --verbose, which it keeps from the harness', () => {
    const r = run('--verbose', '--batch', '8');
    expect(r.status).toBe(3);
    expect(r.stderr).toMatch(/^Warning: maxDynamic/m);
    expect(r.stderr).toMatch(/XDG_RUNTIME_DIR/);
    expect(r.stderr).toMatch(/harness: a real message/);
    expect(JSON.parse(r.stdout)).toEqual(['--batch', '8']);
  });
});
