/**
 * PyTorch's nn.MultiheadAttention(embed_dim, num_heads, dropout=0, bias=True, batch_first=True)
 * used as self-attention (query = key = value = the input): a sample is [L, E], the output
 * attn_output [L, E] (the first element of the tuple PyTorch returns; the averaged attention
 * weights are not an output). Parameters under PyTorch's state_dict names, shapes and init:
 * `in_proj_weight` [3E, E] (the q, k, v blocks; xavier_uniform_, U(±√(6 / 4E))), `in_proj_bias`
 * [3E] (zeros), `out_proj.weight` [E, E] (nn.Linear's kaiming_uniform(a = √5): U(±1/√E)),
 * `out_proj.bias` [E] (zeros); bias=False has neither bias, as PyTorch. `isCausal: true` masks the
 * keys after each query (PyTorch's is_causal, or a generate_square_subsequent_mask attn_mask).
 * `dropout` p drops out the attention weights in training, as PyTorch's (P ⊙ M before P·v, M 0 or
 * 1/(1 − p)), the mask drawn as a Dropout layer's (Philox, the seed, this layer's random stream, the
 * step; src/kernels/dropout.ts's dropout_forward over the weights); none in eval.
 * Refused, naming PyTorch's option: batch_first=False, add_bias_kv, add_zero_attn, kdim / vdim ≠
 * embed_dim, embed_dim not divisible by num_heads.
 *
 * GPU schedule: qkv = x · W_inᵀ + b_in (dense_forward on the [batch · L, E] view), then
 * attention_scores (P, one invocation a query row), in training with dropout dropout_forward
 * (P ⊙ M, kept apart from P), and attention_values (O = P v, one an output element), then
 * y = O · W_outᵀ + b_out (dense_forward). Backward: the output projection's
 * gradients and dO (dense kernels), attention_backward_values (dV = Pᵀ dO, reading P),
 * attention_backward_scores (dS, in place over P), attention_backward_qk (dQ, dK), then the input
 * projection's weight, bias and input gradients (dense kernels). Deterministic: no atomics, every
 * sum in a fixed order. The attention weights [batch, H, L, L] are one buffer: the plan refuses a
 * batch whose weights would not fit one binding, naming the layer (src/plan/network.ts).
 */
import { compileDense, defaultDenseTile, type DenseKernelName, type DenseShape } from '../kernels/dense.js';
import { attentionKernels, attentionVariant } from '../kernels/attention.js';
import { dropoutForward, dropoutForwardVariant, dropoutParams, maskWords } from '../kernels/dropout.js';
import type { Dispatch, GpuContext } from '../gpu/context.js';
import type { Tensor } from '../gpu/tensor.js';
import { Layer, ShapeError, checkOptions, perBatch, positionalOptions, shownValue, trueOrFalse, whole, type DenseUse, type LayerBuild, type LayerProgram, type Mode, type ParameterSpec, type SampleShape, type StepKernel, type TileChooser, type WorkspaceSpec } from './layer.js';

export interface MultiheadAttentionOptions {
  readonly embedDim: number;
  readonly numHeads: number;
  /** The attention weights' dropout probability in training (default 0). */
  readonly dropout?: number;
  /** Default true, as PyTorch: in_proj_bias and out_proj.bias. */
  readonly bias?: boolean;
  /** Only false. */
  readonly addBiasKv?: boolean;
  /** Only false. */
  readonly addZeroAttn?: boolean;
  /** Only embed_dim (self-attention: the keys are the input). */
  readonly kdim?: number;
  /** Only embed_dim (self-attention: the values are the input). */
  readonly vdim?: number;
  /** Only true: a sample is [L, E], the batch first. */
  readonly batchFirst?: boolean;
  /** Mask the keys after each query (−∞ above the diagonal of the scores). Default false. */
  readonly isCausal?: boolean;
}

const POSITIONS = ['embedDim', 'numHeads', 'dropout', 'bias', 'addBiasKv', 'addZeroAttn', 'kdim', 'vdim', 'batchFirst'] as const;
const KNOWN = [...POSITIONS, 'isCausal'] as const;
const OWNER = 'MultiheadAttention';

