/**
 * Pooling, PyTorch's MaxPool2d and AvgPool2d with all their window options (kernel_size, stride,
 * padding, dilation, ceil_mode; count_include_pad, divisor_override): ties go to the first maximum
 * in row-major window order, NaN propagates. Two shapes have kernels of their own, fast and
 * fusable: MaxPool2d(2, 2) (stored by the conv before it, maxpool-epilogue) and an AvgPool2d over
 * the whole map (global average pooling, as the seed CNN's `nn.AvgPool2d(kernel_size=6)` on a 6×6
 * map); any other window runs the pool2d kernels. Kernels: src/kernels/pooling.ts.
 */
import { globalAvgPoolBackward, globalAvgPoolForward, globalAvgPoolSpread, maxpool2x2Backward, maxpool2x2Forward, maxpoolVariant, pool2dBackward, pool2dForward } from '../kernels/pooling.js';
import type { Tensor } from '../gpu/tensor.js';
import { Layer, ShapeError, compact, pair, perBatch, trueOrFalse, whole, type Pair, type LayerBuild, type LayerProgram, type SampleShape, type WorkspaceSpec, positionalOptions } from './layer.js';

export type { Pair } from './layer.js';

const chw = (input: SampleShape) => {
  if (input.length !== 3) throw new ShapeError(`expects an input of shape [C, H, W], got [${input.join(', ')}]`);
  return input as readonly [number, number, number];
};

/**
 * PyTorch's pooling output size (pooling_output_shape): ⌊(size + 2·pad − dilation·(kernel − 1) −
 * 1) / stride⌋ + 1; with ceil_mode rounded up, less one where the last window would start past the
 * input and its left padding.
 */
function outputSize(size: number, kernel: number, stride: number, pad: number, dilation: number, ceilMode: boolean): number {
  const span = size + 2 * pad - dilation * (kernel - 1) - 1;
  let out = Math.floor((span + (ceilMode ? stride - 1 : 0)) / stride) + 1;
  if (ceilMode && (out - 1) * stride >= size + pad) out--;
  return out;
}

/** A window's parameters, checked as PyTorch's pooling checks them. */
interface Window {
  readonly kernel: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number];
  readonly dilation: [number, number];
  readonly ceilMode: boolean;
}

function checkWindow(owner: string, w: Window): Window {
  for (const side of [0, 1]) {
    // PyTorch: "pad should be at most half of effective kernel size" (of kernel_size, in fact).
    if (w.padding[side]! > Math.floor(w.kernel[side]! / 2)) {
      throw new RangeError(`${owner}: padding ${w.padding[side]} is more than half of kernel_size ${w.kernel[side]} (as PyTorch refuses: "pad should be at most half of effective kernel size")`);
    }
  }
  return w;
}

/** The output map of a window over the input, or a ShapeError naming what does not fit. */
function pooledShape(w: Window, input: SampleShape): [number, number, number] {
  const [c, h, ww] = chw(input);
  const outH = outputSize(h, w.kernel[0], w.stride[0], w.padding[0], w.dilation[0], w.ceilMode);
  const outW = outputSize(ww, w.kernel[1], w.stride[1], w.padding[1], w.dilation[1], w.ceilMode);
  const window = `a ${w.kernel.join('×')} window${w.dilation[0] * w.dilation[1] > 1 ? ` (dilation ${w.dilation.join('×')})` : ''} with padding ${w.padding.join('×')}`;
  if (outH < 1 || outW < 1) throw new ShapeError(`${window} does not fit the ${h}×${ww} input [${input.join(', ')}] (output ${outH}×${outW})`);
  // With dilation a window's taps can step over a small input: a window of padding alone, whose
  // maximum has no element (PyTorch indexes past the plane there, and its backward corrupts memory).
  const [row, col] = [paddingOnly(h, outH, w.kernel[0], w.stride[0], w.padding[0], w.dilation[0]), paddingOnly(ww, outW, w.kernel[1], w.stride[1], w.padding[1], w.dilation[1])];
  if (row !== undefined || col !== undefined) {
    throw new ShapeError(`${window} over the ${h}×${ww} input [${input.join(', ')}]: the window at output ${row !== undefined ? `row ${row}` : `column ${col}`} holds padding only, no element of the input`);
  }
  return [c, outH, outW];
}

