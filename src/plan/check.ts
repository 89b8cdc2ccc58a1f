/**
 * One training step of a network on the GPU and in float64 from the same weights, batch and
 * dropout masks: for every activation, gradient and updated tensor, the worst error and where it
 * is. Used by the tests, the benchmark's pre-flight check and `webgpu-backprop check`.
 */
import { recordPass } from '../gpu/context.js';
import type { Tensor } from '../gpu/tensor.js';
import { shapeSize } from '../layers/layer.js';
import { Dropout } from '../layers/dropout.js';
import { RReLU } from '../layers/activations.js';
import { GRU, LSTM } from '../layers/recurrent.js';
import { rreluSlopesRef } from '../reference/rrelu.js';
import { baseMomentum, nadamMuProduct } from '../optim/optimizers.js';
import { scheduledValues } from '../optim/schedules.js';
import { describeClipping } from '../optim/clipping.js';
import { networkStepRef, recurrentMaskKey } from '../reference/network.js';
import { Embedding } from '../layers/embedding.js';
import { adadeltaRef, adagradRef, adamaxRef, adamRef, clipGradNormRef, clipGradValueRef, nadamRef, radamRef, rmspropRef, sgdRef } from '../reference/optimizers.js';
import { channelDropoutMaskRef, dropoutMaskRef } from '../reference/random.js';
import { MultiheadAttention } from '../layers/attention.js';
import { LossHead } from '../train/loss-head.js';
import type { Network } from './network.js';
import { aliasesInput } from './plan.js';

export interface CheckRow {
  /** A layer's output (`convblock1.3 output`), a gradient (`∂loss/∂convblock1.0.weight`), an updated tensor, the loss. */
  readonly tensor: string;
  readonly kind: 'loss' | 'activation' | 'gradient' | 'updated';
  readonly elements: number;
  readonly maxAbsError: number;
  /** |gpu − ref| / (atol + rtol·|ref|) at the worst element: ≤ 1 passes. */
  readonly ratio: number;
  /** The largest |gpu − ref| over the largest |ref|: the error relative to the tensor's scale. */
  readonly scaledError: number;
  readonly worst: { readonly index: number; readonly gpu: number; readonly reference: number };
}

export interface CheckReport {
  readonly batch: number;
  readonly rows: readonly CheckRow[];
  /** Where the reference's own ReLU masks and max-pool choices differed from the GPU's, which it followed. */
  readonly decisions: { readonly relu: number; readonly maxpool: number };
  /** Whether the reference followed the GPU's decisions (else it made its own, and `decisions` is 0). */
  readonly followed: boolean;
  readonly passed: boolean;
  readonly tolerance: { readonly atol: number; readonly rtol: number };
}

/** f32 through a whole network against float64: the benchmark's long-standing pre-flight bound. */
export const STEP_TOLERANCE = { atol: 1e-4, rtol: 1e-3 };

function compare(tensor: string, kind: CheckRow['kind'], gpu: ArrayLike<number>, reference: ArrayLike<number>, tol = STEP_TOLERANCE): CheckRow {
  let [maxAbsError, ratio, index, scale] = [0, 0, 0, 0];
  for (let i = 0; i < reference.length; i++) {
    scale = Math.max(scale, Math.abs(reference[i]!));
    const diff = Math.abs(gpu[i]! - reference[i]!);
    const err = Number.isNaN(diff) ? Infinity : diff; // a NaN is the worst error there is
    const r = err / (tol.atol + tol.rtol * Math.abs(reference[i]!));
    maxAbsError = Math.max(maxAbsError, err);
    if (r > ratio) [ratio, index] = [r, i];
  }
  return { tensor, kind, elements: reference.length, maxAbsError, ratio, scaledError: scale > 0 ? maxAbsError / scale : maxAbsError, worst: { index, gpu: gpu[index]!, reference: reference[index]! } };
}

