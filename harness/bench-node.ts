/**
 * `npm run bench:node`: the benchmark scenarios in Node (src/bench/scenarios.ts, the same as the
 * browser's `npm run bench`), as JSON on stdout and in bench-results/, and a table on stderr.
 *   --batch 32,64,128   batch sizes to time (default 128)   --steps N   timed steps (default 10)
 * Checks the GPU against the CPU reference before it times anything; exits non-zero on failure.
 * WEBGPU_BACKPROP_ADAPTER picks the adapter (system | lavapipe | swiftshader | an ICD path).
 */
import { parseArgs } from 'node:util';
import { formatBenchTable, runBenchmarks } from '../src/bench/scenarios.js';
import { createNodeContext } from '../src/node/device.js';
import { loadMnist } from '../src/node/mnist-files.js';
import { parseBenchArgs, writeBenchResult } from './bench-args.js';

const { values } = parseArgs({ options: { batch: { type: 'string' }, steps: { type: 'string' } } });
const { batches, steps } = parseBenchArgs('bench:node', values);

const ctx = await createNodeContext();
try {
  const { train } = await loadMnist();
  const report = await runBenchmarks(ctx, train, {
    batches,
    steps,
    runtime: `Node ${process.versions.node}, Dawn (npm webgpu)`,
    log: (line) => console.error(line),
  });
  console.log(JSON.stringify(report, null, 2));
  const file = await writeBenchResult('node', report);
  console.error(`\n${formatBenchTable(report)}\n\nwritten ${file}`);
} finally {
  ctx.destroy();
}
