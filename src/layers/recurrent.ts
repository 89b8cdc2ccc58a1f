/**
 * PyTorch's nn.LSTM and nn.GRU as layers, for batch_first=True, num_layers=1, one direction (other
 * settings are refused, naming the option). A sample is a sequence [L, input_size]; the layer's
 * output is the whole output sequence [L, hidden_size] — PyTorch's `output`, the first element of
 * the tuple nn.LSTM and nn.GRU return. h_n (and the LSTM's c_n) are not outputs (h_n is the
 * output's last step), and the initial states are zero. Parameters under PyTorch's names, shapes,
 * gate order and init (all U(−1/√H, 1/√H)): weight_ih_l0 [G·H, in], weight_hh_l0 [G·H, H],
 * bias_ih_l0, bias_hh_l0 [G·H], with G = 4 gates i, f, g, o (LSTM) or 3 gates r, z, n (GRU:
 * n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)), h' = (1 − z) ⊙ n + z ⊙ h).
 *
 * GPU schedule: the input projection gx = x · W_ihᵀ + b_ih for every step at once (dense_forward
 * on the [batch · L, in] view), then one lstm_forward_step / gru_forward_step dispatch per step.
 * Backward: one *_backward_step dispatch per step, in reverse (the gates' pre-activation
 * gradients dG, kept in gx's buffer, which the backward no longer needs — a GRU's hidden side's
 * in `dgh`, n's scaled by r; each step's dh carry summed from the next step's dG in a fixed
 * order), then the dense kernels over every step at once: dW_ih, ∂b_ih = dGᵀ·[x, 1], dW_hh,
 * ∂b_hh = dG_hᵀ·[h_{t−1}, 1] (h_{t−1} kept by the forward as `hprev`), and dX = dG · W_ih.
 * Deterministic: no atomics, every sum in a fixed order.
 */
import { defaultDenseTile, denseKernel, type DenseKernelName, type DenseShape } from '../kernels/dense.js';
import { lstmBackwardStep, lstmForwardStep } from '../kernels/lstm.js';
import { gruBackwardStep, gruForwardStep } from '../kernels/gru.js';
import type { Dispatch, GpuContext } from '../gpu/context.js';
import type { Tensor } from '../gpu/tensor.js';
import { Layer, ShapeError, checkOptions, perBatch, positionalOptions, trueOrFalse, whole, type LayerBuild, type LayerProgram, type ParameterSpec, type SampleShape, type TileChooser, type WorkspaceSpec } from './layer.js';

export interface RecurrentOptions {
  /** Inferred from the input when left out; checked when given. */
  readonly inputSize?: number;
  readonly hiddenSize: number;
  /** Only 1. */
  readonly numLayers?: number;
  /** Default true, as PyTorch. */
  readonly bias?: boolean;
  /** Only true: a sample is [L, input_size] (PyTorch's default, false, would put the batch second). */
  readonly batchFirst?: boolean;
  /** Only 0 (PyTorch applies it between stacked layers; one layer has none). */
  readonly dropout?: number;
  /** Only false. */
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

/** What LSTM and GRU share: PyTorch's arguments, the shapes, the parameters (`gates` blocks of H rows each). */
abstract class Recurrent extends Layer {
  abstract override readonly type: 'LSTM' | 'GRU';
  readonly inputSize?: number;
  readonly hiddenSize: number;
  readonly bias: boolean;
  /** Gate blocks of the weights: 4 (i, f, g, o) or 3 (r, z, n). */
  protected abstract readonly gates: number;

  constructor(owner: 'LSTM' | 'GRU', first: RecurrentOptions | number, rest: unknown[]) {
    super();
    const known = owner === 'LSTM' ? POSITIONS : POSITIONS.filter((k) => k !== 'projSize');
    if (typeof first !== 'number' && rest.length > 0) throw new RangeError(`${owner}: an options object takes no other arguments`);
    const options: RecurrentOptions = typeof first === 'number' ? positionalOptions<RecurrentOptions>(owner, [first, ...rest], known, known) : checkOptions(owner, first, known);
    this.inputSize = options.inputSize === undefined ? undefined : whole(owner, 'input_size', options.inputSize);
    this.hiddenSize = whole(owner, 'hidden_size', options.hiddenSize);
    this.bias = trueOrFalse(owner, 'bias', options.bias, true);
    only(owner, 'num_layers', options.numLayers, 1, `one layer: stack ${owner}s in a Sequential for more, each with its own parameters`);
    trueOrFalse(owner, 'batch_first', options.batchFirst, true);
    only(owner, 'batch_first', options.batchFirst, true, 'a sample is a sequence [L, input_size], the batch first');
    only(owner, 'dropout', options.dropout, 0, 'PyTorch drops out between stacked layers, and there is one');
    trueOrFalse(owner, 'bidirectional', options.bidirectional, false);
    only(owner, 'bidirectional', options.bidirectional, false, 'one direction');
    only(owner, 'proj_size', options.projSize, 0, 'no projection of h');
  }

