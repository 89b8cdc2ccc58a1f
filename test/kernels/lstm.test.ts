/**
 * The LSTM's dispatches (src/layers/recurrent.ts's lstmProgram: the dense input projection, the
 * per-step lstm_forward_step and lstm_backward_step, the dense weight and input gradients) against
 * the float64 reference (src/reference/lstm.ts), every output poisoned first: awkward shapes (one
 * step, one unit, H not a multiple of 4, batch 1 and 3, no bias, a batch smaller than the tensors'),
 * a long sequence (L 300), and the classic size, an LSTM over MNIST's rows (batch 128, L 28, in 28, H 128).
 */
import { describe, expect } from 'vitest';
import { recordPass } from '../../src/gpu/context.js';
import type { GpuContext } from '../../src/gpu/context.js';
import { lstmProgram } from '../../src/layers/recurrent.js';
import { lstmBackwardRef, lstmForwardRef, type LstmShape } from '../../src/reference/lstm.js';
import { TOLERANCE, expectAllClose, f32, randomArray, scaledErrors } from '../helpers/allclose.js';
import { gpuTest } from '../helpers/gpu.js';

async function runLstm(ctx: GpuContext, s: LstmShape, options: { bias: boolean; maxBatch?: number; inputGradient?: boolean }) {
  const { batch, seqLen, inputSize, hidden: H } = s;
  const maxBatch = options.maxBatch ?? batch;
  const bound = 1 / Math.sqrt(H);
  const x = f32(randomArray(batch * seqLen * inputSize, 3 + batch + 7 * seqLen, -2, 2));
  const weights = {
    weightIh: f32(randomArray(4 * H * inputSize, 11 + H, -bound, bound)),
    weightHh: f32(randomArray(4 * H * H, 12 + H, -bound, bound)),
    ...(options.bias ? { biasIh: f32(randomArray(4 * H, 13 + H, -bound, bound)), biasHh: f32(randomArray(4 * H, 14 + H, -bound, bound)) } : {}),
  };
  const dy = f32(randomArray(batch * seqLen * H, 17 + seqLen));
  const sized = (label: string, perSample: number, data?: Float64Array) => {
    const t = ctx.tensor(label, [maxBatch * perSample]);
    if (data) ctx.write(t, Float32Array.from(data));
    else ctx.fill(t, NaN);
    return t;
  };
  const fixed = (label: string, data: Float64Array) => ctx.tensor(label, [data.length], { data: Float32Array.from(data) });
  const poisoned = (label: string, length: number) => {
    const t = ctx.tensor(label, [length]);
    ctx.fill(t, NaN);
    return t;
  };
  const xPadded = new Float64Array(maxBatch * seqLen * inputSize);
  xPadded.set(x);
  const dyPadded = new Float64Array(maxBatch * seqLen * H);
  dyPadded.set(dy);
  const t = {
    input: sized('x', seqLen * inputSize, xPadded),
    output: sized('y', seqLen * H),
    dOutput: sized('dy', seqLen * H, dyPadded),
    dInput: options.inputGradient === false ? undefined : sized('dx', seqLen * inputSize),
    weightIh: fixed('weight_ih', weights.weightIh),
    weightHh: fixed('weight_hh', weights.weightHh),
    biasIh: weights.biasIh && fixed('bias_ih', weights.biasIh),
    biasHh: weights.biasHh && fixed('bias_hh', weights.biasHh),
    dweightIh: poisoned('dweight_ih', 4 * H * inputSize),
    dweightHh: poisoned('dweight_hh', 4 * H * H),
    dbiasIh: options.bias ? poisoned('dbias_ih', 4 * H) : undefined,
    dbiasHh: options.bias ? poisoned('dbias_hh', 4 * H) : undefined,
    gx: sized('gx', seqLen * 4 * H),
    gates: sized('gates', seqLen * 4 * H),
    cell: sized('cell', seqLen * H),
    hprev: sized('hprev', seqLen * H),
    dcell: sized('dcell', H),
  };
  const program = lstmProgram(ctx, t, { seqLen, inputSize, hidden: H, maxBatch }, 'lstm');
  const dispatches = [...(await program.forward(batch)), ...(await program.backward(batch))];
  ctx.submit('lstm test', (e) => recordPass(e, 'lstm test', dispatches));
  const read = async (tensor: typeof t.output, length: number) => (await ctx.read(tensor)).slice(0, length);
  const n = batch * seqLen;
  const gpu = {
    y: await read(t.output, n * H),
    cell: await read(t.cell, n * H),
    gates: await read(t.gates, n * 4 * H),
    dx: t.dInput && (await read(t.dInput, n * inputSize)),
    dweightIh: await ctx.read(t.dweightIh),
    dweightHh: await ctx.read(t.dweightHh),
    dbiasIh: t.dbiasIh && (await ctx.read(t.dbiasIh)),
    dbiasHh: t.dbiasHh && (await ctx.read(t.dbiasHh)),
  };
  const fwd = lstmForwardRef(x, weights, s);
  return { gpu, fwd, ref: lstmBackwardRef(dy, x, weights, s, fwd), dispatches: dispatches.length };
}

