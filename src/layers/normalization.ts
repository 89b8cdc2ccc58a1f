/**
 * GroupNorm, LayerNorm and InstanceNorm1d/2d with PyTorch's semantics: each sample normalised by
 * its own statistics (the same in training and eval; no running statistics), over a group of
 * channels (GroupNorm, a weight and bias per channel), over the trailing normalized_shape
 * (LayerNorm, a weight and bias per element of it) or over each channel's plane (InstanceNorm). Kernels: src/kernels/sample-norm.ts (one family for both: a sample's
 * segments and an affine index); without affine the kernels read a weight of ones and a bias of
 * zeros (x̂·1 + 0 is x̂ to the bit). No fusion rule takes them.
 */
import { sampleNormBackwardAffine, sampleNormBackwardInput, sampleNormForward, sampleNormParams, sampleNormVariant, type SampleNormGeometry } from '../kernels/sample-norm.js';
import type { Dispatch } from '../gpu/context.js';
import type { Tensor } from '../gpu/tensor.js';
import { Layer, ShapeError, checkOptions, fixedParameter, positionalOptions, perBatch, shapeSize, trueOrFalse, whole, type LayerBuild, type LayerProgram, type ParameterSpec, type SampleShape, type WorkspaceSpec } from './layer.js';

/** float32's smallest normal number: a smaller eps is 0 (or subnormal, flushed) in the kernels. */
const MIN_EPS = 2 ** -126;

/** eps (default 1e-5): a number the kernels keep (≥ float32's smallest normal, 1.2e-38), so that a constant segment gives 0, not NaN. */
function epsOf(owner: string, eps: unknown): number {
  const value = eps ?? 1e-5;
  if (typeof value !== 'number' || !(value >= MIN_EPS) || !Number.isFinite(value)) throw new RangeError(`${owner}: eps must be a number ≥ 1.2e-38 (float32 keeps no smaller one: a constant segment would give NaN), got ${JSON.stringify(eps)}`);
  return value;
}

/** What the two layers share: a sample's segments, its affine parameters, the three kernels. */
abstract class SampleNorm extends Layer {
  abstract readonly eps: number;
  /** The kernels' geometry for an input shape and batch. */
  protected abstract geometry(input: SampleShape, batch: number): SampleNormGeometry;
  /** The weight's and bias's shape (empty: not learnt). */
  protected abstract affineShape(input: SampleShape): { weight?: readonly number[]; bias?: readonly number[] };

  override parameterSpecs(input: SampleShape): ParameterSpec[] {
    const shapes = this.affineShape(input);
    return [
      ...(shapes.weight ? [{ name: 'weight', shape: shapes.weight, init: { constant: 1 } }] : []),
      ...(shapes.bias ? [{ name: 'bias', shape: shapes.bias, init: { constant: 0 } }] : []),
    ];
  }

  /** Each sample's segments' mean and 1/σ (written by the forward, read by the backward). */
  override workspaceSpecs(input: SampleShape): WorkspaceSpec[] {
    const p = this.geometry(input, 1);
    return [{ name: 'stats', shape: [2 * (p.sampleSize / p.segmentLength)], dtype: 'f32' }];
  }

  lower(b: LayerBuild): LayerProgram {
    const { ctx, path, input: x, output: y, dOutput, dInput } = b;
    const count = this.geometry(b.inShape, 1).affineCount;
    // Without a weight or bias: ones and zeros, their gradients written into scratch.
    const weight = b.parameters.weight ?? fixedParameter(ctx, `${path} ${this.type} weight`, count, 1);
    const bias = b.parameters.bias ?? fixedParameter(ctx, `${path} ${this.type} bias`, count, 0);
    const learnt = b.parameters.weight !== undefined || b.parameters.bias !== undefined;
    const stats = b.workspace.stats as Tensor;
    const params = (batch: number) => sampleNormParams(this.geometry(b.inShape, batch), ctx.adapter);
    const forward = perBatch(async (batch): Promise<Dispatch[]> => [
      (await ctx.compile(sampleNormForward, sampleNormVariant(params(batch), ctx))).bind({ x, weight: weight.value, bias: bias.value, y, stats }, params(batch), `${path} ${this.type} forward`),
    ]);
    const backward = perBatch(async (batch): Promise<Dispatch[]> => {
      if (!dOutput) return [];
      const p = params(batch);
      const list: Dispatch[] = [];
      if (learnt) list.push((await ctx.compile(sampleNormBackwardAffine)).bind({ x, dy: dOutput, stats, dweight: weight.grad, dbias: bias.grad }, p, `${path} ${this.type} weight and bias gradient`));
      if (dInput) list.push((await ctx.compile(sampleNormBackwardInput, sampleNormVariant(p, ctx))).bind({ x, dy: dOutput, weight: weight.value, stats, dx: dInput }, p, `${path} ${this.type} input gradient`));
      return list;
    });
    return { forward: (batch) => forward(batch), backward };
  }
}