/** Each random layer's draws of a network's training step `step` at `batch` (a Dropout's mask, an RReLU's slopes), by layer path, as the reference takes them. */
export function networkDropoutMasks(network: Network, batch: number, step: number): Record<string, Float64Array> {
  const masks: Record<string, Float64Array> = {};
  for (const node of network.plan.nodes) {
    const length = batch * shapeSize(node.inShape);
    if (node.layer instanceof RReLU) masks[node.path] = rreluSlopesRef(length, Math.fround(node.layer.lowerBound), Math.fround(node.layer.upperBound), network.seed, node.stream, step);
    if ((node.layer instanceof LSTM || node.layer instanceof GRU) && node.layer.drawsRandom) {
      // A stacked LSTM's or GRU's dropout on layer k's output (k < num_layers − 1), from stream + k.
      const { numLayers, directions, hiddenSize, dropout } = node.layer;
      for (let k = 0; k < numLayers - 1; k++) masks[recurrentMaskKey(node.path, k)] = dropoutMaskRef(batch * node.inShape[0]! * directions * hiddenSize, dropout, network.seed, node.stream + k, step);
    }
    // A MultiheadAttention's attention weights [batch, H, L, L], dropped out as a Dropout over them.
    if (node.layer instanceof MultiheadAttention && node.layer.dropout > 0) masks[node.path] = dropoutMaskRef(batch * node.layer.numHeads * node.inShape[0]! ** 2, node.layer.dropout, network.seed, node.stream, step);
    if (!(node.layer instanceof Dropout)) continue;
    masks[node.path] = node.layer.channelWise
      ? channelDropoutMaskRef(length, shapeSize(node.inShape.slice(1)), node.layer.p, network.seed, node.stream, step)
      : dropoutMaskRef(length, node.layer.p, network.seed, node.stream, step);
  }
  return masks;
}

/**
 * The discrete decisions of the network's last forward pass at `batch` (its ReLUs' outputs, its max
 * pools' argmax), read back for the float64 reference to follow (NetworkStepRefInput.follow).
 * `outputs`: the layers' outputs already read (else they are read here).
 */
export async function gpuDecisions(
  network: Network,
  batch: number,
  outputs?: ReadonlyMap<string, Float32Array>,
): Promise<{ reluOutputs: Record<string, Float32Array>; argmax: Record<string, Uint32Array> }> {
  const { ctx, plan } = network;
  const reluOutputs: Record<string, Float32Array> = {};
  const argmax: Record<string, Uint32Array> = {};
  for (const node of plan.scheduled) {
    const chosen = network.workspaces.get(node.path)?.argmax;
    if (chosen) argmax[node.path] = (await ctx.read(chosen)).subarray(0, batch * (chosen.length / network.maxBatch)) as Uint32Array;
  }
  for (const [i, node] of plan.scheduled.entries()) {
    if (node.layer.type !== 'ReLU') continue;
    let gpu = outputs?.get(node.path);
    if (!gpu) {
      const tensor = network.outputs.get(node.path)!;
      gpu = (await ctx.read(tensor)).subarray(0, batch * (tensor.length / network.maxBatch)) as Float32Array;
    }
    const length = batch * shapeSize(node.outShape);
    if (gpu.length === length) {
      reluOutputs[node.path] = gpu;
      continue;
    }
    // A ReLU between a conv and the max pool that the conv stores (maxpool-epilogue): only each
    // window's maximum was stored, at its argmax, and only those elements get a gradient; the
    // reference decides the rest itself (NaN: not known).
    const known = new Float32Array(length).fill(Number.NaN);
    const chosen = argmax[plan.scheduled[i + 1]!.path]!;
    gpu.forEach((v, o) => (known[chosen[o]!] = v));
    reluOutputs[node.path] = known;
  }
  return { reluOutputs, argmax };
}

