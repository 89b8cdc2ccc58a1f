/**
 * PyTorch's 1-D layers over [C, L] samples (sequences, signals): Conv1d, ConvTranspose1d,
 * MaxPool1d, AvgPool1d, AdaptiveAvgPool1d and AdaptiveMaxPool1d, each its 2-D counterpart on the
 * [C, 1, L] view of the same buffer (`inner`), with a window of height 1: the same kernels, the
 * same reference (src/reference/network.ts runs the inner layer on the 2-D shapes). Their
 * parameters have PyTorch's 1-D shapes (Conv1d's weight [out, in / groups, k]: the same elements
 * as the inner [out, in / groups, 1, k]). No fusion rule takes them.
 */
import { Conv2d, type ConvPaddingMode } from './conv2d.js';
import { Pad2d, paddingArgs, type PadMode } from './padding.js';
import { ConvTranspose2d } from './conv-transpose2d.js';
import { Layer, ShapeError, checkOptions, positionalOptions, trueOrFalse, whole, type BufferSpec, type LayerBuild, type LayerProgram, type ParameterSpec, type SampleShape, type WorkspaceSpec } from './layer.js';
import { AdaptiveAvgPool2d, AdaptiveMaxPool2d, AvgPool2d, MaxPool2d } from './pooling.js';

/** A size argument of a 1-D layer: a number, or PyTorch's 1-tuple ([k]). */
export type Single = number | readonly [number];

/** A 1-D layer: its 2-D counterpart on the [C, 1, L] view. */
export abstract class OneD extends Layer {
  /** The 2-D layer that runs it. */
  abstract readonly inner: Layer;

  /** [C, L] as [C, 1, L]. */
  static as2d(input: SampleShape): SampleShape {
    if (input.length !== 2) throw new ShapeError(`expects an input of shape [C, L], got [${input.join(', ')}]`);
    return [input[0]!, 1, input[1]!];
  }

  outputShape(input: SampleShape): SampleShape {
    this.check1d(OneD.as1d(input));
    return this.innerShape(input);
  }

  /** A plan node of a 1-D layer as its inner layer's on the [C, 1, L] view (the same path and tensors); any other node as it is. */
  static view<N extends { readonly layer: Layer; readonly inShape: SampleShape; readonly outShape: SampleShape }>(node: N): N {
    return node.layer instanceof OneD ? { ...node, layer: node.layer.inner, inShape: OneD.as2d(node.inShape), outShape: OneD.as2d(node.outShape) } : node;
  }

  /** [C, L] (throws a ShapeError otherwise). */
  static as1d(input: SampleShape): readonly [number, number] {
    OneD.as2d(input);
    return input as readonly [number, number];
  }

  /** The inner layer's output for the [C, 1, L] view of `input`, as [C, L]. */
  protected innerShape(input: SampleShape): SampleShape {
    const inner = OneD.as2d(input);
    try {
      const [c, , l] = this.inner.outputShape(inner);
      return [c!, l!];
    } catch (e) {
      // The inner layer's words for the [C, 1, L] view, said of [C, L].
      if (e instanceof ShapeError) throw new ShapeError(e.message.replaceAll(`[${inner.join(', ')}]`, `[${input.join(', ')}]`));
      throw e;
    }
  }

  /** The 1-D layer's own checks of a [C, L] input, in 1-D words (before the inner layer's). */
  protected check1d(_input: readonly [number, number]): void {}
  override parameterSpecs(input: SampleShape): ParameterSpec[] {
    // A weight [out, in, 1, k] (Conv2d's) or [in, out, 1, k] (ConvTranspose2d's) is PyTorch's [·, ·, k].
    return this.inner.parameterSpecs(OneD.as2d(input)).map((p) => (p.shape.length === 4 ? { ...p, shape: [p.shape[0]!, p.shape[1]!, p.shape[3]!] } : p));
  }
  override bufferSpecs(input: SampleShape): BufferSpec[] {
    return this.inner.bufferSpecs(OneD.as2d(input));
  }
  override workspaceSpecs(input: SampleShape): WorkspaceSpec[] {
    return this.inner.workspaceSpecs(OneD.as2d(input));
  }
  lower(b: LayerBuild): LayerProgram {
    return this.inner.lower({ ...b, inShape: OneD.as2d(b.inShape), outShape: OneD.as2d(b.outShape) });
  }
}

