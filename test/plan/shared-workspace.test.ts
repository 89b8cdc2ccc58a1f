/**
 * The shared workspace (every conv layer's weight-gradient partial sums, bound whole by the one
 * reduction) stays within one storage binding: the network caps the splits a layer may write
 * (partialSplitsCap, LayerBuild.maxPartialSplits, weightTileWithin).
 */
import { describe, expect, test } from 'vitest';
import { ARENA_BLOCK } from '../../src/gpu/arena.js';
import { GpuContext } from '../../src/gpu/context.js';
import { describeAdapter } from '../../src/gpu/device.js';
import { defaultConvTile, defaultWeightTile, describeWeightTile, GPU_MAX_PARTIAL_FLOATS, weightTileWithin, conv2dParams } from '../../src/kernels/conv2d.js';
import { LogSoftmax } from '../../src/layers/activations.js';
import { Conv2d } from '../../src/layers/conv2d.js';
import { Flatten } from '../../src/layers/flatten.js';
import { Linear } from '../../src/layers/linear.js';
import { Sequential } from '../../src/layers/sequential.js';
import { SEED_CNN_INPUT, seedCnn } from '../../src/models/seed-cnn.js';
import { loadMnist } from '../../src/node/mnist-files.js';
import { SGD } from '../../src/optim/optimizers.js';
import { Network, checkPlanFits, partialSplitsCap } from '../../src/plan/network.js';
import { planModel } from '../../src/plan/plan.js';
import { uploadSplit } from '../../src/train/gpu-dataset.js';
import { benchVariants } from '../../src/bench/scenarios.js';
import { cacheKey, formatTuneTable, tiledKernelsOf, tuneModel, type StoredChoice } from '../../src/tune/tuner.js';
import { Trainer } from '../../src/train/trainer.js';
import { TOLERANCE, expectAllClose } from '../helpers/allclose.js';
import { describedAs, gpuTest } from '../helpers/gpu.js';

/** WebGPU's default limits: what a device gets that asks for no more. */
const DEFAULT_LIMITS = { maxStorageBufferBindingSize: 128 * 2 ** 20, maxBufferSize: 256 * 2 ** 20 };

/**
 * 34 convs of 64 channels on 7×7 planes (after a 4×4 conv of stride 4): on a hardware GPU each one's default weight tile writes
 * 28 splits of its 36,864 weights (4.1 MB, GPU_MAX_PARTIAL_FLOATS), 140 MB in all, past a 128 MiB
 * binding.
 */
function deepConvNet(): Sequential {
  const convs = Array.from({ length: 34 }, () => new Conv2d({ outChannels: 64, kernelSize: 3, padding: 1, bias: false }));
  return new Sequential(new Conv2d({ outChannels: 64, kernelSize: 4, stride: 4, bias: false }), ...convs, new Flatten(), new Linear({ outFeatures: 10 }), new LogSoftmax());
}

