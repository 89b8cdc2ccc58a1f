/**
 * The float64 reference of one training (or eval) step of any planned network, composed from the
 * per-layer references (which stay independent plain loops): forward through every layer, the
 * loss, backward to every parameter, the running statistics' update. Fusion is a GPU schedule, not
 * maths, so the reference never fuses. Dropout masks come from the caller (drawn with the same
 * Philox words as the GPU: `dropoutMaskRef`).
 *
 * `follow` makes the reference take the GPU's discrete decisions instead of its own: which ReLU
 * inputs pass (where the GPU's ReLU output is > 0) and which element each max-pool window picks.
 * An f32 value a hair from zero (or a near tie) can fall the other way than in float64, flipping a
 * derivative and a whole patch of gradient: that is a kink, not arithmetic error. Following the GPU
 * measures the arithmetic alone, and `decisions` counts where the reference's own choice differed.
 */
import type { ModelPlan, PlanNode } from '../plan/plan.js';
import type { Conv2d } from '../layers/conv2d.js';
import { OneD } from '../layers/one-d.js';
import type { ConvTranspose2d } from '../layers/conv-transpose2d.js';
import type { Linear } from '../layers/linear.js';
import type { GRU, LSTM } from '../layers/recurrent.js';
import type { LstmWeights } from './lstm.js';
import { recurrentParameterName, recurrentStackBackwardRef, recurrentStackForwardRef, type RecurrentKind, type RecurrentStackShape } from './recurrent.js';
import type { MultiheadAttention } from '../layers/attention.js';
import { attentionBackwardRef, attentionForwardRef, type AttentionShape, type AttentionWeights } from './attention.js';
import type { Embedding } from '../layers/embedding.js';
import type { Permute } from '../layers/permute.js';
import { embeddingBackwardWeightRef, embeddingForwardRef, embeddingRenormRef } from './embedding.js';
import { permuteRef } from './permute.js';
import type { BatchNorm2d } from '../layers/batchnorm.js';
import type { GroupNorm, InstanceNorm2d, LayerNorm } from '../layers/normalization.js';
import { groupNormShape, layerNormShape, sampleNormBackwardRef, sampleNormForwardRef, type SampleNormShape } from './sample-norm.js';
import type { AvgPool2d, MaxPool2d } from '../layers/pooling.js';
import type { Pad2d } from '../layers/padding.js';
import type { Upsample } from '../layers/upsample.js';
import type { ChannelShuffle, PixelShuffle, PixelUnshuffle } from '../layers/shuffle.js';
import { channelShuffleRef, pixelShuffleRef, pixelUnshuffleRef } from './shuffle.js';
import { upsample2dBackwardRef, upsample2dForwardRef, type Upsample2dGeometry } from './upsample.js';
import { pad2dBackwardRef, pad2dForwardRef, type Pad2dGeometry } from './padding.js';
import type { CELU, ELU, GELU, GLU, Hardshrink, Hardtanh, LeakyReLU, PReLU, RReLU, Softplus, Softshrink, Threshold } from '../layers/activations.js';
import type { Dropout } from '../layers/dropout.js';
import { gluBackwardRef, gluRef, type GluShape } from './glu.js';
import { rreluBackwardRef, rreluRef } from './rrelu.js';
import { biasAddRef, biasBackwardRef } from './bias.js';
import { pointwiseLossRef } from './loss.js';
import { isPointwiseLoss } from '../plan/fusion.js';
import { batchNormBackwardRef, batchNormForwardEvalRef, batchNormForwardTrainRef, batchNormRunningUpdateRef } from './batchnorm.js';
import { conv2dBackwardInputRef, conv2dBackwardWeightRef, conv2dForwardRef, type Conv2dGeometry } from './conv2d.js';
import { denseBackwardInputRef, denseBackwardWeightRef, denseForwardRef } from './dense.js';
import { countCorrectRef, logSoftmaxBackwardRef, logSoftmaxNllBackwardRef, logSoftmaxRef, nllBackwardRef, nllLossRef, softmaxBackwardRef, softmaxRef, softminBackwardRef, softminRef } from './nll.js';
import { adaptiveAvgPool2dBackwardRef, adaptiveAvgPool2dForwardRef, adaptiveMaxPool2dForwardRef, avgPool2dBackwardRef, avgPool2dForwardRef, globalAvgPoolBackwardRef, globalAvgPoolForwardRef, maxPool2dForwardRef, maxPoolBackwardRef, maxPool2x2ForwardRef, type Pool2dRef } from './pooling.js';
import { alphaDropoutBackwardRef, alphaDropoutForwardRef, dropoutBackwardRef, dropoutForwardRef } from './random.js';
import { reluBackwardRef, reluForwardRef } from './relu.js';
import { sigmoidBackwardRef, sigmoidRef } from './sigmoid.js';
import { tanhBackwardRef, tanhRef } from './tanh.js';
import { activationBackwardRef, activationRef, leakyReluBackwardRef, leakyReluRef, preluBackwardRef, preluRef, siluBackwardRef, siluRef, type ActivationRefKind } from './activation.js';

