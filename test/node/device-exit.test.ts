/**
 * Node contexts made one after another leave one 'exit' listener in all, and a destroyed context's
 * device is not kept for it (src/node/device.ts, destroyAtExit).
 */
import { expect, test } from 'vitest';
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