/** A setting this layer does not run, refused naming PyTorch's option. */
function only(field: string, value: unknown, allowed: unknown, why: string): void {
  if (value !== undefined && value !== allowed) throw new RangeError(`${OWNER}: ${field} must be ${JSON.stringify(allowed)} here (${why}), got ${shownValue(value)}`);
}

export class MultiheadAttention extends Layer {
  readonly type = 'MultiheadAttention';
  readonly embedDim: number;
  readonly numHeads: number;
  readonly bias: boolean;
  readonly isCausal: boolean;
  /** The attention weights' dropout probability in training. */
  readonly dropout: number;
  override readonly drawsRandom: boolean;

  /**
   * `new MultiheadAttention({ embedDim: 64, numHeads: 4 })`, or PyTorch's positional form
   * `new MultiheadAttention(64, 4)` (then `{ batchFirst: true, isCausal: true }` and the rest if need be).
   */
  constructor(options: MultiheadAttentionOptions);
  constructor(embedDim: number, numHeads: number, options?: Omit<MultiheadAttentionOptions, 'embedDim' | 'numHeads'>);
  constructor(first: MultiheadAttentionOptions | number, ...rest: unknown[]) {
    super();
    if (typeof first !== 'number' && rest.length > 0) throw new RangeError(`${OWNER}: an options object takes no other arguments`);
    const o: MultiheadAttentionOptions = typeof first === 'number' ? positionalOptions<MultiheadAttentionOptions>(OWNER, [first, ...rest], POSITIONS, KNOWN) : checkOptions(OWNER, first, KNOWN);
    this.embedDim = whole(OWNER, 'embed_dim', o.embedDim);
    this.numHeads = whole(OWNER, 'num_heads', o.numHeads);
    if (this.embedDim % this.numHeads !== 0) throw new RangeError(`${OWNER}: embed_dim must be divisible by num_heads, got embed_dim ${this.embedDim} and num_heads ${this.numHeads}`);
    this.bias = trueOrFalse(OWNER, 'bias', o.bias, true);
    this.isCausal = trueOrFalse(OWNER, 'is_causal', o.isCausal, false);
    trueOrFalse(OWNER, 'batch_first', o.batchFirst, true);
    only('batch_first', o.batchFirst, true, 'a sample is a sequence [L, embed_dim], the batch first');
    trueOrFalse(OWNER, 'add_bias_kv', o.addBiasKv, false);
    only('add_bias_kv', o.addBiasKv, false, 'no bias_k, bias_v');
    trueOrFalse(OWNER, 'add_zero_attn', o.addZeroAttn, false);
    only('add_zero_attn', o.addZeroAttn, false, 'no zero key and value');
    if (o.dropout !== undefined && (typeof o.dropout !== 'number' || !(o.dropout >= 0 && o.dropout <= 1))) throw new RangeError(`${OWNER}: dropout must be a number in [0, 1], got ${shownValue(o.dropout)}`);
    this.dropout = o.dropout ?? 0;
    this.drawsRandom = this.dropout > 0;
    if (o.kdim !== undefined) whole(OWNER, 'kdim', o.kdim);
    if (o.vdim !== undefined) whole(OWNER, 'vdim', o.vdim);
    only('kdim', o.kdim, this.embedDim, 'self-attention: the keys are the input, of embed_dim features');
    only('vdim', o.vdim, this.embedDim, 'self-attention: the values are the input, of embed_dim features');
  }

  /** The input (q, k, v) and output projections (attentionProgram's dense calls): forward, weight gradients, and the input gradients — the output projection's always, the input projection's where the layer's flows. */
  override denseUses(input: SampleShape, batch: number, phases: { readonly training: boolean; readonly inputGradient: boolean }): DenseUse[] {
    const E = this.embedDim;
    const shape = (outFeatures: number): DenseShape => ({ batch: batch * input[0]!, inFeatures: E, outFeatures });
    const uses: DenseUse[] = [{ kernel: 'dense_forward', params: shape(3 * E) }, { kernel: 'dense_forward', params: shape(E) }];
    if (!phases.training) return uses;
    uses.push({ kernel: 'dense_backward_weight', params: shape(3 * E) }, { kernel: 'dense_backward_weight', params: shape(E) }, { kernel: 'dense_backward_input', params: shape(E) });
    if (phases.inputGradient) uses.push({ kernel: 'dense_backward_input', params: shape(3 * E) });
    return uses;
  }

