/**
 * Measures the adapter's f32 FMA rate with the fma_peak kernel, after checking its result
 * against the CPU reference. Timed by wall clock around whole submissions (the GPU is idle
 * before each), best of `repeats`.
 */
import type { GpuContext } from '../gpu/context.js';
import { recordPass } from '../gpu/context.js';
import { FMA_PEAK_FLOP_PER_ITERATION, fmaPeak } from '../kernels/probe.js';
import { fmaPeakRef } from '../reference/probe.js';

export interface FmaPeakResult {
  readonly gflops: number;
  readonly seconds: readonly number[];
  readonly flop: number;
}

export async function measureFmaPeak(ctx: GpuContext, options: { invocations?: number; iterations?: number; repeats?: number } = {}): Promise<FmaPeakResult> {
  const count = options.invocations ?? 64 * 1024;
  const iterations = options.iterations ?? 2048;
  const repeats = options.repeats ?? 5;
  const kernel = await ctx.compile(fmaPeak);
  const params = { multiplier: 0.999, addend: 0.001 };

  const checkCount = 257;
  const check = ctx.tensor('fma_peak check', [checkCount]);
  ctx.fill(check, NaN);
  const checkKernel = kernel.bind({ out: check }, { count: checkCount, iterations: 33, ...params }, 'fma_peak check');
  ctx.submit('fma_peak check', (e) => recordPass(e, 'fma_peak check', [checkKernel]));
  const got = await ctx.read(check);
  const want = fmaPeakRef(checkCount, 33, Math.fround(params.multiplier), Math.fround(params.addend));
  got.forEach((v, i) => {
    if (!(Math.abs(v - want[i]!) <= 1e-4 * Math.abs(want[i]!) + 1e-5)) {
      throw new Error(`fma_peak check failed at [${i}]: GPU ${v}, reference ${want[i]}`);
    }
  });

  const out = ctx.tensor('fma_peak out', [count]);
  const bound = kernel.bind({ out }, { count, iterations, ...params });
  const seconds: number[] = [];
  for (let r = 0; r < repeats + 1; r++) {
    await ctx.sync();
    const t0 = performance.now();
    ctx.submit('fma_peak', (e) => recordPass(e, 'fma_peak', [bound]));
    await ctx.sync();
    if (r > 0) seconds.push((performance.now() - t0) / 1000);
  }
  const flop = count * iterations * FMA_PEAK_FLOP_PER_ITERATION;
  return { gflops: flop / Math.min(...seconds) / 1e9, seconds, flop };
}
