/**
 * PyTorch's nn.LSTM and nn.GRU as layers, for batch_first=True: num_layers ≥ 1 stacked layers (layer
 * k's input is layer k − 1's output sequence), bidirectional or not, and PyTorch's dropout on each
 * layer's output but the last, in training. proj_size (the LSTM's projection of h) is refused. A
 * sample is a sequence [L, input_size]; the layer's output is the last layer's output sequence
 * [L, directions · hidden_size], each step's [forward h_t, reverse h_t] — PyTorch's `output`, the
 * first element of the tuple nn.LSTM and nn.GRU return. h_n (and the LSTM's c_n) are not outputs,
 * and the initial states are zero. Parameters under PyTorch's names, shapes, order and init (all
 * U(−1/√H, 1/√H)), for each layer k and direction (suffix `_reverse` for the reverse one):
 * weight_ih_l{k} [G·H, in_k], weight_hh_l{k} [G·H, H], bias_ih_l{k}, bias_hh_l{k} [G·H] (in_0 =
 * input_size, in_k = directions · H above), with G = 4 gates i, f, g, o (LSTM) or 3 gates r, z, n
 * (GRU: n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)), h' = (1 − z) ⊙ n + z ⊙ h). The reverse
 * direction runs from the last step to the first over the same input.
 *
 * GPU schedule, for each layer and each direction: the input projection gx = x · W_ihᵀ + b_ih for
 * every step at once (dense_forward on the [batch · L, in] view), then one lstm_forward_step /
 * gru_forward_step dispatch per step (the reverse direction's from t = L − 1 down; each direction
 * writes its half of the layer's output, [batch, L, directions, H]). Between layers in training
 * with dropout p > 0: dropout_forward on the layer's output into a buffer of its own (the
 * recurrence reads the output undropped), its mask drawn from stream `stream + k` (the plan gives
 * the layer num_layers − 1 streams: Layer.randomStreams), PyTorch's inverted dropout; in eval the
 * next layer reads the output itself.
 * Backward, from the last layer down: one *_backward_step dispatch per step and direction, in the
 * reverse of its forward order (the gates' pre-activation gradients dG, kept in gx's buffer, which
 * the backward no longer needs — a GRU's hidden side's in `dgh`, n's scaled by r; each step's dh
 * carry summed from the next step's dG in a fixed order), then the dense kernels over every step
 * at once: dW_ih, ∂b_ih = dGᵀ·[x, 1], dW_hh, ∂b_hh = dG_hᵀ·[h_{t−1}, 1] (h_{t−1} kept by the
 * forward as `hprev`), and the layer's input gradient dG · W_ih (bidirectional: the forward
 * direction's, then the reverse one's in a scratch buffer added to it, residual_add ACCUMULATE);
 * through the dropout between layers, dropout_backward with the same mask.
 * Deterministic: no atomics, every sum in a fixed order.
 */
import { compileDense, defaultDenseTile, type DenseKernelName, type DenseShape } from '../kernels/dense.js';
import { lstmBackwardSteps, lstmForwardSteps } from '../kernels/lstm.js';
import { compileStep, recurrentVariant } from '../kernels/recurrent-step.js';
import { gruBackwardSteps, gruForwardSteps } from '../kernels/gru.js';
import { dropoutBackward, dropoutForward, dropoutForwardVariant, dropoutParams, maskWords } from '../kernels/dropout.js';
import { residualAdd, residualVariant } from '../kernels/residual.js';
import type { Dispatch, GpuContext } from '../gpu/context.js';
import type { Tensor } from '../gpu/tensor.js';
import { Layer, ShapeError, checkOptions, perBatch, positionalOptions, trueOrFalse, whole, type DenseUse, type LayerBuild, type LayerProgram, type ParameterSpec, type SampleShape, type StepKernel, type TileChooser, type WorkspaceSpec } from './layer.js';

export interface RecurrentOptions {
  /** Inferred from the input when left out; checked when given. */
  readonly inputSize?: number;
  readonly hiddenSize: number;
  /** Stacked layers, default 1. */
  readonly numLayers?: number;
  /** Default true, as PyTorch. */
  readonly bias?: boolean;
  /** Only true: a sample is [L, input_size] (PyTorch's default, false, would put the batch second). */
  readonly batchFirst?: boolean;
  /** Dropout probability on each layer's output but the last, in training; default 0 (with one layer it does nothing, as PyTorch's, which warns). */
  readonly dropout?: number;
  /** Default false: true adds a reverse direction to each layer. */
  readonly bidirectional?: boolean;
  /** Only 0 (no projection; LSTM's option, refused by GRU as PyTorch does). */
  readonly projSize?: number;
}
export type LstmOptions = RecurrentOptions;
export type GruOptions = Omit<RecurrentOptions, 'projSize'>;

