/**
 * Flatten (PyTorch's nn.Flatten(start_dim=1)): [C, H, W] → [C·H·W], and Identity. No kernel: NCHW
 * is already laid out that way, so the output (and the gradient) is a view of the same buffer.
 */
import { Layer, checkOptions, shapeSize, type LayerProgram, type SampleShape } from './layer.js';

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
