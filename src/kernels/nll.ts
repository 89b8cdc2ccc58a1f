/**
 * log_softmax + NLL loss (mean over the batch; PyTorch's weighted mean with per-class weights), its gradient, and the batch's loss and accuracy
 * accumulated on the GPU. Kernels: shaders/log_softmax_nll_forward.wgsl,
 * log_softmax_nll_backward.wgsl, batch_metrics.wgsl. CPU reference: src/reference/nll.ts.
 */
import { defineKernel } from '../gpu/kernel.js';
import forwardSource from '../../shaders/log_softmax_nll_forward.wgsl?raw';
import backwardSource from '../../shaders/log_softmax_nll_backward.wgsl?raw';
import metricsSource from '../../shaders/batch_metrics.wgsl?raw';
import healthSource from '../../shaders/lib/health.wgsl?raw';
import ignoreSource from '../../shaders/lib/ignore_index.wgsl?raw';
import { HEALTH_SLOTS } from './health.js';

const shape = { batch: 'u32', classes: 'u32' } as const;
/** PyTorch's ignore_index, read by the IGNORE variants (which go with WEIGHTED: weights of 1 where there are none); the labels compared as i32. */
const ignoring = { ignoreIndex: 'i32' } as const;

/**
 * logp = log_softmax(logits), loss[b] = −logp[b, label], or with label smoothing ε
 * (1 − ε)·(−logp[b, label]) + ε·mean_j(−logp[b, j]); variant WEIGHTED (per-class `weight`), each
 * sample's share of PyTorch's weighted mean times batch, and weightSum = [Σ_b w[label_b], Σ_j w[j]]
 * (overwrites logp, loss, weightSum); variant IGNORE (with WEIGHTED), a sample whose label is
 * ignoreIndex adds nothing (its share 0, NaN where every sample is ignored)
 */
export const logSoftmaxNllForward = defineKernel({
  name: 'log_softmax_nll_forward',
  linear: true,
  source: forwardSource,
  params: { ...shape, smoothing: 'f32', ...ignoring },
  bindings: {
    logits: { type: 'f32', access: 'read' },
    labels: { type: 'u32', access: 'read' },
    logp: { type: 'f32', access: 'read_write' },
    loss: { type: 'f32', access: 'read_write' },
    weight: { type: 'f32', access: 'read', only: 'WEIGHTED' },
    weightSum: { type: 'f32', access: 'read_write', only: 'WEIGHTED' },
  },
  defines: ['WEIGHTED', 'IGNORE'],
  libraries: [ignoreSource],
  workgroupSize: [64],
  grid: (p) => [p.batch],
  lengths: (p) => ({ logits: p.batch * p.classes, labels: p.batch, logp: p.batch * p.classes, loss: p.batch, weight: p.classes, weightSum: 2 }),
});

/**
 * dlogits = (softmax − ((1 − ε)·onehot + ε / classes)) / batch, ε the label smoothing; variant
 * WEIGHTED, the gradient of PyTorch's weighted mean (weightSum from the forward); variant IGNORE
 * (with WEIGHTED), 0 on an ignored sample's row  (overwrites dlogits)
 */
export const logSoftmaxNllBackward = defineKernel({
  name: 'log_softmax_nll_backward',
  linear: true,
  source: backwardSource,
  params: { ...shape, smoothing: 'f32', ...ignoring },
  bindings: {
    logp: { type: 'f32', access: 'read' },
    labels: { type: 'u32', access: 'read' },
    dlogits: { type: 'f32', access: 'read_write' },
    weight: { type: 'f32', access: 'read', only: 'WEIGHTED' },
    weightSum: { type: 'f32', access: 'read', only: 'WEIGHTED' },
  },
  defines: ['WEIGHTED', 'IGNORE'],
  workgroupSize: [64],
  grid: (p) => [p.batch * p.classes],
  lengths: (p) => ({ logp: p.batch * p.classes, labels: p.batch, dlogits: p.batch * p.classes, weight: p.classes, weightSum: 2 }),
});

/**
 * metrics = [batch mean loss (overwritten), Σ loss (accumulated)]; counts += [correct, samples]
 * and, variant IGNORE, counts[2] += the samples whose label is ignoreIndex (never correct);
 * with guard 1, a non-finite batch loss is recorded in `health` (src/kernels/health.ts).
 */
export const batchMetrics = defineKernel({
  name: 'batch_metrics',
  source: metricsSource,
  params: { ...shape, guard: 'u32', ...ignoring },
  bindings: {
    loss: { type: 'f32', access: 'read' },
    logp: { type: 'f32', access: 'read' },
    labels: { type: 'u32', access: 'read' },
    metrics: { type: 'f32', access: 'read_write' },
    counts: { type: 'u32', access: 'read_write' },
    health: { type: 'u32', access: 'read_write' },
  },
  libraries: [healthSource, ignoreSource],
  defines: ['IGNORE'],
  workgroupSize: [256],
  grid: (_p, wg) => [wg[0]],
  lengths: (p) => ({ loss: p.batch, logp: p.batch * p.classes, labels: p.batch, metrics: 2, counts: 3, health: HEALTH_SLOTS.loss + 1 }),
});
