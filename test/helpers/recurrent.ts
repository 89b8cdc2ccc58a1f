/**
 * What the GRU's and the LSTM's kernel tests (test/kernels/gru.test.ts, lstm.test.ts) share: the
 * awkward shapes, each cell's random data (from its own seeds), the tensors every recurrent
 * program takes (inputs written, every output poisoned) and their read-back. A cell's own
 * tensors (the LSTM's cell state, the GRU's carries) and its checks stay in its test.
 */
import { expect } from 'vitest';
import type { GpuContext } from '../../src/gpu/context.js';
import type { Tensor } from '../../src/gpu/tensor.js';
import type { LstmShape } from '../../src/reference/lstm.js';
import { f32, randomArray } from './allclose.js';
import { withoutSubgroups } from './gpu.js';

export interface RecurrentCase {
  /** [batch, L, input_size, hidden] */
  readonly s: readonly [number, number, number, number];
  readonly bias: boolean;
  readonly maxBatch?: number;
  readonly inputGradient?: boolean;
}

export const RECURRENT_CASES: readonly RecurrentCase[] = [
  { s: [1, 1, 1, 1], bias: true },
  { s: [3, 1, 4, 3], bias: true },
  { s: [1, 6, 3, 5], bias: false },
  { s: [3, 5, 7, 6], bias: true },
  { s: [2, 4, 5, 9], bias: true, maxBatch: 5 },
  { s: [3, 7, 2, 13], bias: false, inputGradient: false },
  // A long sequence: 300 steps forward and back, the carries through all of them.
  { s: [2, 300, 5, 17], bias: true },
  // Batches past one group of 8 samples and not a multiple of 8 (the SUBGROUP variant's groups), H
  // neither a multiple of 8 (units padded to whole subgroups) nor, for 9, of 4.
  { s: [11, 4, 3, 9], bias: true, maxBatch: 13 },
  { s: [17, 3, 6, 20], bias: false },
  // 16 groups of 8 samples whose 20 units pad to 24: 384 invocations forward, more workgroups than 320.
  { s: [128, 2, 3, 20], bias: true },
];

export function recurrentCaseName({ s: [batch, seqLen, inputSize, hidden], bias, maxBatch, inputGradient }: RecurrentCase): string {
  return `batch ${batch}, L ${seqLen}, in ${inputSize}, H ${hidden}${bias ? '' : ', bias=False'}${maxBatch ? `, tensors for ${maxBatch}` : ''}${inputGradient === false ? ', no input gradient' : ''}`;
}

/** A forward and backward's dispatches: the input projection, a step each way per time step, the two weight gradients, the input gradient. */
export const recurrentDispatches = (seqLen: number, inputGradient?: boolean) => 1 + seqLen + seqLen + 2 + (inputGradient === false ? 0 : 1);

/** The random data of a cell of `gates` gates: x, the weights (bias optional) and dy, from the cell's seeds. */
export function recurrentData(s: LstmShape, gates: number, bias: boolean, seeds: { x: number; weights: number; dy: number }) {
  const { batch, seqLen, inputSize, hidden: H } = s;
  const bound = 1 / Math.sqrt(H);
  const w = seeds.weights;
  const weights = {
    weightIh: f32(randomArray(gates * H * inputSize, w, -bound, bound)),
    weightHh: f32(randomArray(gates * H * H, w + 1, -bound, bound)),
    ...(bias ? { biasIh: f32(randomArray(gates * H, w + 2, -bound, bound)), biasHh: f32(randomArray(gates * H, w + 3, -bound, bound)) } : {}),
  };
  return { x: f32(randomArray(batch * seqLen * inputSize, seeds.x, -2, 2)), weights, dy: f32(randomArray(batch * seqLen * H, seeds.dy)) };
}

/**
 * The tensors every recurrent program takes, for maxBatch samples (the data written from sample
 * 0, zeros after it; outputs and scratch poisoned with NaN), and `sized` for a cell's own: a
 * tensor of perSample elements a sample, poisoned.
 */
