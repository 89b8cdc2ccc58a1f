/**
 * ConvTranspose2d (PyTorch's nn.ConvTranspose2d): the gradient of a Conv2d with respect to its
 * input, as a layer — a decoder's upsampling. Weight [in, out / groups, kH, kW], optional bias;
 * stride, padding, output_padding, groups and dilation as PyTorch's (padding_mode 'zeros' only, as
 * PyTorch). It runs on conv kernels with their roles turned round: the conv whose input gradient
 * it is maps [out, H', W'] to [in, H, W] with this layer's weight as its own, so the forward is
 * that conv's input gradient (then bias_add), the input gradient that conv's forward, and the
 * weight gradient that conv's weight gradient with this layer's output gradient as the conv's
 * input. Where that conv is one the tiled kernels take (`tiled`: groups 1, dilation 1, one stride
 * and one padding both ways, at most 144 taps) they run it, its weights packed and its partial
 * sums reduced with the conv layers', its tiles tuned as its conv's (src/tune/tuner.ts's
 * tiledKernelsOf); any other geometry runs the direct kernels of src/kernels/conv2d-general.ts.
 * Unfused. CPU reference: the same three functions of src/reference/conv2d.ts (src/reference/network.ts).
 */
import { biasAdd, biasAddVariant, biasBackward } from '../kernels/bias.js';
import { conv2dGeneralBackwardInput, conv2dGeneralBackwardWeight, conv2dGeneralForward, conv2dGeneralForwardVariant, conv2dGeneralInputVariant, conv2dGeneralParams, conv2dGeneralWeightVariant, type Conv2dGeneralParams } from '../kernels/conv2d-general.js';
import {
  allocateConvPacked,
  bindConv2d,
  conv2dBackwardWeightKernel,
  conv2dPackJobs,
  conv2dParams,
  conv2dWeightParams,
  conv2dWeightSplits,
  conv2dWeightVariant,
  defaultConvTile,
  defaultWeightTile,
  weightTileFits,
  weightTileWithin,
  MAX_KERNEL_AREA,
  type ConvDirection,
} from '../kernels/conv2d.js';
import type { Dispatch } from '../gpu/context.js';
import type { Conv2dGeometry } from '../reference/conv2d.js';
import { Layer, ShapeError, checkOptions, compact, pair, pairWords, perBatch, positionalOptions, shapeSize, trueOrFalse, whole, type LayerBuild, type LayerProgram, type Pair, type ParameterSpec, type SampleShape } from './layer.js';

export interface ConvTranspose2dOptions {
  /** Inferred from the input when left out; checked when given. */
  readonly inChannels?: number;
  readonly outChannels: number;
  readonly kernelSize: Pair;
  /** Default 1. */
  readonly stride?: Pair;
  /** dilation·(kernel − 1) − padding zeros around the input, as PyTorch's: a number or (height, width). Default 0. */
  readonly padding?: Pair;
  /** Rows and columns added to one side of the output (each below the stride or the dilation, as PyTorch requires). Default 0. */
  readonly outputPadding?: Pair;
  /** Default 1. */
  readonly groups?: number;
  /** Default true, as PyTorch. */
  readonly bias?: boolean;
  /** Default 1. */
  readonly dilation?: Pair;
  /** 'zeros' only, as PyTorch's ConvTranspose2d. */
  readonly paddingMode?: 'zeros';
}

/** PyTorch's positional order: (in, out, kernel size, stride, padding, output padding, groups, bias, dilation, padding mode). */
const POSITIONS = ['inChannels', 'outChannels', 'kernelSize', 'stride', 'padding', 'outputPadding', 'groups', 'bias', 'dilation', 'paddingMode'] as const;

export class ConvTranspose2d extends Layer {
  readonly type = 'ConvTranspose2d';
  readonly inChannels?: number;
  readonly outChannels: number;
  readonly kernelSize: readonly [number, number];
  readonly stride: readonly [number, number];
  readonly padding: readonly [number, number];
  readonly outputPadding: readonly [number, number];
  readonly groups: number;
  readonly bias: boolean;
  readonly dilation: readonly [number, number];
  /** Whether the tiled conv kernels run it (its conv's geometry theirs: groups 1, dilation 1, one stride and padding both ways, at most 144 taps). */
  readonly tiled: boolean;

