/**
 * Linear (PyTorch's nn.Linear): y = x·Wᵀ + b, W [out, in]. Lowers onto src/kernels/dense.ts (the
 * bias and a ReLU after it added by the forward kernel: variants BIAS, RELU; a ReLU before it has
 * its gradient applied by the input gradient: RELU_MASK; the bias's gradient summed by the
 * weight gradient's kernel: ROW_SUMS).
 */
import { compileDense, defaultDenseTile, type DenseKernelName } from '../kernels/dense.js';
import type { Dispatch } from '../gpu/context.js';
import { Layer, ShapeError, checkOptions, positionalOptions, perBatch, trueOrFalse, whole, type LayerBuild, type LayerProgram, type ParameterSpec, type SampleShape } from './layer.js';

export interface LinearOptions {
  /** Inferred from the input when left out; checked when given. */
  readonly inFeatures?: number;
  readonly outFeatures: number;
  /** Default true, as PyTorch. */
  readonly bias?: boolean;
}

export class Linear extends Layer {
  readonly type = 'Linear';
  readonly inFeatures?: number;
  readonly outFeatures: number;
  readonly bias: boolean;

  /** `new Linear({ outFeatures: 10 })`, or PyTorch's positional form `new Linear(784, 10)` (then `{ bias: false }` if need be). */
  constructor(options: LinearOptions);
  constructor(inFeatures: number, outFeatures: number, options?: Pick<LinearOptions, 'bias'>);
  constructor(first: LinearOptions | number, ...rest: unknown[]) {
    super();
    const known = ['inFeatures', 'outFeatures', 'bias'] as const;
    if (typeof first !== 'number' && rest.length > 0) throw new RangeError('Linear: an options object takes no other arguments');
    const options: LinearOptions = typeof first === 'number' ? positionalOptions<LinearOptions>('Linear', [first, ...rest], ['inFeatures', 'outFeatures'], known) : checkOptions('Linear', first, known);
    this.inFeatures = options.inFeatures === undefined ? undefined : whole('Linear', 'in_features', options.inFeatures);
    this.outFeatures = whole('Linear', 'out_features', options.outFeatures);
    this.bias = trueOrFalse('Linear', 'bias', options.bias, true);
  }

  /** [..., in_features] → [..., out_features], as PyTorch's: the last dimension is the features, any before it rows of their own. */
  outputShape(input: SampleShape): SampleShape {
    const features = input[input.length - 1]!;
    if (this.inFeatures !== undefined && features !== this.inFeatures) {
      throw new ShapeError(`in_features is ${this.inFeatures} but the input${input.length > 1 ? ` [${input.join(', ')}]` : ''} has ${features} features${input.length > 1 ? ' in its last dimension (a Linear applies to the last dimension, as PyTorch\'s; put a Flatten before it to take them all)' : ''}`);
    }
    return [...input.slice(0, -1), this.outFeatures];
  }

  override parameterSpecs(input: SampleShape): ParameterSpec[] {
    const features = input[input.length - 1]!;
    const bound = 1 / Math.sqrt(features);
    const specs: ParameterSpec[] = [{ name: 'weight', shape: [this.outFeatures, features], init: { uniform: bound } }];
    if (this.bias) specs.push({ name: 'bias', shape: [this.outFeatures], init: { uniform: bound } });
    return specs;
  }

  config() {
    return { in_features: this.inFeatures, out_features: this.outFeatures, bias: this.bias };
  }

  lower(b: LayerBuild): LayerProgram {
    // Leading dimensions ([L, in]) are rows of their own: the dense kernels run batch · L rows.
    const features = b.inShape[b.inShape.length - 1]!;
    return lowerDense(b, { inFeatures: features, outFeatures: this.outFeatures, kind: 'linear', rowsPerSample: b.inShape.slice(0, -1).reduce((a, v) => a * v, 1) });
  }
}

/**
 * A layer as the dense kernels run it, y[b, o] = Σ_i x[b, i] · W[o, i] (+ bias[o]), over
 * batch · rowsPerSample rows b (a Linear on [L, in] samples: L rows a sample, so the weight's and
 * the bias's gradients sum over every row of the batch): a Linear, or a
 * Conv2d that is one in effect (Conv2d.runsAsDense: a 1×1 kernel on a 1×1 plane, its weight
 * [out, in, 1, 1] laid out as a Linear's [out, in]). The bias and a ReLU after the layer
 * (relu-epilogue) are added as the sums are stored (dense_forward's BIAS, RELU), and a ReLU before
 * it has its gradient applied as the input gradient is stored (dense_backward_input's RELU_MASK,
 * relu-grad-in-input-gradient). `kind` names the dispatches (`linear forward`, `conv forward`).
 */
export function lowerDense(b: LayerBuild, layer: { readonly inFeatures: number; readonly outFeatures: number; readonly kind: 'linear' | 'conv'; readonly rowsPerSample?: number }): LayerProgram {
  const { ctx, path, input, output, dOutput, dInput } = b;
  const { inFeatures, outFeatures, kind } = layer;
  const rows = layer.rowsPerSample ?? 1;
  const weight = b.parameters.weight!;
  const bias = b.parameters.bias;
  const relu = b.fusion.reluEpilogue === true;
  const shape = (batch: number) => ({ batch: batch * rows, inFeatures, outFeatures });
  // Each kernel's tile: tuned at the largest batch (src/tune/), else the default; any tile sums
  // in the same order, so the choice changes speed, not results.
  const full = shape(b.maxBatch);
  const tile = (name: DenseKernelName) => b.tiles?.(name, full) ?? defaultDenseTile(name, full, ctx.adapter.subgroupSize);
  // The bias and the ReLU after it (relu-epilogue) added as the sums are stored (variants BIAS, RELU).
  const forward = perBatch(async (batch): Promise<Dispatch[]> => [
    (await compileDense(ctx, 'dense_forward', tile('dense_forward'), { BIAS: bias !== undefined, RELU: relu })).bind(
      { x: input, weight: weight.value, y: output, ...(bias ? { bias: bias.value } : {}) },
      shape(batch),
      relu ? `${path} ${kind} and relu forward` : `${path} ${kind} forward`,
    ),
  ]);
  const backward = perBatch(async (batch): Promise<Dispatch[]> => {
    if (!dOutput) return [];
    // The bias's gradient summed by the same kernel from the dy it loads (ROW_SUMS).
    const list: Dispatch[] = [
      (await compileDense(ctx, 'dense_backward_weight', tile('dense_backward_weight'), { ROW_SUMS: bias !== undefined })).bind(
        { dy: dOutput, x: input, dweight: weight.grad, ...(bias ? { dbias: bias.grad } : {}) },
        shape(batch),
        bias ? `${path} ${kind} weight and bias gradient` : `${path} ${kind} weight gradient`,
      ),
    ];
    // The ReLU before it (relu-grad-in-input-gradient): dInput passed where its output, this layer's input, is positive.
    const reluMask = b.fusion.reluInput === true;
    if (dInput) {
      list.push(
        (await compileDense(ctx, 'dense_backward_input', tile('dense_backward_input'), { RELU_MASK: reluMask })).bind(
          { dy: dOutput, weight: weight.value, dx: dInput, ...(reluMask ? { reluOut: input } : {}) },
          shape(batch),
          reluMask ? `${path} ${kind} and relu input gradient` : `${path} ${kind} input gradient`,
        ),
      );
    }
    return list;
  });
  return { forward: (batch) => forward(batch), backward };
}
