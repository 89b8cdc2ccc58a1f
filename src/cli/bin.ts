/**
 * The command's start. It runs the command in a child process whose stderr passes through a
 * filter: Dawn and the Vulkan drivers write start-up noise straight to the native stderr (`Warning:
 * maxDynamic… artificially reduced`, adapter warnings, `XDG_RUNTIME_DIR is invalid`), which no
 * JavaScript can silence in-process. `--verbose` (or WEBGPU_BACKPROP_VERBOSE=1) shows it all.
 * Where the system has no Vulkan loader but Chromium ships one, the child gets it on
 * LD_LIBRARY_PATH (the loader is found only at process start). Built into dist/cli.js, so an
 * installed package runs no TypeScript.
 */
import { bundledVulkanLoaderDir, findVulkanLoader } from '../node/vulkan.js';
import { main } from './main.js';
import { runFiltered } from './noise.js';

const CHILD = 'WEBGPU_BACKPROP_CHILD';

export async function runCli(argv: readonly string[]): Promise<number> {
  const verbose = argv.includes('--verbose') || process.env.WEBGPU_BACKPROP_VERBOSE === '1';
  const args = argv.filter((a) => a !== '--verbose');
  const loaderDir = !findVulkanLoader() ? bundledVulkanLoaderDir() : undefined;
  if (process.env[CHILD] || (verbose && !loaderDir)) return main(args);

  const env: NodeJS.ProcessEnv = { ...process.env, [CHILD]: '1' };
  if (loaderDir) env.LD_LIBRARY_PATH = [loaderDir, process.env.LD_LIBRARY_PATH].filter(Boolean).join(':');
  return runFiltered([...process.execArgv, process.argv[1]!, ...args], { verbose, env });
}
