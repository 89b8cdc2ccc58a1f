/**
 * Planning without a GPU: shapes inferred once from the input shape, every parameter and buffer
 * named (PyTorch's state_dict names), the fusion rules applied, the initial values drawn. A wrong
 * shape is an error naming the layer and the shapes before anything touches the GPU.
 */
import { Layer, ShapeError, checkOptions, formatShape, shapeSize, trueOrFalse, type BufferSpec, type ParameterSpec, type SampleShape, type WorkspaceSpec } from '../layers/layer.js';
import { flattenModel, paddingOf, type Module } from '../layers/sequential.js';
import { Pad2d } from '../layers/padding.js';
import { Pad1d } from '../layers/one-d.js';
import { randomWord } from '../reference/random.js';
import { initValues, type Init } from './init.js';
import { LOSS_KINDS, findFusions, type AppliedFusion, type LossKind } from './fusion.js';

/** Random streams: src/reference/random.ts uses 1 and 2 (shuffle, rotation); the layers that draw (a dropout, an RReLU, a stacked LSTM's or GRU's dropout) take 16, 17, … in order, Layer.randomStreams each. */
export const INIT_STREAM = 3;
/** The normal draws of a torch.nn.init initialisation (src/plan/init.ts), apart from the uniform ones. */
export const INIT_NORMAL_STREAM = 4;
export const DROPOUT_STREAM = 16;

export interface NodeFlags {
  reluEpilogue?: boolean;
  forwardByPrevious?: boolean;
  dropoutAfter?: boolean;
  reluInput?: boolean;
  backwardByNext?: boolean;
  /** A Dropout after a batch norm: the batch norm's backward kernels apply its gradient (no pass of its own). */
  backwardByPrevious?: boolean;
  /** A Conv2d before a BatchNorm2d (batchnorm-stats-epilogue): its training forward also sums the batch norm's statistics. */
  statsEpilogue?: boolean;
  /** A BatchNorm2d whose training statistics the conv before it summed (batchnorm-stats-epilogue). */
  statsByProducer?: boolean;
  /** A Conv2d before a MaxPool2d, a ReLU between or not (maxpool-epilogue): its forward stores the pool's output and argmax, not its own output. */
  poolEpilogue?: boolean;
  /** LogSoftmax folded into the loss (log-softmax-nll): not in the schedule at all. */
  intoLoss?: boolean;
}

export interface PlanNode {
  readonly path: string;
  readonly layer: Layer;
  readonly inShape: SampleShape;
  readonly outShape: SampleShape;
  /** Full state_dict names. */
  readonly parameters: readonly (ParameterSpec & { readonly local: string })[];
  readonly buffers: readonly (BufferSpec & { readonly local: string })[];
  readonly workspace: readonly WorkspaceSpec[];
  readonly flags: NodeFlags;
  /** Counter of the initial-weight draws: the top-level child's index + 65536 × the layer's ordinal inside it. */
  readonly initKey: number;
  /** The counter of the default initialisation's draws: initKey, or that of the layer this one is a copy of (Layer.initLike). */
  readonly defaultInitKey: number;
  /** Random stream of a layer that draws (Layer.drawsRandom: a Dropout, an RReLU). */
  readonly stream: number;
}

/**
 * A residual block in the plan's chain (src/layers/residual.ts): its input node, its body's last
 * node, its shortcut's first node (undefined: the identity) and its sum, and how many blocks hold
 * it (0: none). The shortcut's first node reads the block's input, not the node before it.
 */
export interface ResidualBlock {
  readonly path: string;
  readonly depth: number;
  readonly input: PlanNode;
  readonly bodyEnd: PlanNode;
  readonly shortcut?: PlanNode;
  readonly add: PlanNode;
}