/** The first output along one axis whose taps all fall outside the input (padding only), or undefined. */
function paddingOnly(size: number, outputs: number, kernel: number, stride: number, pad: number, dilation: number): number | undefined {
  for (let o = 0; o < outputs; o++) {
    const start = o * stride - pad;
    const first = Math.max(0, Math.ceil(-start / dilation));
    if (first >= kernel || start + first * dilation >= size) return o;
  }
  return undefined;
}

/** pool2d's parameters for a window at a batch (planes = batch · channels). */
function poolParams(w: Window, inShape: SampleShape, outShape: SampleShape, batch: number, average?: { countIncludePad: boolean; divisorOverride?: number }) {
  const [channels, height, width] = inShape as [number, number, number];
  return {
    planes: batch * channels, height, width, outH: outShape[1]!, outW: outShape[2]!,
    kernelH: w.kernel[0], kernelW: w.kernel[1], strideH: w.stride[0], strideW: w.stride[1], padH: w.padding[0], padW: w.padding[1],
    dilationH: w.dilation[0], dilationW: w.dilation[1], divisorOverride: average?.divisorOverride ?? 0, countIncludePad: average?.countIncludePad === false ? 0 : 1,
  };
}

export interface MaxPool2dOptions {
  readonly kernelSize?: Pair;
  /** Default (or null, PyTorch's None): kernelSize. */
  readonly stride?: Pair | null;
  readonly padding?: Pair;
  readonly dilation?: Pair;
  /** PyTorch's return_indices: refused when true (the layer has one output). */
  readonly returnIndices?: boolean;
  readonly ceilMode?: boolean;
}