export interface NetworkStepRefInput {
  readonly plan: ModelPlan;
  /** Parameters and buffers by state_dict name. */
  readonly params: Readonly<Record<string, ArrayLike<number>>>;
  readonly buffers: Readonly<Record<string, ArrayLike<number>>>;
  /** [batch, ...inputShape], already normalised. */
  readonly input: ArrayLike<number>;
  readonly labels: ArrayLike<number>;
  /** Regression: each sample's float targets [batch, classes], which a squared-error loss compares with (labels then name no class). */
  readonly targets?: ArrayLike<number>;
  readonly batch: number;
  readonly mode: 'train' | 'eval';
  /**
   * Training: each random layer's draws by its path: a Dropout's mask (0 or 1/(1 − p) per element;
   * an AlphaDropout's the same, non-zero where kept), an RReLU's slopes (one per element).
   */
  readonly dropoutMasks?: Readonly<Record<string, ArrayLike<number>>>;
  /**
   * The GPU's decisions to follow, by layer path: a ReLU's output (NaN where it is not known: a
   * ReLU whose conv stores the max pool after it keeps only the windows' maxima), a max pool's
   * argmax.
   */
  readonly follow?: {
    readonly reluOutputs?: Readonly<Record<string, ArrayLike<number>>>;
    readonly argmax?: Readonly<Record<string, ArrayLike<number>>>;
  };
}

export interface NetworkStepRef {
  /** Mean loss over the batch. */
  readonly loss: number;
  readonly correct: number;
  /** Every layer's output by its path. */
  readonly activations: Record<string, Float64Array>;
  /** ∂loss/∂parameter by state_dict name (training only). */
  readonly grads: Record<string, Float64Array>;
  /** The running statistics after the step, by state_dict name (training only). */
  readonly buffers: Record<string, Float64Array>;
  /**
   * Parameters the forward pass changed in place, by state_dict name, as it left them (an
   * Embedding's weight after max_norm's renorm, in training and eval): the optimizer's step
   * starts from these.
   */
  readonly renormed: Record<string, Float64Array>;
  /** How many ReLU masks and max-pool choices of the reference's own differed from those followed. */
  readonly decisions: { readonly relu: number; readonly maxpool: number };
}

const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/** SELU's constants as PyTorch's documentation gives them. */
const SELU = { alpha: 1.6732632423543772848170429916717, scale: 1.0507009873554804934193349852946 };

/** The reference's activation and its arguments for a layer, from the layer's PyTorch arguments; undefined for another layer. */
function activationOf(layer: PlanNode['layer']): [ActivationRefKind, number, number] | undefined {
  switch (layer.type) {
    case 'GELU':
      return [(layer as GELU).approximate === 'tanh' ? 'GELU_TANH' : 'GELU', 0, 0];
    case 'ELU':
      return ['ELU', (layer as ELU).alpha, 1];
    case 'SELU':
      return ['ELU', SELU.alpha, SELU.scale];
    case 'Softplus':
      return ['SOFTPLUS', (layer as Softplus).beta, (layer as Softplus).threshold];
    case 'Mish':
      return ['MISH', 0, 0];
    case 'Hardswish':
      return ['HARDSWISH', 0, 0];
    case 'Hardsigmoid':
      return ['HARDSIGMOID', 0, 0];
    case 'Hardtanh':
      return ['HARDTANH', (layer as Hardtanh).minVal, (layer as Hardtanh).maxVal];
    case 'ReLU6':
      return ['HARDTANH', 0, 6];
    case 'CELU':
      return ['CELU', (layer as CELU).alpha, 0];
    case 'LogSigmoid':
      return ['LOGSIGMOID', 0, 0];
    case 'Softsign':
      return ['SOFTSIGN', 0, 0];
    case 'Softshrink':
      return ['SOFTSHRINK', (layer as Softshrink).lambd, 0];
    case 'Hardshrink':
      return ['HARDSHRINK', (layer as Hardshrink).lambd, 0];
    case 'Threshold':
      return ['THRESHOLD', (layer as Threshold).threshold, (layer as Threshold).value];
    case 'Tanhshrink':
      return ['TANHSHRINK', 0, 0];
    default:
      return undefined;
  }
}

/** A GLU's split for the reference, from its PyTorch dim (counted with the batch; negative from the end). */
function gluShape(node: PlanNode, batch: number): GluShape {
  const dim = (node.layer as GLU).dim;
  const axis = (dim < 0 ? dim + node.inShape.length + 1 : dim) - 1;
  return { outer: batch * size(node.inShape.slice(0, axis)), size: node.inShape[axis]!, inner: size(node.inShape.slice(axis + 1)) };
}

/** An AvgPool2d's window for the reference; undefined for global average pooling (the layer's own test of it: AvgPool2d.global). */
function avgWindow(layer: AvgPool2d, inShape: readonly number[]): Pool2dRef | undefined {
  if (layer.global(inShape)) return undefined;
  return { kernel: layer.kernelSize!, stride: layer.stride!, padding: layer.padding, ceilMode: layer.ceilMode, countIncludePad: layer.countIncludePad, divisorOverride: layer.divisorOverride };
}

