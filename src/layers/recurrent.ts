/**
 * PyTorch's nn.LSTM as a layer, for batch_first=True, num_layers=1, one direction (other settings
 * are refused, naming the option). A sample is a sequence [L, input_size]; the layer's output is
 * the whole output sequence [L, hidden_size] — PyTorch's `output`, the first element of the tuple
 * nn.LSTM returns. h_n and c_n are not outputs (h_n is the output's last step), and the initial
 * states are zero. Parameters under PyTorch's names, shapes, gate order (i, f, g, o) and init
 * (all U(−1/√H, 1/√H)): weight_ih_l0 [4H, in], weight_hh_l0 [4H, H], bias_ih_l0, bias_hh_l0 [4H].
 *
 * GPU schedule: the input projection gx = x · W_ihᵀ + b_ih for every step at once (dense_forward
 * on the [batch · L, in] view), then one lstm_forward_step dispatch per step. Backward: one
 * lstm_backward_step dispatch per step, in reverse (the gates' pre-activation gradients dG, kept
 * in gx's buffer, which the backward no longer needs; each step's dh carry summed from the next
 * step's dG in a fixed order), then the dense kernels over every step at once: dW_ih, ∂b_ih =
 * dGᵀ·[x, 1], dW_hh, ∂b_hh = dGᵀ·[h_{t−1}, 1] (h_{t−1} kept by the forward as `hprev`), and
 * dX = dG · W_ih. Deterministic: no atomics, every sum in a fixed order.
 */
import { defaultDenseTile, denseKernel, type DenseKernelName, type DenseShape } from '../kernels/dense.js';
import { lstmBackwardStep, lstmForwardStep } from '../kernels/lstm.js';
import type { Dispatch, GpuContext } from '../gpu/context.js';
import type { Tensor } from '../gpu/tensor.js';
import { Layer, ShapeError, checkOptions, perBatch, positionalOptions, trueOrFalse, whole, type LayerBuild, type LayerProgram, type ParameterSpec, type SampleShape, type TileChooser, type WorkspaceSpec } from './layer.js';

export interface LstmOptions {
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
  /** Only 0 (no projection). */
  readonly projSize?: number;
}

const KNOWN = ['inputSize', 'hiddenSize', 'numLayers', 'bias', 'batchFirst', 'dropout', 'bidirectional', 'projSize'] as const;

/** A setting this layer does not run, refused naming PyTorch's option. */
function only(owner: string, field: string, value: unknown, allowed: unknown, why: string): void {
  if (value !== undefined && value !== allowed) throw new RangeError(`${owner}: ${field} must be ${JSON.stringify(allowed)} here (${why}), got ${JSON.stringify(value)}`);
}

export class LSTM extends Layer {
  readonly type = 'LSTM';
  readonly inputSize?: number;
  readonly hiddenSize: number;
  readonly bias: boolean;

  /** `new LSTM({ hiddenSize: 64 })`, or PyTorch's positional form `new LSTM(28, 64)` (then `{ batchFirst: true }` and the rest if need be). */
  constructor(options: LstmOptions);
  constructor(inputSize: number, hiddenSize: number, options?: Omit<LstmOptions, 'inputSize' | 'hiddenSize'>);
  constructor(first: LstmOptions | number, ...rest: unknown[]) {
    super();
    if (typeof first !== 'number' && rest.length > 0) throw new RangeError('LSTM: an options object takes no other arguments');
    const options: LstmOptions =
      typeof first === 'number' ? positionalOptions<LstmOptions>('LSTM', [first, ...rest], ['inputSize', 'hiddenSize', 'numLayers', 'bias', 'batchFirst', 'dropout', 'bidirectional', 'projSize'], KNOWN) : checkOptions('LSTM', first, KNOWN);
    this.inputSize = options.inputSize === undefined ? undefined : whole('LSTM', 'input_size', options.inputSize);
    this.hiddenSize = whole('LSTM', 'hidden_size', options.hiddenSize);
    this.bias = trueOrFalse('LSTM', 'bias', options.bias, true);
    only('LSTM', 'num_layers', options.numLayers, 1, 'one layer: stack LSTMs in a Sequential for more, each with its own parameters');
    trueOrFalse('LSTM', 'batch_first', options.batchFirst, true);
    only('LSTM', 'batch_first', options.batchFirst, true, 'a sample is a sequence [L, input_size], the batch first');
    only('LSTM', 'dropout', options.dropout, 0, 'PyTorch drops out between stacked layers, and there is one');
    trueOrFalse('LSTM', 'bidirectional', options.bidirectional, false);
    only('LSTM', 'bidirectional', options.bidirectional, false, 'one direction');
    only('LSTM', 'proj_size', options.projSize, 0, 'no projection of h');
  }

