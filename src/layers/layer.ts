/**
 * The layer tier's contract. A layer is configuration (PyTorch's constructor arguments) plus what
 * follows from an input shape: its output shape, its parameters and buffers under their local
 * PyTorch names, and how it lowers onto the declared kernels. Layers hold no GPU state: the plan
 * compiler (src/plan/compile.ts) allocates every tensor once and asks each layer for its bound
 * kernels. Containers (src/layers/sequential.ts) give the names; the plan never renames.
 */
import type { Dispatch, GpuContext } from '../gpu/context.js';
import type { Tensor } from '../gpu/tensor.js';
import type { Conv2dParams as ConvShapeParams, ConvPackJob, ConvReduceJob, ConvTile, WeightTile } from '../kernels/conv2d.js';
import type { DenseKernelName, DenseShape, DenseTile } from '../kernels/dense.js';

/** The shape of one sample: [C, H, W] for images, [F] for features. */
export type SampleShape = readonly number[];
export type Mode = 'train' | 'eval';

/** A trainable tensor: local name (`weight`, `bias`) and PyTorch's default initialisation. */
export interface ParameterSpec {
  readonly name: string;
  readonly shape: readonly number[];
  /**
   * uniform(−bound, bound) (kaiming_uniform with a = √5 gives bound 1/√fan_in), a constant, or
   * normal(0, std) with one row (the first dimension's index `zeroRow`) then zeroed (an
   * Embedding's padding_idx).
   */
  readonly init: { readonly uniform: number } | { readonly constant: number } | { readonly normal: number; readonly zeroRow?: number };
}

/** A non-trainable state tensor (`running_mean`) with its initial value. */
export interface BufferSpec {
  readonly name: string;
  readonly shape: readonly number[];
  readonly value: number;
}

/** A wrong input shape, found before anything touches the GPU. */
export class ShapeError extends Error {
  override name = 'ShapeError';
}

/** A parameter as the compiled plan holds it: value, gradient and optimizer state on the GPU. */
export interface ParameterState {
  /** The full PyTorch state_dict name, e.g. `convblock1.0.weight`. */
  readonly name: string;
  readonly shape: readonly number[];
  readonly value: Tensor;
  readonly grad: Tensor;
  /** Optimizer state tensors by PyTorch's names (`momentum_buffer`, `exp_avg`, `exp_avg_sq`). */
  readonly state: Readonly<Record<string, Tensor>>;
}