  /**
   * `new ConvTranspose2d({ outChannels: 8, kernelSize: 2, stride: 2 })`, or PyTorch's positional
   * form `new ConvTranspose2d(16, 8, 2, 2)`, optionally ending with the other options.
   */
  constructor(options: ConvTranspose2dOptions);
  constructor(inChannels: number, outChannels: number, kernelSize: Pair, ...rest: (Pair | string | boolean | Partial<ConvTranspose2dOptions>)[]);
  constructor(first: ConvTranspose2dOptions | number, ...rest: unknown[]) {
    super();
    const owner = 'ConvTranspose2d';
    if (typeof first !== 'number' && rest.length > 0) throw new RangeError(`${owner}: an options object takes no other arguments`);
    const options: ConvTranspose2dOptions = typeof first === 'number' ? positionalOptions<ConvTranspose2dOptions>(owner, [first, ...rest], [...POSITIONS], [...POSITIONS]) : checkOptions(owner, first, [...POSITIONS]);
    this.inChannels = options.inChannels === undefined ? undefined : whole(owner, 'in_channels', options.inChannels);
    this.outChannels = whole(owner, 'out_channels', options.outChannels);
    this.kernelSize = pair(owner, 'kernel_size', options.kernelSize, 1);
    this.stride = pair(owner, 'stride', options.stride ?? 1, 1);
    if (typeof options.padding === 'string') throw new RangeError(`${owner}: padding must be a number or (height, width) (PyTorch's ConvTranspose2d takes no 'same' or 'valid'), got ${JSON.stringify(options.padding)}`);
    this.padding = pair(owner, 'padding', options.padding ?? 0, 0);
    this.outputPadding = pair(owner, 'output_padding', options.outputPadding ?? 0, 0);
    this.groups = whole(owner, 'groups', options.groups ?? 1);
    this.bias = trueOrFalse(owner, 'bias', options.bias, true);
    this.dilation = pair(owner, 'dilation', options.dilation ?? 1, 1);
    if ((options.paddingMode ?? 'zeros') !== 'zeros') throw new RangeError(`${owner}: padding_mode must be 'zeros' (PyTorch's ConvTranspose2d supports no other), got ${JSON.stringify(options.paddingMode)}`);
    // PyTorch: "output padding must be smaller than either stride or dilation".
    for (const axis of [0, 1] as const) {
      if (this.outputPadding[axis] >= Math.max(this.stride[axis], this.dilation[axis])) {
        throw new RangeError(`${owner}: output_padding must be smaller than either stride or dilation (as PyTorch), got output_padding ${pairWords(this.outputPadding)}, stride ${pairWords(this.stride)}, dilation ${pairWords(this.dilation)}`);
      }
    }
    if (this.outChannels % this.groups !== 0) throw new RangeError(`${owner}: out_channels must be divisible by groups (as PyTorch), got ${this.outChannels} and ${this.groups}`);
    if (this.inChannels !== undefined && this.inChannels % this.groups !== 0) throw new RangeError(`${owner}: in_channels must be divisible by groups (as PyTorch), got ${this.inChannels} and ${this.groups}`);
    this.tiled =
      this.groups === 1 && this.dilation[0] === 1 && this.dilation[1] === 1 && this.stride[0] === this.stride[1] && this.padding[0] === this.padding[1] &&
      this.kernelSize[0] * this.kernelSize[1] <= MAX_KERNEL_AREA;
  }

  /** H' = (H − 1)·stride − 2·padding + dilation·(kernel − 1) + output_padding + 1, each axis. */
  private outputSize(height: number, width: number): [number, number] {
    const size = (n: number, axis: 0 | 1) => (n - 1) * this.stride[axis] - 2 * this.padding[axis] + this.dilation[axis] * (this.kernelSize[axis] - 1) + this.outputPadding[axis] + 1;
    return [size(height, 0), size(width, 1)];
  }

  outputShape(input: SampleShape): SampleShape {
    if (input.length !== 3) throw new ShapeError(`expects an input of shape [C, H, W], got [${input.join(', ')}]`);
    if (this.inChannels !== undefined && input[0] !== this.inChannels) throw new ShapeError(`in_channels is ${this.inChannels} but the input has ${input[0]} channels (input [${input.join(', ')}])`);
    if (input[0]! % this.groups !== 0) throw new ShapeError(`in_channels must be divisible by groups (as PyTorch): the input has ${input[0]} channels, groups is ${this.groups} (input [${input.join(', ')}])`);
    const [height, width] = this.outputSize(input[1]!, input[2]!);
    if (height < 1 || width < 1) throw new ShapeError(`padding ${pairWords(this.padding)} leaves no output of a ${input[1]}×${input[2]} input (${height}×${width}; input [${input.join(', ')}])`);
    return [this.outChannels, height, width];
  }

