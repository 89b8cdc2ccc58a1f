/** Shared by the Node and browser benchmark commands: their options and where results go. */
import { mkdirSync } from 'node:fs';
import { writeFileAtomic } from '../src/node/atomic-write.js';
import { usageError } from './args.js';

export function parseBenchArgs(command: string, values: { batch?: string; steps?: string }): { batches: number[]; steps: number } {
  const batches = (values.batch ?? '32,64,128').split(',').map(Number);
  const steps = Number(values.steps ?? 10);
  if (batches.some((b) => !Number.isInteger(b) || b < 1 || b > 1024)) {
    usageError(command, `--batch takes whole numbers from 1 to 1024 separated by commas, such as 32,64,128, got '${values.batch}'`);
  }
  if (!Number.isInteger(steps) || steps < 1) usageError(command, `--steps takes a whole number ≥ 1, got '${values.steps}'`);
  return { batches, steps };
}

/** Writes one run's JSON into bench-results/ (atomically) and returns the file name. */
export async function writeBenchResult(kind: string, report: { adapter: string; date: string }): Promise<string> {
  mkdirSync('bench-results', { recursive: true });
  // The file name from the adapter's first two parts, with nothing that could name a folder (an
  // NVIDIA adapter has no ' / ' parts, and its summary holds 'Dawn/Node').
  const adapter = report.adapter.split(' / ').slice(0, 2).join('-').replace(/[^\w.-]/g, '_');
  const name = `bench-results/${kind}-${adapter}-${report.date.replace(/[:.]/g, '-')}.json`;
  await writeFileAtomic(name, new TextEncoder().encode(`${JSON.stringify(report, null, 2)}\n`));
  return name;
}