export class MaxPool2d extends Layer {
  readonly type = 'MaxPool2d';
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number];
  readonly dilation: [number, number];
  readonly ceilMode: boolean;

  /**
   * PyTorch's arguments, positional or as options: `new MaxPool2d(2)`, `new MaxPool2d(3, 2, 1)`,
   * `new MaxPool2d(2, 2, 0, 1, false, true)` (kernel_size, stride, padding, dilation,
   * return_indices, ceil_mode), `new MaxPool2d({ kernelSize: 3, stride: 2, padding: 1 })`; a size
   * is a number or (height, width).
   */
  constructor(options?: MaxPool2dOptions);
  constructor(kernelSize?: Pair, stride?: Pair | null, padding?: Pair, dilation?: Pair, returnIndices?: boolean, ceilMode?: boolean);
  constructor(...args: unknown[]) {
    super();
    const known = ['kernelSize', 'stride', 'padding', 'dilation', 'returnIndices', 'ceilMode'] as const;
    const o = positionalOptions<MaxPool2dOptions>('MaxPool2d', args, [...known], [...known]);
    if (trueOrFalse('MaxPool2d', 'return_indices', o.returnIndices, false)) throw new RangeError('MaxPool2d: return_indices true is not supported (the layer has one output; the indices stay inside it)');
    this.kernelSize = pair('MaxPool2d', 'kernel_size', o.kernelSize ?? 2, 1);
    this.stride = o.stride === undefined || o.stride === null ? [...this.kernelSize] : pair('MaxPool2d', 'stride', o.stride, 1);
    this.padding = pair('MaxPool2d', 'padding', o.padding ?? 0, 0);
    this.dilation = pair('MaxPool2d', 'dilation', o.dilation ?? 1, 1);
    this.ceilMode = trueOrFalse('MaxPool2d', 'ceil_mode', o.ceilMode, false);
    checkWindow('MaxPool2d', this.window);
  }

  private get window(): Window {
    return { kernel: this.kernelSize, stride: this.stride, padding: this.padding, dilation: this.dilation, ceilMode: this.ceilMode };
  }

  /**
   * The 2×2 window of stride 2 (floor mode, no padding or dilation): its own kernels, which the
   * conv before it may run (maxpool-epilogue) and whose backward applies a ReLU's gradient
   * (relu-grad-in-maxpool). Any other window runs the pool2d kernels, unfused.
   */
  get twoByTwo(): boolean {
    const is = (p: readonly [number, number], v: number) => p[0] === v && p[1] === v;
    return is(this.kernelSize, 2) && is(this.stride, 2) && is(this.padding, 0) && is(this.dilation, 1) && !this.ceilMode;
  }

  outputShape(input: SampleShape): SampleShape {
    return pooledShape(this.window, input);
  }

  override workspaceSpecs(input: SampleShape): WorkspaceSpec[] {
    return [{ name: 'argmax', shape: this.outputShape(input), dtype: 'u32' }];
  }

  config() {
    return {
      kernel_size: compact(this.kernelSize),
      stride: compact(this.stride),
      ...(this.padding.some((v) => v !== 0) ? { padding: compact(this.padding) } : {}),
      ...(this.dilation.some((v) => v !== 1) ? { dilation: compact(this.dilation) } : {}),
      ...(this.ceilMode ? { ceil_mode: true } : {}),
    };
  }

  lower(b: LayerBuild): LayerProgram {
    return this.twoByTwo ? this.lowerTwoByTwo(b) : this.lowerWindow(b);
  }

  /** Any window: pool2d's MAX variant, forward and gathered backward. */
  private lowerWindow(b: LayerBuild): LayerProgram {
    const { ctx, path, input, output, dOutput, dInput } = b;
    const argmax = b.workspace.argmax as Tensor<'u32'>;
    const params = (batch: number) => poolParams(this.window, b.inShape, this.outputShape(b.inShape), batch);
    const forward = perBatch(async (batch) => [(await ctx.compile(pool2dForward, { MAX: true })).bind({ x: input, y: output, argmax }, params(batch), `${path} maxpool forward`)]);
    const backward = perBatch(async (batch) =>
      !dOutput || !dInput ? [] : [(await ctx.compile(pool2dBackward, { MAX: true })).bind({ dy: dOutput, dx: dInput, argmax }, params(batch), `${path} maxpool backward`)],
    );
    return { forward: (batch) => forward(batch), backward };
  }

  private lowerTwoByTwo(b: LayerBuild): LayerProgram {
    const { ctx, path, input, output, dOutput, dInput } = b;
    const argmax = b.workspace.argmax as Tensor<'u32'>;
    const [channels, height, width] = b.inShape as [number, number, number];
    const p = (batch: number) => ({ planes: batch * channels, height, width });
    // VEC4 where the shape allows it (it depends on the plane, not the batch).
    const variant = maxpoolVariant(p(1));
    // Stored by the conv before it (maxpool-epilogue): no pass of its own.
    const forward = perBatch(async (batch) => (b.fusion.forwardByPrevious ? [] : [(await ctx.compile(maxpool2x2Forward, variant)).bind({ x: input, y: output, argmax }, p(batch), `${path} maxpool forward`)]));
    // The ReLU before it (relu-grad-in-maxpool): its gradient applied here, from the pooled values' signs.
    const relu = b.fusion.reluInput === true;
    // Folded into the conv before it (backwardByPrevious: Conv2d.foldsPoolBackward): no pass of its own.
    const backward = perBatch(async (batch) =>
      !dOutput || !dInput || b.fusion.backwardByPrevious
        ? []
        : [
            (await ctx.compile(maxpool2x2Backward, { ...variant, RELU: relu })).bind(
              { dy: dOutput, argmax, dx: dInput, ...(relu ? { y: output } : {}) },
              p(batch),
              relu ? `${path} maxpool and relu backward` : `${path} maxpool backward`,
            ),
          ],
    );
    return { forward: (batch) => forward(batch), backward };
  }
}

export interface AvgPool2dOptions {
  /** Undefined: the whole map, whatever its size (global average pooling). */
  readonly kernelSize?: Pair;
  /** Default (or null, PyTorch's None): kernelSize. */
  readonly stride?: Pair | null;
  readonly padding?: Pair;
  readonly ceilMode?: boolean;
  /** Divide by the window's size within the padded input (default, PyTorch's) or by its taps inside the input. */
  readonly countIncludePad?: boolean;
  /** Divide by this instead (PyTorch's divisor_override; null: None). */
  readonly divisorOverride?: number | null;
}

export class AvgPool2d extends Layer {
  readonly type = 'AvgPool2d';
  /** undefined: the whole map, whatever its size (global average pooling). */
  readonly kernelSize?: [number, number];
  readonly stride?: [number, number];
  readonly padding: [number, number];
  readonly ceilMode: boolean;
  readonly countIncludePad: boolean;
  readonly divisorOverride?: number;

