/**
 * Conv2d (PyTorch's nn.Conv2d): NCHW, weight [out, in / groups, kH, kW], optional bias; stride,
 * padding (a number, (height, width), 'same' or 'valid'), dilation and groups as PyTorch's,
 * padding_mode 'zeros', 'reflect', 'replicate' or 'circular' (the last three, as PyTorch, pad the
 * input first, F.pad, and convolve with no padding: the plan runs that padding as a node of its
 * own before the conv, `<conv>:pad`, a Pad2d of src/layers/padding.ts). A conv of groups 1, dilation 1 and one stride and padding for both
 * directions (`tiled`: the seed CNN's, most CNNs') lowers onto src/kernels/conv2d.ts (the bias
 * added by the forward kernel, its gradient summed by the weight gradient's: variant BIAS); a ReLU after it is stored by the conv kernel
 * itself (fusion rule relu-epilogue), a batch norm after it has its training statistics summed by
 * the conv's forward (fusion rule batchnorm-stats-epilogue), a MaxPool2d after it is stored by the
 * conv's forward in place of its own output (fusion rule maxpool-epilogue), and a ReLU before it
 * has its gradient applied by the conv's input gradient (fusion rule relu-grad-in-input-gradient).
 * A 1×1 conv on a 1×1 plane is a Linear in effect and runs on the dense kernels (runsAsDense).
 * Any other conv (grouped, depthwise, dilated, a stride or padding of its own in each direction,
 * 'same' padding of an even kernel, a kernel of over 144 taps) runs the direct kernels of
 * src/kernels/conv2d-general.ts, unfused and untuned.
 */
import {
  allocateConvPacked,
  bindConv2d,
  conv2dBackwardWeightKernel,
  conv2dWeightParams,
  conv2dWeightVariant,
  conv2dPackJobs,
  conv2dParams,
  defaultWeightTile,
  weightTileFits,
  weightTileWithin,
  conv2dWeightSplits,
  defaultConvTile,
  convSharesWeights,
  convStatsSlots,
  poolTile,
  pooledGradientProblem,
  pointwiseProblem,
  conv2dKernels,
  MAX_KERNEL_AREA,
  type ConvTile,
  type WeightTile,
} from '../kernels/conv2d.js';
import { conv2dGeneralBackwardInput, conv2dGeneralBackwardWeight, conv2dGeneralForward, conv2dGeneralForwardVariant, conv2dGeneralInputVariant, conv2dGeneralParams, conv2dGeneralWeightVariant, type Conv2dGeneralParams } from '../kernels/conv2d-general.js';
import { biasBackward } from '../kernels/bias.js';
import type { Dispatch } from '../gpu/context.js';
import { lowerDense } from './linear.js';
import { Pad2d } from './padding.js';
import { Layer, ShapeError, checkOptions, compact, pair, pairWords, positionalOptions, perBatch, shapeSize, trueOrFalse, whole, type LayerBuild, type LayerProgram, type Mode, type Pair, type ParameterSpec, type SampleShape } from './layer.js';

export interface Conv2dOptions {
  /** Inferred from the input when left out; checked when given. */
  readonly inChannels?: number;
  readonly outChannels: number;
  readonly kernelSize: Pair;
  /** Default 1. */
  readonly stride?: Pair;
  /** Zeros on each side: a number, (height, width), 'valid' (none) or 'same' (the output the input's size: stride 1; an even span pads one more at the bottom and right, as PyTorch). Default 0. */
  readonly padding?: Pair | 'same' | 'valid';
  /** Default 1. */
  readonly dilation?: Pair;
  /** Input and output channels in this many groups, each conv'd on its own (groups = in_channels: depthwise). Default 1. */
  readonly groups?: number;
  /** Default true, as PyTorch. */
  readonly bias?: boolean;
  /** 'zeros' (PyTorch's default), 'reflect', 'replicate' or 'circular': what fills the padding. */
  readonly paddingMode?: ConvPaddingMode;
}

/** PyTorch's Conv2d padding modes. */
export type ConvPaddingMode = 'zeros' | 'reflect' | 'replicate' | 'circular';
const PADDING_MODES: readonly ConvPaddingMode[] = ['zeros', 'reflect', 'replicate', 'circular'];