function convShape(node: PlanNode, batch: number): Conv2dGeometry {
  const layer = node.layer as Conv2d;
  const [inChannels, height, width] = node.inShape as [number, number, number];
  const [strideH, strideW] = layer.stride;
  const [dilationH, dilationW] = layer.dilation;
  // In a padding mode other than 'zeros' the node's input comes padded (its `:pad` node before it).
  const { top: padTop, bottom: padBottom, left: padLeft, right: padRight } = layer.zeroPads;
  return { batch, inChannels, height, width, outChannels: layer.outChannels, kernelH: layer.kernelSize[0], kernelW: layer.kernelSize[1], strideH, strideW, padTop, padBottom, padLeft, padRight, dilationH, dilationW, groups: layer.groups };
}

function padGeometry(node: PlanNode, batch: number): Pad2dGeometry {
  const layer = node.layer as Pad2d;
  const [left, right, top, bottom] = layer.padding;
  return { planes: batch * node.inShape[0]!, height: node.inShape[1]!, width: node.inShape[2]!, left, right, top, bottom, mode: layer.mode, value: layer.value };
}

/** An Upsample's geometry for the reference: its taps in float64 (PyTorch's float64 kernels'; the GPU's are float32's, within the check's tolerance). */
function upsampleGeometry(node: PlanNode, batch: number): Upsample2dGeometry {
  const layer = node.layer as Upsample;
  // A [C, L] sample as [C, 1, L]: its height copied (no scale factor there).
  const oneD = node.inShape.length === 2;
  const given = layer.recomputeScaleFactor ? undefined : layer.scaleFactor;
  const scaleFactor = given && oneD ? ([1, given[1]] as const) : given;
  const [a, b] = [layer.plane(node.inShape), layer.plane(node.outShape)];
  return { planes: batch * a.channels, height: a.height, width: a.width, outH: b.height, outW: b.width, mode: layer.kernelMode, alignCorners: layer.alignCorners, scaleFactor };
}

/** A Linear's rows (batch · its leading dimensions: [L, in] is L rows a sample) and features (the last dimension). */
function linearRows(node: PlanNode, batch: number): { rows: number; features: number } {
  return { rows: batch * size(node.inShape.slice(0, -1)), features: node.inShape[node.inShape.length - 1]! };
}

/** What a layer's backward needs from its forward. */
interface Trace {
  readonly node: PlanNode;
  readonly x: Float64Array;
  readonly y: Float64Array;
  readonly argmax?: Uint32Array;
  /**
   * A ReLU's followed mask (1 = the GPU passed the element). Its own output cannot say: where the
   * GPU passed an input the reference has ≤ 0, the output is that input, and y > 0 would block
   * the gradient the GPU let through.
   */
  readonly passed?: Uint8Array;
}