  /**
   * PyTorch's arguments, positional or as options: `new AvgPool2d(6)`, `new AvgPool2d(3, 2, 1)`,
   * `new AvgPool2d(2, 2, 0, true, false)` (kernel_size, stride, padding, ceil_mode,
   * count_include_pad, divisor_override), `new AvgPool2d({ kernelSize: 3, stride: 2 })`;
   * `new AvgPool2d()`: the whole map (global average pooling).
   */
  constructor(options?: AvgPool2dOptions);
  constructor(kernelSize?: Pair, stride?: Pair | null, padding?: Pair, ceilMode?: boolean, countIncludePad?: boolean, divisorOverride?: number | null);
  constructor(...args: unknown[]) {
    super();
    const known = ['kernelSize', 'stride', 'padding', 'ceilMode', 'countIncludePad', 'divisorOverride'] as const;
    const o = positionalOptions<AvgPool2dOptions>('AvgPool2d', args, [...known], [...known]);
    this.kernelSize = o.kernelSize === undefined ? undefined : pair('AvgPool2d', 'kernel_size', o.kernelSize, 1);
    this.stride = o.stride === undefined || o.stride === null ? this.kernelSize && [...this.kernelSize] : pair('AvgPool2d', 'stride', o.stride, 1);
    this.padding = pair('AvgPool2d', 'padding', o.padding ?? 0, 0);
    this.ceilMode = trueOrFalse('AvgPool2d', 'ceil_mode', o.ceilMode, false);
    this.countIncludePad = trueOrFalse('AvgPool2d', 'count_include_pad', o.countIncludePad, true);
    this.divisorOverride = o.divisorOverride === undefined || o.divisorOverride === null ? undefined : whole('AvgPool2d', 'divisor_override', o.divisorOverride);
    if (this.kernelSize === undefined) {
      const given = (['stride', 'padding', 'ceilMode', 'countIncludePad', 'divisorOverride'] as const).find((k) => o[k] !== undefined && o[k] !== null);
      if (given) throw new RangeError(`AvgPool2d: ${given} without a kernel_size (no kernel_size is the whole map: global average pooling)`);
    } else {
      checkWindow('AvgPool2d', this.window!);
    }
  }

  private get window(): Window | undefined {
    return this.kernelSize && { kernel: this.kernelSize, stride: this.stride!, padding: this.padding, dilation: [1, 1], ceilMode: this.ceilMode };
  }

  /** Whether at this input it is global average pooling (its own kernel): no kernel_size, or the whole map without padding or divisor_override. */
  global(input: SampleShape): boolean {
    if (this.kernelSize === undefined) return true;
    const [, h, w] = chw(input);
    return this.kernelSize[0] === h && this.kernelSize[1] === w && this.padding[0] === 0 && this.padding[1] === 0 && this.divisorOverride === undefined;
  }

  outputShape(input: SampleShape): SampleShape {
    if (this.global(input)) return [chw(input)[0], 1, 1];
    return pooledShape(this.window!, input);
  }

  config() {
    if (!this.kernelSize) return { kernel_size: undefined };
    return {
      kernel_size: compact(this.kernelSize),
      ...(this.stride![0] !== this.kernelSize[0] || this.stride![1] !== this.kernelSize[1] ? { stride: compact(this.stride!) } : {}),
      ...(this.padding.some((v) => v !== 0) ? { padding: compact(this.padding) } : {}),
      ...(this.ceilMode ? { ceil_mode: true } : {}),
      ...(!this.countIncludePad ? { count_include_pad: false } : {}),
      ...(this.divisorOverride !== undefined ? { divisor_override: this.divisorOverride } : {}),
    };
  }