/** Which fusion rules (src/plan/fusion.ts) touch a node, as flags its lowering reads. */
export interface NodeFusion {
  /** Conv2d, Linear, BatchNorm, a residual block's sum: store max(·, 0); the ReLU after it is absorbed. */
  readonly reluEpilogue?: boolean;
  /** ReLU after a conv, Dropout after a batch norm, MaxPool2d after a conv: the previous node computes this one's forward; output = input. */
  readonly forwardByPrevious?: boolean;
  /**
   * BatchNorm: the training forward also applies this Dropout (its mask bits, its stream), and the
   * backward takes the Dropout's output gradient and applies its mask first.
   */
  readonly dropout?: { readonly p: number; readonly stream: number; readonly mask: Tensor<'u32'> };
  /**
   * BatchNorm, MaxPool2d, Conv2d, Linear: its input gradient also applies the ReLU before it
   * (writes the ReLU's input gradient).
   */
  readonly reluInput?: boolean;
  /** ReLU before a batch norm, a max pool, a conv or a Linear: the next node computes this one's gradient. */
  readonly backwardByNext?: boolean;
  /** Dropout after a batch norm, MaxPool2d whose backward the conv before it folds in (pool.backward there): the previous node computes this one's gradient. */
  readonly backwardByPrevious?: boolean;
  /**
   * Conv2d before a BatchNorm2d: the training forward also writes the output's
   * partial moments per channel (LayerProgram.statistics) for the batch norm's statistics.
   */
  readonly statsEpilogue?: boolean;
  /** BatchNorm2d: its training statistics come from these partial moments (the conv before it), not from x. */
  readonly statistics?: BatchStatistics;
  /**
   * Conv2d before a MaxPool2d(2), a ReLU between or not: its forward stores the pool's output (its own
   * `output` is then the pooled [maxBatch, C, H / 2, W / 2]) and the pool's argmax, here.
   * `backward` (no ReLU between, and Conv2d.foldsPoolBackward): the pool's backward is folded
   * into the conv's: dOutput is the pool's gradient, read with the argmax (the network decides,
   * on the adapter and tiles; the pool runs no backward of its own).
   */
  readonly pool?: { readonly argmax: Tensor<'u32'>; readonly backward?: boolean };
  /**
   * BatchNorm2d before a Dropout (`dropout`) whose output only the 1×1 conv after it reads, and
   * that conv applies both as it loads its input (Conv2d.foldsNormInput; the network decides, on
   * the adapter and tiles): the training forward writes the mask and `affine` [4 × channels]
   * (mean, invStd·γ, β, the dropout's scale per channel), not the output. Eval writes the output.
   */
  readonly normOnLoad?: { readonly affine: Tensor };
  /**
   * Conv2d after such a batch norm and dropout (`normOnLoad` there): its training forward and
   * weight gradient read the batch norm's input `x`, the dropout's `mask` and the `affine`, and
   * compute the dropout's output as they load it (variant NORM_MASK), in place of `input`, which
   * the training forward does not write. Eval reads `input`.
   */
  readonly normInput?: { readonly x: Tensor; readonly mask: Tensor<'u32'>; readonly affine: Tensor };
}

/**
 * Partial moments of a layer's output per channel, written by its training forward: moments
 * [channels, slots(batch), 3] (count, mean, M2 per slot; shaders/batchnorm_stats_merge.wgsl).
 */
export interface BatchStatistics {
  readonly moments: Tensor;
  slots(batch: number): number;
}

/** What a layer's lowering is given: its place in the plan and every tensor it touches. */
export interface LayerBuild {
  readonly ctx: GpuContext;
  /** Dotted path in the model (`convblock1.0`), the prefix of its state_dict names and of its labels. */
  readonly path: string;
  readonly maxBatch: number;
  readonly inShape: SampleShape;
  readonly outShape: SampleShape;
  readonly input: Tensor;
  readonly output: Tensor;
  readonly parameters: Readonly<Record<string, ParameterState>>;
  readonly buffers: Readonly<Record<string, Tensor>>;
  /** ∂loss/∂output; undefined when no gradient flows through this node. */
  readonly dOutput?: Tensor;
  /** ∂loss/∂input to write; undefined for the first node that needs a backward pass. */
  readonly dInput?: Tensor;
  readonly fusion: NodeFusion;
  /** Seed of the run, and this node's own random stream (dropout). */
  readonly seed: number;
  readonly stream: number;
  /** The layer's own per-sample tensors (`workspaceSpecs`), [maxBatch, ...shape] each. */
  readonly workspace: Readonly<Record<string, Tensor<'f32'> | Tensor<'u32'>>>;
  /**
   * Members of the network's shared arenas (`uniform`: also bindable as a uniform buffer), for the
   * tensors that one dispatch serves for every layer at once: a conv's packed weights and its
   * weight-gradient partial sums (LayerProgram.packs, .reductions). Each is given as a function:
   * its tensor exists once every layer is lowered, before any kernel is bound.
   */
  readonly shared: SharedWorkspace;
  /**
   * The most splits a layer's weight-gradient partial sums may have (each a copy of its weight
   * and bias), so that every layer's fit the shared workspace's one binding (the network's
   * partialSplitsCap); a tile with more gets more rows a split. Absent: no cap.
   */
  readonly maxPartialSplits?: number;
  /** The tuned tile of a tiled kernel at this layer's largest batch, if any (src/tune/). */
  readonly tiles?: TileChooser;
  /**
   * The network's divergence guard (src/kernels/health.ts): a layer whose kernels update a buffer
   * (BatchNorm's running statistics) records a non-finite value there at the buffer's slot (`slot`
   * of its name within the layer: 'running_var'). Absent (a layer built on its own): the layer
   * keeps a record of its own.
   */
  readonly guard?: { readonly health: Tensor<'u32'>; slot(buffer: string): number };
  /**
   * A residual block's sum (src/layers/residual.ts): the other branch's output (`other`), and
   * where to keep its output gradient for its body (`kept`; absent where the body has no backward).
   */
  readonly residual?: { readonly other?: Tensor; readonly kept?: Tensor };
}

