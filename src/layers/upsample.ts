/**
 * Upsample (PyTorch's nn.Upsample, F.interpolate of [C, H, W] or [C, L] samples) and its named
 * forms nn.UpsamplingNearest2d and nn.UpsamplingBilinear2d (align_corners=True): an output size or
 * a scale factor, mode 'nearest' (PyTorch's default), 'nearest-exact', 'bilinear' or, over [C, L],
 * 'linear' (align_corners either way), recompute_scale_factor. The taps are computed as PyTorch's
 * float32 kernels compute them; a [C, L] sample is the [C, 1, L] plane. Kernels:
 * src/kernels/upsample.ts. CPU reference: src/reference/upsample.ts.
 */
import { upsample2dBackward, upsample2dForward, upsampleVariant } from '../kernels/upsample.js';
import { upsampleScale, type UpsampleMode } from '../reference/upsample.js';
import { Layer, ShapeError, checkOptions, perBatch, trueOrFalse, type LayerBuild, type LayerProgram, type SampleShape } from './layer.js';

export type { UpsampleMode } from '../reference/upsample.js';

/** The layer's modes: the kernels' (src/reference/upsample.ts), and 'linear', their bilinear on a [C, L] sample's one axis. */
export type UpsampleLayerMode = UpsampleMode | 'linear';

export interface UpsampleOptions {
  /** The output's (height, width), or one number (or 1-tuple) for every axis. Give this or scaleFactor. */
  readonly size?: number | readonly [number] | readonly [number, number];
  /** Each axis's factor (output = ⌊input · factor⌋), or one number (or 1-tuple) for every axis. Give this or size. */
  readonly scaleFactor?: number | readonly [number] | readonly [number, number];
  /** 'nearest' (default), 'nearest-exact', 'bilinear' ([C, H, W]) or 'linear' ([C, L]). */
  readonly mode?: UpsampleLayerMode;
  /** Bilinear and linear only: the corners' centres aligned (PyTorch's align_corners; default false). */
  readonly alignCorners?: boolean;
  /** Use the sizes' ratio, not the scale factor, as the source scale (PyTorch's recompute_scale_factor). */
  readonly recomputeScaleFactor?: boolean;
}

const MODES: readonly UpsampleLayerMode[] = ['nearest', 'nearest-exact', 'bilinear', 'linear'];
const KNOWN = ['size', 'scaleFactor', 'mode', 'alignCorners', 'recomputeScaleFactor'] as const;

export class Upsample extends Layer {
  readonly type: 'Upsample' | 'UpsamplingNearest2d' | 'UpsamplingBilinear2d';
  readonly size?: readonly [number, number];
  readonly scaleFactor?: readonly [number, number];
  readonly mode: UpsampleLayerMode;
  readonly alignCorners: boolean;
  /** Whether size or scale_factor was one value (a number or a 1-tuple, any input) rather than (height, width) (a [C, H, W] input only). */
  private readonly oneValue: boolean;
  readonly recomputeScaleFactor: boolean;