  outputShape(input: SampleShape): SampleShape {
    if (input.length !== 2) throw new ShapeError(`expects an input of shape [sequence length, input_size] (a sequence of feature vectors, batch_first), got [${input.join(', ')}]`);
    if (this.inputSize !== undefined && input[1] !== this.inputSize) throw new ShapeError(`input_size is ${this.inputSize} but the input's steps have ${input[1]} features ([${input.join(', ')}])`);
    return [input[0]!, this.hiddenSize];
  }

  /** PyTorch's names, shapes, order and init: all U(−1/√H, 1/√H). */
  override parameterSpecs(input: SampleShape): ParameterSpec[] {
    const H = this.hiddenSize;
    const rows = this.gates * H;
    const init = { uniform: 1 / Math.sqrt(H) };
    const specs: ParameterSpec[] = [
      { name: 'weight_ih_l0', shape: [rows, input[1]!], init },
      { name: 'weight_hh_l0', shape: [rows, H], init },
    ];
    if (this.bias) specs.push({ name: 'bias_ih_l0', shape: [rows], init }, { name: 'bias_hh_l0', shape: [rows], init });
    return specs;
  }

  config() {
    return { input_size: this.inputSize, hidden_size: this.hiddenSize, bias: this.bias, batch_first: true };
  }