/**
 * Runs one training step of `network` on `input` ([batch, ...inputShape], normalised) and `labels`
 * (or, `options.targets`, float targets [batch, outputs] for a pointwise loss), and the float64 reference of the same step, which follows the GPU's ReLU masks and max-pool
 * choices (unless `follow` is false) so that only arithmetic error is measured. The network's
 * state advances by that step.
 */
export async function checkNetworkStep(network: Network, input: Float32Array, labels: Uint32Array | Int32Array, options: { follow?: boolean; targets?: Float32Array } = {}): Promise<CheckReport> {
  const { ctx, plan } = network;
  const batch = labels.length;
  if (input.length !== batch * shapeSize(plan.inputShape)) throw new Error(`check: ${input.length} input values for ${batch} samples of [${plan.inputShape.join(', ')}]`);
  const read = async (t: Tensor, length = t.length) => (await ctx.read(t)).subarray(0, length) as Float32Array;
  const params: Record<string, Float32Array> = {};
  for (const p of network.parameters) params[p.name] = await read(p.value);
  const buffers: Record<string, Float32Array> = {};
  for (const b of network.buffers) buffers[b.name] = await read(b.value);
  const state: Record<string, Record<string, Float32Array>> = {};
  for (const p of network.parameters) state[p.name] = Object.fromEntries(await Promise.all(Object.entries(p.state).map(async ([k, t]) => [k, await read(t)] as const)));

  const { targets } = options;
  if (targets && targets.length !== batch * plan.classes) throw new Error(`check: ${targets.length} targets for ${batch} samples of ${plan.classes} outputs`);
  const head = new LossHead(ctx, network, 'check', { targets: targets !== undefined });
  ctx.write(network.input, input);
  // A negative label (an ignore index) as its 32 bits, as a split uploads it; the reference reads the signed values.
  ctx.write(head.labels, new Uint32Array(labels.buffer, labels.byteOffset, labels.length));
  if (targets) ctx.write(head.targets!, targets);
  head.reset();
  const step = network.stepsTaken;
  const optimizerStep = network.optimizerSteps;
  network.beginStep(batch, 0);
  const dispatches = [...(await network.forward(batch, 'train')), ...(await head.dispatches(batch, true)), ...(await network.backward(batch))];
  ctx.submit('check step', (e) => recordPass(e, 'check step', dispatches));
  const outputs = new Map<string, Float32Array>();
  for (const [path, tensor] of network.outputs) outputs.set(path, await read(tensor, batch * (tensor.length / network.maxBatch)));
  const logp = await read(head.logp, batch * plan.classes);
  const grads: Record<string, Float32Array> = {};
  for (const p of network.parameters) grads[p.name] = await read(p.grad);
  const loss = (await ctx.read(head.metrics))[0]!;
  // Parameters the forward pass changed in place (an Embedding's max_norm renorm), before the update.
  const renormed: Record<string, Float32Array> = {};
  for (const node of plan.nodes) if (node.layer instanceof Embedding && node.layer.maxNorm !== undefined) for (const spec of node.parameters) renormed[spec.name] = await read(network.parameters.find((p) => p.name === spec.name)!.value);
  const updates = await network.optimizerStep();
  ctx.submit('check update', (e) => recordPass(e, 'check update', updates));
  network.stepsTaken++;

  const dropoutMasks = networkDropoutMasks(network, batch, step);
  const follow = options.follow ?? true ? await gpuDecisions(network, batch, outputs) : {};
  const ref = networkStepRef({ plan, params, buffers, input, labels, targets, batch, mode: 'train', dropoutMasks, follow });

  const rows: CheckRow[] = [compare('loss', 'loss', [loss], [ref.loss])];
  // A residual block's shortcut reads the block's input, not the node before it (the body's last).
  const shortcuts = new Set(plan.residuals.map((r) => r.shortcut));
  plan.scheduled.forEach((node, i) => {
    const next = plan.scheduled[i + 1];
    if (next && aliasesInput(next) && !shortcuts.has(next)) return; // the same buffer holds the next layer's output
    // A batch norm and dropout that the conv after them applies on its loads: no output written in training (the conv's is checked).
    if (network.unwrittenInTraining.has(node.path)) return;
    rows.push(compare(`${node.path} output (${node.layer.type})`, 'activation', outputs.get(node.path)!, ref.activations[node.path]!));
  });
  const folded = plan.nodes.find((n) => n.flags.intoLoss);
  if (folded) rows.push(compare(`${folded.path} output (LogSoftmax, in the loss)`, 'activation', logp, ref.activations[folded.path]!));
  for (const p of network.parameters) rows.push(compare(`∂loss/∂${p.name}`, 'gradient', grads[p.name]!, ref.grads[p.name]!));
  for (const [name, value] of Object.entries(renormed)) rows.push(compare(`${name} (max_norm renorm)`, 'updated', value, ref.renormed[name]!));
  for (const b of network.buffers) rows.push(compare(`${b.name} (updated)`, 'updated', await read(b.value), ref.buffers[b.name]!));

  const opt = network.optimizer;
  const { momentum } = scheduledValues(opt.schedule, opt.lr, baseMomentum(opt), { epoch: 0, step: optimizerStep });
  // The step's reference applies the optimizer, in float64, to the GPU's own gradients (checked
  // against the reference's above): an adaptive optimizer (Adam, RMSprop) turns a gradient that is
  // 0 in exact arithmetic — float noise on both sides, as a bias before a batch norm's — into a step
  // of about ±lr whose sign is the noise's, a kink of its own; so the update checks the optimizer's
  // arithmetic on the gradients it was given, not those gradients again.
  const given: Record<string, Float64Array> = Object.fromEntries(Object.entries(grads).map(([name, g]) => [name, Float64Array.from(g)]));
  // The gradients as the network's clipping leaves them for the step (clip_grad_norm_ or clip_grad_value_).
  const clipping = network.clipping;
  let stepGrads: Record<string, Float64Array> = given;
  if (clipping?.kind === 'norm') {
    const clipped = clipGradNormRef(ref.grads, clipping.maxNorm, clipping.normType);
    rows.push(compare(`gradient norm (${describeClipping(clipping)})`, 'gradient', [await network.lastGradNorm()], [clipped.norm]));
    // The factor itself (an update off by it can hide under the updated weights' own size).
    rows.push(compare('gradient clip factor', 'gradient', [await network.lastClipFactor()], [clipped.factor], { atol: 0, rtol: 1e-4 }));
    stepGrads = clipGradNormRef(given, clipping.maxNorm, clipping.normType).grads;
  } else if (clipping?.kind === 'value') stepGrads = clipGradValueRef(given, clipping.clipValue);
  for (const [k, p] of network.parameters.entries()) {
    const g = stepGrads[p.name]!;
    // The weight the step starts from: as the forward pass left it (an Embedding's max_norm renorm).
    const param = ref.renormed[p.name] ?? params[p.name]!;
    // Its param group's weight decay and this step's learning rate, else the optimizer's.
    const weightDecay = network.weightDecays[k]!;
    const lr = network.stepLearningRates[k]!;
    const expected =
      opt.kind === 'sgd'
        ? sgdRef(param, g, state[p.name]!.momentum_buffer!, { lr, momentum, dampening: opt.dampening, weightDecay, nesterov: opt.nesterov, first: optimizerStep === 0 }).param
        : opt.kind === 'rmsprop'
        ? rmspropRef(param, g, state[p.name]!.square_avg!, { lr, alpha: opt.alpha, eps: opt.eps, weightDecay, momentum }, { buffer: state[p.name]!.momentum_buffer, gradAvg: state[p.name]!.grad_avg }).param
        : opt.kind === 'adagrad'
        ? adagradRef(param, g, state[p.name]!.sum!, { lr, lrDecay: opt.lrDecay, eps: opt.eps, weightDecay, step: optimizerStep + 1 }).param
        : opt.kind === 'nadam'
        ? nadamRef(param, g, state[p.name]!.exp_avg!, state[p.name]!.exp_avg_sq!, {
            lr, beta1: momentum, beta2: opt.betas[1], eps: opt.eps, weightDecay, momentumDecay: opt.momentumDecay, step: optimizerStep + 1, muProduct: nadamMuProduct(opt, optimizerStep),
          }).param
        : opt.kind === 'adamax'
        ? adamaxRef(params[p.name]!, g, state[p.name]!.exp_avg!, state[p.name]!.exp_inf!, { lr, beta1: momentum, beta2: opt.betas[1], eps: opt.eps, weightDecay, step: optimizerStep + 1 }).param
        : opt.kind === 'adadelta'
        ? adadeltaRef(params[p.name]!, g, state[p.name]!.square_avg!, state[p.name]!.acc_delta!, { lr, rho: opt.rho, eps: opt.eps, weightDecay }).param
        : opt.kind === 'radam'
        ? radamRef(param, g, state[p.name]!.exp_avg!, state[p.name]!.exp_avg_sq!, { lr, beta1: momentum, beta2: opt.betas[1], eps: opt.eps, weightDecay, step: optimizerStep + 1 }).param
        : adamRef(param, g, state[p.name]!.exp_avg!, state[p.name]!.exp_avg_sq!, {
            lr, beta1: momentum, beta2: opt.betas[1], eps: opt.eps, weightDecay, decoupled: opt.kind === 'adamw', step: optimizerStep + 1,
          }, opt.amsgrad ? state[p.name]!.max_exp_avg_sq! : undefined).param;
    rows.push(compare(`${p.name} (updated)`, 'updated', await read(p.value), expected));
  }
  return { batch, rows, decisions: ref.decisions, followed: options.follow ?? true, passed: rows.every((r) => r.ratio <= 1), tolerance: STEP_TOLERANCE };
}