const POSITIONS = ['inputSize', 'hiddenSize', 'numLayers', 'bias', 'batchFirst', 'dropout', 'bidirectional', 'projSize'] as const;

/** A setting these layers do not run, refused naming PyTorch's option. */
function only(owner: string, field: string, value: unknown, allowed: unknown, why: string): void {
  if (value !== undefined && value !== allowed) throw new RangeError(`${owner}: ${field} must be ${JSON.stringify(allowed)} here (${why}), got ${JSON.stringify(value)}`);
}

/** PyTorch's name of layer k's direction d's tensor: `weight_ih_l0`, `bias_hh_l1_reverse`, …. */
export const recurrentName = (which: 'weight_ih' | 'weight_hh' | 'bias_ih' | 'bias_hh', layer: number, direction: number) => `${which}_l${layer}${direction === 1 ? '_reverse' : ''}`;

/** A workspace tensor of layer k's direction d: `gx_l0`, `gates_l1_reverse`, …. */
const perDirection = (what: string, layer: number, direction: number) => `${what}_l${layer}${direction === 1 ? '_reverse' : ''}`;

/** What LSTM and GRU share: PyTorch's arguments, the shapes, the parameters (`gates` blocks of H rows each). */
abstract class Recurrent extends Layer {
  abstract override readonly type: 'LSTM' | 'GRU';
  readonly inputSize?: number;
  readonly hiddenSize: number;
  readonly numLayers: number;
  readonly bias: boolean;
  readonly dropout: number;
  readonly bidirectional: boolean;
  /** Gate blocks of the weights: 4 (i, f, g, o) or 3 (r, z, n). */
  protected abstract readonly gates: number;

  constructor(owner: 'LSTM' | 'GRU', first: RecurrentOptions | number, rest: unknown[]) {
    super();
    const known = owner === 'LSTM' ? POSITIONS : POSITIONS.filter((k) => k !== 'projSize');
    if (typeof first !== 'number' && rest.length > 0) throw new RangeError(`${owner}: an options object takes no other arguments`);
    const options: RecurrentOptions = typeof first === 'number' ? positionalOptions<RecurrentOptions>(owner, [first, ...rest], known, known) : checkOptions(owner, first, known);
    this.inputSize = options.inputSize === undefined ? undefined : whole(owner, 'input_size', options.inputSize);
    this.hiddenSize = whole(owner, 'hidden_size', options.hiddenSize);
    this.numLayers = options.numLayers === undefined ? 1 : whole(owner, 'num_layers', options.numLayers);
    this.bias = trueOrFalse(owner, 'bias', options.bias, true);
    trueOrFalse(owner, 'batch_first', options.batchFirst, true);
    only(owner, 'batch_first', options.batchFirst, true, 'a sample is a sequence [L, input_size], the batch first');
    const p = options.dropout === undefined ? 0 : options.dropout;
    if (typeof p !== 'number' || !(p >= 0 && p <= 1)) throw new RangeError(`${owner}: dropout must be a number in [0, 1] (the probability of zeroing an element of each layer's output but the last), got ${JSON.stringify(p)}`);
    // With one layer PyTorch warns that dropout does nothing (it drops between layers): accepted, and nothing.
    this.dropout = p;
    this.bidirectional = trueOrFalse(owner, 'bidirectional', options.bidirectional, false);
    only(owner, 'proj_size', options.projSize, 0, 'no projection of h: proj_size > 0 is not supported');
    // A dropout between layers draws from a stream of its own each.
    (this as { drawsRandom: boolean }).drawsRandom = this.dropout > 0 && this.numLayers > 1;
    (this as { randomStreams: number }).randomStreams = Math.max(1, this.numLayers - 1);
  }

  get directions(): number {
    return this.bidirectional ? 2 : 1;
  }

