/**
 * Seed-CNN checkpoints as safetensors, under PyTorch's state_dict names for the notebook's `Net`:
 *
 *   convblockK.0.weight                       conv weights (F32)
 *   convblockK.2.weight / .bias               BatchNorm γ / β (F32)
 *   convblockK.2.running_mean / .running_var  BatchNorm running statistics (F32)
 *   convblockK.2.num_batches_tracked          training steps taken (I64, shape [])
 *   optimizer.<parameter name>.momentum_buffer   SGD momentum buffers (F32; optional on load)
 *
 * The model's tensors load into PyTorch with
 *   `sd = safetensors.torch.load_file(f); model.load_state_dict({k: v for k, v in sd.items() if not k.startswith('optimizer.')})`
 * and a PyTorch state_dict saved with `safetensors.torch.save_file(model.state_dict(), f)` loads
 * here (its optimizer state is then zero, as for a fresh `torch.optim.SGD`).
 */
import type { Tensor } from '../gpu/tensor.js';
import type { SeedCnn } from '../models/seed-cnn.js';
import { CheckpointFormatError, decodeSafetensors, encodeSafetensors, type SafetensorsTensor } from './safetensors.js';

export const OPTIMIZER_PREFIX = 'optimizer.';
const momentumName = (parameter: string) => `${OPTIMIZER_PREFIX}${parameter}.momentum_buffer`;

/** BatchNorm module prefixes (`convblock1.2`, …): one num_batches_tracked each. */
function batchNormModules(model: SeedCnn): string[] {
  return model.buffers.filter((b) => b.name.endsWith('.running_mean')).map((b) => b.name.slice(0, -'.running_mean'.length));
}

/** Everything a checkpoint holds, read from the GPU. */
export async function seedCnnState(model: SeedCnn): Promise<Record<string, SafetensorsTensor>> {
  const { ctx } = model;
  const tensors: Record<string, SafetensorsTensor> = {};
  for (const p of model.parameters) {
    tensors[p.name] = { dtype: 'F32', shape: [...p.shape], data: await ctx.read(p.value) };
    tensors[momentumName(p.name)] = { dtype: 'F32', shape: [...p.shape], data: await ctx.read(p.velocity) };
  }
  for (const b of model.buffers) tensors[b.name] = { dtype: 'F32', shape: [...b.shape], data: await ctx.read(b.value) };
  for (const module of batchNormModules(model)) {
    tensors[`${module}.num_batches_tracked`] = { dtype: 'I64', shape: [], data: BigInt64Array.of(BigInt(model.stepsTaken)) };
  }
  return tensors;
}

/** The checkpoint file's bytes. */
export async function encodeSeedCnnCheckpoint(model: SeedCnn, metadata: Record<string, string> = {}): Promise<Uint8Array> {
  const settings = model.optimizerSettings;
  return encodeSafetensors(await seedCnnState(model), {
    format: 'pt',
    producer: 'webgpu-backprop',
    model: 'seed-cnn',
    steps: String(model.stepsTaken),
    lr: String(settings.lr),
    momentum: String(settings.momentum),
    ...metadata,
  });
}

/**
 * Loads a checkpoint's bytes into the model: every parameter and running statistic must be
 * present with its shape (momentum buffers may be absent: they start at zero). Nothing is
 * written to the model unless the whole file checks out.
 */
export function loadSeedCnnCheckpoint(model: SeedCnn, bytes: Uint8Array, source: string): { metadata: Record<string, string> } {
  const file = decodeSafetensors(bytes, source);
  const take = (name: string, shape: readonly number[], optional = false): Float32Array | undefined => {
    const t = file.tensors[name];
    if (!t) {
      if (optional) return undefined;
      throw new CheckpointFormatError(source, `tensor '${name}' is missing (expected F32 [${shape.join(', ')}])`);
    }
    if (t.dtype !== 'F32') throw new CheckpointFormatError(source, `tensor '${name}': dtype is ${t.dtype}, expected F32`);
    if (t.shape.join(',') !== shape.join(',')) {
      throw new CheckpointFormatError(source, `tensor '${name}': shape is [${t.shape.join(', ')}], expected [${shape.join(', ')}]`);
    }
    const bad = t.data.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) throw new CheckpointFormatError(source, `tensor '${name}': element ${bad} is ${t.data[bad]}, expected a finite number`);
    return t.data;
  };
  const writes: [Tensor, Float32Array][] = [];
  for (const p of model.parameters) {
    writes.push([p.value, take(p.name, p.shape)!]);
    writes.push([p.velocity, take(momentumName(p.name), p.shape, true) ?? new Float32Array(p.value.length)]);
  }
  for (const b of model.buffers) writes.push([b.value, take(b.name, b.shape)!]);
  let steps = 0;
  for (const module of batchNormModules(model)) {
    const t = file.tensors[`${module}.num_batches_tracked`];
    if (t && t.dtype === 'I64' && t.data.length === 1) steps = Math.max(steps, Number(t.data[0]));
  }
  for (const [tensor, data] of writes) model.ctx.write(tensor, data);
  model.stepsTaken = steps;
  return { metadata: file.metadata };
}
