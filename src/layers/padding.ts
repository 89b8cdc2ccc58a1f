/**
 * Padding layers (PyTorch's nn.ZeroPad2d, ConstantPad2d, ReflectionPad2d, ReplicationPad2d and
 * CircularPad2d: F.pad of an NCHW tensor's last two dimensions), and the padding a Conv2d with a
 * padding_mode other than 'zeros' applies before it (as PyTorch's Conv2d, which F.pads its input
 * and convolves with no padding of its own): the plan runs that as a node of its own before the
 * conv, `<conv>:pad` (src/layers/sequential.ts, flattenModel), shown in no summary. Kernels:
 * src/kernels/padding.ts. CPU reference: src/reference/padding.ts.
 */
import { pad2dBackward, pad2dForward, PAD_MODE_DEFINES } from '../kernels/padding.js';
import type { PadMode } from '../reference/padding.js';
import { Layer, ShapeError, checkOptions, perBatch, type LayerBuild, type LayerProgram, type SampleShape } from './layer.js';

export type { PadMode } from '../reference/padding.js';

/** Each side's count as PyTorch's 4-tuple (left, right, top, bottom), or one number for all four. */
export type Padding2d = number | readonly [number, number, number, number];

/** The padding layers' PyTorch names, by mode. */
const TYPES = { constant: 'ConstantPad2d', reflect: 'ReflectionPad2d', replicate: 'ReplicationPad2d', circular: 'CircularPad2d' } as const;

/** A padding of the last two dimensions in one mode: the engine's one padding layer, of which PyTorch's classes are the named forms. */
export class Pad2d extends Layer {
  readonly type: 'ZeroPad2d' | (typeof TYPES)[PadMode];
  readonly mode: PadMode;
  /** (left, right, top, bottom), as PyTorch's `padding` attribute. */
  readonly padding: readonly [number, number, number, number];
  /** The constant mode's value (0 for the others). */
  readonly value: number;
  /** A Conv2d's padding_mode (its path is the conv's with `:pad` in the plan): named so in messages, left out of summaries. */
  readonly ofConv: boolean;

  constructor(mode: PadMode, padding: unknown, options: { value?: unknown; zero?: boolean; ofConv?: boolean } = {}) {
    super();
    if (!Object.hasOwn(TYPES, mode)) throw new RangeError(`Pad2d: mode must be 'constant', 'reflect', 'replicate' or 'circular', got ${JSON.stringify(mode)}`);
    this.mode = mode;
    this.type = options.zero ? 'ZeroPad2d' : TYPES[mode];
    this.ofConv = options.ofConv === true;
    const owner = this.owner();
    const sides = typeof padding === 'number' ? [padding, padding, padding, padding] : padding;
    if (!Array.isArray(sides) || sides.length !== 4 || !sides.every((v) => typeof v === 'number' && Number.isInteger(v))) {
      throw new RangeError(`${owner}: padding must be a whole number or four, (left, right, top, bottom) as PyTorch's, got ${JSON.stringify(padding)}`);
    }
    // A negative count crops that side (in every mode, as PyTorch's F.pad).
    this.padding = sides as [number, number, number, number];
    const value = options.value ?? 0;
    // ±∞ as PyTorch takes it (−∞ before a max pool); NaN and finite values past float32 refused.
    if (typeof value !== 'number' || Number.isNaN(value) || (Number.isFinite(value) && Math.abs(value) > 3.4028234663852886e38)) {
      throw new RangeError(`${owner}: value must be a float32 number (±inf allowed), got ${typeof options.value === 'number' ? String(options.value) : JSON.stringify(options.value)}`);
    }
    this.value = value;
  }

  private owner(): string {
    return this.ofConv ? `Conv2d (padding_mode '${this.mode}')` : this.type;
  }

