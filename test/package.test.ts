/**
 * The installed package, as a new user gets it: `npm pack`, `npm install` of the tarball into an
 * empty project, then the command (`--help`, a 2-2-2 run, a few MNIST steps of a model file) and
 * both module entries. The installed command runs the built dist/cli.js: no TypeScript at run
 * time, no devDependency.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { gpuTest } from './helpers/gpu.js';

const root = new URL('..', import.meta.url).pathname;
const project = mkdtempSync(join(tmpdir(), 'webgpu-backprop-installed-'));
const npm = (args: string[], cwd: string) => execFileSync('npm', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
const bin = join(project, 'node_modules', '.bin', 'webgpu-backprop');
const command = (args: string[]) => execFileSync(bin, args, { cwd: project, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

describe('the packed and installed package', () => {
  beforeAll(() => {
    // dist/ is already built (npm test runs `prepare` first).
    npm(['pack', '--ignore-scripts', '--pack-destination', project], root);
    const tarball = readdirSync(project).find((f) => f.endsWith('.tgz'))!;
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'a-user-project', private: true, type: 'module' }));
    npm(['install', '--prefer-offline', '--no-audit', '--no-fund', `./${tarball}`], project);
  }, 300_000);
  afterAll(() => rmSync(project, { recursive: true, force: true }));

  test('holds the built module and command, not the TypeScript sources or devDependencies', () => {
    const installed = join(project, 'node_modules', 'webgpu-backprop');
    for (const f of ['dist/cli.js', 'dist/node.js', 'dist/index.js', 'dist/types/index.d.ts', 'bin/webgpu-backprop.js', 'examples/mlp.json']) expect(existsSync(join(installed, f)), f).toBe(true);
    expect(existsSync(join(installed, 'src'))).toBe(false);
    for (const dev of ['tsx', 'wgsl-preprocessor', 'vite', 'puppeteer-core']) expect(existsSync(join(project, 'node_modules', dev)), dev).toBe(false);
    expect(command(['--help'])).toContain('Usage: webgpu-backprop <command>');
  });

  gpuTest('the command runs the 2-2-2 example and trains a model file', async () => {
    const sheet = JSON.parse(command(['222', '--json']).trim().split('\n').pop()!) as { runs: { rows: { E_total: number }[] }[] };
    expect(Math.abs(sheet.runs[0]!.rows[63]!.E_total - 0.0002558554597)).toBeLessThan(1e-6);
    const model = join(project, 'node_modules', 'webgpu-backprop', 'examples', 'mlp.json');
    const out = command(['mnist', '--model', model, '--optimizer', 'adam', '--steps', '3', '--train-limit', '96', '--test-limit', '32', '--batch', '32', '--json']);
    const epoch = JSON.parse(out.trim().split('\n').pop()!) as { steps: number; test_count: number };
    expect(epoch).toMatchObject({ steps: 3, test_count: 32 });
  });

  gpuTest('the installed autoencoder example trains (ConvTranspose2d, Upsample, regression targets)', async () => {
    // The repository's example, run in the user's project against the installed package.
    const example = join(project, 'autoencoder.mjs');
    copyFileSync(join(root, 'examples', 'autoencoder.mjs'), example);
    const out = execFileSync(process.execPath, [example, '128', '1'], { cwd: project, encoding: 'utf8' });
    const [, train, test] = /epoch 1: train BCE ([\d.]+), test BCE ([\d.]+)/.exec(out) ?? [];
    // Pixel BCE starts near ln 2 (outputs near ½) and only falls: finite and below 1 after a first epoch.
    expect([Number(train), Number(test)].every((v) => Number.isFinite(v) && v > 0 && v < 1), out).toBe(true);
    expect(out).toContain('ConvTranspose2d-5');
  }, 120_000);

  gpuTest('both module entries import and build the seed CNN', async () => {
    const script = `
      import { planModel, seedCnn, SEED_CNN_INPUT } from 'webgpu-backprop';
      import { createNodeContext, Network, Sequential, Linear, Flatten } from 'webgpu-backprop/node';
      const ctx = await createNodeContext({ announce: false });
      const net = new Network(ctx, new Sequential(new Flatten(), new Linear({ outFeatures: 10 })), { inputShape: [1, 28, 28], maxBatch: 4 });
      console.log(JSON.stringify({ seed: planModel(seedCnn(), { inputShape: SEED_CNN_INPUT }).parameterCount, linear: net.plan.parameterCount }));
      ctx.destroy();`;
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: project, encoding: 'utf8' });
    expect(JSON.parse(out.trim().split('\n').pop()!)).toEqual({ seed: 13_808, linear: 7_850 });
  });
});
