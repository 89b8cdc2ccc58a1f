/**
 * New tensors: zeros unless asked `empty` (src/gpu/context.ts). In Node, Dawn's lazy clears are
 * off unless `driverClears` (src/node/device.ts), so the context itself must zero what it
 * promises as zeros, and a recycled buffer's old values may show through an `empty` tensor; the
 * tests' context fills `empty` tensors with NaN bits.
 */
import { expect } from 'vitest';
import type { GpuContext } from '../../src/gpu/context.js';
import { Tensor } from '../../src/gpu/tensor.js';
import { createNodeContext } from '../../src/node/device.js';
import { gpuTest } from '../helpers/gpu.js';

/**
 * Frees tensors of 7s and makes new ones, 4 rounds at each size: default tensors (f32, u32, a
 * uniform with data for its first element) must read zeros; returns how many old 7s showed in
 * the `empty` tensors and in buffers made on the device directly.
 */
async function recycle(ctx: GpuContext): Promise<{ empty: number; raw: number }> {
  const stale = { empty: 0, raw: 0 };
  for (const n of [1000, 65536]) {
    for (let round = 0; round < 4; round++) {
      const old = Array.from({ length: 4 }, () => ctx.tensor('old', [n], { data: new Float32Array(n).fill(7) }));
      await ctx.sync();
      for (const t of old) t.buffer.destroy();
      await ctx.sync();
      // Dawn reuses freed memory once the GPU is past its last use.
      await new Promise((resolve) => setTimeout(resolve, 20));
      const empty = ctx.tensor('empty', [n], { empty: true });
      const zeros = ctx.tensor('zeros', [n]);
      const u32 = ctx.tensor('zeros u32', [n], { dtype: 'u32' });
      const uniform = ctx.tensor('uniform', [n + 1], { uniform: true, data: [5] });
      const raw = ctx.device.createBuffer({ label: 'raw', size: n * 4, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC });
      stale.empty += (await ctx.read(empty)).filter((v) => v === 7).length;
      expect((await ctx.read(zeros)).every((v) => v === 0)).toBe(true);
      expect((await ctx.read(u32)).every((v) => v === 0)).toBe(true);
      const [first, ...rest] = Array.from(await ctx.read(uniform));
      expect(first).toBe(5);
      expect(rest.every((v) => v === 0)).toBe(true);
      stale.raw += (await ctx.read(new Tensor(raw, [n], 'f32', 'raw'))).filter((v) => v === 7).length;
      for (const t of [empty, zeros, u32, uniform]) t.buffer.destroy();
      raw.destroy();
    }
  }
  return stale;
}

gpuTest('in Node a new tensor is zeros even where Dawn recycles a freed buffer’s memory; an `empty` one may hold the old values', async () => {
  const ctx = await createNodeContext({ announce: false });
  try {
    const stale = await recycle(ctx);
    // The zeros above mean something only where old values do come back: Dawn's lazy clears are
    // off (were they on, the first step at batch 1024 would spend 0.5 s clearing).
    expect(stale.empty).toBeGreaterThan(0);
    expect(stale.raw).toBeGreaterThan(0);
  } finally {
    ctx.destroy();
  }
});

gpuTest('with driverClears every new buffer is zeros, `empty` tensors and buffers made on the device too', async () => {
  const ctx = await createNodeContext({ announce: false, driverClears: true });
  try {
    expect(await recycle(ctx)).toEqual({ empty: 0, raw: 0 });
  } finally {
    ctx.destroy();
  }
});

gpuTest('the tests’ context fills an `empty` tensor with NaN bits, a default one with zeros', async (ctx) => {
  const empty = ctx.tensor('empty', [37], { empty: true });
  const emptyU32 = ctx.tensor('empty u32', [5], { dtype: 'u32', empty: true });
  const zeros = ctx.tensor('zeros', [37]);
  expect((await ctx.read(empty)).every((v) => Number.isNaN(v))).toBe(true);
  expect(Array.from(await ctx.read(emptyU32))).toEqual(new Array(5).fill(0xffffffff));
  expect(Array.from(await ctx.read(zeros))).toEqual(new Array(37).fill(0));
  for (const t of [empty, emptyU32, zeros]) t.buffer.destroy();
});
