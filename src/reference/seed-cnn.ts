/**
 * CPU reference of the whole seed MNIST CNN (the notebook's Net), float64, forward and backward,
 * composed only from the reference layers. Convolutions are bias-free and stride 1; a "block" is
 * conv → ReLU → BatchNorm2d → Dropout. Parameter names are those of PyTorch's state_dict.
 */
import { batchNormBackwardRef, batchNormForwardEvalRef, batchNormForwardTrainRef, batchNormRunningUpdateRef } from './batchnorm.js';
import { conv2dBackwardInputRef, conv2dBackwardWeightRef, conv2dForwardRef, type Conv2dShape } from './conv2d.js';
import { countCorrectRef, logSoftmaxNllBackwardRef, logSoftmaxRef, nllLossRef } from './nll.js';
import { globalAvgPoolBackwardRef, globalAvgPoolForwardRef, maxPoolBackwardRef, maxPool2x2ForwardRef } from './pooling.js';
import { dropoutBackwardRef, dropoutForwardRef } from './random.js';
import { reluBackwardRef, reluForwardRef } from './relu.js';

/**
 * One layer, square maps of side inSize → outSize. 'block' and 'conv' are convolutions with a
 * kernel×kernel weight `${name}.0.weight`; a block's BatchNorm is `${name}.2.*`. 'maxpool' is 2×2
 * stride 2; 'gap' averages the whole inSize×inSize map.
 */
export interface SeedCnnLayer {
  kind: 'block' | 'conv' | 'maxpool' | 'gap';
  name: string;
  inChannels: number;
  outChannels: number;
  kernel: number;
  padding: number;
  inSize: number;
  outSize: number;
}

export const SEED_CNN_CLASSES = 10;

/** The layers in order, for a [B, 1, 28, 28] input. */
export const SEED_CNN_BLOCKS: readonly SeedCnnLayer[] = [
  { kind: 'block', name: 'convblock1', inChannels: 1, outChannels: 16, kernel: 3, padding: 0, inSize: 28, outSize: 26 },
  { kind: 'block', name: 'convblock2', inChannels: 16, outChannels: 32, kernel: 3, padding: 0, inSize: 26, outSize: 24 },
  { kind: 'conv', name: 'convblock3', inChannels: 32, outChannels: 10, kernel: 1, padding: 0, inSize: 24, outSize: 24 },
  { kind: 'maxpool', name: 'pool1', inChannels: 10, outChannels: 10, kernel: 2, padding: 0, inSize: 24, outSize: 12 },
  { kind: 'block', name: 'convblock4', inChannels: 10, outChannels: 16, kernel: 3, padding: 0, inSize: 12, outSize: 10 },
  { kind: 'block', name: 'convblock5', inChannels: 16, outChannels: 16, kernel: 3, padding: 0, inSize: 10, outSize: 8 },
  { kind: 'block', name: 'convblock6', inChannels: 16, outChannels: 16, kernel: 3, padding: 0, inSize: 8, outSize: 6 },
  { kind: 'block', name: 'convblock7', inChannels: 16, outChannels: 16, kernel: 3, padding: 1, inSize: 6, outSize: 6 },
  { kind: 'gap', name: 'gap', inChannels: 16, outChannels: 16, kernel: 6, padding: 0, inSize: 6, outSize: 1 },
  { kind: 'conv', name: 'convblock8', inChannels: 16, outChannels: 10, kernel: 1, padding: 0, inSize: 1, outSize: 1 },
];

const CONV_LAYERS = SEED_CNN_BLOCKS.filter((l) => l.kind === 'block' || l.kind === 'conv');
const DROPOUT_BLOCKS = SEED_CNN_BLOCKS.filter((l) => l.kind === 'block');

/** Trainable tensors: conv weights [Cout, Cin, K, K], BatchNorm weight (γ) and bias (β) [C]. */
export function seedCnnParameterShapes(): Record<string, number[]> {
  const shapes: Record<string, number[]> = {};
  for (const l of CONV_LAYERS) {
    shapes[`${l.name}.0.weight`] = [l.outChannels, l.inChannels, l.kernel, l.kernel];
    if (l.kind === 'block') {
      shapes[`${l.name}.2.weight`] = [l.outChannels];
      shapes[`${l.name}.2.bias`] = [l.outChannels];
    }
  }
  return shapes;
}

/** BatchNorm running statistics [C]. */
export function seedCnnBufferShapes(): Record<string, number[]> {
  const shapes: Record<string, number[]> = {};
  for (const l of DROPOUT_BLOCKS) {
    shapes[`${l.name}.2.running_mean`] = [l.outChannels];
    shapes[`${l.name}.2.running_var`] = [l.outChannels];
  }
  return shapes;
}