/** A pooling window over a [C, L] input, or a ShapeError in 1-D words. */
function windowFits(kernel: number, dilation: number, padding: number, channels: number, length: number): void {
  const span = dilation * (kernel - 1) + 1;
  if (length + 2 * padding < span) throw new ShapeError(`a window of ${kernel}${dilation > 1 ? ` (dilation ${dilation}: a span of ${span})` : ''} with padding ${padding} does not fit a length-${length} input (input [${channels}, ${length}])`);
}

/** A 1-D size argument as a number (a 1-tuple taken), checked; `min` its least value. */
function single(owner: string, field: string, value: unknown, min: number): number {
  const v = Array.isArray(value) && value.length === 1 ? value[0] : value;
  if (Array.isArray(value) && value.length !== 1) throw new RangeError(`${owner}: ${field} must be a number (or a 1-tuple), got ${JSON.stringify(value)}`);
  return whole(owner, field, v, min);
}

/** The inner layer built, its messages naming the 1-D layer. */
function built<T>(owner: string, inner: string, make: () => T): T {
  try {
    return make();
  } catch (e) {
    if (e instanceof Error && e.message.startsWith(`${inner}: `)) throw new RangeError(`${owner}: ${e.message.slice(inner.length + 2)}`);
    throw e;
  }
}

export interface Conv1dOptions {
  readonly inChannels?: number;
  readonly outChannels: number;
  readonly kernelSize: Single;
  readonly stride?: Single;
  /** Zeros on each side, 'same' or 'valid'. */
  readonly padding?: Single | 'same' | 'valid';
  readonly dilation?: Single;
  readonly groups?: number;
  readonly bias?: boolean;
  /** 'zeros' (default), 'reflect', 'replicate' or 'circular', as Conv2d's. */
  readonly paddingMode?: ConvPaddingMode;
}
const CONV1D = ['inChannels', 'outChannels', 'kernelSize', 'stride', 'padding', 'dilation', 'groups', 'bias', 'paddingMode'] as const;

/**
 * nn.Conv1d: weight [out, in / groups, k]; PyTorch's positional order (in, out, kernel, stride,
 * padding, dilation, groups, bias, padding_mode). Its padding runs as a node of its own before it
 * (`paddingLayer`, path `<conv>:pad`, as a Conv2d's padding_mode) where the mode is not 'zeros', or
 * where that lets the conv run on the tiled kernels (dilation 1, groups 1): there the tiled
 * kernels' one padding for every side cannot be the (0, p) of a [C, 1, L] view, and a stride s
 * runs as (s, s), their one stride both ways (the view's one row unmoved by it).
 */
export class Conv1d extends OneD {
  readonly type = 'Conv1d';
  readonly inner: Conv2d;
  readonly kernelSize: number;
  readonly stride: number;
  readonly padding: number | 'same' | 'valid';
  readonly dilation: number;
  readonly paddingMode: ConvPaddingMode;
  /** Each side's padding (left, right): 'same' puts the odd one on the right, as PyTorch. */
  readonly pads: readonly [number, number];
  /** The padding run before the conv (path `<conv>:pad`), if any; the conv then pads nothing itself. */
  readonly paddingLayer?: Pad1d;

