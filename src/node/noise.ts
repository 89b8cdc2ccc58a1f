/**
 * Dawn's and the Vulkan drivers' start-up noise on the native stderr (`Warning: maxDynamic…
 * artificially reduced`, adapter warnings, `XDG_RUNTIME_DIR is invalid`), and the filter that keeps
 * it off a run's output. Native code writes it straight to file descriptor 2, which no JavaScript
 * can redirect in its own process, so the work runs in a child process whose stderr passes through
 * the filter (runFiltered): the CLI (src/cli/bin.ts), the benchmark harnesses (harness/quiet.ts)
 * and, through quietStartupNoise, a program that embeds the package.
 */
import { spawn } from 'node:child_process';
import { constants as osConstants } from 'node:os';
import { bundledVulkanLoaderDir, findVulkanLoader } from './vulkan.js';

/** Set for the child process when the parent's stderr is a terminal (the child's is a pipe). */
export const STDERR_TTY = 'WEBGPU_BACKPROP_STDERR_TTY';
/** Set for the child process: it is the re-run, and runs the work itself. */
export const CHILD_ENV = 'WEBGPU_BACKPROP_CHILD';
/** `1` shows the noise (no filter): the CLI's `--verbose`. */
export const VERBOSE_ENV = 'WEBGPU_BACKPROP_VERBOSE';

/**
 * Lines of the native start-up noise: Dawn's warnings and the drivers' complaints (Mesa's, where
 * its shader cache cannot be made: `Failed to create /home/x/.cache for shader cache (Permission
 * denied)---disabling.`; the tuning cache's own warning says what matters of that directory).
 */
const NOISE = [/^Warning: /, /XDG_RUNTIME_DIR/, /^Failed to create .* for shader cache \(.*\)---disabling\.$/];
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
 * Resolves to its exit status (128 + the signal's number where a signal ended it: SIGKILL 137).
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
      if (code !== null || !signal) return resolve(code ?? 1);
      // Not one we passed on (SIGINT, SIGTERM: the child says what it saved): a SIGKILL (the
      // out-of-memory killer) or a crash ends it without a word of its own, so it is said here.
      if (signal !== 'SIGINT' && signal !== 'SIGTERM') {
        process.stderr.write(`webgpu-backprop: the process doing the work was killed by ${signal}${signal === 'SIGKILL' ? ' (the out-of-memory killer, or kill -9)' : ''}; a checkpoint saved before it is intact (saves are atomic)\n`);
      }
      resolve(128 + (osConstants.signals[signal] ?? 15));
    });
  });
}

/**
 * The environment of the child that runs the work, or undefined where this process should run it
 * itself: it is the child already, or `verbose` asks for no filter and nothing else needs a child.
 * The child gets CHILD_ENV and, where the system has no Vulkan loader but Chromium ships one, that
 * loader's directory on LD_LIBRARY_PATH (the loader is looked up only at a process's start).
 */
export function filteredChildEnv(verbose: boolean, env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv | undefined {
  if (env[CHILD_ENV]) return undefined;
  const loaderDir = !findVulkanLoader(env) ? bundledVulkanLoaderDir() : undefined;
  if (verbose && !loaderDir) return undefined;
  const child: NodeJS.ProcessEnv = { ...env, [CHILD_ENV]: '1' };
  if (loaderDir) child.LD_LIBRARY_PATH = [loaderDir, env.LD_LIBRARY_PATH].filter(Boolean).join(':');
  return child;
}

/**
 * For a program that embeds the package: call it first, before any WebGPU work. In the program's
 * own process it runs the same script again (Node's flags and arguments unchanged) in a child whose
 * stderr passes through the noise filter, and exits with the child's status when the child ends:
 * it never returns there. In the child it returns at once, and the program goes on. The child's
 * stdout and stdin are the program's; SIGINT and SIGTERM reach it. `verbose` (default: the
 * environment's WEBGPU_BACKPROP_VERBOSE=1) keeps the noise; where there is no script to run again
 * (`node -e`, a REPL) it returns at once and filters nothing.
 *
 *   import { quietStartupNoise, createNodeContext } from 'webgpu-backprop/node';
 *   await quietStartupNoise();
 *   const ctx = await createNodeContext();
 */
export async function quietStartupNoise(options: { readonly verbose?: boolean } = {}): Promise<void> {
  const script = process.argv[1];
  const verbose = options.verbose ?? process.env[VERBOSE_ENV] === '1';
  const env = script ? filteredChildEnv(verbose) : undefined;
  if (!env) return;
  process.exit(await runFiltered([...process.execArgv, script!, ...process.argv.slice(2)], { verbose, env }));
}