/** The zeros a conv adds on each side of its input. */
export interface ConvPadding {
  readonly top: number;
  readonly bottom: number;
  readonly left: number;
  readonly right: number;
}

export class Conv2d extends Layer {
  readonly type = 'Conv2d';
  readonly inChannels?: number;
  readonly outChannels: number;
  readonly kernelSize: readonly [number, number];
  readonly stride: readonly [number, number];
  /** As given: (height, width), or 'same' / 'valid'; `pads` has each side's zeros. */
  readonly padding: readonly [number, number] | 'same' | 'valid';
  readonly dilation: readonly [number, number];
  readonly groups: number;
  readonly bias: boolean;
  readonly paddingMode: ConvPaddingMode;
  /** Each side's padding ('same': dilation·(kernel − 1) in all, the odd one at the bottom and right). */
  readonly pads: ConvPadding;
  /** The zeros the conv kernels add on each side: `pads` in mode 'zeros', none in the others (the input comes padded). */
  readonly zeroPads: ConvPadding;
  /**
   * The padding of a mode other than 'zeros' (where any), which the plan runs before the conv
   * (path `<conv>:pad`): the conv's own input is then the padded one.
   */
  readonly paddingLayer?: Pad2d;
  /**
   * Whether the tiled, fusable, tuned kernels run it (src/kernels/conv2d.ts): groups 1, dilation
   * 1, one stride and one padding on every side, a kernel of at most 144 taps (12×12, 1×20, …).
   * Otherwise the direct kernels (src/kernels/conv2d-general.ts, several times slower a FLOP on lavapipe),
   * and no fusion rule takes it.
   */
  readonly tiled: boolean;

  /**
   * `new Conv2d({ outChannels: 8, kernelSize: 3, padding: 1 })`, or PyTorch's positional form
   * `new Conv2d(1, 8, 3)` (in, out, kernel size, then stride, padding, dilation, groups, bias,
   * padding mode), optionally ending with the other options (`new Conv2d(1, 8, 3, { padding: 1,
   * bias: false })`).
   */
  constructor(options: Conv2dOptions);
  constructor(inChannels: number, outChannels: number, kernelSize: Pair, ...rest: (Pair | string | boolean | Partial<Conv2dOptions>)[]);
  constructor(first: Conv2dOptions | number, ...rest: unknown[]) {
    super();
    const known = ['inChannels', 'outChannels', 'kernelSize', 'stride', 'padding', 'dilation', 'groups', 'bias', 'paddingMode'] as const;
    if (typeof first !== 'number' && rest.length > 0) throw new RangeError('Conv2d: an options object takes no other arguments');
    const options: Conv2dOptions =
      typeof first === 'number'
        ? positionalOptions<Conv2dOptions>('Conv2d', [first, ...rest], ['inChannels', 'outChannels', 'kernelSize', 'stride', 'padding', 'dilation', 'groups', 'bias', 'paddingMode'], known)
        : checkOptions('Conv2d', first, known);
    this.inChannels = options.inChannels === undefined ? undefined : whole('Conv2d', 'in_channels', options.inChannels);
    this.outChannels = whole('Conv2d', 'out_channels', options.outChannels);
    this.kernelSize = pair('Conv2d', 'kernel_size', options.kernelSize, 1);
    this.stride = pair('Conv2d', 'stride', options.stride ?? 1, 1);
    this.dilation = pair('Conv2d', 'dilation', options.dilation ?? 1, 1);
    this.groups = whole('Conv2d', 'groups', options.groups ?? 1);
    this.bias = trueOrFalse('Conv2d', 'bias', options.bias, true);
    const padding = options.padding ?? 0;
    if (typeof padding === 'string') {
      if (padding !== 'same' && padding !== 'valid') throw new RangeError(`Conv2d: padding must be a number, (height, width), 'same' or 'valid', got ${JSON.stringify(padding)}`);
      // PyTorch: "padding='same' is not supported for strided convolutions".
      if (padding === 'same' && (this.stride[0] !== 1 || this.stride[1] !== 1)) throw new RangeError(`Conv2d: padding 'same' takes stride 1 (as PyTorch), got stride ${pairWords(this.stride)}`);
      this.padding = padding;
    } else {
      this.padding = pair('Conv2d', 'padding', padding, 0);
    }
    const mode = options.paddingMode ?? 'zeros';
    if (!PADDING_MODES.includes(mode)) throw new RangeError(`Conv2d: padding_mode must be one of PyTorch's ('zeros', 'reflect', 'replicate', 'circular'), got ${JSON.stringify(mode)}`);
    this.paddingMode = mode;
    if (this.outChannels % this.groups !== 0) throw new RangeError(`Conv2d: out_channels must be divisible by groups (as PyTorch), got ${this.outChannels} and ${this.groups}`);
    if (this.inChannels !== undefined && this.inChannels % this.groups !== 0) throw new RangeError(`Conv2d: in_channels must be divisible by groups (as PyTorch), got ${this.inChannels} and ${this.groups}`);
    this.pads = convPads(this.padding, this.kernelSize, this.dilation);
    const { top, bottom, left, right } = this.pads;
    // PyTorch's Conv2d: F.pad(input, _reversed_padding_repeated_twice, mode), then no padding of its own.
    if (mode !== 'zeros' && top + bottom + left + right > 0) this.paddingLayer = new Pad2d(mode, [left, right, top, bottom], { ofConv: true });
    this.zeroPads = this.paddingLayer ? { top: 0, bottom: 0, left: 0, right: 0 } : this.pads;
    const p = this.zeroPads;
    this.tiled =
      this.groups === 1 && this.dilation[0] === 1 && this.dilation[1] === 1 && this.stride[0] === this.stride[1] &&
      p.top === p.bottom && p.top === p.left && p.top === p.right && this.kernelSize[0] * this.kernelSize[1] <= MAX_KERNEL_AREA;
  }

