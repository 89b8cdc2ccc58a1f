/**
 * Token embeddings (src/kernels/embedding.ts, src/reference/embedding.ts, src/layers/embedding.ts):
 * the reference against PyTorch's F.embedding forward and backward (padding_idx) and its weight
 * gradient against central differences; the kernels against the reference on awkward shapes and
 * at a real size (a vocabulary of 10,000, batch 128 × 64 positions, 64 dimensions, ids drawn so
 * that a few rows repeat thousands of times: long scatter-add sums); ids that are no row (a NaN
 * row, no gradient, nothing read outside the table); the same bits every run; the layer's
 * arguments as PyTorch takes and checks them.
 */
import { describe, expect, test } from 'vitest';
import { recordPass, type GpuContext } from '../../src/gpu/context.js';
import { NO_PADDING, embeddingBackwardWeight, embeddingForward } from '../../src/kernels/embedding.js';
import { Embedding } from '../../src/layers/embedding.js';
import { embeddingBackwardWeightRef, embeddingForwardRef } from '../../src/reference/embedding.js';
import { TOLERANCE, expectAllClose, randomArray } from '../helpers/allclose.js';
import { FD, numericalGrad } from '../helpers/finite-differences.js';
import { gpuTest } from '../helpers/gpu.js';
import { hasTorch, runTorch, skipWithoutTorch } from '../helpers/torch.js';

/** Ids skewed towards the low rows (u⁵: row 0 takes about 16% of them at a vocabulary of 10,000, 1,300 of 8,192 positions), so that some rows' gradients are long sums. */
const skewedIds = (positions: number, vocab: number, seed: number) => Float64Array.from(randomArray(positions, seed, 0, 1), (u) => Math.min(vocab - 1, Math.floor(u ** 5 * vocab)));

// [positions, vocabulary, dim, padding_idx]: one row, one column, sizes off the workgroup, a padding row.
const SHAPES = [[1, 1, 1, undefined], [5, 3, 1, 0], [67, 13, 3, 12], [130, 200, 5, undefined], [9, 4, 70, 1], [128 * 64, 10_000, 64, 9_999], [128 * 64, 10_000, 64, 0]] as const;

describe("the embedding reference", () => {
  test("against PyTorch's F.embedding: rows out, and the weight gradient with padding_idx", (ctx) => {
    skipWithoutTorch(ctx);
    const cases = SHAPES.slice(1, 5).map(([positions, vocab, dim, padding], i) => ({ ids: Array.from(skewedIds(positions, vocab, i + 1)), weight: Array.from(randomArray(vocab * dim, i + 7)), dy: Array.from(randomArray(positions * dim, i + 11)), vocab, dim, padding: padding ?? null }));
    const torch = runTorch<{ y: number[]; dweight: number[] }[]>(
      `
import json, sys, torch
import torch.nn.functional as F
out = []
for c in json.load(sys.stdin):
    w = torch.tensor(c['weight'], dtype=torch.float64).reshape(c['vocab'], c['dim']).requires_grad_()
    y = F.embedding(torch.tensor(c['ids'], dtype=torch.long), w, padding_idx=c['padding'])
    y.backward(torch.tensor(c['dy'], dtype=torch.float64).reshape(y.shape))
    out.append({'y': y.flatten().tolist(), 'dweight': w.grad.flatten().tolist()})
print(json.dumps(out))
`,
      cases,
    );
    cases.forEach((c, i) => {
      expect(Array.from(embeddingForwardRef(c.ids, c.weight, c.vocab, c.dim)), `case ${i} rows`).toEqual(torch[i]!.y);
      expectAllClose(`case ${i} weight gradient`, embeddingBackwardWeightRef(c.ids, c.dy, c.vocab, c.dim, c.padding ?? undefined), torch[i]!.dweight, { atol: 1e-15, rtol: 1e-13 });
    });
  });
  if (!hasTorch) test.skip('PyTorch is not installed here: the comparison skipped', () => {});

  test('the weight gradient against central differences (a padding row gets none)', () => {
    const [positions, vocab, dim] = [11, 5, 3];
    const ids = Float64Array.from({ length: positions }, (_, i) => (i * 3) % vocab);
    const weight = randomArray(vocab * dim, 3);
    const dy = randomArray(positions * dim, 4);
    expectAllClose('∂/∂weight', embeddingBackwardWeightRef(ids, dy, vocab, dim), numericalGrad((w) => embeddingForwardRef(ids, w, vocab, dim), weight, dy), FD);
    const padded = embeddingBackwardWeightRef(ids, dy, vocab, dim, 2);
    expect(Array.from(padded.subarray(2 * dim, 3 * dim))).toEqual([0, 0, 0]);
  });

  test('an id that is no row is refused', () => {
    expect(() => embeddingForwardRef([0, 3], [1, 2, 3], 3, 1)).toThrow('id 3 at position 1 is not a row of 3');
    expect(() => embeddingForwardRef([0.5], [1, 2, 3], 3, 1)).toThrow('id 0.5 at position 0');
  });
});

