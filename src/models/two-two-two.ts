/**
 * The 2-2-2 back-propagation example of the spreadsheet (SPEC.md §1), defined with the layer API
 * and compiled by the plan compiler like any network:
 *
 *   2 inputs → Linear(2, 2, bias=False) (w1..w4) → Sigmoid → Linear(2, 2, bias=False) (w5..w8) → Sigmoid
 *
 * with the sheet's ½Σ(t − a)² loss (the half_squared_error kernel, which also gives E1 and E2) and
 * plain gradient descent (SGD without momentum) on all eight weights at once. Row k holds the
 * weights after k updates, the loss and the gradients at those weights, as the sheet's rows do.
 * A whole run (all rows, all learning rates) is recorded into one command buffer, with each row's
 * loss, weights and gradients copied into history tensors on the GPU and read back once at the end.
 */
import { copyTensor, recordPass, type Dispatch, type GpuContext } from '../gpu/context.js';
import type { Tensor } from '../gpu/tensor.js';
import { halfSquaredError } from '../kernels/half-squared-error.js';
import { Sigmoid } from '../layers/activations.js';
import { Linear } from '../layers/linear.js';
import { Sequential } from '../layers/sequential.js';
import { SGD } from '../optim/optimizers.js';
import { Network } from '../plan/network.js';

/** The sheet's sample and starting weights (SPEC.md §1). */
export const SHEET_EXAMPLE = {
  inputs: [0.05, 0.1],
  targets: [0.5, 0.5],
  weights: [0.15, 0.2, 0.25, 0.3, 0.4, 0.45, 0.5, 0.55],
  learningRate: 1.0,
  rows: 64,
} as const;

/** `true`: exact back-propagation (default). `spreadsheet`: the sheet's own ∂E/∂w3, ∂E/∂w4 formula. */
export type GradientMode = 'true' | 'spreadsheet';

/** The sheet's network; `spreadsheet` gives the hidden sigmoid the sheet's own derivative. */
export function twoTwoTwo(gradient: GradientMode = 'true'): Sequential {
  return new Sequential({
    hidden: new Linear({ inFeatures: 2, outFeatures: 2, bias: false }),
    hidden_sigmoid: new Sigmoid({ spreadsheetDerivative: gradient === 'spreadsheet' }),
    output: new Linear({ inFeatures: 2, outFeatures: 2, bias: false }),
    output_sigmoid: new Sigmoid(),
  });
}

export interface TwoTwoTwoOptions {
  readonly learningRate: number;
  readonly rows?: number;
  readonly gradient?: GradientMode;
  readonly weights?: readonly number[];
  readonly inputs?: readonly number[];
  readonly targets?: readonly number[];
}

export interface TwoTwoTwoRow {
  /** 0-based: the number of updates before this row. */
  readonly row: number;
  readonly E1: number;
  readonly E2: number;
  readonly E_total: number;
  /** w1..w8 */
  readonly weights: readonly number[];
  /** ∂E_total/∂w1 … ∂E_total/∂w8 at these weights */
  readonly gradients: readonly number[];
}

export interface TwoTwoTwoRun {
  readonly learningRate: number;
  readonly gradient: GradientMode;
  readonly rows: readonly TwoTwoTwoRow[];
}

export class TwoTwoTwo {
  private constructor(
    readonly options: Required<TwoTwoTwoOptions>,
    private readonly tensors: {
      w1: Tensor;
      w2: Tensor;
      dw1: Tensor;
      dw2: Tensor;
      terms: Tensor;
      loss: Tensor;
      /** [rows, 3]: E1, E2, E_total */
      lossHistory: Tensor;
      /** [rows, 8]: w1..w8 */
      weightHistory: Tensor;
      /** [rows, 8]: ∂E/∂w1..8 */
      gradientHistory: Tensor;
    },
    private readonly forwardBackward: readonly Dispatch[],
    private readonly update: readonly Dispatch[],
  ) {}

