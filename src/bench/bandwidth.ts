/**
 * Measures the adapter's memory bandwidth with the bandwidth_probe kernel (read x, write y), after
 * checking a small run against the CPU reference. The median of `repeats` dispatches, each timed
 * by GPU timestamps where the adapter has them, else by the wall clock (GPU idle before each).
 */
import { recordPass, type GpuContext } from '../gpu/context.js';
import { bandwidthProbe } from '../kernels/probe.js';
import { bandwidthProbeRef } from '../reference/probe.js';
import { profileDispatches, type TimingSource } from './profile.js';

export interface BandwidthResult {
  /** Bytes read plus bytes written per second, in GB/s (1e9). */
  readonly gbPerSecond: number;
  readonly bytes: number;
  readonly timing: TimingSource;
}

export async function measureBandwidth(ctx: GpuContext, options: { elements?: number; repeats?: number } = {}): Promise<BandwidthResult> {
  const count = options.elements ?? 16 * 1024 * 1024;
  const kernel = await ctx.compile(bandwidthProbe);

  const checkCount = 1031;
  const data = Float32Array.from({ length: checkCount }, (_, i) => i * 0.25 - 7);
  const cx = ctx.tensor('bandwidth check x', [checkCount], { data });
  const cy = ctx.tensor('bandwidth check y', [checkCount]);
  ctx.fill(cy, NaN);
  const check = kernel.bind({ x: cx, y: cy }, { count: checkCount, scale: 2 }, 'bandwidth_probe check');
  ctx.submit('bandwidth_probe check', (e) => recordPass(e, 'bandwidth_probe check', [check]));
  const got = await ctx.read(cy);
  const want = bandwidthProbeRef(data, 2);
  cx.buffer.destroy();
  cy.buffer.destroy();
  got.forEach((v, i) => {
    if (v !== want[i]) throw new Error(`bandwidth_probe check failed at [${i}]: GPU ${v}, reference ${want[i]}`);
  });

  const x = ctx.tensor('bandwidth x', [count]);
  const y = ctx.tensor('bandwidth y', [count]);
  try {
    const bound = kernel.bind({ x, y }, { count, scale: 0.5 }, 'bandwidth_probe');
    ctx.submit('bandwidth warm-up', (e) => recordPass(e, 'bandwidth warm-up', [bound]));
    await ctx.sync();
    const profile = await profileDispatches(ctx, [bound], { repeats: options.repeats ?? 5 });
    const bytes = count * 8;
    return { gbPerSecond: bytes / (profile.dispatches[0]!.ms / 1000) / 1e9, bytes, timing: profile.source };
  } finally {
    x.buffer.destroy();
    y.buffer.destroy();
  }
}
