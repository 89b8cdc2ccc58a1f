/**
 * The engine as a module, the way a user imports it: the built package entry points
 * (`webgpu-backprop`, `webgpu-backprop/node`), in a fresh Node process.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { gpuTest } from './helpers/gpu.js';

const root = new URL('..', import.meta.url).pathname;

describe('package entry points', () => {
  test('are built (npm ci runs `prepare`) and the browser entry imports nothing from Node', () => {
    for (const f of ['dist/index.js', 'dist/node.js', 'dist/types/index.d.ts', 'dist/types/node/index.d.ts']) {
      expect(existsSync(`${root}${f}`), `${f} is missing: run npm run prepare`).toBe(true);
    }
    const browserEntry = readFileSync(`${root}dist/index.js`, 'utf8');
    const chunks = [...browserEntry.matchAll(/from "\.\/([^"]+)"/g)].map((m) => readFileSync(`${root}dist/${m[1]}`, 'utf8'));
    for (const code of [browserEntry, ...chunks]) expect(code).not.toMatch(/from "node:|import\("webgpu"\)/);
  });

  gpuTest('webgpu-backprop/node runs the 2-2-2 example', async () => {
    const script = `
      import { createNodeContext, runTwoTwoTwo } from 'webgpu-backprop/node';
      const ctx = await createNodeContext({ announce: false });
      const [run] = await runTwoTwoTwo(ctx, { learningRates: [1] });
      console.log(JSON.stringify({ rows: run.rows.length, last: run.rows[63].E_total }));
      ctx.destroy();`;
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: root, encoding: 'utf8' });
    const result = JSON.parse(out.trim().split('\n').pop()!) as { rows: number; last: number };
    expect(result.rows).toBe(64);
    expect(Math.abs(result.last - 0.0002558554597)).toBeLessThan(1e-6);
  });

  gpuTest('webgpu-backprop/node trains the seed CNN on a subset of MNIST', async () => {
    const script = `
      import { createNodeContext, loadMnist, Network, seedCnn, SEED_CNN_INPUT, Trainer, uploadSplit } from 'webgpu-backprop/node';
      const ctx = await createNodeContext({ announce: false });
      const data = await loadMnist();
      const model = new Network(ctx, seedCnn(), { inputShape: SEED_CNN_INPUT, maxBatch: 16 });
      const trainer = new Trainer(ctx, model, uploadSplit(ctx, 'train', data.train, 64), uploadSplit(ctx, 'test', data.test, 32), { batch: 16, seed: 1 });
      const epoch = await trainer.trainEpoch(1);
      const test = await trainer.evaluate();
      console.log(JSON.stringify({ params: model.plan.parameterCount, samples: epoch.samples, tested: test.count }));
      ctx.destroy();`;
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: root, encoding: 'utf8' });
    expect(JSON.parse(out.trim().split('\n').pop()!)).toEqual({ params: 13808, samples: 64, tested: 32 });
  });
});