export function networkStepRef(input: NetworkStepRefInput): NetworkStepRef {
  const { plan, params, buffers, batch, mode } = input;
  const get = (name: string, length: number): ArrayLike<number> => {
    const t = params[name] ?? buffers[name];
    if (!t) throw new Error(`reference: ${name} is missing`);
    if (t.length !== length) throw new Error(`reference: ${name} has ${t.length} elements, expected ${length}`);
    return t;
  };
  const activations: Record<string, Float64Array> = {};
  const newBuffers: Record<string, Float64Array> = {};
  const renormed: Record<string, Float64Array> = {};
  const traces: Trace[] = [];
  const decisions = { relu: 0, maxpool: 0 };
  let x: Float64Array<ArrayBufferLike> = Float64Array.from(input.input);
  // Residual blocks: a shortcut starts again from its block's input; a block's sum adds the other branch's output.
  // By path: a 1-D layer's node is looked at as its 2-D view (OneD.view), another object.
  const shortcutOf = new Map(plan.residuals.filter((r) => r.shortcut).map((r) => [r.shortcut!.path, r]));
  const sumOf = new Map(plan.residuals.map((r) => [r.add.path, r]));
  const inputOf = new Map(plan.residuals.map((r) => [r.input.path, r]));
  for (const planNode of plan.nodes) {
    // A 1-D layer is its 2-D counterpart on the [C, 1, L] view (src/layers/one-d.ts).
    const node = OneD.view(planNode);
    const { layer, path } = node;
    const restart = shortcutOf.get(path);
    if (restart) x = activations[restart.input.path]!;
    const channels = node.inShape[0]!;
    const area = size(node.inShape.slice(1));
    let y: Float64Array;
    let argmax: Uint32Array | undefined;
    let passed: Uint8Array | undefined;
    switch (layer.type) {
      case 'Conv2d': {
        const l = layer as Conv2d;
        const s = convShape(node, batch);
        y = conv2dForwardRef(x, get(named(node, 'weight'), size(node.parameters[0]!.shape)), s);
        if (l.bias) y = biasAddRef(y, get(named(node, 'bias'), l.outChannels), batch, l.outChannels, size(node.outShape.slice(1)));
        break;
      }
      case 'PReLU': {
        const { channels: c, area: a } = (layer as PReLU).layout(node.inShape);
        y = preluRef(x, get(named(node, 'weight'), c), c, a);
        break;
      }
      case 'ConvTranspose2d': {
        // The input gradient of the conv it transposes (ConvTranspose2d.convGeometry).
        const l = layer as ConvTranspose2d;
        y = conv2dBackwardInputRef(x, get(named(node, 'weight'), size(node.parameters[0]!.shape)), l.convGeometry(node.inShape, batch));
        if (l.bias) y = biasAddRef(y, get(named(node, 'bias'), l.outChannels), batch, l.outChannels, size(node.outShape.slice(1)));
        break;
      }
      case 'Linear': {
        const l = layer as Linear;
        const { rows, features } = linearRows(node, batch);
        y = denseForwardRef(x, get(named(node, 'weight'), l.outFeatures * features), rows, features, l.outFeatures);
        if (l.bias) y = biasAddRef(y, get(named(node, 'bias'), l.outFeatures), rows, l.outFeatures, 1);
        break;
      }
      case 'MultiheadAttention': {
        const { shape, weights } = attentionOf(node, batch, get);
        y = attentionForwardRef(x, weights, shape, attentionMask(node, input, batch, mode)).y;
        break;
      }
      case 'LSTM':
      case 'GRU': {
        const { shape, weights, masks } = recurrentOf(node, batch, get, input, path);
        y = recurrentStackForwardRef(node.layer.type as RecurrentKind, x, weights, shape, masks).y;
        break;
      }
      case 'Embedding': {
        const l = layer as Embedding;
        let weight = get(named(node, 'weight'), l.numEmbeddings * l.embeddingDim);
        // max_norm: the rows the ids name renormed in place before the lookup (PyTorch's embedding_renorm_).
        if (l.maxNorm !== undefined) weight = renormed[named(node, 'weight')] = embeddingRenormRef(x, weight, l.numEmbeddings, l.embeddingDim, l.maxNorm, l.normType);
        y = embeddingForwardRef(x, weight, l.numEmbeddings, l.embeddingDim);
        break;
      }
      case 'Permute':
        y = permuteRef(x, batch, node.inShape, (layer as Permute).sampleDims(node.inShape.length));
        break;
      case 'ReLU': {
        y = reluForwardRef(x);
        const gpu = input.follow?.reluOutputs?.[path];
        if (gpu) {
          // NaN: the GPU's output there is not known (the reference's own decision stands).
          // The reference's own decision is PyTorch's (threshold_backward: passed unless y ≤ 0, so a NaN passes).
          passed = Uint8Array.from(gpu, (v, i) => (Number.isNaN(v) ? (y[i]! <= 0 ? 0 : 1) : v > 0 ? 1 : 0));
          for (let i = 0; i < y.length; i++) {
            if (passed[i] !== (y[i]! <= 0 ? 0 : 1)) {
              decisions.relu++;
              y[i] = passed[i] ? x[i]! : 0;
            }
          }
        }
        break;
      }
      case 'Sigmoid':
        y = sigmoidRef(x);
        break;
      case 'Tanh':
        y = tanhRef(x);
        break;
      case 'LeakyReLU':
        y = leakyReluRef(x, (layer as LeakyReLU).negativeSlope);
        break;
      case 'SiLU':
        y = siluRef(x);
        break;
      case 'LogSoftmax':
        y = logSoftmaxRef(x, batch, channels);
        break;
      case 'Softmax':
        y = softmaxRef(x, batch, channels);
        break;
      case 'Softmin':
        y = softminRef(x, batch, channels);
        break;
      case 'GLU':
        y = gluRef(x, gluShape(node, batch));
        break;
      case 'RReLU': {
        // Eval: PyTorch's leaky_relu with the slope (lower + upper)/2.
        const l = layer as RReLU;
        y = mode === 'train' ? rreluRef(x, mask(input, path, x.length)) : leakyReluRef(x, (l.lowerBound + l.upperBound) / 2);
        break;
      }
      case 'Identity':
        y = x;
        break;
      case 'Flatten':
      case 'Unflatten':
        y = x;
        break;
      case 'ResidualInput':
        y = x;
        break;
      case 'Residual': {
        const r = sumOf.get(path)!;
        const other = activations[(r.shortcut ? r.bodyEnd : r.input).path]!;
        y = Float64Array.from(x, (v, k) => v + other[k]!);
        break;
      }
      case 'MaxPool2d':
      case 'AdaptiveMaxPool2d': {
        const [h, w] = [node.inShape[1]!, node.inShape[2]!];
        let pooled;
        if (layer.type === 'AdaptiveMaxPool2d') {
          pooled = adaptiveMaxPool2dForwardRef(x, batch, channels, h, w, node.outShape[1]!, node.outShape[2]!);
        } else {
          const pool = layer as MaxPool2d;
          pooled = pool.twoByTwo
            ? maxPool2x2ForwardRef(x, batch, channels, h, w)
            : maxPool2dForwardRef(x, batch, channels, h, w, { kernel: pool.kernelSize, stride: pool.stride, padding: pool.padding, dilation: pool.dilation, ceilMode: pool.ceilMode });
        }
        [y, argmax] = [pooled.y, pooled.argmax];
        const gpu = input.follow?.argmax?.[path];
        if (gpu) {
          for (let o = 0; o < y.length; o++) {
            if (gpu[o] !== argmax[o]) {
              decisions.maxpool++;
              argmax[o] = gpu[o]!;
              y[o] = x[gpu[o]!]!;
            }
          }
        }
        break;
      }
      case 'ZeroPad2d':
      case 'ConstantPad2d':
      case 'ReflectionPad2d':
      case 'ReplicationPad2d':
      case 'CircularPad2d':
        y = pad2dForwardRef(x, padGeometry(node, batch));
        break;
      case 'Upsample':
      case 'UpsamplingNearest2d':
      case 'UpsamplingBilinear2d':
        y = upsample2dForwardRef(x, upsampleGeometry(node, batch));
        break;
      case 'PixelShuffle':
        y = pixelShuffleRef(x, batch, channels, node.inShape[1]!, node.inShape[2]!, (layer as PixelShuffle).upscaleFactor);
        break;
      case 'PixelUnshuffle':
        y = pixelUnshuffleRef(x, batch, channels, node.inShape[1]!, node.inShape[2]!, (layer as PixelUnshuffle).downscaleFactor);
        break;
      case 'ChannelShuffle':
        y = channelShuffleRef(x, batch, channels, area, (layer as ChannelShuffle).groups);
        break;
      case 'AdaptiveAvgPool2d':
        y = adaptiveAvgPool2dForwardRef(x, batch, channels, node.inShape[1]!, node.inShape[2]!, node.outShape[1]!, node.outShape[2]!);
        break;
      case 'AvgPool2d': {
        const window = avgWindow(layer as AvgPool2d, node.inShape);
        y = window ? avgPool2dForwardRef(x, batch, channels, node.inShape[1]!, node.inShape[2]!, window) : globalAvgPoolForwardRef(x, batch, channels, area);
        break;
      }
      case 'Dropout':
      case 'Dropout2d':
      case 'Dropout1d':
        y = mode === 'train' ? dropoutForwardRef(x, mask(input, path, x.length)) : x;
        break;
      case 'AlphaDropout':
      case 'FeatureAlphaDropout':
        y = mode === 'train' ? alphaDropoutForwardRef(x, mask(input, path, x.length), (layer as Dropout).p) : x;
        break;
      case 'BatchNorm2d':
      case 'BatchNorm1d': {
        const l = layer as BatchNorm2d;
        // affine=false: weight 1, bias 0; track_running_stats=false: the batch's statistics in eval too, nothing kept.
        const [gamma, beta] = l.affine ? [get(named(node, 'weight'), channels), get(named(node, 'bias'), channels)] : [new Float64Array(channels).fill(1), new Float64Array(channels)];
        if (mode === 'train' || !l.trackRunningStats) {
          const bn = batchNormForwardTrainRef(x, gamma, beta, batch, channels, area, l.eps);
          if (mode === 'train' && l.trackRunningStats) {
            const r = batchNormRunningUpdateRef(get(named(node, 'running_mean'), channels), get(named(node, 'running_var'), channels), bn.mean, bn.varianceUnbiased, l.momentum);
            newBuffers[named(node, 'running_mean')] = r.runningMean;
            newBuffers[named(node, 'running_var')] = r.runningVar;
          }
          y = bn.y;
        } else {
          const [mean, variance] = [get(named(node, 'running_mean'), channels), get(named(node, 'running_var'), channels)];
          y = batchNormForwardEvalRef(x, gamma, beta, mean, variance, batch, channels, area, l.eps);
        }
        break;
      }
      case 'GroupNorm':
      case 'LayerNorm':
      case 'InstanceNorm1d':
      case 'InstanceNorm2d': {
        const n = sampleNorm(node, batch, get);
        y = sampleNormForwardRef(x, n.weight, n.bias, n.shape).y;
        break;
      }
      default: {
        // The activations whose backward reads their input (GELU, ELU, SELU, Softplus, Mish, …).
        const act = activationOf(layer);
        if (!act) throw new Error(`reference: no reference for layer '${path}' (${layer.type})`);
        y = activationRef(act[0], x, act[1], act[2]);
      }
    }
    activations[path] = y;
    traces.push({ node, x, y, argmax, passed });
    x = y;
  }

  const classes = plan.classes;
  const squared = isPointwiseLoss(plan.loss) ? pointwiseLossRef(plan.loss, x, input.labels, batch, classes, { beta: plan.lossBeta, targets: input.targets, posWeight: plan.posWeight, logTarget: plan.logTarget }) : undefined;
  const logp = plan.loss === 'nll' ? x : logSoftmaxRef(x, batch, classes);
  const loss = squared ? squared.loss.reduce((a, b) => a + b, 0) / batch : nllLossRef(logp, input.labels, batch, classes, plan.labelSmoothing, plan.classWeights, plan.ignoreIndex);
  // A regression's samples have no class: none is correct (as the GPU's metrics count).
  const correct = input.targets ? 0 : countCorrectRef(x, input.labels, batch, classes, plan.ignoreIndex);
  if (mode === 'eval') return { loss, correct, activations, grads: {}, buffers: {}, renormed, decisions };

  const grads: Record<string, Float64Array> = {};
  let d = squared ? squared.grad : plan.loss === 'nll' ? nllBackwardRef(input.labels, batch, classes, plan.classWeights, plan.ignoreIndex) : logSoftmaxNllBackwardRef(x, input.labels, batch, classes, plan.labelSmoothing, plan.classWeights, plan.ignoreIndex);
  const firstTrained = plan.nodes.findIndex((n) => n.parameters.length > 0);
  // A residual block's output gradient, kept for the branch whose backward runs second, and its shortcut's gradient at its input.
  const keptOutput = new Map<string, Float64Array>();
  const keptShortcut = new Map<string, Float64Array>();
  for (let i = traces.length - 1; i >= firstTrained; i--) {
    const { node, x: xi, y, argmax, passed } = traces[i]!;
    const { layer, path } = node;
    if (sumOf.has(path)) keptOutput.set(path, d);
    const channels = node.inShape[0]!;
    const area = size(node.inShape.slice(1));
    switch (layer.type) {
      case 'Conv2d': {
        const l = layer as Conv2d;
        const s = convShape(node, batch);
        grads[named(node, 'weight')] = conv2dBackwardWeightRef(d, xi, s);
        if (l.bias) grads[named(node, 'bias')] = biasBackwardRef(d, batch, l.outChannels, size(node.outShape.slice(1)));
        d = conv2dBackwardInputRef(d, get(named(node, 'weight'), size(node.parameters[0]!.shape)), s);
        break;
      }
      case 'PReLU': {
        const { channels: c, area: a } = (layer as PReLU).layout(node.inShape);
        const g = preluBackwardRef(d, xi, get(named(node, 'weight'), c), c, a);
        grads[named(node, 'weight')] = g.dweight;
        d = g.dx;
        break;
      }
      case 'ConvTranspose2d': {
        // That conv's weight gradient with this layer's output gradient as its input, and its forward.
        const l = layer as ConvTranspose2d;
        const g = l.convGeometry(node.inShape, batch);
        grads[named(node, 'weight')] = conv2dBackwardWeightRef(xi, d, g);
        if (l.bias) grads[named(node, 'bias')] = biasBackwardRef(d, batch, l.outChannels, size(node.outShape.slice(1)));
        d = conv2dForwardRef(d, get(named(node, 'weight'), size(node.parameters[0]!.shape)), g);
        break;
      }
      case 'Linear': {
        const l = layer as Linear;
        const { rows, features } = linearRows(node, batch);
        grads[named(node, 'weight')] = denseBackwardWeightRef(d, xi, rows, features, l.outFeatures);
        if (l.bias) grads[named(node, 'bias')] = biasBackwardRef(d, rows, l.outFeatures, 1);
        d = denseBackwardInputRef(d, get(named(node, 'weight'), l.outFeatures * features), rows, features, l.outFeatures);
        break;
      }
      case 'Embedding': {
        // The first trained layer (the plan's rule): its ids take no gradient.
        const l = layer as Embedding;
        grads[named(node, 'weight')] = embeddingBackwardWeightRef(xi, d, l.numEmbeddings, l.embeddingDim, l.paddingIdx, l.scaleGradByFreq);
        break;
      }
      case 'Permute': {
        const dims = (layer as Permute).sampleDims(node.inShape.length);
        d = permuteRef(d, batch, node.outShape, dims.map((_, k) => dims.indexOf(k)));
        break;
      }
      case 'MultiheadAttention': {
        const { shape, weights } = attentionOf(node, batch, get);
        const g = attentionBackwardRef(d, xi, weights, shape, attentionForwardRef(xi, weights, shape, attentionMask(node, input, batch, 'train')));
        grads[named(node, 'in_proj_weight')] = g.dinWeight;
        grads[named(node, 'out_proj.weight')] = g.doutWeight;
        if (weights.inBias) {
          grads[named(node, 'in_proj_bias')] = g.dinBias;
          grads[named(node, 'out_proj.bias')] = g.doutBias;
        }
        d = g.dx;
        break;
      }
      case 'LSTM':
      case 'GRU': {
        const { shape, weights, masks } = recurrentOf(node, batch, get, input, path);
        const g = recurrentStackBackwardRef(node.layer.type as RecurrentKind, d, xi, weights, shape, masks);
        g.weights.forEach((layer, k) =>
          layer.forEach((w, dir) => {
            grads[named(node, recurrentParameterName('weight_ih', k, dir))] = w.dweightIh;
            grads[named(node, recurrentParameterName('weight_hh', k, dir))] = w.dweightHh;
            if (shape.bias) {
              grads[named(node, recurrentParameterName('bias_ih', k, dir))] = w.dbiasIh;
              grads[named(node, recurrentParameterName('bias_hh', k, dir))] = w.dbiasHh;
            }
          }),
        );
        d = g.dx;
        break;
      }
      case 'ReLU':
        d = passed ? Float64Array.from(d, (g, k) => (passed[k] ? g : 0)) : reluBackwardRef(d, y);
        break;
      case 'Sigmoid':
        d = sigmoidBackwardRef(d, y, size(node.inShape));
        break;
      case 'Tanh':
        d = tanhBackwardRef(d, y);
        break;
      case 'LeakyReLU':
        d = leakyReluBackwardRef(d, xi, (node.layer as LeakyReLU).negativeSlope);
        break;
      case 'SiLU':
        d = siluBackwardRef(d, xi);
        break;
      case 'LogSoftmax':
        d = logSoftmaxBackwardRef(d, y, batch, channels);
        break;
      case 'Softmax':
        d = softmaxBackwardRef(d, y, batch, channels);
        break;
      case 'Softmin':
        d = softminBackwardRef(d, y, batch, channels);
        break;
      case 'GLU':
        d = gluBackwardRef(d, xi, gluShape(node, batch));
        break;
      case 'RReLU':
        d = rreluBackwardRef(d, xi, mask(input, path, d.length));
        break;
      case 'Identity':
        break;
      case 'Flatten':
      case 'Unflatten':
        break;
      case 'Residual':
        break;
      case 'ResidualInput': {
        const r = inputOf.get(path)!;
        const other = r.shortcut ? keptShortcut.get(r.path)! : keptOutput.get(r.path)!;
        d = Float64Array.from(d, (g, k) => g + other[k]!);
        break;
      }
      case 'MaxPool2d':
      case 'AdaptiveMaxPool2d':
        d = maxPoolBackwardRef(d, argmax!, xi.length);
        break;
      case 'ZeroPad2d':
      case 'ConstantPad2d':
      case 'ReflectionPad2d':
      case 'ReplicationPad2d':
      case 'CircularPad2d':
        d = pad2dBackwardRef(d, padGeometry(node, batch));
        break;
      case 'Upsample':
      case 'UpsamplingNearest2d':
      case 'UpsamplingBilinear2d':
        d = upsample2dBackwardRef(d, upsampleGeometry(node, batch));
        break;
      // A permutation's gradient is its inverse permutation of the output's gradient.
      case 'PixelShuffle': {
        const r = (layer as PixelShuffle).upscaleFactor;
        d = pixelUnshuffleRef(d, batch, node.outShape[0]!, node.outShape[1]!, node.outShape[2]!, r);
        break;
      }
      case 'PixelUnshuffle': {
        const r = (layer as PixelUnshuffle).downscaleFactor;
        d = pixelShuffleRef(d, batch, node.outShape[0]!, node.outShape[1]!, node.outShape[2]!, r);
        break;
      }
      case 'ChannelShuffle':
        d = channelShuffleRef(d, batch, channels, area, channels / (layer as ChannelShuffle).groups);
        break;
      case 'AdaptiveAvgPool2d':
        d = adaptiveAvgPool2dBackwardRef(d, batch, channels, node.inShape[1]!, node.inShape[2]!, node.outShape[1]!, node.outShape[2]!);
        break;
      case 'AvgPool2d': {
        const window = avgWindow(layer as AvgPool2d, node.inShape);
        d = window ? avgPool2dBackwardRef(d, batch, channels, node.inShape[1]!, node.inShape[2]!, window) : globalAvgPoolBackwardRef(d, batch, channels, area);
        break;
      }
      case 'Dropout':
      case 'Dropout2d':
      case 'Dropout1d':
        d = dropoutBackwardRef(d, mask(input, path, d.length));
        break;
      case 'AlphaDropout':
      case 'FeatureAlphaDropout':
        d = alphaDropoutBackwardRef(d, mask(input, path, d.length), (layer as Dropout).p);
        break;
      case 'BatchNorm2d':
      case 'BatchNorm1d': {
        const l = layer as BatchNorm2d;
        const bn = batchNormBackwardRef(d, xi, l.affine ? get(named(node, 'weight'), channels) : new Float64Array(channels).fill(1), batch, channels, area, l.eps);
        if (l.affine) {
          grads[named(node, 'weight')] = bn.dgamma;
          grads[named(node, 'bias')] = bn.dbeta;
        }
        d = bn.dx;
        break;
      }
      case 'GroupNorm':
      case 'LayerNorm':
      case 'InstanceNorm1d':
      case 'InstanceNorm2d': {
        const n = sampleNorm(node, batch, get);
        const g = sampleNormBackwardRef(d, xi, n.weight, n.shape);
        if (n.learnt.weight) grads[named(node, 'weight')] = g.dweight;
        if (n.learnt.bias) grads[named(node, 'bias')] = g.dbias;
        d = g.dx;
        break;
      }
      default: {
        const act = activationOf(node.layer);
        if (act) d = activationBackwardRef(act[0], d, xi, act[1], act[2]);
      }
    }
    // Below a shortcut's first node the body's backward runs, from the block output's gradient.
    const restart = shortcutOf.get(path);
    if (restart) {
      keptShortcut.set(restart.path, d);
      d = keptOutput.get(restart.path)!;
    }
  }
  return { loss, correct, activations, grads, buffers: newBuffers, renormed, decisions };
}