/** The two kernels over ids and a table: y and dweight read back. */
async function runEmbedding(ctx: GpuContext, ids: Float64Array, weight: Float64Array, dy: Float64Array, vocab: number, dim: number, padding: number | undefined) {
  const positions = ids.length;
  const t = {
    ids: ctx.tensor('ids', [positions], { data: ids }),
    weight: ctx.tensor('weight', [vocab * dim], { data: weight }),
    dy: ctx.tensor('dy', [positions * dim], { data: dy }),
    y: ctx.tensor('y', [positions * dim]),
    dweight: ctx.tensor('dweight', [vocab * dim]),
  };
  ctx.fill(t.y, NaN);
  ctx.fill(t.dweight, NaN);
  const forward = (await ctx.compile(embeddingForward)).bind({ ids: t.ids, weight: t.weight, y: t.y }, { count: positions * dim, dim, numEmbeddings: vocab });
  const backward = (await ctx.compile(embeddingBackwardWeight)).bind({ ids: t.ids, dy: t.dy, dweight: t.dweight }, { positions, dim, numEmbeddings: vocab, padding: padding ?? NO_PADDING });
  ctx.submit('embedding test', (e) => recordPass(e, 'embedding test', [forward, backward]));
  const out = { y: await ctx.read(t.y), dweight: await ctx.read(t.dweight) };
  for (const tensor of Object.values(t)) tensor.buffer.destroy();
  return out;
}

describe('the embedding kernels', () => {
  for (const [positions, vocab, dim, padding] of SHAPES) {
    gpuTest(`${positions} positions of a ${vocab} × ${dim} table${padding === undefined ? '' : `, padding_idx ${padding}`}: rows exact, the weight gradient within the gradient tolerance`, async (ctx) => {
      const ids = skewedIds(positions, vocab, positions + vocab);
      const weight = Float64Array.from(randomArray(vocab * dim, dim + 1), Math.fround);
      const dy = Float64Array.from(randomArray(positions * dim, dim + 2), Math.fround);
      if (positions === 8192) expect(ids.filter((id) => id === 0).length).toBeGreaterThan(1000);
      const { y, dweight } = await runEmbedding(ctx, ids, weight, dy, vocab, dim, padding);
      expectAllClose('rows', y, embeddingForwardRef(ids, weight, vocab, dim), TOLERANCE.exact);
      expectAllClose('weight gradient', dweight, embeddingBackwardWeightRef(ids, dy, vocab, dim, padding), TOLERANCE.gradient);
    }, 120_000);
  }

  gpuTest('ids that are no row (−1, the vocabulary, 2.5, NaN, ±inf, 1e30) give a NaN row and no gradient; the others their rows; the same bits every run', async (ctx) => {
    const [vocab, dim] = [6, 4];
    const bad = [-1, vocab, 2.5, NaN, Infinity, -Infinity, 1e30, -0.5];
    const ids = Float64Array.from([3, ...bad, 5, 0, 3]);
    const weight = Float64Array.from(randomArray(vocab * dim, 5), Math.fround);
    const dy = Float64Array.from(randomArray(ids.length * dim, 6), Math.fround);
    const first = await runEmbedding(ctx, ids, weight, dy, vocab, dim, undefined);
    ids.forEach((id, p) => {
      const row = Array.from(first.y.subarray(p * dim, (p + 1) * dim));
      if (bad.some((b) => Object.is(b, id))) expect(row.every(Number.isNaN), `position ${p} (id ${id})`).toBe(true);
      else expect(row, `position ${p} (id ${id})`).toEqual(Array.from(weight.subarray(id * dim, (id + 1) * dim)));
    });
    // Only the valid positions add to the gradient.
    const valid = ids.map((id) => (bad.some((b) => Object.is(b, id)) ? -1 : id));
    const keep = Array.from(valid.keys()).filter((p) => valid[p]! >= 0);
    const expected = embeddingBackwardWeightRef(keep.map((p) => valid[p]!), keep.flatMap((p) => Array.from(dy.subarray(p * dim, (p + 1) * dim))), vocab, dim);
    expectAllClose('weight gradient', first.dweight, expected, TOLERANCE.gradient);
    const again = await runEmbedding(ctx, ids, weight, dy, vocab, dim, undefined);
    expect(new Uint32Array(again.dweight.buffer)).toEqual(new Uint32Array(first.dweight.buffer));
  });
});

describe('the Embedding layer', () => {
  test("PyTorch's arguments, shapes and refusals", () => {
    const e = new Embedding(10, 4, { paddingIdx: -1 });
    expect([e.paddingIdx, e.outputShape([7]), e.outputShape([2, 3])]).toEqual([9, [7, 4], [2, 3, 4]]);
    expect(new Embedding(10, 4, 2).paddingIdx).toBe(2);
    expect(new Embedding({ numEmbeddings: 10, embeddingDim: 4 }).config()).toEqual({ num_embeddings: 10, embedding_dim: 4, padding_idx: undefined });
    expect(e.parameterSpecs()).toEqual([{ name: 'weight', shape: [10, 4], init: { normal: 1, zeroRow: 9 } }]);
    expect(() => new Embedding(10, 4, { paddingIdx: 10 })).toThrow('Embedding: padding_idx must be a whole number within num_embeddings (from -10 to 9), got 10');
    expect(() => new Embedding(10, 4, { maxNorm: 1 })).toThrow('Embedding: max_norm is not supported');
    expect(() => new Embedding(10, 4, { scaleGradByFreq: true })).toThrow('Embedding: scale_grad_by_freq is not supported');
    expect(() => new Embedding(10, 4, { sparse: true })).toThrow('Embedding: sparse gradients are not supported');
    expect(() => new Embedding(10, 4, { normType: 1 })).toThrow('Embedding: norm_type applies with max_norm');
    expect(() => new Embedding(2 ** 24 + 1, 4)).toThrow('Embedding: num_embeddings must be at most 2^24');
    expect(() => new Embedding(0, 4)).toThrow('Embedding: num_embeddings must be a whole number ≥ 1, got 0');
    expect(() => new Embedding({ numEmbeddings: 3, embedding_dim: 4 } as never)).toThrow("Embedding: unknown option 'embedding_dim' (PyTorch's embedding_dim is embeddingDim here)");
  });
});