export interface PlanOptions {
  /** The shape of one sample, e.g. [1, 28, 28]. */
  readonly inputShape: SampleShape;
  /** Default: 'nll' when the model ends with LogSoftmax, else 'cross-entropy'. */
  readonly loss?: LossKind;
  /** Apply the fusion rules (default true). */
  readonly fuse?: boolean;
  /** The cross-entropy loss's label smoothing ε in [0, 1] (PyTorch's CrossEntropyLoss(label_smoothing); default 0). */
  readonly labelSmoothing?: number;
  /** The 'smooth-l1' loss's β ≥ 0 (PyTorch's SmoothL1Loss(beta); default 1; 0 is L1). */
  readonly smoothL1Beta?: number;
  /** The 'huber' loss's δ > 0 (PyTorch's HuberLoss(delta); default 1). */
  readonly huberDelta?: number;
  /**
   * The 'nll' and 'cross-entropy' losses' per-class weights (PyTorch's weight=): one a class,
   * finite, ≥ 0, not all 0; the mean is then Σ w[y_b]·ℓ_b / Σ w[y_b], as PyTorch's.
   */
  readonly classWeights?: ArrayLike<number>;
  /** The 'bce-with-logits' loss's pos_weight (PyTorch's BCEWithLogitsLoss(pos_weight)): one an output, finite, ≥ 0. */
  readonly posWeight?: ArrayLike<number>;
  /** The 'kl-div' loss's log_target (PyTorch's KLDivLoss(log_target); default false: the targets are probabilities). */
  readonly logTarget?: boolean;
  /**
   * The 'nll' and 'cross-entropy' losses' ignore_index: an integer from −2³¹ to 2³¹ − 1 (PyTorch's
   * is −100 by default). A sample whose label is it adds nothing to the loss, its gradient or the
   * accuracy, and the mean is over the others (their weight sum with classWeights; NaN when every
   * sample of a batch is ignored, as PyTorch's). Default: none — every label must then be a class,
   * so a label PyTorch's default would ignore (−100) is refused rather than ignored.
   */
  readonly ignoreIndex?: number;
}

export interface ModelPlan {
  readonly nodes: readonly PlanNode[];
  readonly inputShape: SampleShape;
  readonly loss: LossKind;
  /** The cross-entropy loss's label smoothing (0: none). */
  readonly labelSmoothing: number;
  /** The 'smooth-l1' loss's β or the 'huber' loss's δ (1 for any other loss, which reads none). */
  readonly lossBeta: number;
  /** The 'nll' or 'cross-entropy' loss's per-class weights (undefined: none). */
  readonly classWeights?: readonly number[];
  /** The 'bce-with-logits' loss's pos_weight, one an output (undefined: none). */
  readonly posWeight?: readonly number[];
  /** The 'kl-div' loss's log_target (false for any other loss). */
  readonly logTarget: boolean;
  /** The 'nll' or 'cross-entropy' loss's ignore_index (undefined: none; labels must be classes). */
  readonly ignoreIndex?: number;
  /** Nodes that run (the LogSoftmax folded into the loss is not one). */
  readonly scheduled: readonly PlanNode[];
  /** The shape the loss reads: [classes]. */
  readonly lossInputShape: SampleShape;
  readonly classes: number;
  readonly fusions: readonly AppliedFusion[];
  readonly parameterCount: number;
  /** The residual blocks, inner ones before the blocks that hold them. */
  readonly residuals: readonly ResidualBlock[];
}

/** PlanOptions' keys: the one list that planModel, the Network and the tuner check theirs against. */
export const PLAN_OPTION_KEYS = ['inputShape', 'loss', 'fuse', 'labelSmoothing', 'smoothL1Beta', 'huberDelta', 'classWeights', 'posWeight', 'logTarget', 'ignoreIndex'] as const satisfies readonly (keyof PlanOptions)[];

/** The plan's own options out of a larger set (a Network's, the tuner's): planModel refuses others. */
export const planOptionsOf = (options: PlanOptions): PlanOptions =>
  Object.fromEntries(PLAN_OPTION_KEYS.filter((k) => k in options).map((k) => [k, options[k]])) as unknown as PlanOptions;

