/**
 * The GRU's dispatches (src/layers/recurrent.ts's gruProgram: the dense input projection, the
 * per-step gru_forward_step and gru_backward_step, the dense weight and input gradients) against
 * the float64 reference (src/reference/gru.ts), every output poisoned first: awkward shapes (one
 * step, one unit, H not a multiple of 4, batch 1 and 3, no bias, a batch smaller than the tensors',
 * batches past a subgroup's 8 samples and not a multiple of 8), a long sequence (L 300),
 * examples/lstm.json's size (batch 128, L 28, in 28, H 64) and the classic size over MNIST's rows
 * (batch 128, L 28, in 28, H 128). All but the classic size run on the adapter's path and on the
 * plain path (on lavapipe: the step kernels' SUBGROUP variant and the plain one), held equal bit
 * for bit.
 */
import { describe, expect } from 'vitest';
import { recordPass } from '../../src/gpu/context.js';
import type { GpuContext } from '../../src/gpu/context.js';
import { gruProgram } from '../../src/layers/recurrent.js';
import { gruBackwardRef, gruForwardRef, type GruShape } from '../../src/reference/gru.js';
import { TOLERANCE, expectAllClose, scaledErrors } from '../helpers/allclose.js';
import { gpuTest } from '../helpers/gpu.js';
import { RECURRENT_CASES, onBothPaths, readRecurrent, recurrentCaseName, recurrentData, recurrentDispatches, recurrentTensors } from '../helpers/recurrent.js';

async function runGru(ctx: GpuContext, s: GruShape, options: { bias: boolean; maxBatch?: number; inputGradient?: boolean }) {
  const { batch, seqLen, inputSize, hidden: H } = s;
  const maxBatch = options.maxBatch ?? batch;
  const data = recurrentData(s, 3, options.bias, { x: 5 + batch + 7 * seqLen, weights: 31 + H, dy: 37 + seqLen });
  const { sized, tensors } = recurrentTensors(ctx, s, 3, maxBatch, options.inputGradient, data);
  const t = { ...tensors, dgh: sized('dgh', seqLen * 3 * H), dcarry: sized('dcarry', H) };
  const program = gruProgram(ctx, t, { seqLen, inputSize, hidden: H, maxBatch }, 'gru');
  const dispatches = [...(await program.forward(batch)), ...(await program.backward(batch))];
  ctx.submit('gru test', (e) => recordPass(e, 'gru test', dispatches));
  const gpu = await readRecurrent(ctx, t, s);
  const fwd = gruForwardRef(data.x, data.weights, s);
  return { gpu, fwd, ref: gruBackwardRef(data.dy, data.x, data.weights, s, fwd), dispatches: dispatches.length };
}

/**
 * The gradient preset, its absolute part at least 1e-6 of the tensor's largest value (`scaled`):
 * at the classic size a GRU's dW_ih element is a sum over 3,584 (sample, step) terms, and the
 * direct path h' = … + z ⊙ h carries dh back with little decay, so the tensor reaches 73 while
 * some elements are 0.03: float32's rounding of those sums (2.6e-5 at one such element, 3.5e-7 of
 * the tensor's scale; the largest elements' within the preset's 1e-4 relative) is then the whole
 * of a small element's difference. The small shapes keep the plain preset.
 */
function gradientTolerance(expected: ArrayLike<number>, scaled: boolean) {
  if (!scaled) return TOLERANCE.gradient;
  const largest = Math.max(...Array.from(expected, Math.abs));
  return { atol: Math.max(TOLERANCE.gradient.atol, 1e-6 * largest), rtol: TOLERANCE.gradient.rtol };
}

function expectMatches(run: Awaited<ReturnType<typeof runGru>>, bias: boolean, scaled = false) {
  const { gpu, fwd, ref } = run;
  expectAllClose('y (h_t)', gpu.y, fwd.y, TOLERANCE.forward);
  expectAllClose('gates (r, z, n, hh_n)', gpu.gates, fwd.gates, TOLERANCE.forward);
  if (gpu.dx) expectAllClose('dx', gpu.dx, ref.dx, gradientTolerance(ref.dx, scaled));
  expectAllClose('dweight_ih', gpu.dweightIh, ref.dweightIh, gradientTolerance(ref.dweightIh, scaled));
  expectAllClose('dweight_hh', gpu.dweightHh, ref.dweightHh, gradientTolerance(ref.dweightHh, scaled));
  if (bias) {
    expectAllClose('dbias_ih', gpu.dbiasIh!, ref.dbiasIh, gradientTolerance(ref.dbiasIh, scaled));
    expectAllClose('dbias_hh', gpu.dbiasHh!, ref.dbiasHh, gradientTolerance(ref.dbiasHh, scaled));
  }
}

describe('GRU kernels against the float64 reference', () => {
  // Each case on the adapter's path and the plain one (onBothPaths): both against the reference, and the two bit for bit.
  for (const c of RECURRENT_CASES) {
    const [batch, seqLen, inputSize, hidden] = c.s;
    gpuTest(recurrentCaseName(c), async (ctx) => {
      for (const run of await onBothPaths(ctx, (path) => runGru(path, { batch, seqLen, inputSize, hidden }, c))) {
        expect(run.dispatches).toBe(recurrentDispatches(seqLen, c.inputGradient));
        expectMatches(run, c.bias);
      }
    });
  }

  gpuTest('a GRU at examples/lstm.json\'s size, both paths: batch 128, L 28, in 28, H 64', async (ctx) => {
    for (const run of await onBothPaths(ctx, (path) => runGru(path, { batch: 128, seqLen: 28, inputSize: 28, hidden: 64 }, { bias: true }))) expectMatches(run, true, true);
  }, 120_000);

  gpuTest('the classic size: batch 128, L 28 (MNIST rows), in 28, H 128', async (ctx) => {
    const run = await runGru(ctx, { batch: 128, seqLen: 28, inputSize: 28, hidden: 128 }, { bias: true });
    const { gpu, fwd, ref } = run;
    console.log(`GRU at batch 128, L 28, in 28, H 128, GPU against float64 (of each tensor's largest value): ${scaledErrors({ y: [gpu.y, fwd.y], dx: [gpu.dx!, ref.dx], weight_ih: [gpu.dweightIh, ref.dweightIh], weight_hh: [gpu.dweightHh, ref.dweightHh], bias_ih: [gpu.dbiasIh!, ref.dbiasIh], bias_hh: [gpu.dbiasHh!, ref.dbiasHh] })}`);
    expectMatches(run, true, true);
  }, 120_000);
});