export interface GroupNormOptions {
  readonly numGroups: number;
  /** Inferred from the input when left out; checked when given. */
  readonly numChannels?: number;
  /** Default 1e-5, as PyTorch. */
  readonly eps?: number;
  /** A learnt weight and bias per channel (PyTorch's affine; default true). */
  readonly affine?: boolean;
}

/** PyTorch's nn.GroupNorm: [C, ...] in groups of C / numGroups channels, each normalised over its channels and their positions. */
export class GroupNorm extends SampleNorm {
  readonly type = 'GroupNorm';
  readonly numGroups: number;
  readonly numChannels?: number;
  readonly eps: number;
  readonly affine: boolean;

  /** `new GroupNorm(4, 16)` (num_groups, num_channels, eps, affine: PyTorch's positional form), or `new GroupNorm({ numGroups: 4 })`. */
  constructor(options: GroupNormOptions);
  constructor(numGroups: number, numChannels?: number, ...rest: (number | boolean | Partial<GroupNormOptions>)[]);
  constructor(first: GroupNormOptions | number, ...rest: unknown[]) {
    super();
    const known = ['numGroups', 'numChannels', 'eps', 'affine'] as const;
    if (typeof first !== 'number' && rest.length > 0) throw new RangeError('GroupNorm: an options object takes no other arguments');
    const options: GroupNormOptions = typeof first === 'number' ? positionalOptions<GroupNormOptions>('GroupNorm', [first, ...rest], [...known], known) : checkOptions('GroupNorm', first, known);
    this.numGroups = whole('GroupNorm', 'num_groups', options.numGroups);
    this.numChannels = options.numChannels === undefined ? undefined : whole('GroupNorm', 'num_channels', options.numChannels);
    // PyTorch: "num_channels must be divisible by num_groups".
    if (this.numChannels !== undefined && this.numChannels % this.numGroups !== 0) throw new RangeError(`GroupNorm: num_channels must be divisible by num_groups (as PyTorch), got ${this.numChannels} and ${this.numGroups}`);
    this.eps = epsOf('GroupNorm', options.eps);
    this.affine = trueOrFalse('GroupNorm', 'affine', options.affine, true);
  }

  outputShape(input: SampleShape): SampleShape {
    if (input.length < 1) throw new ShapeError(`expects an input of shape [C, ...], got [${input.join(', ')}]`);
    if (this.numChannels !== undefined && input[0] !== this.numChannels) throw new ShapeError(`num_channels is ${this.numChannels} but the input has ${input[0]} channels (input [${input.join(', ')}])`);
    if (input[0]! % this.numGroups !== 0) throw new ShapeError(`the input's ${input[0]} channels do not split into num_groups ${this.numGroups} (input [${input.join(', ')}])`);
    return input;
  }

  protected geometry(input: SampleShape, batch: number): SampleNormGeometry {
    const channels = input[0]!;
    const area = shapeSize(input.slice(1));
    return { batch, sampleSize: channels * area, segmentLength: (channels / this.numGroups) * area, affineStride: area, affineCount: channels, eps: this.eps };
  }

  protected affineShape(input: SampleShape) {
    return this.affine ? { weight: [input[0]!], bias: [input[0]!] } : {};
  }

  config() {
    return { num_groups: this.numGroups, num_channels: this.numChannels, eps: this.eps, ...(this.affine ? {} : { affine: false }) };
  }
}

