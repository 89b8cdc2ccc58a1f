/**
 * The GPU for tests: one Node context per test file, on the adapter the runtime finds.
 * With no adapter, a GPU test skips and says why — unless CI is set, where it fails.
 */
import { afterAll, test, type TestContext } from 'vitest';
import { GpuContext } from '../../src/gpu/context.js';
import { NoAdapterError } from '../../src/gpu/errors.js';
import { createNodeContext } from '../../src/node/device.js';
import { SEED_CNN_INPUT, seedCnn } from '../../src/models/seed-cnn.js';
import { SGD } from '../../src/optim/optimizers.js';
import { Network } from '../../src/plan/network.js';

let shared: Promise<GpuContext | NoAdapterError> | undefined;

function sharedContext(): Promise<GpuContext | NoAdapterError> {
  // Every `empty` tensor starts as NaN bits: a kernel that reads one before writing it fails its test.
  shared ??= createNodeContext({ log: (line) => console.log(line), poisonEmpty: true }).catch((e: unknown) => {
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

/**
 * The test's device described as a CPU adapter (`software` true) or as a hardware GPU (false): the
 * layers and kernels choose their GPU or CPU paths by `adapter.software` alone, so a test holds
 * the two paths against each other on whatever adapter it runs on (lavapipe here and on CI, the
 * H200 in scripts/real-gpu.sh). The test's own context where it already is what is asked.
 */
export function describedAs(ctx: GpuContext, software: boolean): GpuContext {
  if (ctx.adapter.software === software) return ctx;
  // zeroedBuffers false: it clears what it promises as zeros itself, whatever the device does.
  return new GpuContext(ctx.device, { ...ctx.adapter, software }, { zeroedBuffers: false, poisonEmpty: true });
}

/**
 * The test's device described as an adapter without subgroups of 8: the kernels' plain path where
 * lavapipe would take their SUBGROUP variant (dense, attention, the recurrent steps), so a test
 * holds the two paths against each other.
 */
export function withoutSubgroups(ctx: GpuContext): GpuContext {
  return new GpuContext(ctx.device, { ...ctx.adapter, subgroupSize: undefined }, { zeroedBuffers: false, poisonEmpty: true });
}

/** The seed CNN compiled as the CLI does: SGD(lr, momentum 0.9 unless given), dropout 0.1. */
export function createSeedCnn(ctx: GpuContext, options: { maxBatch: number; seed: number; lr?: number; momentum?: number; fuse?: boolean }): Network {
  return new Network(ctx, seedCnn(), {
    inputShape: SEED_CNN_INPUT,
    maxBatch: options.maxBatch,
    seed: options.seed,
    fuse: options.fuse,
    optimizer: new SGD({ lr: options.lr ?? 0.01, momentum: options.momentum ?? 0.9 }),
  });
}
