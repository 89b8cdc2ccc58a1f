/** The tuner leaves nothing behind on the device: every buffer it creates while timing is freed. */
import { readFileSync } from 'node:fs';
import { expect } from 'vitest';
import { parseModelFile } from '../../src/models/model-file.js';
import { tuneModel, type StoredChoice } from '../../src/tune/tuner.js';
import { gpuTest } from '../helpers/gpu.js';

gpuTest('tuning a plan frees every buffer it created (tensors, packed weights, bound kernels’ parameters)', async (ctx) => {
  const { model, input } = parseModelFile(readFileSync('examples/lenet5.json', 'utf8'), 'examples/lenet5.json');
  const device = ctx.device;
  const create = device.createBuffer.bind(device);
  const live = new Set<GPUBuffer>();
  device.createBuffer = (descriptor) => {
    const buffer = create(descriptor);
    live.add(buffer);
    const destroy = buffer.destroy.bind(buffer);
    buffer.destroy = () => {
      live.delete(buffer);
      destroy();
    };
    return buffer;
  };
  let saved: Record<string, StoredChoice> = {};
  try {
    const result = await tuneModel(ctx, model, {
      inputShape: input,
      batch: 64,
      mode: 'full',
      store: { location: 'memory', load: async () => ({}), save: async (entries) => void (saved = entries) },
    });
    // LeNet-5: 5 conv kernels (two convs) and 9 dense ones (three Linears).
    expect(result.entries.length).toBe(14);
    expect(Object.keys(saved)).toHaveLength(14);
    expect([...live].map((b) => b.label)).toEqual([]);
  } finally {
    device.createBuffer = create;
  }
}, 120_000);