describe('LSTM kernels against the float64 reference', () => {
  // [batch, L, input_size, hidden]
  const shapes: { s: [number, number, number, number]; bias: boolean; maxBatch?: number; inputGradient?: boolean }[] = [
    { s: [1, 1, 1, 1], bias: true },
    { s: [3, 1, 4, 3], bias: true },
    { s: [1, 6, 3, 5], bias: false },
    { s: [3, 5, 7, 6], bias: true },
    { s: [2, 4, 5, 9], bias: true, maxBatch: 5 },
    { s: [3, 7, 2, 13], bias: false, inputGradient: false },
    // A long sequence: 300 steps forward and back, the carries through all of them.
    { s: [2, 300, 5, 17], bias: true },
  ];
  for (const { s: [batch, seqLen, inputSize, hidden], bias, maxBatch, inputGradient } of shapes) {
    gpuTest(`batch ${batch}, L ${seqLen}, in ${inputSize}, H ${hidden}${bias ? '' : ', bias=False'}${maxBatch ? `, tensors for ${maxBatch}` : ''}${inputGradient === false ? ', no input gradient' : ''}`, async (ctx) => {
      const { gpu, fwd, ref, dispatches } = await runLstm(ctx, { batch, seqLen, inputSize, hidden }, { bias, maxBatch, inputGradient });
      expect(dispatches).toBe(1 + seqLen + seqLen + 2 + (inputGradient === false ? 0 : 1));
      expectAllClose('y (h_t)', gpu.y, fwd.y, TOLERANCE.forward);
      expectAllClose('c_t', gpu.cell, fwd.cell, TOLERANCE.forward);
      expectAllClose('gates', gpu.gates, fwd.gates, TOLERANCE.forward);
      if (gpu.dx) expectAllClose('dx', gpu.dx, ref.dx, TOLERANCE.gradient);
      expectAllClose('dweight_ih', gpu.dweightIh, ref.dweightIh, TOLERANCE.gradient);
      expectAllClose('dweight_hh', gpu.dweightHh, ref.dweightHh, TOLERANCE.gradient);
      if (bias) {
        expectAllClose('dbias_ih', gpu.dbiasIh!, ref.dbias, TOLERANCE.gradient);
        expectAllClose('dbias_hh', gpu.dbiasHh!, ref.dbias, TOLERANCE.gradient);
      }
    });
  }

  gpuTest('the classic size: batch 128, L 28 (MNIST rows), in 28, H 128', async (ctx) => {
    const { gpu, fwd, ref } = await runLstm(ctx, { batch: 128, seqLen: 28, inputSize: 28, hidden: 128 }, { bias: true });
    console.log(`LSTM at batch 128, L 28, in 28, H 128, GPU against float64 (of each tensor's largest value): ${scaledErrors({ y: [gpu.y, fwd.y], dx: [gpu.dx!, ref.dx], weight_ih: [gpu.dweightIh, ref.dweightIh], weight_hh: [gpu.dweightHh, ref.dweightHh], bias: [gpu.dbiasIh!, ref.dbias] })}`);
    expectAllClose('y (h_t)', gpu.y, fwd.y, TOLERANCE.forward);
    expectAllClose('c_t', gpu.cell, fwd.cell, TOLERANCE.forward);
    expectAllClose('dx', gpu.dx!, ref.dx, TOLERANCE.gradient);
    expectAllClose('dweight_ih', gpu.dweightIh, ref.dweightIh, TOLERANCE.gradient);
    expectAllClose('dweight_hh', gpu.dweightHh, ref.dweightHh, TOLERANCE.gradient);
    expectAllClose('dbias_ih', gpu.dbiasIh!, ref.dbias, TOLERANCE.gradient);
  }, 120_000);
});