export interface LayerNormOptions {
  /** The trailing dimensions of a sample normalised together: a number (the last dimension) or a shape. */
  readonly normalizedShape: number | readonly number[];
  /** Default 1e-5, as PyTorch. */
  readonly eps?: number;
  /** A learnt weight (and bias) of normalized_shape (PyTorch's elementwise_affine; default true). */
  readonly elementwiseAffine?: boolean;
  /** The learnt bias, with elementwiseAffine (PyTorch ≥ 2.1's bias; default true). */
  readonly bias?: boolean;
}

/** PyTorch's nn.LayerNorm: each sample normalised over its trailing normalized_shape. */
export class LayerNorm extends SampleNorm {
  readonly type = 'LayerNorm';
  readonly normalizedShape: readonly number[];
  readonly eps: number;
  readonly elementwiseAffine: boolean;
  readonly bias: boolean;

  /** `new LayerNorm(128)`, `new LayerNorm([16, 6, 6])` (normalized_shape, eps, elementwise_affine, bias: PyTorch's positional form), or an options object. */
  constructor(options: LayerNormOptions);
  constructor(normalizedShape: number | readonly number[], ...rest: (number | boolean | Partial<LayerNormOptions>)[]);
  constructor(first: LayerNormOptions | number | readonly number[], ...rest: unknown[]) {
    super();
    const known = ['normalizedShape', 'eps', 'elementwiseAffine', 'bias'] as const;
    const positional = typeof first === 'number' || Array.isArray(first);
    if (!positional && rest.length > 0) throw new RangeError('LayerNorm: an options object takes no other arguments');
    const options: LayerNormOptions = positional ? positionalOptions<LayerNormOptions>('LayerNorm', [first, ...rest], [...known], known) : checkOptions('LayerNorm', first as LayerNormOptions, known);
    const shape = options.normalizedShape;
    const list = typeof shape === 'number' ? [shape] : Array.isArray(shape) ? shape : undefined;
    if (!list || list.length === 0) throw new RangeError(`LayerNorm: normalized_shape must be a number or a non-empty shape, got ${JSON.stringify(shape)}`);
    this.normalizedShape = list.map((d) => whole('LayerNorm', 'normalized_shape', d));
    this.eps = epsOf('LayerNorm', options.eps);
    this.elementwiseAffine = trueOrFalse('LayerNorm', 'elementwise_affine', options.elementwiseAffine, true);
    this.bias = trueOrFalse('LayerNorm', 'bias', options.bias, true);
  }

  outputShape(input: SampleShape): SampleShape {
    const k = this.normalizedShape.length;
    const tail = input.slice(input.length - k);
    // PyTorch: "Given normalized_shape=[…], expected input with shape [*, …], but got input of size […]".
    if (input.length < k || tail.some((d, i) => d !== this.normalizedShape[i])) {
      throw new ShapeError(`normalized_shape [${this.normalizedShape.join(', ')}] must be the input's last ${k === 1 ? 'dimension' : `${k} dimensions`}, got a sample of [${input.join(', ')}]`);
    }
    return input;
  }

  protected geometry(input: SampleShape, batch: number): SampleNormGeometry {
    const normalized = shapeSize(this.normalizedShape);
    return { batch, sampleSize: shapeSize(input), segmentLength: normalized, affineStride: 1, affineCount: normalized, eps: this.eps };
  }

  protected affineShape() {
    if (!this.elementwiseAffine) return {};
    return { weight: this.normalizedShape, ...(this.bias ? { bias: this.normalizedShape } : {}) };
  }

  config() {
    const shape = this.normalizedShape.length === 1 ? this.normalizedShape[0] : [...this.normalizedShape];
    return { normalized_shape: shape, eps: this.eps, ...(this.elementwiseAffine ? {} : { elementwise_affine: false }), ...(this.bias ? {} : { bias: false }) };
  }
}

export interface InstanceNormOptions {
  /** Inferred from the input when left out; checked when given. */
  readonly numFeatures?: number;
  /** Default 1e-5, as PyTorch. */
  readonly eps?: number;
  /** PyTorch's momentum: read by running statistics only, which are not supported (default 0.1). */
  readonly momentum?: number;
  /** A learnt weight and bias per channel (PyTorch's affine; default false). */
  readonly affine?: boolean;
  /** Running statistics for eval: not supported (PyTorch's default false is the only value taken). */
  readonly trackRunningStats?: boolean;
}