/** See LayerBuild.shared. */
export interface SharedWorkspace {
  uniform(label: string, shape: readonly number[]): () => Tensor;
  storage(label: string, shape: readonly number[]): () => Tensor;
}

/** Picks a tiled kernel's tile for its parameters (a tuning cache); undefined: the kernel's default. */
export interface TileChooser {
  (kernel: 'conv2d_backward_weight', params: ConvShapeParams): WeightTile | undefined;
  (kernel: ConvKernelName, params: ConvShapeParams): ConvTile | undefined;
  (kernel: DenseKernelName, params: DenseShape): DenseTile | undefined;
}

/**
 * The tunable conv kernels: the forward and input gradient (a ConvTile), and the weight gradient
 * (a WeightTile: register tile, rows per split and workgroup size; src/kernels/conv2d.ts).
 */
export type ConvKernelName = 'conv2d_forward' | 'conv2d_backward_input' | 'conv2d_backward_weight';

/** Every tunable kernel: the conv kernels and the dense (Linear) ones (a DenseTile each). */
export type TiledKernelName = ConvKernelName | DenseKernelName;

/** A per-sample tensor a layer keeps between its forward and backward passes (a mask, an argmax). */
export interface WorkspaceSpec {
  readonly name: string;
  readonly shape: SampleShape;
  readonly dtype: 'f32' | 'u32';
}

/** A bound kernel whose random draws depend on the step (dropout). */
export type StepKernel = Dispatch & { update(changes: { step: number }): void };

/** A layer's bound kernels, built once per batch size. */
export interface LayerProgram {
  forward(batch: number, mode: Mode): Promise<Dispatch[]>;
  /** Parameter gradients (overwritten) and ∂loss/∂input when `dInput` was given. */
  backward(batch: number): Promise<Dispatch[]>;
  /** The training step whose random draws (dropout masks) the next forward pass makes. */
  setStep?(batch: number, step: number): void;
  /** What the training forward leaves for the batch norm after it (NodeFusion.statsEpilogue). */
  readonly statistics?: BatchStatistics;
  /**
   * Weight repackings the network runs, for every layer in one dispatch, before each forward
   * pass: `forward` (what the forward reads) in every mode, `input` (what the input gradient
   * reads) in training too.
   */
  packs?(): { readonly forward: readonly ConvPackJob[]; readonly input: readonly ConvPackJob[] };
  /** Partial sums the network reduces, for every layer in one dispatch, after the backward pass of `batch` samples. */
  reductions?(batch: number): readonly ConvReduceJob[];
}

