/**
 * The LSTM's dispatches (src/layers/recurrent.ts's lstmProgram: the dense input projection, the
 * per-step lstm_forward_step and lstm_backward_step, the dense weight and input gradients) against
 * the float64 reference (src/reference/lstm.ts), every output poisoned first: awkward shapes (one
 * step, one unit, H not a multiple of 4, batch 1 and 3, no bias, a batch smaller than the tensors',
 * batches past a subgroup's 8 samples and not a multiple of 8), a long sequence (L 300), examples/lstm.json's
 * size (batch 128, L 28, in 28, H 64) and the classic size, an LSTM over MNIST's rows (batch 128,
 * L 28, in 28, H 128). All but the classic size run on the adapter's path and on the plain path
 * (on lavapipe: the step kernels' SUBGROUP variant and the plain one), held equal bit for bit.
 */
import { describe, expect } from 'vitest';
import { recordPass } from '../../src/gpu/context.js';
import type { GpuContext } from '../../src/gpu/context.js';
import { lstmProgram } from '../../src/layers/recurrent.js';
import { lstmBackwardRef, lstmForwardRef, type LstmShape } from '../../src/reference/lstm.js';
import { TOLERANCE, expectAllClose, scaledErrors } from '../helpers/allclose.js';
import { gpuTest } from '../helpers/gpu.js';
import { RECURRENT_CASES, onBothPaths, readRecurrent, recurrentCaseName, recurrentData, recurrentDispatches, recurrentTensors } from '../helpers/recurrent.js';

async function runLstm(ctx: GpuContext, s: LstmShape, options: { bias: boolean; maxBatch?: number; inputGradient?: boolean }) {
  const { batch, seqLen, inputSize, hidden: H } = s;
  const maxBatch = options.maxBatch ?? batch;
  const data = recurrentData(s, 4, options.bias, { x: 3 + batch + 7 * seqLen, weights: 11 + H, dy: 17 + seqLen });
  const { sized, tensors } = recurrentTensors(ctx, s, 4, maxBatch, options.inputGradient, data);
  const t = { ...tensors, cell: sized('cell', seqLen * H), dcell: sized('dcell', H) };
  const program = lstmProgram(ctx, t, { seqLen, inputSize, hidden: H, maxBatch }, 'lstm');
  const dispatches = [...(await program.forward(batch)), ...(await program.backward(batch))];
  ctx.submit('lstm test', (e) => recordPass(e, 'lstm test', dispatches));
  const gpu = { ...(await readRecurrent(ctx, t, s)), cell: (await ctx.read(t.cell)).slice(0, batch * seqLen * H) };
  const fwd = lstmForwardRef(data.x, data.weights, s);
  return { gpu, fwd, ref: lstmBackwardRef(data.dy, data.x, data.weights, s, fwd), dispatches: dispatches.length };
}

function expectMatches(run: Awaited<ReturnType<typeof runLstm>>, bias: boolean) {
  const { gpu, fwd, ref } = run;
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
}

describe('LSTM kernels against the float64 reference', () => {
  // Each case on the adapter's path and the plain one (onBothPaths): both against the reference, and the two bit for bit.
  for (const c of RECURRENT_CASES) {
    const [batch, seqLen, inputSize, hidden] = c.s;
    gpuTest(recurrentCaseName(c), async (ctx) => {
      for (const run of await onBothPaths(ctx, (path) => runLstm(path, { batch, seqLen, inputSize, hidden }, c))) {
        expect(run.dispatches).toBe(recurrentDispatches(seqLen, c.inputGradient));
        expectMatches(run, c.bias);
      }
    });
  }

  gpuTest("examples/lstm.json's size, both paths: batch 128, L 28, in 28, H 64", async (ctx) => {
    for (const run of await onBothPaths(ctx, (path) => runLstm(path, { batch: 128, seqLen: 28, inputSize: 28, hidden: 64 }, { bias: true }))) expectMatches(run, true);
  }, 120_000);

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
