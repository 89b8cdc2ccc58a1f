/**
 * MultiheadAttention's dispatches (src/layers/attention.ts's attentionProgram: the dense input and
 * output projections, attention_scores, attention_values and the three backward attention kernels,
 * the dense gradients) against the float64 reference (src/reference/attention.ts), every output
 * poisoned first: awkward shapes (L 1, L not a multiple of 4 or of the workgroup, E 12 with 3
 * heads, one head, causal and not, no bias, a batch smaller than the tensors', no input gradient,
 * dropout on the attention weights: its mask the CPU's Philox draws to the bit) and a real size
 * (batch 32, L 64, E 64, 4 heads), causal and not, with dropout.
 */
import { describe, expect } from 'vitest';
import { recordPass } from '../../src/gpu/context.js';
import type { GpuContext } from '../../src/gpu/context.js';
import { attentionProgram } from '../../src/layers/attention.js';
import { maskFromBits } from '../../src/kernels/dropout.js';
import { attentionBackwardRef, attentionForwardRef, type AttentionShape } from '../../src/reference/attention.js';
import { dropoutMaskRef } from '../../src/reference/random.js';
import { TOLERANCE, expectAllClose, f32, randomArray, scaledErrors } from '../helpers/allclose.js';
import { gpuTest } from '../helpers/gpu.js';

async function runAttention(ctx: GpuContext, s: AttentionShape, options: { bias: boolean; maxBatch?: number; inputGradient?: boolean; dropout?: number }) {
  const { batch, seqLen: L, embed: E, heads: H } = s;
  const maxBatch = options.maxBatch ?? batch;
  const p = options.dropout ?? 0;
  const seed = 3 + batch + 7 * L + E;
  const x = f32(randomArray(batch * L * E, seed, -2, 2));
  const bound = Math.sqrt(6 / (4 * E));
  const weights = {
    inWeight: f32(randomArray(3 * E * E, seed + 1, -bound, bound)),
    outWeight: f32(randomArray(E * E, seed + 2, -1 / Math.sqrt(E), 1 / Math.sqrt(E))),
    ...(options.bias ? { inBias: f32(randomArray(3 * E, seed + 3)), outBias: f32(randomArray(E, seed + 4)) } : {}),
  };
  const dy = f32(randomArray(batch * L * E, seed + 5));
  const sized = (label: string, perSample: number, data?: Float64Array) => {
    const t = ctx.tensor(label, [maxBatch * perSample]);
    ctx.fill(t, NaN);
    if (data) ctx.write(t, Float32Array.from(data));
    return t;
  };
  const fixed = (label: string, data: Float64Array) => ctx.tensor(label, [data.length], { data: Float32Array.from(data) });
  const poisoned = (label: string, length: number) => {
    const t = ctx.tensor(label, [length]);
    ctx.fill(t, NaN);
    return t;
  };
  const t = {
    input: sized('x', L * E, x),
    output: sized('y', L * E),
    dOutput: sized('dy', L * E, dy),
    dInput: options.inputGradient === false ? undefined : sized('dx', L * E),
    inWeight: fixed('in_proj_weight', weights.inWeight),
    outWeight: fixed('out_proj.weight', weights.outWeight),
    inBias: weights.inBias && fixed('in_proj_bias', weights.inBias),
    outBias: weights.outBias && fixed('out_proj.bias', weights.outBias),
    dinWeight: poisoned('din_proj_weight', 3 * E * E),
    doutWeight: poisoned('dout_proj.weight', E * E),
    dinBias: options.bias ? poisoned('din_proj_bias', 3 * E) : undefined,
    doutBias: options.bias ? poisoned('dout_proj.bias', E) : undefined,
    probs: sized('probs', H * L * L),
    qkv: sized('qkv', L * 3 * E),
    attn: sized('attn', L * E),
    dqkv: sized('dqkv', L * 3 * E),
    dattn: sized('dattn', L * E),
    ...(p > 0 ? { dropped: sized('dropped', H * L * L), mask: ctx.tensor('mask', [maxBatch * Math.ceil((H * L * L) / 32)], { dtype: 'u32' }) } : {}),
  };
  const [randomSeed, stream, step] = [9, 17, 3];
  const program = attentionProgram(ctx, t, { seqLen: L, embed: E, heads: H, causal: s.causal, maxBatch, dropout: p, seed: randomSeed, stream }, 'mha');
  program.setStep(batch, step);
  const forward = await program.forward(batch);
  ctx.submit('attention forward test', (e) => recordPass(e, 'attention forward test', forward));
  const read = async (tensor: typeof t.output, length: number) => (await ctx.read(tensor)).slice(0, length);
  const n = batch * L;
  const probs = await read(t.probs, batch * H * L * L);
  const backward = await program.backward(batch);
  ctx.submit('attention backward test', (e) => recordPass(e, 'attention backward test', backward));
  const gpu = {
    y: await read(t.output, n * E),
    qkv: await read(t.qkv, n * 3 * E),
    probs,
    attn: await read(t.attn, n * E),
    dx: t.dInput && (await read(t.dInput, n * E)),
    dinWeight: await ctx.read(t.dinWeight),
    doutWeight: await ctx.read(t.doutWeight),
    dinBias: t.dinBias && (await ctx.read(t.dinBias)),
    doutBias: t.doutBias && (await ctx.read(t.doutBias)),
  };
  // The mask: the CPU's Philox draws (src/reference/random.ts), which the GPU's bits must be.
  const length = batch * H * L * L;
  const mask = p > 0 ? dropoutMaskRef(length, p, randomSeed, stream, step) : undefined;
  if (mask) expect(Array.from(maskFromBits(await ctx.read(t.mask!), length, p))).toEqual(Array.from(mask, Math.fround));
  const fwd = attentionForwardRef(x, weights, s, mask);
  return { gpu, fwd, ref: attentionBackwardRef(dy, x, weights, s, fwd), dispatches: forward.length + backward.length };
}

