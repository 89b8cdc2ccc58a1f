/**
 * `npm run bench:profile`: where a training step's GPU time goes, per kind of dispatch (every
 * "conv weight gradient", every "batchnorm stats", …, summed over the layers) and per dispatch,
 * timed by GPU timestamps (median of 5 repeats of one step). Node, the adapter in use, the seed
 * CNN (or --model FILE), the tuning cache's tiles (--tune cached|full|off). JSON with --json.
 *   --batch N (128)   --model FILE   --tune MODE (cached)   --top N (15 dispatches listed)
 */
import { readFileSync } from 'node:fs';
import { SEED_CNN_BENCH, type BenchModel } from '../src/bench/training-step.js';
import { profileDispatches } from '../src/bench/profile.js';
import { parseModelFile } from '../src/models/model-file.js';
import { createNodeContext } from '../src/node/device.js';
import { loadMnist } from '../src/node/mnist-files.js';
import { FileTuningStore } from '../src/node/tuning-cache.js';
import { SGD } from '../src/optim/optimizers.js';
import { Network } from '../src/plan/network.js';
import { uploadSplit } from '../src/train/gpu-dataset.js';
import { Trainer } from '../src/train/trainer.js';
import { TUNE_MODES, tuneModel, type TuneMode } from '../src/tune/tuner.js';
import { harnessArgs, usageError, wholeOption } from './args.js';

const values = harnessArgs(import.meta.url, 'bench:profile', { batch: { type: 'string' }, model: { type: 'string' }, tune: { type: 'string' }, top: { type: 'string' }, json: { type: 'boolean' } });
const whole = (name: 'batch' | 'top', fallback: number) => wholeOption('bench:profile', values, name, fallback);
const batch = whole('batch', 128);
const top = whole('top', 15);
const tune = (values.tune ?? 'cached') as TuneMode;
if (!TUNE_MODES.includes(tune)) usageError('bench:profile', `--tune takes ${TUNE_MODES.join(', ')}, got '${values.tune}'`);
const m: BenchModel = values.model === undefined ? SEED_CNN_BENCH : { name: values.model, ...parseModelFile(readFileSync(values.model, 'utf8'), values.model) };

const ctx = await createNodeContext();
try {
  const { train } = await loadMnist();
  const tuned = await tuneModel(ctx, m.model, { inputShape: m.input, batch, mode: tune, store: new FileTuningStore() });
  const network = new Network(ctx, m.model, { inputShape: m.input, maxBatch: batch, seed: 1, optimizer: new SGD({ lr: 0.01, momentum: 0.9 }), tiles: tuned.tiles });
  const split = uploadSplit(ctx, 'train', train, batch * 2);
  const trainer = new Trainer(ctx, network, split, split, { batch, seed: 1, augment: true }); // rotation on, as npm start trains
  network.beginStep(batch, 0);
  const program = await trainer.program(split, batch, 'train');
  const step = [program.batch, ...program.rest];
  const profile = await profileDispatches(ctx, step, { repeats: 5 });
  const total = profile.dispatches.reduce((sum, d) => sum + d.ms, 0);
  // A dispatch's kind: its label without the layer path ("convblock2.0 conv weight gradient").
  const kinds = new Map<string, { ms: number; count: number }>();
  for (const d of profile.dispatches) {
    const kind = d.label.replace(/^\S+ /, '');
    const k = kinds.get(kind) ?? { ms: 0, count: 0 };
    kinds.set(kind, { ms: k.ms + d.ms, count: k.count + 1 });
  }
  const byKind = [...kinds].sort((a, b) => b[1].ms - a[1].ms).map(([kind, k]) => ({ kind, ms: +k.ms.toFixed(2), dispatches: k.count }));
  const slowest = [...profile.dispatches].sort((a, b) => b.ms - a.ms).slice(0, top).map((d) => ({ label: d.label, ms: +d.ms.toFixed(2) }));
  const report = { adapter: ctx.adapter.summary, model: m.name, batch, timing: profile.source, dispatches: step.length, total_ms: +total.toFixed(1), by_kind: byKind, slowest };
  if (values.json) {
    console.log(JSON.stringify(report, null, 2));
  } else {
    console.log(`${m.name} training step at batch ${batch} on ${report.adapter}: ${report.dispatches} dispatches, ${report.total_ms} ms of GPU time (${profile.source})`);
    console.log('\nms        dispatches  kind');
    for (const k of byKind) console.log(`${k.ms.toFixed(2).padStart(8)}  ${String(k.dispatches).padStart(10)}  ${k.kind}`);
    console.log('\nslowest dispatches:');
    for (const d of slowest) console.log(`${d.ms.toFixed(2).padStart(8)}  ${d.label}`);
  }
} finally {
  ctx.destroy();
}
