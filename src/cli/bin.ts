/**
 * The command's start. It runs the command in a child process whose stderr passes through a
 * filter: Dawn and the Vulkan drivers write start-up noise straight to the native stderr (`Warning:
 * maxDynamic… artificially reduced`, adapter warnings, `XDG_RUNTIME_DIR is invalid`), which no
 * JavaScript can silence in-process. `--verbose` (or WEBGPU_BACKPROP_VERBOSE=1) shows it all.
 * Where the system has no Vulkan loader but Chromium ships one, the child gets it on
 * LD_LIBRARY_PATH (the loader is found only at process start). Built into dist/cli.js, so an
 * installed package runs no TypeScript.
 */
import { filteredChildEnv, runFiltered, VERBOSE_ENV } from '../node/noise.js';
import { main } from './main.js';

export async function runCli(argv: readonly string[]): Promise<number> {
  const verbose = argv.includes('--verbose') || process.env[VERBOSE_ENV] === '1';
  const args = argv.filter((a) => a !== '--verbose');
  const env = filteredChildEnv(verbose);
  if (!env) return main(args);
  return runFiltered([...process.execArgv, process.argv[1]!, ...args], { verbose, env });
}
