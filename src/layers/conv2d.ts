/**
 * Conv2d (PyTorch's nn.Conv2d, groups = dilation = 1): NCHW, weight [out, in, kH, kW], optional
 * bias. Lowers onto src/kernels/conv2d.ts (the bias added by the forward kernel, its gradient
 * summed by the weight gradient's: variant BIAS); a ReLU after it is stored by the conv kernel
 * itself (fusion rule relu-epilogue), a batch norm after it has its training statistics summed by
 * the conv's forward (fusion rule batchnorm-stats-epilogue), a MaxPool2d after it is stored by the
 * conv's forward in place of its own output (fusion rule maxpool-epilogue), and a ReLU before it
 * has its gradient applied by the conv's input gradient (fusion rule relu-grad-in-input-gradient).
 * A 1×1 conv on a 1×1 plane is a Linear in effect and runs on the dense kernels (runsAsDense).
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
  type ConvDirection,
} from '../kernels/conv2d.js';
import type { Dispatch } from '../gpu/context.js';
import { lowerDense } from './linear.js';
import { Layer, ShapeError, checkOptions, positionalOptions, perBatch, shapeSize, trueOrFalse, whole, type LayerBuild, type LayerProgram, type Mode, type ParameterSpec, type SampleShape } from './layer.js';

export interface Conv2dOptions {
  /** Inferred from the input when left out; checked when given. */
  readonly inChannels?: number;
  readonly outChannels: number;
  readonly kernelSize: number | readonly [number, number];
  readonly stride?: number;
  readonly padding?: number;
  /** Default true, as PyTorch. */
  readonly bias?: boolean;
}

export class Conv2d extends Layer {
  readonly type = 'Conv2d';
  readonly inChannels?: number;
  readonly outChannels: number;
  readonly kernelSize: readonly [number, number];
  readonly stride: number;
  readonly padding: number;
  readonly bias: boolean;

  /**
   * `new Conv2d({ outChannels: 8, kernelSize: 3, padding: 1 })`, or PyTorch's positional form
   * `new Conv2d(1, 8, 3)` (in, out, kernel size, then stride and padding), optionally ending with
   * the other options (`new Conv2d(1, 8, 3, { padding: 1, bias: false })`).
   */
  constructor(options: Conv2dOptions);
  constructor(inChannels: number, outChannels: number, kernelSize: number | readonly [number, number], ...rest: (number | Partial<Conv2dOptions>)[]);
  constructor(first: Conv2dOptions | number, ...rest: unknown[]) {
    super();
    const known = ['inChannels', 'outChannels', 'kernelSize', 'stride', 'padding', 'bias'] as const;
    if (typeof first !== 'number' && rest.length > 0) throw new RangeError('Conv2d: an options object takes no other arguments');
    const options: Conv2dOptions =
      typeof first === 'number'
        ? positionalOptions<Conv2dOptions>('Conv2d', [first, ...rest], ['inChannels', 'outChannels', 'kernelSize', 'stride', 'padding'], known)
        : checkOptions('Conv2d', first, known);
    const k = typeof options.kernelSize === 'number' ? [options.kernelSize, options.kernelSize] : options.kernelSize;
    this.inChannels = options.inChannels === undefined ? undefined : whole('Conv2d', 'in_channels', options.inChannels);
    this.outChannels = whole('Conv2d', 'out_channels', options.outChannels);
    this.kernelSize = [whole('Conv2d', 'kernel_size', k?.[0]), whole('Conv2d', 'kernel_size', k?.[1])];
    this.stride = whole('Conv2d', 'stride', options.stride ?? 1);
    this.padding = whole('Conv2d', 'padding', options.padding ?? 0, 0);
    this.bias = trueOrFalse('Conv2d', 'bias', options.bias, true);
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
    return !statsEpilogue && kh === 1 && kw === 1 && this.stride === 1 && this.padding === 0 && input[1] === 1 && input[2] === 1;
  }

  /** The conv kernels' parameters for an input shape and batch. */
  params(input: SampleShape, batch: number) {
    const [inChannels, height, width] = input as [number, number, number];
    return conv2dParams({ batch, inChannels, height, width, outChannels: this.outChannels, kernelH: this.kernelSize[0], kernelW: this.kernelSize[1], stride: this.stride, padding: this.padding });
  }

  outputShape(input: SampleShape): SampleShape {
    if (input.length !== 3) throw new ShapeError(`expects an input of shape [C, H, W], got [${input.join(', ')}]`);
    if (this.inChannels !== undefined && input[0] !== this.inChannels) {
      throw new ShapeError(`in_channels is ${this.inChannels} but the input has ${input[0]} channels (input [${input.join(', ')}])`);
    }
    try {
      const p = this.params(input, 1);
      return [this.outChannels, p.outHeight, p.outWidth];
    } catch (e) {
      throw new ShapeError(`${(e as Error).message.replace(/^conv2d: /, '')} (input [${input.join(', ')}])`);
    }
  }