  /** Each layer's input projection and its weight gradient, W_hh's gradient, and the input gradient where it flows (recurrentProgram's dense calls; both directions alike). */
  override denseUses(input: SampleShape, batch: number, phases: { readonly training: boolean; readonly inputGradient: boolean }): DenseUse[] {
    const shape = (inFeatures: number): DenseShape => ({ batch: batch * input[0]!, inFeatures, outFeatures: this.gates * this.hiddenSize });
    const uses: DenseUse[] = [];
    for (let k = 0; k < this.numLayers; k++) {
      const inFeatures = k === 0 ? input[1]! : this.directions * this.hiddenSize;
      uses.push({ kernel: 'dense_forward', params: shape(inFeatures) });
      if (!phases.training) continue;
      uses.push({ kernel: 'dense_backward_weight', params: shape(inFeatures) }, { kernel: 'dense_backward_weight', params: shape(this.hiddenSize) });
      if (k > 0 || phases.inputGradient) uses.push({ kernel: 'dense_backward_input', params: shape(inFeatures) });
    }
    return uses;
  }

  outputShape(input: SampleShape): SampleShape {
    if (input.length !== 2) throw new ShapeError(`expects an input of shape [sequence length, input_size] (a sequence of feature vectors, batch_first), got [${input.join(', ')}]`);
    if (this.inputSize !== undefined && input[1] !== this.inputSize) throw new ShapeError(`input_size is ${this.inputSize} but the input's steps have ${input[1]} features ([${input.join(', ')}])`);
    return [input[0]!, this.directions * this.hiddenSize];
  }

  /** PyTorch's names, shapes, order (layer by layer, the forward direction first) and init: all U(−1/√H, 1/√H). */
  override parameterSpecs(input: SampleShape): ParameterSpec[] {
    const H = this.hiddenSize;
    const rows = this.gates * H;
    const init = { uniform: 1 / Math.sqrt(H) };
    const specs: ParameterSpec[] = [];
    for (let k = 0; k < this.numLayers; k++) {
      for (let d = 0; d < this.directions; d++) {
        specs.push({ name: recurrentName('weight_ih', k, d), shape: [rows, k === 0 ? input[1]! : this.directions * H], init }, { name: recurrentName('weight_hh', k, d), shape: [rows, H], init });
        if (this.bias) specs.push({ name: recurrentName('bias_ih', k, d), shape: [rows], init }, { name: recurrentName('bias_hh', k, d), shape: [rows], init });
      }
    }
    return specs;
  }

  config() {
    return {
      input_size: this.inputSize,
      hidden_size: this.hiddenSize,
      ...(this.numLayers !== 1 ? { num_layers: this.numLayers } : {}),
      bias: this.bias,
      batch_first: true,
      ...(this.dropout !== 0 ? { dropout: this.dropout } : {}),
      ...(this.bidirectional ? { bidirectional: true } : {}),
    };
  }

  /** Each direction's own per-sample tensors (LSTM: cell, hprev, dcell; GRU: hprev, dgh, dcarry), besides gx and gates. */
  protected abstract directionWorkspace(seqLen: number): [string, number[]][];

  override workspaceSpecs(input: SampleShape): WorkspaceSpec[] {
    const [L, H, D] = [input[0]!, this.hiddenSize, this.directions];
    const specs: WorkspaceSpec[] = [];
    for (let k = 0; k < this.numLayers; k++) {
      for (let d = 0; d < D; d++) {
        specs.push({ name: perDirection('gx', k, d), shape: [L, this.gates * H], dtype: 'f32' }, { name: perDirection('gates', k, d), shape: [L, 4 * H], dtype: 'f32' });
        for (const [what, shape] of this.directionWorkspace(L)) specs.push({ name: perDirection(what, k, d), shape, dtype: 'f32' });
      }
      if (k === this.numLayers - 1) continue;
      // Between layers: the layer's output and its gradient; with dropout, the dropped output, its gradient and the mask.
      specs.push({ name: `output_l${k}`, shape: [L, D * H], dtype: 'f32' }, { name: `doutput_l${k}`, shape: [L, D * H], dtype: 'f32' });
      if (this.drawsRandom) specs.push({ name: `dropped_l${k}`, shape: [L, D * H], dtype: 'f32' }, { name: `ddropped_l${k}`, shape: [L, D * H], dtype: 'f32' }, { name: `mask_l${k}`, shape: [maskWords(L * D * H)], dtype: 'u32' });
    }
    // Bidirectional: the reverse direction's input gradient, added to the forward one's.
    if (D === 2) specs.push({ name: 'dinput_reverse', shape: [L, Math.max(input[1]!, D * H)], dtype: 'f32' });
    return specs;
  }

