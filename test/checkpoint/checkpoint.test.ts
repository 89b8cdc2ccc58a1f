/**
 * Seed-CNN checkpoints: the names, dtypes, shapes and bytes PyTorch's `load_state_dict` needs for
 * the notebook's Net, and loading that refuses a bad file without touching the model.
 */
import { describe, expect } from 'vitest';
import { encodeCheckpoint, loadCheckpoint } from '../../src/checkpoint/checkpoint.js';
import { decodeSafetensors, encodeSafetensors } from '../../src/checkpoint/safetensors.js';
import { seedCnnBufferShapes, seedCnnParameterShapes } from '../../src/reference/seed-cnn.js';
import { createSeedCnn, gpuTest } from '../helpers/gpu.js';

const BN_MODULES = [1, 2, 4, 5, 6, 7].map((k) => `convblock${k}.2`);

describe('seed-CNN checkpoints', () => {
  gpuTest('hold every state_dict entry of the notebook’s Net, with PyTorch’s names, dtypes and shapes', async (ctx) => {
    const model = createSeedCnn(ctx, { maxBatch: 2, seed: 3 });
    model.stepsTaken = 469;
    const bytes = await encodeCheckpoint(model, { epoch: '1' });
    const { tensors, metadata } = decodeSafetensors(bytes, 'checkpoint');
    const stateDict = { ...seedCnnParameterShapes(), ...seedCnnBufferShapes() };
    for (const m of BN_MODULES) stateDict[`${m}.num_batches_tracked`] = [];
    const modelKeys = Object.keys(tensors).filter((k) => !k.startsWith('optimizer.'));
    expect(modelKeys.sort()).toEqual(Object.keys(stateDict).sort());
    expect(modelKeys).toHaveLength(8 + 6 * 5);
    for (const [name, shape] of Object.entries(stateDict)) {
      expect(tensors[name]!.shape, name).toEqual(shape);
      expect(tensors[name]!.dtype, name).toBe(name.endsWith('num_batches_tracked') ? 'I64' : 'F32');
    }
    expect(tensors['convblock1.2.num_batches_tracked']!.data).toEqual(BigInt64Array.of(469n));
    for (const name of Object.keys(seedCnnParameterShapes())) expect(tensors[`optimizer.${name}.momentum_buffer`]!.shape).toEqual(stateDict[name]);
    expect(metadata).toMatchObject({ format: 'pt', epoch: '1', steps: '469' });

    // The bytes: u64 little-endian header length, JSON header, then little-endian f32 data at the offsets.
    const view = new DataView(bytes.buffer, bytes.byteOffset);
    const headerLength = Number(view.getBigUint64(0, true));
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLength))) as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
    const entry = header['convblock1.0.weight']!;
    expect(entry).toMatchObject({ dtype: 'F32', shape: [16, 1, 3, 3] });
    const [begin, end] = entry.data_offsets;
    expect(end - begin).toBe(144 * 4);
    const onGpu = await ctx.read(model.parameters.find((p) => p.name === 'convblock1.0.weight')!.value);
    for (let i = 0; i < 144; i++) expect(view.getFloat32(8 + headerLength + begin + 4 * i, true)).toBe(onGpu[i]);
  });

  gpuTest('load restores the model exactly; a PyTorch state_dict without optimizer state loads too', async (ctx) => {
    const source = createSeedCnn(ctx, { maxBatch: 2, seed: 3 });
    const bytes = await encodeCheckpoint(source);
    const target = createSeedCnn(ctx, { maxBatch: 2, seed: 4 });
    loadCheckpoint(target, bytes, 'checkpoint');
    for (let i = 0; i < source.parameters.length; i++) {
      expect(Array.from(await ctx.read(target.parameters[i]!.value))).toEqual(Array.from(await ctx.read(source.parameters[i]!.value)));
    }
    const { tensors } = decodeSafetensors(bytes, 'checkpoint');
    const modelOnly = Object.fromEntries(Object.entries(tensors).filter(([k]) => !k.startsWith('optimizer.')));
    const fresh = createSeedCnn(ctx, { maxBatch: 2, seed: 4 });
    loadCheckpoint(fresh, encodeSafetensors(modelOnly), 'pytorch.safetensors');
    expect(Array.from(await ctx.read(fresh.parameters[0]!.state.momentum_buffer!)).every((v) => v === 0)).toBe(true);
  });

  gpuTest('a bad file is refused with the file, the tensor and the field named, and the model is untouched', async (ctx) => {
    const model = createSeedCnn(ctx, { maxBatch: 2, seed: 3 });
    const { tensors } = decodeSafetensors(await encodeCheckpoint(model), 'checkpoint');
    const before = Array.from(await ctx.read(model.parameters[0]!.value));
    const variants: [string, (t: typeof tensors) => void, RegExp][] = [
      ['missing', (t) => delete t['convblock5.2.running_var'], /bad\.safetensors: tensor 'convblock5\.2\.running_var' is missing \(expected F32 \[16\]\)/],
      ['shape', (t) => (t['convblock2.0.weight'] = { dtype: 'F32', shape: [32, 16, 9], data: new Float32Array(4608) }), /'convblock2\.0\.weight': shape is \[32, 16, 9\], expected \[32, 16, 3, 3\]/],
      ['dtype', (t) => (t['convblock8.0.weight'] = { dtype: 'I32', shape: [10, 16, 1, 1], data: new Int32Array(160) }), /'convblock8\.0\.weight': dtype is I32, expected F32/],
      ['nan', (t) => ((t['convblock1.0.weight']!.data as Float32Array)[7] = NaN), /'convblock1\.0\.weight': element 7 is NaN/],
    ];
    for (const [, change, message] of variants) {
      const copy = { ...tensors, 'convblock1.0.weight': { ...tensors['convblock1.0.weight']!, data: Float32Array.from(tensors['convblock1.0.weight']!.data as Float32Array) } } as typeof tensors;
      (copy['convblock1.0.weight']!.data as Float32Array)[0] = 123;
      change(copy);
      expect(() => loadCheckpoint(model, encodeSafetensors(copy), 'bad.safetensors')).toThrow(message);
    }
    expect(Array.from(await ctx.read(model.parameters[0]!.value))).toEqual(before);
  });
});