  constructor(options: Conv1dOptions);
  constructor(inChannels: number, outChannels: number, kernelSize: Single, ...rest: unknown[]);
  constructor(first: Conv1dOptions | number, ...rest: unknown[]) {
    super();
    const owner = 'Conv1d';
    if (typeof first !== 'number' && rest.length > 0) throw new RangeError(`${owner}: an options object takes no other arguments`);
    const o: Conv1dOptions = typeof first === 'number' ? positionalOptions<Conv1dOptions>(owner, [first, ...rest], [...CONV1D], [...CONV1D]) : checkOptions(owner, first, [...CONV1D]);
    this.kernelSize = single(owner, 'kernel_size', o.kernelSize, 1);
    this.stride = single(owner, 'stride', o.stride ?? 1, 1);
    this.dilation = single(owner, 'dilation', o.dilation ?? 1, 1);
    this.padding = o.padding === 'same' || o.padding === 'valid' ? o.padding : single(owner, 'padding', o.padding ?? 0, 0);
    if (this.padding === 'same' && this.stride !== 1) throw new RangeError(`${owner}: padding 'same' takes stride 1 (as PyTorch), got stride ${this.stride}`);
    const mode = o.paddingMode ?? 'zeros';
    if (!(['zeros', 'reflect', 'replicate', 'circular'] as const).includes(mode)) throw new RangeError(`${owner}: padding_mode must be one of PyTorch's ('zeros', 'reflect', 'replicate', 'circular'), got ${JSON.stringify(mode)}`);
    this.paddingMode = mode;
    const span = this.dilation * (this.kernelSize - 1);
    this.pads = this.padding === 'valid' ? [0, 0] : this.padding === 'same' ? [Math.floor(span / 2), span - Math.floor(span / 2)] : [this.padding, this.padding];
    const groups = o.groups ?? 1;
    const tileable = this.dilation === 1 && groups === 1 && this.kernelSize <= 144;
    if (this.pads[0] + this.pads[1] > 0 && (mode !== 'zeros' || tileable)) this.paddingLayer = new Pad1d(mode === 'zeros' ? 'constant' : mode, [...this.pads], { ofConv: true });
    const padding = this.paddingLayer ? 0 : this.padding;
    // A stride s as (s, s) where that runs the tiled kernels (one stride both ways): on the view's
    // one row, unpadded, with a kernel one row high, the height's stride moves nothing.
    const stride = tileable && (padding === 0 || padding === 'valid') ? [this.stride, this.stride] as const : [1, this.stride] as const;
    this.inner = built(owner, 'Conv2d', () =>
      new Conv2d({ inChannels: o.inChannels, outChannels: o.outChannels, kernelSize: [1, this.kernelSize], stride, padding: typeof padding === 'string' ? padding : [0, padding], dilation: [1, this.dilation], groups: o.groups, bias: o.bias }),
    );
  }

  /** The conv's output for its input, as PyTorch's (its padding applied first, as `paddingLayer` does in the plan). */
  override outputShape(input: SampleShape): SampleShape {
    this.check1d(OneD.as1d(input));
    return this.innerShape(this.paddingLayer ? this.paddingLayer.outputShape(input) : input);
  }
  protected override check1d([channels, length]: readonly [number, number]): void {
    const c = this.inner;
    const input = `input [${channels}, ${length}]`;
    if (c.inChannels !== undefined && channels !== c.inChannels) throw new ShapeError(`in_channels is ${c.inChannels} but the input has ${channels} channels (${input})`);
    if (channels % c.groups !== 0) throw new ShapeError(`in_channels must be divisible by groups (as PyTorch): the input has ${channels} channels, groups is ${c.groups} (${input})`);
    const span = this.dilation * (this.kernelSize - 1) + 1;
    const padded = length + this.pads[0] + this.pads[1];
    if (padded < span) throw new ShapeError(`a kernel of ${this.kernelSize}${this.dilation > 1 ? ` (dilation ${this.dilation}: a span of ${span})` : ''} with padding ${typeof this.padding === 'string' ? `'${this.padding}'` : this.padding} does not fit a length-${length} input (${input})`);
  }
  config() {
    const c = this.inner;
    return {
      in_channels: c.inChannels, out_channels: c.outChannels, kernel_size: this.kernelSize, stride: this.stride, padding: this.padding,
      ...(this.dilation !== 1 ? { dilation: this.dilation } : {}), ...(c.groups !== 1 ? { groups: c.groups } : {}), bias: c.bias,
      ...(this.paddingMode !== 'zeros' ? { padding_mode: this.paddingMode } : {}),
    };
  }
}

export interface ConvTranspose1dOptions {
  readonly inChannels?: number;
  readonly outChannels: number;
  readonly kernelSize: Single;
  readonly stride?: Single;
  readonly padding?: Single;
  readonly outputPadding?: Single;
  readonly groups?: number;
  readonly bias?: boolean;
  readonly dilation?: Single;
  readonly paddingMode?: 'zeros';
}
const CONVT1D = ['inChannels', 'outChannels', 'kernelSize', 'stride', 'padding', 'outputPadding', 'groups', 'bias', 'dilation', 'paddingMode'] as const;

/** nn.ConvTranspose1d: weight [in, out / groups, k]; PyTorch's positional order (in, out, kernel, stride, padding, output_padding, groups, bias, dilation). */
export class ConvTranspose1d extends OneD {
  readonly type = 'ConvTranspose1d';
  readonly inner: ConvTranspose2d;

