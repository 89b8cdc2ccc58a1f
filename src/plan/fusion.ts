/**
 * The fusion rules: a short, explicit list of patterns over the layer list. A rule rewrites the
 * schedule (which kernels run and which tensors exist), never the model: parameter names stay.
 * Each applies wherever its pattern appears, in any model; `fuse: false` turns them all off.
 */
import type { Layer } from '../layers/layer.js';
import { Conv2d } from '../layers/conv2d.js';
import { Linear } from '../layers/linear.js';
import { MaxPool2d } from '../layers/pooling.js';
import { POINTWISE_LOSSES, type PointwiseLoss } from '../kernels/pointwise-loss.js';

/**
 * The losses a plan ends with (PlanOptions.loss), PyTorch's, named as the CLI's --loss takes them:
 * NLLLoss on log-probabilities, CrossEntropyLoss on logits (log-softmax + NLL in one kernel), and
 * the pointwise losses of src/kernels/pointwise-loss.ts against one-hot targets of class labels or
 * float targets: MSELoss, the sheet's ½Σ(t − a)² (averaged over the batch), L1Loss,
 * SmoothL1Loss(β) and HuberLoss(δ) (PlanOptions.smoothL1Beta, huberDelta; default 1),
 * BCEWithLogitsLoss (on logits; PlanOptions.posWeight), BCELoss (on probabilities) and
 * KLDivLoss(reduction='batchmean') on log-probabilities (PlanOptions.logTarget). NLLLoss and
 * CrossEntropyLoss take per-class weights (PlanOptions.classWeights).
 */
export const LOSS_KINDS = ['nll', 'cross-entropy', 'mse', 'half-sse', 'l1', 'smooth-l1', 'huber', 'bce-with-logits', 'bce', 'kl-div'] as const;
export type LossKind = (typeof LOSS_KINDS)[number];

/** Whether a loss compares outputs with targets element by element (the pointwise_loss kernel; float targets allowed). */
export const isPointwiseLoss = (loss: LossKind): loss is PointwiseLoss => loss in POINTWISE_LOSSES;
// Every loss but NLL and cross-entropy (the log-softmax + NLL kernels) is the pointwise kernel's, and no other.
const pointwiseKinds: Record<Exclude<LossKind, 'nll' | 'cross-entropy'>, true> & Record<PointwiseLoss, true> = { mse: true, 'half-sse': true, l1: true, 'smooth-l1': true, huber: true, 'bce-with-logits': true, bce: true, 'kl-div': true };
void pointwiseKinds;

export interface FusionRule {
  readonly name: string;
  readonly description: string;
  /**
   * Whether the rule applies to layer i and its partner (`second` undefined: layer i is the
   * model's end); `third` is layer i + 2, for a rule whose partner may be there.
   */
  matches(first: Layer, second: Layer | undefined, loss: LossKind, third: Layer | undefined): boolean;
  /** Where the partner is, from layer i: 1 (the next layer, the default) or 2. */
  partner?(second: Layer | undefined): 1 | 2;
}

/** A Conv2d the tiled kernels run (Conv2d.tiled): only they have the epilogues; the direct kernels of any other geometry fuse nothing. */
const tiledConv = (l: Layer | undefined) => l instanceof Conv2d && l.tiled;
const isBatchNorm = (l: Layer | undefined) => l?.type === 'BatchNorm2d' || l?.type === 'BatchNorm1d';

