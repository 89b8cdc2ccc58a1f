/**
 * Dawn's and the Vulkan drivers' start-up noise on the native stderr (`Warning: maxDynamic…
 * artificially reduced`, adapter warnings, `XDG_RUNTIME_DIR is invalid`), and the filter that keeps
 * it off a run's output: the CLI (src/cli/bin.ts) and the benchmark harnesses (harness/quiet.ts)
 * run their work in a child process whose stderr passes through it (runFiltered).
 */
import { spawn } from 'node:child_process';
import { STDERR_TTY } from './format.js';

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

/**
 * Runs `node ARGS` (this Node) with stdin and stdout inherited and its stderr through a
 * NoiseFilter (all of it with `verbose`); SIGINT and SIGTERM are passed on. The child learns
 * whether this stderr is a terminal (STDERR_TTY), which its own piped stderr no longer says.
 * Resolves to its exit status (128 + the signal's number where a signal ended it).
 */
export function runFiltered(args: readonly string[], options: { readonly verbose: boolean; readonly env?: NodeJS.ProcessEnv }): Promise<number> {
  const env = { ...(options.env ?? process.env), [STDERR_TTY]: process.stderr.isTTY ? '1' : '' };
  const child = spawn(process.execPath, args, { stdio: ['inherit', 'inherit', options.verbose ? 'inherit' : 'pipe'], env });
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
