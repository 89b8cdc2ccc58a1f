/**
 * The seed notebook's 13,808-parameter MNIST CNN (SPEC.md §2) on the GPU.
 *
 * The architecture is a list (`SEED_CNN`); `SeedCnn.create` walks it once, allocating every
 * tensor for the largest batch, and each layer binds its kernels per batch size on first use.
 * A training step is a list of bound kernels built once and replayed; only a few uniform values
 * (the dropout step) change between steps. Parameter names are PyTorch's state_dict names for
 * the notebook's `Net`, so checkpoints load there (src/checkpoint/seed-cnn-checkpoint.ts).
 *
 *   block k = Conv2d(bias=False) → ReLU → BatchNorm2d → Dropout(0.1)   (nn.Sequential indices 0–3)
 *
 * A block fuses where a tensor need not exist: the conv kernel stores its sums through the ReLU,
 * batch norm and dropout run as one kernel forward, and the ReLU's gradient rides in the batch
 * norm's input gradient backward.
 */
import type { Dispatch, GpuContext } from '../gpu/context.js';
import type { Tensor } from '../gpu/tensor.js';
import {
  conv2dBackwardInput,
  conv2dBackwardWeight,
  conv2dBackwardWeightReduce,
  conv2dForward,
  conv2dParams,
  conv2dSplitPixels,
  conv2dWeightSplits,
} from '../kernels/conv2d.js';
import {
  batchnormBackwardInput,
  batchnormBackwardReduce,
  batchnormDropoutForward,
  batchnormEvalStats,
  batchnormForward,
  batchnormStats,
} from '../kernels/batchnorm.js';
import { dropoutBackward, dropoutParams } from '../kernels/dropout.js';
import { globalAvgPoolBackward, globalAvgPoolForward, maxpool2x2Backward, maxpool2x2Forward } from '../kernels/pooling.js';
import { sgdMomentum } from '../kernels/sgd-momentum.js';
import { randomWord } from '../reference/random.js';

export type LayerSpec =
  | { readonly kind: 'block'; readonly name: string; readonly outChannels: number; readonly kernel: number; readonly padding: number }
  | { readonly kind: 'conv'; readonly name: string; readonly outChannels: number; readonly kernel: number; readonly padding: number }
  | { readonly kind: 'maxpool'; readonly name: string }
  | { readonly kind: 'gap'; readonly name: string };

/** The notebook's Net, in order (SPEC.md §2). */
export const SEED_CNN: readonly LayerSpec[] = [
  { kind: 'block', name: 'convblock1', outChannels: 16, kernel: 3, padding: 0 },
  { kind: 'block', name: 'convblock2', outChannels: 32, kernel: 3, padding: 0 },
  { kind: 'conv', name: 'convblock3', outChannels: 10, kernel: 1, padding: 0 },
  { kind: 'maxpool', name: 'pool1' },
  { kind: 'block', name: 'convblock4', outChannels: 16, kernel: 3, padding: 0 },
  { kind: 'block', name: 'convblock5', outChannels: 16, kernel: 3, padding: 0 },
  { kind: 'block', name: 'convblock6', outChannels: 16, kernel: 3, padding: 0 },
  { kind: 'block', name: 'convblock7', outChannels: 16, kernel: 3, padding: 1 },
  { kind: 'gap', name: 'gap' },
  { kind: 'conv', name: 'convblock8', outChannels: 10, kernel: 1, padding: 0 },
];

/** The seed's settings (SPEC.md §2). */
export const SEED_CNN_SETTINGS = {
  inputShape: [1, 28, 28] as const,
  classes: 10,
  dropout: 0.1,
  bnEps: 1e-5,
  bnMomentum: 0.1,
};

/** Random streams (src/reference/random.ts uses 1 and 2 for the shuffle and rotation; dropout 16 + block). */
export const INIT_STREAM = 3;
export const DROPOUT_STREAM = 16;

/** [channels, height, width] of one sample. */
export type Chw = readonly [number, number, number];

export interface ParameterEntry {
  /** PyTorch state_dict name, e.g. `convblock1.0.weight`. */
  readonly name: string;
  readonly shape: readonly number[];
  readonly value: Tensor;
  readonly grad: Tensor;
  /** SGD momentum buffer (PyTorch's `momentum_buffer`). */
  readonly velocity: Tensor;
}

