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
 *
 * Loading refuses, naming the file, the tensor or field, and the value: bad metadata (epoch,
 * steps, seed, batch), a num_batches_tracked that is not an I64 scalar ≥ 0, is missing beside its
 * running_mean, or disagrees with the others or with the steps; non-finite values; parameters and
 * running statistics beyond ±1e18 (two of them multiplied overflow float32); a negative
 * running_var or Adam exp_avg_sq.
 */
import type { Tensor } from '../gpu/tensor.js';
import type { Network } from '../plan/network.js';
import { CheckpointFormatError, decodeSafetensors, encodeSafetensors, type SafetensorsFile, type SafetensorsTensor } from './safetensors.js';

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

/** What a checkpoint's metadata and step counters say about the run that wrote it, checked. */
export interface CheckpointInfo {
  /** Epochs completed (metadata `epoch`; 0 when absent). */
  epoch: number;
  /** Training steps taken (metadata `steps`, else the BatchNorm num_batches_tracked, else 0). */
  steps: number;
  /** The run's seed (metadata `seed`), 0 … 2^32−1. */
  seed?: number;
  /** The run's batch size (metadata `batch`), ≥ 1. */
  batch?: number;
  /** The model's name (metadata `model`). */
  model?: string;
}

const NUM_BATCHES_TRACKED = '.num_batches_tracked';
const RUNNING_MEAN = '.running_mean';
const MAX_SEED = 2 ** 32 - 1;

/**
 * The checkpoint's epoch, steps, seed, batch and model, every one checked: a field that is present
 * but not a whole number in its range, or step counters that disagree, throw
 * `CheckpointFormatError` naming `source`. Needs no GPU:
 * `checkpointInfo(decodeSafetensors(bytes, file), file)`.
 */
export function checkpointInfo(file: SafetensorsFile, source: string): CheckpointInfo {
  const { metadata, tensors } = file;
  const epoch = wholeNumber(metadata, 'epoch', 0, Number.MAX_SAFE_INTEGER, source);
  const steps = wholeNumber(metadata, 'steps', 0, Number.MAX_SAFE_INTEGER, source);
  const seed = wholeNumber(metadata, 'seed', 0, MAX_SEED, source);
  const batch = wholeNumber(metadata, 'batch', 1, Number.MAX_SAFE_INTEGER, source);
  const tracked = trackedSteps(tensors, source);
  const [first, ...others] = tracked;
  for (const other of others) {
    if (other.value !== first!.value) {
      throw new CheckpointFormatError(
        source,
        `tensor '${other.name}' is ${other.value}, but '${first!.name}' is ${first!.value}; expected every BatchNorm's num_batches_tracked to equal the steps taken`,
      );
    }
  }
  if (first && steps !== undefined && steps !== first.value) {
    throw new CheckpointFormatError(
      source,
      `__metadata__.steps is ${JSON.stringify(metadata.steps)}, but tensor '${first.name}' is ${first.value}; expected them to agree (both count the steps taken)`,
    );
  }
  const info: CheckpointInfo = { epoch: epoch ?? 0, steps: steps ?? first?.value ?? 0 };
  if (seed !== undefined) info.seed = seed;
  if (batch !== undefined) info.batch = batch;
  if (metadata.model !== undefined) info.model = metadata.model;
  return info;
}

/** A metadata field as a whole number in [min, max]; undefined when absent. */
function wholeNumber(metadata: Record<string, string>, field: string, min: number, max: number, source: string): number | undefined {
  const text = metadata[field];
  if (text === undefined) return undefined;
  const digits = /^[0-9]+$/.test(text);
  const value = Number(text);
  if (digits && value >= min && value <= max) return value;
  const range = max !== Number.MAX_SAFE_INTEGER ? `from ${min} to ${max}` : digits && value > max ? `≥ ${min} (at most ${max})` : `≥ ${min}`;
  throw new CheckpointFormatError(source, `__metadata__.${field} is ${JSON.stringify(text)}, expected a whole number ${range}`);
}

/**
 * Every num_batches_tracked, checked: an I64 scalar (shape [] as PyTorch saves it, or [1]) with a
 * value ≥ 0, present beside every running_mean.
 */