/** Length of each dropout mask, blocks 1, 2, 4, 5, 6, 7 in order: the block's output [B, C, S, S]. */
export function seedCnnDropoutMaskLengths(batch: number): number[] {
  return DROPOUT_BLOCKS.map((l) => batch * l.outChannels * l.outSize * l.outSize);
}

export interface SeedCnnInput {
  params: Record<string, ArrayLike<number>>;
  running: Record<string, ArrayLike<number>>;
  /** [B, 1, 28, 28], already normalised. */
  images: ArrayLike<number>;
  labels: ArrayLike<number>;
  batch: number;
}

export interface SeedCnnTrainInput extends SeedCnnInput {
  /** One per block (1, 2, 4, 5, 6, 7), each of the block's output length, values 0 or 1/(1 − p). */
  dropoutMasks: ArrayLike<number>[];
  eps?: number;
  momentum?: number;
}

export interface SeedCnnTrainResult {
  /** Mean NLL over the batch. */
  loss: number;
  /** [B, 10] */
  logits: Float64Array;
  correct: number;
  /** ∂loss/∂p for every trainable tensor, by state_dict name. */
  grads: Record<string, Float64Array>;
  /** The updated running statistics, by state_dict name. */
  running: Record<string, Float64Array>;
  /** Each layer's output by layer name, each block's ReLU output as `${name}.relu`, and 'logp'. */
  activations: Record<string, Float64Array>;
}

const SHAPES = { ...seedCnnParameterShapes(), ...seedCnnBufferShapes() };

function tensor(record: Record<string, ArrayLike<number>>, name: string): ArrayLike<number> {
  const t = record[name];
  const length = (SHAPES[name] ?? []).reduce((a, b) => a * b, 1);
  if (t === undefined) throw new Error(`seed CNN: ${name} is missing`);
  if (t.length !== length) throw new Error(`seed CNN: ${name} has ${t.length} elements, expected ${length}`);
  return t;
}

function convShape(l: SeedCnnLayer, batch: number): Conv2dShape {
  return {
    batch,
    inChannels: l.inChannels,
    height: l.inSize,
    width: l.inSize,
    outChannels: l.outChannels,
    kernelH: l.kernel,
    kernelW: l.kernel,
    stride: 1,
    padding: l.padding,
  };
}

/** What a layer's backward needs from its forward. */
interface Trace {
  layer: SeedCnnLayer;
  input: Float64Array;
  /** A block's ReLU output. */
  relu?: Float64Array;
  /** A max pool's choices. */
  argmax?: Uint32Array;
}

/** The BatchNorm (and, training, dropout) after a block's ReLU. */
type BlockTail = (layer: SeedCnnLayer, relu: Float64Array) => Float64Array;

function forward(input: SeedCnnInput, tail: BlockTail): { logits: Float64Array; traces: Trace[]; activations: Record<string, Float64Array> } {
  const { params, batch } = input;
  const traces: Trace[] = [];
  const activations: Record<string, Float64Array> = {};
  let x: Float64Array = Float64Array.from(input.images);
  for (const layer of SEED_CNN_BLOCKS) {
    const trace: Trace = { layer, input: x };
    if (layer.kind === 'conv') {
      x = conv2dForwardRef(x, tensor(params, `${layer.name}.0.weight`), convShape(layer, batch));
    } else if (layer.kind === 'block') {
      trace.relu = reluForwardRef(conv2dForwardRef(x, tensor(params, `${layer.name}.0.weight`), convShape(layer, batch)));
      activations[`${layer.name}.relu`] = trace.relu;
      x = tail(layer, trace.relu);
    } else if (layer.kind === 'maxpool') {
      const pooled = maxPool2x2ForwardRef(x, batch, layer.inChannels, layer.inSize, layer.inSize);
      trace.argmax = pooled.argmax;
      x = pooled.y;
    } else {
      x = globalAvgPoolForwardRef(x, batch, layer.inChannels, layer.inSize * layer.inSize);
    }
    activations[layer.name] = x;
    traces.push(trace);
  }
  return { logits: x, traces, activations };
}