export function planModel(model: Module, options: PlanOptions): ModelPlan {
  checkOptions('planModel', options, PLAN_OPTION_KEYS);
  if (!Array.isArray(options.inputShape)) throw new TypeError(`options.inputShape: expected the shape of one sample such as [1, 28, 28], got ${JSON.stringify(options.inputShape)}`);
  trueOrFalse('options', 'fuse', options.fuse, true);
  const inputShape = [...options.inputShape];
  if (inputShape.length === 0 || !inputShape.every((n) => Number.isInteger(n) && n >= 1)) {
    throw new ShapeError(`the input shape must be whole numbers ≥ 1, got [${inputShape.join(', ')}]`);
  }
  if (options.loss !== undefined && !(LOSS_KINDS as readonly string[]).includes(options.loss)) {
    // A misspelt name ('cross_entropy', 'CrossEntropyLoss') would otherwise train on another loss.
    throw new RangeError(`loss: expected ${LOSS_KINDS.map((k) => `'${k}'`).join(', ')}, got ${JSON.stringify(options.loss)}`);
  }
  const { leaves, blocks } = flattenModel(model);
  if (leaves.length === 0) throw new ShapeError('the model has no layers');
  // A layer object in two places would be two layers with weights of their own, where PyTorch ties them.
  const seen = new Map<object, string>();
  for (const { path, layer } of leaves) {
    const first = seen.get(layer);
    if (first !== undefined && layer.type === 'ResidualInput') throw new ShapeError(`the Residual block '${path.slice(0, -':input'.length)}' is the same object as block '${first.slice(0, -':input'.length)}': shared blocks (tied weights) are not supported; give each place a block of its own`);
    if (first !== undefined) {
      throw new ShapeError(`layer '${path}' (${layer.type}) is the same object as layer '${first}': give each place a layer of its own (shared layers, PyTorch's tied weights, are not supported; a module PyTorch calls twice, as torchvision's self.relu, is two layers here)`);
    }
    seen.set(layer, path);
  }
  // The last layer that computes something: a view after it (Identity, Flatten) passes its output on.
  const last = [...leaves].reverse().find(({ layer }) => !layer.view)?.layer ?? leaves[leaves.length - 1]!.layer;
  // A final Softmax (or Softmin) gives probabilities: cross-entropy on them applies a softmax twice (it trains,
  // slowly and towards the wrong optimum: PyTorch lets it pass), and NLL wants their logarithm.
  if ((last.type === 'Softmax' || last.type === 'Softmin') && (options.loss === undefined || options.loss === 'cross-entropy' || options.loss === 'nll')) {
    throw new ShapeError(`the model ends with ${last.type} (probabilities): ${options.loss === undefined ? "the default loss, 'cross-entropy'," : `loss '${options.loss}'`} would ${options.loss === 'nll' ? 'read them as log-probabilities' : 'apply a second softmax to them'}. End with LogSoftmax for 'nll', drop the ${last.type} for 'cross-entropy' (on logits, as PyTorch's CrossEntropyLoss), or give loss 'mse', 'half-sse' or 'bce' to train the probabilities against one-hot targets`);
  }
  // BCELoss takes probabilities (PyTorch raises on a value outside [0, 1]; a GPU would give NaN);
  // BCEWithLogitsLoss after a sigmoid applies it twice.
  const probabilities = ['Sigmoid', 'Softmax', 'Softmin', 'Hardsigmoid'].includes(last.type);
  if (options.loss === 'bce' && !probabilities) {
    throw new ShapeError(`loss 'bce' (PyTorch's BCELoss) takes probabilities, but the model ends with ${last.type}: end with a Sigmoid, or use 'bce-with-logits' (BCEWithLogitsLoss: the sigmoid and the loss in one, on logits)`);
  }
  if (options.loss === 'bce-with-logits' && probabilities) {
    throw new ShapeError(`loss 'bce-with-logits' applies a sigmoid to the outputs, but the model ends with ${last.type} (probabilities already): drop the ${last.type}, or use 'bce' (PyTorch's BCELoss, on probabilities)`);
  }
  const loss = options.loss ?? (last.type === 'LogSoftmax' ? 'nll' : 'cross-entropy');
  // NLLLoss reads log-probabilities: on raw outputs it trains them towards +∞ (losses of −175).
  if (loss === 'nll' && last.type !== 'LogSoftmax') {
    throw new ShapeError(`loss 'nll' takes log-probabilities, but the model ends with ${last.type}, not LogSoftmax: add a LogSoftmax, or use 'cross-entropy' (log-softmax and NLL in one, on the outputs as logits)`);
  }
  const labelSmoothing = options.labelSmoothing ?? 0;
  if (typeof labelSmoothing !== 'number' || !(labelSmoothing >= 0 && labelSmoothing <= 1)) {
    throw new RangeError(`labelSmoothing must be a number from 0 to 1 (PyTorch's label_smoothing), got ${JSON.stringify(options.labelSmoothing)}`);
  }
  if (labelSmoothing > 0 && loss !== 'cross-entropy') {
    throw new RangeError(`labelSmoothing applies to the 'cross-entropy' loss (PyTorch's CrossEntropyLoss(label_smoothing)); the loss is '${loss}'${loss === 'nll' ? " (NLLLoss has none: use 'cross-entropy', on logits or on the LogSoftmax's output alike)" : ''}`);
  }
  const lossBeta = lossParameter(options, loss);
  const weightsOf = lossWeights(options, loss);
  const logTarget = trueOrFalse('options', 'logTarget', options.logTarget, false);
  if (logTarget && loss !== 'kl-div') throw new RangeError(`logTarget applies to the 'kl-div' loss (PyTorch's KLDivLoss(log_target)); the loss is '${loss}'`);
  const ignoreIndex = ignoreIndexOf(options, loss);
  // KLDivLoss reads log-probabilities: on a Softmax's or a Sigmoid's probabilities it would read them as logarithms.
  if (loss === 'kl-div' && probabilities) {
    throw new ShapeError(`loss 'kl-div' (PyTorch's KLDivLoss) takes log-probabilities, but the model ends with ${last.type} (probabilities): end with LogSoftmax instead`);
  }
  let shape: SampleShape = inputShape;
  const ordinals = new Map<number, number>();
  let drawing = 0;
  // state_dict names: a Sequential's `0.weight`, `convblock1.0.weight`; a model that is one layer
  // names its own (`weight`), as PyTorch's nn.Linear does (messages still call it layer '0').
  const named = (path: string, name: string) => (model instanceof Layer ? name : `${path}.${name}`);
  // PyTorch's inplace=True on a layer that reads a residual block's input (through views or not)
  // overwrites that input, which the block's other branch reads too: PyTorch would add the changed
  // input, or (a shortcut's, after the body) raise in backward. This engine computes out of place,
  // so it would train another network: refused.
  const startsOf = new Map(blocks.flatMap((b) => [[b.input + 1, b] as const, ...(b.shortcut === undefined ? [] : [[b.shortcut, b] as const])]));
  leaves.forEach(({ path, layer }, i) => {
    if (!layer.inplace) return;
    let j = i;
    while (!startsOf.has(j) && j > 0 && leaves[j - 1]!.layer.view && leaves[j - 1]!.layer.type !== 'ResidualInput') j--;
    const block = startsOf.get(j);
    if (!block) return;
    // PyTorch runs the body first: an in-place shortcut changes the input after the body read it.
    const what = j === block.shortcut
      ? 'after its body read it (PyTorch raises in backward where the body keeps that input for its gradient, as a first Conv2d or Linear does)'
      : `which ${block.shortcut === undefined ? 'its identity shortcut' : 'its shortcut'} reads too (PyTorch would then use the changed input there)`;
    throw new ShapeError(`layer '${path}' (${layer.type}): inplace=True would overwrite the input of residual block '${block.path}', ${what}; give inplace false: this engine computes the layer out of place either way`);
  });
  // A residual block's shortcut starts again from the block's input; its sum takes two outputs of one shape.
  const shortcutOf = new Map(blocks.filter((b) => b.shortcut !== undefined).map((b) => [b.shortcut!, b]));
  const addOf = new Map(blocks.map((b) => [b.add, b]));
  const inShapes: SampleShape[] = [];
  const outShapes: SampleShape[] = [];
  // A copy's default draws are its original's (Layer.initLike): the original comes first in the chain.
  const initKeys = new Map<Layer, number>();
  const defaultInitKeyOf = (layer: Layer, path: string, own: number): number => {
    const key = layer.initLike === undefined ? own : initKeys.get(layer.initLike);
    if (key === undefined) throw new Error(`layer '${path}' (${layer.type}) is a copy of a layer that is not before it in the model`);
    initKeys.set(layer, key);
    return key;
  };
  const nodes = leaves.map(({ path, layer, topIndex }, i) => {
    const block = shortcutOf.get(i);
    if (block) shape = inShapes[block.input]!;
    const inShape = shape;
    const sum = addOf.get(i);
    if (sum) {
      // The shortcut's output arrives as this node's input; the body's is its last node's output.
      const [body, other] = sum.shortcut === undefined ? [inShape, inShapes[sum.input]!] : [outShapes[sum.bodyEnd]!, inShape];
      if (body.join() !== other.join()) {
        throw new ShapeError(
          `residual block '${sum.path}': its body gives ${formatShape(body)} and its ${sum.shortcut === undefined ? 'input (the identity shortcut) is' : 'shortcut gives'} ${formatShape(other)}; the two are added, so they must match` +
            (sum.shortcut === undefined ? " (give the block a shortcut that maps its input to the body's shape: a 1×1 Conv2d with the body's stride and out_channels, as ResNet's downsample)" : ''),
        );
      }
    }
    try {
      // A conv after its own padding node (paddingOf) computes its output from the unpadded input, as PyTorch's.
      shape = layer.outputShape(i > 0 && leaves[i - 1]!.layer === paddingOf(layer) ? inShapes[i - 1]! : inShape);
    } catch (e) {
      if (e instanceof ShapeError) throw new ShapeError(`layer '${path}' (${layer.type}): ${e.message}`);
      throw e;
    }
    inShapes.push(inShape);
    outShapes.push(shape);
    const parameters = layer.parameterSpecs(inShape).map((p) => ({ ...p, local: p.name, name: named(path, p.name) }));
    // A block's activation has no tensors (PyTorch's block would name them <block>.activation.*, a child of its own).
    if (path.endsWith(':activation') && (parameters.length > 0 || layer.bufferSpecs(inShape).length > 0)) {
      throw new ShapeError(`layer '${path}' (${layer.type}): a residual block's activation has no tensors of its own (it is applied to the sum, as torchvision's relu); put a ${layer.type} in the body, or after the block`);
    }
    const ordinal = ordinals.get(topIndex) ?? 0;
    if (parameters.length > 0) ordinals.set(topIndex, ordinal + 1);
    return {
      path,
      layer,
      inShape,
      outShape: shape,
      parameters,
      buffers: layer.bufferSpecs(inShape).map((b) => ({ ...b, local: b.name, name: named(path, b.name) })),
      workspace: layer.workspaceSpecs(inShape),
      flags: {} as NodeFlags,
      initKey: topIndex + 65536 * ordinal,
      defaultInitKey: defaultInitKeyOf(layer, path, topIndex + 65536 * ordinal),
      stream: layer.drawsRandom ? DROPOUT_STREAM + (drawing += layer.randomStreams) - layer.randomStreams : 0,
    };
  });
  if (shape.length !== 1) {
    // A Linear applies to the last dimension (as PyTorch's): one on [C, H, W] gives [C, H, out].
    const linear = last.type === 'Linear' ? ' (a Linear applies to the last dimension, as PyTorch\'s: put a Flatten before it)' : ' (end with a Flatten)';
    throw new ShapeError(`the model's output is ${formatShape(shape)}; the ${loss} loss takes [N, classes]${linear}`);
  }
  // Ids (an Embedding's input) have no gradient: a layer with parameters before it could not learn.
  nodes.forEach((node, i) => {
    const learnsBefore = node.layer.takesIds ? nodes.slice(0, i).find((n) => n.parameters.length > 0) : undefined;
    if (learnsBefore) {
      throw new ShapeError(`layer '${node.path}' (${node.layer.type}) takes token ids, which have no gradient, but layer '${learnsBefore.path}' (${learnsBefore.layer.type}) before it has parameters that could never learn: put the ${node.layer.type} first`);
    }
  });
  if (!nodes.some((n) => n.parameters.length > 0)) throw new ShapeError('the model has no parameters to train');

  const fusions: AppliedFusion[] = [];
  if (options.fuse ?? true) {
    // No rule reaches across a residual block's ends: each end and each branch is a segment of its
    // own, and the sum's segment goes on after it (residual-relu; no rule takes the sum as a partner).
    const starts = new Set(blocks.flatMap((b) => [b.input, b.input + 1, b.add, ...(b.shortcut === undefined ? [] : [b.shortcut])]));
    let segment = 0;
    const segmented = nodes.map((n, i) => ({ path: n.path, layer: n.layer, segment: starts.has(i) ? ++segment : segment }));
    for (const { rule, index, partner, applied } of findFusions(segmented, loss)) {
      const [a, b] = [nodes[index]!.flags, nodes[partner]?.flags];
      if (rule.name === 'relu-epilogue' || rule.name === 'batchnorm-relu' || rule.name === 'residual-relu') [a.reluEpilogue, b!.forwardByPrevious] = [true, true];
      else if (rule.name === 'batchnorm-dropout') [a.dropoutAfter, b!.forwardByPrevious, b!.backwardByPrevious] = [true, true, true];
      else if (rule.name === 'relu-grad-in-batchnorm' || rule.name === 'relu-grad-in-maxpool' || rule.name === 'relu-grad-in-input-gradient') [a.backwardByNext, b!.reluInput] = [true, true];
      else if (rule.name === 'batchnorm-stats-epilogue') [a.statsEpilogue, b!.statsByProducer] = [true, true];
      else if (rule.name === 'maxpool-epilogue') [a.poolEpilogue, b!.forwardByPrevious] = [true, true];
      else if (rule.name === 'log-softmax-nll') a.intoLoss = true;
      fusions.push(applied);
    }
  }
  const scheduled = nodes.filter((n) => !n.flags.intoLoss);
  // A LogSoftmax takes [classes], so what the loss reads is [classes] either way.
  const lossInputShape = scheduled[scheduled.length - 1]!.outShape;
  const { classWeights, posWeight } = weightsOf(lossInputShape[0]!);
  return {
    nodes,
    inputShape,
    loss,
    labelSmoothing,
    lossBeta,
    classWeights,
    posWeight,
    logTarget,
    ...(ignoreIndex === undefined ? {} : { ignoreIndex }),
    scheduled,
    lossInputShape,
    classes: lossInputShape[0]!,
    fusions,
    residuals: blocks.map((b) => ({ path: b.path, depth: b.depth, input: nodes[b.input]!, bodyEnd: nodes[b.bodyEnd]!, shortcut: b.shortcut === undefined ? undefined : nodes[b.shortcut], add: nodes[b.add]! })),
    parameterCount: nodes.reduce((sum, n) => sum + n.parameters.reduce((s, p) => s + shapeSize(p.shape), 0), 0),
  };
}