  lower(b: LayerBuild): LayerProgram {
    const w = b.workspace;
    const f32 = (name: string) => w[name] as Tensor<'f32'> | undefined;
    const p = b.parameters;
    const [N, D] = [this.numLayers, this.directions];
    const layers: StackLayerTensors[] = Array.from({ length: N }, (_, k) => ({
      directions: Array.from({ length: D }, (_, d) => {
        const param = (which: 'weight_ih' | 'weight_hh' | 'bias_ih' | 'bias_hh') => p[recurrentName(which, k, d)];
        return {
          weightIh: param('weight_ih')!.value, weightHh: param('weight_hh')!.value, biasIh: param('bias_ih')?.value, biasHh: param('bias_hh')?.value,
          dweightIh: param('weight_ih')!.grad, dweightHh: param('weight_hh')!.grad, dbiasIh: param('bias_ih')?.grad, dbiasHh: param('bias_hh')?.grad,
          gx: f32(perDirection('gx', k, d))!, gates: f32(perDirection('gates', k, d))!, hprev: f32(perDirection('hprev', k, d))!,
          cell: f32(perDirection('cell', k, d)), dcell: f32(perDirection('dcell', k, d)), dgh: f32(perDirection('dgh', k, d)), dcarry: f32(perDirection('dcarry', k, d)),
        };
      }),
      output: f32(`output_l${k}`), dOutput: f32(`doutput_l${k}`), dropped: f32(`dropped_l${k}`), dDropped: f32(`ddropped_l${k}`), mask: w[`mask_l${k}`] as Tensor<'u32'> | undefined,
    }));
    const program = recurrentProgram(
      b.ctx,
      this.type,
      { input: b.input, output: b.output, dOutput: b.dOutput, dInput: b.dInput, layers, dInputReverse: f32('dinput_reverse') },
      { seqLen: b.inShape[0]!, inputSize: b.inShape[1]!, hidden: this.hiddenSize, maxBatch: b.maxBatch, directions: D, dropout: this.drawsRandom ? this.dropout : 0, seed: b.seed, stream: b.stream },
      b.path,
      b.tiles,
    );
    return program;
  }
}

export class LSTM extends Recurrent {
  readonly type = 'LSTM';
  protected readonly gates = 4;

  /** `new LSTM({ hiddenSize: 64 })`, or PyTorch's positional form `new LSTM(28, 64)` (then `{ batchFirst: true }` and the rest if need be). */
  constructor(options: LstmOptions);
  constructor(inputSize: number, hiddenSize: number, options?: Omit<LstmOptions, 'inputSize' | 'hiddenSize'>);
  constructor(first: LstmOptions | number, ...rest: unknown[]) {
    super('LSTM', first, rest);
  }

  protected directionWorkspace(L: number): [string, number[]][] {
    const H = this.hiddenSize;
    return [['cell', [L, H]], ['hprev', [L, H]], ['dcell', [H]]];
  }
}

export class GRU extends Recurrent {
  readonly type = 'GRU';
  protected readonly gates = 3;

  /** `new GRU({ hiddenSize: 64 })`, or PyTorch's positional form `new GRU(28, 64)` (then `{ batchFirst: true }` and the rest if need be). */
  constructor(options: GruOptions);
  constructor(inputSize: number, hiddenSize: number, options?: Omit<GruOptions, 'inputSize' | 'hiddenSize'>);
  constructor(first: GruOptions | number, ...rest: unknown[]) {
    super('GRU', first, rest);
  }

  protected directionWorkspace(L: number): [string, number[]][] {
    const H = this.hiddenSize;
    return [['hprev', [L, H]], ['dgh', [L, 3 * H]], ['dcarry', [H]]];
  }
}

/** One direction's tensors of one layer ([batch, ...] each, sized for the largest batch). */
export interface DirectionTensors {
  readonly weightIh: Tensor;
  readonly weightHh: Tensor;
  readonly biasIh?: Tensor;
  readonly biasHh?: Tensor;
  readonly dweightIh: Tensor;
  readonly dweightHh: Tensor;
  readonly dbiasIh?: Tensor;
  readonly dbiasHh?: Tensor;
  /** x · W_ihᵀ + b_ih [batch, L, gates·H]; in the backward, the input side's pre-activation gradients. */
  readonly gx: Tensor;
  /** What the backward reads of the gates [batch, L, 4H]. */
  readonly gates: Tensor;
  /** h_{t−1} [batch, L, H] (0 at the direction's first step). */
  readonly hprev: Tensor;
  /** LSTM: c_t [batch, L, H]. */
  readonly cell?: Tensor;
  /** LSTM: the dc carry between backward steps [batch, H]. */
  readonly dcell?: Tensor;
  /** GRU: the hidden side's pre-activation gradients [batch, L, 3H]. */
  readonly dgh?: Tensor;
  /** GRU: the direct dh carry (dh ⊙ z) between backward steps [batch, H]. */
  readonly dcarry?: Tensor;
}