  /**
   * Whether the layer is a Linear in effect at this input: a 1×1 kernel, stride 1, no padding, on
   * a 1×1 plane (the seed CNN's convblock8, after the global average pool). The dense kernels run
   * it then (its weight [out, in, 1, 1] is a Linear's [out, in]; lowerDense), unless a batch norm
   * after it takes its statistics from the conv's epilogue (`statsEpilogue`), which only the conv
   * kernels have.
   */
  runsAsDense(input: SampleShape, statsEpilogue = false): boolean {
    const [kh, kw] = this.kernelSize;
    return this.tiled && !statsEpilogue && kh === 1 && kw === 1 && this.stride[0] === 1 && this.zeroPads.top === 0 && input[1] === 1 && input[2] === 1;
  }

  /**
   * The backward's tiles at the largest batch (a `tiled` layer's): the weight gradient's register
   * tile, split and workgroup (tuned where it fits, else the default), with no more splits than
   * the network's shared workspace holds for each layer; the input gradient's (tuned, else the
   * default; a 1×1, stride-1, unpadded layer's on lavapipe: the pointwise kernel's).
   */
  backwardTiles(b: Pick<LayerBuild, 'ctx' | 'inShape' | 'maxBatch' | 'tiles' | 'maxPartialSplits'>): { weight: WeightTile; input: ConvTile } {
    const full = this.params(b.inShape, b.maxBatch);
    const chosenWeight = b.tiles?.('conv2d_backward_weight', full);
    const weight = weightTileWithin(full, chosenWeight && weightTileFits(full, chosenWeight, b.ctx.adapter.subgroupSize) ? chosenWeight : defaultWeightTile(full, b.ctx.adapter), b.maxPartialSplits);
    return { weight, input: b.tiles?.('conv2d_backward_input', full) ?? defaultConvTile(full, 'input', b.ctx.adapter) };
  }

  /**
   * Whether the layer's backward reads the gradient of the 2×2 max pool after it (whose output
   * and argmax its forward stores, maxpool-epilogue, with no ReLU between) and the argmax in
   * place of the full gradient that the pool's backward would write (the pointwise kernels'
   * variant POOL; the network then runs no pool backward, LayerFusion.pool.backward): where both
   * backward tiles are the pointwise kernels' (a 1×1, stride-1, unpadded layer on lavapipe, by
   * default) and the output is whole windows in octets of a row (pooledGradientProblem). The
   * seed CNN's convblock3: pool1's backward (0.42–0.47 ms at batch 128) gone, the two kernels
   * together 0.1–0.2 ms faster (exp script, alternated).
   */
  foldsPoolBackward(b: Pick<LayerBuild, 'ctx' | 'inShape' | 'maxBatch' | 'tiles' | 'maxPartialSplits'>): boolean {
    if (!this.tiled || this.runsAsDense(b.inShape)) return false;
    const full = this.params(b.inShape, b.maxBatch);
    const tiles = this.backwardTiles(b);
    return tiles.weight.pointwise === true && tiles.input.pointwise === true && pooledGradientProblem(full) === undefined;
  }

