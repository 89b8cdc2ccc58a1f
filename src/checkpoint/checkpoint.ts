/**
 * Checkpoints of any network as safetensors, under the model's PyTorch state_dict names:
 *
 *   <path>.weight, <path>.bias                     parameters (F32)
 *   <path>.running_mean / .running_var             BatchNorm running statistics (F32)
 *   <path>.num_batches_tracked                     training steps taken (I64, shape [])
 *   optimizer.<parameter name>.<state>             optimizer state (F32; optional on load):
 *                                                  SGD momentum_buffer, Adam exp_avg and exp_avg_sq
 *
 * The model's tensors load into PyTorch with
 *   `sd = safetensors.torch.load_file(f); model.load_state_dict({k: v for k, v in sd.items() if not k.startswith('optimizer.')})`
 * and a PyTorch state_dict saved with `safetensors.torch.save_file(model.state_dict(), f)` loads
 * here (its optimizer state then starts at zero, as for a fresh torch.optim optimizer).
 */
import type { Tensor } from '../gpu/tensor.js';
import type { Network } from '../plan/network.js';
import { CheckpointFormatError, decodeSafetensors, encodeSafetensors, type SafetensorsTensor } from './safetensors.js';

export const OPTIMIZER_PREFIX = 'optimizer.';
const stateName = (parameter: string, state: string) => `${OPTIMIZER_PREFIX}${parameter}.${state}`;

/** BatchNorm module prefixes (`convblock1.2`, …): one num_batches_tracked each. */
function batchNormModules(network: Network): string[] {
  return network.buffers.filter((b) => b.name.endsWith('.running_mean')).map((b) => b.name.slice(0, -'.running_mean'.length));
}

/** Everything a checkpoint holds, read from the GPU. */
export async function networkState(network: Network): Promise<Record<string, SafetensorsTensor>> {
  const { ctx } = network;
  const tensors: Record<string, SafetensorsTensor> = {};
  for (const p of network.parameters) {
    tensors[p.name] = { dtype: 'F32', shape: [...p.shape], data: await ctx.read(p.value) };
    for (const [state, tensor] of Object.entries(p.state)) tensors[stateName(p.name, state)] = { dtype: 'F32', shape: [...p.shape], data: await ctx.read(tensor) };
  }
  for (const b of network.buffers) tensors[b.name] = { dtype: 'F32', shape: [...b.shape], data: await ctx.read(b.value) };
  for (const module of batchNormModules(network)) {
    tensors[`${module}.num_batches_tracked`] = { dtype: 'I64', shape: [], data: BigInt64Array.of(BigInt(network.stepsTaken)) };
  }
  return tensors;
}

/** The checkpoint file's bytes. */
export async function encodeCheckpoint(network: Network, metadata: Record<string, string> = {}): Promise<Uint8Array> {
  const opt = network.optimizer;
  return encodeSafetensors(await networkState(network), {
    format: 'pt',
    producer: 'webgpu-backprop',
    steps: String(network.stepsTaken),
    optimizer: opt.kind,
    lr: String(opt.lr),
    ...(opt.kind === 'sgd' ? { momentum: String(opt.momentum) } : {}),
    ...metadata,
  });
}

/**
 * Loads a checkpoint's bytes into the network: every parameter and running statistic must be
 * present with its shape (optimizer state may be absent: it starts at zero). Nothing is written
 * to the network unless the whole file checks out.
 */
export function loadCheckpoint(network: Network, bytes: Uint8Array, source: string): { metadata: Record<string, string> } {
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
  for (const p of network.parameters) {
    writes.push([p.value, take(p.name, p.shape)!]);
    for (const [state, tensor] of Object.entries(p.state)) writes.push([tensor, take(stateName(p.name, state), p.shape, true) ?? new Float32Array(tensor.length)]);
  }
  for (const b of network.buffers) writes.push([b.value, take(b.name, b.shape)!]);
  let steps = Number(file.metadata.steps ?? 0);
  if (!Number.isInteger(steps) || steps < 0) steps = 0;
  for (const module of batchNormModules(network)) {
    const t = file.tensors[`${module}.num_batches_tracked`];
    if (t && t.dtype === 'I64' && t.data.length === 1) steps = Math.max(steps, Number(t.data[0]));
  }
  for (const [tensor, data] of writes) network.ctx.write(tensor, data);
  network.stepsTaken = steps;
  return { metadata: file.metadata };
}