/** SmoothL1Loss's β or HuberLoss's δ, checked as PyTorch checks them, each given only with its loss; 1 otherwise. */
function lossParameter(options: PlanOptions, loss: LossKind): number {
  for (const [key, kind, name, min, strict] of [['smoothL1Beta', 'smooth-l1', "SmoothL1Loss's beta", 0, false], ['huberDelta', 'huber', "HuberLoss's delta", 0, true]] as const) {
    const value = options[key];
    if (value === undefined) continue;
    if (typeof value !== 'number' || !Number.isFinite(value) || !(strict ? value > min : value >= min)) throw new RangeError(`${key} must be a finite number ${strict ? '>' : '≥'} ${min} (${name}), got ${JSON.stringify(value)}`);
    if (loss !== kind) throw new RangeError(`${key} applies to the '${kind}' loss (${name}); the loss is '${loss}'`);
  }
  return loss === 'smooth-l1' ? options.smoothL1Beta ?? 1 : loss === 'huber' ? options.huberDelta ?? 1 : 1;
}

/** The smallest and largest ignoreIndex: the labels travel to the GPU as 32-bit words, compared as signed integers. */
export const IGNORE_INDEX_RANGE = [-(2 ** 31), 2 ** 31 - 1] as const;

/** ignoreIndex, checked: an integer in IGNORE_INDEX_RANGE, given only with the 'nll' or 'cross-entropy' loss. */
function ignoreIndexOf(options: PlanOptions, loss: LossKind): number | undefined {
  const value = options.ignoreIndex;
  if (value === undefined) return undefined;
  const [low, high] = IGNORE_INDEX_RANGE;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < low || value > high) {
    throw new RangeError(`ignoreIndex must be an integer from ${low} to ${high} (PyTorch's ignore_index, such as its default -100), got ${typeof value === 'number' ? String(value) : JSON.stringify(value)}`);
  }
  if (loss !== 'nll' && loss !== 'cross-entropy') throw new RangeError(`ignoreIndex applies to the 'nll' and 'cross-entropy' losses (PyTorch's NLLLoss(ignore_index) and CrossEntropyLoss(ignore_index)); the loss is '${loss}'`);
  return value;
}