  /**
   * The forward's tile (tuned, else the default); storing the 2×2 max pool after it (`pool`,
   * maxpool-epilogue), made of even rows (poolTile), and the default where the chosen one is a
   * whole-row tile (which stores the conv's own output).
   */
  forwardTile(b: Pick<LayerBuild, 'ctx' | 'inShape' | 'maxBatch' | 'tiles'>, pool: boolean): ConvTile {
    const full = this.params(b.inShape, b.maxBatch);
    const chosen = b.tiles?.('conv2d_forward', full) ?? defaultConvTile(full, 'forward', b.ctx.adapter);
    return pool ? poolTile(chosen.flat ? defaultConvTile(full, 'forward') : chosen, this.kernelSize[0] * this.kernelSize[1]) : chosen;
  }

  /**
   * Whether the layer's training forward and weight gradient can apply the training batch norm
   * and the dropout before it as they load its input (variant NORM_MASK: the batch norm's input,
   * the dropout's mask and a per-channel affine read in place of the dropout's output, which the
   * batch norm then does not write, NodeFusion.normOnLoad / normInput; the network decides): where
   * the forward's tile (with the max pool after it, `pool`) is the 4-column one, whose loads take
   * NORM_MASK, and the weight gradient's is the pointwise kernel's (a 1×1, stride-1, unpadded layer
   * on lavapipe, by default). The seed CNN's convblock3: convblock2's batch norm and dropout pass
   * writes no output (exp/c3z.ts, alternated: the three kernels 0.7–0.9 ms faster at batch 128).
   */
  foldsNormInput(b: Pick<LayerBuild, 'ctx' | 'inShape' | 'maxBatch' | 'tiles' | 'maxPartialSplits'>, pool: boolean): boolean {
    if (!this.tiled || this.runsAsDense(b.inShape)) return false;
    const full = this.params(b.inShape, b.maxBatch);
    // (The pointwise weight gradient's geometry first: no tile asked for of other layers.)
    if (pointwiseProblem(full) !== undefined) return false;
    const tile = this.forwardTile(b, pool);
    if (tile.flat || tile.wide || tile.edges || tile.pointwise) return false;
    const bound = { ...full, channelBase: 0, channelCount: this.outChannels, rowVec4s: 1, statsSlots: 0 };
    if (!conv2dKernels(full, 'forward', tile, { pool }).every((def) => def.variantRequires?.NORM_MASK?.(bound) === undefined)) return false;
    return this.backwardTiles(b).weight.pointwise === true;
  }

  /** The tiled conv kernels' parameters for an input shape and batch (a `tiled` layer's; the input padded already in a mode other than 'zeros'). */
  params(input: SampleShape, batch: number) {
    const [inChannels, height, width] = input as [number, number, number];
    return conv2dParams({ batch, inChannels, height, width, outChannels: this.outChannels, kernelH: this.kernelSize[0], kernelW: this.kernelSize[1], stride: this.stride[0], padding: this.zeroPads.top });
  }

  /** The direct kernels' parameters (any geometry) for an input shape and batch; throws where the kernel does not fit the padded input. */
  generalParams(input: SampleShape, batch: number): Conv2dGeneralParams {
    const [inChannels, height, width] = input as [number, number, number];
    const [kernelH, kernelW] = this.kernelSize;
    const [strideH, strideW] = this.stride;
    const [dilationH, dilationW] = this.dilation;
    const p = this.zeroPads;
    const outHeight = Math.floor((height + p.top + p.bottom - dilationH * (kernelH - 1) - 1) / strideH) + 1;
    const outWidth = Math.floor((width + p.left + p.right - dilationW * (kernelW - 1) - 1) / strideW) + 1;
    if (outHeight < 1 || outWidth < 1) {
      const dilated = dilationH * dilationW > 1 ? ` (dilation ${pairWords(this.dilation)}: a span of ${dilationH * (kernelH - 1) + 1}×${dilationW * (kernelW - 1) + 1})` : '';
      throw new Error(`conv2d: a ${kernelH}×${kernelW} kernel${dilated} with padding ${this.paddingWords()} does not fit a ${height}×${width} input`);
    }
    return conv2dGeneralParams({ batch, inChannels, height, width, outChannels: this.outChannels, outHeight, outWidth, kernelH, kernelW, strideH, strideW, padTop: p.top, padLeft: p.left, dilationH, dilationW, groups: this.groups });
  }

