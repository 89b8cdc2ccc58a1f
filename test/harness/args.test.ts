/**
 * harness/args.ts: every benchmark harness answers --help with its own doc comment, and refuses a
 * bad option or value with one line naming the command and the flag (exit status 2), before it
 * starts an adapter — no stack trace.
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { docComment } from '../../harness/args.js';

const run = (script: string, ...args: string[]) =>
  spawnSync(process.execPath, ['--import', './bin/register.js', `harness/${script}`, ...args], { encoding: 'utf8', timeout: 60_000 });

const HARNESSES = ['bench-node.ts', 'bench.ts', 'bench-peers.ts', 'peak-node.ts', 'profile-node.ts', 'soak.ts'];

describe('the benchmark harnesses\' command lines', () => {
  it.each(HARNESSES)('%s --help prints its doc comment and exits 0', (script) => {
    const r = run(script, '--help');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const doc = docComment(`harness/${script}`);
    expect(doc).toMatch(/^`npm run bench(:\w+)?`|^The adapter's FMA peak/);
    expect(r.stdout).toBe(`${doc}\n`);
  });

  it.each([
    ['bench-node.ts', ['--bogus'], "bench:node: Unknown option '--bogus' (--help lists the options)\n"],
    ['bench-node.ts', ['--batch', '0'], "bench:node: --batch takes whole numbers from 1 to 1024 separated by commas, such as 32,64,128, got '0' (--help lists the options)\n"],
    ['bench-node.ts', ['--tune', 'fast'], "bench:node: --tune takes off, cached, full, got 'fast' (--help lists the options)\n"],
    ['bench-node.ts', ['--alternate', 'x'], "bench:node: --alternate takes a whole number of rounds from 0 to 20, got 'x' (--help lists the options)\n"],
    ['bench-node.ts', ['--alternate', '21'], "bench:node: --alternate takes a whole number of rounds from 0 to 20, got '21' (--help lists the options)\n"],
    ['bench-node.ts', ['128'], "bench:node: Unexpected argument '128'. This command does not take positional arguments (--help lists the options)\n"],
    ['bench.ts', ['--compare', 'tf'], "bench: --compare takes tfjs, node or tfjs,node, got 'tf' (--help lists the options)\n"],
    ['bench-peers.ts', ['--rounds', '1.5'], "bench:peers: --rounds takes a whole number ≥ 1, got '1.5' (--help lists the options)\n"],
    ['peak-node.ts', ['--batch', '8'], "bench:peak: Unknown option '--batch' (--help lists the options)\n"],
    ['profile-node.ts', ['--top', ''], "bench:profile: --top takes a whole number ≥ 1, got '' (--help lists the options)\n"],
    ['soak.ts', ['--batch', '2000'], "bench:soak: --batch takes a whole number from 1 to 1024, got '2000' (--help lists the options)\n"],
  ])('%s %j: one line naming the flag, exit status 2', (script, args, message) => {
    const r = run(script, ...args);
    expect(r.stderr).toBe(message);
    expect(r.stdout).toBe('');
    expect(r.status).toBe(2);
  });
});