function trackedSteps(tensors: Record<string, SafetensorsTensor>, source: string): { name: string; value: number }[] {
  for (const name of Object.keys(tensors)) {
    if (!name.endsWith(RUNNING_MEAN)) continue;
    const tracked = name.slice(0, -RUNNING_MEAN.length) + NUM_BATCHES_TRACKED;
    if (!tensors[tracked]) {
      throw new CheckpointFormatError(source, `tensor '${tracked}' is missing (expected I64 [] beside '${name}': the BatchNorm's steps taken, which PyTorch always saves)`);
    }
  }
  const found: { name: string; value: number }[] = [];
  for (const [name, t] of Object.entries(tensors)) {
    if (!name.endsWith(NUM_BATCHES_TRACKED)) continue;
    if (t.dtype !== 'I64') throw new CheckpointFormatError(source, `tensor '${name}': dtype is ${t.dtype}, expected I64 (PyTorch's num_batches_tracked)`);
    if (t.data.length !== 1 || t.shape.length > 1) {
      throw new CheckpointFormatError(source, `tensor '${name}': shape is [${t.shape.join(', ')}], expected [] (one step count)`);
    }
    const value = t.data[0]!;
    if (value < 0n || value > BigInt(Number.MAX_SAFE_INTEGER)) {
      throw new CheckpointFormatError(source, `tensor '${name}' is ${value}, expected a step count from 0 to ${Number.MAX_SAFE_INTEGER}`);
    }
    found.push({ name, value: Number(value) });
  }
  return found;
}

/** Beyond this a product of two values (a weight times an activation) overflows float32. */
export const MAX_MAGNITUDE = 1e18;

/** What a tensor's values must satisfy beyond being finite. */
interface ValueRules {
  bounded?: boolean;
  nonNegative?: string;
}

/** The first element breaking the rules, as a message; undefined when all is well. */
function badValue(data: Float32Array, rules: ValueRules): string | undefined {
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    if (!Number.isFinite(v)) return `element ${i} is ${v}, expected a finite number`;
    if (rules.bounded && Math.abs(v) > MAX_MAGNITUDE) {
      return `element ${i} is ${float32String(v)}, expected |v| ≤ 1e18 (beyond that a product of two such values overflows float32)`;
    }
    if (rules.nonNegative && v < 0) return `element ${i} is ${float32String(v)}, expected ${rules.nonNegative} ≥ 0`;
  }
  return undefined;
}

/** The shortest decimal that reads back as the same float32 (3e+38, not 3.0000000054977558e+38). */
function float32String(v: number): string {
  const text = (n: number) => (Math.abs(n) >= 1e6 || (n !== 0 && Math.abs(n) < 1e-4) ? n.toExponential() : String(n));
  for (let digits = 1; digits < 9; digits++) {
    const shortest = Number(v.toPrecision(digits));
    if (Math.fround(shortest) === v) return text(shortest);
  }
  return text(v);
}

/** The rules for one state_dict entry, by the last part of its name. */
function rulesFor(name: string): ValueRules {
  if (name.startsWith(OPTIMIZER_PREFIX)) return name.endsWith('.exp_avg_sq') ? { nonNegative: 'a mean of squared gradients' } : {};
  if (name.endsWith('.running_var')) return { bounded: true, nonNegative: 'a variance' };
  return { bounded: true };
}

/**
 * Loads a checkpoint's bytes into the network: every parameter and running statistic must be
 * present with its shape (optimizer state may be absent: it starts at zero), and the metadata
 * and step counters must check out (`checkpointInfo`); `network.stepsTaken` becomes its steps.
 * Nothing is written to the network unless the whole file checks out.
 */
export function loadCheckpoint(network: Network, bytes: Uint8Array, source: string): { metadata: Record<string, string>; info: CheckpointInfo } {
  const file = decodeSafetensors(bytes, source);
  const info = checkpointInfo(file, source);
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
    const bad = badValue(t.data, rulesFor(name));
    if (bad) throw new CheckpointFormatError(source, `tensor '${name}': ${bad}`);
    return t.data;
  };
  const writes: [Tensor, Float32Array][] = [];
  for (const p of network.parameters) {
    writes.push([p.value, take(p.name, p.shape)!]);
    for (const [state, tensor] of Object.entries(p.state)) writes.push([tensor, take(stateName(p.name, state), p.shape, true) ?? new Float32Array(tensor.length)]);
  }
  for (const b of network.buffers) writes.push([b.value, take(b.name, b.shape)!]);
  for (const [tensor, data] of writes) network.ctx.write(tensor, data);
  network.stepsTaken = info.steps;
  return { metadata: file.metadata, info };
}
