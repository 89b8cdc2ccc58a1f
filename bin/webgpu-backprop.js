#!/usr/bin/env node
// The `webgpu-backprop` command. Runs the TypeScript sources directly (tsx, WGSL as text).
// Where the system has no Vulkan loader but Chromium ships one, restarts itself with it on
// LD_LIBRARY_PATH (the loader is found only at process start).
import { spawnSync } from 'node:child_process';
import './register.js';

const { bundledVulkanLoaderDir, findVulkanLoader } = await import('../src/node/vulkan.ts');
const loaderDir = bundledVulkanLoaderDir();
if (!findVulkanLoader() && loaderDir && !process.env.WEBGPU_BACKPROP_RESTARTED) {
  const env = {
    ...process.env,
    WEBGPU_BACKPROP_RESTARTED: '1',
    LD_LIBRARY_PATH: [loaderDir, process.env.LD_LIBRARY_PATH].filter(Boolean).join(':'),
  };
  const child = spawnSync(process.execPath, [...process.execArgv, ...process.argv.slice(1)], { stdio: 'inherit', env });
  process.exit(child.status ?? 1);
}
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