  /** `new Upsample({ scaleFactor: 2, mode: 'bilinear' })`, or PyTorch's positional `new Upsample(null, 2, 'bilinear')` (size, scale_factor, mode, align_corners). */
  constructor(options?: UpsampleOptions);
  constructor(size: number | readonly [number] | readonly [number, number] | null, scaleFactor?: number | readonly [number] | readonly [number, number] | null, mode?: UpsampleLayerMode, alignCorners?: boolean | null);
  constructor(first?: unknown, ...rest: unknown[]) {
    super();
    this.type = 'Upsample';
    // The named forms (their static `owner`) say their own name in messages.
    const owner = (new.target as { owner?: string }).owner ?? 'Upsample';
    const object = typeof first === 'object' && first !== null && !Array.isArray(first);
    if (object && rest.length > 0) throw new RangeError(`${owner}: an options object takes no other arguments`);
    const options: UpsampleOptions = object ? checkOptions(owner, first as UpsampleOptions, [...KNOWN]) : first === undefined && rest.length === 0 ? {} : Upsample.positional(owner, [first, ...rest]);
    const sides = (field: string, value: unknown, whole: boolean): [number, number] | undefined => {
      if (value === undefined || value === null) return undefined;
      // One value (a number or a 1-tuple) for every axis, or (height, width).
      const pair = Array.isArray(value) ? (value.length === 1 ? [value[0], value[0]] : value) : [value, value];
      const ok = pair.length === 2 && pair.every((v) => typeof v === 'number' && Number.isFinite(v) && v > 0 && (!whole || Number.isInteger(v)));
      if (!ok) throw new RangeError(`${owner}: ${field} must be ${whole ? 'a whole number ≥ 1' : 'a finite number > 0'} or (height, width), got ${typeof value === 'number' ? String(value) : JSON.stringify(value)}`);
      return pair as [number, number];
    };
    this.size = sides('size', options.size, true);
    this.scaleFactor = sides('scale_factor', options.scaleFactor, false);
    const given = options.size ?? options.scaleFactor;
    this.oneValue = !Array.isArray(given) || given.length === 1;
    // PyTorch: "either size or scale_factor should be defined" / "only one of size or scale_factor should be defined".
    if ((this.size === undefined) === (this.scaleFactor === undefined)) throw new RangeError(`${owner}: give size or scale_factor (PyTorch: ${this.size === undefined ? 'either size or scale_factor should be defined' : 'only one of size or scale_factor should be defined'})`);
    const mode = options.mode ?? 'nearest';
    if (!MODES.includes(mode)) {
      const other = ['bicubic', 'trilinear', 'area'].includes(mode as string) ? ` (${(mode as string) === 'area' ? "'area' is AdaptiveAvgPool2d(size)" : `'${mode}' is not supported here`})` : '';
      throw new RangeError(`${owner}: mode must be 'nearest', 'nearest-exact', 'bilinear' or 'linear'${other}, got ${JSON.stringify(mode)}`);
    }
    this.mode = mode;
    if (options.alignCorners !== undefined && options.alignCorners !== null && mode !== 'bilinear' && mode !== 'linear') {
      throw new RangeError(`${owner}: align_corners applies to modes 'bilinear' and 'linear' only (PyTorch: "align_corners option can only be set with the interpolating modes"), the mode is '${mode}'`);
    }
    this.alignCorners = trueOrFalse(owner, 'align_corners', options.alignCorners ?? undefined, false);
    this.recomputeScaleFactor = trueOrFalse(owner, 'recompute_scale_factor', options.recomputeScaleFactor ?? undefined, false);
    if (this.recomputeScaleFactor && this.size !== undefined) throw new RangeError(`${owner}: recompute_scale_factor applies with scale_factor only (PyTorch raises with size)`);
  }

  private static positional(owner: string, args: readonly unknown[]): UpsampleOptions {
    if (args.length > 4) throw new RangeError(`${owner}: ${args.length} arguments; expected (size, scale_factor, mode, align_corners) or an options object`);
    const [size, scaleFactor, mode, alignCorners] = args;
    return { size: size as UpsampleOptions['size'], scaleFactor: scaleFactor as UpsampleOptions['scaleFactor'], mode: (mode ?? undefined) as UpsampleLayerMode | undefined, alignCorners: (alignCorners ?? undefined) as boolean | undefined };
  }

  /** For the named forms: fixes the type, mode and align_corners as PyTorch's subclasses do. */
  protected named(type: 'UpsamplingNearest2d' | 'UpsamplingBilinear2d'): void {
    (this as { type: string }).type = type;
  }

  /** The kernels' mode: 'linear' is bilinear on a [C, 1, L] view. */
  get kernelMode(): UpsampleMode {
    return this.mode === 'linear' ? 'bilinear' : this.mode;
  }

  outputShape(input: SampleShape): SampleShape {
    if (input.length !== 2 && input.length !== 3) throw new ShapeError(`expects an input of shape [C, H, W] or [C, L], got [${input.join(', ')}]`);
    // PyTorch: "Got 3D input, but bilinear mode needs 4D input" and the like.
    if (this.mode === 'bilinear' && input.length === 2) throw new ShapeError(`mode 'bilinear' takes [C, H, W]; a [C, L] input takes 'linear' (input [${input.join(', ')}])`);
    if (this.mode === 'linear' && input.length === 3) throw new ShapeError(`mode 'linear' takes [C, L]; a [C, H, W] input takes 'bilinear' (input [${input.join(', ')}])`);
    if (input.length === 2 && !this.oneValue) throw new ShapeError(`a [C, L] input takes one ${this.size ? 'size' : 'scale_factor'}, not (height, width) (input [${input.join(', ')}])`);
    const { channels, height, width } = this.plane(input);
    // F.interpolate: ⌊input · scale_factor⌋ in float64.
    const size = this.size ?? [Math.floor(height * this.scaleFactor![0]), Math.floor(width * this.scaleFactor![1])];
    const [outH, outW] = input.length === 2 ? [1, size[1]] : size;
    if (outH < 1 || outW < 1) throw new ShapeError(`scale_factor ${JSON.stringify(this.scaleFactor)} leaves no output of a ${input.length === 2 ? `length-${width}` : `${height}×${width}`} input`);
    return input.length === 2 ? [channels, outW] : [channels, outH, outW];
  }

  /** A sample as the kernels' [planes, height, width] plane: [C, L] as [C, 1, L]. */
  plane(shape: SampleShape): { channels: number; height: number; width: number } {
    return shape.length === 2 ? { channels: shape[0]!, height: 1, width: shape[1]! } : { channels: shape[0]!, height: shape[1]!, width: shape[2]! };
  }

