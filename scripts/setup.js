#!/usr/bin/env node
// Set-up before `npm start`, `npm test` and the benchmarks: makes sure WebGPU can run in Node on
// this machine, and that there is a Chromium for the page's tests and `npm run bench`.
// Dawn needs the Vulkan loader (libvulkan.so.1) and a Vulkan driver. Without a GPU, the driver is
// SwiftShader from Chromium (or Mesa lavapipe, if installed). As root with apt, installs what is
// missing (`chromium`, `libvulkan1`); otherwise says what to install.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import '../bin/register.js';

const { findLavapipeIcd, findSwiftShaderIcd, findVulkanLoader, installAdvice } = await import('../src/node/vulkan.ts');

if (process.platform !== 'linux') process.exit(0);

const hasGpuDevice = existsSync('/dev/nvidia0') || (existsSync('/dev/dri') && readdirSync('/dev/dri').some((f) => f.startsWith('renderD')));
const missing = [];
// Chromium: SwiftShader for Node's WebGPU without a GPU, and the browser of the page's
// end-to-end test and of `npm run bench`.
const { findChromium } = await import('../harness/browser.ts');
if ((!findSwiftShaderIcd() && !findLavapipeIcd() && !hasGpuDevice) || !findChromium()) missing.push('chromium');
if (!findVulkanLoader()) missing.push('libvulkan1');
if (missing.length === 0) process.exit(0);

const isRoot = process.getuid?.() === 0;
const hasApt = spawnSync('sh', ['-c', 'command -v apt-get'], { stdio: 'ignore' }).status === 0;
if (!isRoot || !hasApt) {
  console.error(`setup: WebGPU in Node needs ${missing.join(' and ')}, and this user cannot install it.\n${installAdvice()}`);
  process.exit(0);
}
console.error(`setup: installing ${missing.join(', ')} (software Vulkan for WebGPU without a GPU) …`);
const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
const apt = (args) => spawnSync('apt-get', args, { stdio: ['ignore', 'ignore', 'inherit'], env }).status === 0;
if (!apt(['install', '-y', '-qq', ...missing])) {
  if (!apt(['update', '-qq']) || !apt(['install', '-y', '-qq', ...missing])) {
    console.error(`setup: apt-get install ${missing.join(' ')} failed.\n${installAdvice()}`);
    process.exit(1);
  }
}
console.error('setup: done');