  outputShape(input: SampleShape): SampleShape {
    if (input.length !== 2) throw new ShapeError(`expects an input of shape [sequence length, embed_dim] (a sequence of feature vectors, batch_first), got [${input.join(', ')}]`);
    if (input[1] !== this.embedDim) throw new ShapeError(`embed_dim is ${this.embedDim} but the input's steps have ${input[1]} features ([${input.join(', ')}])`);
    return input;
  }

  /** PyTorch's names, shapes, order and init (nn.MultiheadAttention._reset_parameters). */
  override parameterSpecs(_input: SampleShape): ParameterSpec[] {
    const E = this.embedDim;
    const specs: ParameterSpec[] = [{ name: 'in_proj_weight', shape: [3 * E, E], init: { uniform: Math.sqrt(6 / (E + 3 * E)) } }];
    if (this.bias) specs.push({ name: 'in_proj_bias', shape: [3 * E], init: { constant: 0 } });
    specs.push({ name: 'out_proj.weight', shape: [E, E], init: { uniform: 1 / Math.sqrt(E) } });
    if (this.bias) specs.push({ name: 'out_proj.bias', shape: [E], init: { constant: 0 } });
    return specs;
  }

  config() {
    return { embed_dim: this.embedDim, num_heads: this.numHeads, ...(this.dropout > 0 ? { dropout: this.dropout } : {}), bias: this.bias, batch_first: true, ...(this.isCausal ? { is_causal: true } : {}) };
  }

  /**
   * q, k, v; the attention weights (P, then dS in the backward); the heads' outputs; their
   * gradients; with dropout, P ⊙ M and the mask's bits.
   */
  override workspaceSpecs(input: SampleShape): WorkspaceSpec[] {
    const [L, E, H] = [input[0]!, this.embedDim, this.numHeads];
    const dropout: WorkspaceSpec[] = [
      { name: 'dropped attention weights', shape: [H, L, L], dtype: 'f32' },
      { name: 'dropout mask', shape: [maskWords(H * L * L)], dtype: 'u32' },
    ];
    return [
      ...(this.dropout > 0 ? dropout : []),
      { name: 'attention weights', shape: [H, L, L], dtype: 'f32' },
      { name: 'qkv', shape: [L, 3 * E], dtype: 'f32' },
      { name: 'heads', shape: [L, E], dtype: 'f32' },
      { name: 'dqkv', shape: [L, 3 * E], dtype: 'f32' },
      { name: 'dheads', shape: [L, E], dtype: 'f32' },
    ];
  }

  lower(b: LayerBuild): LayerProgram {
    const w = b.workspace as Record<string, Tensor<'f32'>>;
    const p = b.parameters;
    const program = attentionProgram(
      b.ctx,
      {
        input: b.input, output: b.output, dOutput: b.dOutput, dInput: b.dInput,
        inWeight: p.in_proj_weight!.value, inBias: p.in_proj_bias?.value, outWeight: p['out_proj.weight']!.value, outBias: p['out_proj.bias']?.value,
        dinWeight: p.in_proj_weight!.grad, dinBias: p.in_proj_bias?.grad, doutWeight: p['out_proj.weight']!.grad, doutBias: p['out_proj.bias']?.grad,
        probs: w['attention weights']!, qkv: w.qkv!, attn: w.heads!, dqkv: w.dqkv!, dattn: w.dheads!,
        ...(this.dropout > 0 ? { dropped: w['dropped attention weights']!, mask: b.workspace['dropout mask'] as Tensor<'u32'> } : {}),
      },
      { seqLen: b.inShape[0]!, embed: this.embedDim, heads: this.numHeads, causal: this.isCausal, maxBatch: b.maxBatch, dropout: this.dropout, seed: b.seed, stream: b.stream },
      b.path,
      b.tiles,
    );
    return { forward: program.forward, backward: program.backward, setStep: program.setStep };
  }
}