/**
 * The per-class weights (classWeights: 'nll' and 'cross-entropy') and pos_weight ('bce-with-logits'),
 * each given only with its loss, checked before the model's shapes are (their values and the loss)
 * and, by the function returned, against the outputs' count once it is known.
 */
function lossWeights(options: PlanOptions, loss: LossKind): (outputs: number) => { classWeights?: readonly number[]; posWeight?: readonly number[] } {
  const checked = (key: 'classWeights' | 'posWeight', kinds: readonly LossKind[], name: string) => {
    const given = options[key];
    if (given === undefined) return undefined;
    if (!(Array.isArray(given) || ArrayBuffer.isView(given)) || typeof given.length !== 'number') throw new TypeError(`${key} must be an array of numbers (${name}), got ${JSON.stringify(given)}`);
    const values = Array.from(given as ArrayLike<number>);
    const bad = values.findIndex((v) => typeof v !== 'number' || !Number.isFinite(v) || v < 0);
    if (bad >= 0) throw new RangeError(`${key}[${bad}] must be a finite number ≥ 0 (${name}), got ${String(values[bad])}`);
    if (!kinds.includes(loss)) throw new RangeError(`${key} applies to the ${kinds.map((k) => `'${k}'`).join(' and ')} loss${kinds.length > 1 ? 'es' : ''} (${name}); the loss is '${loss}'`);
    if (key === 'classWeights' && values.length > 0 && values.every((v) => v === 0)) throw new RangeError(`classWeights are all 0 (${name}): every loss would be 0 / 0`);
    return values;
  };
  const classWeights = checked('classWeights', ['nll', 'cross-entropy'], "PyTorch's CrossEntropyLoss(weight) and NLLLoss(weight)");
  const posWeight = checked('posWeight', ['bce-with-logits'], "PyTorch's BCEWithLogitsLoss(pos_weight)");
  return (outputs) => {
    if (classWeights && classWeights.length !== outputs) throw new ShapeError(`classWeights has ${classWeights.length} weights, but the model has ${outputs} classes (one weight a class)`);
    if (posWeight && posWeight.length !== outputs) throw new ShapeError(`posWeight has ${posWeight.length} weights, but the model has ${outputs} outputs (one weight an output, broadcast over the batch)`);
    return { ...(classWeights ? { classWeights } : {}), ...(posWeight ? { posWeight } : {}) };
  };
}