/**
 * A gradient's tolerance: TOLERANCE.gradient, its absolute part scaled to the tensor's largest value
 * where `scaled` (a sum over thousands of rows, batch · L, in f32 leaves ~1e-6 of that scale where
 * the terms cancel).
 */
const gradientTolerance = (ref: ArrayLike<number>, scaled: boolean) => (scaled ? { ...TOLERANCE.gradient, atol: TOLERANCE.gradient.atol * Array.from(ref).reduce((m, v) => Math.max(m, Math.abs(v)), 1) } : TOLERANCE.gradient);

function expectMatches(gpu: Awaited<ReturnType<typeof runAttention>>['gpu'], fwd: ReturnType<typeof attentionForwardRef>, ref: ReturnType<typeof attentionBackwardRef>, bias: boolean, scaled = false) {
  const tol = (r: ArrayLike<number>) => gradientTolerance(r, scaled);
  expectAllClose('qkv', gpu.qkv, fwd.qkv, TOLERANCE.forward);
  expectAllClose('attention weights', gpu.probs, fwd.probs, TOLERANCE.forward);
  expectAllClose('heads', gpu.attn, fwd.attn, TOLERANCE.forward);
  expectAllClose('y', gpu.y, fwd.y, TOLERANCE.forward);
  if (gpu.dx) expectAllClose('dx', gpu.dx, ref.dx, tol(ref.dx));
  expectAllClose('din_proj_weight', gpu.dinWeight, ref.dinWeight, tol(ref.dinWeight));
  expectAllClose('dout_proj.weight', gpu.doutWeight, ref.doutWeight, tol(ref.doutWeight));
  if (bias) {
    expectAllClose('din_proj_bias', gpu.dinBias!, ref.dinBias, tol(ref.dinBias));
    expectAllClose('dout_proj.bias', gpu.doutBias!, ref.doutBias, tol(ref.doutBias));
  }
}

describe('MultiheadAttention kernels against the float64 reference', () => {
  // [batch, L, E, heads]
  const shapes: { s: [number, number, number, number]; causal: boolean; bias: boolean; maxBatch?: number; inputGradient?: boolean; dropout?: number }[] = [
    { s: [1, 1, 2, 1], causal: false, bias: true },
    { s: [1, 1, 4, 2], causal: true, bias: true },
    { s: [3, 5, 12, 3], causal: false, bias: true },
    { s: [3, 5, 12, 3], causal: true, bias: true },
    { s: [2, 7, 8, 1], causal: true, bias: false, maxBatch: 5 },
    { s: [2, 6, 12, 4], causal: false, bias: false, inputGradient: false },
    // L past a workgroup (64) and not a multiple of 4.
    { s: [2, 67, 12, 3], causal: true, bias: true },
    { s: [1, 66, 12, 3], causal: false, bias: true, maxBatch: 2 },
    // Dropout on the attention weights (a mask word straddling rows: L² not a multiple of 32).
    { s: [3, 5, 12, 3], causal: false, bias: true, dropout: 0.3 },
    { s: [2, 7, 8, 2], causal: true, bias: false, maxBatch: 3, dropout: 0.5 },
  ];
  for (const { s: [batch, seqLen, embed, heads], causal, bias, maxBatch, inputGradient, dropout } of shapes) {
    gpuTest(`batch ${batch}, L ${seqLen}, E ${embed}, ${heads} heads${causal ? ', causal' : ''}${bias ? '' : ', bias=False'}${maxBatch ? `, tensors for ${maxBatch}` : ''}${inputGradient === false ? ', no input gradient' : ''}${dropout ? `, dropout ${dropout}` : ''}`, async (ctx) => {
      const { gpu, fwd, ref, dispatches } = await runAttention(ctx, { batch, seqLen, embed, heads, causal }, { bias, maxBatch, inputGradient, dropout });
      expect(dispatches).toBe(4 + (dropout ? 1 : 0) + 6 + (inputGradient === false ? 0 : 1));
      expectMatches(gpu, fwd, ref, bias);
    });
  }

  for (const [causal, dropout] of [[false, 0], [true, 0], [false, 0.1]] as const) {
    gpuTest(`a real size: batch 32, L 64, E 64, 4 heads${causal ? ', causal' : ''}${dropout ? `, dropout ${dropout}` : ''}`, async (ctx) => {
      const { gpu, fwd, ref } = await runAttention(ctx, { batch: 32, seqLen: 64, embed: 64, heads: 4, causal }, { bias: true, dropout });
      console.log(`MultiheadAttention at batch 32, L 64, E 64, 4 heads${causal ? ', causal' : ''}${dropout ? `, dropout ${dropout}` : ''}, GPU against float64 (of each tensor's largest value): ${scaledErrors({ y: [gpu.y, fwd.y], weights: [gpu.probs, fwd.probs], dx: [gpu.dx!, ref.dx], in_proj_weight: [gpu.dinWeight, ref.dinWeight], in_proj_bias: [gpu.dinBias!, ref.dinBias], 'out_proj.weight': [gpu.doutWeight, ref.doutWeight] })}`);
      expectMatches(gpu, fwd, ref, true, true);
    }, 120_000);
  }
});
