/**
 * Adapter probes for benchmarks. Kernel: shaders/fma_peak.wgsl. CPU reference: src/reference/probe.ts.
 */
import { defineKernel } from '../gpu/kernel.js';
import fmaPeakSource from '../../shaders/fma_peak.wgsl?raw';

/** FLOP per invocation per iteration of `fma_peak`: 8 chains × 4 lanes × 2. */
export const FMA_PEAK_FLOP_PER_ITERATION = 64;

/** out[i] = Σ lanes of 8 vec4 chains after `iterations` rounds of x ← x·m + a  (overwrites out) */
export const fmaPeak = defineKernel({
  name: 'fma_peak',
  source: fmaPeakSource,
  params: { count: 'u32', iterations: 'u32', multiplier: 'f32', addend: 'f32' },
  bindings: { out: { type: 'f32', access: 'read_write' } },
  workgroupSize: [64],
  grid: (p) => [p.count],
  lengths: (p) => ({ out: p.count }),
});
