/**
 * LogSoftmax(dim=1) on its own (when it is not fused with the NLL loss), Softmax(dim=1) (variant
 * SOFTMAX) and Softmin(dim=1) (variant SOFTMIN: softmax of −x), and the NLL loss on log-probabilities (the losses on outputs against targets:
 * src/kernels/pointwise-loss.ts).
 * Kernels: shaders/log_softmax_forward.wgsl, log_softmax_backward.wgsl, nll_forward.wgsl,
 * nll_backward.wgsl. CPU reference: src/reference/nll.ts.
 */
import { defineKernel } from '../gpu/kernel.js';
import forwardSource from '../../shaders/log_softmax_forward.wgsl?raw';
import backwardSource from '../../shaders/log_softmax_backward.wgsl?raw';
import nllForwardSource from '../../shaders/nll_forward.wgsl?raw';
import nllBackwardSource from '../../shaders/nll_backward.wgsl?raw';
import ignoreSource from '../../shaders/lib/ignore_index.wgsl?raw';

const shape = { batch: 'u32', classes: 'u32' } as const;

/** y = log_softmax(x) per row  (overwrites y) */
export const logSoftmaxForward = defineKernel({
  name: 'log_softmax_forward',
  linear: true,
  source: forwardSource,
  params: shape,
  bindings: {
    x: { type: 'f32', access: 'read' },
    y: { type: 'f32', access: 'read_write' },
  },
  defines: ['SOFTMAX', 'SOFTMIN'],
  workgroupSize: [64],
  grid: (p) => [p.batch],
  lengths: (p) => ({ x: p.batch * p.classes, y: p.batch * p.classes }),
});

/** dx = dy − exp(y)·Σ dy per row  (overwrites dx) */
export const logSoftmaxBackward = defineKernel({
  name: 'log_softmax_backward',
  linear: true,
  source: backwardSource,
  params: shape,
  bindings: {
    dy: { type: 'f32', access: 'read' },
    y: { type: 'f32', access: 'read' },
    dx: { type: 'f32', access: 'read_write' },
  },
  defines: ['SOFTMAX', 'SOFTMIN'],
  workgroupSize: [64],
  grid: (p) => [p.batch],
  lengths: (p) => ({ dy: p.batch * p.classes, y: p.batch * p.classes, dx: p.batch * p.classes }),
});

/**
 * loss[b] = −logp[b, label]; variant WEIGHTED (per-class `weight`), each sample's share of
 * PyTorch's weighted mean times batch, and weightSum = [Σ_b w[label_b]]; variant IGNORE (with
 * WEIGHTED: weights of 1 where there are none), a sample whose label is ignoreIndex (compared as
 * i32) adds nothing (its share 0, NaN where every sample is ignored)  (overwrites loss, weightSum)
 */
export const nllForward = defineKernel({
  name: 'nll_forward',
  linear: true,
  source: nllForwardSource,
  params: { ...shape, ignoreIndex: 'i32' },
  bindings: {
    logp: { type: 'f32', access: 'read' },
    labels: { type: 'u32', access: 'read' },
    loss: { type: 'f32', access: 'read_write' },
    weight: { type: 'f32', access: 'read', only: 'WEIGHTED' },
    weightSum: { type: 'f32', access: 'read_write', only: 'WEIGHTED' },
  },
  defines: ['WEIGHTED', 'IGNORE'],
  libraries: [ignoreSource],
  workgroupSize: [64],
  grid: (p) => [p.batch],
  lengths: (p) => ({ logp: p.batch * p.classes, labels: p.batch, loss: p.batch, weight: p.classes, weightSum: 1 }),
});

/** dlogp = −onehot / batch; variant WEIGHTED, −onehot·w[label] / weightSum[0]; variant IGNORE (with WEIGHTED), 0 on an ignored sample's row  (overwrites dlogp) */
export const nllBackward = defineKernel({
  name: 'nll_backward',
  linear: true,
  source: nllBackwardSource,
  params: { ...shape, ignoreIndex: 'i32' },
  bindings: {
    labels: { type: 'u32', access: 'read' },
    dlogp: { type: 'f32', access: 'read_write' },
    weight: { type: 'f32', access: 'read', only: 'WEIGHTED' },
    weightSum: { type: 'f32', access: 'read', only: 'WEIGHTED' },
  },
  defines: ['WEIGHTED', 'IGNORE'],
  workgroupSize: [64],
  grid: (p) => [p.batch * p.classes],
  lengths: (p) => ({ labels: p.batch, dlogp: p.batch * p.classes, weight: p.classes, weightSum: 1 }),
});
