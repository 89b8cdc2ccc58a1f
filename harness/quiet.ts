/**
 * Runs a benchmark harness (the first argument) in a child process whose stderr passes through
 * the CLI's noise filter (runFiltered, src/node/noise.ts): Dawn's and the drivers' start-up
 * warnings stay off the output, as they do for `webgpu-backprop`. `--verbose` (or
 * WEBGPU_BACKPROP_VERBOSE=1) shows them. The child runs with this process's Node flags (the
 * TypeScript loader, --expose-gc) and the other arguments; its exit status is this one's.
 */
import { runFiltered } from '../src/node/noise.js';

const [script, ...rest] = process.argv.slice(2);
if (!script) {
  console.error('harness/quiet.ts: expected the harness to run, e.g. harness/bench-node.ts');
  process.exit(2);
}
const verbose = rest.includes('--verbose') || process.env.WEBGPU_BACKPROP_VERBOSE === '1';
process.exit(await runFiltered([...process.execArgv, script, ...rest.filter((a) => a !== '--verbose')], { verbose }));
