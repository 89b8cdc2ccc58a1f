/**
 * `npm run bench:peers`: this engine's seed-CNN training step (Node, the adapter in use) against
 * PyTorch's on the same CPU cores (`../shared/peers/bench_torch.py`, Debian's python3-torch),
 * alternated round by round so that both see the same machine, then the medians and their ratio
 * as JSON. Each side runs in a fresh process.
 *   --rounds N (3)   --batch N (128)   --steps N (engine steps, 20)   --torch-steps N (150)
 *   --threads N (PyTorch's threads, 2)   --torch-script FILE (the peer script)
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { median } from '../src/bench/profile.js';
import { harnessArgs, wholeOption } from './args.js';

const values = harnessArgs(import.meta.url, 'bench:peers', {
  rounds: { type: 'string' },
  batch: { type: 'string' },
  steps: { type: 'string' },
  'torch-steps': { type: 'string' },
  threads: { type: 'string' },
  'torch-script': { type: 'string' },
});
const whole = (name: string, fallback: number) => wholeOption('bench:peers', values, name, fallback);
const rounds = whole('rounds', 3);
const batch = whole('batch', 128);
const steps = whole('steps', 20);
const torchSteps = whole('torch-steps', 150);
const threads = whole('threads', 2);
const script = values['torch-script'] ?? new URL('../../shared/peers/bench_torch.py', import.meta.url).pathname;
const python = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

if (!existsSync(script)) {
  console.error(`bench:peers: the PyTorch peer ${script} is missing (--torch-script FILE names another)`);
  process.exit(1);
}
if (spawnSync(python, ['-c', 'import torch'], { stdio: 'ignore' }).status !== 0) {
  console.error(`bench:peers: ${python} has no PyTorch; on Debian: apt-get install python3-torch`);
  process.exit(1);
}

const lastJson = (text: string) => JSON.parse(text.trim().split('\n').filter((l) => l.startsWith('{')).pop() ?? '{}');
function engine(): { samples_per_s: number; adapter: string; fma: number } {
  const run = spawnSync(process.execPath, ['--import', './bin/register.js', 'harness/bench-node.ts', '--batch', String(batch), '--steps', String(steps), '--json'], { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (run.status !== 0) throw new Error(`bench:peers: the engine's benchmark failed:\n${run.stderr}`);
  const report = JSON.parse(run.stdout);
  return { samples_per_s: report.scenarios[0].samples_per_s, adapter: report.adapter, fma: report.fma_peak_gflops };
}
function torch(): { samples_per_s: number; torch: string } {
  const run = spawnSync(python, [script, '--threads', String(threads), '--batch', String(batch), '--warmup', '20', '--steps', String(torchSteps)], { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`bench:peers: PyTorch's benchmark failed:\n${run.stderr}`);
  const line = lastJson(run.stdout);
  return { samples_per_s: line.samples_per_s, torch: line.torch ?? line.backend ?? 'torch' };
}

const ours: number[] = [];
const theirs: number[] = [];
let adapter = '';
for (let round = 1; round <= rounds; round++) {
  // Alternate which side goes first, so that neither always runs on a warmer or cooler machine.
  const order = round % 2 ? [0, 1] : [1, 0];
  for (const side of order) {
    if (side === 0) {
      const e = engine();
      adapter = e.adapter;
      ours.push(e.samples_per_s);
      console.error(`round ${round}: engine ${e.samples_per_s} samples/s (FMA probe ${e.fma} GFLOP/s)`);
    } else {
      const t = torch();
      theirs.push(t.samples_per_s);
      console.error(`round ${round}: PyTorch ${t.samples_per_s.toFixed(1)} samples/s`);
    }
  }
}
const result = {
  batch,
  rounds,
  adapter,
  engine_samples_per_s: ours,
  torch_samples_per_s: theirs.map((v) => Number(v.toFixed(1))),
  engine_median: median(ours),
  torch_median: Number(median(theirs).toFixed(1)),
  ratio: Number((median(ours) / median(theirs)).toFixed(3)),
  torch_threads: threads,
};
console.log(JSON.stringify(result, null, 2));
