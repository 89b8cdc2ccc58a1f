/**
 * Node contexts made one after another leave one 'exit' listener in all, and a destroyed context's
 * device is not kept for it (src/node/device.ts, destroyAtExit); a script that never destroys its
 * context is not told at exit that its device was lost.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { gpuTest } from '../helpers/gpu.js';
import { NoAdapterError } from '../../src/gpu/errors.js';
import { createNodeContext, devicesLeftForExit } from '../../src/node/device.js';

test('twelve contexts made and destroyed in turn: one exit listener, no device left for it', async (t) => {
  const listeners = process.listenerCount('exit');
  const before = devicesLeftForExit();
  for (let i = 0; i < 12; i++) {
    let ctx;
    try {
      ctx = await createNodeContext({ announce: false });
    } catch (e) {
      if (e instanceof NoAdapterError && !process.env.CI) return t.skip('no WebGPU adapter on this machine (CI is unset)');
      throw e;
    }
    expect(devicesLeftForExit()).toBe(before + 1);
    ctx.destroy();
    await ctx.device.lost;
    expect(devicesLeftForExit(), `after context ${i + 1} was destroyed`).toBe(before);
  }
  // The first context of the process added the one listener; later ones add none.
  expect(process.listenerCount('exit') - listeners).toBeLessThanOrEqual(1);
}, 120_000);

gpuTest('a script that ends without ctx.destroy(): no "device was lost" at exit (the exit handler destroys it as ctx.destroy() does)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'device-exit-'));
  try {
    const script = join(dir, 'script.mjs');
    const device = new URL('../../src/node/device.ts', import.meta.url).pathname;
    writeFileSync(script, `import { createNodeContext } from ${JSON.stringify(device)};\nconst ctx = await createNodeContext({ announce: false });\nawait ctx.device.queue.onSubmittedWorkDone();\nconsole.log('done');\n`);
    const r = spawnSync(process.execPath, ['--import', './bin/register.js', script], { encoding: 'utf8', timeout: 60_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe('done\n');
    expect(r.stderr).not.toMatch(/device was lost/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 60_000);