  constructor(options: ConvTranspose1dOptions);
  constructor(inChannels: number, outChannels: number, kernelSize: Single, ...rest: unknown[]);
  constructor(first: ConvTranspose1dOptions | number, ...rest: unknown[]) {
    super();
    const owner = 'ConvTranspose1d';
    if (typeof first !== 'number' && rest.length > 0) throw new RangeError(`${owner}: an options object takes no other arguments`);
    const o: ConvTranspose1dOptions = typeof first === 'number' ? positionalOptions<ConvTranspose1dOptions>(owner, [first, ...rest], [...CONVT1D], [...CONVT1D]) : checkOptions(owner, first, [...CONVT1D]);
    const [k, s, p, op, d] = [single(owner, 'kernel_size', o.kernelSize, 1), single(owner, 'stride', o.stride ?? 1, 1), single(owner, 'padding', o.padding ?? 0, 0), single(owner, 'output_padding', o.outputPadding ?? 0, 0), single(owner, 'dilation', o.dilation ?? 1, 1)];
    // PyTorch: "output padding must be smaller than either stride or dilation".
    if (op >= Math.max(s, d)) throw new RangeError(`${owner}: output_padding must be smaller than either stride or dilation (as PyTorch), got output_padding ${op}, stride ${s}, dilation ${d}`);
    // A stride s as (s, s) where that runs the tiled kernels (no padding, dilation 1, groups 1): the
    // view's one row, a kernel one row high, stays one row at any stride.
    const stride = p === 0 && d === 1 && (o.groups ?? 1) === 1 ? [s, s] as const : [1, s] as const;
    this.inner = built(owner, 'ConvTranspose2d', () =>
      new ConvTranspose2d({ inChannels: o.inChannels, outChannels: o.outChannels, kernelSize: [1, k], stride, padding: [0, p], outputPadding: [0, op], groups: o.groups, bias: o.bias, dilation: [1, d], paddingMode: o.paddingMode }),
    );
  }
  protected override check1d([channels, length]: readonly [number, number]): void {
    const c = this.inner;
    const input = `input [${channels}, ${length}]`;
    if (c.inChannels !== undefined && channels !== c.inChannels) throw new ShapeError(`in_channels is ${c.inChannels} but the input has ${channels} channels (${input})`);
    if (channels % c.groups !== 0) throw new ShapeError(`in_channels must be divisible by groups (as PyTorch): the input has ${channels} channels, groups is ${c.groups} (${input})`);
    const out = (length - 1) * c.stride[1] - 2 * c.padding[1] + c.dilation[1] * (c.kernelSize[1] - 1) + c.outputPadding[1] + 1;
    if (out < 1) throw new ShapeError(`padding ${c.padding[1]} leaves no output of a length-${length} input (${out}; ${input})`);
  }
  config() {
    const c = this.inner;
    return {
      in_channels: c.inChannels, out_channels: c.outChannels, kernel_size: c.kernelSize[1], stride: c.stride[1], padding: c.padding[1],
      ...(c.outputPadding[1] !== 0 ? { output_padding: c.outputPadding[1] } : {}), ...(c.groups !== 1 ? { groups: c.groups } : {}), bias: c.bias, ...(c.dilation[1] !== 1 ? { dilation: c.dilation[1] } : {}),
    };
  }
}

/** nn.MaxPool1d(kernel_size, stride=kernel_size, padding=0, dilation=1, return_indices=False, ceil_mode=False). */
export class MaxPool1d extends OneD {
  readonly type = 'MaxPool1d';
  readonly inner: MaxPool2d;
  constructor(kernelSize: Single | { readonly kernelSize: Single; readonly stride?: Single | null; readonly padding?: Single; readonly dilation?: Single; readonly returnIndices?: boolean; readonly ceilMode?: boolean }, ...rest: unknown[]) {
    super();
    const owner = 'MaxPool1d';
    const known = ['kernelSize', 'stride', 'padding', 'dilation', 'returnIndices', 'ceilMode'] as const;
    const o = positionalOptions<{ kernelSize?: Single; stride?: Single | null; padding?: Single; dilation?: Single; returnIndices?: boolean; ceilMode?: boolean }>(owner, [kernelSize, ...rest], [...known], [...known]);
    const k = single(owner, 'kernel_size', o.kernelSize, 1);
    const s = o.stride === undefined || o.stride === null ? k : single(owner, 'stride', o.stride, 1);
    this.inner = built(owner, 'MaxPool2d', () =>
      new MaxPool2d({ kernelSize: [1, k], stride: [1, s], padding: [0, single(owner, 'padding', o.padding ?? 0, 0)], dilation: [1, single(owner, 'dilation', o.dilation ?? 1, 1)], returnIndices: o.returnIndices, ceilMode: o.ceilMode }),
    );
  }
  protected override check1d([channels, length]: readonly [number, number]): void {
    windowFits(this.inner.kernelSize[1], this.inner.dilation[1], this.inner.padding[1], channels, length);
  }
  config() {
    const m = this.inner;
    return { kernel_size: m.kernelSize[1], stride: m.stride[1], padding: m.padding[1], dilation: m.dilation[1], ceil_mode: m.ceilMode };
  }
}

