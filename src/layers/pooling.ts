/**
 * Pooling: MaxPool2d (kernel 2, stride 2, floor mode; ties go to the first maximum in row-major
 * window order, NaN propagates) and AvgPool2d over the whole map (global average pooling, as the
 * seed CNN's `nn.AvgPool2d(kernel_size=6)` on a 6×6 map). Kernels: src/kernels/pooling.ts.
 */
import { globalAvgPoolBackward, globalAvgPoolForward, maxpool2x2Backward, maxpool2x2Forward, maxpoolVariant } from '../kernels/pooling.js';
import type { Tensor } from '../gpu/tensor.js';
import { Layer, ShapeError, perBatch, whole, type LayerBuild, type LayerProgram, type SampleShape, type WorkspaceSpec, positionalOptions } from './layer.js';

const chw = (input: SampleShape) => {
  if (input.length !== 3) throw new ShapeError(`expects an input of shape [C, H, W], got [${input.join(', ')}]`);
  return input as readonly [number, number, number];
};

export interface MaxPool2dOptions {
  readonly kernelSize?: number;
  /** Default: kernelSize. */
  readonly stride?: number;
}

export class MaxPool2d extends Layer {
  readonly type = 'MaxPool2d';
  readonly kernelSize: number;
  readonly stride: number;

  /**
   * `new MaxPool2d(2)`, `new MaxPool2d(2, 2)` or `new MaxPool2d({ kernelSize: 2, stride: 2 })`.
   * PyTorch's later arguments (padding, dilation, ceil_mode) are refused: dropped, they would pool
   * another window than PyTorch's.
   */
  constructor(options?: MaxPool2dOptions);
  constructor(kernelSize?: number, stride?: number);
  constructor(...args: unknown[]) {
    super();
    const o = positionalOptions<MaxPool2dOptions>('MaxPool2d', args, ['kernelSize', 'stride'], ['kernelSize', 'stride']);
    this.kernelSize = whole('MaxPool2d', 'kernel_size', o.kernelSize ?? 2);
    this.stride = whole('MaxPool2d', 'stride', o.stride ?? this.kernelSize);
    if (this.kernelSize !== 2 || this.stride !== 2) {
      throw new RangeError(`MaxPool2d: kernel_size ${this.kernelSize}, stride ${this.stride}: only kernel_size 2 with stride 2 has a kernel so far`);
    }
  }

  outputShape(input: SampleShape): SampleShape {
    const [c, h, w] = chw(input);
    if (h < 2 || w < 2) throw new ShapeError(`a 2×2 window does not fit the ${h}×${w} input [${input.join(', ')}]`);
    return [c, Math.floor(h / 2), Math.floor(w / 2)];
  }

  override workspaceSpecs(input: SampleShape): WorkspaceSpec[] {
    return [{ name: 'argmax', shape: this.outputShape(input), dtype: 'u32' }];
  }

  config() {
    return { kernel_size: this.kernelSize, stride: this.stride };
  }

  lower(b: LayerBuild): LayerProgram {
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
    const backward = perBatch(async (batch) =>
      !dOutput || !dInput
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

/** AvgPool2d whose window is the whole input map (kernel_size = H = W, stride = kernel_size). */
export class AvgPool2d extends Layer {
  readonly type = 'AvgPool2d';
  /** undefined: the whole map, whatever its size (global average pooling). */
  readonly kernelSize?: number;

  /**
   * `new AvgPool2d()`, `new AvgPool2d(6)` or `new AvgPool2d({ kernelSize: 6 })`; PyTorch's later
   * arguments (stride, padding, …) are refused: dropped, they would pool another window.
   */
  constructor(options?: { readonly kernelSize?: number });
  constructor(kernelSize?: number);
  constructor(...args: unknown[]) {
    super();
    const { kernelSize } = positionalOptions<{ kernelSize?: number }>('AvgPool2d', args, ['kernelSize'], ['kernelSize']);
    this.kernelSize = kernelSize === undefined ? undefined : whole('AvgPool2d', 'kernel_size', kernelSize);
  }

  outputShape(input: SampleShape): SampleShape {
    const [c, h, w] = chw(input);
    if (this.kernelSize !== undefined && (h !== this.kernelSize || w !== this.kernelSize)) {
      throw new ShapeError(`kernel_size ${this.kernelSize} must cover the whole ${h}×${w} map of the input [${input.join(', ')}] (only global average pooling has a kernel so far)`);
    }
    return [c, 1, 1];
  }

  config() {
    return { kernel_size: this.kernelSize };
  }

  lower(b: LayerBuild): LayerProgram {
    const { ctx, path, input, output, dOutput, dInput } = b;
    const [channels, height, width] = b.inShape as [number, number, number];
    const p = (batch: number) => ({ planes: batch * channels, area: height * width });
    const forward = perBatch(async (batch) => [(await ctx.compile(globalAvgPoolForward)).bind({ x: input, y: output }, p(batch), `${path} avgpool forward`)]);
    const backward = perBatch(async (batch) =>
      !dOutput || !dInput ? [] : [(await ctx.compile(globalAvgPoolBackward)).bind({ dy: dOutput, dx: dInput }, p(batch), `${path} avgpool backward`)],
    );
    return { forward: (batch) => forward(batch), backward };
  }
}