  lower(b: LayerBuild): LayerProgram {
    const { ctx, path, input, output, dOutput, dInput } = b;
    const [channels, height, width] = b.inShape as [number, number, number];
    if (!this.global(b.inShape)) {
      const average = { countIncludePad: this.countIncludePad, divisorOverride: this.divisorOverride };
      const params = (batch: number) => poolParams(this.window!, b.inShape, this.outputShape(b.inShape), batch, average);
      const forward = perBatch(async (batch) => [(await ctx.compile(pool2dForward)).bind({ x: input, y: output }, params(batch), `${path} avgpool forward`)]);
      const backward = perBatch(async (batch) => (!dOutput || !dInput ? [] : [(await ctx.compile(pool2dBackward)).bind({ dy: dOutput, dx: dInput }, params(batch), `${path} avgpool backward`)]));
      return { forward: (batch) => forward(batch), backward };
    }
    const p = (batch: number) => ({ planes: batch * channels, area: height * width });
    const forward = perBatch(async (batch) => [(await ctx.compile(globalAvgPoolForward)).bind({ x: input, y: output }, p(batch), `${path} avgpool forward`)]);
    const backward = perBatch(async (batch) =>
      !dOutput || !dInput ? [] : [(await ctx.compile(globalAvgPoolBackward)).bind({ dy: dOutput, dx: dInput }, { ...p(batch), spread: globalAvgPoolSpread(ctx.adapter, height * width) }, `${path} avgpool backward`)],
    );
    return { forward: (batch) => forward(batch), backward };
  }
}

/** PyTorch's output_size: one number for both sides, or (height, width), either null (None: the input's size there). */
export type AdaptiveSize = number | readonly [number | null, number | null];

/** An output_size as (height, width), each a whole number ≥ 1 or null. */
function adaptiveSize(owner: string, value: unknown): [number | null, number | null] {
  if (Array.isArray(value)) {
    if (value.length !== 2) throw new RangeError(`${owner}: output_size must be a number or two (height, width), got ${JSON.stringify(value)}`);
    return [value[0] === null ? null : whole(owner, 'output_size', value[0]), value[1] === null ? null : whole(owner, 'output_size', value[1])];
  }
  if (value === undefined) throw new RangeError(`${owner}: output_size is required (as PyTorch's), e.g. ${owner}(1) or ${owner}([7, 7])`);
  const v = whole(owner, 'output_size', value);
  return [v, v];
}

/**
 * PyTorch's adaptive pooling: output (oy, ox)'s window is rows ⌊oy·H/outH⌋ … ⌈(oy + 1)·H/outH⌉ − 1
 * and the columns likewise (windows may overlap, and hold one element where the output is larger
 * than the input). pool2d's ADAPTIVE variant.
 */
abstract class AdaptivePool2d extends Layer {
  readonly outputSize: readonly [number | null, number | null];

  constructor(owner: string, outputSize: unknown) {
    super();
    this.outputSize = adaptiveSize(owner, outputSize);
  }

  outputShape(input: SampleShape): SampleShape {
    const [c, h, w] = chw(input);
    const [outH, outW] = [this.outputSize[0] ?? h, this.outputSize[1] ?? w];
    // The kernels cut the windows in 32-bit arithmetic (o·size, (o + 1)·size).
    if ((outH + 1) * h >= 2 ** 32 || (outW + 1) * w >= 2 ** 32) {
      throw new ShapeError(`an output of ${outH}×${outW} from the ${h}×${w} input [${input.join(', ')}]: its windows' arithmetic ((output + 1) × input) passes 2³², beyond the kernels' 32-bit window bounds`);
    }
    return [c, outH, outW];
  }

  config(): Record<string, unknown> {
    const [h, w] = this.outputSize;
    return { output_size: h === w && h !== null ? h : [h, w] };
  }

  /** pool2d's parameters: the sizes only (the window parameters are not read by ADAPTIVE). */
  protected params(inShape: SampleShape, batch: number) {
    const [channels, height, width] = inShape as [number, number, number];
    const [, outH, outW] = this.outputShape(inShape) as [number, number, number];
    return { planes: batch * channels, height, width, outH, outW, kernelH: 1, kernelW: 1, strideH: 1, strideW: 1, padH: 0, padW: 0, dilationH: 1, dilationW: 1, divisorOverride: 0, countIncludePad: 1 };
  }
}

/** PyTorch's nn.AdaptiveAvgPool2d(output_size); an output of 1×1 is global average pooling (its own kernel). */
export class AdaptiveAvgPool2d extends AdaptivePool2d {
  readonly type = 'AdaptiveAvgPool2d';