/** Every tensor a MultiheadAttention's dispatches bind ([batch, ...] each, sized for the largest batch). */
export interface AttentionTensors {
  readonly input: Tensor;
  readonly output: Tensor;
  /** Absent: no backward. */
  readonly dOutput?: Tensor;
  /** Absent: no input gradient (the network's first trained layer). */
  readonly dInput?: Tensor;
  readonly inWeight: Tensor;
  readonly inBias?: Tensor;
  readonly outWeight: Tensor;
  readonly outBias?: Tensor;
  readonly dinWeight: Tensor;
  readonly dinBias?: Tensor;
  readonly doutWeight: Tensor;
  readonly doutBias?: Tensor;
  /** P [batch, H, L, L]; dS · scale after the backward's second kernel. */
  readonly probs: Tensor;
  /** q, k, v [batch, L, 3E]. */
  readonly qkv: Tensor;
  /** The heads' outputs, concatenated [batch, L, E]. */
  readonly attn: Tensor;
  readonly dqkv: Tensor;
  readonly dattn: Tensor;
  /** With dropout: P ⊙ M [batch, H, L, L], and the mask's bits. */
  readonly dropped?: Tensor;
  readonly mask?: Tensor<'u32'>;
}

export interface AttentionSizes {
  readonly seqLen: number;
  readonly embed: number;
  readonly heads: number;
  readonly causal: boolean;
  readonly maxBatch: number;
  /** The attention weights' dropout probability in training (0: none), and its draws' seed and stream. */
  readonly dropout?: number;
  readonly seed?: number;
  readonly stream?: number;
}

/**
 * A MultiheadAttention's bound dispatches per batch size (see the module's header): forward, 4
 * dispatches (5 in training with dropout); backward, 6 (+ 1 with the input gradient). Used by the
 * layer and by the kernel tests; `setStep` sets the training step whose dropout draws the next
 * training forward makes.
 */
