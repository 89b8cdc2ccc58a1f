/**
 * A device lost under the engine (destroyed from outside, as a driver reset would): every GPU
 * operation that waits on it fails with a DeviceLostError that says what happened and what to do.
 */
import { expect } from 'vitest';
import { DeviceLostError, GpuError } from '../../src/gpu/errors.js';
import { reluForward } from '../../src/kernels/relu.js';
import { createNodeContext } from '../../src/node/device.js';
import { gpuTest } from '../helpers/gpu.js';

gpuTest('read, readMany and compile on a lost device throw DeviceLostError; our own destroy() is not a loss', async () => {
  const reported: Error[] = [];
  const ctx = await createNodeContext({ announce: false, onError: (e) => reported.push(e) });
  const t = ctx.tensor('t', [4], { data: [1, 2, 3, 4] });
  expect(Array.from(await ctx.read(t))).toEqual([1, 2, 3, 4]);
  ctx.device.destroy();
  const read = await ctx.read(t).catch((e: unknown) => e);
  expect(read).toBeInstanceOf(DeviceLostError);
  expect((read as Error).message).toMatch(/^the WebGPU device was lost \(destroyed.*\); .*Run again/);
  expect(await ctx.readMany([t]).catch((e: unknown) => e)).toBeInstanceOf(DeviceLostError);
  expect(await ctx.compile(reluForward).catch((e: unknown) => e)).toBeInstanceOf(DeviceLostError);
  expect(ctx.isLost).toBe(true);
  expect(() => ctx.throwIfFailed()).toThrow(DeviceLostError);
  expect(reported.map((e) => e.name)).toEqual(['DeviceLostError']);

  const mine = await createNodeContext({ announce: false, onError: (e) => reported.push(e) });
  mine.destroy();
  await mine.device.lost;
  expect(() => mine.throwIfLost()).toThrow(GpuError);
  expect(() => mine.throwIfLost()).not.toThrow(DeviceLostError);
  expect(reported).toHaveLength(1);
});