export interface BufferEntry {
  /** PyTorch state_dict name, e.g. `convblock1.2.running_mean`. */
  readonly name: string;
  readonly shape: readonly number[];
  readonly value: Tensor;
}

export type Mode = 'train' | 'eval';

/** One row of the model summary, as torchsummary prints it. */
export interface SummaryRow {
  readonly layer: string;
  readonly outputShape: readonly number[];
  readonly parameters: number;
}

/** What the layers share: the context, the batch capacity and the backward scratch buffers. */
interface Build {
  readonly ctx: GpuContext;
  readonly maxBatch: number;
  readonly scratch: readonly [Tensor, Tensor];
  readonly dropout: number;
  readonly parameters: ParameterEntry[];
  readonly buffers: BufferEntry[];
}

interface Layer {
  readonly spec: LayerSpec;
  readonly outShape: Chw;
  readonly output: Tensor;
  /** ∂loss/∂output, written by the next layer's backward (or the loss). */
  readonly dOutput: Tensor;
  readonly summary: readonly SummaryRow[];
  forward(batch: number, mode: Mode): Promise<Dispatch[]>;
  backward(batch: number): Promise<Dispatch[]>;
  /** Sets the step the dropout masks of the `batch`-sized training forward pass are drawn for. */
  setDropoutStep?(batch: number, step: number): void;
}

/** A bound kernel whose uniform parameters can change between steps. */
type Updatable<P> = Dispatch & { update(changes: Partial<P>): void };

const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

function parameter(build: Build, name: string, shape: readonly number[], init: ArrayLike<number>): ParameterEntry {
  const { ctx } = build;
  const entry = {
    name,
    shape,
    value: ctx.tensor(name, shape, { data: init }),
    grad: ctx.tensor(`${name} grad`, shape),
    velocity: ctx.tensor(`${name} momentum_buffer`, shape),
  };
  build.parameters.push(entry);
  return entry;
}

function buffer(build: Build, name: string, shape: readonly number[], init: ArrayLike<number>): BufferEntry {
  const entry = { name, shape, value: build.ctx.tensor(name, shape, { data: init }) };
  build.buffers.push(entry);
  return entry;
}

/** Per-batch-size cache of bound kernels (binding happens once per size). */
function perBatch<T>(make: (batch: number) => Promise<T>): (batch: number) => Promise<T> {
  const cache = new Map<number, Promise<T>>();
  return (batch) => {
    let entry = cache.get(batch);
    if (!entry) {
      entry = make(batch);
      cache.set(batch, entry);
    }
    return entry;
  };
}

/** Conv2d (bias-free) with its weight, gradient and momentum buffer. */
class Conv {
  readonly weight: ParameterEntry;
  readonly outShape: Chw;
  private readonly partial: Tensor;
  private readonly splitPixels: number;

  constructor(
    private readonly build: Build,
    readonly name: string,
    readonly inShape: Chw,
    readonly outChannels: number,
    readonly kernel: number,
    readonly padding: number,
    seed: number,
    index: number,
  ) {
    const [inChannels] = inShape;
    const shape = [outChannels, inChannels, kernel, kernel];
    // PyTorch's default: kaiming_uniform(a = √5), i.e. uniform(±1/√fan_in).
    const bound = 1 / Math.sqrt(inChannels * kernel * kernel);
    const init = Float32Array.from({ length: size(shape) }, (_, i) => (2 * (randomWord(seed, INIT_STREAM, index, i) / 2 ** 32) - 1) * bound);
    this.weight = parameter(build, `${name}.0.weight`, shape, init);
    const full = this.params(build.maxBatch);
    this.outShape = [outChannels, full.outHeight, full.outWidth];
    this.splitPixels = conv2dSplitPixels(full);
    this.partial = build.ctx.tensor(`${name} weight-gradient partial sums`, [conv2dWeightSplits({ ...full, splitPixels: this.splitPixels }) * size(shape)]);
  }