/**
 * A parameter's initial values: PyTorch's default distribution, drawn from (seed, INIT_STREAM,
 * node.defaultInitKey, element), or `init` (torch.nn.init's, src/plan/init.ts) from (…, node.initKey, …).
 */
export function initialValues(node: PlanNode, parameter: PlanNode['parameters'][number], seed: number, init?: Init): Float32Array {
  const length = shapeSize(parameter.shape);
  // Later parameters of the same layer (a bias) continue the element counter after the earlier ones.
  let offset = 0;
  for (const p of node.parameters) {
    if (p.name === parameter.name) break;
    offset += shapeSize(p.shape);
  }
  if (init) return initValues(init, parameter.shape, parameter.name, { seed, stream: INIT_STREAM, normalStream: INIT_NORMAL_STREAM, key: node.initKey, offset });
  const key = node.defaultInitKey;
  if ('constant' in parameter.init) return new Float32Array(length).fill(parameter.init.constant);
  if ('normal' in parameter.init) {
    // torch.nn.init.normal_'s draws (src/plan/init.ts), then the row PyTorch zeroes (an Embedding's padding_idx).
    const { normal: std, zeroRow } = parameter.init;
    const values = initValues({ kind: 'normal', std }, parameter.shape, parameter.name, { seed, stream: INIT_STREAM, normalStream: INIT_NORMAL_STREAM, key, offset });
    const row = length / parameter.shape[0]!;
    if (zeroRow !== undefined) values.fill(0, zeroRow * row, (zeroRow + 1) * row);
    return values;
  }
  const bound = parameter.init.uniform;
  return Float32Array.from({ length }, (_, i) => (2 * (randomWord(seed, INIT_STREAM, key, offset + i) / 2 ** 32) - 1) * bound);
}