  /** The tensors both programs bind, from the layer's build. */
  protected tensors(b: LayerBuild) {
    const p = b.parameters;
    return {
      input: b.input, output: b.output, dOutput: b.dOutput, dInput: b.dInput,
      weightIh: p.weight_ih_l0!.value, weightHh: p.weight_hh_l0!.value, biasIh: p.bias_ih_l0?.value, biasHh: p.bias_hh_l0?.value,
      dweightIh: p.weight_ih_l0!.grad, dweightHh: p.weight_hh_l0!.grad, dbiasIh: p.bias_ih_l0?.grad, dbiasHh: p.bias_hh_l0?.grad,
    };
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

  override workspaceSpecs(input: SampleShape): WorkspaceSpec[] {
    const [L, H] = [input[0]!, this.hiddenSize];
    return [
      { name: 'gx', shape: [L, 4 * H], dtype: 'f32' },
      { name: 'gates', shape: [L, 4 * H], dtype: 'f32' },
      { name: 'cell', shape: [L, H], dtype: 'f32' },
      { name: 'hprev', shape: [L, H], dtype: 'f32' },
      { name: 'dcell', shape: [H], dtype: 'f32' },
    ];
  }

  lower(b: LayerBuild): LayerProgram {
    const w = b.workspace as Record<string, Tensor<'f32'>>;
    const program = lstmProgram(b.ctx, { ...this.tensors(b), gx: w.gx!, gates: w.gates!, cell: w.cell!, hprev: w.hprev!, dcell: w.dcell! }, { seqLen: b.inShape[0]!, inputSize: b.inShape[1]!, hidden: this.hiddenSize, maxBatch: b.maxBatch }, b.path, b.tiles);
    return { forward: (batch) => program.forward(batch), backward: program.backward };
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

  override workspaceSpecs(input: SampleShape): WorkspaceSpec[] {
    const [L, H] = [input[0]!, this.hiddenSize];
    return [
      { name: 'gx', shape: [L, 3 * H], dtype: 'f32' },
      { name: 'gates', shape: [L, 4 * H], dtype: 'f32' },
      { name: 'hprev', shape: [L, H], dtype: 'f32' },
      { name: 'dgh', shape: [L, 3 * H], dtype: 'f32' },
      { name: 'dcarry', shape: [H], dtype: 'f32' },
    ];
  }

  lower(b: LayerBuild): LayerProgram {
    const w = b.workspace as Record<string, Tensor<'f32'>>;
    const program = gruProgram(b.ctx, { ...this.tensors(b), gx: w.gx!, gates: w.gates!, hprev: w.hprev!, dgh: w.dgh!, dcarry: w.dcarry! }, { seqLen: b.inShape[0]!, inputSize: b.inShape[1]!, hidden: this.hiddenSize, maxBatch: b.maxBatch }, b.path, b.tiles);
    return { forward: (batch) => program.forward(batch), backward: program.backward };
  }
}

/** The tensors of an LSTM's or GRU's dispatches that both have ([batch, ...] each, sized for the largest batch). */
interface RecurrentTensors {
  readonly input: Tensor;
  readonly output: Tensor;
  readonly weightIh: Tensor;
  readonly weightHh: Tensor;
  readonly biasIh?: Tensor;
  readonly biasHh?: Tensor;
  /** x · W_ihᵀ + b_ih [batch, L, gates·H]; in the backward, the input side's pre-activation gradients. */
  readonly gx: Tensor;
  /** What the backward reads of the gates [batch, L, 4H]. */
  readonly gates: Tensor;
  /** h_{t−1} [batch, L, H] (0 at t = 0). */
  readonly hprev: Tensor;
  /** Absent: no backward. */
  readonly dOutput?: Tensor;
  /** Absent: no input gradient (the network's first trained layer). */
  readonly dInput?: Tensor;
  readonly dweightIh: Tensor;
  readonly dweightHh: Tensor;
  readonly dbiasIh?: Tensor;
  readonly dbiasHh?: Tensor;
}

/** Every tensor an LSTM's dispatches bind. */
export interface LstmTensors extends RecurrentTensors {
  /** c_t [batch, L, H]. */
  readonly cell: Tensor;
  /** The dc carry between backward steps [batch, H]. */
  readonly dcell: Tensor;
}

/** Every tensor a GRU's dispatches bind. */
export interface GruTensors extends RecurrentTensors {
  /** The hidden side's pre-activation gradients [batch, L, 3H]. */
  readonly dgh: Tensor;
  /** The direct dh carry (dh ⊙ z) between backward steps [batch, H]. */
  readonly dcarry: Tensor;
}

interface RecurrentSizes {
  readonly seqLen: number;
  readonly inputSize: number;
  readonly hidden: number;
  readonly maxBatch: number;
}

/**
 * The dense kernels of a recurrent layer over every step at once, on the [batch · L, features]
 * views: the input projection, and after the backward steps, the weight and bias gradients
 * from the pre-activation gradients (`dgx` for W_ih and b_ih with x, `dgh` for W_hh and b_hh with
 * h_{t−1}) and the input gradient dgx · W_ih.
 */
function denseParts(ctx: GpuContext, t: RecurrentTensors, s: RecurrentSizes, gates: number, kind: string, path: string, tiles?: TileChooser) {
  const { seqLen, inputSize, hidden } = s;
  const bias = t.biasIh !== undefined;
  const shape = (batch: number, inFeatures: number): DenseShape => ({ batch: batch * seqLen, inFeatures, outFeatures: gates * hidden });
  // Any tile sums in the same order: the choice changes speed, not results.
  const tile = (name: DenseKernelName, inFeatures: number) => {
    const full = shape(s.maxBatch, inFeatures);
    return tiles?.(name, full) ?? defaultDenseTile(name, full);
  };
  return {
    projection: async (batch: number) =>
      (await ctx.compile(denseKernel('dense_forward', tile('dense_forward', inputSize)), { BIAS: bias, RELU: false })).bind(
        { x: t.input, weight: t.weightIh, y: t.gx, ...(bias ? { bias: t.biasIh! } : {}) },
        shape(batch, inputSize),
        `${path} ${kind} input projection`,
      ),
    gradients: async (batch: number, dgx: Tensor, dgh: Tensor): Promise<Dispatch[]> => {
      const weightGrad = async (dy: Tensor, x: Tensor, inFeatures: number, dweight: Tensor, dbias: Tensor | undefined, what: string) =>
        (await ctx.compile(denseKernel('dense_backward_weight', tile('dense_backward_weight', inFeatures)), { ROW_SUMS: bias })).bind(
          { dy, x, dweight, ...(bias ? { dbias: dbias! } : {}) },
          shape(batch, inFeatures),
          `${path} ${kind} ${bias ? `weight_${what} and bias_${what}` : `weight_${what}`} gradient`,
        );
      const list = [await weightGrad(dgx, t.input, inputSize, t.dweightIh, t.dbiasIh, 'ih'), await weightGrad(dgh, t.hprev, hidden, t.dweightHh, t.dbiasHh, 'hh')];
      if (t.dInput) {
        list.push(
          (await ctx.compile(denseKernel('dense_backward_input', tile('dense_backward_input', inputSize)), { RELU_MASK: false })).bind(
            { dy: dgx, weight: t.weightIh, dx: t.dInput },
            shape(batch, inputSize),
            `${path} ${kind} input gradient`,
          ),
        );
      }
      return list;
    },
  };
}

/**
 * An LSTM's bound dispatches per batch size (see the module's header): forward, 1 + L dispatches;
 * backward, L + 2 (+ 1 with the input gradient). Used by the layer and by the kernel tests.
 */
export function lstmProgram(ctx: GpuContext, t: LstmTensors, s: RecurrentSizes, path: string, tiles?: TileChooser) {
  const { seqLen, hidden } = s;
  const bias = t.biasIh !== undefined;
  const dense = denseParts(ctx, t, s, 4, 'lstm', path, tiles);
  const step = (batch: number, step: number) => ({ batch, seqLen, hidden, step });
  const forward = perBatch(async (batch): Promise<Dispatch[]> => {
    const kernel = await ctx.compile(lstmForwardStep, { BIAS: bias });
    const steps = Array.from({ length: seqLen }, (_, k) =>
      kernel.bind({ gx: t.gx, weightHh: t.weightHh, ...(bias ? { biasHh: t.biasHh! } : {}), y: t.output, cell: t.cell, gates: t.gates, hprev: t.hprev }, step(batch, k), `${path} lstm forward step ${k}`),
    );
    return [await dense.projection(batch), ...steps];
  });
  const backward = perBatch(async (batch): Promise<Dispatch[]> => {
    if (!t.dOutput) return [];
    const kernel = await ctx.compile(lstmBackwardStep);
    // The gates' pre-activation gradients, the same on the input and hidden sides, in gx's buffer.
    const steps = Array.from({ length: seqLen }, (_, i) => {
      const k = seqLen - 1 - i;
      return kernel.bind({ dy: t.dOutput!, gates: t.gates, cell: t.cell, weightHh: t.weightHh, dgates: t.gx, dcell: t.dcell }, step(batch, k), `${path} lstm backward step ${k}`);
    });
    return [...steps, ...(await dense.gradients(batch, t.gx, t.gx))];
  });
  return { forward, backward };
}

/**
 * A GRU's bound dispatches per batch size: forward, 1 + L dispatches; backward, L + 2 (+ 1 with
 * the input gradient). The input side's pre-activation gradients in gx's buffer, the hidden
 * side's (n's scaled by r) in `dgh`. Used by the layer and by the kernel tests.
 */
export function gruProgram(ctx: GpuContext, t: GruTensors, s: RecurrentSizes, path: string, tiles?: TileChooser) {
  const { seqLen, hidden } = s;
  const bias = t.biasIh !== undefined;
  const dense = denseParts(ctx, t, s, 3, 'gru', path, tiles);
  const step = (batch: number, step: number) => ({ batch, seqLen, hidden, step });
  const forward = perBatch(async (batch): Promise<Dispatch[]> => {
    const kernel = await ctx.compile(gruForwardStep, { BIAS: bias });
    const steps = Array.from({ length: seqLen }, (_, k) =>
      kernel.bind({ gx: t.gx, weightHh: t.weightHh, ...(bias ? { biasHh: t.biasHh! } : {}), y: t.output, gates: t.gates, hprev: t.hprev }, step(batch, k), `${path} gru forward step ${k}`),
    );
    return [await dense.projection(batch), ...steps];
  });
  const backward = perBatch(async (batch): Promise<Dispatch[]> => {
    if (!t.dOutput) return [];
    const kernel = await ctx.compile(gruBackwardStep);
    const steps = Array.from({ length: seqLen }, (_, i) => {
      const k = seqLen - 1 - i;
      return kernel.bind({ dy: t.dOutput!, gates: t.gates, hprev: t.hprev, weightHh: t.weightHh, dgx: t.gx, dgh: t.dgh, dcarry: t.dcarry }, step(batch, k), `${path} gru backward step ${k}`);
    });
    return [...steps, ...(await dense.gradients(batch, t.gx, t.dgh))];
  });
  return { forward, backward };
}
