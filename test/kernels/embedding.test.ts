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
import type { Tensor } from '../../src/gpu/tensor.js';
import { NO_PADDING, embeddingBackwardWeight, embeddingForward, embeddingRenorm, embeddingSort, sortStages, sortedKeys } from '../../src/kernels/embedding.js';
import { Embedding } from '../../src/layers/embedding.js';
import { embeddingBackwardWeightRef, embeddingForwardRef, embeddingRenormRef } from '../../src/reference/embedding.js';
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

  test("scale_grad_by_freq and max_norm against PyTorch's F.embedding in float64: rows out, the weight gradient, the weight after the renorm", (ctx) => {
    skipWithoutTorch(ctx);
    // [positions, vocabulary, dim, padding_idx, max_norm, norm_type, scale_grad_by_freq]: the counts over the whole batch, the padding row (renormed too where named), every norm type.
    const options = [
      [40, 9, 3, 2, null, 2, true], [200, 30, 4, null, null, 2, true], [40, 9, 3, 2, 1.5, 2, false], [200, 30, 4, null, 0.7, 1, true],
      [60, 12, 5, 0, 0.9, Infinity, false], [60, 12, 5, null, 1.1, 0.5, true], [60, 12, 5, 11, 1.3, 3, false],
    ] as const;
    const cases = options.map(([positions, vocab, dim, padding, maxNorm, normType, scale], i) => {
      const weight = Array.from(randomArray(vocab * dim, i + 21, -1.5, 1.5));
      // The padding row not zero, so that the renorm's treatment of it shows.
      return { ids: Array.from(skewedIds(positions, vocab, i + 31)), weight, dy: Array.from(randomArray(positions * dim, i + 41)), vocab, dim, padding, maxNorm, normType: Number.isFinite(normType) ? normType : 'inf', scale };
    });
    const torch = runTorch<{ y: number[]; dweight: number[]; weight: number[] }[]>(
      `
import json, sys, torch
import torch.nn.functional as F
out = []
for c in json.load(sys.stdin):
    w = torch.tensor(c['weight'], dtype=torch.float64).reshape(c['vocab'], c['dim']).requires_grad_()
    y = F.embedding(torch.tensor(c['ids'], dtype=torch.long), w, padding_idx=c['padding'], max_norm=c['maxNorm'], norm_type=float(c['normType']), scale_grad_by_freq=c['scale'])
    y.backward(torch.tensor(c['dy'], dtype=torch.float64).reshape(y.shape))
    out.append({'y': y.flatten().tolist(), 'dweight': w.grad.flatten().tolist(), 'weight': w.detach().flatten().tolist()})
print(json.dumps(out))
`,
      cases,
    );
    cases.forEach((c, i) => {
      const normType = typeof c.normType === 'number' ? c.normType : Infinity;
      const weight = c.maxNorm === null ? Float64Array.from(c.weight) : embeddingRenormRef(c.ids, c.weight, c.vocab, c.dim, c.maxNorm, normType);
      if (c.maxNorm !== null) expect(Array.from(weight).some((w, k) => w !== c.weight[k]), `case ${i}: some row renormed`).toBe(true);
      expectAllClose(`case ${i} weight after the renorm`, weight, torch[i]!.weight, { atol: 1e-15, rtol: 1e-13 });
      expectAllClose(`case ${i} rows`, embeddingForwardRef(c.ids, weight, c.vocab, c.dim), torch[i]!.y, { atol: 1e-15, rtol: 1e-13 });
      expectAllClose(`case ${i} weight gradient`, embeddingBackwardWeightRef(c.ids, c.dy, c.vocab, c.dim, c.padding ?? undefined, c.scale), torch[i]!.dweight, { atol: 1e-15, rtol: 1e-13 });
    });
  });

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

/** The sort's dispatches for the ids in `ids` into `keys` (src/layers/embedding.ts binds them the same way). */
async function sortDispatches(ctx: GpuContext, ids: Tensor, keys: Tensor<'u32'>, positions: number, vocab: number) {
  const kernel = await ctx.compile(embeddingSort);
  return sortStages(positions).map((s) => kernel.bind({ ids, keys }, { ...s, positions, numEmbeddings: vocab }));
}