  params(batch: number) {
    const [inChannels, height, width] = this.inShape;
    return conv2dParams({ batch, inChannels, height, width, outChannels: this.outChannels, kernelH: this.kernel, kernelW: this.kernel, stride: 1, padding: this.padding });
  }

  /** y = conv(x), or relu(conv(x)) with `relu` (the ReLU applied as the sums are stored). */
  async forward(batch: number, x: Tensor, y: Tensor, relu = false): Promise<Dispatch> {
    const label = relu ? `${this.name} conv and relu forward` : `${this.name} conv forward`;
    return (await this.build.ctx.compile(conv2dForward, { RELU: relu })).bind({ x, weight: this.weight.value, y }, this.params(batch), label);
  }

  /** Weight gradient (always) and input gradient (when dx is given). */
  async backward(batch: number, x: Tensor, dy: Tensor, dx: Tensor | undefined): Promise<Dispatch[]> {
    const { ctx } = this.build;
    const p = { ...this.params(batch), splitPixels: this.splitPixels };
    const dispatches: Dispatch[] = [
      (await ctx.compile(conv2dBackwardWeight)).bind({ x, dy, partial: this.partial }, p, `${this.name} conv weight gradient`),
      (await ctx.compile(conv2dBackwardWeightReduce)).bind(
        { partial: this.partial, dweight: this.weight.grad },
        { length: size(this.weight.shape), splits: conv2dWeightSplits(p) },
        `${this.name} conv weight gradient reduce`,
      ),
    ];
    if (dx) dispatches.push((await ctx.compile(conv2dBackwardInput)).bind({ dy, weight: this.weight.value, dx }, this.params(batch), `${this.name} conv input gradient`));
    return dispatches;
  }
}

const activation = (build: Build, label: string, shape: Chw) => build.ctx.tensor(label, [build.maxBatch, ...shape]);

/** Conv → ReLU → BatchNorm2d → Dropout. */
function blockLayer(build: Build, spec: LayerSpec & { kind: 'block' }, input: Tensor, dInput: Tensor | undefined, inShape: Chw, seed: number, index: number, blockIndex: number): Layer {
  const { ctx } = build;
  const { name } = spec;
  const conv = new Conv(build, name, inShape, spec.outChannels, spec.kernel, spec.padding, seed, index);
  const outShape = conv.outShape;
  const [channels, h, w] = outShape;
  const gamma = parameter(build, `${name}.2.weight`, [channels], new Float32Array(channels).fill(1));
  const beta = parameter(build, `${name}.2.bias`, [channels], new Float32Array(channels));
  const runningMean = buffer(build, `${name}.2.running_mean`, [channels], new Float32Array(channels));
  const runningVar = buffer(build, `${name}.2.running_var`, [channels], new Float32Array(channels).fill(1));
  // The conv kernel stores relu(conv(x)) directly (variant RELU): the block has no pre-ReLU tensor.
  const a = activation(build, `${name} relu output`, outShape);
  const mask = activation(build, `${name} dropout mask`, outShape);
  const output = activation(build, `${name} output`, outShape);
  const dOutput = activation(build, `${name} output gradient`, outShape);
  const stats = ctx.tensor(`${name} batchnorm stats`, [2, channels]);
  const { bnEps: eps, bnMomentum: momentum } = SEED_CNN_SETTINGS;
  const bn = (batch: number) => ({ batch, channels, area: h * w });
  const length = (batch: number) => batch * channels * h * w;
  const [g1, g2] = build.scratch;

  const dropoutKernels = new Map<number, Updatable<{ step: number }>>();
  const trainForward = perBatch(async (batch) => {
    // Batch norm and dropout in one pass (the same masks as dropout_forward would draw).
    const drop = (await ctx.compile(batchnormDropoutForward)).bind(
      { x: a, stats, gamma: gamma.value, beta: beta.value, mask, y: output },
      { ...bn(batch), ...dropoutParams(build.dropout), seed, stream: DROPOUT_STREAM + blockIndex, step: 0 },
      `${name} batchnorm and dropout`,
    );
    dropoutKernels.set(batch, drop);
    return [
    await conv.forward(batch, input, a, true),
    (await ctx.compile(batchnormStats)).bind({ x: a, stats, runningMean: runningMean.value, runningVar: runningVar.value }, { ...bn(batch), eps, momentum }, `${name} batchnorm stats`),
    drop,
  ];
  });
  const evalForward = perBatch(async (batch) => [
    await conv.forward(batch, input, a, true),
    (await ctx.compile(batchnormEvalStats)).bind({ runningMean: runningMean.value, runningVar: runningVar.value, stats }, { channels, eps }, `${name} batchnorm eval stats`),
    (await ctx.compile(batchnormForward)).bind({ x: a, stats, gamma: gamma.value, beta: beta.value, y: output }, bn(batch), `${name} batchnorm`),
  ]);
  const backward = perBatch(async (batch) => [
    (await ctx.compile(dropoutBackward)).bind({ dy: dOutput, mask, dx: g1 }, { length: length(batch) }, `${name} dropout backward`),
    (await ctx.compile(batchnormBackwardReduce)).bind({ dy: g1, x: a, stats, dgamma: gamma.grad, dbeta: beta.grad }, bn(batch), `${name} batchnorm backward reduce`),
    // The ReLU's gradient is fused into the batch norm's input gradient: g2 = ∂loss/∂(conv output)
    // (a > 0 exactly where the conv output is).
    (await ctx.compile(batchnormBackwardInput)).bind(
      { dy: g1, x: a, stats, gamma: gamma.value, dgamma: gamma.grad, dbeta: beta.grad, dx: g2 },
      { ...bn(batch), reluInput: 1 },
      `${name} batchnorm and relu backward`,
    ),
    ...(await conv.backward(batch, input, g2, dInput)),
  ]);
  const params = size(conv.weight.shape);
  return {
    spec,
    outShape,
    output,
    dOutput,
    summary: [
      { layer: 'Conv2d', outputShape: outShape, parameters: params },
      { layer: 'ReLU', outputShape: outShape, parameters: 0 },
      { layer: 'BatchNorm2d', outputShape: outShape, parameters: 2 * channels },
      { layer: 'Dropout', outputShape: outShape, parameters: 0 },
    ],
    forward: (batch, mode) => (mode === 'train' ? trainForward(batch) : evalForward(batch)),
    backward,
    setDropoutStep: (batch, step) => dropoutKernels.get(batch)?.update({ step }),
  };
}

