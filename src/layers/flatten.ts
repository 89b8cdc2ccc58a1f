/**
 * Flatten (PyTorch's nn.Flatten(start_dim=1)): [C, H, W] → [C·H·W]. No kernel: NCHW is already
 * laid out that way, so the output (and the gradient) is a view of the same buffer.
 */
import { Layer, shapeSize, type LayerProgram, type SampleShape } from './layer.js';

export class Flatten extends Layer {
  readonly type = 'Flatten';
  /** The plan makes the output a view of the input (and the input gradient one of the output's). */
  readonly view = true;

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
