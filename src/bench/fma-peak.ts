/**
 * Measures the adapter's f32 FMA rate with the fma_peak kernel, after checking each variant's
 * result against the CPU reference. The probe is the denominator of every share-of-peak figure,
 * so it tries the shapes an adapter may prefer (4, 8 or 16 vec4 chains an invocation; workgroups
 * of 64, 128 or 256; x·m + a or an explicit fma(), which a driver may not fuse by itself; and, with
 * fma(), sums of 8 products a chain a round, the shape of the GEMMs' inner loops, which lavapipe
 * runs faster than the chains x ← x·m + a: its fma() is a multiply and an add, and only the adds
 * of a sum wait on each other) and reports the best. Work is sized so that one run takes about
 * `targetMs`; each run is timed by GPU timestamps where the adapter has them
 * (src/bench/profile.ts), else by the wall clock around it alone, median of `repeats`.
 */
import type { GpuContext } from '../gpu/context.js';
import { recordPass, type CompiledKernel } from '../gpu/context.js';
import { FMA_PEAK_CHAINS, FMA_PEAK_PRODUCTS, fmaPeak, fmaPeakFlopPerIteration } from '../kernels/probe.js';
import { fmaPeakRef } from '../reference/probe.js';
import { profileDispatches, type TimingSource } from './profile.js';

export interface FmaPeakVariant {
  readonly chains: number;
  readonly workgroupSize: number;
  /** fma() written out, or x·m + a. */
  readonly explicitFma: boolean;
  /** Sums of products (x ← x + v·p_t, fma_peak's PRODUCTS), or chains x ← x·m + a. */
  readonly products: boolean;
  readonly gflops: number;
}

export interface FmaPeakResult {
  /** The best variant's rate. */
  readonly gflops: number;
  readonly timing: TimingSource;
  readonly best: FmaPeakVariant;
  readonly variants: readonly FmaPeakVariant[];
}

const PARAMS = { multiplier: 0.999, addend: 0.001 };

export async function measureFmaPeak(
  ctx: GpuContext,
  options: {
    invocations?: number;
    repeats?: number;
    targetMs?: number;
    chains?: readonly number[];
    workgroupSizes?: readonly number[];
    forms?: readonly { readonly explicitFma: boolean; readonly products: boolean }[];
  } = {},
): Promise<FmaPeakResult> {
  const count = options.invocations ?? 64 * 1024;
  const repeats = options.repeats ?? 3;
  const targetMs = options.targetMs ?? 200;
  const variants: FmaPeakVariant[] = [];
  let timing: TimingSource = 'wall-clock';
  const forms = options.forms ?? [
    { explicitFma: false, products: false },
    { explicitFma: true, products: false },
    { explicitFma: true, products: true },
  ];
  for (const { explicitFma, products } of forms) {
    for (const chains of options.chains ?? [FMA_PEAK_CHAINS.HALF, FMA_PEAK_CHAINS.DEFAULT, FMA_PEAK_CHAINS.DOUBLE]) {
      for (const wg of options.workgroupSizes ?? [64, 128, 256]) {
        const def = { ...fmaPeak, workgroupSize: [wg] as const };
        const kernel = await ctx.compile(def, { HALF: chains === FMA_PEAK_CHAINS.HALF, DOUBLE: chains === FMA_PEAK_CHAINS.DOUBLE, EXPLICIT_FMA: explicitFma, PRODUCTS: products });
        await check(ctx, kernel, { chains, workgroupSize: wg, explicitFma, products });
        const out = ctx.tensor('fma_peak out', [count]);
        const time = async (iterations: number) => {
          const bound = kernel.bind({ out }, { count, iterations, ...PARAMS }, `fma_peak ${describeFmaPeakVariant({ chains, workgroupSize: wg, explicitFma, products })}`);
          const profile = await profileDispatches(ctx, [bound], { repeats });
          timing = profile.source;
          return profile.dispatches[0]!.ms;
        };
        // A short run to size the measured one at about targetMs.
        const probe = 64;
        const ms = await time(probe);
        const iterations = Math.max(probe, Math.round((probe * targetMs) / Math.max(ms, 0.1)));
        const seconds = (await time(iterations)) / 1000;
        variants.push({ chains, workgroupSize: wg, explicitFma, products, gflops: (count * iterations * fmaPeakFlopPerIteration(chains, products)) / seconds / 1e9 });
        out.buffer.destroy();
      }
    }
  }
  const best = variants.reduce((a, b) => (b.gflops > a.gflops ? b : a));
  return { gflops: best.gflops, timing, best, variants };
}

/**
 * The rate of one shape of the probe (a sweep's best, say) timed again: what the benchmark
 * alternates with the training step (BenchOptions.alternate), so that both are read in the same
 * minutes of a noisy machine.
 */
export async function measureFmaShape(ctx: GpuContext, shape: Pick<FmaPeakVariant, 'chains' | 'workgroupSize' | 'explicitFma' | 'products'>): Promise<number> {
  const { chains, workgroupSize, explicitFma, products } = shape;
  return (await measureFmaPeak(ctx, { chains: [chains], workgroupSizes: [workgroupSize], forms: [{ explicitFma, products }] })).gflops;
}

/** A variant in words: "16 vec4 chains, workgroup 256, fma()", "8 vec4 sums of 8 products, workgroup 128, fma()". */
export function describeFmaPeakVariant(v: Pick<FmaPeakVariant, 'chains' | 'workgroupSize' | 'explicitFma' | 'products'>): string {
  const shape = v.products ? `${v.chains} vec4 sums of ${FMA_PEAK_PRODUCTS} products` : `${v.chains} vec4 chains`;
  return `${shape}, workgroup ${v.workgroupSize}${v.explicitFma ? ', fma()' : ''}`;
}

/** The variant's result against the float64 reference on a small grid (a broken variant is never timed). */
async function check(ctx: GpuContext, kernel: CompiledKernel<(typeof fmaPeak)['params'], (typeof fmaPeak)['bindings']>, variant: Omit<FmaPeakVariant, 'gflops'>): Promise<void> {
  const { chains, products } = variant;
  const checkCount = 257;
  const out = ctx.tensor('fma_peak check', [checkCount]);
  ctx.fill(out, NaN);
  const bound = kernel.bind({ out }, { count: checkCount, iterations: 33, ...PARAMS }, 'fma_peak check');
  ctx.submit('fma_peak check', (e) => recordPass(e, 'fma_peak check', [bound]));
  const got = await ctx.read(out);
  out.buffer.destroy();
  const want = fmaPeakRef(checkCount, 33, Math.fround(PARAMS.multiplier), Math.fround(PARAMS.addend), chains, products);
  got.forEach((v, i) => {
    if (!(Math.abs(v - want[i]!) <= 1e-4 * Math.abs(want[i]!) + 1e-5)) {
      throw new Error(`fma_peak check (${describeFmaPeakVariant(variant)}) failed at [${i}]: GPU ${v}, reference ${want[i]}`);
    }
  });
}
