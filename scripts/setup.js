#!/usr/bin/env node
// Set-up before `npm start`, `npm test` and the benchmarks: makes sure WebGPU can run in Node on
// this machine, and that there is a Chromium for the page's tests and `npm run bench`.
// Dawn needs the Vulkan loader (libvulkan.so.1) and a Vulkan driver. Without a GPU, the driver is
// Mesa lavapipe (Mesa ≥ 25: Dawn rejects older ones), the fast one, or SwiftShader from Chromium.
// As root with apt, installs what is missing (`chromium`, `libvulkan1`, and lavapipe: on Debian 12
// from bookworm-backports, added on the system's own mirror); otherwise says what to install.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import '../bin/register.js';

const { MESA_MIN_MAJOR, backportsSource, findLavapipeIcd, findSwiftShaderIcd, findVulkanLoader, installAdvice, packageMajor } = await import('../src/node/vulkan.ts');

if (process.platform !== 'linux') process.exit(0);

const hasGpuDevice = existsSync('/dev/nvidia0') || (existsSync('/dev/dri') && readdirSync('/dev/dri').some((f) => f.startsWith('renderD')));
const run = (command, args) => spawnSync(command, args, { encoding: 'utf8' });
const mesaVersion = () => run('dpkg-query', ['-W', '-f=${Version}', 'mesa-vulkan-drivers']).stdout?.trim() || undefined;
const lavapipeReady = () => Boolean(findLavapipeIcd()) && packageMajor(mesaVersion()) >= MESA_MIN_MAJOR;

const missing = [];
// Chromium: SwiftShader for Node's WebGPU without a GPU, and the browser of the page's
// end-to-end test and of `npm run bench`.
const { findChromium } = await import('../harness/browser.ts');
if ((!findSwiftShaderIcd() && !findLavapipeIcd() && !hasGpuDevice) || !findChromium()) missing.push('chromium');
if (!findVulkanLoader()) missing.push('libvulkan1');
const wantLavapipe = !hasGpuDevice && !lavapipeReady();
if (missing.length === 0 && !wantLavapipe) process.exit(0);

const isRoot = process.getuid?.() === 0;
const hasApt = spawnSync('sh', ['-c', 'command -v apt-get'], { stdio: 'ignore' }).status === 0;
if (!isRoot || !hasApt) {
  if (missing.length > 0) console.error(`setup: WebGPU in Node needs ${missing.join(' and ')}, and this user cannot install it.\n${installAdvice()}`);
  else console.error(`setup: no Mesa ≥ ${MESA_MIN_MAJOR} lavapipe: WebGPU runs on SwiftShader, several times slower.\n${installAdvice()}`);
  process.exit(0);
}
const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
const apt = (args) => spawnSync('apt-get', args, { stdio: ['ignore', 'ignore', 'inherit'], env }).status === 0;
let updated = false;
const install = (packages, extra = []) => apt(['install', '-y', '-qq', ...extra, ...packages]) || ((updated = apt(['update', '-qq'])) && apt(['install', '-y', '-qq', ...extra, ...packages]));

if (missing.length > 0) {
  console.error(`setup: installing ${missing.join(', ')} (software Vulkan for WebGPU without a GPU) …`);
  if (!install(missing)) {
    console.error(`setup: apt-get install ${missing.join(' ')} failed.\n${installAdvice()}`);
    process.exit(1);
  }
}

if (wantLavapipe) {
  // The fast software adapter: Mesa's lavapipe, from the distribution if it is new enough, else
  // (Debian 12) from its backports suite on the mirror the system already uses.
  console.error(`setup: installing Mesa ≥ ${MESA_MIN_MAJOR} lavapipe (the fast software Vulkan driver) …`);
  if (!updated) updated = apt(['update', '-qq']);
  const candidate = /Candidate:\s*(\S+)/.exec(run('apt-cache', ['policy', 'mesa-vulkan-drivers']).stdout ?? '')?.[1];
  const codename = /^VERSION_CODENAME=(\S+)/m.exec(existsSync('/etc/os-release') ? readFileSync('/etc/os-release', 'utf8') : '')?.[1];
  let extra = [];
  if (!(packageMajor(candidate) >= MESA_MIN_MAJOR) && codename) {
    const dir = '/etc/apt/sources.list.d';
    const texts = [existsSync('/etc/apt/sources.list') ? readFileSync('/etc/apt/sources.list', 'utf8') : '', ...(existsSync(dir) ? readdirSync(dir).filter((f) => /\.(list|sources)$/.test(f)).map((f) => readFileSync(`${dir}/${f}`, 'utf8')) : [])];
    const source = backportsSource(texts.join('\n\n'), codename);
    if (source) {
      writeFileSync(`${dir}/webgpu-backprop-${codename}-backports.${source.startsWith('deb ') ? 'list' : 'sources'}`, source);
      apt(['update', '-qq']);
    }
    extra = ['-t', `${codename}-backports`];
  }
  if (!install(['mesa-vulkan-drivers'], extra) || !lavapipeReady()) {
    console.error(`setup: Mesa ${mesaVersion() ?? '(none)'} is installed, and Dawn needs ≥ ${MESA_MIN_MAJOR}: WebGPU runs on SwiftShader, several times slower.\n${installAdvice()}`);
  } else {
    console.error(`setup: lavapipe from Mesa ${mesaVersion()} installed`);
  }
}
console.error('setup: done');
