/** fma_peak (the benchmark probe) against the float64 reference. */
import { describe, expect, test } from 'vitest';
import { recordPass } from '../../src/gpu/context.js';
import { BANDWIDTH_PROBE_MAX_WORKGROUPS, FMA_PEAK_PRODUCTS, bandwidthProbe, fmaPeak, fmaPeakFlopPerIteration } from '../../src/kernels/probe.js';
import { describeFmaPeakVariant } from '../../src/bench/fma-peak.js';
import { bandwidthProbeRef, fmaPeakRef } from '../../src/reference/probe.js';
import { expectAllClose } from '../helpers/allclose.js';
import { gpuTest } from '../helpers/gpu.js';

describe('fma_peak', () => {
  for (const [count, iterations] of [
    [1, 1],
    [65, 7],
    [300, 100],
  ] as const) {
    const variants = [
      ['DEFAULT', 8, false, false],
      ['HALF', 4, true, false],
      ['DOUBLE', 16, false, false],
      ['DOUBLE', 16, true, false],
      ['HALF', 4, true, true],
      ['DEFAULT', 8, true, true],
      ['DOUBLE', 16, false, true],
    ] as const;
    for (const [variant, chains, explicit, products] of variants) {
      gpuTest(`${count} invocations, ${iterations} iterations, ${chains} ${products ? 'sums of products' : 'chains'}${explicit ? ', fma()' : ''}`, async (ctx) => {
        const out = ctx.tensor('out', [count]);
        ctx.fill(out, NaN);
        const k = (await ctx.compile(fmaPeak, { HALF: variant === 'HALF', DOUBLE: variant === 'DOUBLE', EXPLICIT_FMA: explicit, PRODUCTS: products })).bind({ out }, { count, iterations, multiplier: 0.999, addend: 0.001 });
        ctx.submit('fma_peak test', (e) => recordPass(e, 'fma_peak test', [k]));
        // Up to 64 lanes of up to 100 f32 roundings each (900 with the 8 products and 8 steps a
        // round, whose sums reach about 170 a lane, 1.1e4 over 64 lanes), summed: looser than one
        // forward op.
        expectAllClose('out', await ctx.read(out), fmaPeakRef(count, iterations, Math.fround(0.999), Math.fround(0.001), chains, products), { atol: 2e-4, rtol: 1e-5 });
      });
    }
  }
});

describe('fma_peak FLOP count', () => {
  test('a round is 2 FLOP per lane of each vec4 multiply-add the kernel does', () => {
    // Chains: one vec4 fma per chain. Sums of products: 8 per chain, and the 8 factors' steps.
    for (const chains of [4, 8, 16]) {
      expect(fmaPeakFlopPerIteration(chains)).toBe(chains * 4 * 2);
      expect(fmaPeakFlopPerIteration(chains, true)).toBe((chains * FMA_PEAK_PRODUCTS + 8) * 4 * 2);
    }
    expect(describeFmaPeakVariant({ chains: 16, workgroupSize: 64, explicitFma: true, products: true })).toBe('16 vec4 sums of 8 products, workgroup 64, fma()');
    expect(describeFmaPeakVariant({ chains: 8, workgroupSize: 128, explicitFma: false, products: false })).toBe('8 vec4 chains, workgroup 128');
  });
});

describe('bandwidth_probe', () => {
  // 1 element; one short of a workgroup; more elements than the capped grid (so the grid-stride loop runs).
  for (const count of [1, 255, BANDWIDTH_PROBE_MAX_WORKGROUPS * bandwidthProbe.workgroupSize[0]! + 77]) {
    gpuTest(`${count} elements`, async (ctx) => {
      const data = Float32Array.from({ length: count }, (_, i) => Math.sin(i * 0.013) * 3);
      const x = ctx.tensor('x', [count], { data });
      const y = ctx.tensor('y', [count]);
      ctx.fill(y, NaN);
      const k = (await ctx.compile(bandwidthProbe)).bind({ x, y }, { count, scale: 0.5 });
      ctx.submit('bandwidth_probe test', (e) => recordPass(e, 'bandwidth_probe test', [k]));
      expectAllClose('y', await ctx.read(y), bandwidthProbeRef(data, 0.5), { atol: 0, rtol: 0 });
    });
  }
});