/** nn.AvgPool1d(kernel_size, stride=kernel_size, padding=0, ceil_mode=False, count_include_pad=True). */
export class AvgPool1d extends OneD {
  readonly type = 'AvgPool1d';
  readonly inner: AvgPool2d;
  constructor(kernelSize: Single | { readonly kernelSize: Single; readonly stride?: Single | null; readonly padding?: Single; readonly ceilMode?: boolean; readonly countIncludePad?: boolean }, ...rest: unknown[]) {
    super();
    const owner = 'AvgPool1d';
    const known = ['kernelSize', 'stride', 'padding', 'ceilMode', 'countIncludePad'] as const;
    const o = positionalOptions<{ kernelSize?: Single; stride?: Single | null; padding?: Single; ceilMode?: boolean; countIncludePad?: boolean }>(owner, [kernelSize, ...rest], [...known], [...known]);
    const k = single(owner, 'kernel_size', o.kernelSize, 1);
    const s = o.stride === undefined || o.stride === null ? k : single(owner, 'stride', o.stride, 1);
    this.inner = built(owner, 'AvgPool2d', () =>
      new AvgPool2d({ kernelSize: [1, k], stride: [1, s], padding: [0, single(owner, 'padding', o.padding ?? 0, 0)], ceilMode: o.ceilMode, countIncludePad: o.countIncludePad }),
    );
  }
  protected override check1d([channels, length]: readonly [number, number]): void {
    windowFits(this.inner.kernelSize![1], 1, this.inner.padding[1], channels, length);
  }
  config() {
    const m = this.inner;
    return { kernel_size: m.kernelSize![1], stride: m.stride![1], padding: m.padding[1], ceil_mode: m.ceilMode, count_include_pad: m.countIncludePad };
  }
}

/** nn.AdaptiveAvgPool1d(output_size). */
export class AdaptiveAvgPool1d extends OneD {
  readonly type = 'AdaptiveAvgPool1d';
  readonly inner: AdaptiveAvgPool2d;
  readonly outputSize: number;
  constructor(outputSize: Single | { readonly outputSize: Single }) {
    super();
    const v = typeof outputSize === 'object' && !Array.isArray(outputSize) ? checkOptions('AdaptiveAvgPool1d', outputSize as { outputSize: Single }, ['outputSize']).outputSize : outputSize;
    this.outputSize = single('AdaptiveAvgPool1d', 'output_size', v, 1);
    this.inner = new AdaptiveAvgPool2d([1, this.outputSize]);
  }
  config() {
    return { output_size: this.outputSize };
  }
}

/** nn.AdaptiveMaxPool1d(output_size, return_indices=False). */
export class AdaptiveMaxPool1d extends OneD {
  readonly type = 'AdaptiveMaxPool1d';
  readonly inner: AdaptiveMaxPool2d;
  readonly outputSize: number;
  constructor(outputSize: Single | { readonly outputSize: Single; readonly returnIndices?: boolean }, returnIndices?: boolean) {
    super();
    const owner = 'AdaptiveMaxPool1d';
    const o = typeof outputSize === 'object' && !Array.isArray(outputSize) ? checkOptions(owner, outputSize as { outputSize: Single; returnIndices?: boolean }, ['outputSize', 'returnIndices']) : { outputSize, returnIndices };
    this.outputSize = single(owner, 'output_size', o.outputSize, 1);
    if (trueOrFalse(owner, 'return_indices', o.returnIndices, false)) throw new RangeError(`${owner}: return_indices true is not supported (the layer has one output; the indices stay inside it)`);
    this.inner = new AdaptiveMaxPool2d([1, this.outputSize]);
  }
  config() {
    return { output_size: this.outputSize };
  }
}