function convLayer(build: Build, spec: LayerSpec & { kind: 'conv' }, input: Tensor, dInput: Tensor | undefined, inShape: Chw, seed: number, index: number): Layer {
  const conv = new Conv(build, spec.name, inShape, spec.outChannels, spec.kernel, spec.padding, seed, index);
  const output = activation(build, `${spec.name} output`, conv.outShape);
  const dOutput = activation(build, `${spec.name} output gradient`, conv.outShape);
  const forward = perBatch(async (batch) => [await conv.forward(batch, input, output)]);
  const backward = perBatch((batch) => conv.backward(batch, input, dOutput, dInput));
  return {
    spec,
    outShape: conv.outShape,
    output,
    dOutput,
    summary: [{ layer: 'Conv2d', outputShape: conv.outShape, parameters: size(conv.weight.shape) }],
    forward: (batch) => forward(batch),
    backward,
  };
}

function maxPoolLayer(build: Build, spec: LayerSpec, input: Tensor, dInput: Tensor | undefined, inShape: Chw): Layer {
  const { ctx } = build;
  const [channels, h, w] = inShape;
  const outShape: Chw = [channels, Math.floor(h / 2), Math.floor(w / 2)];
  const output = activation(build, `${spec.name} output`, outShape);
  const dOutput = activation(build, `${spec.name} output gradient`, outShape);
  const argmax = ctx.tensor(`${spec.name} argmax`, [build.maxBatch, ...outShape], { dtype: 'u32' });
  const p = (batch: number) => ({ planes: batch * channels, height: h, width: w });
  const forward = perBatch(async (batch) => [(await ctx.compile(maxpool2x2Forward)).bind({ x: input, y: output, argmax }, p(batch), `${spec.name} forward`)]);
  const backward = perBatch(async (batch) =>
    dInput ? [(await ctx.compile(maxpool2x2Backward)).bind({ dy: dOutput, argmax, dx: dInput }, p(batch), `${spec.name} backward`)] : [],
  );
  return { spec, outShape, output, dOutput, summary: [{ layer: 'MaxPool2d', outputShape: outShape, parameters: 0 }], forward: (b) => forward(b), backward };
}