  override parameterSpecs(input: SampleShape): ParameterSpec[] {
    const fanIn = input[0]! * this.kernelSize[0] * this.kernelSize[1];
    const bound = 1 / Math.sqrt(fanIn);
    const specs: ParameterSpec[] = [{ name: 'weight', shape: [this.outChannels, input[0]!, ...this.kernelSize], init: { uniform: bound } }];
    if (this.bias) specs.push({ name: 'bias', shape: [this.outChannels], init: { uniform: bound } });
    return specs;
  }

  config() {
    return { in_channels: this.inChannels, out_channels: this.outChannels, kernel_size: [...this.kernelSize], stride: this.stride, padding: this.padding, bias: this.bias };
  }

  lower(b: LayerBuild): LayerProgram {
    if (this.runsAsDense(b.inShape, b.fusion.statsEpilogue)) return lowerDense(b, { inFeatures: b.inShape[0]!, outFeatures: this.outChannels, kind: 'conv' });
    const { ctx, path, input, output, dOutput, dInput } = b;
    const weight = b.parameters.weight!;
    const bias = b.parameters.bias;
    const relu = b.fusion.reluEpilogue === true;
    const full = this.params(b.inShape, b.maxBatch);
    // The weight gradient's register tile, split and workgroup (tuned, else the default), with
    // no more splits than the network's shared workspace holds for each layer.
    const chosenWeight = b.tiles?.('conv2d_backward_weight', full);
    const weightTile = weightTileWithin(full, chosenWeight && weightTileFits(full, chosenWeight) ? chosenWeight : defaultWeightTile(full, ctx.adapter), b.maxPartialSplits);
    const splitPixels = weightTile.rows * full.outWidth;
    // The partial sums and the packed weights: members of the network's shared arenas, so that it
    // reduces and packs every conv layer's in one dispatch (reductions, packs).
    const partial = b.shared.storage(`${path} weight-gradient partial sums`, [conv2dWeightSplits({ ...full, splitPixels }) * shapeSize(weight.shape)]);
    // The bias's gradient as partial sums of the same splits, from the same kernel (variant BIAS).
    const biasPartial = bias ? b.shared.storage(`${path} bias-gradient partial sums`, [conv2dWeightSplits({ ...full, splitPixels }) * this.outChannels]) : undefined;
    // The forward and input-gradient tiles (tuned, else the default), and their packed weights.
    const tileFor = (direction: ConvDirection) => b.tiles?.(direction === 'forward' ? 'conv2d_forward' : 'conv2d_backward_input', full) ?? defaultConvTile(full, direction);
    // The max pool after it stored by the forward (fusion rule maxpool-epilogue): `output` is the
    // pooled tensor, and the tile's rows are even (whole windows).
    const pool = b.fusion.pool;
    const forwardTile = pool ? poolTile(tileFor('forward'), this.kernelSize[0] * this.kernelSize[1]) : tileFor('forward');
    const packedForward = allocateConvPacked(ctx, `${path}`, full, 'forward', forwardTile, b.shared.uniform);
    const packedInput = dInput ? allocateConvPacked(ctx, `${path} input-gradient`, full, 'input', tileFor('input'), b.shared.uniform) : undefined;
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
      const label = pool ? `${path} conv and maxpool forward` : relu ? `${path} conv and relu forward` : `${path} conv forward`;
      return bindConv2d(ctx, p, packedForward, { input, weight: weight.value, output, stats, argmax: pool?.argmax, bias: bias?.value }, { relu, sharedWeights, pack: false, label });
    });
    const forward = { train: forwardFor('train'), eval: forwardFor('eval') };
    const backward = perBatch(async (batch): Promise<Dispatch[]> => {
      if (!dOutput) return [];
      const p = conv2dWeightParams(this.params(b.inShape, batch), weightTile, ctx.adapter.subgroupSize);
      const list: Dispatch[] = [
        (await ctx.compile(conv2dBackwardWeightKernel(weightTile), conv2dWeightVariant(p, weightTile, ctx.adapter.subgroupSize, biasPartial !== undefined))).bind(
          { x: input, dy: dOutput, partial: partial(), ...(biasPartial ? { biasPartial: biasPartial() } : {}) },
          p,
          biasPartial ? `${path} conv weight and bias gradient` : `${path} conv weight gradient`,
        ),
      ];
      // The ReLU before it (relu-grad-in-input-gradient): dInput passed where its output, this layer's input, is positive.
      const reluOutput = b.fusion.reluInput ? input : undefined;
      if (dInput && packedInput) {
        const label = reluOutput ? `${path} conv and relu input gradient` : `${path} conv input gradient`;
        list.push(...(await bindConv2d(ctx, this.params(b.inShape, batch), packedInput, { input: dOutput, weight: weight.value, output: dInput, reluOutput }, { pack: false, label })));
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
}
