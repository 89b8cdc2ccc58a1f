/**
 * MultiheadAttention's dispatches (src/layers/attention.ts's attentionProgram: the dense input and
 * output projections, attention_scores, attention_values and the three backward attention kernels,
 * the dense gradients) against the float64 reference (src/reference/attention.ts), every output
 * poisoned first: awkward shapes (L 1, L not a multiple of 4 or of the workgroup, E 12 with 3
 * heads, one head, causal and not, no bias, a batch smaller than the tensors', no input gradient,
 * dropout on the attention weights: its mask the CPU's Philox draws to the bit) and real sizes
 * (batch 32, L 64, E 64, 4 heads; the Transformer example's batch 128, L 28, E 64, 4 heads), causal
 * and not, with dropout. Each shape runs twice: on the test's adapter (lavapipe: the SUBGROUP
 * variant) and on the same device described as one without subgroups of 8 (the plain path,
 * SwiftShader's and a real GPU's), and the two must give the same bits. Head sizes that are not a
 * multiple of 4 (no VEC4) and past one chunk of 16 features (several chunks, the last partial).
 */
import { describe, expect } from 'vitest';
import { recordPass } from '../../src/gpu/context.js';
import type { GpuContext } from '../../src/gpu/context.js';
import { attentionProgram } from '../../src/layers/attention.js';
import { maskFromBits } from '../../src/kernels/dropout.js';
import { attentionBackwardRef, attentionForwardRef, type AttentionShape } from '../../src/reference/attention.js';
import { dropoutMaskRef } from '../../src/reference/random.js';
import { TOLERANCE, expectAllClose, f32, randomArray, scaledErrors } from '../helpers/allclose.js';
import { gpuTest, withoutSubgroups } from '../helpers/gpu.js';

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

/** Runs a shape on the adapter's path and on the plain path: each against the reference, and the two bit for bit. */
async function runBothPaths(ctx: GpuContext, s: AttentionShape, options: Parameters<typeof runAttention>[2], scaled = false) {
  const paths = [ctx, withoutSubgroups(ctx)];
  const runs = [];
  for (const c of paths) {
    const run = await runAttention(c, s, options);
    expectMatches(run.gpu, run.fwd, run.ref, options.bias, scaled);
    runs.push(run);
  }
  const [sub, plain] = runs.map((r) => r.gpu);
  for (const name of ['qkv', 'probs', 'attn', 'y', 'dx', 'dinWeight', 'doutWeight', 'dinBias', 'doutBias'] as const) {
    const a = sub![name], b = plain![name];
    if (a === undefined || b === undefined) continue;
    expect(Array.from(a).findIndex((v, i) => !Object.is(v, b[i])), `${name}: the subgroup and plain paths differ`).toBe(-1);
  }
  return runs[0]!;
}

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
    // Head sizes 3 and 5 (no VEC4) past a subgroup's 8 rows; 40 and 36 (3 chunks of features, the last partial).
    { s: [3, 19, 15, 5], causal: true, bias: true },
    { s: [2, 11, 10, 2], causal: false, bias: true, dropout: 0.2 },
    { s: [2, 13, 40, 1], causal: false, bias: true },
    { s: [3, 17, 72, 2], causal: true, bias: false, maxBatch: 4 },
  ];
  for (const { s: [batch, seqLen, embed, heads], causal, bias, maxBatch, inputGradient, dropout } of shapes) {
    gpuTest(`batch ${batch}, L ${seqLen}, E ${embed}, ${heads} heads${causal ? ', causal' : ''}${bias ? '' : ', bias=False'}${maxBatch ? `, tensors for ${maxBatch}` : ''}${inputGradient === false ? ', no input gradient' : ''}${dropout ? `, dropout ${dropout}` : ''}`, async (ctx) => {
      const { dispatches } = await runBothPaths(ctx, { batch, seqLen, embed, heads, causal }, { bias, maxBatch, inputGradient, dropout });
      expect(dispatches).toBe(4 + (dropout ? 1 : 0) + 6 + (inputGradient === false ? 0 : 1));
    });
  }

  for (const [batch, seqLen, causal, dropout] of [[32, 64, false, 0], [32, 64, true, 0], [32, 64, false, 0.1], [128, 28, false, 0], [128, 28, true, 0.1]] as const) {
    const name = `batch ${batch}, L ${seqLen}, E 64, 4 heads${causal ? ', causal' : ''}${dropout ? `, dropout ${dropout}` : ''}`;
    gpuTest(`a real size: ${name}`, async (ctx) => {
      const { gpu, fwd, ref } = await runBothPaths(ctx, { batch, seqLen, embed: 64, heads: 4, causal }, { bias: true, dropout }, true);
      console.log(`MultiheadAttention at ${name}, GPU against float64 (of each tensor's largest value): ${scaledErrors({ y: [gpu.y, fwd.y], weights: [gpu.probs, fwd.probs], dx: [gpu.dx!, ref.dx], in_proj_weight: [gpu.dinWeight, ref.dinWeight], in_proj_bias: [gpu.dinBias!, ref.dinBias], 'out_proj.weight': [gpu.doutWeight, ref.doutWeight] })}`);
    }, 240_000);
  }
});
