/**
 * The two ends of a residual block (the container: `Residual` in src/layers/sequential.ts). A block
 * `body(x) + shortcut(x)` runs in the plan's one chain as
 *
 *   ResidualInput → body's layers → shortcut's layers (from the block's input again) → ResidualAdd
 *
 * ResidualInput hands its input on as a view; its backward adds the body's input gradient (its
 * own output gradient) to the shortcut's, which the network leaves where it writes this node's
 * input gradient. ResidualAdd sums the two branches' outputs; its backward hands its output
 * gradient on in place to the shortcut and keeps a copy for the body (src/plan/network.ts gives
 * each its gradient slots). Neither has parameters, and no fusion rule takes either
 * (src/plan/fusion.ts). Kernel: src/kernels/residual.ts. CPU reference: the sums in
 * src/reference/network.ts.
 */
import { residualAdd, residualVariant } from '../kernels/residual.js';
import { Layer, perBatch, shapeSize, type LayerBuild, type LayerProgram, type SampleShape } from './layer.js';

/** A block's input: a view of it, and the sum of the two branches' gradients there (not in place: the body's and the shortcut's are apart). */
export class ResidualInput extends Layer {
  readonly type = 'ResidualInput';
  override readonly view = true;

  outputShape(input: SampleShape): SampleShape {
    return input;
  }
  config() {
    return {};
  }
  lower(b: LayerBuild): LayerProgram {
    const { ctx, path, dInput, dOutput } = b;
    const length = (batch: number) => batch * shapeSize(b.inShape);
    // dInput holds the shortcut's input gradient already; dOutput is the body's.
    const backward = perBatch(async (batch) =>
      !dInput || !dOutput ? [] : [(await ctx.compile(residualAdd, { ACCUMULATE: true, ...residualVariant(length(batch)) })).bind({ x: dInput, other: dOutput }, { length: length(batch) }, `${path} residual gradient sum`)],
    );
    return { forward: async () => [], backward };
  }
}

/** A block's output: the body's output plus the shortcut's (or the block's input). */
export class ResidualAdd extends Layer {
  readonly type = 'Residual';

  outputShape(input: SampleShape): SampleShape {
    return input;
  }
  config() {
    return {};
  }
  /** The output gradient is the body's and the shortcut's, as it is: handed on in place. */
  override inputGradientInPlace(): boolean {
    return true;
  }
  lower(b: LayerBuild): LayerProgram {
    const { ctx, path, input, output, dOutput, residual } = b;
    if (!residual?.other) throw new Error(`${path}: a residual block's sum needs the other branch's output`);
    const other = residual.other;
    const length = (batch: number) => batch * shapeSize(b.inShape);
    // The ReLU after the block (residual-relu), applied as the sum is stored.
    const relu = b.fusion.reluEpilogue === true;
    const forward = perBatch(async (batch) => [(await ctx.compile(residualAdd, { RELU: relu, ...residualVariant(length(batch)) })).bind({ x: input, other, y: output }, { length: length(batch) }, `${path} residual sum${relu ? ' and relu' : ''}`)]);
    const backward = perBatch(async (batch) =>
      !dOutput || !residual.kept ? [] : [(await ctx.compile(residualAdd, { COPY: true, ...residualVariant(length(batch)) })).bind({ x: dOutput, y: residual.kept }, { length: length(batch) }, `${path} residual gradient kept`)],
    );
    return { forward: (batch) => forward(batch), backward };
  }
}
