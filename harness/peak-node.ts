/**
 * The adapter's FMA peak in Node, as JSON: `node --import ./bin/register.js harness/peak-node.ts`
 * (WEBGPU_BACKPROP_ADAPTER picks the adapter).
 */
import { measureFmaPeak } from '../src/bench/fma-peak.js';
import { createNodeContext } from '../src/node/device.js';

const ctx = await createNodeContext();
const result = await measureFmaPeak(ctx);
console.log(JSON.stringify({ adapter: ctx.adapter.summary, fma_gflops: Number(result.gflops.toFixed(2)), seconds: result.seconds.map((s) => Number(s.toFixed(4))) }));
ctx.destroy();