/** The report as a table: one line per tensor, the worst element and its two values. */
export function formatCheckReport(report: CheckReport): string {
  const lines = [`${'tensor'.padEnd(52)} ${'elements'.padStart(9)} ${'max |Δ|'.padStart(10)} ${'/ max|x|'.padStart(9)} ${'worst at'.padStart(9)} ${'GPU'.padStart(13)} ${'float64'.padStart(13)}  `];
  for (const r of report.rows) {
    lines.push(
      `${r.tensor.padEnd(52)} ${String(r.elements).padStart(9)} ${r.maxAbsError.toExponential(2).padStart(10)} ${r.scaledError.toExponential(1).padStart(9)} ${String(r.worst.index).padStart(9)} ${r.worst.gpu.toPrecision(7).padStart(13)} ${r.worst.reference.toPrecision(7).padStart(13)}  ${r.ratio <= 1 ? 'ok' : 'OVER'}`,
    );
  }
  const { relu, maxpool } = report.decisions;
  lines.push(report.followed
    ? `Decisions (the reference follows the GPU's): its own ReLU masks differed in ${relu} element${relu === 1 ? '' : 's'}, its max-pool choices in ${maxpool} window${maxpool === 1 ? '' : 's'}.`
    : "Decisions: the reference made its own ReLU masks and max-pool choices (--no-follow); where one fell the other way, the gradients below it differ by more than arithmetic.");
  const bad = report.rows.filter((r) => r.ratio > 1).length;
  lines.push(bad === 0 ? `All ${report.rows.length} tensors within ${report.tolerance.atol} + ${report.tolerance.rtol}·|float64|.` : `${bad} of ${report.rows.length} tensors exceed ${report.tolerance.atol} + ${report.tolerance.rtol}·|float64|.`);
  return lines.join('\n');
}