/** One layer's tensors: its directions', and (all but the last layer) its output [batch, L, directions·H], that output's gradient, and with dropout the dropped output, its gradient and the mask. */
export interface StackLayerTensors {
  readonly directions: readonly DirectionTensors[];
  readonly output?: Tensor;
  readonly dOutput?: Tensor;
  readonly dropped?: Tensor;
  readonly dDropped?: Tensor;
  readonly mask?: Tensor<'u32'>;
}

export interface StackTensors {
  readonly input: Tensor;
  /** The last layer's output [batch, L, directions·H]. */
  readonly output: Tensor;
  /** Absent: no backward. */
  readonly dOutput?: Tensor;
  /** Absent: no input gradient (the network's first trained layer). */
  readonly dInput?: Tensor;
  readonly layers: readonly StackLayerTensors[];
  /** Bidirectional: the reverse direction's input gradient [batch, L, max(input_size, 2H)], added to the forward one's. */
  readonly dInputReverse?: Tensor;
}

export interface StackSizes {
  readonly seqLen: number;
  readonly inputSize: number;
  readonly hidden: number;
  readonly maxBatch: number;
  /** 1 or 2. */
  readonly directions: number;
  /** Between layers, in training (0: none). */
  readonly dropout: number;
  /** The run's seed and the first of the layer's streams (layer k's dropout draws from stream + k). */
  readonly seed: number;
  readonly stream: number;
}

/** A compiled kernel bound by names chosen at run time (the LSTM's or the GRU's, a dense kernel's by name): its bindings checked when bound. */
type LooseKernel = { bind(bindings: Record<string, Tensor>, params: Record<string, number>, label: string): Dispatch };
const loose = (kernel: unknown) => kernel as LooseKernel;

/**
 * A stacked, maybe bidirectional, LSTM's or GRU's bound dispatches per batch size (see the
 * module's header). Forward, per layer: directions · (1 + L) dispatches (+ 1 dropout in training
 * between layers); backward, per layer: directions · (L + 2) (+ directions + 1 with the input
 * gradient when bidirectional, + 1 dropout).
 */