/**
 * A GroupNorm's, LayerNorm's or InstanceNorm's segments, and its weight and bias (ones and zeros
 * where not learnt): derived here from the layer's PyTorch arguments, not from the layer's own
 * geometry (the kernels' parameters), so that the reference checks that too.
 */
function sampleNorm(node: PlanNode, batch: number, get: (name: string, length: number) => ArrayLike<number>) {
  const sampleSize = size(node.inShape);
  const [channels, area] = [node.inShape[0]!, size(node.inShape.slice(1))];
  let shape: SampleNormShape;
  if (node.layer.type === 'GroupNorm') {
    const l = node.layer as GroupNorm;
    shape = groupNormShape(batch, channels, area, l.numGroups, l.eps);
  } else if (node.layer.type.startsWith('InstanceNorm')) {
    shape = groupNormShape(batch, channels, area, channels, (node.layer as InstanceNorm2d).eps);
  } else {
    const l = node.layer as LayerNorm;
    shape = layerNormShape(batch, sampleSize, size(l.normalizedShape), l.eps);
  }
  const has = (local: string) => node.parameters.some((p) => p.local === local);
  const learnt = { weight: has('weight'), bias: has('bias') };
  const count = shape.affineCount;
  return {
    shape,
    learnt,
    weight: learnt.weight ? get(named(node, 'weight'), count) : new Float64Array(count).fill(1),
    bias: learnt.bias ? get(named(node, 'bias'), count) : new Float64Array(count),
  };
}