/** Whether the layer's output is a view of its input (Flatten, Identity) or computed by a fused neighbour. */
export const aliasesInput = (node: PlanNode) => node.layer.view || node.flags.forwardByPrevious === true;

/** One row per layer, as torchsummary prints them, and the fused layers. */
export interface SummaryRow {
  readonly layer: string;
  readonly path: string;
  readonly outputShape: SampleShape;
  readonly parameters: number;
}

/**
 * The nodes a summary shows: every layer, and each residual block after its layers (its input
 * node is no layer of PyTorch's, nor is a Conv2d's padding_mode, F.pad inside Conv2d's forward).
 */
const summaryNodes = (plan: ModelPlan) => plan.nodes.filter((n) => n.layer.type !== 'ResidualInput' && !((n.layer instanceof Pad2d || n.layer instanceof Pad1d) && n.layer.ofConv));

export function summaryRows(plan: ModelPlan): SummaryRow[] {
  return summaryNodes(plan).map((n) => ({ layer: n.layer.type, path: n.path, outputShape: n.outShape, parameters: n.parameters.reduce((s, p) => s + shapeSize(p.shape), 0) }));
}

/** Formats the summary like torchsummary (`summary(model, input_size=...)`), then the fusion rules applied. */
export function formatSummary(plan: ModelPlan): string {
  const rows = summaryRows(plan);
  const total = plan.parameterCount;
  const line = '-'.repeat(64);
  const out = [line, `${'Layer (type)'.padStart(25)}  ${'Output Shape'.padStart(25)} ${'Param #'.padStart(15)}`, '='.repeat(64)];
  rows.forEach((r, i) => {
    const shape = `[-1, ${r.outputShape.join(', ')}]`;
    out.push(`${`${r.layer}-${i + 1}`.padStart(25)}  ${shape.padStart(25)} ${r.parameters.toLocaleString('en-US').padStart(15)}`);
  });
  out.push('='.repeat(64), `Total params: ${total.toLocaleString('en-US')}`, `Trainable params: ${total.toLocaleString('en-US')}`, 'Non-trainable params: 0', line);
  const index = new Map(summaryNodes(plan).map((n, i) => [n.path, `${n.layer.type}-${i + 1}`]));
  const byRule = new Map<string, string[]>();
  for (const f of plan.fusions) byRule.set(f.rule, [...(byRule.get(f.rule) ?? []), f.paths.map((p) => index.get(p)).join(' + ') + (f.rule === 'log-softmax-nll' ? ' + NLLLoss' : '')]);
  out.push(byRule.size === 0 ? 'Fused: nothing (fusion off or no pattern)' : 'Fused:');
  for (const [rule, groups] of byRule) out.push(`  ${rule}: ${groups.join(', ')}`);
  return out.join('\n');
}

