/**
 * A WebGPU device in Node, through Dawn (npm `webgpu`).
 *
 * `createNodeContext` tries the Vulkan drivers of `driverCandidates` best first, keeps the first
 * that gives an adapter and a device, and says which one it uses. When none works it throws a
 * `NoAdapterError` that says exactly what to install.
 */
import { GpuContext, type AdapterDescription, type GpuContextOptions } from '../gpu/context.js';
import { NoAdapterError } from '../gpu/errors.js';
import { describeAdapter, requestDeviceWithLimits } from '../gpu/device.js';
import { dawnPollingFor, setDawnPolling, throttleDawnPolling, type DawnPolling } from './dawn-polling.js';
import { ADAPTER_ENV, driverCandidates, findVulkanLoader, installAdvice, type DriverKind } from './vulkan.js';

export interface NodeContextOptions extends Omit<GpuContextOptions, 'zeroedBuffers'> {
  /**
   * Keep Dawn's lazy clears (default false): every new buffer reads as zeros, as WebGPU promises,
   * those made on `ctx.device` directly and `empty` tensors too. Without them (the default) the
   * context zeroes the tensors it promises as zeros itself, and a network's first step at batch
   * 1024 is about 0.5 s faster on a software adapter.
   */
  readonly driverClears?: boolean;
  /** Print the adapter in use (default true), to `log`. */
  readonly announce?: boolean;
  readonly log?: (line: string) => void;
}

export interface NodeGpuContext extends GpuContext {
  readonly driver: DriverKind;
  /** How Dawn's polls are scheduled for this adapter (src/node/dawn-polling.ts). */
  readonly polling: DawnPolling;
}

const keepAlive = new WeakMap<GpuContext, GPU>();
type DawnModule = typeof import('webgpu');
let dawn: Promise<DawnModule> | undefined;

async function loadDawn(): Promise<DawnModule> {
  // Before any promise of Dawn's exists: its polls must not keep a core from a software adapter.
  throttleDawnPolling();
  dawn ??= import('webgpu').then((m) => {
    // Dawn's constants (GPUBufferUsage, …) are globals in a browser: make them so in Node.
    Object.assign(globalThis, m.globals);
    return m;
  });
  return dawn;
}

/** The contexts made here whose devices are not yet destroyed or lost: one exit handler ends them all. */
const liveContexts = new Set<GpuContext>();
let exitHandlerInstalled = false;

/**
 * Destroys the context's device at the process's exit unless it is gone before. One 'exit'
 * listener for the process, not one a context: a program that makes contexts one after another
 * (a lost device replaced, a test file's contexts) kept every device alive in its listener and,
 * past ten, drew Node's MaxListenersExceededWarning (seen on the H200 run's tests). Through
 * `context.destroy()`, so that a script that never calls it is not told at exit that its device
 * was lost.
 */
export function destroyAtExit(context: GpuContext): void {
  if (!exitHandlerInstalled) {
    process.once('exit', () => {
      for (const c of liveContexts) c.destroy();
    });
    exitHandlerInstalled = true;
  }
  liveContexts.add(context);
  void context.device.lost.then(() => liveContexts.delete(context));
}

/** How many devices the exit handler would destroy now. */
export function devicesLeftForExit(): number {
  return liveContexts.size;
}

export async function createNodeContext(options: NodeContextOptions = {}): Promise<NodeGpuContext> {
  const { create } = await loadDawn();
  const tried: string[] = [];
  const previousIcd = process.env.VK_ICD_FILENAMES;
  const candidates = driverCandidates();
  const chosen = Boolean(process.env[ADAPTER_ENV]);
  for (const driver of candidates) {
    if (driver.icd) process.env.VK_ICD_FILENAMES = driver.icd;
    else if (previousIcd === undefined) delete process.env.VK_ICD_FILENAMES;
    else process.env.VK_ICD_FILENAMES = previousIcd;
    // Dawn's lazy clears zero each buffer at its first use: on a software adapter a memset by one
    // thread, which at batch 1024 took 0.5 s of the first step (455 MB of activations and
    // gradients, each written before it is read). The context clears what it promises as zeros
    // (`GpuContext.tensor`), so the clears are Dawn's to skip.
    //
    // Dawn also rounds GPU timestamps down to multiples of 65,536 ns (timestamp_quantization, a
    // browser's guard against timing attacks): on an H200 every kernel of the seed CNN read 0, 66
    // or 131 µs, and the tuner chose among them by that. Node runs no untrusted pages: off.
    const gpu = create([`disable-dawn-features=${['timestamp_quantization', ...(options.driverClears ? [] : ['lazy_clear_resource_on_first_use'])].join(',')}`]);
    const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
    if (!adapter) {
      tried.push(`${driver.kind}${driver.icd ? ` (${driver.icd})` : ''}: no adapter`);
      continue;
    }
    const described = describeAdapter(adapter);
    // The system loader falls back to a software ICD by itself; prefer the explicit order below.
    if (driver.kind === 'system' && described.software && candidates.length > 1 && !chosen) {
      tried.push(`system: only a software adapter (${described.summary}), trying the named drivers`);
      continue;
    }
    // Before the device: a bad WEBGPU_BACKPROP_POLLING is refused before any work.
    const polling = dawnPollingFor(described.software);
    const device = await requestDeviceWithLimits(adapter);
    const adapterDescription: AdapterDescription = { ...described, summary: `${described.summary} [Dawn/Node, Vulkan ${driver.kind}]` };
    const context = new GpuContext(device, adapterDescription, { ...options, zeroedBuffers: options.driverClears ?? false }) as NodeGpuContext;
    Object.defineProperty(context, 'driver', { value: driver.kind, enumerable: true });
    Object.defineProperty(context, 'polling', { value: polling, enumerable: true });
    setDawnPolling(polling);
    // Dawn destroys its instance when the GPU object is collected, taking the device with it.
    keepAlive.set(context, gpu);
    // Dawn crashes in its own teardown at exit while a device is alive: end it first.
    destroyAtExit(context);
    if (options.announce ?? true) (options.log ?? console.error)(`WebGPU adapter: ${adapterDescription.summary}`);
    return context;
  }
  const loader = findVulkanLoader() ? '' : '\n(no Vulkan loader libvulkan.so.1 could be found)';
  throw new NoAdapterError(`${installAdvice()}\nTried: ${tried.join('; ') || 'nothing'}${loader}`);
}