  private paddingWords(): string {
    return typeof this.padding === 'string' ? `'${this.padding}'` : pairWords(this.padding);
  }

  /** The conv's output for its input, as PyTorch's (a padding_mode's padding applied first, as `paddingLayer` does in the plan). */
  outputShape(input: SampleShape): SampleShape {
    if (input.length !== 3) throw new ShapeError(`expects an input of shape [C, H, W], got [${input.join(', ')}]`);
    if (this.inChannels !== undefined && input[0] !== this.inChannels) {
      throw new ShapeError(`in_channels is ${this.inChannels} but the input has ${input[0]} channels (input [${input.join(', ')}])`);
    }
    if (input[0]! % this.groups !== 0) throw new ShapeError(`in_channels must be divisible by groups (as PyTorch): the input has ${input[0]} channels, groups is ${this.groups} (input [${input.join(', ')}])`);
    const padded = this.paddingLayer ? this.paddingLayer.outputShape(input) : input;
    try {
      const p = this.tiled ? this.params(padded, 1) : this.generalParams(padded, 1);
      return [this.outChannels, p.outHeight, p.outWidth];
    } catch (e) {
      if (this.paddingLayer) {
        // The kernels see the padded input: say what the user gave (the conv's own input and padding).
        const span = `${this.dilation[0] * (this.kernelSize[0] - 1) + 1}×${this.dilation[1] * (this.kernelSize[1] - 1) + 1}`;
        throw new ShapeError(`a ${this.kernelSize.join('×')} kernel (a span of ${span}) does not fit a ${input[1]}×${input[2]} input padded by ${this.paddingWords()} in padding_mode '${this.paddingMode}' (${padded[1]}×${padded[2]}; input [${input.join(', ')}])`);
      }
      throw new ShapeError(`${(e as Error).message.replace(/^conv2d: /, '')} (input [${input.join(', ')}])`);
    }
  }

  override parameterSpecs(input: SampleShape): ParameterSpec[] {
    // PyTorch's kaiming_uniform_(a=√5) bound, 1/√fan_in, fan_in = weight.size(1)·kH·kW (a group's channels).
    const fanIn = (input[0]! / this.groups) * this.kernelSize[0] * this.kernelSize[1];
    const bound = 1 / Math.sqrt(fanIn);
    const specs: ParameterSpec[] = [{ name: 'weight', shape: [this.outChannels, input[0]! / this.groups, ...this.kernelSize], init: { uniform: bound } }];
    if (this.bias) specs.push({ name: 'bias', shape: [this.outChannels], init: { uniform: bound } });
    return specs;
  }

  /** PyTorch's arguments; dilation and groups where not 1 (as PyTorch's repr). */
  config() {
    return {
      in_channels: this.inChannels,
      out_channels: this.outChannels,
      kernel_size: [...this.kernelSize],
      stride: compact(this.stride),
      padding: typeof this.padding === 'string' ? this.padding : compact(this.padding),
      ...(this.dilation[0] !== 1 || this.dilation[1] !== 1 ? { dilation: compact(this.dilation) } : {}),
      ...(this.groups !== 1 ? { groups: this.groups } : {}),
      bias: this.bias,
      ...(this.paddingMode !== 'zeros' ? { padding_mode: this.paddingMode } : {}),
    };
  }

