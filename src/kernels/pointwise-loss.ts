/**
 * The losses that compare each output with a target — PyTorch's MSELoss, L1Loss, SmoothL1Loss,
 * HuberLoss, BCEWithLogitsLoss (with pos_weight: variant POS_WEIGHT) and BCELoss (reduction
 * 'mean'), KLDivLoss (reduction 'batchmean', log_target either way), and the sheet's ½Σ(t − a)² —
 * per sample and their gradient, in one kernel (the loss a uniform parameter), against one-hot
 * targets of class labels or (TARGETS) given float targets.
 * Kernel: shaders/pointwise_loss.wgsl. CPU reference: src/reference/loss.ts.
 */
import { defineKernel } from '../gpu/kernel.js';
import source from '../../shaders/pointwise_loss.wgsl?raw';
import stableMathSource from '../../shaders/lib/stable_math.wgsl?raw';
import sigmoidSource from '../../shaders/lib/sigmoid.wgsl?raw';

/** The losses this kernel computes, by the engine's loss names, and their `kind` in the WGSL. */
export const POINTWISE_LOSSES = { mse: 0, 'half-sse': 1, l1: 2, 'smooth-l1': 3, huber: 4, 'bce-with-logits': 5, bce: 6, 'kl-div': 7 } as const;
export type PointwiseLoss = keyof typeof POINTWISE_LOSSES;

/** The WGSL's `kind` of a loss: KLDivLoss(log_target=True) is kind 8. */
export const pointwiseKind = (loss: PointwiseLoss, logTarget = false): number => (loss === 'kl-div' && logTarget ? 8 : POINTWISE_LOSSES[loss]);

/**
 * loss[b] = the mean over features of ℓ(a, t) (½Σ(t − a)² and KLDivLoss: the sum), grad = ∂(mean
 * over the batch of loss)/∂a  (overwrites loss, grad)
 */
export const pointwiseLoss = defineKernel({
  name: 'pointwise_loss',
  linear: true,
  source,
  libraries: [stableMathSource, sigmoidSource],
  params: { batch: 'u32', features: 'u32', kind: 'u32', beta: 'f32' },
  bindings: {
    prediction: { type: 'f32', access: 'read' },
    labels: { type: 'u32', access: 'read' },
    loss: { type: 'f32', access: 'read_write' },
    grad: { type: 'f32', access: 'read_write' },
    targets: { type: 'f32', access: 'read', only: 'TARGETS' },
    posWeight: { type: 'f32', access: 'read', only: 'POS_WEIGHT' },
  },
  defines: ['TARGETS', 'POS_WEIGHT'],
  workgroupSize: [64],
  grid: (p) => [p.batch],
  lengths: (p) => ({ prediction: p.batch * p.features, labels: p.batch, loss: p.batch, grad: p.batch * p.features, targets: p.batch * p.features, posWeight: p.features }),
});