  /** `new AdaptiveAvgPool2d(1)`, `new AdaptiveAvgPool2d([7, 7])`, `new AdaptiveAvgPool2d([null, 1])` or `new AdaptiveAvgPool2d({ outputSize: 1 })`. */
  constructor(outputSize?: AdaptiveSize | { readonly outputSize?: AdaptiveSize });
  constructor(...args: unknown[]) {
    const o = positionalOptions<{ outputSize?: AdaptiveSize }>('AdaptiveAvgPool2d', args, ['outputSize'], ['outputSize']);
    super('AdaptiveAvgPool2d', o.outputSize);
  }

  /** Whether at this input it is global average pooling: a 1×1 output. */
  global(input: SampleShape): boolean {
    const [, h, w] = this.outputShape(input);
    return h === 1 && w === 1;
  }

  lower(b: LayerBuild): LayerProgram {
    const { ctx, path, input, output, dOutput, dInput } = b;
    if (this.global(b.inShape)) {
      const [channels, height, width] = b.inShape as [number, number, number];
      const p = (batch: number) => ({ planes: batch * channels, area: height * width });
      const forward = perBatch(async (batch) => [(await ctx.compile(globalAvgPoolForward)).bind({ x: input, y: output }, p(batch), `${path} avgpool forward`)]);
      const backward = perBatch(async (batch) => (!dOutput || !dInput ? [] : [(await ctx.compile(globalAvgPoolBackward)).bind({ dy: dOutput, dx: dInput }, { ...p(batch), spread: globalAvgPoolSpread(ctx.adapter, height * width) }, `${path} avgpool backward`)]));
      return { forward: (batch) => forward(batch), backward };
    }
    const forward = perBatch(async (batch) => [(await ctx.compile(pool2dForward, { ADAPTIVE: true })).bind({ x: input, y: output }, this.params(b.inShape, batch), `${path} adaptive avgpool forward`)]);
    const backward = perBatch(async (batch) =>
      !dOutput || !dInput ? [] : [(await ctx.compile(pool2dBackward, { ADAPTIVE: true })).bind({ dy: dOutput, dx: dInput }, this.params(b.inShape, batch), `${path} adaptive avgpool backward`)],
    );
    return { forward: (batch) => forward(batch), backward };
  }
}

/** PyTorch's nn.AdaptiveMaxPool2d(output_size, return_indices=False). */
export class AdaptiveMaxPool2d extends AdaptivePool2d {
  readonly type = 'AdaptiveMaxPool2d';

  /** `new AdaptiveMaxPool2d(1)`, `new AdaptiveMaxPool2d([4, 4])`, `new AdaptiveMaxPool2d({ outputSize: [null, 2] })`. */
  constructor(outputSize?: AdaptiveSize | { readonly outputSize?: AdaptiveSize; readonly returnIndices?: boolean }, returnIndices?: boolean);
  constructor(...args: unknown[]) {
    const o = positionalOptions<{ outputSize?: AdaptiveSize; returnIndices?: boolean }>('AdaptiveMaxPool2d', args, ['outputSize', 'returnIndices'], ['outputSize', 'returnIndices']);
    super('AdaptiveMaxPool2d', o.outputSize);
    if (trueOrFalse('AdaptiveMaxPool2d', 'return_indices', o.returnIndices, false)) throw new RangeError('AdaptiveMaxPool2d: return_indices true is not supported (the layer has one output; the indices stay inside it)');
  }

  override workspaceSpecs(input: SampleShape): WorkspaceSpec[] {
    return [{ name: 'argmax', shape: this.outputShape(input), dtype: 'u32' }];
  }

  lower(b: LayerBuild): LayerProgram {
    const { ctx, path, input, output, dOutput, dInput } = b;
    const argmax = b.workspace.argmax as Tensor<'u32'>;
    const variant = { MAX: true, ADAPTIVE: true };
    const forward = perBatch(async (batch) => [(await ctx.compile(pool2dForward, variant)).bind({ x: input, y: output, argmax }, this.params(b.inShape, batch), `${path} adaptive maxpool forward`)]);
    const backward = perBatch(async (batch) =>
      !dOutput || !dInput ? [] : [(await ctx.compile(pool2dBackward, variant)).bind({ dy: dOutput, dx: dInput, argmax }, this.params(b.inShape, batch), `${path} adaptive maxpool backward`)],
    );
    return { forward: (batch) => forward(batch), backward };
  }
}
