/**
 * The adapter's FMA peak in Node, as JSON, with every variant tried (chains, workgroup size):
 * `npm run bench:peak` (WEBGPU_BACKPROP_ADAPTER picks the adapter).
 */
import { measureFmaPeak } from '../src/bench/fma-peak.js';
import { createNodeContext } from '../src/node/device.js';
import { harnessArgs } from './args.js';

harnessArgs(import.meta.url, 'bench:peak', {});

const ctx = await createNodeContext();
const result = await measureFmaPeak(ctx);
const round = (x: number) => Number(x.toFixed(2));
console.log(JSON.stringify({
  adapter: ctx.adapter.summary,
  fma_gflops: round(result.gflops),
  best: { ...result.best, gflops: round(result.best.gflops) },
  variants: result.variants.map((v) => ({ ...v, gflops: round(v.gflops) })),
}));
ctx.destroy();