  lower(b: LayerBuild): LayerProgram {
    if (!this.tiled) return this.lowerGeneral(b);
    if (this.runsAsDense(b.inShape, b.fusion.statsEpilogue)) return lowerDense(b, { inFeatures: b.inShape[0]!, outFeatures: this.outChannels, kind: 'conv' });
    const { ctx, path, input, output, dOutput, dInput } = b;
    const weight = b.parameters.weight!;
    const bias = b.parameters.bias;
    const relu = b.fusion.reluEpilogue === true;
    const full = this.params(b.inShape, b.maxBatch);
    const backwardTiles = this.backwardTiles(b);
    const weightTile = backwardTiles.weight;
    const splitPixels = weightTile.rows * full.outWidth;
    // The partial sums and the packed weights: members of the network's shared arenas, so that it
    // reduces and packs every conv layer's in one dispatch (reductions, packs).
    const partial = b.shared.storage(`${path} weight-gradient partial sums`, [conv2dWeightSplits({ ...full, splitPixels }) * shapeSize(weight.shape)]);
    // The bias's gradient as partial sums of the same splits, from the same kernel (variant BIAS).
    const biasPartial = bias ? b.shared.storage(`${path} bias-gradient partial sums`, [conv2dWeightSplits({ ...full, splitPixels }) * this.outChannels]) : undefined;
    // The forward and input-gradient tiles (tuned, else the default), and their packed weights.
    // (The input gradient of a 1×1, stride-1, unpadded layer on lavapipe: the pointwise kernel's.)
    // The max pool after it stored by the forward (fusion rule maxpool-epilogue): `output` is the
    // pooled tensor, and the tile's rows are even (whole windows).
    const pool = b.fusion.pool;
    // Its backward folded into this one's (foldsPoolBackward): dOutput is the pool's gradient.
    const pooledGradient = pool?.backward === true ? pool.argmax : undefined;
    if (pooledGradient && !this.foldsPoolBackward(b)) throw new Error(`${path}: the max pool's backward was folded into this layer's, whose backward tiles cannot read its gradient (foldsPoolBackward)`);
    // (A whole-row tile stores the conv's own output: with the max pool, the default tile.)
    const forwardTile = this.forwardTile(b, pool !== undefined);
    // The batch norm and dropout before it applied as the training forward and the weight
    // gradient load the input (foldsNormInput): the batch norm's input, the mask and the affine.
    const norm = b.fusion.normInput;
    if (norm && !this.foldsNormInput(b, pool !== undefined)) throw new Error(`${path}: the batch norm and dropout before it were folded into this layer's loads, whose tiles cannot apply them (foldsNormInput)`);
    const packedForward = allocateConvPacked(ctx, `${path}`, full, 'forward', forwardTile, b.shared.uniform);
    const packedInput = dInput ? allocateConvPacked(ctx, `${path} input-gradient`, full, 'input', backwardTiles.input, b.shared.uniform) : undefined;
    // The batch norm's statistics summed in the training forward (fusion rule
    // batchnorm-stats-epilogue): partial moments per channel, sized for the largest batch.
    const sharedWeights = convSharesWeights(ctx, packedForward.tile);
    const statsSlots = (batch: number) => convStatsSlots(this.params(b.inShape, batch), packedForward.tile, sharedWeights);
    const statistics = b.fusion.statsEpilogue
      ? { moments: ctx.tensor(`${path} batch-norm partial moments`, [this.outChannels * statsSlots(b.maxBatch) * 3]), slots: statsSlots }
      : undefined;
    const forwardFor = (mode: Mode) => perBatch(async (batch): Promise<Dispatch[]> => {
      const p = this.params(b.inShape, batch);
      const stats = mode === 'train' ? statistics?.moments : undefined;
      const folded = mode === 'train' ? norm : undefined;
      const label = `${path} ${pool ? 'conv and maxpool forward' : relu ? 'conv and relu forward' : 'conv forward'}${folded ? ' (batchnorm and dropout on load)' : ''}`;
      const loads = folded ? { input: folded.x, norm: { affine: folded.affine, mask: folded.mask } } : { input };
      return bindConv2d(ctx, p, packedForward, { ...loads, weight: weight.value, output, stats, argmax: pool?.argmax, bias: bias?.value }, { relu, sharedWeights, pack: false, label });
    });
    const forward = { train: forwardFor('train'), eval: forwardFor('eval') };
    const backward = perBatch(async (batch): Promise<Dispatch[]> => {
      if (!dOutput) return [];
      const p = conv2dWeightParams(this.params(b.inShape, batch), weightTile, ctx.adapter.subgroupSize);
      const list: Dispatch[] = [
        (await ctx.compile(conv2dBackwardWeightKernel(weightTile, p, pooledGradient !== undefined), conv2dWeightVariant(p, weightTile, ctx.adapter.subgroupSize, biasPartial !== undefined, pooledGradient !== undefined, norm !== undefined))).bind(
          {
            x: norm ? norm.x : input,
            dy: dOutput,
            partial: partial(),
            ...(biasPartial ? { biasPartial: biasPartial() } : {}),
            ...(pooledGradient ? { argmax: pooledGradient } : {}),
            ...(norm ? { affine: norm.affine, dropMask: norm.mask } : {}),
          },
          p,
          `${path} ${biasPartial ? 'conv weight and bias gradient' : 'conv weight gradient'}${norm ? ' (batchnorm and dropout on load)' : ''}`,
        ),
      ];
      // The ReLU before it (relu-grad-in-input-gradient): dInput passed where its output, this layer's input, is positive.
      const reluOutput = b.fusion.reluInput ? input : undefined;
      if (dInput && packedInput) {
        const label = reluOutput ? `${path} conv and relu input gradient` : `${path} conv input gradient`;
        list.push(...(await bindConv2d(ctx, this.params(b.inShape, batch), packedInput, { input: dOutput, weight: weight.value, output: dInput, reluOutput, argmax: pooledGradient }, { pack: false, label })));
      }
      return list;
    });
    return {
      forward: (batch, mode) => forward[mode](batch),
      backward,
      statistics,
      packs: () => ({ forward: conv2dPackJobs(full, packedForward, weight.value), input: packedInput ? conv2dPackJobs(full, packedInput, weight.value) : [] }),
      reductions: (batch) => {
        if (!dOutput) return [];
        const splits = conv2dWeightSplits({ ...this.params(b.inShape, batch), splitPixels });
        const weights = { partial: partial(), dweight: weight.grad, length: shapeSize(weight.shape), splits };
        return bias && biasPartial ? [weights, { partial: biasPartial(), dweight: bias.grad, length: this.outChannels, splits }] : [weights];
      },
    };
  }

