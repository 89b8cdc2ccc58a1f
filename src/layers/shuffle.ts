/**
 * PyTorch's element permutations of [C, H, W] samples: nn.PixelShuffle (sub-pixel upsampling:
 * channels to space), nn.PixelUnshuffle (its inverse) and nn.ChannelShuffle (ShuffleNet's). One
 * kernel (src/kernels/shuffle.ts); each one's backward is the inverse permutation. CPU reference:
 * src/reference/shuffle.ts.
 */
import { shuffle } from '../kernels/shuffle.js';
import { Layer, ShapeError, checkOptions, perBatch, whole, type LayerBuild, type LayerProgram, type SampleShape } from './layer.js';

type Variant = { readonly PIXEL_UNSHUFFLE?: boolean; readonly CHANNEL_SHUFFLE?: boolean };

/** The permutation's kernel launch for an output sample shape, and its inverse's for the input's. */
abstract class Permutation extends Layer {
  protected abstract forwardVariant(): Variant;
  protected abstract backwardVariant(): Variant;
  protected abstract forwardFactor(input: SampleShape): number;
  protected abstract backwardFactor(input: SampleShape): number;

  lower(b: LayerBuild): LayerProgram {
    const { ctx, path, input, output, dOutput, dInput } = b;
    // A [C, L] sample (ChannelShuffle's) as [C, 1, L].
    const launch = (shape: SampleShape, batch: number, factor: number) => {
      const [c, h, w] = shape.length === 2 ? [shape[0]!, 1, shape[1]!] : (shape as readonly [number, number, number]);
      return { count: batch * c * h * w, outChannels: c, outH: h, outW: w, factor };
    };
    const name = this.type.toLowerCase();
    const forward = perBatch(async (batch) => [(await ctx.compile(shuffle, this.forwardVariant())).bind({ x: input, y: output }, launch(b.outShape, batch, this.forwardFactor(b.inShape)), `${path} ${name}`)]);
    const backward = perBatch(async (batch) =>
      !dOutput || !dInput ? [] : [(await ctx.compile(shuffle, this.backwardVariant())).bind({ x: dOutput, y: dInput }, launch(b.inShape, batch, this.backwardFactor(b.inShape)), `${path} ${name} gradient`)],
    );
    return { forward: (batch) => forward(batch), backward };
  }
}

/** A [C, H, W] sample (throws a ShapeError otherwise). */
const sample = (input: SampleShape) => {
  if (input.length !== 3) throw new ShapeError(`expects an input of shape [C, H, W], got [${input.join(', ')}]`);
  return input as readonly [number, number, number];
};

/** A constructor's one whole-number argument, positional or as { key }; `field` its PyTorch name in messages; more arguments refused. */
function factorArg(owner: string, key: string, field: string, args: readonly unknown[]): number {
  if (args.length !== 1) throw new RangeError(`${owner}: expected one argument (${field}) or an options object, got ${args.length}`);
  const value = args[0];
  const v = typeof value === 'object' && value !== null ? (checkOptions(owner, value as Record<string, unknown>, [key]) as Record<string, unknown>)[key] : value;
  return whole(owner, field, v);
}

/** nn.PixelShuffle(upscale_factor): [C·r², H, W] → [C, H·r, W·r]. */
export class PixelShuffle extends Permutation {
  readonly type = 'PixelShuffle';
  readonly upscaleFactor: number;
  constructor(upscaleFactor: number | { readonly upscaleFactor: number });
  constructor(...args: unknown[]) {
    super();
    this.upscaleFactor = factorArg('PixelShuffle', 'upscaleFactor', 'upscale_factor', args);
  }
  outputShape(input: SampleShape): SampleShape {
    const [c, h, w] = sample(input);
    const r = this.upscaleFactor;
    // PyTorch: "pixel_shuffle expects its input's 'channel' dimension to be divisible by the square of upscale_factor".
    if (c % (r * r) !== 0) throw new ShapeError(`the input's ${c} channels are not divisible by upscale_factor² = ${r * r} (input [${input.join(', ')}])`);
    return [c / (r * r), h * r, w * r];
  }
  config() {
    return { upscale_factor: this.upscaleFactor };
  }
  protected forwardVariant() {
    return {};
  }
  protected backwardVariant() {
    return { PIXEL_UNSHUFFLE: true };
  }
  protected forwardFactor() {
    return this.upscaleFactor;
  }
  protected backwardFactor() {
    return this.upscaleFactor;
  }
}

/** nn.PixelUnshuffle(downscale_factor): [C, H·r, W·r] → [C·r², H, W]. */
export class PixelUnshuffle extends Permutation {
  readonly type = 'PixelUnshuffle';
  readonly downscaleFactor: number;
  constructor(downscaleFactor: number | { readonly downscaleFactor: number });
  constructor(...args: unknown[]) {
    super();
    this.downscaleFactor = factorArg('PixelUnshuffle', 'downscaleFactor', 'downscale_factor', args);
  }
  outputShape(input: SampleShape): SampleShape {
    const [c, h, w] = sample(input);
    const r = this.downscaleFactor;
    // PyTorch: "pixel_unshuffle expects height/width to be divisible by downscale_factor".
    if (h % r !== 0 || w % r !== 0) throw new ShapeError(`the input's ${h}×${w} plane is not divisible by downscale_factor ${r} (input [${input.join(', ')}])`);
    return [c * r * r, h / r, w / r];
  }
  config() {
    return { downscale_factor: this.downscaleFactor };
  }
  protected forwardVariant() {
    return { PIXEL_UNSHUFFLE: true };
  }
  protected backwardVariant() {
    return {};
  }
  protected forwardFactor() {
    return this.downscaleFactor;
  }
  protected backwardFactor() {
    return this.downscaleFactor;
  }
}

/** nn.ChannelShuffle(groups): the channels viewed as (groups, C / groups) and transposed. */
export class ChannelShuffle extends Permutation {
  readonly type = 'ChannelShuffle';
  readonly groups: number;
  constructor(groups: number | { readonly groups: number });
  constructor(...args: unknown[]) {
    super();
    this.groups = factorArg('ChannelShuffle', 'groups', 'groups', args);
  }
  /** [C, H, W] or [C, L] (PyTorch's [N, C, *]). */
  outputShape(input: SampleShape): SampleShape {
    if (input.length !== 2 && input.length !== 3) throw new ShapeError(`expects an input of shape [C, H, W] or [C, L], got [${input.join(', ')}]`);
    const c = input[0]!;
    // PyTorch: "Number of channels must be divisible by groups".
    if (c % this.groups !== 0) throw new ShapeError(`the input's ${c} channels are not divisible by groups ${this.groups} (input [${input.join(', ')}])`);
    return input;
  }
  config() {
    return { groups: this.groups };
  }
  protected forwardVariant() {
    return { CHANNEL_SHUFFLE: true };
  }
  protected backwardVariant() {
    return { CHANNEL_SHUFFLE: true };
  }
  protected forwardFactor() {
    return this.groups;
  }
  /** The inverse of (g, k) → (k, g) is ChannelShuffle(k). */
  protected backwardFactor(input: SampleShape) {
    return input[0]! / this.groups;
  }
}