/** The kernels over ids and a table (the lookup; the sort and the weight gradient): y, dweight and the sorted keys read back. */
async function runEmbedding(ctx: GpuContext, ids: Float64Array, weight: Float64Array, dy: Float64Array, vocab: number, dim: number, padding: number | undefined, options: { scaleGradByFreq?: boolean } = {}) {
  const positions = ids.length;
  const t = {
    ids: ctx.tensor('ids', [positions], { data: ids }),
    weight: ctx.tensor('weight', [vocab * dim], { data: weight }),
    dy: ctx.tensor('dy', [positions * dim], { data: dy }),
    y: ctx.tensor('y', [positions * dim]),
    dweight: ctx.tensor('dweight', [vocab * dim]),
    keys: ctx.tensor('keys', [2 * sortedKeys(positions)], { dtype: 'u32' }),
  };
  ctx.fill(t.y, NaN);
  ctx.fill(t.dweight, NaN);
  const forward = (await ctx.compile(embeddingForward)).bind({ ids: t.ids, weight: t.weight, y: t.y }, { count: positions * dim, dim, numEmbeddings: vocab });
  const sort = await sortDispatches(ctx, t.ids, t.keys, positions, vocab);
  const gradient = await ctx.compile(embeddingBackwardWeight, { SCALE_BY_FREQ: options.scaleGradByFreq ?? false });
  const backward = [0, 1].map((stage) => gradient.bind({ keys: t.keys, dy: t.dy, dweight: t.dweight }, { count: sortedKeys(positions), positions, dim, numEmbeddings: vocab, padding: padding ?? NO_PADDING, stage }));
  ctx.submit('embedding test', (e) => recordPass(e, 'embedding test', [forward, ...sort, ...backward]));
  const out = { y: await ctx.read(t.y), dweight: await ctx.read(t.dweight), keys: await ctx.read(t.keys) };
  for (const tensor of Object.values(t)) tensor.buffer.destroy();
  return out;
}

/** '' where two float32 arrays hold the same bits, else how many elements differ and the first (a loop: vitest's toEqual is slow on millions). */
function bitsDiffer(a: Float32Array, b: Float32Array): string {
  const [x, y] = [new Uint32Array(a.buffer, a.byteOffset, a.length), new Uint32Array(b.buffer, b.byteOffset, b.length)];
  if (x.length !== y.length) return `lengths ${x.length} and ${y.length}`;
  let [count, first] = [0, -1];
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) [count, first] = [count + 1, first < 0 ? i : first];
  return count === 0 ? '' : `${count} elements differ, the first at ${first}: ${a[first]} against ${b[first]}`;
}

/**
 * The weight gradient as the kernel sums it, in float32: each row's dy rows added in ascending
 * position order from 0, each sum rounded to f32 (WGSL's f32 add is correctly rounded), so the
 * kernel must give these bits exactly; the padding row 0.
 */