  /** Any geometry, on the direct kernels: no fusion rule takes this layer, nothing is tuned. */
  private lowerGeneral(b: LayerBuild): LayerProgram {
    const { ctx, path, input, output, dOutput, dInput } = b;
    const weight = b.parameters.weight!;
    const bias = b.parameters.bias;
    const forward = perBatch(async (batch): Promise<Dispatch[]> => {
      const p = this.generalParams(b.inShape, batch);
      const kernel = await ctx.compile(conv2dGeneralForward, { BIAS: bias !== undefined, ...conv2dGeneralForwardVariant(ctx, p) });
      return [kernel.bind({ x: input, weight: weight.value, y: output, ...(bias ? { bias: bias.value } : {}) }, p, `${path} conv forward`)];
    });
    const backward = perBatch(async (batch): Promise<Dispatch[]> => {
      if (!dOutput) return [];
      const p = this.generalParams(b.inShape, batch);
      const list: Dispatch[] = [(await ctx.compile(conv2dGeneralBackwardWeight, conv2dGeneralWeightVariant(p))).bind({ x: input, dy: dOutput, dweight: weight.grad }, p, `${path} conv weight gradient`)];
      if (bias) list.push((await ctx.compile(biasBackward)).bind({ dy: dOutput, dbias: bias.grad }, { batch, channels: this.outChannels, area: p.outHeight * p.outWidth }, `${path} conv bias gradient`));
      if (dInput) list.push((await ctx.compile(conv2dGeneralBackwardInput, conv2dGeneralInputVariant(ctx, p))).bind({ dy: dOutput, weight: weight.value, dx: dInput }, p, `${path} conv input gradient`));
      return list;
    });
    return { forward: (batch) => forward(batch), backward };
  }
}

/** Each side's zeros for a padding as given. */
function convPads(padding: readonly [number, number] | 'same' | 'valid', kernel: readonly [number, number], dilation: readonly [number, number]): ConvPadding {
  if (padding === 'valid') return { top: 0, bottom: 0, left: 0, right: 0 };
  if (padding !== 'same') return { top: padding[0], bottom: padding[0], left: padding[1], right: padding[1] };
  // PyTorch's _conv_forward for 'same': dilation·(kernel − 1) zeros in all, ⌊half⌋ before.
  const [spanH, spanW] = [dilation[0] * (kernel[0] - 1), dilation[1] * (kernel[1] - 1)];
  return { top: Math.floor(spanH / 2), bottom: spanH - Math.floor(spanH / 2), left: Math.floor(spanW / 2), right: spanW - Math.floor(spanW / 2) };
}