export function recurrentTensors(ctx: GpuContext, s: LstmShape, gates: number, maxBatch: number, inputGradient: boolean | undefined, data: ReturnType<typeof recurrentData>) {
  const { seqLen, inputSize, hidden: H } = s;
  const sized = (label: string, perSample: number, values?: Float64Array) => {
    const t = ctx.tensor(label, [maxBatch * perSample]);
    if (values) {
      const all = new Float32Array(maxBatch * perSample);
      all.set(values);
      ctx.write(t, all);
    } else ctx.fill(t, NaN);
    return t;
  };
  const fixed = (label: string, values: Float64Array) => ctx.tensor(label, [values.length], { data: Float32Array.from(values) });
  const poisoned = (label: string, length: number) => {
    const t = ctx.tensor(label, [length]);
    ctx.fill(t, NaN);
    return t;
  };
  const { weights } = data;
  const bias = weights.biasIh !== undefined;
  const tensors = {
    input: sized('x', seqLen * inputSize, data.x),
    output: sized('y', seqLen * H),
    dOutput: sized('dy', seqLen * H, data.dy),
    dInput: inputGradient === false ? undefined : sized('dx', seqLen * inputSize),
    weightIh: fixed('weight_ih', weights.weightIh),
    weightHh: fixed('weight_hh', weights.weightHh),
    biasIh: weights.biasIh && fixed('bias_ih', weights.biasIh),
    biasHh: weights.biasHh && fixed('bias_hh', weights.biasHh),
    dweightIh: poisoned('dweight_ih', gates * H * inputSize),
    dweightHh: poisoned('dweight_hh', gates * H * H),
    dbiasIh: bias ? poisoned('dbias_ih', gates * H) : undefined,
    dbiasHh: bias ? poisoned('dbias_hh', gates * H) : undefined,
    gx: sized('gx', seqLen * gates * H),
    gates: sized('gates', seqLen * 4 * H),
    hprev: sized('hprev', seqLen * H),
  };
  return { sized, tensors };
}

/** The outputs every recurrent program writes, read back for the batch's samples. */
export async function readRecurrent(ctx: GpuContext, t: ReturnType<typeof recurrentTensors>['tensors'], s: LstmShape) {
  const n = s.batch * s.seqLen;
  const H = s.hidden;
  const read = async (tensor: Tensor, length: number) => (await ctx.read(tensor)).slice(0, length);
  return {
    y: await read(t.output, n * H),
    gates: await read(t.gates, n * 4 * H),
    dx: t.dInput && (await read(t.dInput, n * s.inputSize)),
    dweightIh: await ctx.read(t.dweightIh),
    dweightHh: await ctx.read(t.dweightHh),
    dbiasIh: t.dbiasIh && (await ctx.read(t.dbiasIh)),
    dbiasHh: t.dbiasHh && (await ctx.read(t.dbiasHh)),
  };
}

/**
 * Runs a recurrent test on the adapter's path (lavapipe: the step kernels' SUBGROUP variant) and on
 * the plain path (the same device described without subgroups of 8), and holds the two's outputs
 * equal bit for bit (every variant sums in the same order). Both runs, the adapter's first, for
 * the caller to check against the reference.
 */
export async function onBothPaths<R extends { gpu: Record<string, Float32Array | undefined> }>(ctx: GpuContext, run: (c: GpuContext) => Promise<R>): Promise<[R, R]> {
  const adapter = await run(ctx);
  const plain = await run(withoutSubgroups(ctx));
  for (const [name, a] of Object.entries(adapter.gpu)) {
    const b = plain.gpu[name];
    if (a === undefined || b === undefined) continue;
    expect(Array.from(a).findIndex((v, i) => !Object.is(v, b[i])), `${name}: the adapter's and the plain path differ`).toBe(-1);
  }
  return [adapter, plain];
}
