/**
 * `npm run bench:node`: the Node benchmark scenarios, as JSON (stdout and bench-results/).
 *   --batch 32,64,128   batch sizes to time (default 128)   --steps N   timed steps (default 10)
 * Checks the GPU against the CPU reference before it times anything; exits non-zero on failure.
 * WEBGPU_BACKPROP_ADAPTER picks the adapter (system | lavapipe | swiftshader | an ICD path).
 */
import { mkdirSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { measureFmaPeak } from '../src/bench/fma-peak.js';
import { SEED_CNN_TRAIN_FLOP_PER_SAMPLE, checkSeedCnnStep, measureSeedCnnSteps } from '../src/bench/seed-cnn-step.js';
import { runTwoTwoTwo, SHEET_EXAMPLE } from '../src/models/two-two-two.js';
import { writeFileAtomic } from '../src/node/atomic-write.js';
import { createNodeContext } from '../src/node/device.js';
import { loadMnist } from '../src/node/mnist-files.js';

const { values } = parseArgs({ options: { batch: { type: 'string' }, steps: { type: 'string' } } });
const batches = (values.batch ?? '128').split(',').map(Number);
const steps = Number(values.steps ?? 10);
if (batches.some((b) => !Number.isInteger(b) || b < 1) || !Number.isInteger(steps) || steps < 1) {
  throw new Error('bench:node: --batch takes whole numbers such as 32,64,128 and --steps a whole number ≥ 1');
}

const ctx = await createNodeContext();
try {
  const check = await checkSeedCnnStep(ctx);
  const peak = await measureFmaPeak(ctx);
  const [sheet] = await runTwoTwoTwo(ctx, { learningRates: [SHEET_EXAMPLE.learningRate], gradient: 'spreadsheet' });
  const last = sheet!.rows[sheet!.rows.length - 1]!;
  if (Math.abs(last.E_total - 0.0002558554597) > 1e-6) throw new Error(`2-2-2 check: final E_total ${last.E_total}, expected 0.0002558554597`);
  const t0 = performance.now();
  await runTwoTwoTwo(ctx, { learningRates: [SHEET_EXAMPLE.learningRate] });
  const sheetMs = performance.now() - t0;

  const { train } = await loadMnist();
  const scenarios = [];
  for (const batch of batches) {
    const t = await measureSeedCnnSteps(ctx, train, { batch, steps });
    scenarios.push({
      scenario: 'seed-cnn-train-step',
      batch,
      samples_per_s: Number(t.samplesPerSecond.toFixed(1)),
      ms_per_step: { min: Number(t.msPerStep.min.toFixed(1)), median: Number(t.msPerStep.median.toFixed(1)), max: Number(t.msPerStep.max.toFixed(1)) },
      first_step_ms: Number(t.firstStepMs.toFixed(1)),
      gflops: Number(t.gflops.toFixed(2)),
      peak_share: Number((t.gflops / peak.gflops).toFixed(3)),
      mflop_per_sample: SEED_CNN_TRAIN_FLOP_PER_SAMPLE / 1e6,
      layers_ms: t.layers,
    });
  }
  const result = {
    adapter: ctx.adapter.summary,
    runtime: `Node ${process.versions.node}, Dawn (npm webgpu)`,
    date: new Date().toISOString(),
    check: { seed_cnn_step: check, two_two_two_final_E_total: last.E_total },
    fma_peak_gflops: Number(peak.gflops.toFixed(2)),
    two_two_two_ms: Number(sheetMs.toFixed(2)),
    scenarios,
  };
  const json = JSON.stringify(result, null, 2);
  console.log(json);
  mkdirSync('bench-results', { recursive: true });
  const name = `bench-results/node-${ctx.adapter.architecture || ctx.adapter.vendor || 'adapter'}-${result.date.replace(/[:.]/g, '-')}.json`.replace(/[^\w./-]/g, '_');
  await writeFileAtomic(name, new TextEncoder().encode(`${json}\n`));
  console.error(`written ${name}`);
} finally {
  ctx.destroy();
}
