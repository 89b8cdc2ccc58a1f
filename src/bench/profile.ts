/**
 * Per-dispatch GPU times. With the adapter's `timestamp-query` feature every dispatch gets its own
 * compute pass with timestamps at its beginning and end, resolved and read back once; without it,
 * each dispatch is submitted alone and timed by the wall clock (dispatch overhead included).
 * Either way the result says which it was.
 */
import type { Dispatch, GpuContext } from '../gpu/context.js';

export type TimingSource = 'timestamp-query' | 'wall-clock';

export interface DispatchTime {
  readonly label: string;
  /** Median over the repeats, in ms. */
  readonly ms: number;
  /** The dispatch's bound bytes (Dispatch.bytes), 0 where it does not say. */
  readonly bytes: number;
}

export interface DispatchProfile {
  readonly source: TimingSource;
  readonly dispatches: readonly DispatchTime[];
}

/** The median of a non-empty list. */
export const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

/** Times each of `dispatches` (in order, as one step), `repeats` times; medians per dispatch. */
export async function profileDispatches(ctx: GpuContext, dispatches: readonly Dispatch[], options: { repeats?: number } = {}): Promise<DispatchProfile> {
  const repeats = options.repeats ?? 3;
  const samples: number[][] = dispatches.map(() => []);
  if (ctx.device.features.has('timestamp-query')) {
    const count = dispatches.length * 2;
    const querySet = ctx.device.createQuerySet({ label: 'profile timestamps', type: 'timestamp', count });
    const resolve = ctx.device.createBuffer({ label: 'profile resolve', size: count * 8, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC });
    const staging = ctx.device.createBuffer({ label: 'profile read-back', size: count * 8, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    try {
      for (let r = 0; r < repeats; r++) {
        ctx.submit('profile step', (encoder) => {
          dispatches.forEach((d, i) => {
            const pass = encoder.beginComputePass({ label: d.label, timestampWrites: { querySet, beginningOfPassWriteIndex: 2 * i, endOfPassWriteIndex: 2 * i + 1 } });
            d.record(pass);
            pass.end();
          });
          encoder.resolveQuerySet(querySet, 0, count, resolve, 0);
          encoder.copyBufferToBuffer(resolve, 0, staging, 0, count * 8);
        });
        await ctx.submitted();
        await staging.mapAsync(GPUMapMode.READ);
        const stamps = new BigUint64Array(staging.getMappedRange().slice(0));
        staging.unmap();
        ctx.throwIfFailed();
        dispatches.forEach((_, i) => samples[i]!.push(Number(stamps[2 * i + 1]! - stamps[2 * i]!) / 1e6));
      }
    } finally {
      querySet.destroy();
      resolve.destroy();
      staging.destroy();
    }
    return { source: 'timestamp-query', dispatches: dispatches.map((d, i) => ({ label: d.label, ms: median(samples[i]!), bytes: d.bytes ?? 0 })) };
  }
  for (let r = 0; r < repeats; r++) {
    for (const [i, d] of dispatches.entries()) {
      await ctx.sync();
      const t0 = performance.now();
      ctx.submit(d.label, (encoder) => {
        const pass = encoder.beginComputePass({ label: d.label });
        d.record(pass);
        pass.end();
      });
      await ctx.sync();
      samples[i]!.push(performance.now() - t0);
    }
  }
  return { source: 'wall-clock', dispatches: dispatches.map((d, i) => ({ label: d.label, ms: median(samples[i]!), bytes: d.bytes ?? 0 })) };
}