/**
 * PyTorch's nn.InstanceNorm2d / InstanceNorm1d: each channel of each sample normalised over its
 * plane (GroupNorm with a group a channel), affine off by default; track_running_stats (off by
 * default in PyTorch too) is refused.
 */
abstract class InstanceNorm extends SampleNorm {
  readonly numFeatures?: number;
  readonly eps: number;
  readonly momentum: number;
  readonly affine: boolean;
  protected abstract readonly rank: number;

  /** `new InstanceNorm2d(16, 1e-5, 0.1, true)` (num_features, eps, momentum, affine, track_running_stats: PyTorch's positional form) or an options object. */
  constructor(first?: InstanceNormOptions | number, ...rest: unknown[]) {
    super();
    const owner = new.target.name;
    const known = ['numFeatures', 'eps', 'momentum', 'affine', 'trackRunningStats'] as const;
    if (typeof first !== 'number' && rest.length > 0) throw new RangeError(`${owner}: an options object takes no other arguments`);
    const options: InstanceNormOptions = typeof first === 'number' ? positionalOptions<InstanceNormOptions>(owner, [first, ...rest], [...known], known) : checkOptions(owner, first ?? {}, known);
    this.numFeatures = options.numFeatures === undefined ? undefined : whole(owner, 'num_features', options.numFeatures);
    this.eps = epsOf(owner, options.eps);
    this.momentum = options.momentum ?? 0.1;
    if (typeof this.momentum !== 'number' || !(this.momentum >= 0 && this.momentum <= 1)) throw new RangeError(`${owner}: momentum must be in [0, 1], got ${JSON.stringify(options.momentum)}`);
    this.affine = trueOrFalse(owner, 'affine', options.affine, false);
    if (trueOrFalse(owner, 'track_running_stats', options.trackRunningStats, false)) {
      throw new RangeError(`${owner}: track_running_stats=True (running statistics for eval) is not supported; each sample is normalised by its own statistics in training and eval (PyTorch's default)`);
    }
  }

  outputShape(input: SampleShape): SampleShape {
    if (input.length !== this.rank + 1) throw new ShapeError(`expects an input of shape ${this.rank === 2 ? '[C, H, W]' : '[C, L]'}, got [${input.join(', ')}]`);
    if (this.numFeatures !== undefined && input[0] !== this.numFeatures) throw new ShapeError(`num_features is ${this.numFeatures} but the input has ${input[0]} channels (input [${input.join(', ')}])`);
    // One element a channel normalises to 0 (the output is the bias): PyTorch refuses it too.
    if (shapeSize(input.slice(1)) === 1) throw new ShapeError(`each channel has 1 element (input [${input.join(', ')}]), as PyTorch refuses ("Expected more than 1 spatial element when training"): its normalised value is 0`);
    return input;
  }

  protected geometry(input: SampleShape, batch: number): SampleNormGeometry {
    const channels = input[0]!;
    const area = shapeSize(input.slice(1));
    return { batch, sampleSize: channels * area, segmentLength: area, affineStride: area, affineCount: channels, eps: this.eps };
  }

  protected affineShape(input: SampleShape) {
    return this.affine ? { weight: [input[0]!], bias: [input[0]!] } : {};
  }

  config() {
    return { num_features: this.numFeatures, eps: this.eps, ...(this.momentum !== 0.1 ? { momentum: this.momentum } : {}), ...(this.affine ? { affine: true } : {}) };
  }
}

/** PyTorch's nn.InstanceNorm2d: [C, H, W], each channel of each sample over its plane. */
export class InstanceNorm2d extends InstanceNorm {
  readonly type = 'InstanceNorm2d';
  protected readonly rank = 2;
}

/** PyTorch's nn.InstanceNorm1d: [C, L], each channel of each sample over its length. */
export class InstanceNorm1d extends InstanceNorm {
  readonly type = 'InstanceNorm1d';
  protected readonly rank = 1;
}