  /** The source scales the kernels take (each axis; as PyTorch's float32 kernels hold them), for an input and output shape. */
  scales(inShape: SampleShape, outShape: SampleShape, float32: boolean): [number, number] {
    // A [C, L] sample's height (1 to 1) is copied: no scale factor there.
    const given = this.recomputeScaleFactor ? undefined : this.scaleFactor;
    const [a, b] = [this.plane(inShape), this.plane(outShape)];
    return [
      upsampleScale(a.height, b.height, this.kernelMode, this.alignCorners, inShape.length === 2 ? undefined : given?.[0], float32),
      upsampleScale(a.width, b.width, this.kernelMode, this.alignCorners, given?.[1], float32),
    ];
  }

  config() {
    const one = (p?: readonly [number, number]) => (p === undefined ? undefined : p[0] === p[1] ? p[0] : [...p]);
    if (this.type !== 'Upsample') return this.size ? { size: one(this.size) } : { scale_factor: one(this.scaleFactor) };
    return {
      ...(this.size ? { size: one(this.size) } : { scale_factor: one(this.scaleFactor) }),
      mode: this.mode,
      // Bilinear's and linear's always (left out it is false, as PyTorch's None): one spelling for one network.
      ...(this.mode === 'bilinear' || this.mode === 'linear' ? { align_corners: this.alignCorners } : {}),
      ...(this.recomputeScaleFactor ? { recompute_scale_factor: true } : {}),
    };
  }

  lower(b: LayerBuild): LayerProgram {
    const { ctx, path, input, output, dOutput, dInput } = b;
    const { channels, height, width } = this.plane(b.inShape);
    const { height: outH, width: outW } = this.plane(b.outShape);
    const [scaleH, scaleW] = this.scales(b.inShape, b.outShape, true);
    const params = (batch: number) => ({ planes: batch * channels, height, width, outH, outW, scaleH, scaleW });
    const variant = upsampleVariant(this.kernelMode, this.alignCorners);
    const forward = perBatch(async (batch) => [(await ctx.compile(upsample2dForward, variant)).bind({ x: input, y: output }, params(batch), `${path} ${this.mode} upsample`)]);
    const backward = perBatch(async (batch) => (!dInput || !dOutput ? [] : [(await ctx.compile(upsample2dBackward, variant)).bind({ dy: dOutput, dx: dInput }, params(batch), `${path} ${this.mode} upsample gradient`)]));
    return { forward: (batch) => forward(batch), backward };
  }
}

/** A named form's (size, scale_factor), positional or as options; more arguments refused (PyTorch's TypeError). */
function namedArgs(owner: string, args: readonly unknown[]): UpsampleOptions {
  const [first, scaleFactor] = args;
  if (typeof first === 'object' && first !== null && !Array.isArray(first)) {
    if (args.length > 1) throw new RangeError(`${owner}: an options object takes no other arguments`);
    return checkOptions(owner, first as UpsampleOptions, ['size', 'scaleFactor']);
  }
  if (args.length > 2) throw new RangeError(`${owner}: ${args.length} arguments; expected (size, scale_factor) or an options object (the mode is ${owner === 'UpsamplingNearest2d' ? "'nearest'" : "'bilinear' with align_corners"})`);
  return { size: (first ?? undefined) as UpsampleOptions['size'], scaleFactor: (scaleFactor ?? undefined) as UpsampleOptions['scaleFactor'] };
}

/** nn.UpsamplingNearest2d(size, scale_factor): Upsample in mode 'nearest'. */
export class UpsamplingNearest2d extends Upsample {
  static readonly owner = 'UpsamplingNearest2d';
  constructor(options: { size?: number | readonly [number, number]; scaleFactor?: number | readonly [number, number] });
  constructor(size?: number | readonly [number, number] | null, scaleFactor?: number | readonly [number, number] | null);
  constructor(...args: unknown[]) {
    super({ ...namedArgs(UpsamplingNearest2d.owner, args), mode: 'nearest' });
    this.named('UpsamplingNearest2d');
  }
}

/** nn.UpsamplingBilinear2d(size, scale_factor): Upsample in mode 'bilinear' with align_corners=True. */
export class UpsamplingBilinear2d extends Upsample {
  static readonly owner = 'UpsamplingBilinear2d';
  constructor(options: { size?: number | readonly [number, number]; scaleFactor?: number | readonly [number, number] });
  constructor(size?: number | readonly [number, number] | null, scaleFactor?: number | readonly [number, number] | null);
  constructor(...args: unknown[]) {
    super({ ...namedArgs(UpsamplingBilinear2d.owner, args), mode: 'bilinear', alignCorners: true });
    this.named('UpsamplingBilinear2d');
  }
}