  outputShape(input: SampleShape): SampleShape {
    if (input.length !== 3) throw new ShapeError(`expects an input of shape [C, H, W], got [${input.join(', ')}]`);
    const [channels, height, width] = input as [number, number, number];
    const [left, right, top, bottom] = this.padding;
    const side = (pad: number, other: number, size: number, axis: string) => {
      // PyTorch: "Padding size should be less than the corresponding input dimension" (reflect);
      // "Padding value causes wrapping around more than once" (circular: around what the other side keeps).
      if (this.mode === 'reflect' && pad >= size) return `reflect padding of ${pad} needs a ${axis} of more than ${pad} (a mirror image reads ${pad} element${pad === 1 ? '' : 's'} past the edge)`;
      const kept = size + Math.min(other, 0);
      if (this.mode === 'circular' && pad > kept) return `circular padding of ${pad} needs a ${axis} of at least ${pad}${kept < size ? ` after the other side's crop (${kept} kept)` : ''} (it would wrap around more than once)`;
      return undefined;
    };
    const problem = side(left, right, width, 'width') ?? side(right, left, width, 'width') ?? side(top, bottom, height, 'height') ?? side(bottom, top, height, 'height');
    if (problem) throw new ShapeError(`${this.ofConv ? `the conv's padding_mode '${this.mode}': ` : ''}${problem}; the input is [${input.join(', ')}]`);
    const shape = [channels, height + top + bottom, width + left + right];
    if (shape[1]! < 1 || shape[2]! < 1) throw new ShapeError(`padding (${this.padding.join(', ')}) crops the [${input.join(', ')}] input to nothing`);
    return shape;
  }

  config() {
    const [l, r, t, b] = this.padding;
    const padding = l === r && l === t && l === b ? l : [...this.padding];
    return this.type === 'ConstantPad2d' ? { padding, value: this.value } : { padding };
  }

  lower(b: LayerBuild): LayerProgram {
    const { ctx, path, input, output, dOutput, dInput } = b;
    const [channels, height, width] = b.inShape as [number, number, number];
    const [, outH, outW] = b.outShape as [number, number, number];
    const params = (batch: number) => ({ planes: batch * channels, height, width, outH, outW, top: this.padding[2], left: this.padding[0], value: this.value });
    const variant = this.mode === 'constant' ? {} : { [PAD_MODE_DEFINES[this.mode]]: true };
    const label = `${path} ${this.mode} padding`;
    const forward = perBatch(async (batch) => [(await ctx.compile(pad2dForward, variant)).bind({ x: input, y: output }, params(batch), label)]);
    const backward = perBatch(async (batch) => (!dInput || !dOutput ? [] : [(await ctx.compile(pad2dBackward, variant)).bind({ dy: dOutput, dx: dInput }, params(batch), `${label} gradient`)]));
    return { forward: (batch) => forward(batch), backward };
  }
}

/**
 * The arguments of a padding class: PyTorch's positional `(padding)` / `(padding, value)` or an
 * options object; `dims` 2 (Pad2d's four counts) or 1 (Pad1d's two), for the messages.
 */
export function paddingArgs(owner: string, args: readonly unknown[], withValue: boolean, dims: 1 | 2 = 2): { padding: unknown; value?: unknown } {
  const known = withValue ? (['padding', 'value'] as const) : (['padding'] as const);
  if (args.length === 1 && typeof args[0] === 'object' && args[0] !== null && !Array.isArray(args[0])) {
    const o = checkOptions(owner, args[0] as { padding?: unknown; value?: unknown }, [...known]);
    if (o.padding === undefined) throw new RangeError(`${owner}: padding is required (a whole number or ${dims === 2 ? '(left, right, top, bottom)' : '(left, right)'})`);
    if (withValue && o.value === undefined) throw new RangeError(`${owner}: value is required (PyTorch's ConstantPad${dims}d(padding, value))`);
    return { padding: o.padding, value: o.value };
  }
  if (args.length !== known.length) throw new RangeError(`${owner}: expected (${known.join(', ')}) or an options object, got ${args.length} argument${args.length === 1 ? '' : 's'}`);
  return withValue ? { padding: args[0], value: args[1] } : { padding: args[0] };
}

/** nn.ZeroPad2d(padding): zeros on each side (a negative count crops). */
export class ZeroPad2d extends Pad2d {
  constructor(padding: Padding2d | { padding: Padding2d });
  constructor(...args: unknown[]) {
    super('constant', paddingArgs('ZeroPad2d', args, false).padding, { zero: true });
  }
}

/** nn.ConstantPad2d(padding, value): `value` on each side (a negative count crops). */
export class ConstantPad2d extends Pad2d {
  constructor(padding: Padding2d, value: number);
  constructor(options: { padding: Padding2d; value: number });
  constructor(...args: unknown[]) {
    const { padding, value } = paddingArgs('ConstantPad2d', args, true);
    super('constant', padding, { value });
  }
}

/** nn.ReflectionPad2d(padding): the input mirrored about its edges (each side's count below the input's size). */
export class ReflectionPad2d extends Pad2d {
  constructor(padding: Padding2d | { padding: Padding2d });
  constructor(...args: unknown[]) {
    super('reflect', paddingArgs('ReflectionPad2d', args, false).padding);
  }
}

/** nn.ReplicationPad2d(padding): the nearest edge element repeated. */
export class ReplicationPad2d extends Pad2d {
  constructor(padding: Padding2d | { padding: Padding2d });
  constructor(...args: unknown[]) {
    super('replicate', paddingArgs('ReplicationPad2d', args, false).padding);
  }
}

/** nn.CircularPad2d(padding) (PyTorch 2.1): the input wrapped around (each side's count at most the input's size). */
export class CircularPad2d extends Pad2d {
  constructor(padding: Padding2d | { padding: Padding2d });
  constructor(...args: unknown[]) {
    super('circular', paddingArgs('CircularPad2d', args, false).padding);
  }
}