function orderedF32Sums(ids: ArrayLike<number>, dy: ArrayLike<number>, vocab: number, dim: number, padding?: number): Float32Array {
  const out = new Float32Array(vocab * dim);
  for (let p = 0; p < ids.length; p++) {
    const id = ids[p]!;
    if (id === padding) continue;
    for (let d = 0; d < dim; d++) out[id * dim + d] = Math.fround(out[id * dim + d]! + dy[p * dim + d]!);
  }
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
      expect(bitsDiffer(dweight, orderedF32Sums(ids, dy, vocab, dim, padding)), 'the bits of the ordered float32 sums').toBe('');
    }, 120_000);
  }

  // The weight gradient is the float32 sum of each row's dy rows in ascending position order, to
  // the bit (the order the kernel before the sort had, a scan of the ids per row); against float64
  // it is within the gradient tolerance only, float32 rounding each of a row's additions.
  const ORDERED = [
    { name: 'every one of 1,000 positions row 7 of 9 (one sum of 1,000), D 3', ids: () => new Float64Array(1000).fill(7), vocab: 9, dim: 3, padding: undefined },
    { name: 'a vocabulary of 1, 600 positions (past one sort block), D 5', ids: () => new Float64Array(600), vocab: 1, dim: 5, padding: undefined },
    { name: 'ids descending and repeated, 1,500 positions, vocabulary 40, D 6, padding_idx 3', ids: () => Float64Array.from({ length: 1500 }, (_, p) => 39 - Math.floor((p * 40) / 1500)), vocab: 40, dim: 6, padding: 3 },
    { name: 'ids out of order, 3,000 positions, vocabulary 700, D 7, padding_idx 0', ids: () => Float64Array.from({ length: 3000 }, (_, p) => (p * 7919) % 700), vocab: 700, dim: 7, padding: 0 },
    { name: 'a vocabulary of 50,000, batch 128 × 64 positions, D 64, padding_idx 0 (skewed ids)', ids: () => skewedIds(128 * 64, 50_000, 3), vocab: 50_000, dim: 64, padding: 0 },
  ];
  for (const c of ORDERED) {
    gpuTest(`the weight gradient, ${c.name}: the ordered float32 sums to the bit; the sorted keys`, async (ctx) => {
      const ids = c.ids();
      const dy = Float64Array.from(randomArray(ids.length * c.dim, c.dim + 5), Math.fround);
      const weight = new Float64Array(c.vocab * c.dim);
      const { dweight, keys } = await runEmbedding(ctx, ids, weight, dy, c.vocab, c.dim, c.padding);
      expect(bitsDiffer(dweight, orderedF32Sums(ids, dy, c.vocab, c.dim, c.padding)), 'bits').toBe('');
      expectAllClose('against float64', dweight, embeddingBackwardWeightRef(ids, dy, c.vocab, c.dim, c.padding), TOLERANCE.gradient);
      // The keys: every (row, position) pair once, ascending, then the padding keys past the ids.
      const pairs = Array.from(ids, (id, p) => [id, p] as const).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
      expect(Array.from(keys.subarray(0, 2 * ids.length))).toEqual(pairs.flat());
      expect(Array.from({ length: sortedKeys(ids.length) - ids.length }, (_, k) => [keys[2 * (ids.length + k)], keys[2 * (ids.length + k) + 1]]).flat()).toEqual(Array.from({ length: sortedKeys(ids.length) - ids.length }, (_, k) => [NO_PADDING, ids.length + k]).flat());
    }, 120_000);
  }

  for (const [positions, vocab, dim, padding] of [[67, 13, 3, 12], [1500, 40, 6, undefined], [128 * 64, 10_000, 64, 0]] as const) {
    gpuTest(`scale_grad_by_freq, ${positions} positions of a ${vocab} × ${dim} table${padding === undefined ? '' : `, padding_idx ${padding}`}: within the gradient tolerance of float64`, async (ctx) => {
      const ids = skewedIds(positions, vocab, positions + 1);
      const dy = Float64Array.from(randomArray(positions * dim, dim + 3), Math.fround);
      const { dweight } = await runEmbedding(ctx, ids, new Float64Array(vocab * dim), dy, vocab, dim, padding, { scaleGradByFreq: true });
      // A mean per row: atol as for the sums, rtol for f32's rounding of the sum and the division.
      expectAllClose('scaled weight gradient', dweight, embeddingBackwardWeightRef(ids, dy, vocab, dim, padding, true), TOLERANCE.gradient);
      // Not the unscaled sums (a row that repeats is divided).
      const unscaled = embeddingBackwardWeightRef(ids, dy, vocab, dim, padding);
      expect(dweight.reduce((m, v, i) => Math.max(m, Math.abs(v - unscaled[i]!)), 0)).toBeGreaterThan(1e-3);
    }, 120_000);
  }

  // max_norm's renorm: each named row once (a row named many times is scaled once, so its norm
  // ends at max_norm, not below), rows under max_norm and rows no id names keep their bits, ids
  // that are no row are skipped. Float32's norm against float64's: within 1e-6 relative.
  for (const [normType, variant] of [[2, 'the 2-norm'], [1, 'L1'], [Infinity, 'INF'], [0.5, 'POWER p = 0.5'], [3, 'POWER p = 3'], [200, 'POWER p = 200: |w|^p past float32 unless scaled by max |w|']] as const) {
    gpuTest(`max_norm's renorm, norm_type ${normType} (${variant}): the rows named, once each, as float64's`, async (ctx) => {
      const [vocab, dim, positions] = [300, 5, 1200];
      const ids = Float64Array.from({ length: positions }, (_, p) => (p % 7 === 0 ? 0 : (p * 37) % 200));
      const weight = Float64Array.from(randomArray(vocab * dim, 9, -2, 2), Math.fround);
      const maxNorm = normType === Infinity || normType > 100 ? 1.2 : normType === 1 ? 4 : 2.5;
      const t = { ids: ctx.tensor('ids', [positions], { data: Float64Array.from([...ids.subarray(0, positions - 3), NaN, -1, vocab]) }), weight: ctx.tensor('weight', [vocab * dim], { data: weight }), keys: ctx.tensor('keys', [2 * sortedKeys(positions)], { dtype: 'u32' }) };
      const variants = normType === 2 ? {} : normType === 1 ? { L1: true } : normType === Infinity ? { INF: true } : { POWER: true };
      const renorm = (await ctx.compile(embeddingRenorm, variants)).bind({ keys: t.keys, weight: t.weight }, { count: sortedKeys(positions), dim, numEmbeddings: vocab, maxNorm, normType: Number.isFinite(normType) ? normType : 0 });
      const sort = await sortDispatches(ctx, t.ids, t.keys, positions, vocab);
      ctx.submit('renorm test', (e) => recordPass(e, 'renorm test', [...sort, renorm]));
      const out = await ctx.read(t.weight);
      for (const tensor of Object.values(t)) tensor.buffer.destroy();
      const expected = embeddingRenormRef(ids.subarray(0, positions - 3), weight, vocab, dim, maxNorm, normType);
      expectAllClose('renormed weight', out, expected, { atol: 1e-6, rtol: 1e-6 });
      const norm = (r: number) => { const row = Array.from(out.subarray(r * dim, (r + 1) * dim), Math.abs); return normType === Infinity ? Math.max(...row) : row.reduce((a, v) => a + v ** normType, 0) ** (1 / normType); };
      const named = new Set(ids.subarray(0, positions - 3));
      let scaled = 0;
      for (let r = 0; r < vocab; r++) {
        const before = Array.from(weight.subarray(r * dim, (r + 1) * dim));
        if (!named.has(r) || expected[r * dim] === weight[r * dim]) expect(Array.from(out.subarray(r * dim, (r + 1) * dim)), `row ${r} keeps its bits`).toEqual(before);
        else {
          scaled++;
          expect(Math.abs(norm(r) - maxNorm), `row ${r}: scaled once, to max_norm`).toBeLessThan(1e-5 * maxNorm);
        }
      }
      expect(scaled, 'rows renormed').toBeGreaterThan(20);
    });
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
    const options = new Embedding(10, 4, null, { maxNorm: 1.5, normType: 1, scaleGradByFreq: true });
    expect([options.maxNorm, options.normType, options.scaleGradByFreq, options.paddingIdx]).toEqual([1.5, 1, true, undefined]);
    expect(options.config()).toEqual({ num_embeddings: 10, embedding_dim: 4, padding_idx: undefined, max_norm: 1.5, norm_type: 1, scale_grad_by_freq: true });
    expect([new Embedding(10, 4).normType, new Embedding(10, 4).scaleGradByFreq, new Embedding(10, 4, { maxNorm: null }).maxNorm, new Embedding(10, 4, { normType: Infinity }).normType]).toEqual([2, false, undefined, Infinity]);
    expect(() => new Embedding(10, 4, { maxNorm: 0 })).toThrow('Embedding: max_norm must be a positive number (or null: none), got 0');
    expect(() => new Embedding(10, 4, { maxNorm: NaN })).toThrow('Embedding: max_norm must be a positive number (or null: none), got NaN');
    expect(() => new Embedding(10, 4, { normType: 0 })).toThrow("Embedding: norm_type must be a positive number or Infinity (the p of max_norm's p-norm), got 0");
    expect(() => new Embedding(10, 4, { scaleGradByFreq: 1 as never })).toThrow('Embedding: scale_grad_by_freq must be true or false, got 1');
    expect(() => new Embedding(10, 4, { sparse: true })).toThrow('Embedding: sparse gradients are not supported');
    expect(() => new Embedding(2 ** 24 + 1, 4)).toThrow('Embedding: num_embeddings must be at most 2^24');
    expect(() => new Embedding(0, 4)).toThrow('Embedding: num_embeddings must be a whole number ≥ 1, got 0');
    expect(() => new Embedding({ numEmbeddings: 3, embedding_dim: 4 } as never)).toThrow("Embedding: unknown option 'embedding_dim' (PyTorch's embedding_dim is embeddingDim here)");
  });
});
