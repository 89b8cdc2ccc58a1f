/**
 * GPU timestamps in Node are not quantized: Dawn rounds them down to multiples of 65,536 ns by
 * default (timestamp_quantization, a browser's guard against timing attacks), which on a fast GPU
 * made every kernel of the seed CNN read 0, 66 or 131 µs and the tuner choose by that
 * (src/node/device.ts turns it off).
 */
import { expect } from 'vitest';
import type { Dispatch } from '../../src/gpu/context.js';
import { profileDispatches } from '../../src/bench/profile.js';
import { gpuTest } from '../helpers/gpu.js';

const QUANTUM_NS = 65_536;

gpuTest('dispatches timed by timestamp queries read times that are not multiples of 65,536 ns', async (ctx, t) => {
  if (!ctx.device.features.has('timestamp-query')) t.skip('the device has no timestamp-query feature');
  const d = ctx.device;
  const buffer = d.createBuffer({ label: 'timestamp test', size: 4 * 64 * 64, usage: GPUBufferUsage.STORAGE });
  const dispatches: Dispatch[] = [];
  for (const iterations of [10, 200, 1000, 3000]) {
    const code = `@group(0) @binding(0) var<storage, read_write> x: array<f32>;
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) g: vec3u) {
  var a = x[g.x];
  for (var i = 0u; i < ${iterations}u; i++) { a = a * 1.0001 + 0.5; }
  x[g.x] = a;
}`;
    const pipeline = d.createComputePipeline({ layout: 'auto', compute: { module: d.createShaderModule({ code }), entryPoint: 'main' } });
    const group = d.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries: [{ binding: 0, resource: { buffer } }] });
    dispatches.push({
      label: `${iterations} iterations`,
      record(pass) {
        pass.setPipeline(pipeline);
        pass.setBindGroup(0, group);
        pass.dispatchWorkgroups(64);
      },
    });
  }
  try {
    const profile = await profileDispatches(ctx, dispatches, { repeats: 3 });
    expect(profile.source).toBe('timestamp-query');
    const ns = profile.dispatches.map((p) => Math.round(p.ms * 1e6));
    expect(ns.every((v) => v >= 0)).toBe(true);
    // Quantized, every one would be a multiple of 65,536 ns (on lavapipe 65,536 to 4,259,840 ns
    // before the toggle; 68,179 to 8,291,302 after).
    expect(ns.filter((v) => v % QUANTUM_NS !== 0).length, `times in ns: ${ns.join(', ')}`).toBeGreaterThan(0);
  } finally {
    buffer.destroy();
  }
});
