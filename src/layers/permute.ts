/**
 * Permute (torchvision.ops.Permute: torch.permute as a module) over a sample's dimensions, the
 * batch dimension kept first: `new Permute([1, 0])` turns [L, D] samples into [D, L] (a Conv1d
 * after an Embedding). torchvision's own form, whose dims count the batch as 0 and keep it there
 * (`Permute([0, 2, 1])`), is taken too: a list one longer than the sample's rank. Samples of rank
 * 2–4. The gradient is the inverse permutation. Kernel: src/kernels/permute.ts. CPU reference:
 * src/reference/permute.ts.
 */
import { inversePermutation, permute, permuteParams } from '../kernels/permute.js';
import { Layer, ShapeError, checkOptions, perBatch, type LayerBuild, type LayerProgram, type SampleShape } from './layer.js';

export class Permute extends Layer {
  readonly type = 'Permute';
  /** As given: the sample's dimensions (rank of them), or torchvision's with the batch (rank + 1, dims[0] = 0). */
  readonly dims: readonly number[];

  constructor(dims: readonly number[] | { readonly dims: readonly number[] });
  constructor(...args: unknown[]) {
    super();
    if (args.length !== 1) throw new RangeError(`Permute: expected one argument (dims, a list) or an options object, got ${args.length}`);
    const value = args[0];
    const dims = typeof value === 'object' && value !== null && !Array.isArray(value) ? (checkOptions('Permute', value as { dims: unknown }, ['dims']).dims) : value;
    if (!Array.isArray(dims) || dims.length < 2 || !dims.every((d) => Number.isInteger(d))) {
      throw new RangeError(`Permute: dims must be a list of at least two whole numbers (a permutation of the sample's dimensions, such as [1, 0]), got ${JSON.stringify(dims)}`);
    }
    this.dims = [...(dims as number[])];
  }

  /** The permutation of the sample's dimensions for this rank (throws a ShapeError naming the dims otherwise). */
  sampleDims(rank: number): number[] {
    const given = this.dims;
    const withBatch = given.length === rank + 1;
    if (given.length !== rank && !withBatch) {
      throw new ShapeError(`dims ${JSON.stringify(given)} has ${given.length} entries; the input's samples have ${rank} dimensions (give ${rank}, the batch dimension staying first, or torchvision's ${rank + 1} with the batch as 0)`);
    }
    const span = given.length;
    const dims = given.map((d) => (d < 0 ? d + span : d));
    if (!dims.every((d) => d >= 0 && d < span) || new Set(dims).size !== span) throw new ShapeError(`dims ${JSON.stringify(given)} is not a permutation of 0 … ${span - 1}`);
    if (!withBatch) return dims;
    if (dims[0] !== 0) throw new ShapeError(`dims ${JSON.stringify(given)} moves the batch dimension (0): it stays first here (give dims over the sample's dimensions)`);
    return dims.slice(1).map((d) => d - 1);
  }

  outputShape(input: SampleShape): SampleShape {
    if (input.length < 2 || input.length > 4) throw new ShapeError(`expects samples of 2 to 4 dimensions, got [${input.join(', ')}]`);
    return this.sampleDims(input.length).map((d) => input[d]!);
  }

  config() {
    return { dims: [...this.dims] };
  }

  lower(b: LayerBuild): LayerProgram {
    const { ctx, path, input, output, dOutput, dInput } = b;
    const dims = this.sampleDims(b.inShape.length);
    const forward = perBatch(async (batch) => [(await ctx.compile(permute)).bind({ x: input, y: output }, permuteParams(b.inShape, dims, batch), `${path} permute`)]);
    // The output's gradient permuted back: the output's shape under the inverse permutation.
    const backward = perBatch(async (batch) =>
      !dOutput || !dInput ? [] : [(await ctx.compile(permute)).bind({ x: dOutput, y: dInput }, permuteParams(b.outShape, inversePermutation(dims), batch), `${path} permute gradient`)],
    );
    return { forward: (batch) => forward(batch), backward };
  }
}
