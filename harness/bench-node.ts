/**
 * `npm run bench:node`: the benchmark scenarios in Node (src/bench/scenarios.ts, the same as the
 * browser's `npm run bench`): a table on stdout, the JSON in bench-results/ (`--json`: on stdout).
 *   --batch 32,64,128   batch sizes to time (the default sweep)   --steps N   timed steps (default 10)
 *   --model FILE        time a model file's network instead of the seed CNN
 *   --tune MODE         conv and dense tiles: cached (default; the tuning cache, tuning what is missing), full, off
 *   --alternate N       then N rounds of the FMA probe's best shape and the steps in turn: the share from
 *                       pairs timed together (peak_share_alternated), for a machine whose speed moves by the minute
 * Checks the GPU against the CPU reference before it times anything; exits non-zero on failure.
 * WEBGPU_BACKPROP_ADAPTER picks the adapter (system | lavapipe | swiftshader | an ICD path).
 */
import { readFileSync } from 'node:fs';
import { parseModelFile } from '../src/models/model-file.js';
import { formatBenchTable, runBenchmarks } from '../src/bench/scenarios.js';
import { createNodeContext } from '../src/node/device.js';
import { loadMnist } from '../src/node/mnist-files.js';
import { harnessArgs, usageError } from './args.js';
import { parseBenchArgs, writeBenchResult } from './bench-args.js';
import { FileTuningStore } from '../src/node/tuning-cache.js';
import { TUNE_MODES, type TuneMode } from '../src/tune/tuner.js';

const values = harnessArgs(import.meta.url, 'bench:node', { batch: { type: 'string' }, steps: { type: 'string' }, json: { type: 'boolean' }, model: { type: 'string' }, tune: { type: 'string' }, alternate: { type: 'string' } });
const tune = (values.tune ?? 'cached') as TuneMode;
if (!TUNE_MODES.includes(tune)) usageError('bench:node', `--tune takes ${TUNE_MODES.join(', ')}, got '${values.tune}'`);
const alternate = Number(values.alternate ?? 0);
if (!/^\d+$/.test(values.alternate ?? '0') || alternate > 20) usageError('bench:node', `--alternate takes a whole number of rounds from 0 to 20, got '${values.alternate}'`);
const { batches, steps } = parseBenchArgs('bench:node', values);
const file = values.model;
const model = file === undefined ? undefined : { name: file.replace(/^.*\//, '').replace(/\.json$/, ''), ...parseModelFile(readFileSync(file, 'utf8'), file) };

const ctx = await createNodeContext();
try {
  const { train } = await loadMnist();
  const report = await runBenchmarks(ctx, train, {
    batches,
    steps,
    runtime: `Node ${process.versions.node}, Dawn (npm webgpu), polls ${ctx.polling === 'timer' ? 'on a timer' : 'immediate'}`,
    model,
    tuning: { store: new FileTuningStore(), mode: tune },
    alternate,
    log: (line) => console.error(line),
  });
  const file = await writeBenchResult('node', report);
  console.log(values.json ? JSON.stringify(report, null, 2) : `${formatBenchTable(report)}\n\nJSON: ${file}`);
} finally {
  ctx.destroy();
}
