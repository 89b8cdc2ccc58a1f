/**
 * The command's start. It runs the command in a child process whose stderr passes through a
 * filter: Dawn and the Vulkan drivers write start-up noise straight to the native stderr (`Warning:
 * maxDynamic… artificially reduced`, adapter warnings, `XDG_RUNTIME_DIR is invalid`), which no
 * JavaScript can silence in-process. `--verbose` (or WEBGPU_BACKPROP_VERBOSE=1) shows it all.
 * Where the system has no Vulkan loader but Chromium ships one, the child gets it on
 * LD_LIBRARY_PATH (the loader is found only at process start). Built into dist/cli.js, so an
 * installed package runs no TypeScript.
 */
import { spawn } from 'node:child_process';
import { bundledVulkanLoaderDir, findVulkanLoader } from '../node/vulkan.js';
import { STDERR_TTY } from './format.js';
import { main } from './main.js';

const CHILD = 'WEBGPU_BACKPROP_CHILD';

/** Lines of the native start-up noise: Dawn's warnings and the drivers' complaints. */
const NOISE = [/^Warning: /, /XDG_RUNTIME_DIR/];
export const isStartupNoise = (line: string) => NOISE.some((p) => p.test(line.replace(/^\r/, '')));

/**
 * Passes text through line by line, dropping noise lines. A partial line waits for its end, except
 * a progress bar redrawn in place with \r, which is written at once.
 */
export class NoiseFilter {
  private pending = '';
  private passing = false;

  constructor(private readonly write: (text: string) => void) {}

  push(chunk: string): void {
    const parts = (this.pending + chunk).split('\n');
    this.pending = parts.pop()!;
    for (const line of parts) {
      if (this.passing || !isStartupNoise(line)) this.write(`${line}\n`);
      this.passing = false;
    }
    if (this.pending && (this.passing || !this.mayBeNoise(this.pending))) {
      this.write(this.pending);
      this.passing = true;
      this.pending = '';
    }
  }

  end(): void {
    if (this.pending && !isStartupNoise(this.pending)) this.write(this.pending);
    this.pending = '';
  }

  /** Only a line redrawn in place (\r…) is written before its end, unless it starts like a warning. */
  private mayBeNoise(partial: string): boolean {
    const text = partial.replace(/^\r/, '');
    return !partial.startsWith('\r') || 'Warning: '.startsWith(text) || isStartupNoise(text);
  }
}

export async function runCli(argv: readonly string[]): Promise<number> {
  const verbose = argv.includes('--verbose') || process.env.WEBGPU_BACKPROP_VERBOSE === '1';
  const args = argv.filter((a) => a !== '--verbose');
  const loaderDir = !findVulkanLoader() ? bundledVulkanLoaderDir() : undefined;
  if (process.env[CHILD] || (verbose && !loaderDir)) return main(args);

  const env: NodeJS.ProcessEnv = { ...process.env, [CHILD]: '1', [STDERR_TTY]: process.stderr.isTTY ? '1' : '' };
  if (loaderDir) env.LD_LIBRARY_PATH = [loaderDir, process.env.LD_LIBRARY_PATH].filter(Boolean).join(':');
  const script = process.argv[1]!;
  const child = spawn(process.execPath, [...process.execArgv, script, ...args], { stdio: ['inherit', 'inherit', verbose ? 'inherit' : 'pipe'], env });
  const filter = new NoiseFilter((text) => process.stderr.write(text));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => filter.push(chunk));
  const forward = (signal: NodeJS.Signals) => child.kill(signal);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, forward);
  return new Promise((resolve) => {
    child.on('close', (code, signal) => {
      filter.end();
      resolve(code ?? (signal ? 128 + (signal === 'SIGINT' ? 2 : 15) : 1));
    });
  });
}
