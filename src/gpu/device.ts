/**
 * Getting a device: shared pieces, and the browser's way (`navigator.gpu`).
 * Node's way (Dawn, with software Vulkan discovery) is in `src/node/device.ts`.
 */
import { GpuContext, type AdapterDescription, type GpuContextOptions } from './context.js';
import { NoAdapterError } from './errors.js';

const SOFTWARE = /swiftshader|llvmpipe|lavapipe|software|warp|basic render/i;

export function describeAdapter(adapter: GPUAdapter): AdapterDescription {
  const info = adapter.info;
  const vendor = info.vendor || 'unknown vendor';
  const architecture = info.architecture || '';
  const device = info.device || '';
  const description = info.description || '';
  const software = SOFTWARE.test(`${vendor} ${architecture} ${device} ${description}`);
  const summary = [vendor, architecture, description || device].filter(Boolean).join(' / ') + (software ? ' (software)' : '');
  const sizes = info as GPUAdapterInfo & { subgroupMinSize?: number; subgroupMaxSize?: number };
  const subgroupSize = adapter.features.has('subgroups') && sizes.subgroupMinSize !== undefined && sizes.subgroupMinSize === sizes.subgroupMaxSize ? sizes.subgroupMinSize : undefined;
  return { summary, vendor, architecture, device, description, software, features: [...adapter.features], subgroupSize };
}

/** The limits this engine raises above the defaults, up to what the adapter offers. */
const RAISED_LIMITS = [
  'maxStorageBuffersPerShaderStage',
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
] as const;

export async function requestDeviceWithLimits(adapter: GPUAdapter): Promise<GPUDevice> {
  const requiredLimits: Record<string, number> = {};
  for (const name of RAISED_LIMITS) requiredLimits[name] = adapter.limits[name];
  const requiredFeatures = (['timestamp-query', 'subgroups'] as const).filter((f) => adapter.features.has(f));
  return adapter.requestDevice({ label: 'webgpu-backprop', requiredLimits, requiredFeatures });
}

/** A context on the browser's WebGPU (or any object with the `GPU` interface). */
export async function createBrowserContext(
  gpu: GPU | undefined = globalThis.navigator?.gpu,
  options: GpuContextOptions = {},
): Promise<GpuContext> {
  if (!gpu) {
    throw new NoAdapterError(
      'This browser has no WebGPU (navigator.gpu is undefined). Use a current Chrome, Edge or Firefox over https or localhost; ' +
        'on Linux start Chromium with --enable-unsafe-webgpu (and --enable-unsafe-swiftshader without a GPU).',
    );
  }
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) {
    throw new NoAdapterError('navigator.gpu.requestAdapter() returned no adapter: enable WebGPU (chrome://flags/#enable-unsafe-webgpu) or update the GPU driver.');
  }
  const device = await requestDeviceWithLimits(adapter);
  return new GpuContext(device, describeAdapter(adapter), options);
}
