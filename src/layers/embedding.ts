/**
 * Embedding (PyTorch's nn.Embedding): a lookup table [num_embeddings, embedding_dim]; an input of
 * token ids [*] (f32 whole numbers, exact below 2²⁴) gives [*, embedding_dim]. The weight is
 * drawn from N(0, 1), its padding_idx row zeroed, as PyTorch's reset_parameters. The weight's
 * gradient is gathered per row in ascending position order (no atomics, the same bits every run);
 * the padding row gets none. Ids are not differentiable: no layer with parameters may come before
 * an Embedding (the plan refuses it, src/plan/plan.ts). An id that is no row gives a NaN row on the
 * GPU, never a read outside the table; the Trainer refuses such ids in a split before training
 * (src/train/gpu-dataset.ts: idProblem). Kernels: src/kernels/embedding.ts. CPU reference:
 * src/reference/embedding.ts.
 */
import { NO_PADDING, embeddingBackwardWeight, embeddingForward } from '../kernels/embedding.js';
import { Layer, ShapeError, checkOptions, perBatch, positionalOptions, trueOrFalse, whole, type LayerBuild, type LayerProgram, type ParameterSpec, type SampleShape } from './layer.js';

export interface EmbeddingOptions {
  readonly numEmbeddings: number;
  readonly embeddingDim: number;
  /** A row that gets no gradient and starts at zeros (PyTorch's padding_idx; negative counts from the end). null or left out: none. */
  readonly paddingIdx?: number | null;
  /** PyTorch's max_norm: not supported (renormalising rows in the forward pass); only null. */
  readonly maxNorm?: number | null;
  /** PyTorch's norm_type (for max_norm): only 2, its default. */
  readonly normType?: number;
  /** PyTorch's scale_grad_by_freq: not supported; only false. */
  readonly scaleGradByFreq?: boolean;
  /** PyTorch's sparse gradients: not supported; only false. */
  readonly sparse?: boolean;
}

/** The largest table: ids travel as f32, whole numbers exact up to 2²⁴. */
export const MAX_EMBEDDINGS = 2 ** 24;

export class Embedding extends Layer {
  readonly type = 'Embedding';
  override readonly takesIds = true;
  readonly numEmbeddings: number;
  readonly embeddingDim: number;
  /** The padding row, from 0 (PyTorch's padding_idx after its negative form is resolved); undefined: none. */
  readonly paddingIdx?: number;

  /** `new Embedding(10000, 64)`, `new Embedding(10000, 64, { paddingIdx: 0 })`, or `new Embedding({ numEmbeddings, embeddingDim, paddingIdx })`. */
  constructor(options: EmbeddingOptions);
  constructor(numEmbeddings: number, embeddingDim: number, options?: Omit<EmbeddingOptions, 'numEmbeddings' | 'embeddingDim'>);
  constructor(numEmbeddings: number, embeddingDim: number, paddingIdx: number | null, options?: Omit<EmbeddingOptions, 'numEmbeddings' | 'embeddingDim' | 'paddingIdx'>);
  constructor(first: EmbeddingOptions | number, ...rest: unknown[]) {
    super();
    const known = ['numEmbeddings', 'embeddingDim', 'paddingIdx', 'maxNorm', 'normType', 'scaleGradByFreq', 'sparse'] as const;
    if (typeof first !== 'number' && rest.length > 0) throw new RangeError('Embedding: an options object takes no other arguments');
    const o: EmbeddingOptions =
      typeof first === 'number'
        ? positionalOptions<EmbeddingOptions>('Embedding', [first, ...rest], ['numEmbeddings', 'embeddingDim', 'paddingIdx', 'maxNorm', 'normType', 'scaleGradByFreq', 'sparse'], known)
        : checkOptions('Embedding', first, known);
    this.numEmbeddings = whole('Embedding', 'num_embeddings', o.numEmbeddings);
    if (this.numEmbeddings > MAX_EMBEDDINGS) throw new RangeError(`Embedding: num_embeddings must be at most 2^24 = ${MAX_EMBEDDINGS} (ids travel as float32, whole numbers exact up to there), got ${this.numEmbeddings}`);
    this.embeddingDim = whole('Embedding', 'embedding_dim', o.embeddingDim);
    if (o.paddingIdx !== undefined && o.paddingIdx !== null) {
      const p = o.paddingIdx;
      // PyTorch: "Padding_idx must be within num_embeddings".
      if (typeof p !== 'number' || !Number.isInteger(p) || p < -this.numEmbeddings || p >= this.numEmbeddings) {
        throw new RangeError(`Embedding: padding_idx must be a whole number within num_embeddings (from ${-this.numEmbeddings} to ${this.numEmbeddings - 1}), got ${JSON.stringify(p)}`);
      }
      this.paddingIdx = p < 0 ? p + this.numEmbeddings : p;
    }
    if (o.maxNorm !== undefined && o.maxNorm !== null) throw new RangeError(`Embedding: max_norm is not supported (it renormalises the rows it reads in the forward pass); got ${JSON.stringify(o.maxNorm)}, give null or leave it out`);
    if (o.normType !== undefined && o.normType !== 2) throw new RangeError(`Embedding: norm_type applies with max_norm, which is not supported; only its default 2 is taken, got ${JSON.stringify(o.normType)}`);
    if (trueOrFalse('Embedding', 'scale_grad_by_freq', o.scaleGradByFreq, false)) throw new RangeError('Embedding: scale_grad_by_freq is not supported; give false or leave it out');
    if (trueOrFalse('Embedding', 'sparse', o.sparse, false)) throw new RangeError('Embedding: sparse gradients are not supported (the weight gradient is dense here); give false or leave it out');
  }

  /** Token ids [*] → [*, embedding_dim]. */
  outputShape(input: SampleShape): SampleShape {
    if (input.length < 1) throw new ShapeError(`expects an input of token ids of shape [L], got [${input.join(', ')}]`);
    return [...input, this.embeddingDim];
  }

  override parameterSpecs(): ParameterSpec[] {
    return [{ name: 'weight', shape: [this.numEmbeddings, this.embeddingDim], init: { normal: 1, ...(this.paddingIdx === undefined ? {} : { zeroRow: this.paddingIdx }) } }];
  }

  config() {
    return { num_embeddings: this.numEmbeddings, embedding_dim: this.embeddingDim, padding_idx: this.paddingIdx };
  }

  lower(b: LayerBuild): LayerProgram {
    const { ctx, path, input, output, dOutput, dInput } = b;
    // The plan puts no layer with parameters before an Embedding, so none asks for its input's gradient.
    if (dInput) throw new Error(`layer '${path}' (Embedding): its input is token ids, which have no gradient`);
    const weight = b.parameters.weight!;
    const positions = (batch: number) => batch * b.inShape.reduce((a, v) => a * v, 1);
    const [numEmbeddings, dim] = [this.numEmbeddings, this.embeddingDim];
    const forward = perBatch(async (batch) => [
      (await ctx.compile(embeddingForward)).bind({ ids: input, weight: weight.value, y: output }, { count: positions(batch) * dim, dim, numEmbeddings }, `${path} embedding forward`),
    ]);
    const backward = perBatch(async (batch) =>
      !dOutput
        ? []
        : [
            (await ctx.compile(embeddingBackwardWeight)).bind(
              { ids: input, dy: dOutput, dweight: weight.grad },
              { positions: positions(batch), dim, numEmbeddings, padding: this.paddingIdx ?? NO_PADDING },
              `${path} embedding weight gradient`,
            ),
          ],
    );
    return { forward: (batch) => forward(batch), backward };
  }
}