export function attentionProgram(ctx: GpuContext, t: AttentionTensors, s: AttentionSizes, path: string, tiles?: TileChooser) {
  const { seqLen, embed, heads } = s;
  const bias = t.inBias !== undefined;
  const p = s.dropout ?? 0;
  if (p > 0 && (!t.dropped || !t.mask)) throw new Error(`${path}: dropout ${p} needs the dropped weights' and the mask's tensors`);
  const kernels = attentionKernels(embed / heads);
  const variant = attentionVariant(ctx, embed / heads);
  const params = (batch: number) => ({ batch, seqLen, embed, heads, causal: s.causal ? 1 : 0, scale: 1 / Math.sqrt(embed / heads) });
  const shape = (batch: number, outFeatures: number): DenseShape => ({ batch: batch * seqLen, inFeatures: embed, outFeatures });
  // Any tile sums in the same order: the choice changes speed, not results.
  const tile = (name: DenseKernelName, outFeatures: number) => {
    const full = shape(s.maxBatch, outFeatures);
    return tiles?.(name, full) ?? defaultDenseTile(name, full, ctx.adapter.subgroupSize);
  };
  const dense = async (batch: number, x: Tensor, weight: Tensor, b: Tensor | undefined, y: Tensor, outFeatures: number, what: string) =>
    (await compileDense(ctx, 'dense_forward', tile('dense_forward', outFeatures), { BIAS: bias, RELU: false })).bind({ x, weight, y, ...(bias ? { bias: b! } : {}) }, shape(batch, outFeatures), `${path} ${what}`);
  const weightGrad = async (batch: number, dy: Tensor, x: Tensor, dweight: Tensor, dbias: Tensor | undefined, outFeatures: number, what: string) =>
    (await compileDense(ctx, 'dense_backward_weight', tile('dense_backward_weight', outFeatures), { ROW_SUMS: bias })).bind({ dy, x, dweight, ...(bias ? { dbias: dbias! } : {}) }, shape(batch, outFeatures), `${path} ${what}`);
  const inputGrad = async (batch: number, dy: Tensor, weight: Tensor, dx: Tensor, outFeatures: number, what: string) =>
    (await compileDense(ctx, 'dense_backward_input', tile('dense_backward_input', outFeatures), { RELU_MASK: false })).bind({ dy, weight, dx }, shape(batch, outFeatures), `${path} ${what}`);
  // The dropout kernels by batch, and the step of their draws (setStep; also for a kernel made after it was set).
  const dropouts = new Map<number, StepKernel>();
  let step = 0;
  const forwardIn = (mode: Mode) =>
    perBatch(async (batch): Promise<Dispatch[]> => {
      const drop = mode === 'train' && p > 0;
      const list: Dispatch[] = [
        await dense(batch, t.input, t.inWeight, t.inBias, t.qkv, 3 * embed, 'attention input projection (q, k, v)'),
        (await ctx.compile(kernels.scores, variant)).bind({ qkv: t.qkv, probs: t.probs }, params(batch), `${path} attention weights (softmax of the scores)`),
      ];
      if (drop) {
        const length = batch * heads * seqLen * seqLen;
        const kernel = (await ctx.compile(dropoutForward, dropoutForwardVariant(length))).bind(
          { x: t.probs, mask: t.mask!, y: t.dropped! },
          { length, ...dropoutParams(p), shift: 0, dropped: 0, seed: s.seed ?? 0, stream: s.stream ?? 0, step, area: 1 },
          `${path} attention weights dropout`,
        );
        dropouts.set(batch, kernel);
        list.push(kernel);
      }
      list.push(
        (await ctx.compile(kernels.values, variant)).bind({ probs: drop ? t.dropped! : t.probs, qkv: t.qkv, attn: t.attn }, params(batch), `${path} attention heads (weights · v)`),
        await dense(batch, t.attn, t.outWeight, t.outBias, t.output, embed, 'attention output projection'),
      );
      return list;
    });
  const forwards = { train: forwardIn('train'), eval: forwardIn('eval') };
  const backward = perBatch(async (batch): Promise<Dispatch[]> => {
    if (!t.dOutput) return [];
    const list = [
      await weightGrad(batch, t.dOutput, t.attn, t.doutWeight, t.doutBias, embed, bias ? 'out_proj.weight and out_proj.bias gradient' : 'out_proj.weight gradient'),
      await inputGrad(batch, t.dOutput, t.outWeight, t.dattn, embed, 'attention heads gradient'),
      (await ctx.compile(kernels.backwardValues, variant)).bind({ probs: p > 0 ? t.dropped! : t.probs, dattn: t.dattn, dqkv: t.dqkv }, params(batch), `${path} attention v gradient`),
      (await ctx.compile(kernels.backwardScores, { ...variant, DROPOUT: p > 0 })).bind({ qkv: t.qkv, attn: t.attn, dattn: t.dattn, ...(p > 0 ? { dropped: t.dropped! } : {}), probs: t.probs }, params(batch), `${path} attention scores gradient`),
      (await ctx.compile(kernels.backwardQk, variant)).bind({ probs: t.probs, qkv: t.qkv, dqkv: t.dqkv }, params(batch), `${path} attention q and k gradient`),
      await weightGrad(batch, t.dqkv, t.input, t.dinWeight, t.dinBias, 3 * embed, bias ? 'in_proj_weight and in_proj_bias gradient' : 'in_proj_weight gradient'),
    ];
    if (t.dInput) list.push(await inputGrad(batch, t.dqkv, t.inWeight, t.dInput, 3 * embed, 'attention input gradient'));
    return list;
  });
  return {
    forward: (batch: number, mode: Mode = 'train') => forwards[mode](batch),
    backward,
    setStep: (batch: number, next: number) => {
      step = next;
      dropouts.get(batch)?.update({ step });
    },
  };
}
