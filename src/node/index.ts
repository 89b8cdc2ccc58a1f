/**
 * webgpu-backprop for Node: everything of the main entry, plus a device through Dawn (npm
 * `webgpu`) on the best Vulkan adapter found (a GPU, else lavapipe, else SwiftShader).
 *
 *   import { createNodeContext, runTwoTwoTwo } from 'webgpu-backprop/node';
 *   const ctx = await createNodeContext();   // prints the adapter it uses
 */
export * from '../index.js';
export { createNodeContext } from './device.js';
export type { NodeContextOptions, NodeGpuContext } from './device.js';
export { ADAPTER_ENV, driverCandidates, installAdvice } from './vulkan.js';
export type { DriverKind, VulkanDriver } from './vulkan.js';
export { loadMnist } from './mnist-files.js';
export { loadTrainingData, isArrayFile } from './data-files.js';
export { writeFileAtomic, checkWritable } from './atomic-write.js';
export { quietStartupNoise } from './noise.js';
export { readFileBytes, FileReadError } from './read-file.js';
export { FileTuningStore, defaultTuningCachePath, TUNING_CACHE_ENV } from './tuning-cache.js';
