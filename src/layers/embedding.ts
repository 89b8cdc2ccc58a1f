/**
 * Embedding (PyTorch's nn.Embedding): a lookup table [num_embeddings, embedding_dim]; an input of
 * token ids [*] (f32 whole numbers, exact below 2²⁴) gives [*, embedding_dim]. The weight is
 * drawn from N(0, 1), its padding_idx row zeroed, as PyTorch's reset_parameters. The weight's
 * gradient is gathered per row in ascending position order (no atomics, the same bits every run):
 * the ids are sorted as (row, position) keys (src/kernels/embedding.ts), the gradient zeroed, and
 * where a row's run of keys starts its dy rows are summed; the padding row gets none. scale_grad_by_freq divides each row's gradient by the number
 * of positions in the batch whose id is its row. max_norm renormalises, before the lookup and in
 * every mode (training and eval, as PyTorch's F.embedding), each row the batch's ids name whose
 * norm exceeds max_norm: the weight is changed in place, outside the gradient, between one step's
 * optimizer update and the next (the optimizer's state is not touched, as in PyTorch); the
 * gradient is the plain one at the renormed weight. Ids are not differentiable: no layer with parameters may come before
 * an Embedding (the plan refuses it, src/plan/plan.ts). An id that is no row gives a NaN row on the
 * GPU, never a read outside the table; the Trainer refuses such ids in a split before training
 * (src/train/gpu-dataset.ts: idProblem). Kernels: src/kernels/embedding.ts. CPU reference:
 * src/reference/embedding.ts.
 */
import { NO_PADDING, embeddingBackwardWeight, embeddingForward, embeddingRenorm, embeddingSort, sortStages, sortedKeys } from '../kernels/embedding.js';
import { Layer, ShapeError, checkOptions, perBatch, positionalOptions, shownValue, trueOrFalse, whole, type LayerBuild, type LayerProgram, type ParameterSpec, type SampleShape } from './layer.js';

export interface EmbeddingOptions {
  readonly numEmbeddings: number;
  readonly embeddingDim: number;
  /** A row that gets no gradient and starts at zeros (PyTorch's padding_idx; negative counts from the end). null or left out: none. */
  readonly paddingIdx?: number | null;
  /**
   * PyTorch's max_norm: each row the forward pass's ids name whose norm exceeds it is scaled in
   * place to norm max_norm (by max_norm / (norm + 1e-7)), before the lookup, in training and in
   * eval. A positive number; null or left out: none.
   */
  readonly maxNorm?: number | null;
  /** PyTorch's norm_type: the p of max_norm's p-norm, a positive number or Infinity (default 2). */
  readonly normType?: number;
  /** PyTorch's scale_grad_by_freq: each row's gradient divided by the number of positions in the batch whose id is its row (default false). */
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
  /** PyTorch's max_norm; undefined: none. */
  readonly maxNorm?: number;
  /** PyTorch's norm_type (used with max_norm). */
  readonly normType: number;
  readonly scaleGradByFreq: boolean;

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
    if (o.maxNorm !== undefined && o.maxNorm !== null) {
      if (typeof o.maxNorm !== 'number' || !Number.isFinite(o.maxNorm) || o.maxNorm <= 0) throw new RangeError(`Embedding: max_norm must be a positive number (or null: none), got ${shownValue(o.maxNorm)}`);
      this.maxNorm = o.maxNorm;
    }
    // PyTorch takes any float; p ≤ 0 is no norm (p = 0 counts non-zeros), refused here.
    if (o.normType !== undefined && (typeof o.normType !== 'number' || Number.isNaN(o.normType) || o.normType <= 0)) throw new RangeError(`Embedding: norm_type must be a positive number or Infinity (the p of max_norm's p-norm), got ${shownValue(o.normType)}`);
    this.normType = o.normType ?? 2;
    this.scaleGradByFreq = trueOrFalse('Embedding', 'scale_grad_by_freq', o.scaleGradByFreq, false);
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
    return {
      num_embeddings: this.numEmbeddings, embedding_dim: this.embeddingDim, padding_idx: this.paddingIdx,
      ...(this.maxNorm === undefined ? {} : { max_norm: this.maxNorm }),
      ...(this.normType === 2 ? {} : { norm_type: this.normType }),
      ...(this.scaleGradByFreq ? { scale_grad_by_freq: true } : {}),
    };
  }

  lower(b: LayerBuild): LayerProgram {
    const { ctx, path, input, output, dOutput, dInput } = b;
    // The plan puts no layer with parameters before an Embedding, so none asks for its input's gradient.
    if (dInput) throw new Error(`layer '${path}' (Embedding): its input is token ids, which have no gradient`);
    const weight = b.parameters.weight!;
    const positions = (batch: number) => batch * b.inShape.reduce((a, v) => a * v, 1);
    const [numEmbeddings, dim] = [this.numEmbeddings, this.embeddingDim];
    // The ids sorted as (row, position) keys (embedding_sort): made in the forward pass where
    // max_norm renorms the rows they name, else in the backward pass, whose gradient reads them.
    const keys = ctx.tensor<'u32'>(`${path} sorted ids`, [2 * sortedKeys(positions(b.maxBatch))], { dtype: 'u32' });
    const sort = perBatch(async (batch) => {
      const kernel = await ctx.compile(embeddingSort);
      return sortStages(positions(batch)).map((s) => kernel.bind({ ids: input, keys }, { ...s, positions: positions(batch), numEmbeddings }, `${path} embedding sort`));
    });
    const maxNorm = this.maxNorm;
    const normVariant = this.normType === 2 ? {} : this.normType === 1 ? { L1: true } : this.normType === Infinity ? { INF: true } : { POWER: true };
    const forward = perBatch(async (batch) => [
      ...(maxNorm === undefined
        ? []
        : [
            ...(await sort(batch)),
            (await ctx.compile(embeddingRenorm, normVariant)).bind(
              { keys, weight: weight.value },
              // POWER's p (the other variants do not read it; Infinity is no f32 a uniform should carry).
              { count: sortedKeys(positions(batch)), dim, numEmbeddings, maxNorm, normType: Number.isFinite(this.normType) ? this.normType : 0 },
              `${path} embedding max_norm renorm`,
            ),
          ]),
      (await ctx.compile(embeddingForward)).bind({ ids: input, weight: weight.value, y: output }, { count: positions(batch) * dim, dim, numEmbeddings }, `${path} embedding forward`),
    ]);
    const backward = perBatch(async (batch) => {
      if (!dOutput) return [];
      const gradient = await ctx.compile(embeddingBackwardWeight, { SCALE_BY_FREQ: this.scaleGradByFreq });
      return [
        ...(maxNorm === undefined ? await sort(batch) : []),
        // Stage 0 zeroes the gradient, stage 1 writes the rows the ids name.
        ...[0, 1].map((stage) =>
          gradient.bind(
            { keys, dy: dOutput, dweight: weight.grad },
            { count: sortedKeys(positions(batch)), positions: positions(batch), dim, numEmbeddings, padding: this.paddingIdx ?? NO_PADDING, stage },
            `${path} embedding weight gradient${stage === 0 ? ' (zeros)' : ''}`,
          ),
        ),
      ];
    });
    return { forward: (batch) => forward(batch), backward };
  }
}