/**
 * Floating-point operations of one training sample (2 per multiply-add of the convolutions,
 * Linear layers and the LSTM's and GRU's matrix products; element-wise work not counted): the
 * forward pass, the weight gradients and the input gradients (none for the first trained layer,
 * whose input gradient is never computed; a recurrent layer's carry back through time, dG·W_hh,
 * always). A MultiheadAttention: its two projections as Linear layers, and its attention core
 * (q·kᵀ and P·v forward; dO, dV, dP, dQ, dK backward, counted with the input gradients, always)
 * over the (query, key) pairs it computes: L² of them, L(L + 1)/2 when causal.
 */
export function trainingFlops(plan: ModelPlan): { forward: number; weightGradients: number; inputGradients: number; total: number } {
  let forward = 0;
  let weightGradients = 0;
  let inputGradients = 0;
  const firstTrained = plan.nodes.findIndex((n) => n.parameters.length > 0);
  plan.nodes.forEach((node, i) => {
    if (node.layer.type === 'LSTM' || node.layer.type === 'GRU') {
      // Each step, each layer and direction: the gates' rows (4H or 3H) against its input (W_ih) and h_{t−1} (W_hh);
      // the input gradient of every layer but the network's first's first.
      const steps = node.inShape[0]!;
      for (const p of node.parameters) {
        if (!p.local.startsWith('weight_')) continue;
        const size = shapeSize(p.shape);
        forward += 2 * steps * size;
        weightGradients += 2 * steps * size;
        if (p.local.startsWith('weight_hh') || i > firstTrained || !/^weight_ih_l0(_reverse)?$/.test(p.local)) inputGradients += 2 * steps * size;
      }
      return;
    }
    if (node.layer.type === 'MultiheadAttention') {
      const [L, E] = [node.inShape[0]!, node.inShape[1]!];
      const pairs = (node.layer as { isCausal?: boolean }).isCausal ? (L * (L + 1)) / 2 : L * L;
      const projections = 2 * L * 3 * E * E + 2 * L * E * E;
      forward += projections + 2 * 2 * pairs * E;
      weightGradients += projections;
      inputGradients += 2 * L * E * E + 4 * 2 * pairs * E + (i > firstTrained ? 2 * L * 3 * E * E : 0);
      return;
    }
    const weight = node.parameters.find((p) => p.local === 'weight');
    if (!weight || !['Conv2d', 'Conv1d', 'Linear', 'ConvTranspose2d', 'ConvTranspose1d'].includes(node.layer.type)) return;
    // Each output element is a dot product over the weight's fan-in (a transposed conv: each input
    // element is, of the conv it transposes).
    const macs = shapeSize(node.layer.type.startsWith('ConvTranspose') ? node.inShape : node.outShape) * shapeSize(weight.shape.slice(1));
    forward += 2 * macs;
    weightGradients += 2 * macs;
    if (i > firstTrained) inputGradients += 2 * macs;
  });
  return { forward, weightGradients, inputGradients, total: forward + weightGradients + inputGradients };
}
