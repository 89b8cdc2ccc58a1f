/** The `webgpu-backprop` command, as a user runs it. */
import { execFileSync, spawnSync } from 'node:child_process';
import { describe, expect, test } from 'vitest';
import { NoiseFilter, isStartupNoise } from '../src/node/noise.js';
import { main } from '../src/cli/main.js';
import { parseTwoTwoTwoArgs } from '../src/cli/two-two-two.js';
import { gpuTest } from './helpers/gpu.js';

const BIN = new URL('../bin/webgpu-backprop.js', import.meta.url).pathname;

async function run(argv: string[]): Promise<{ code: number; out: string }> {
  let out = '';
  const code = await main(argv, (s) => (out += `${s}\n`));
  return { code, out };
}

describe('argument parsing', () => {
  test('defaults are the sheet’s', () => {
    expect(parseTwoTwoTwoArgs([])).toEqual({ learningRates: [1], rows: 64, gradient: 'true', gradients: false, json: false, help: false });
  });
  test('several rates, comma-separated or repeated', () => {
    expect(parseTwoTwoTwoArgs(['--lr', '0.1,0.5', '--lr', '2']).learningRates).toEqual([0.1, 0.5, 2]);
  });
  test('bad values are named', () => {
    expect(() => parseTwoTwoTwoArgs(['--lr', 'fast'])).toThrow(/--lr.*'fast'/);
    expect(() => parseTwoTwoTwoArgs(['--iterations', '-3'])).toThrow(/--iterations/);
    expect(() => parseTwoTwoTwoArgs(['--gradient', 'sheet'])).toThrow(/'true' or 'spreadsheet'/);
    expect(() => parseTwoTwoTwoArgs(['--frobnicate'])).toThrow(/frobnicate/);
  });
  test("a flag given twice or empty is refused, as the other commands' (it ran 3 iterations, or 0 for '')", () => {
    expect(() => parseTwoTwoTwoArgs(['--iterations', '2', '--iterations', '3'])).toThrow("--iterations: given twice ('2', then '3'); give it once");
    expect(() => parseTwoTwoTwoArgs(['--iterations', ''])).toThrow("--iterations: expected a value, got ''");
    expect(() => parseTwoTwoTwoArgs(['--json', '--json'])).toThrow('--json: given twice; give it once');
    expect(parseTwoTwoTwoArgs(['-h']).help).toBe(true);
  });
});

describe('webgpu-backprop 222', () => {
  test('--help lists the options', async () => {
    const { code, out } = await run(['222', '--help']);
    expect(code).toBe(0);
    for (const option of ['--lr', '--iterations', '--gradient', '--gradients', '--json']) expect(out).toContain(option);
  });

  gpuTest('--json gives 64 rows ending at the sheet’s E_total', async () => {
    const { code, out } = await run(['222', '--json', '--gradient', 'spreadsheet']);
    expect(code).toBe(0);
    const result = JSON.parse(out) as { runs: { rows: { E_total: number; w: number[]; dE_dw: number[] }[] }[] };
    const rows = result.runs[0]!.rows;
    expect(rows).toHaveLength(64);
    expect(Math.abs(rows[63]!.E_total - 0.0002558554597)).toBeLessThan(1e-6);
    expect(rows[0]!.w).toHaveLength(8);
    expect(rows[0]!.dE_dw).toHaveLength(8);
  });

  gpuTest('several rates print one E_total column each', async () => {
    const { code, out } = await run(['222', '--lr', '0.5,1,2', '--iterations', '3']);
    expect(code).toBe(0);
    expect(out).toMatch(/row\s+E_total η=0\.5\s+E_total η=1\s+E_total η=2/);
    expect(out.split('\n').filter((l) => /^\s*\d+\s/.test(l))).toHaveLength(4);
  });

  gpuTest('the installed command prints the table (a fresh process)', async () => {
    const out = execFileSync(process.execPath, [BIN, '222', '--gradients'], { encoding: 'utf8' });
    const rows = out.split('\n').filter((l) => /^\s*\d+\s+\d/.test(l));
    expect(rows).toHaveLength(64);
    // f32 holds E_total ≈ 2.6e-4 to about 1e-9 absolute here (t − a loses digits to cancellation).
    expect(rows[63]).toMatch(/^\s*63\s+0\.0002558\d/);
    expect(out).toContain('dE/dw8');
  });

  test('an unknown command fails with the usage', () => {
    const child = spawnSync(process.execPath, [BIN, 'frobnicate'], { encoding: 'utf8' });
    expect(child.status).toBe(2);
    expect(child.stderr).toMatch(/unknown command 'frobnicate'/);
  });
});

describe("the filter of Dawn's start-up noise", () => {
  const through = (chunks: string[]) => {
    let out = '';
    const f = new NoiseFilter((t) => (out += t));
    for (const c of chunks) f.push(c);
    f.end();
    return out;
  };
  test('drops the warnings and the driver complaints, even split across chunks', () => {
    const noise = 'Warning: maxDynamicUniformBuffersPerPipelineLayout artificially reduced from 1000000 to 16.\n';
    expect(through([noise, 'WebGPU adapter: lavapipe\n'])).toBe('WebGPU adapter: lavapipe\n');
    expect(through(['Warn', 'ing: maxDynamic', 'StorageBuffers artificially reduced\nrow 0\n'])).toBe('row 0\n');
    expect(through(['error: XDG_RUNTIME_DIR is invalid or not set in the environment.\n', 'done\n'])).toBe('done\n');
    // Mesa's, twice (one a Vulkan instance) where HOME cannot hold its shader cache.
    const cache = 'Failed to create /proc/nonexistent for shader cache (No such file or directory)---disabling.\n';
    expect(through([cache, cache, 'WebGPU adapter: lavapipe\n'])).toBe('WebGPU adapter: lavapipe\n');
    expect(through(['Failed to create the network\n'])).toBe('Failed to create the network\n');
  });
  test('passes a progress line redrawn with \\r at once, and every ordinary line', () => {
    let out = '';
    const f = new NoiseFilter((t) => (out += t));
    f.push('\repoch 1 [###...] 3/10');
    expect(out).toBe('\repoch 1 [###...] 3/10');
    f.push('\repoch 1 [####..] 4/10\nTest set: Average loss: 0.0631\n');
    f.end();
    expect(out).toBe('\repoch 1 [###...] 3/10\repoch 1 [####..] 4/10\nTest set: Average loss: 0.0631\n');
    expect(isStartupNoise('webgpu-backprop: --lr: expected a number')).toBe(false);
  });
  gpuTest('a fresh process prints none of it, and all of it with --verbose', async () => {
    const quiet = spawnSync(process.execPath, [BIN, '222', '--iterations', '1'], { encoding: 'utf8' });
    expect(quiet.status).toBe(0);
    expect(quiet.stderr).not.toMatch(/artificially reduced/);
    expect(quiet.stderr).toMatch(/WebGPU adapter: /);
    const verbose = spawnSync(process.execPath, [BIN, '222', '--iterations', '1', '--verbose'], { encoding: 'utf8' });
    expect(verbose.status).toBe(0);
    expect(verbose.stdout).toContain('E_total');
  });
});