function gapLayer(build: Build, spec: LayerSpec, input: Tensor, dInput: Tensor | undefined, inShape: Chw): Layer {
  const { ctx } = build;
  const [channels, h, w] = inShape;
  const outShape: Chw = [channels, 1, 1];
  const output = activation(build, `${spec.name} output`, outShape);
  const dOutput = activation(build, `${spec.name} output gradient`, outShape);
  const p = (batch: number) => ({ planes: batch * channels, area: h * w });
  const forward = perBatch(async (batch) => [(await ctx.compile(globalAvgPoolForward)).bind({ x: input, y: output }, p(batch), `${spec.name} forward`)]);
  const backward = perBatch(async (batch) =>
    dInput ? [(await ctx.compile(globalAvgPoolBackward)).bind({ dy: dOutput, dx: dInput }, p(batch), `${spec.name} backward`)] : [],
  );
  return { spec, outShape, output, dOutput, summary: [{ layer: 'AvgPool2d', outputShape: outShape, parameters: 0 }], forward: (b) => forward(b), backward };
}

export interface SeedCnnOptions {
  /** Largest batch the model's buffers hold (default 128). */
  readonly maxBatch?: number;
  /** Seed of the initial weights and of the dropout masks (default 1). */
  readonly seed?: number;
  /** Learning rate and momentum of SGD (default 0.01, 0.9). */
  readonly lr?: number;
  readonly momentum?: number;
  /** Dropout probability of every block (default 0.1; 0 turns dropout off). */
  readonly dropout?: number;
}

export class SeedCnn {
  /** Training steps taken (PyTorch's BatchNorm `num_batches_tracked`). */
  stepsTaken = 0;
  private sgd: Promise<Updatable<{ lr: number; momentum: number }>[]> | undefined;

  private constructor(
    readonly ctx: GpuContext,
    readonly input: Tensor,
    readonly layers: readonly Layer[],
    readonly parameters: readonly ParameterEntry[],
    readonly buffers: readonly BufferEntry[],
    readonly maxBatch: number,
    readonly seed: number,
    private optimizer: { lr: number; momentum: number },
  ) {}

  static create(ctx: GpuContext, options: SeedCnnOptions = {}): SeedCnn {
    const maxBatch = options.maxBatch ?? 128;
    const seed = options.seed ?? 1;
    let shape: Chw = SEED_CNN_SETTINGS.inputShape;
    const largest = maxBatch * largestActivation();
    const build: Build = {
      ctx,
      maxBatch,
      scratch: [ctx.tensor('backward scratch 1', [largest]), ctx.tensor('backward scratch 2', [largest])],
      dropout: options.dropout ?? SEED_CNN_SETTINGS.dropout,
      parameters: [],
      buffers: [],
    };
    const input = ctx.tensor('input images', [maxBatch, ...shape]);
    const layers: Layer[] = [];
    let x = input;
    let dx: Tensor | undefined;
    let blocks = 0;
    SEED_CNN.forEach((spec, index) => {
      const layer =
        spec.kind === 'block'
          ? blockLayer(build, spec, x, dx, shape, seed, index, blocks++)
          : spec.kind === 'conv'
            ? convLayer(build, spec, x, dx, shape, seed, index)
            : spec.kind === 'maxpool'
              ? maxPoolLayer(build, spec, x, dx, shape)
              : gapLayer(build, spec, x, dx, shape);
      layers.push(layer);
      x = layer.output;
      dx = layer.dOutput;
      shape = layer.outShape;
    });
    return new SeedCnn(ctx, input, layers, build.parameters, build.buffers, maxBatch, seed, { lr: options.lr ?? 0.01, momentum: options.momentum ?? 0.9 });
  }

  /** The logits [batch, classes] (the last layer's output). */
  get logits(): Tensor {
    return this.layers[this.layers.length - 1]!.output;
  }