describe('the splits a layer may write', () => {
  test("partialSplitsCap: the splits times every parameter, with a block's padding a member, fit the binding", () => {
    const plan = planModel(deepConvNet(), { inputShape: SEED_CNN_INPUT });
    const members = plan.nodes.flatMap((n) => n.parameters).length;
    const cap = partialSplitsCap(plan, DEFAULT_LIMITS);
    const floats = plan.parameterCount;
    expect(4 * (cap * floats + members * ARENA_BLOCK)).toBeLessThanOrEqual(DEFAULT_LIMITS.maxStorageBufferBindingSize);
    expect(4 * ((cap + 1) * floats + members * ARENA_BLOCK)).toBeGreaterThan(DEFAULT_LIMITS.maxStorageBufferBindingSize);
    // Fewer than the GPU tiles' 28: the cap binds here. The seed CNN's 13,808 parameters allow thousands.
    expect(cap).toBe(26);
    expect(partialSplitsCap(planModel(seedCnn(), { inputShape: SEED_CNN_INPUT }), DEFAULT_LIMITS)).toBeGreaterThan(2000);
  });

  test('parameters that do not fit one binding are refused before any work, naming the count, the size and the limit', () => {
    const plan = planModel(deepConvNet(), { inputShape: SEED_CNN_INPUT });
    const small = { maxStorageBufferBindingSize: 4 * 2 ** 20, maxBufferSize: 256 * 2 ** 20 };
    expect(() => partialSplitsCap(plan, small)).toThrow(/^the model's 1,285,\d{3} parameters need a buffer of 4\.9 MiB \(each parameter tensor on a 256-element block\), bound whole by the optimizer; this adapter allows 4\.0 MiB \(maxStorageBufferBindingSize\)$/);
    expect(() => checkPlanFits(plan, 1, small)).toThrow(RangeError);
  });

  test('weightTileWithin raises the rows a split to meet the cap, and leaves a tile within it alone', () => {
    const p = conv2dParams({ batch: 4, inChannels: 64, height: 7, width: 7, outChannels: 64, kernelH: 3, kernelW: 3, stride: 1, padding: 1 });
    const gpu = defaultWeightTile(p, { software: false, subgroupSize: 8 });
    // 28 rows in all (4 images × 7), one a split: the 4 MB cap's 28 splits.
    expect(gpu.rows).toBe(1);
    expect(Math.floor(GPU_MAX_PARTIAL_FLOATS / (64 * 64 * 9))).toBe(28);
    expect(weightTileWithin(p, gpu, 26)).toEqual({ ...gpu, rows: 2 });
    expect(weightTileWithin(p, gpu, 28)).toBe(gpu);
    expect(weightTileWithin(p, gpu, undefined)).toBe(gpu);
    expect(weightTileWithin(p, gpu, 1)).toEqual({ ...gpu, rows: 28 });
    expect(() => weightTileWithin(p, gpu, 0)).toThrow(/maxSplits 0 must be a whole number ≥ 1/);
  });
});

const instances: GPU[] = [];

/** A device of this adapter that asks for no raised limits, described as a hardware GPU (the layers and the tuner read only `adapter`). */
async function defaultLimitsHardware(): Promise<GpuContext> {
  const { create } = await import('webgpu');
  // Held for the device's life: Dawn aborts if the instance is collected first.
  instances.push(create([]));
  const adapter = await instances[instances.length - 1]!.requestAdapter();
  expect(adapter, 'a second adapter from Dawn').toBeTruthy();
  const features = (['timestamp-query', 'subgroups'] as const).filter((f) => adapter!.features.has(f));
  const device = await adapter!.requestDevice({ requiredFeatures: features });
  expect(device.limits.maxStorageBufferBindingSize).toBe(DEFAULT_LIMITS.maxStorageBufferBindingSize);
  return new GpuContext(device, { ...describeAdapter(adapter!), software: false }, { zeroedBuffers: true });
}

describe('a deep conv net on a hardware GPU with the default binding limit', () => {
  gpuTest('the tuning table gives the weight tiles as the network runs them (the cap raises their rows)', async () => {
    const hardware = await defaultLimitsHardware();
    try {
      // Every kernel's tile from a cache (no timing): the GPU's default tiles, one row a split for the 3×3 convs.
      const model = deepConvNet();
      const options = { inputShape: SEED_CNN_INPUT, batch: 4 };
      const stored: Record<string, StoredChoice> = {};
      for (const k of tiledKernelsOf(model, options)) {
        if ('inFeatures' in k.params) continue;
        const tile = k.kernel === 'conv2d_backward_weight' ? defaultWeightTile(k.params, hardware.adapter) : defaultConvTile(k.params, k.kernel === 'conv2d_forward' ? 'forward' : 'input');
        stored[cacheKey(hardware, k.kernel, k.params, k.stats, k.pool)] = { tile, ms: 1, defaultMs: 1 };
      }
      const result = await tuneModel(hardware, model, { ...options, mode: 'cached', store: { location: 'memory', load: async () => stored, save: async () => {} } });
      const weights = result.entries.filter((e) => e.kernel === 'conv2d_backward_weight');
      const raised = weights.filter((e) => 'runsWith' in e && e.runsWith);
      // Every conv's GPU tile writes 28 splits of one row (4 images × 7 rows), capped at 26: 2 rows a
      // split, as the network runs them (the 34 3×3 convs share one entry, the 4×4 conv has its own).
      expect(weights.map((e) => e.layers.length)).toEqual([1, 34]);
      const threeByThree = raised.find((e) => e.params.kernelH === 3)!;
      expect(raised.length).toBe(weights.length);
      for (const e of raised) {
        if (e.kernel !== 'conv2d_backward_weight') continue;
        expect(e.tile.rows).toBe(1);
        expect(e.runsWith).toEqual({ ...e.tile, rows: 2 });
        expect(e.runsWith).toEqual(weightTileWithin(e.params, e.tile, 26));
      }
      // The benchmark JSON records both.
      const json = benchVariants(result.entries).find((v) => v.kernel === 'conv2d_backward_weight' && v.layers.length === 34)!;
      expect(json.tile).toEqual(threeByThree.tile);
      expect(json.runs_with).toEqual({ ...threeByThree.tile, rows: 2 });
      const table = formatTuneTable(result.entries);
      const line = table.split('\n').find((l) => l.startsWith('conv2d_backward_weight') && l.includes('k3×3'))!;
      expect(line).toContain(`${describeWeightTile(threeByThree.tile as never)} (runs 2 rows a split: the workspace's cap)`);
    } finally {
      hardware.destroy();
    }
  }, 60_000);


  gpuTest("its shared workspace fits one binding, and its step's gradients match the CPU tiles'", async (ctx) => {
    // Its convs take the GPU's many-split weight tiles. Without the cap its step fails validation:
    // "Binding size (140492800) of [Buffer "shared workspace"] is larger than the maximum storage
    // buffer binding size (134217728)".
    const hardware = await defaultLimitsHardware();
    const device = hardware.device;
    try {
      const { train } = await loadMnist();
      const step = async (c: GpuContext) => {
        const network = c.scoped(() => new Network(c, deepConvNet(), { inputShape: SEED_CNN_INPUT, maxBatch: 4, seed: 3, optimizer: new SGD({ lr: 0.01 }) }));
        const split = uploadSplit(c, 'train', train, 8);
        const result = await new Trainer(c, network.value, split, split, { batch: 4, seed: 3, augment: false }).trainEpoch(1, { maxSteps: 1 });
        const grads = await Promise.all(network.value.parameters.map(async (p) => ({ name: p.name, grad: await c.read(p.grad) })));
        const shared = network.tensors.find((t) => t.label === 'shared workspace')!;
        return { loss: result.trainLoss, grads, sharedBytes: shared.byteLength, network };
      };
      device.pushErrorScope('validation');
      const gpuRun = await step(hardware);
      const error = await device.popErrorScope();
      expect(error?.message).toBeUndefined();
      expect(gpuRun.sharedBytes).toBeLessThanOrEqual(DEFAULT_LIMITS.maxStorageBufferBindingSize);
      // The GPU's tiles, capped at 26 splits, so 2 rows a split of the 28: 14 splits a layer (70 MB).
      expect(gpuRun.sharedBytes).toBeGreaterThan(DEFAULT_LIMITS.maxStorageBufferBindingSize / 2);
      // The CPU adapter's tiles: this device described as one (on a real GPU, too).
      const cpuRun = await step(describedAs(ctx, true));
      expect(cpuRun.sharedBytes).toBeLessThan(gpuRun.sharedBytes / 4);
      expect(gpuRun.loss).toBe(cpuRun.loss);
      // The same terms summed in other splits: f32 rounding apart.
      for (const [i, g] of gpuRun.grads.entries()) expectAllClose(g.name, g.grad, cpuRun.grads[i]!.grad, TOLERANCE.forward);
      gpuRun.network.destroy();
      cpuRun.network.destroy();
    } finally {
      hardware.destroy();
    }
  }, 120_000);
});
