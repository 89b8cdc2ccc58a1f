/**
 * The tuner leaves nothing behind on the device: every buffer it creates while timing is freed.
 * It tunes the biggest kernels first, and a budget defers the rest to a later run.
 */
import { readFileSync } from 'node:fs';
import { expect } from 'vitest';
import { parseModelFile } from '../../src/models/model-file.js';
import { flopsOf, tiledKernelsOf, tuneModel, type StoredChoice } from '../../src/tune/tuner.js';
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

gpuTest('tunes the biggest kernels first; out of budget, the rest keep their defaults, uncached, for a later run', async (ctx) => {
  const { model, input } = parseModelFile(readFileSync('examples/lenet5.json', 'utf8'), 'examples/lenet5.json');
  const kernels = tiledKernelsOf(model, { inputShape: input, batch: 8 });
  expect(kernels).toHaveLength(14);
  let saved: Record<string, StoredChoice> | undefined;
  const store = { location: 'memory', load: async () => ({ ...(saved ?? {}) }), save: async (entries: Record<string, StoredChoice>) => void (saved = entries) };

  const none = await tuneModel(ctx, model, { inputShape: input, batch: 8, mode: 'cached', store, budgetSeconds: 0 });
  expect(none.entries).toEqual([]);
  expect(none.deferred).toHaveLength(14);
  expect(saved, 'nothing tuned, nothing saved').toBeUndefined();
  expect(none.tiles('conv2d_forward', kernels[0]!.params as never)).toBeUndefined();

  const order: string[] = [];
  const all = await tuneModel(ctx, model, { inputShape: input, batch: 8, mode: 'cached', store, onProgress: (done, total, label) => done < total && order.push(label) });
  expect(all.deferred).toEqual([]);
  expect(all.entries.map((e) => `${e.kernel} ${e.layers.join(', ')}`), 'entries in the plan\'s order').toEqual(kernels.map((k) => `${k.kernel} ${k.layers.join(', ')}`));
  const byFlops = [...kernels].sort((a, b) => flopsOf(b) - flopsOf(a)).map((k) => `${k.kernel} ${k.layers.join(', ')}`);
  expect(order, 'tuned biggest first').toEqual(byFlops);
  expect(Object.keys(saved ?? {})).toHaveLength(14);
}, 120_000);
