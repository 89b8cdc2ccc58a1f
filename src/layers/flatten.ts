/**
 * Flatten (PyTorch's nn.Flatten(start_dim=1)): [C, H, W] → [C·H·W], its inverse Unflatten
 * (nn.Unflatten: [C·H·W] → [C, H, W], a decoder's start after a Linear), and Identity. No kernel:
 * NCHW is already laid out that way, so the output (and the gradient) is a view of the same buffer.
 */
import { Layer, ShapeError, checkOptions, shapeSize, type LayerProgram, type SampleShape } from './layer.js';

export class Flatten extends Layer {
  readonly type = 'Flatten';
  /** The plan makes the output a view of the input (and the input gradient one of the output's). */
  override readonly view = true;

  /** PyTorch's defaults only (start_dim 1, end_dim −1: each sample whole); any other is refused. */
  constructor(startDim?: number | { readonly startDim?: number; readonly endDim?: number }, endDim?: number) {
    super();
    const o = typeof startDim === 'object' && startDim !== null ? checkOptions('Flatten', startDim, ['startDim', 'endDim']) : { startDim, endDim };
    if ((o.startDim ?? 1) !== 1 || (o.endDim ?? -1) !== -1) {
      throw new RangeError(`Flatten: only start_dim 1 and end_dim -1 (each sample flattened whole), got ${JSON.stringify({ startDim: o.startDim, endDim: o.endDim })}`);
    }
  }

  outputShape(input: SampleShape): SampleShape {
    return [shapeSize(input)];
  }

  config() {
    return { start_dim: 1 };
  }

  lower(): LayerProgram {
    return { forward: async () => [], backward: async () => [] };
  }
}

/**
 * PyTorch's nn.Unflatten(dim, unflattened_size): one dimension of each sample split into several
 * (dim counts the batch's as PyTorch's: 1 is a sample's first; negative from the last), one size
 * −1 inferred. A view: no kernel.
 */
export class Unflatten extends Layer {
  readonly type = 'Unflatten';
  override readonly view = true;
  readonly dim: number;
  readonly unflattenedSize: readonly number[];

  constructor(dim: number | { readonly dim: number; readonly unflattenedSize: readonly number[] }, unflattenedSize?: readonly number[]) {
    super();
    const o = typeof dim === 'object' && dim !== null ? checkOptions('Unflatten', dim, ['dim', 'unflattenedSize']) : { dim, unflattenedSize };
    if (typeof o.dim !== 'number' || !Number.isInteger(o.dim) || o.dim === 0) throw new RangeError(`Unflatten: dim must be a whole number other than 0 (the batch's dimension), got ${JSON.stringify(o.dim)}`);
    const sizes = o.unflattenedSize;
    if (!Array.isArray(sizes) || sizes.length === 0 || !sizes.every((v) => Number.isInteger(v) && (v >= 1 || v === -1)) || sizes.filter((v) => v === -1).length > 1) {
      throw new RangeError(`Unflatten: unflattened_size must be a list of whole numbers ≥ 1 (one of them may be -1, inferred), got ${JSON.stringify(sizes)}`);
    }
    this.dim = o.dim;
    this.unflattenedSize = [...sizes];
  }

  outputShape(input: SampleShape): SampleShape {
    // PyTorch's dim counts the batch's: dim d is the sample's d − 1, a negative one from the end.
    const at = this.dim > 0 ? this.dim - 1 : input.length + this.dim;
    if (at < 0 || at >= input.length) throw new ShapeError(`dim ${this.dim} is not a dimension of a sample [${input.join(', ')}] (the batch's dimension is 0)`);
    const known = this.unflattenedSize.filter((v) => v !== -1).reduce((a, b) => a * b, 1);
    const size = input[at]!;
    const sizes = this.unflattenedSize.map((v) => (v === -1 ? size / known : v));
    if (!sizes.every((v) => Number.isInteger(v) && v >= 1) || shapeSize(sizes) !== size) {
      throw new ShapeError(`unflattened_size [${this.unflattenedSize.join(', ')}] does not split dimension ${this.dim} of size ${size} (input [${input.join(', ')}]: the sizes' product must be ${size})`);
    }
    return [...input.slice(0, at), ...sizes, ...input.slice(at + 1)];
  }

  config() {
    return { dim: this.dim, unflattened_size: [...this.unflattenedSize] };
  }

  lower(): LayerProgram {
    return { forward: async () => [], backward: async () => [] };
  }
}

/** PyTorch's nn.Identity: the input as it is (a view: no kernel). Its arguments are accepted and ignored, as PyTorch's. */
export class Identity extends Layer {
  readonly type = 'Identity';
  override readonly view = true;

  constructor(..._args: unknown[]) {
    super();
  }

  outputShape(input: SampleShape): SampleShape {
    return input;
  }

  config() {
    return {};
  }

  lower(): LayerProgram {
    return { forward: async () => [], backward: async () => [] };
  }
}