  static async create(ctx: GpuContext, options: TwoTwoTwoOptions): Promise<TwoTwoTwo> {
    const o: Required<TwoTwoTwoOptions> = {
      learningRate: options.learningRate,
      rows: SHEET_EXAMPLE.rows,
      gradient: 'true',
      weights: SHEET_EXAMPLE.weights,
      inputs: SHEET_EXAMPLE.inputs,
      targets: SHEET_EXAMPLE.targets,
      ...definedOnly(options),
    };
    if (!(Number.isInteger(o.rows) && o.rows >= 1)) throw new Error(`2-2-2: rows must be a whole number ≥ 1, got ${o.rows}`);
    if (!(Number.isFinite(o.learningRate) && o.learningRate >= 0)) throw new Error(`2-2-2: the learning rate must be a finite number ≥ 0, got ${o.learningRate}`);
    for (const [name, values, n] of [['weights', o.weights, 8], ['inputs', o.inputs, 2], ['targets', o.targets, 2]] as const) {
      if (values.length !== n) throw new Error(`2-2-2: expected ${n} ${name}, got ${values.length}`);
    }
    const tag = `2-2-2 η=${o.learningRate}`;
    const t = (name: string, shape: number[], data?: readonly number[]) => ctx.tensor(`${tag} ${name}`, shape, { data });
    const network = new Network(ctx, twoTwoTwo(o.gradient), { inputShape: [2], maxBatch: 1, loss: 'half-sse', optimizer: new SGD({ lr: o.learningRate }) });
    const [hidden, output] = network.parameters as [Network['parameters'][number], Network['parameters'][number]];
    ctx.write(network.input, o.inputs);
    ctx.write(hidden.value, o.weights.slice(0, 4));
    ctx.write(output.value, o.weights.slice(4, 8));
    network.beginStep(1, 0);
    const target = t('target', [1, 2], o.targets);
    const terms = t('E1,E2', [1, 2]);
    const loss = t('E_total', [1]);
    const lossHistory = t('loss history', [o.rows, 3]);
    const weightHistory = t('weight history', [o.rows, 8]);
    const gradientHistory = t('gradient history', [o.rows, 8]);
    const lossKernel = (await ctx.compile(halfSquaredError)).bind(
      { prediction: network.output, targets: target, terms, grad: network.dOutput, loss },
      { batch: 1, features: 2 },
      `${tag} loss`,
    );
    const forwardBackward = [...(await network.forward(1, 'train')), lossKernel, ...(await network.backward(1))];
    const update = await network.optimizerStep();
    const [w1, w2, dw1, dw2] = [hidden.value, output.value, hidden.grad, output.grad];
    return new TwoTwoTwo(o, { w1, w2, dw1, dw2, terms, loss, lossHistory, weightHistory, gradientHistory }, forwardBackward, update);
  }

  /**
   * Records row `row`: forward and backward at the current weights, the row copied into the
   * history tensors, then (except on the last row) the update.
   */
  recordRow(encoder: GPUCommandEncoder, row: number): void {
    const { w1, w2, dw1, dw2, terms, loss, lossHistory, weightHistory, gradientHistory } = this.tensors;
    recordPass(encoder, `2-2-2 row ${row} forward+backward`, this.forwardBackward);
    // The weights and gradients are members of the network's arenas: copied from where each starts.
    copyTensor(encoder, terms, lossHistory, row * 3, 2);
    copyTensor(encoder, loss, lossHistory, row * 3 + 2, 1);
    copyTensor(encoder, w1, weightHistory, row * 8);
    copyTensor(encoder, w2, weightHistory, row * 8 + 4);
    copyTensor(encoder, dw1, gradientHistory, row * 8);
    copyTensor(encoder, dw2, gradientHistory, row * 8 + 4);
    if (row < this.options.rows - 1) recordPass(encoder, `2-2-2 row ${row} update`, this.update);
  }

  /** Records every row of the run. */
  recordRun(encoder: GPUCommandEncoder): void {
    for (let row = 0; row < this.options.rows; row++) this.recordRow(encoder, row);
  }

  /** Reads the history tensors back as rows. */
  async readRows(ctx: GpuContext): Promise<TwoTwoTwoRow[]> {
    const [losses, weights, gradients] = await Promise.all([
      ctx.read(this.tensors.lossHistory),
      ctx.read(this.tensors.weightHistory),
      ctx.read(this.tensors.gradientHistory),
    ]);
    return Array.from({ length: this.options.rows }, (_, row) => ({
      row,
      E1: losses[row * 3]!,
      E2: losses[row * 3 + 1]!,
      E_total: losses[row * 3 + 2]!,
      weights: [...weights.subarray(row * 8, row * 8 + 8)],
      gradients: [...gradients.subarray(row * 8, row * 8 + 8)],
    }));
  }
}

function definedOnly<T extends object>(options: T): Partial<T> {
  return Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** Runs the example for each learning rate, all in one GPU submission. */
export async function runTwoTwoTwo(
  ctx: GpuContext,
  options: { learningRates: readonly number[]; rows?: number; gradient?: GradientMode },
): Promise<TwoTwoTwoRun[]> {
  const gradient = options.gradient ?? 'true';
  const nets = await Promise.all(options.learningRates.map((learningRate) => TwoTwoTwo.create(ctx, { learningRate, rows: options.rows, gradient })));
  ctx.submit('2-2-2 run', (encoder) => nets.forEach((net) => net.recordRun(encoder)));
  const rows = await Promise.all(nets.map((net) => net.readRows(ctx)));
  return nets.map((net, i) => ({ learningRate: net.options.learningRate, gradient, rows: rows[i]! }));
}