export abstract class Layer {
  /** PyTorch's class name: `Conv2d`, `ReLU`, … */
  abstract readonly type: string;
  /** Draws random numbers in training (the dropouts, RReLU): the plan gives it a random stream of its own (LayerBuild.stream). */
  readonly drawsRandom: boolean = false;
  /** How many random streams it draws from (LayerBuild.stream and the next ones): 1, or a stacked LSTM's or GRU's one a dropout between layers. */
  readonly randomStreams: number = 1;
  /**
   * The input holds indices (an Embedding's token ids), not values to differentiate: no gradient
   * flows to it, so the plan puts no layer with parameters before this one.
   */
  readonly takesIds: boolean = false;
  /** The output is a view of the input (Flatten, Identity): no kernel; the plan hands the next layer the same buffer, and the gradient back as a view. */
  readonly view: boolean = false;
  /**
   * PyTorch's `inplace=True` was given. It changes no result here (the output has a tensor of its
   * own), and none in PyTorch either, except where something else reads the layer's input too: a
   * residual block's input, which the plan refuses there (src/plan/plan.ts).
   */
  inplace = false;
  /**
   * The layer whose initial weights this one starts from: PyTorch's copy.deepcopy of a module (a
   * TransformerEncoder's layers are copies of its encoder_layer, equal at the start). The default
   * initialisation draws with that layer's counters; a Network's `init` function (torch.nn.init
   * applied to each parameter after construction) draws with this layer's own.
   */
  initLike?: Layer;
  /** The output shape for this input shape (throws a ShapeError saying what was expected). */
  abstract outputShape(input: SampleShape): SampleShape;
  parameterSpecs(_input: SampleShape): ParameterSpec[] {
    return [];
  }
  bufferSpecs(_input: SampleShape): BufferSpec[] {
    return [];
  }
  workspaceSpecs(_input: SampleShape): WorkspaceSpec[] {
    return [];
  }
  /**
   * Whether the layer writes its input gradient over its output gradient on this adapter (the
   * same shape, the same memory): the network then hands it one tensor as both dOutput and
   * dInput, and the other gradient slot need not hold this layer's gradients (src/plan/network.ts).
   * The layer's lowering must do so exactly where this says it does.
   */
  inputGradientInPlace(_adapter: { readonly software: boolean }): boolean {
    return false;
  }
  /**
   * The dense (matmul) kernels the layer runs for its own ends (an LSTM's projections, an
   * attention's), with the shapes it asks the tile chooser for at `batch`: what the tuner times
   * for it (src/tune/tuner.ts; a Linear's are the tuner's own). `training`: its weight gradients
   * run; `inputGradient`: its input gradient is computed (not the network's first trained layer).
   */
  denseUses(_input: SampleShape, _batch: number, _phases: { readonly training: boolean; readonly inputGradient: boolean }): DenseUse[] {
    return [];
  }
  /** The constructor arguments, PyTorch's names (for the summary and model files). */
  abstract config(): Record<string, unknown>;
  abstract lower(build: LayerBuild): LayerProgram;
}

/** A dense kernel a layer runs, at the shape it asks the tile chooser for (Layer.denseUses). */
export interface DenseUse {
  readonly kernel: DenseKernelName;
  readonly params: DenseShape;
}

/**
 * A parameter a layer does not learn (BatchNorm without affine, a norm's missing weight or bias): a
 * constant tensor for its kernels to read (1: x·1 is x to the bit; 0: x + 0 too) and a scratch
 * gradient for them to write.
 */
export function fixedParameter(ctx: LayerBuild['ctx'], label: string, length: number, value: number): { readonly value: Tensor; readonly grad: Tensor } {
  return { value: ctx.tensor(`${label} (not learnt)`, [length], { data: new Float32Array(length).fill(value) }), grad: ctx.tensor(`${label} gradient (unused)`, [length]) };
}

/** Elements of a shape. */
export const shapeSize = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/** Formats a per-sample shape as PyTorch prints a batch of it: [N, 16, 26, 26]. */
export const formatShape = (shape: SampleShape) => `[N, ${shape.join(', ')}]`;