export function recurrentProgram(ctx: GpuContext, kind: 'LSTM' | 'GRU', t: StackTensors, s: StackSizes, path: string, tiles?: TileChooser): LayerProgram {
  const { seqLen, hidden: H, directions: D } = s;
  const N = t.layers.length;
  const G = kind === 'LSTM' ? 4 : 3;
  const name = kind.toLowerCase();
  const bias = t.layers[0]!.directions[0]!.biasIh !== undefined;
  const dropout = N > 1 && s.dropout > 0;
  const inSize = (k: number) => (k === 0 ? s.inputSize : D * H);
  const where = (k: number, d: number) => `${path} ${name}${N > 1 || D > 1 ? ` l${k}${d === 1 ? '_reverse' : ''}` : ''}`;
  const shape = (batch: number, inFeatures: number): DenseShape => ({ batch: batch * seqLen, inFeatures, outFeatures: G * H });
  // Any tile sums in the same order: the choice changes speed, not results.
  const dense = async (kernel: DenseKernelName, inFeatures: number, defines: Record<string, boolean>) => {
    const full = shape(s.maxBatch, inFeatures);
    return loose(await compileDense(ctx, kernel, tiles?.(kernel, full) ?? defaultDenseTile(kernel, full, ctx.adapter.subgroupSize), defines));
  };
  const outputOf = (k: number) => (k === N - 1 ? t.output : t.layers[k]!.output!);
  const dOutputOf = (k: number) => (k === N - 1 ? t.dOutput! : t.layers[k]!.dOutput!);
  // Layer k's input as it reads it: the sample, or layer k − 1's output (dropped in training).
  const inputOf = (k: number, train: boolean) => (k === 0 ? t.input : train && dropout ? t.layers[k - 1]!.dropped! : outputOf(k - 1));
  const stepParams = (batch: number, step: number, reverse: number) => ({ batch, seqLen, hidden: H, step, directions: D, reverse });
  // The order a direction's forward runs its steps.
  const forwardOrder = (d: number) => Array.from({ length: seqLen }, (_, i) => (d === 0 ? i : seqLen - 1 - i));
  const dropoutKernels = new Map<number, StepKernel[]>();
  let step = 0;

  const forward = (train: boolean) =>
    perBatch(async (batch): Promise<Dispatch[]> => {
      const list: Dispatch[] = [];
      const variant = { BIAS: bias, ...recurrentVariant(ctx, H) };
      const kernel = loose(kind === 'LSTM' ? await compileStep(ctx, lstmForwardSteps, variant) : await compileStep(ctx, gruForwardSteps, variant));
      const drops: StepKernel[] = [];
      for (let k = 0; k < N; k++) {
        const x = inputOf(k, train);
        const y = outputOf(k);
        const projection = await dense('dense_forward', inSize(k), { BIAS: bias, RELU: false });
        for (let d = 0; d < D; d++) {
          const dir = t.layers[k]!.directions[d]!;
          list.push(projection.bind({ x, weight: dir.weightIh, y: dir.gx, ...(bias ? { bias: dir.biasIh! } : {}) }, shape(batch, inSize(k)), `${where(k, d)} input projection`));
          const bindings = { gx: dir.gx, weightHh: dir.weightHh, ...(bias ? { biasHh: dir.biasHh! } : {}), y, ...(kind === 'LSTM' ? { cell: dir.cell! } : {}), gates: dir.gates, hprev: dir.hprev };
          for (const at of forwardOrder(d)) list.push(kernel.bind(bindings, stepParams(batch, at, d), `${where(k, d)} forward step ${at}`));
        }
        if (train && dropout && k < N - 1) {
          const l = t.layers[k]!;
          const drop = (await ctx.compile(dropoutForward, dropoutForwardVariant(batch * seqLen * D * H))).bind(
            { x: y, mask: l.mask!, y: l.dropped! },
            { length: batch * seqLen * D * H, ...dropoutParams(s.dropout), seed: s.seed, stream: s.stream + k, step, area: 1, shift: 0, dropped: 0 },
            `${path} ${name} dropout after l${k}`,
          );
          drops.push(drop);
          list.push(drop);
        }
      }
      if (train) dropoutKernels.set(batch, drops);
      return list;
    });
  const trainForward = forward(true);
  const evalForward = forward(false);

  const backward = perBatch(async (batch): Promise<Dispatch[]> => {
    if (!t.dOutput) return [];
    const list: Dispatch[] = [];
    const stepKernel = loose(kind === 'LSTM' ? await compileStep(ctx, lstmBackwardSteps, recurrentVariant(ctx, H)) : await compileStep(ctx, gruBackwardSteps, recurrentVariant(ctx, H)));
    for (let k = N - 1; k >= 0; k--) {
      const dy = dOutputOf(k);
      const x = inputOf(k, true);
      for (let d = 0; d < D; d++) {
        const dir = t.layers[k]!.directions[d]!;
        // The gates' pre-activation gradients: an LSTM's the same on the input and hidden sides, in gx's buffer; a GRU's hidden side's in dgh.
        const bindings: Record<string, Tensor> =
          kind === 'LSTM'
            ? { dy, gates: dir.gates, cell: dir.cell!, weightHh: dir.weightHh, dgates: dir.gx, dcell: dir.dcell! }
            : { dy, gates: dir.gates, hprev: dir.hprev, weightHh: dir.weightHh, dgx: dir.gx, dgh: dir.dgh!, dcarry: dir.dcarry! };
        for (const at of forwardOrder(d).reverse()) list.push(stepKernel.bind(bindings, stepParams(batch, at, d), `${where(k, d)} backward step ${at}`));
      }
      const weightGrad = await dense('dense_backward_weight', inSize(k), { ROW_SUMS: bias });
      const hiddenGrad = await dense('dense_backward_weight', H, { ROW_SUMS: bias });
      for (let d = 0; d < D; d++) {
        const dir = t.layers[k]!.directions[d]!;
        const dgh = kind === 'LSTM' ? dir.gx : dir.dgh!;
        list.push(
          weightGrad.bind({ dy: dir.gx, x, dweight: dir.dweightIh, ...(bias ? { dbias: dir.dbiasIh! } : {}) }, shape(batch, inSize(k)), `${where(k, d)} ${bias ? 'weight_ih and bias_ih' : 'weight_ih'} gradient`),
          hiddenGrad.bind({ dy: dgh, x: dir.hprev, dweight: dir.dweightHh, ...(bias ? { dbias: dir.dbiasHh! } : {}) }, shape(batch, H), `${where(k, d)} ${bias ? 'weight_hh and bias_hh' : 'weight_hh'} gradient`),
        );
      }
      // The layer's input gradient: the network's (layer 0), or layer k − 1's output's (through the dropout's mask).
      const dx = k === 0 ? t.dInput : dropout ? t.layers[k - 1]!.dDropped! : t.layers[k - 1]!.dOutput!;
      if (!dx) continue;
      const inputGrad = await dense('dense_backward_input', inSize(k), { RELU_MASK: false });
      const length = batch * seqLen * inSize(k);
      for (let d = 0; d < D; d++) {
        list.push(inputGrad.bind({ dy: t.layers[k]!.directions[d]!.gx, weight: t.layers[k]!.directions[d]!.weightIh, dx: d === 0 ? dx : t.dInputReverse! }, shape(batch, inSize(k)), `${where(k, d)} input gradient`));
      }
      if (D === 2) list.push((await ctx.compile(residualAdd, { ACCUMULATE: true, COPY: false, RELU: false, ...residualVariant(length) })).bind({ x: dx, other: t.dInputReverse! }, { length }, `${path} ${name} l${k} input gradient, both directions`));
      if (k > 0 && dropout) {
        const l = t.layers[k - 1]!;
        list.push((await ctx.compile(dropoutBackward, { VEC4: length % 4 === 0 })).bind({ dy: l.dDropped!, mask: l.mask!, dx: l.dOutput! }, { length, scale: dropoutParams(s.dropout).scale }, `${path} ${name} dropout after l${k - 1} backward`));
      }
    }
    return list;
  });
  return {
    forward: (batch, mode) => (mode === 'train' ? trainForward(batch) : evalForward(batch)),
    backward,
    ...(dropout
      ? {
          setStep: (batch: number, next: number) => {
            step = next;
            for (const kernel of dropoutKernels.get(batch) ?? []) kernel.update({ step });
          },
        }
      : {}),
  };
}