  outputShape(input: SampleShape): SampleShape {
    if (input.length !== 2) throw new ShapeError(`expects an input of shape [sequence length, input_size] (a sequence of feature vectors, batch_first), got [${input.join(', ')}]`);
    if (this.inputSize !== undefined && input[1] !== this.inputSize) throw new ShapeError(`input_size is ${this.inputSize} but the input's steps have ${input[1]} features ([${input.join(', ')}])`);
    return [input[0]!, this.hiddenSize];
  }

  override parameterSpecs(input: SampleShape): ParameterSpec[] {
    const H = this.hiddenSize;
    const init = { uniform: 1 / Math.sqrt(H) };
    const specs: ParameterSpec[] = [
      { name: 'weight_ih_l0', shape: [4 * H, input[1]!], init },
      { name: 'weight_hh_l0', shape: [4 * H, H], init },
    ];
    if (this.bias) specs.push({ name: 'bias_ih_l0', shape: [4 * H], init }, { name: 'bias_hh_l0', shape: [4 * H], init });
    return specs;
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

  config() {
    return { input_size: this.inputSize, hidden_size: this.hiddenSize, bias: this.bias, batch_first: true };
  }

  lower(b: LayerBuild): LayerProgram {
    const p = b.parameters;
    const w = b.workspace as Record<string, Tensor<'f32'>>;
    const program = lstmProgram(b.ctx, {
      input: b.input, output: b.output, dOutput: b.dOutput, dInput: b.dInput,
      weightIh: p.weight_ih_l0!.value, weightHh: p.weight_hh_l0!.value, biasIh: p.bias_ih_l0?.value, biasHh: p.bias_hh_l0?.value,
      dweightIh: p.weight_ih_l0!.grad, dweightHh: p.weight_hh_l0!.grad, dbiasIh: p.bias_ih_l0?.grad, dbiasHh: p.bias_hh_l0?.grad,
      gx: w.gx!, gates: w.gates!, cell: w.cell!, hprev: w.hprev!, dcell: w.dcell!,
    }, { seqLen: b.inShape[0]!, inputSize: b.inShape[1]!, hidden: this.hiddenSize, maxBatch: b.maxBatch }, b.path, b.tiles);
    return { forward: (batch) => program.forward(batch), backward: program.backward };
  }
}

/** Every tensor an LSTM's dispatches bind ([batch, ...] each, sized for the largest batch). */
export interface LstmTensors {
  readonly input: Tensor;
  readonly output: Tensor;
  readonly weightIh: Tensor;
  readonly weightHh: Tensor;
  readonly biasIh?: Tensor;
  readonly biasHh?: Tensor;
  /** x · W_ihᵀ + b_ih [batch, L, 4H]; in the backward, the gates' pre-activation gradients. */
  readonly gx: Tensor;
  /** The activated gates i, f, g, o [batch, L, 4H]. */
  readonly gates: Tensor;
  /** c_t [batch, L, H]. */
  readonly cell: Tensor;
  /** h_{t−1} [batch, L, H] (0 at t = 0). */
  readonly hprev: Tensor;
  /** The dc carry between backward steps [batch, H]. */
  readonly dcell: Tensor;
  /** Absent: no backward. */
  readonly dOutput?: Tensor;
  /** Absent: no input gradient (the network's first trained layer). */
  readonly dInput?: Tensor;
  readonly dweightIh: Tensor;
  readonly dweightHh: Tensor;
  readonly dbiasIh?: Tensor;
  readonly dbiasHh?: Tensor;
}

/**
 * An LSTM's bound dispatches per batch size (see the module's header): forward, 1 + L dispatches;
 * backward, L + 2 (+ 1 with the input gradient). Used by the layer and by the kernel tests.
 */
export function lstmProgram(ctx: GpuContext, t: LstmTensors, s: { readonly seqLen: number; readonly inputSize: number; readonly hidden: number; readonly maxBatch: number }, path: string, tiles?: TileChooser) {
  const { seqLen, inputSize, hidden } = s;
  const bias = t.biasIh !== undefined;
  const dense = (batch: number, inFeatures: number): DenseShape => ({ batch: batch * seqLen, inFeatures, outFeatures: 4 * hidden });
  // Any tile sums in the same order: the choice changes speed, not results.
  const tile = (name: DenseKernelName, inFeatures: number) => {
    const full = dense(s.maxBatch, inFeatures);
    return tiles?.(name, full) ?? defaultDenseTile(name, full);
  };
  const step = (batch: number, step: number) => ({ batch, seqLen, hidden, step });
  const forward = perBatch(async (batch): Promise<Dispatch[]> => {
    const projection = (await ctx.compile(denseKernel('dense_forward', tile('dense_forward', inputSize)), { BIAS: bias, RELU: false })).bind(
      { x: t.input, weight: t.weightIh, y: t.gx, ...(bias ? { bias: t.biasIh! } : {}) },
      dense(batch, inputSize),
      `${path} lstm input projection`,
    );
    const kernel = await ctx.compile(lstmForwardStep, { BIAS: bias });
    const steps = Array.from({ length: seqLen }, (_, k) =>
      kernel.bind({ gx: t.gx, weightHh: t.weightHh, ...(bias ? { biasHh: t.biasHh! } : {}), y: t.output, cell: t.cell, gates: t.gates, hprev: t.hprev }, step(batch, k), `${path} lstm forward step ${k}`),
    );
    return [projection, ...steps];
  });
  const backward = perBatch(async (batch): Promise<Dispatch[]> => {
    if (!t.dOutput) return [];
    const kernel = await ctx.compile(lstmBackwardStep);
    const steps = Array.from({ length: seqLen }, (_, i) => {
      const k = seqLen - 1 - i;
      return kernel.bind({ dy: t.dOutput!, gates: t.gates, cell: t.cell, weightHh: t.weightHh, dgates: t.gx, dcell: t.dcell }, step(batch, k), `${path} lstm backward step ${k}`);
    });
    const weightGrad = async (x: Tensor, inFeatures: number, dweight: Tensor, dbias: Tensor | undefined, what: string) =>
      (await ctx.compile(denseKernel('dense_backward_weight', tile('dense_backward_weight', inFeatures)), { ROW_SUMS: bias })).bind(
        { dy: t.gx, x, dweight, ...(bias ? { dbias: dbias! } : {}) },
        dense(batch, inFeatures),
        `${path} lstm ${what} gradient`,
      );
    const list: Dispatch[] = [
      ...steps,
      await weightGrad(t.input, inputSize, t.dweightIh, t.dbiasIh, bias ? 'weight_ih and bias_ih' : 'weight_ih'),
      await weightGrad(t.hprev, hidden, t.dweightHh, t.dbiasHh, bias ? 'weight_hh and bias_hh' : 'weight_hh'),
    ];
    if (t.dInput) {
      list.push(
        (await ctx.compile(denseKernel('dense_backward_input', tile('dense_backward_input', inputSize)), { RELU_MASK: false })).bind(
          { dy: t.gx, weight: t.weightIh, dx: t.dInput },
          dense(batch, inputSize),
          `${path} lstm input gradient`,
        ),
      );
    }
    return list;
  });
  return { forward, backward };
}
