/**
 * quietStartupNoise (src/node/noise.ts), for a program that embeds the package: called first, it
 * runs the script again in a child whose stderr passes through the noise filter and exits with
 * the child's status; in the child it returns and the program goes on.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { gpuTest } from '../helpers/gpu.js';

const NOISE = new URL('../../src/node/noise.ts', import.meta.url).pathname;
const DEVICE = new URL('../../src/node/device.ts', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'quiet-startup-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// A stand-in program: what it prints before and after the call, noise and a real message on
// stderr, its arguments and whether it runs as the child on stdout, the exit status it is given.
const program = join(dir, 'program.mjs');
writeFileSync(
  program,
  [
    `import { quietStartupNoise } from ${JSON.stringify(NOISE)};`,
    "process.stdout.write('before\\n');",
    'await quietStartupNoise();',
    "process.stderr.write('Warning: maxDynamicUniformBuffersPerPipelineLayout artificially reduced from 1000000 to 16.\\n');",
    "process.stderr.write('XDG_RUNTIME_DIR is invalid or not set\\n');",
    "process.stderr.write('program: a real message\\n');",
    "process.stdout.write(JSON.stringify({ args: process.argv.slice(2), child: process.env.WEBGPU_BACKPROP_CHILD ?? null }) + '\\n');",
    'process.exit(Number(process.argv[2]));',
  ].join('\n'),
);

const run = (script: string, args: string[], env: NodeJS.ProcessEnv = {}) =>
  spawnSync(process.execPath, ['--import', './bin/register.js', script, ...args], {
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, WEBGPU_BACKPROP_VERBOSE: '', WEBGPU_BACKPROP_CHILD: '', ...env },
  });

describe('quietStartupNoise', () => {
  it('runs the program again as a child: its noise dropped, the rest, its arguments and its exit status kept', () => {
    const r = run(program, ['3', '--flag']);
    expect(r.status).toBe(3);
    expect(r.stderr).toBe('program: a real message\n');
    // The parent's own output before the call, then the child's whole run.
    expect(r.stdout.split('\n').filter(Boolean)).toEqual(['before', 'before', JSON.stringify({ args: ['3', '--flag'], child: '1' })]);
  });

  it('in the child (or with WEBGPU_BACKPROP_VERBOSE=1 where no Vulkan loader must be added) it returns at once and filters nothing', () => {
    const child = run(program, ['0'], { WEBGPU_BACKPROP_CHILD: '1' });
    expect(child.status).toBe(0);
    expect(child.stderr).toMatch(/^Warning: maxDynamic/m);
    expect(child.stderr).toMatch(/XDG_RUNTIME_DIR/);
    expect(child.stdout.split('\n').filter(Boolean)).toEqual(['before', JSON.stringify({ args: ['0'], child: '1' })]);

    const verbose = run(program, ['5'], { WEBGPU_BACKPROP_VERBOSE: '1' });
    expect(verbose.status).toBe(5);
    expect(verbose.stderr).toMatch(/^Warning: maxDynamic/m);
    expect(verbose.stderr).toMatch(/program: a real message/);
  });

  // With a real device: whatever Dawn and the driver write to the native stderr at start-up
  // (four `Warning: …` lines on lavapipe) stays off; the program's own output comes through.
  gpuTest('keeps Dawn’s own start-up warnings off a program that makes a device', async () => {
    const device = join(dir, 'device.mjs');
    writeFileSync(
      device,
      [
        `import { quietStartupNoise } from ${JSON.stringify(NOISE)};`,
        `import { createNodeContext } from ${JSON.stringify(DEVICE)};`,
        'await quietStartupNoise();',
        'const ctx = await createNodeContext({ announce: false });',
        "process.stdout.write(`adapter ${ctx.adapter.summary.length > 0}\\n`);",
        'ctx.destroy();',
      ].join('\n'),
    );
    const r = run(device, []);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe('adapter true\n');
    expect(r.stderr).not.toMatch(/^Warning: /m);
    expect(r.stderr).not.toMatch(/XDG_RUNTIME_DIR/);
  }, 120_000);
});