function backward(traces: Trace[], dLogits: Float64Array, input: SeedCnnTrainInput, masks: Map<string, ArrayLike<number>>, eps: number): Record<string, Float64Array> {
  const { params, batch } = input;
  const grads: Record<string, Float64Array> = {};
  let d: Float64Array = dLogits;
  for (const { layer, input: x, relu, argmax } of [...traces].reverse()) {
    const hw = layer.outSize * layer.outSize;
    if (layer.kind === 'maxpool') {
      d = maxPoolBackwardRef(d, argmax!, x.length);
    } else if (layer.kind === 'gap') {
      d = globalAvgPoolBackwardRef(d, batch, layer.inChannels, layer.inSize * layer.inSize);
    } else {
      if (layer.kind === 'block') {
        const bn = batchNormBackwardRef(dropoutBackwardRef(d, masks.get(layer.name)!), relu!, tensor(params, `${layer.name}.2.weight`), batch, layer.outChannels, hw, eps);
        grads[`${layer.name}.2.weight`] = bn.dgamma;
        grads[`${layer.name}.2.bias`] = bn.dbeta;
        d = reluBackwardRef(bn.dx, relu!);
      }
      const weight = `${layer.name}.0.weight`;
      grads[weight] = conv2dBackwardWeightRef(d, x, convShape(layer, batch));
      d = conv2dBackwardInputRef(d, tensor(params, weight), convShape(layer, batch));
    }
  }
  return grads;
}

/** One training-mode step: forward, loss, backward, and the running statistics' update (unbiased variance). */
export function seedCnnTrainStepRef(input: SeedCnnTrainInput): SeedCnnTrainResult {
  const { params, running, labels, batch, dropoutMasks, eps = 1e-5, momentum = 0.1 } = input;
  const lengths = seedCnnDropoutMaskLengths(batch);
  if (dropoutMasks.length !== lengths.length) throw new Error(`seed CNN: ${dropoutMasks.length} dropout masks, expected ${lengths.length}`);
  const masks = new Map<string, ArrayLike<number>>();
  DROPOUT_BLOCKS.forEach((l, k) => {
    const mask = dropoutMasks[k]!;
    if (mask.length !== lengths[k]) throw new Error(`seed CNN: the ${l.name} dropout mask has ${mask.length} elements, expected ${lengths[k]}`);
    masks.set(l.name, mask);
  });
  const newRunning: Record<string, Float64Array> = {};
  const tail: BlockTail = (l, relu) => {
    const bn = batchNormForwardTrainRef(relu, tensor(params, `${l.name}.2.weight`), tensor(params, `${l.name}.2.bias`), batch, l.outChannels, l.outSize * l.outSize, eps);
    const mean = `${l.name}.2.running_mean`;
    const variance = `${l.name}.2.running_var`;
    const updated = batchNormRunningUpdateRef(tensor(running, mean), tensor(running, variance), bn.mean, bn.varianceUnbiased, momentum);
    newRunning[mean] = updated.runningMean;
    newRunning[variance] = updated.runningVar;
    return dropoutForwardRef(bn.y, masks.get(l.name)!);
  };
  const { logits, traces, activations } = forward(input, tail);
  const logp = logSoftmaxRef(logits, batch, SEED_CNN_CLASSES);
  activations.logp = logp;
  const grads = backward(traces, logSoftmaxNllBackwardRef(logits, labels, batch, SEED_CNN_CLASSES), input, masks, eps);
  return {
    loss: nllLossRef(logp, labels, batch, SEED_CNN_CLASSES),
    logits,
    correct: countCorrectRef(logits, labels, batch, SEED_CNN_CLASSES),
    grads,
    running: newRunning,
    activations,
  };
}

/** Eval mode: BatchNorm with the running statistics, no dropout. lossSum = Σ_b −logp[b, label_b]. */
export function seedCnnEvalRef(input: SeedCnnInput & { eps?: number }): { logits: Float64Array; lossSum: number; correct: number } {
  const { params, running, labels, batch, eps = 1e-5 } = input;
  const tail: BlockTail = (l, relu) =>
    batchNormForwardEvalRef(
      relu,
      tensor(params, `${l.name}.2.weight`),
      tensor(params, `${l.name}.2.bias`),
      tensor(running, `${l.name}.2.running_mean`),
      tensor(running, `${l.name}.2.running_var`),
      batch,
      l.outChannels,
      l.outSize * l.outSize,
      eps,
    );
  const { logits } = forward(input, tail);
  const logp = logSoftmaxRef(logits, batch, SEED_CNN_CLASSES);
  return {
    logits,
    lossSum: nllLossRef(logp, labels, batch, SEED_CNN_CLASSES) * batch,
    correct: countCorrectRef(logits, labels, batch, SEED_CNN_CLASSES),
  };
}