/** Per-batch-size cache of bound kernels (binding happens once per size). */
export function perBatch<T>(make: (batch: number) => Promise<T>): (batch: number) => Promise<T> {
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

/** A whole number ≥ min, for constructor arguments: throws naming the layer and the field. */
/**
 * An options object, checked as PyTorch's constructors check their keyword arguments: a key the
 * owner does not take (a misspelling, PyTorch's snake_case name, an option not supported here such
 * as Conv2d's groups) is refused, naming the options it takes, instead of being dropped. Returns it.
 */
/** A value as the user wrote it, for an error: a number as itself (NaN, Infinity, where JSON says null), anything else as JSON. */
export function shownValue(v: unknown): string {
  return typeof v === 'number' ? String(v) : (JSON.stringify(v) ?? String(v));
}

export function checkOptions<T extends object>(owner: string, options: T, known: readonly (keyof T & string)[]): T {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new TypeError(`${owner}: expected an options object ({ ${known.join(', ')} }), got ${JSON.stringify(options)}`);
  }
  for (const key of Object.keys(options)) {
    if ((known as readonly string[]).includes(key)) continue;
    const camel = key.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
    const hint = camel !== key && (known as readonly string[]).includes(camel) ? ` (PyTorch's ${key} is ${camel} here)` : '';
    throw new RangeError(`${owner}: unknown option '${key}'${hint}; the options are ${known.join(', ')}`);
  }
  return options;
}

/**
 * PyTorch's positional form of a constructor (`Linear(784, 10)`), as an options object: the
 * leading arguments are the named positions, then one options object may give the rest
 * (`Linear(784, 10, { bias: false })`); anything after is refused (JavaScript would drop it).
 */
export function positionalOptions<T extends object>(owner: string, args: readonly unknown[], positions: readonly (keyof T & string)[], known: readonly (keyof T & string)[]): T {
  const options: Record<string, unknown> = {};
  let i = 0;
  // null in a position is PyTorch's None: left out (MaxPool2d(2, null): stride = kernel_size).
  for (; i < args.length && i < positions.length && (typeof args[i] !== 'object' || args[i] === null || Array.isArray(args[i])); i++) {
    if (args[i] !== null) options[positions[i]!] = args[i];
  }
  if (i < args.length && typeof args[i] === 'object' && args[i] !== null && !Array.isArray(args[i])) {
    const rest = checkOptions(owner, args[i] as T, known.filter((k) => !(k in options)));
    Object.assign(options, rest);
    i++;
  }
  if (i < args.length) throw new RangeError(`${owner}: ${args.length} arguments; expected (${positions.join(', ')}) then at most an options object`);
  return options as T;
}

/** A true/false option (PyTorch's bool arguments): the fallback when left out; 'false' and 0 are refused. */
export function trueOrFalse(owner: string, field: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw new TypeError(`${owner}: ${field} must be true or false, got ${JSON.stringify(value)}`);
  return value;
}

export function whole(layer: string, field: string, value: unknown, min = 1): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    throw new RangeError(`${layer}: ${field} must be a whole number ≥ ${min}, got ${JSON.stringify(value)}`);
  }
  return value;
}

/** A window size given as PyTorch takes it: one number for both sides, or (height, width). */
export type Pair = number | readonly [number, number];

/** `value` as (height, width), each a whole number ≥ min. */
export function pair(owner: string, field: string, value: unknown, min: number): [number, number] {
  if (Array.isArray(value)) {
    if (value.length !== 2) throw new RangeError(`${owner}: ${field} must be a number or two (height, width), got ${JSON.stringify(value)}`);
    return [whole(owner, field, value[0], min), whole(owner, field, value[1], min)];
  }
  const v = whole(owner, field, value, min);
  return [v, v];
}

/** A pair as config() writes it: one number where both sides agree (PyTorch's own form). */
export const compact = (p: readonly [number, number]) => (p[0] === p[1] ? p[0] : [...p]);

/** A pair in a message: `2`, or `(1, 2)` where the sides differ. */
export const pairWords = (p: readonly [number, number]) => (p[0] === p[1] ? String(p[0]) : `(${p[0]}, ${p[1]})`);