export const FUSION_RULES: readonly FusionRule[] = [
  {
    name: 'relu-epilogue',
    description: 'Conv2d or Linear → ReLU: the ReLU applied as the sums (and the bias) are stored (no ReLU pass, no pre-ReLU tensor)',
    matches: (a, b) => b?.type === 'ReLU' && (tiledConv(a) || a instanceof Linear),
  },
  {
    name: 'batchnorm-relu',
    description: 'BatchNorm → ReLU: the ReLU applied as the batch norm stores its output (no ReLU pass; the batch norm keeps no pre-ReLU tensor: its backward reads its input)',
    matches: (a, b) => isBatchNorm(a) && b?.type === 'ReLU',
  },
  {
    name: 'residual-relu',
    description: "a residual block's sum → ReLU: the ReLU applied as the sum is stored (torchvision's relu(out + identity); no ReLU pass)",
    matches: (a, b) => a.type === 'Residual' && b?.type === 'ReLU',
  },
  {
    name: 'batchnorm-dropout',
    description: "BatchNorm → Dropout: one pass in training (normalise, draw the mask, scale), and the dropout's gradient applied inside the batch norm's backward kernels",
    matches: (a, b) => isBatchNorm(a) && b?.type === 'Dropout',
  },
  {
    name: 'relu-grad-in-batchnorm',
    description: "ReLU → BatchNorm: the ReLU's gradient applied inside the batch norm's input gradient",
    matches: (a, b) => a.type === 'ReLU' && isBatchNorm(b),
  },
  {
    name: 'relu-grad-in-maxpool',
    description: "ReLU → MaxPool2d(2): the ReLU's gradient applied inside the max pool's backward (the gradient passed where the pooled value is positive: the only elements it reaches)",
    matches: (a, b) => a.type === 'ReLU' && b instanceof MaxPool2d && b.twoByTwo,
  },
  {
    name: 'relu-grad-in-input-gradient',
    description: "ReLU → Conv2d or Linear: the ReLU's gradient applied as the layer's input gradient is stored (where the layer's input, the ReLU's output, is positive; no ReLU backward pass)",
    matches: (a, b) => a.type === 'ReLU' && (tiledConv(b) || b instanceof Linear),
  },
  {
    name: 'batchnorm-stats-epilogue',
    description:
      "Conv2d → [ReLU →] BatchNorm2d: the batch norm's training statistics summed as the conv's outputs are stored (partial moments per channel, merged by one small kernel; no statistics pass over the conv's output)",
    matches: (a, b, _loss, c) => tiledConv(a) && (b?.type === 'BatchNorm2d' || (b?.type === 'ReLU' && c?.type === 'BatchNorm2d')),
    partner: (b) => (b?.type === 'ReLU' ? 2 : 1),
  },
  {
    name: 'maxpool-epilogue',
    description:
      "Conv2d → [ReLU →] MaxPool2d(2): the 2×2 max pool and its argmax stored by the conv's forward (after the ReLU, if any: relu-epilogue; no pool pass, and the conv's own output never written: a quarter of it kept); the pool's backward as before",
    // Only the 2×2 window of stride 2 (MaxPool2d.twoByTwo): the conv's tile pools 2×2 blocks.
    matches: (a, b, _loss, c) => tiledConv(a) && ((b instanceof MaxPool2d && b.twoByTwo) || (b?.type === 'ReLU' && c instanceof MaxPool2d && c.twoByTwo)),
    partner: (b) => (b?.type === 'ReLU' ? 2 : 1),
  },
  {
    name: 'log-softmax-nll',
    description: 'LogSoftmax at the end → NLL loss: one log-softmax + NLL kernel on the logits, and its gradient',
    matches: (a, b, loss) => a.type === 'LogSoftmax' && b === undefined && loss === 'nll',
  },
];

/** Where each rule applied: the rule and the paths of the layer and its partner (one path for log-softmax-nll). */
export interface AppliedFusion {
  readonly rule: string;
  readonly paths: readonly string[];
}

/**
 * The rules that apply to a layer list, in order. A rule takes only layers of one `segment` (a
 * residual block's ends and branches are segments of their own: src/plan/plan.ts); a layer whose
 * next is in another segment is no model's end either.
 */
export function findFusions(layers: readonly { path: string; layer: Layer; segment?: number }[], loss: LossKind): { rule: FusionRule; index: number; partner: number; applied: AppliedFusion }[] {
  const found: { rule: FusionRule; index: number; partner: number; applied: AppliedFusion }[] = [];
  layers.forEach(({ path, layer, segment }, i) => {
    const next = layers[i + 1];
    if (next !== undefined && next.segment !== segment) return;
    const third = layers[i + 2]?.segment === segment ? layers[i + 2]?.layer : undefined;
    for (const rule of FUSION_RULES) {
      if (!rule.matches(layer, next?.layer, loss, third)) continue;
      const partner = i + (rule.partner?.(next?.layer) ?? 1);
      const other = layers[partner];
      found.push({ rule, index: i, partner, applied: { rule: rule.name, paths: other ? [path, other.path] : [path] } });
    }
  });
  return found;
}