/**
 * An LSTM's or GRU's shape from its node's shapes ([L, input_size] → [L, directions·hidden]), its
 * weights by their PyTorch names per layer and direction, and in training with dropout between
 * layers, the masks of its layers' outputs (`dropoutMasks` under `<path>:l<k>`: recurrentMaskKey).
 */
function recurrentOf(node: PlanNode, batch: number, get: (name: string, length: number) => ArrayLike<number>, input: NetworkStepRefInput, path: string) {
  const [seqLen, inputSize] = [node.inShape[0]!, node.inShape[1]!];
  const layer = node.layer as LSTM | GRU;
  const { hiddenSize: hidden, numLayers, directions } = layer;
  const rows = (layer.type === 'LSTM' ? 4 : 3) * hidden;
  const weights: LstmWeights[][] = Array.from({ length: numLayers }, (_, k) =>
    Array.from({ length: directions }, (_, d) => {
      const tensor = (which: 'weight_ih' | 'weight_hh' | 'bias_ih' | 'bias_hh', length: number) => get(named(node, recurrentParameterName(which, k, d)), length);
      return {
        weightIh: tensor('weight_ih', rows * (k === 0 ? inputSize : directions * hidden)),
        weightHh: tensor('weight_hh', rows * hidden),
        ...(layer.bias ? { biasIh: tensor('bias_ih', rows), biasHh: tensor('bias_hh', rows) } : {}),
      };
    }),
  );
  const dropped = input.mode === 'train' && layer.drawsRandom;
  const masks = dropped ? Array.from({ length: numLayers - 1 }, (_, k) => mask(input, recurrentMaskKey(path, k), batch * seqLen * directions * hidden)) : undefined;
  const shape: RecurrentStackShape & { bias: boolean } = { batch, seqLen, inputSize, hidden, numLayers, directions, bias: layer.bias };
  return { shape, weights, masks };
}

