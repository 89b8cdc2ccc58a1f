/**
 * The GRU's dispatches (src/layers/recurrent.ts's gruProgram: the dense input projection, the
 * per-step gru_forward_step and gru_backward_step, the dense weight and input gradients) against
 * the float64 reference (src/reference/gru.ts), every output poisoned first: awkward shapes (one
 * step, one unit, H not a multiple of 4, batch 1 and 3, no bias, a batch smaller than the tensors'),
 * a long sequence (L 300), and the classic size over MNIST's rows (batch 128, L 28, in 28, H 128).
 */
import { describe, expect } from 'vitest';
import { recordPass } from '../../src/gpu/context.js';
import type { GpuContext } from '../../src/gpu/context.js';
import { gruProgram } from '../../src/layers/recurrent.js';
import { gruBackwardRef, gruForwardRef, type GruShape } from '../../src/reference/gru.js';
import { TOLERANCE, expectAllClose, f32, randomArray, scaledErrors } from '../helpers/allclose.js';
import { gpuTest } from '../helpers/gpu.js';

async function runGru(ctx: GpuContext, s: GruShape, options: { bias: boolean; maxBatch?: number; inputGradient?: boolean }) {
  const { batch, seqLen, inputSize, hidden: H } = s;
  const maxBatch = options.maxBatch ?? batch;
  const bound = 1 / Math.sqrt(H);
  const x = f32(randomArray(batch * seqLen * inputSize, 5 + batch + 7 * seqLen, -2, 2));
  const weights = {
    weightIh: f32(randomArray(3 * H * inputSize, 31 + H, -bound, bound)),
    weightHh: f32(randomArray(3 * H * H, 32 + H, -bound, bound)),
    ...(options.bias ? { biasIh: f32(randomArray(3 * H, 33 + H, -bound, bound)), biasHh: f32(randomArray(3 * H, 34 + H, -bound, bound)) } : {}),
  };
  const dy = f32(randomArray(batch * seqLen * H, 37 + seqLen));
  const padded = (data: Float64Array, perSample: number) => {
    const all = new Float32Array(maxBatch * perSample);
    all.set(data);
    return all;
  };
  const sized = (label: string, perSample: number, data?: Float64Array) => {
    const t = ctx.tensor(label, [maxBatch * perSample]);
    if (data) ctx.write(t, padded(data, perSample));
    else ctx.fill(t, NaN);
    return t;
  };
  const fixed = (label: string, data: Float64Array) => ctx.tensor(label, [data.length], { data: Float32Array.from(data) });
  const poisoned = (label: string, length: number) => {
    const t = ctx.tensor(label, [length]);
    ctx.fill(t, NaN);
    return t;
  };
  const t = {
    input: sized('x', seqLen * inputSize, x),
    output: sized('y', seqLen * H),
    dOutput: sized('dy', seqLen * H, dy),
    dInput: options.inputGradient === false ? undefined : sized('dx', seqLen * inputSize),
    weightIh: fixed('weight_ih', weights.weightIh),
    weightHh: fixed('weight_hh', weights.weightHh),
    biasIh: weights.biasIh && fixed('bias_ih', weights.biasIh),
    biasHh: weights.biasHh && fixed('bias_hh', weights.biasHh),
    dweightIh: poisoned('dweight_ih', 3 * H * inputSize),
    dweightHh: poisoned('dweight_hh', 3 * H * H),
    dbiasIh: options.bias ? poisoned('dbias_ih', 3 * H) : undefined,
    dbiasHh: options.bias ? poisoned('dbias_hh', 3 * H) : undefined,
    gx: sized('gx', seqLen * 3 * H),
    gates: sized('gates', seqLen * 4 * H),
    hprev: sized('hprev', seqLen * H),
    dgh: sized('dgh', seqLen * 3 * H),
    dcarry: sized('dcarry', H),
  };
  const program = gruProgram(ctx, t, { seqLen, inputSize, hidden: H, maxBatch }, 'gru');
  const dispatches = [...(await program.forward(batch)), ...(await program.backward(batch))];
  ctx.submit('gru test', (e) => recordPass(e, 'gru test', dispatches));
  const n = batch * seqLen;
  const read = async (tensor: typeof t.output, length: number) => (await ctx.read(tensor)).slice(0, length);
  const gpu = {
    y: await read(t.output, n * H),
    gates: await read(t.gates, n * 4 * H),
    dx: t.dInput && (await read(t.dInput, n * inputSize)),
    dweightIh: await ctx.read(t.dweightIh),
    dweightHh: await ctx.read(t.dweightHh),
    dbiasIh: t.dbiasIh && (await ctx.read(t.dbiasIh)),
    dbiasHh: t.dbiasHh && (await ctx.read(t.dbiasHh)),
  };
  const fwd = gruForwardRef(x, weights, s);
  return { gpu, fwd, ref: gruBackwardRef(dy, x, weights, s, fwd), dispatches: dispatches.length };
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
      const run = await runGru(ctx, { batch, seqLen, inputSize, hidden }, { bias, maxBatch, inputGradient });
      expect(run.dispatches).toBe(1 + seqLen + seqLen + 2 + (inputGradient === false ? 0 : 1));
      expectMatches(run, bias);
    });
  }

  gpuTest('the classic size: batch 128, L 28 (MNIST rows), in 28, H 128', async (ctx) => {
    const run = await runGru(ctx, { batch: 128, seqLen: 28, inputSize: 28, hidden: 128 }, { bias: true });
    const { gpu, fwd, ref } = run;
    console.log(`GRU at batch 128, L 28, in 28, H 128, GPU against float64 (of each tensor's largest value): ${scaledErrors({ y: [gpu.y, fwd.y], dx: [gpu.dx!, ref.dx], weight_ih: [gpu.dweightIh, ref.dweightIh], weight_hh: [gpu.dweightHh, ref.dweightHh], bias_ih: [gpu.dbiasIh!, ref.dbiasIh], bias_hh: [gpu.dbiasHh!, ref.dbiasHh] })}`);
    expectMatches(run, true, true);
  }, 120_000);
});
