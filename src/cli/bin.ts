/**
 * The command's start: where the system has no Vulkan loader but Chromium ships one, restarts the
 * process with it on LD_LIBRARY_PATH (the loader is found only at process start), then runs the
 * command. Built into dist/cli.js, so an installed package runs no TypeScript.
 */
import { spawnSync } from 'node:child_process';
import { bundledVulkanLoaderDir, findVulkanLoader } from '../node/vulkan.js';
import { main } from './main.js';

export async function runCli(argv: readonly string[]): Promise<number> {
  const loaderDir = bundledVulkanLoaderDir();
  if (!findVulkanLoader() && loaderDir && !process.env.WEBGPU_BACKPROP_RESTARTED) {
    const env = {
      ...process.env,
      WEBGPU_BACKPROP_RESTARTED: '1',
      LD_LIBRARY_PATH: [loaderDir, process.env.LD_LIBRARY_PATH].filter(Boolean).join(':'),
    };
    const child = spawnSync(process.execPath, [...process.execArgv, ...process.argv.slice(1)], { stdio: 'inherit', env });
    return child.status ?? 1;
  }
  return main(argv);
}
