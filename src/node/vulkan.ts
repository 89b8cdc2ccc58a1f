/**
 * Finding a Vulkan driver for Dawn in Node on machines with or without a GPU.
 *
 * Dawn (npm `webgpu`) talks to Vulkan through the system loader `libvulkan.so.1`. Without a GPU,
 * a software Vulkan driver (an ICD) stands in:
 * - SwiftShader, shipped inside Chromium and Chrome (`vk_swiftshader_icd.json` beside the browser);
 * - Mesa lavapipe (`lvp_icd*.json`, package mesa-vulkan-drivers; Dawn accepts Mesa ≥ 25).
 * The loader reads the `VK_ICD_FILENAMES` environment variable when an instance is created, so one
 * process can try several drivers in turn.
 */
import { existsSync, readdirSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';

export type DriverKind = 'system' | 'lavapipe' | 'swiftshader';

export interface VulkanDriver {
  readonly kind: DriverKind;
  /** The ICD manifest to load; absent for `system` (the loader's own search). */
  readonly icd?: string;
}

/** The environment variable that overrides adapter discovery. */
export const ADAPTER_ENV = 'WEBGPU_BACKPROP_ADAPTER';

const SWIFTSHADER_DIRS = [
  '/usr/lib/chromium',
  '/usr/lib/chromium-browser',
  '/usr/lib64/chromium-browser',
  '/opt/google/chrome',
  '/opt/google/chrome-beta',
  '/snap/chromium/current/usr/lib/chromium-browser',
];
const ICD_DIRS = ['/usr/share/vulkan/icd.d', '/etc/vulkan/icd.d', '/usr/local/share/vulkan/icd.d'];
const LOADER_DIRS = ['/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib64', '/usr/lib', '/lib/x86_64-linux-gnu'];

export function findSwiftShaderIcd(): string | undefined {
  return SWIFTSHADER_DIRS.map((d) => join(d, 'vk_swiftshader_icd.json')).find((p) => existsSync(p));
}

export function findLavapipeIcd(): string | undefined {
  for (const dir of ICD_DIRS) {
    if (!existsSync(dir)) continue;
    const file = readdirSync(dir).find((f) => /^lvp_icd.*\.json$/.test(f));
    if (file) return join(dir, file);
  }
  return undefined;
}

/** Where the process can load `libvulkan.so.1` from, or undefined when it cannot. */
export function findVulkanLoader(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (process.platform !== 'linux') return 'system';
  const dirs = [...(env.LD_LIBRARY_PATH ?? '').split(delimiter).filter(Boolean), ...LOADER_DIRS];
  return dirs.map((d) => join(d, 'libvulkan.so.1')).find((p) => existsSync(p));
}

/**
 * A directory holding a Vulkan loader that the process could be started with (LD_LIBRARY_PATH),
 * when the system has none: Chromium ships one beside SwiftShader.
 */
export function bundledVulkanLoaderDir(): string | undefined {
  const icd = findSwiftShaderIcd();
  if (!icd) return undefined;
  const dir = dirname(icd);
  return existsSync(join(dir, 'libvulkan.so.1')) ? dir : undefined;
}

/**
 * The drivers to try, best first: the system's own (a real GPU, or whatever ICDs it has), then
 * lavapipe, then SwiftShader. `WEBGPU_BACKPROP_ADAPTER` (system | lavapipe | swiftshader | a path
 * to an ICD manifest) picks one and nothing else.
 */
export function driverCandidates(env: NodeJS.ProcessEnv = process.env): VulkanDriver[] {
  const choice = env[ADAPTER_ENV]?.trim();
  const lavapipe = findLavapipeIcd();
  const swiftshader = findSwiftShaderIcd();
  if (choice) {
    switch (choice) {
      case 'system':
        return [{ kind: 'system' }];
      case 'lavapipe':
        if (!lavapipe) throw new Error(`${ADAPTER_ENV}=lavapipe, but no lvp_icd*.json is installed in ${ICD_DIRS.join(', ')} (apt-get install mesa-vulkan-drivers, Mesa ≥ 25)`);
        return [{ kind: 'lavapipe', icd: lavapipe }];
      case 'swiftshader':
        if (!swiftshader) throw new Error(`${ADAPTER_ENV}=swiftshader, but no vk_swiftshader_icd.json was found in ${SWIFTSHADER_DIRS.join(', ')} (apt-get install chromium)`);
        return [{ kind: 'swiftshader', icd: swiftshader }];
      default:
        if (!existsSync(choice)) {
          throw new Error(`${ADAPTER_ENV}=${choice}: expected system, lavapipe, swiftshader or the path of an ICD manifest, and no such file exists`);
        }
        return [{ kind: /swiftshader/i.test(choice) ? 'swiftshader' : /lvp/i.test(choice) ? 'lavapipe' : 'system', icd: choice }];
    }
  }
  const candidates: VulkanDriver[] = [{ kind: 'system' }];
  if (lavapipe) candidates.push({ kind: 'lavapipe', icd: lavapipe });
  if (swiftshader) candidates.push({ kind: 'swiftshader', icd: swiftshader });
  return candidates;
}

/** What to install when no adapter can be found, worded for this machine. */
export function installAdvice(): string {
  const lines = [
    'No WebGPU adapter was found. Without a GPU, a software Vulkan driver works:',
    '  - SwiftShader, inside Chromium:    sudo apt-get install chromium libvulkan1',
    '  - or Mesa lavapipe (Mesa >= 25, much faster): sudo apt-get install mesa-vulkan-drivers libvulkan1',
    '    (on Debian 12, from bookworm-backports: sudo apt-get install -t bookworm-backports mesa-vulkan-drivers)',
    `Set ${ADAPTER_ENV}=system|lavapipe|swiftshader|/path/to/icd.json to choose one.`,
  ];
  if (!findVulkanLoader() && bundledVulkanLoaderDir()) {
    lines.push(`The Vulkan loader libvulkan.so.1 is missing: install libvulkan1, or start node with LD_LIBRARY_PATH=${bundledVulkanLoaderDir()}.`);
  }
  return lines.join('\n');
}

/** The oldest Mesa whose lavapipe Dawn accepts. */
export const MESA_MIN_MAJOR = 25;

/** The major version of a Debian package version: "25.0.7-2~bpo12+1" → 25 (NaN if none). */
export function packageMajor(version: string | undefined): number {
  const m = /^(?:\d+:)?(\d+)\./.exec(version ?? '');
  return m ? Number(m[1]) : NaN;
}

/**
 * An apt source (deb822) for `<codename>-backports`, on the same mirror, components and keyring as
 * the system's own entry for `codename` in `sources` (the text of its .sources and .list files);
 * undefined when the system has no such entry or already lists the backports suite.
 */
export function backportsSource(sources: string, codename: string): string | undefined {
  const suite = `${codename}-backports`;
  if (new RegExp(`(^|\\s)${suite}(\\s|$)`, 'm').test(sources)) return undefined;
  for (const paragraph of sources.split(/\n\s*\n/)) {
    const field = (name: string) => new RegExp(`^${name}:\\s*(.+)$`, 'mi').exec(paragraph)?.[1]?.trim();
    const suites = field('Suites')?.split(/\s+/) ?? [];
    if (field('Types')?.split(/\s+/).includes('deb') && suites.includes(codename) && field('URIs')) {
      const signedBy = field('Signed-By');
      return [`Types: deb`, `URIs: ${field('URIs')}`, `Suites: ${suite}`, `Components: ${field('Components') ?? 'main'}`, ...(signedBy ? [`Signed-By: ${signedBy}`] : [])].join('\n') + '\n';
    }
  }
  for (const line of sources.split('\n')) {
    const m = /^deb\s+(\[[^\]]*\]\s+)?(\S+)\s+(\S+)\s+(.+)$/.exec(line.trim());
    if (m && m[3] === codename) return `deb ${m[1] ?? ''}${m[2]} ${suite} ${m[4]}\n`;
  }
  return undefined;
}
