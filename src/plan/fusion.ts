/**
 * The fusion rules: a short, explicit list of patterns over the layer list. A rule rewrites the
 * schedule (which kernels run and which tensors exist), never the model: parameter names stay.
 * Each applies wherever its pattern appears, in any model; `fuse: false` turns them all off.
 */
import type { Layer } from '../layers/layer.js';
import { Conv2d } from '../layers/conv2d.js';
import { Linear } from '../layers/linear.js';

/**
 * The losses, PyTorch's: NLLLoss on log-probabilities, CrossEntropyLoss on logits (log-softmax +
 * NLL in one kernel), MSELoss against one-hot targets, and the sheet's ½Σ(t − a)² (one-hot targets,
 * averaged over the batch).
 */
export type LossKind = 'nll' | 'cross-entropy' | 'mse' | 'half-sse';

export interface FusionRule {
  readonly name: string;
  readonly description: string;
  /** Whether the rule applies to layers i and i + 1 (`last`: the pair is the model's end). */
  matches(first: Layer, second: Layer | undefined, loss: LossKind): boolean;
}

const isBatchNorm = (l: Layer | undefined) => l?.type === 'BatchNorm2d' || l?.type === 'BatchNorm1d';

export const FUSION_RULES: readonly FusionRule[] = [
  {
    name: 'relu-epilogue',
    description: 'Conv2d or Linear (with bias) → ReLU: the ReLU applied as the sums are stored (no ReLU pass, no pre-ReLU tensor)',
    matches: (a, b) => b?.type === 'ReLU' && (a instanceof Conv2d || (a instanceof Linear && a.bias)),
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
    name: 'log-softmax-nll',
    description: 'LogSoftmax at the end → NLL loss: one log-softmax + NLL kernel on the logits, and its gradient',
    matches: (a, b, loss) => a.type === 'LogSoftmax' && b === undefined && loss === 'nll',
  },
];

/** Where each rule applied: the rule and the paths of the two layers (one for log-softmax-nll). */
export interface AppliedFusion {
  readonly rule: string;
  readonly paths: readonly string[];
}

/** The rules that apply to a layer list, in order. */
export function findFusions(layers: readonly { path: string; layer: Layer }[], loss: LossKind): { rule: FusionRule; index: number; applied: AppliedFusion }[] {
  const found: { rule: FusionRule; index: number; applied: AppliedFusion }[] = [];
  layers.forEach(({ path, layer }, i) => {
    const next = layers[i + 1];
    for (const rule of FUSION_RULES) {
      if (rule.matches(layer, next?.layer, loss)) found.push({ rule, index: i, applied: { rule: rule.name, paths: next ? [path, next.path] : [path] } });
    }
  });
  return found;
}