  /** ∂loss/∂logits, written by the loss. */
  get dLogits(): Tensor {
    return this.layers[this.layers.length - 1]!.dOutput;
  }

  /** Forward pass over `input` for `batch` samples. */
  async forward(batch: number, mode: Mode): Promise<Dispatch[]> {
    this.checkBatch(batch);
    const dispatches: Dispatch[] = [];
    for (const layer of this.layers) dispatches.push(...(await layer.forward(batch, mode)));
    return dispatches;
  }

  /** Backward pass from `dLogits` to every parameter gradient (overwritten). */
  async backward(batch: number): Promise<Dispatch[]> {
    this.checkBatch(batch);
    const dispatches: Dispatch[] = [];
    for (const layer of [...this.layers].reverse()) dispatches.push(...(await layer.backward(batch)));
    return dispatches;
  }

  /** The SGD-with-momentum update of every parameter. */
  optimizerStep(): Promise<Updatable<{ lr: number; momentum: number }>[]> {
    this.sgd ??= this.ctx.compile(sgdMomentum).then((kernel) =>
      this.parameters.map((p) => kernel.bind({ grad: p.grad, velocity: p.velocity, param: p.value }, { length: size(p.shape), ...this.optimizer }, `sgd ${p.name}`)),
    );
    return this.sgd;
  }

  /** Changes the learning rate or momentum of later steps. */
  async setOptimizer(changes: Partial<{ lr: number; momentum: number }>): Promise<void> {
    this.optimizer = { ...this.optimizer, ...changes };
    for (const d of await this.optimizerStep()) d.update(this.optimizer);
  }

  get optimizerSettings(): { readonly lr: number; readonly momentum: number } {
    return this.optimizer;
  }

  /** Sets the step number the dropout masks of a `batch`-sized training forward pass are drawn for. */
  setDropoutStep(batch: number, step: number): void {
    for (const layer of this.layers) layer.setDropoutStep?.(batch, step);
  }

  /** The summary table rows (torchsummary's layout) and the parameter count. */
  summary(): { rows: SummaryRow[]; total: number } {
    const rows = this.layers.flatMap((l) => l.summary);
    return { rows, total: rows.reduce((s, r) => s + r.parameters, 0) };
  }

  private checkBatch(batch: number): void {
    if (!Number.isInteger(batch) || batch < 1 || batch > this.maxBatch) {
      throw new Error(`seed CNN: batch ${batch} must be a whole number from 1 to the model's capacity ${this.maxBatch}`);
    }
  }
}

/** Elements of the largest activation of one sample (for the backward scratch buffers). */
function largestActivation(): number {
  let [c, h, w] = SEED_CNN_SETTINGS.inputShape as readonly number[] as [number, number, number];
  let largest = c * h * w;
  for (const spec of SEED_CNN) {
    if (spec.kind === 'block' || spec.kind === 'conv') {
      c = spec.outChannels;
      h = h + 2 * spec.padding - spec.kernel + 1;
      w = w + 2 * spec.padding - spec.kernel + 1;
    } else if (spec.kind === 'maxpool') {
      h = Math.floor(h / 2);
      w = Math.floor(w / 2);
    } else {
      h = 1;
      w = 1;
    }
    largest = Math.max(largest, c * h * w);
  }
  return largest;
}

/** Formats the summary like torchsummary (the notebook's `summary(model, input_size=(1, 28, 28))`). */
export function formatSummary(rows: readonly SummaryRow[], total: number): string {
  const line = '-'.repeat(64);
  const out = [line, `${'Layer (type)'.padStart(25)}  ${'Output Shape'.padStart(25)} ${'Param #'.padStart(15)}`, '='.repeat(64)];
  rows.forEach((r, i) => {
    const shape = `[-1, ${r.outputShape.join(', ')}]`;
    out.push(`${`${r.layer}-${i + 1}`.padStart(25)}  ${shape.padStart(25)} ${r.parameters.toLocaleString('en-US').padStart(15)}`);
  });
  out.push('='.repeat(64), `Total params: ${total.toLocaleString('en-US')}`, `Trainable params: ${total.toLocaleString('en-US')}`, 'Non-trainable params: 0', line);
  return out.join('\n');
}