/** A one-layer, one-direction LSTM's or GRU's tensors as the kernel tests give them. */
interface RecurrentTensors extends Omit<DirectionTensors, 'dcell' | 'cell' | 'dgh' | 'dcarry'> {
  readonly input: Tensor;
  readonly output: Tensor;
  readonly dOutput?: Tensor;
  readonly dInput?: Tensor;
}
export interface LstmTensors extends RecurrentTensors {
  readonly cell: Tensor;
  readonly dcell: Tensor;
}
export interface GruTensors extends RecurrentTensors {
  readonly dgh: Tensor;
  readonly dcarry: Tensor;
}
interface RecurrentSizes {
  readonly seqLen: number;
  readonly inputSize: number;
  readonly hidden: number;
  readonly maxBatch: number;
}

const single = (ctx: GpuContext, kind: 'LSTM' | 'GRU', t: LstmTensors | GruTensors, s: RecurrentSizes, path: string, tiles?: TileChooser) => {
  const program = recurrentProgram(ctx, kind, { input: t.input, output: t.output, dOutput: t.dOutput, dInput: t.dInput, layers: [{ directions: [t] }] }, { ...s, directions: 1, dropout: 0, seed: 0, stream: 0 }, path, tiles);
  return { forward: (batch: number) => program.forward(batch, 'train'), backward: program.backward };
};

/** A one-layer, one-direction LSTM's dispatches (forward 1 + L, backward L + 2, + 1 with the input gradient): the kernel tests'. */
export function lstmProgram(ctx: GpuContext, t: LstmTensors, s: RecurrentSizes, path: string, tiles?: TileChooser) {
  return single(ctx, 'LSTM', t, s, path, tiles);
}

/** A one-layer, one-direction GRU's dispatches (forward 1 + L, backward L + 2, + 1 with the input gradient): the kernel tests'. */
export function gruProgram(ctx: GpuContext, t: GruTensors, s: RecurrentSizes, path: string, tiles?: TileChooser) {
  return single(ctx, 'GRU', t, s, path, tiles);
}
