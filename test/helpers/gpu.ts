/**
 * The GPU for tests: one Node context per test file, on the adapter the runtime finds.
 * With no adapter, a GPU test skips and says why — unless CI is set, where it fails.
 */
import { afterAll, test, type TestContext } from 'vitest';
import type { GpuContext } from '../../src/gpu/context.js';
import { NoAdapterError } from '../../src/gpu/errors.js';
import { createNodeContext } from '../../src/node/device.js';

let shared: Promise<GpuContext | NoAdapterError> | undefined;

function sharedContext(): Promise<GpuContext | NoAdapterError> {
  shared ??= createNodeContext({ log: (line) => console.log(line) }).catch((e: unknown) => {
    if (e instanceof NoAdapterError && !process.env.CI) return e;
    throw e;
  });
  return shared;
}

afterAll(async () => {
  const ctx = await shared;
  if (ctx && !(ctx instanceof NoAdapterError)) ctx.destroy();
});

/** A test that needs the GPU. */
export function gpuTest(name: string, fn: (ctx: GpuContext, t: TestContext) => Promise<void>, timeout?: number): void {
  test(
    name,
    async (t) => {
      const ctx = await sharedContext();
      if (ctx instanceof NoAdapterError) {
        t.skip(`skipped: no WebGPU adapter on this machine (CI is unset). ${ctx.message.split('\n')[0]}`);
        return;
      }
      await fn(ctx, t);
      ctx.throwIfFailed();
    },
    timeout,
  );
}
