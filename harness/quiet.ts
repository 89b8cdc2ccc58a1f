/**
 * Runs a benchmark harness (the first argument) in a child process whose stderr passes through
 * the CLI's noise filter (src/cli/noise.ts): Dawn's and the drivers' start-up warnings stay off
 * the output, as they do for `webgpu-backprop`. `--verbose` (or WEBGPU_BACKPROP_VERBOSE=1) shows
 * them. The child runs with this process's Node flags (the TypeScript loader, --expose-gc) and
 * the other arguments; its exit status is this one's.
 */
import { spawn } from 'node:child_process';
import { NoiseFilter } from '../src/cli/noise.js';

const [script, ...rest] = process.argv.slice(2);
if (!script) {
  console.error('harness/quiet.ts: expected the harness to run, e.g. harness/bench-node.ts');
  process.exit(2);
}
const verbose = rest.includes('--verbose') || process.env.WEBGPU_BACKPROP_VERBOSE === '1';
const args = rest.filter((a) => a !== '--verbose');
const child = spawn(process.execPath, [...process.execArgv, script, ...args], { stdio: ['inherit', 'inherit', verbose ? 'inherit' : 'pipe'] });
const filter = new NoiseFilter((text) => process.stderr.write(text));
child.stderr?.setEncoding('utf8').on('data', (chunk: string) => filter.push(chunk));
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => child.kill(signal));
child.on('close', (code, signal) => {
  filter.end();
  process.exit(code ?? (signal ? 128 + (signal === 'SIGINT' ? 2 : 15) : 1));
});