/** The `dropoutMasks` key of a stacked LSTM's or GRU's dropout on layer k's output. */
export const recurrentMaskKey = (path: string, layer: number) => `${path}:l${layer}`;

/** A MultiheadAttention's dropout mask on its attention weights [batch, H, L, L], in training with dropout (the caller's draws). */
function attentionMask(node: PlanNode, input: NetworkStepRefInput, batch: number, mode: string): ArrayLike<number> | undefined {
  const l = node.layer as MultiheadAttention;
  return mode === 'train' && l.dropout > 0 ? mask(input, node.path, batch * l.numHeads * node.inShape[0]! ** 2) : undefined;
}

/** A MultiheadAttention's shape from its node ([L, E] → [L, E]), and its weights by their PyTorch names. */
function attentionOf(node: PlanNode, batch: number, get: (name: string, length: number) => ArrayLike<number>): { shape: AttentionShape; weights: AttentionWeights } {
  const l = node.layer as MultiheadAttention;
  const E = l.embedDim;
  const weights: AttentionWeights = {
    inWeight: get(named(node, 'in_proj_weight'), 3 * E * E),
    outWeight: get(named(node, 'out_proj.weight'), E * E),
    ...(l.bias ? { inBias: get(named(node, 'in_proj_bias'), 3 * E), outBias: get(named(node, 'out_proj.bias'), E) } : {}),
  };
  return { shape: { batch, seqLen: node.inShape[0]!, embed: E, heads: l.numHeads, causal: l.isCausal }, weights };
}

/** A node's tensor by its name within the layer ('weight'): its state_dict name (`<path>.weight`, or `weight` in a one-layer model). */
function named(node: PlanNode, local: string): string {
  return [...node.parameters, ...node.buffers].find((t) => t.local === local)!.name;
}

function mask(input: NetworkStepRefInput, path: string, length: number): ArrayLike<number> {
  const m = input.dropoutMasks?.[path];
  if (!m) throw new Error(`reference: the random draws (dropout mask, RReLU slopes) of '${path}' are missing`);
  if (m.length !== length) throw new Error(`reference: the random draws (dropout mask, RReLU slopes) of '${path}' have ${m.length} elements, expected ${length}`);
  return m;
}
