/**
 * Adapter probes for benchmarks. Kernels: shaders/fma_peak.wgsl, shaders/bandwidth_probe.wgsl.
 * CPU reference: src/reference/probe.ts.
 */
import { defineKernel } from '../gpu/kernel.js';
import fmaPeakSource from '../../shaders/fma_peak.wgsl?raw';
import bandwidthProbeSource from '../../shaders/bandwidth_probe.wgsl?raw';

/** The vec4 chains of each `fma_peak` variant: 8, HALF 4, DOUBLE 16. */
export const FMA_PEAK_CHAINS = { HALF: 4, DEFAULT: 8, DOUBLE: 16 } as const;

/** Products added onto each chain a round in variant PRODUCTS. */
export const FMA_PEAK_PRODUCTS = 8;

/**
 * FLOP per invocation per iteration of `fma_peak` with `chains` vec4 chains: chains × 4 lanes × 2;
 * with `products` (variant PRODUCTS) each chain gains 8 products a round, and the 8 factors v_t a
 * step each.
 */
export const fmaPeakFlopPerIteration = (chains: number, products = false) => (products ? (chains + 1) * FMA_PEAK_PRODUCTS * 8 : chains * 8);

/**
 * out[i] = Σ lanes of C vec4 chains after `iterations` rounds of x ← x·m + a, or (PRODUCTS) of
 * v_t ← v_t·m + a, x_k ← x_k + v_t·p_kt for t = 0 … 7  (overwrites out)
 */
export const fmaPeak = defineKernel({
  name: 'fma_peak',
  source: fmaPeakSource,
  params: { count: 'u32', iterations: 'u32', multiplier: 'f32', addend: 'f32' },
  bindings: { out: { type: 'f32', access: 'read_write' } },
  workgroupSize: [64],
  grid: (p) => [p.count],
  lengths: (p) => ({ out: p.count }),
  defines: ['HALF', 'DOUBLE', 'EXPLICIT_FMA', 'PRODUCTS'],
});

/** Workgroups of `bandwidth_probe` at most: the kernel loops over the rest (grid-stride). */
export const BANDWIDTH_PROBE_MAX_WORKGROUPS = 4096;

/** y[i] = x[i] · scale over `count` elements, grid-stride (overwrites y); 8 bytes moved per element */
export const bandwidthProbe = defineKernel({
  name: 'bandwidth_probe',
  source: bandwidthProbeSource,
  params: { count: 'u32', scale: 'f32' },
  bindings: { x: { type: 'f32', access: 'read' }, y: { type: 'f32', access: 'read_write' } },
  workgroupSize: [256],
  grid: (p, wg) => [Math.min(p.count, BANDWIDTH_PROBE_MAX_WORKGROUPS * wg[0])],
  lengths: (p) => ({ x: p.count, y: p.count }),
});