/** The 1-D padding layers' PyTorch names, by mode. */
const PAD1D_TYPES = { constant: 'ConstantPad1d', reflect: 'ReflectionPad1d', replicate: 'ReplicationPad1d', circular: 'CircularPad1d' } as const;

/**
 * A padding of a [C, L] sample's length in one mode (Pad2d on the [C, 1, L] view, (left, right)):
 * the engine's 1-D padding layer, of which PyTorch's ZeroPad1d, ConstantPad1d, ReflectionPad1d,
 * ReplicationPad1d and CircularPad1d are the named forms, and a Conv1d's padding node.
 */
export class Pad1d extends OneD {
  readonly type: 'ZeroPad1d' | (typeof PAD1D_TYPES)[PadMode];
  readonly inner: Pad2d;
  /** (left, right), as PyTorch's `padding` attribute. */
  readonly padding: readonly [number, number];

  constructor(mode: PadMode, padding: unknown, options: { value?: unknown; zero?: boolean; ofConv?: boolean } = {}) {
    super();
    const owner = options.zero ? 'ZeroPad1d' : PAD1D_TYPES[mode] ?? 'Pad1d';
    const sides = typeof padding === 'number' ? [padding, padding] : padding;
    if (!Array.isArray(sides) || sides.length !== 2 || !sides.every((v) => typeof v === 'number' && Number.isInteger(v))) {
      throw new RangeError(`${owner}: padding must be a whole number or two, (left, right) as PyTorch's, got ${JSON.stringify(padding)}`);
    }
    this.padding = sides as [number, number];
    try {
      this.inner = new Pad2d(mode, [sides[0], sides[1], 0, 0], options);
    } catch (e) {
      // The inner layer's words, said of the 1-D layer.
      throw e instanceof RangeError ? new RangeError(e.message.replace(/^\w*Pad2d: /, `${owner}: `)) : e;
    }
    this.type = owner as Pad1d['type'];
  }

  /** A Conv1d's padding_mode (its path is the conv's with `:pad`): left out of summaries. */
  get ofConv(): boolean {
    return this.inner.ofConv;
  }

  config() {
    const [l, r] = this.padding;
    const padding = l === r ? l : [l, r];
    return this.type === 'ConstantPad1d' ? { padding, value: this.inner.value } : { padding };
  }
}

/** Each side's count, (left, right), or one number for both. */
export type Padding1d = number | readonly [number, number];

/** nn.ZeroPad1d(padding) (PyTorch ≥ 2.1): zeros on each side of the length (a negative count crops). */
export class ZeroPad1d extends Pad1d {
  constructor(padding: Padding1d | { padding: Padding1d });
  constructor(...args: unknown[]) {
    super('constant', paddingArgs('ZeroPad1d', args, false, 1).padding, { zero: true });
  }
}

/** nn.ConstantPad1d(padding, value). */
export class ConstantPad1d extends Pad1d {
  constructor(padding: Padding1d, value: number);
  constructor(options: { padding: Padding1d; value: number });
  constructor(...args: unknown[]) {
    const { padding, value } = paddingArgs('ConstantPad1d', args, true, 1);
    super('constant', padding, { value });
  }
}

/** nn.ReflectionPad1d(padding). */
export class ReflectionPad1d extends Pad1d {
  constructor(padding: Padding1d | { padding: Padding1d });
  constructor(...args: unknown[]) {
    super('reflect', paddingArgs('ReflectionPad1d', args, false, 1).padding);
  }
}

/** nn.ReplicationPad1d(padding). */
export class ReplicationPad1d extends Pad1d {
  constructor(padding: Padding1d | { padding: Padding1d });
  constructor(...args: unknown[]) {
    super('replicate', paddingArgs('ReplicationPad1d', args, false, 1).padding);
  }
}

/** nn.CircularPad1d(padding) (PyTorch ≥ 2.1). */
export class CircularPad1d extends Pad1d {
  constructor(padding: Padding1d | { padding: Padding1d });
  constructor(...args: unknown[]) {
    super('circular', paddingArgs('CircularPad1d', args, false, 1).padding);
  }
}