  override parameterSpecs(input: SampleShape): ParameterSpec[] {
    // PyTorch's kaiming_uniform_(a=√5) bound, 1/√fan_in, fan_in = weight.size(1)·kH·kW (out_channels / groups here).
    const bound = 1 / Math.sqrt((this.outChannels / this.groups) * this.kernelSize[0] * this.kernelSize[1]);
    const specs: ParameterSpec[] = [{ name: 'weight', shape: [input[0]!, this.outChannels / this.groups, ...this.kernelSize], init: { uniform: bound } }];
    if (this.bias) specs.push({ name: 'bias', shape: [this.outChannels], init: { uniform: bound } });
    return specs;
  }

  /**
   * The conv whose input gradient this layer is, for an input [in, H, W] and its output [out, H',
   * W']: from [out, H', W'] to [in, H, W], this layer's weight its own ([in, out / groups, kH, kW]
   * is a conv's [Cout, Cin / groups, kH, kW]). Its bottom and right padding are what leave H × W
   * outputs (output_padding's rows and columns are past its last window).
   */
  convGeometry(input: SampleShape, batch: number): Conv2dGeometry & { readonly outHeight: number; readonly outWidth: number } {
    const [inChannels, height, width] = input as [number, number, number];
    const [outHeight, outWidth] = this.outputSize(height, width);
    const [ph, pw] = this.padding;
    return {
      batch, inChannels: this.outChannels, height: outHeight, width: outWidth, outChannels: inChannels, outHeight: height, outWidth: width,
      kernelH: this.kernelSize[0], kernelW: this.kernelSize[1], strideH: this.stride[0], strideW: this.stride[1],
      padTop: ph, padBottom: ph - this.outputPadding[0], padLeft: pw, padRight: pw - this.outputPadding[1],
      dilationH: this.dilation[0], dilationW: this.dilation[1], groups: this.groups,
    };
  }

  /** PyTorch's arguments; output_padding, groups and dilation where not their defaults (as PyTorch's repr). */
  config() {
    return {
      in_channels: this.inChannels,
      out_channels: this.outChannels,
      kernel_size: [...this.kernelSize],
      stride: compact(this.stride),
      padding: compact(this.padding),
      ...(this.outputPadding[0] !== 0 || this.outputPadding[1] !== 0 ? { output_padding: compact(this.outputPadding) } : {}),
      ...(this.groups !== 1 ? { groups: this.groups } : {}),
      bias: this.bias,
      ...(this.dilation[0] !== 1 || this.dilation[1] !== 1 ? { dilation: compact(this.dilation) } : {}),
    };
  }

  /**
   * The tiled kernels' parameters of its conv (a `tiled` layer's): input [out, H', W'], output
   * [in, H, W] (output_padding's rows and columns past the conv's last window, which the floor of
   * its output size drops).
   */
  tiledParams(input: SampleShape, batch: number) {
    const g = this.convGeometry(input, batch);
    const p = conv2dParams({ batch, inChannels: g.inChannels, height: g.height, width: g.width, outChannels: g.outChannels, kernelH: g.kernelH, kernelW: g.kernelW, stride: g.strideH, padding: g.padTop });
    if (p.outHeight !== g.outHeight || p.outWidth !== g.outWidth) throw new Error(`ConvTranspose2d: its conv's output ${p.outHeight}×${p.outWidth} is not the input's ${g.outHeight}×${g.outWidth}`);
    return p;
  }

  lower(b: LayerBuild): LayerProgram {
    return this.tiled ? this.lowerTiled(b) : this.lowerGeneral(b);
  }

  /** On the tiled kernels: the forward its conv's input gradient, the input gradient its conv's forward. */
  private lowerTiled(b: LayerBuild): LayerProgram {
    const { ctx, path, input, output, dOutput, dInput } = b;
    const weight = b.parameters.weight!;
    const bias = b.parameters.bias;
    const area = b.outShape[1]! * b.outShape[2]!;
    const full = this.tiledParams(b.inShape, b.maxBatch);
    const chosenWeight = b.tiles?.('conv2d_backward_weight', full);
    const weightTile = weightTileWithin(full, chosenWeight && weightTileFits(full, chosenWeight, ctx.adapter.subgroupSize) ? chosenWeight : defaultWeightTile(full, ctx.adapter), b.maxPartialSplits);
    const splitPixels = weightTile.rows * full.outWidth;
    const partial = b.shared.storage(`${path} weight-gradient partial sums`, [conv2dWeightSplits({ ...full, splitPixels }) * shapeSize(weight.shape)]);
    const tileFor = (direction: ConvDirection) => b.tiles?.(direction === 'forward' ? 'conv2d_forward' : 'conv2d_backward_input', full) ?? defaultConvTile(full, direction);
    // The forward's packing (the conv's input-gradient layout) in every mode; the input gradient's (its forward layout) in training.
    const packedForward = allocateConvPacked(ctx, `${path}`, full, 'input', tileFor('input'), b.shared.uniform);
    const packedInput = dInput ? allocateConvPacked(ctx, `${path} input-gradient`, full, 'forward', tileFor('forward'), b.shared.uniform) : undefined;
    const forward = perBatch(async (batch): Promise<Dispatch[]> => {
      const list = await bindConv2d(ctx, this.tiledParams(b.inShape, batch), packedForward, { input, weight: weight.value, output }, { pack: false, label: `${path} conv-transpose forward` });
      if (bias) list.push((await ctx.compile(biasAdd, biasAddVariant(area))).bind({ bias: bias.value, y: output }, { batch, channels: this.outChannels, area }, `${path} conv-transpose bias`));
      return list;
    });
    const backward = perBatch(async (batch): Promise<Dispatch[]> => {
      if (!dOutput) return [];
      const p = conv2dWeightParams(this.tiledParams(b.inShape, batch), weightTile, ctx.adapter.subgroupSize);
      const list: Dispatch[] = [
        (await ctx.compile(conv2dBackwardWeightKernel(weightTile, p), conv2dWeightVariant(p, weightTile, ctx.adapter.subgroupSize))).bind({ x: dOutput, dy: input, partial: partial() }, p, `${path} conv-transpose weight gradient`),
      ];
      if (bias) list.push((await ctx.compile(biasBackward)).bind({ dy: dOutput, dbias: bias.grad }, { batch, channels: this.outChannels, area }, `${path} conv-transpose bias gradient`));
      if (dInput && packedInput) list.push(...(await bindConv2d(ctx, this.tiledParams(b.inShape, batch), packedInput, { input: dOutput, weight: weight.value, output: dInput }, { pack: false, label: `${path} conv-transpose input gradient` })));
      return list;
    });
    return {
      forward: (batch) => forward(batch),
      backward,
      packs: () => ({ forward: conv2dPackJobs(full, packedForward, weight.value), input: packedInput ? conv2dPackJobs(full, packedInput, weight.value) : [] }),
      reductions: (batch) => (dOutput ? [{ partial: partial(), dweight: weight.grad, length: shapeSize(weight.shape), splits: conv2dWeightSplits({ ...this.tiledParams(b.inShape, batch), splitPixels }) }] : []),
    };
  }

  /** Any geometry, on the direct kernels. */
  private lowerGeneral(b: LayerBuild): LayerProgram {
    const { ctx, path, input, output, dOutput, dInput } = b;
    const weight = b.parameters.weight!;
    const bias = b.parameters.bias;
    const params = (batch: number): Conv2dGeneralParams => {
      const { padBottom: _b, padRight: _r, ...g } = this.convGeometry(b.inShape, batch);
      return conv2dGeneralParams(g);
    };
    const area = b.outShape[1]! * b.outShape[2]!;
    const forward = perBatch(async (batch): Promise<Dispatch[]> => {
      // The conv's input gradient from this layer's input: the output, then the bias added in place.
      const p = params(batch);
      const list: Dispatch[] = [(await ctx.compile(conv2dGeneralBackwardInput, conv2dGeneralInputVariant(ctx, p))).bind({ dy: input, weight: weight.value, dx: output }, p, `${path} conv-transpose forward`)];
      if (bias) list.push((await ctx.compile(biasAdd, biasAddVariant(area))).bind({ bias: bias.value, y: output }, { batch, channels: this.outChannels, area }, `${path} conv-transpose bias`));
      return list;
    });
    const backward = perBatch(async (batch): Promise<Dispatch[]> => {
      if (!dOutput) return [];
      const p = params(batch);
      const list: Dispatch[] = [(await ctx.compile(conv2dGeneralBackwardWeight, conv2dGeneralWeightVariant(p))).bind({ x: dOutput, dy: input, dweight: weight.grad }, p, `${path} conv-transpose weight gradient`)];
      if (bias) list.push((await ctx.compile(biasBackward)).bind({ dy: dOutput, dbias: bias.grad }, { batch, channels: this.outChannels, area }, `${path} conv-transpose bias gradient`));
      if (dInput) list.push((await ctx.compile(conv2dGeneralForward, { BIAS: false, ...conv2dGeneralForwardVariant(ctx, p) })).bind({ x: dOutput, weight: weight.value, y: dInput }, p, `${path} conv-transpose input gradient`));
      return list;
    });
    return { forward: (batch) => forward(batch), backward };
  }
}
