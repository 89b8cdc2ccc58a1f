/**
 * Token models end to end: an Embedding, a Linear over [L, D], a Permute to [D, L] for a Conv1d,
 * pooled and classified. A whole GPU training step against the float64 reference (fused and
 * unfused, at a small and a larger size), a seeded run's bits, the plan's refusal of a layer that
 * learns before an Embedding, the Trainer's refusal of a split whose inputs are no token ids, and a
 * short training run that learns a planted-token task.
 */
import { describe, expect, test } from 'vitest';
import { ReLU } from '../../src/layers/activations.js';
import { Embedding, type EmbeddingOptions } from '../../src/layers/embedding.js';
import { Flatten } from '../../src/layers/flatten.js';
import { Linear } from '../../src/layers/linear.js';
import { AdaptiveAvgPool1d, Conv1d } from '../../src/layers/one-d.js';
import { Permute } from '../../src/layers/permute.js';
import { GRU, LSTM } from '../../src/layers/recurrent.js';
import { Sequential } from '../../src/layers/sequential.js';
import { parseModelFile, modelFileText } from '../../src/models/model-file.js';
import { Adam, SGD } from '../../src/optim/optimizers.js';
import { checkNetworkStep, formatCheckReport } from '../../src/plan/check.js';
import { Network } from '../../src/plan/network.js';
import { formatSummary, initialValues, planModel } from '../../src/plan/plan.js';
import { uploadSplit } from '../../src/train/gpu-dataset.js';
import { Trainer } from '../../src/train/trainer.js';
import { embeddingRenormRef } from '../../src/reference/embedding.js';
import { expectAllClose } from '../helpers/allclose.js';
import { gpuTest } from '../helpers/gpu.js';

/** Embedding → Linear over [L, D] → ReLU → Permute([1, 0]) → Conv1d → AdaptiveAvgPool1d(1) → Flatten → Linear. */
const tokenModel = (vocab: number, dim: number, paddingIdx?: number, options: Omit<EmbeddingOptions, 'numEmbeddings' | 'embeddingDim' | 'paddingIdx'> = {}) =>
  new Sequential(new Embedding(vocab, dim, { paddingIdx, ...options }), new Linear(dim, 16), new ReLU(), new Permute([1, 0]), new Conv1d(16, 8, 3, { padding: 1 }), new AdaptiveAvgPool1d(1), new Flatten(), new Linear(8, 4));

/** Ids with many repeats and the padding id 0 among them. */
const idsOf = (count: number, vocab: number) => Float32Array.from({ length: count }, (_, i) => (i % 5 === 0 ? 0 : (i * 7919 + (i >> 3)) % vocab));

describe('a token model: one GPU training step against the float64 reference', () => {
  const cases = [
    { name: 'fused (Linear and ReLU), Adam, batch 6 of 11 tokens', vocab: 23, dim: 6, length: 11, batch: 6, fuse: true, optimizer: () => new Adam({ lr: 1e-2 }) },
    { name: 'unfused, SGD momentum', vocab: 23, dim: 6, length: 11, batch: 6, fuse: false, optimizer: () => new SGD({ lr: 0.1, momentum: 0.9 }) },
    { name: 'vocabulary 2,000, batch 32 of 64 tokens, 32 dimensions, Adam', vocab: 2000, dim: 32, length: 64, batch: 32, fuse: true, optimizer: () => new Adam({ lr: 1e-3 }) },
  ];
  for (const c of cases) {
    gpuTest(c.name, async (ctx) => {
      const network = new Network(ctx, tokenModel(c.vocab, c.dim, 0), { inputShape: [c.length], maxBatch: c.batch + 2, seed: 5, optimizer: c.optimizer(), fuse: c.fuse });
      const labels = Uint32Array.from({ length: c.batch }, (_, b) => (b * 3 + 1) % 4);
      for (let step = 1; step <= 2; step++) {
        const report = await checkNetworkStep(network, idsOf(c.batch * c.length, c.vocab), labels);
        expect(report.passed, `step ${step}\n${formatCheckReport(report)}`).toBe(true);
      }
      // The padding row starts at zeros and gets no gradient: SGD and Adam leave it there.
      const weight = await ctx.read(network.parameters[0]!.value);
      expect(Array.from(weight.subarray(0, c.dim))).toEqual(new Array(c.dim).fill(0));
    }, 120_000);
  }

  // The two merged layer families together: ids → vectors → a recurrence → a Linear at every step.
  for (const [name, recurrent] of [['LSTM', () => new LSTM(6, 10)], ['GRU', () => new GRU(6, 10, { bias: false })]] as const) {
    gpuTest(`an Embedding (padding_idx 0) into an ${name}, a Linear over its [L, H] output at every step, then Flatten → Linear, Adam: two steps against float64`, async (ctx) => {
      const model = new Sequential(new Embedding(23, 6, { paddingIdx: 0 }), recurrent(), new Linear(10, 4), new ReLU(), new Flatten(), new Linear(4 * 7, 3));
      const network = new Network(ctx, model, { inputShape: [7], maxBatch: 5, seed: 4, optimizer: new Adam({ lr: 0.01 }) });
      const labels = Uint32Array.from([0, 2, 1, 2, 0]);
      for (let step = 1; step <= 2; step++) {
        const report = await checkNetworkStep(network, idsOf(5 * 7, 23), labels);
        expect(report.passed, `step ${step}\n${formatCheckReport(report)}`).toBe(true);
      }
      expect(Array.from((await ctx.read(network.parameters[0]!.value)).subarray(0, 6))).toEqual(new Array(6).fill(0));
    });
  }

  gpuTest('a ReLU before a Linear over [L, D] (its gradient in the Linear\'s input gradient), a Linear on [features] after', async (ctx) => {
    const model = new Sequential(new Embedding(17, 5), new ReLU(), new Linear(5, 7), new Permute([1, 0]), new Flatten(), new Linear(7 * 9, 3));
    const network = new Network(ctx, model, { inputShape: [9], maxBatch: 4, seed: 2, optimizer: new SGD({ lr: 0.1 }) });
    expect(network.plan.fusions.map((f) => f.rule)).toContain('relu-grad-in-input-gradient');
    const report = await checkNetworkStep(network, idsOf(4 * 9, 17), Uint32Array.from([0, 1, 2, 1]));
    expect(report.passed, formatCheckReport(report)).toBe(true);
  });
});

describe("an Embedding's max_norm and scale_grad_by_freq: GPU training steps against the float64 reference", () => {
  // Weights start N(0, 1): a row of 6 has a 2-norm near 2.4, so max_norm 1 renorms most named rows at the first step; the check compares the renormed weight too.
  const cases = [
    { name: 'max_norm 1 (the 2-norm), padding_idx 0, SGD momentum, unfused', vocab: 23, dim: 6, length: 11, batch: 6, options: { maxNorm: 1 }, fuse: false, optimizer: () => new SGD({ lr: 0.1, momentum: 0.9 }) },
    { name: 'scale_grad_by_freq, padding_idx 0, Adam', vocab: 23, dim: 6, length: 11, batch: 6, options: { scaleGradByFreq: true }, fuse: true, optimizer: () => new Adam({ lr: 1e-2 }) },
    { name: 'max_norm 2 with norm_type 1 and scale_grad_by_freq, Adam', vocab: 23, dim: 6, length: 11, batch: 6, options: { maxNorm: 2, normType: 1, scaleGradByFreq: true }, fuse: true, optimizer: () => new Adam({ lr: 1e-2 }) },
    { name: 'vocabulary 2,000, batch 32 of 64 tokens, 32 dimensions, max_norm 4, norm_type 3 and scale_grad_by_freq, Adam', vocab: 2000, dim: 32, length: 64, batch: 32, options: { maxNorm: 4, normType: 3, scaleGradByFreq: true }, fuse: true, optimizer: () => new Adam({ lr: 1e-3 }) },
  ];
  for (const c of cases) {
    gpuTest(c.name, async (ctx) => {
      const network = new Network(ctx, tokenModel(c.vocab, c.dim, 0, c.options), { inputShape: [c.length], maxBatch: c.batch + 2, seed: 5, optimizer: c.optimizer(), fuse: c.fuse });
      const labels = Uint32Array.from({ length: c.batch }, (_, b) => (b * 3 + 1) % 4);
      for (let step = 1; step <= 3; step++) {
        const report = await checkNetworkStep(network, idsOf(c.batch * c.length, c.vocab).map((v, i) => (v + (step - 1) * (i % 3)) % c.vocab), labels);
        expect(report.passed, `step ${step}\n${formatCheckReport(report)}`).toBe(true);
        if (c.options.maxNorm !== undefined) expect(report.rows.map((r) => r.tensor)).toContain('0.weight (max_norm renorm)');
      }
      const weight = await ctx.read(network.parameters[0]!.value);
      expect(Array.from(weight.subarray(0, c.dim))).toEqual(new Array(c.dim).fill(0));
    }, 120_000);
  }

  gpuTest('max_norm renorms in eval too: predict changes the rows its ids name, each once, as the reference; the others keep their bits', async (ctx) => {
    const [vocab, dim, length] = [40, 6, 9];
    const network = new Network(ctx, tokenModel(vocab, dim, 0, { maxNorm: 1.25 }), { inputShape: [length], maxBatch: 4, seed: 3, optimizer: new Adam({ lr: 1e-2 }) });
    const before = Float64Array.from(await ctx.read(network.parameters[0]!.value));
    const inputs = Float32Array.from({ length: 3 * length }, (_, i) => (i * 7) % 25);
    await network.predict(inputs);
    const after = await ctx.read(network.parameters[0]!.value);
    const expected = embeddingRenormRef(inputs, before, vocab, dim, 1.25);
    expectAllClose('weight after predict', after, expected, { atol: 1e-6, rtol: 1e-6 });
    for (let r = 25; r < vocab; r++) expect(Array.from(after.subarray(r * dim, (r + 1) * dim)), `row ${r}`).toEqual(Array.from(before.subarray(r * dim, (r + 1) * dim)));
    expect(Array.from({ length: 25 }, (_, r) => Math.hypot(...after.subarray(r * dim, (r + 1) * dim))).filter((n) => Math.abs(n - 1.25) < 1e-5).length).toBeGreaterThan(15);
  });
});

describe('a seeded run', () => {
  gpuTest('is bit-reproducible: two networks, three steps each, the same weights to the bit', async (ctx) => {
    const run = async () => {
      const network = new Network(ctx, tokenModel(300, 16, 0), { inputShape: [32], maxBatch: 16, seed: 11, optimizer: new Adam({ lr: 1e-2 }) });
      for (let step = 0; step < 3; step++) await checkNetworkStep(network, idsOf(16 * 32, 300).map((v, i) => (v + step * i) % 300), Uint32Array.from({ length: 16 }, (_, b) => b % 4));
      return Promise.all(network.parameters.map(async (p) => new Uint32Array((await ctx.read(p.value)).buffer.slice(0))));
    };
    const [a, b] = [await run(), await run()];
    a.forEach((bits, k) => expect(bits, `parameter ${k}`).toEqual(b[k]));
  }, 120_000);
});

describe('the plan and the model file', () => {
  test('a layer that learns before an Embedding is refused (ids have no gradient)', () => {
    expect(() => planModel(new Sequential(new Linear(4, 4), new Embedding(10, 3), new Flatten()), { inputShape: [4] })).toThrow(
      "layer '1' (Embedding) takes token ids, which have no gradient, but layer '0' (Linear) before it has parameters that could never learn: put the Embedding first",
    );
  });

  test("the weight starts as PyTorch's: N(0, 1), the padding row zeros", () => {
    const plan = planModel(tokenModel(1000, 64, 7), { inputShape: [10] });
    const node = plan.nodes[0]!;
    const w = initialValues(node, node.parameters[0]!, 3);
    expect(Array.from(w.subarray(7 * 64, 8 * 64))).toEqual(new Array(64).fill(0));
    const rest = Array.from(w).filter((_, i) => Math.floor(i / 64) !== 7);
    const mean = rest.reduce((a, v) => a + v, 0) / rest.length;
    const std = Math.sqrt(rest.reduce((a, v) => a + (v - mean) ** 2, 0) / rest.length);
    // 63,936 draws: the mean within 4.5 standard errors of 0, the deviation within 1 %.
    expect(Math.abs(mean)).toBeLessThan(4.5 / Math.sqrt(rest.length));
    expect(Math.abs(std - 1)).toBeLessThan(0.01);
  });

  test("Embedding and Permute in a model file with PyTorch's names; the summary", () => {
    const text = JSON.stringify({ input: [12], layers: [{ type: 'Embedding', num_embeddings: 100, embedding_dim: 8, padding_idx: 0 }, { type: 'Linear', out_features: 6 }, { type: 'Permute', dims: [1, 0] }, { type: 'Conv1d', out_channels: 4, kernel_size: 3 }, { type: 'AdaptiveAvgPool1d', output_size: 1 }, { type: 'Flatten' }, { type: 'Linear', out_features: 2 }] });
    const { model, input } = parseModelFile(text, 'tokens.json');
    const plan = planModel(model, { inputShape: input });
    expect(plan.nodes.map((n) => n.outShape)).toEqual([[12, 8], [12, 6], [6, 12], [4, 10], [4, 1], [4], [2]]);
    expect(plan.nodes[0]!.parameters.map((p) => [p.name, p.shape])).toEqual([['0.weight', [100, 8]]]);
    const summary = formatSummary(plan);
    expect(summary).toMatch(/Embedding-1 +\[-1, 12, 8\] +800/);
    expect(summary).toMatch(/Permute-3 +\[-1, 6, 12\] +0/);
    expect(parseModelFile(modelFileText(model, input), 'again').model).toBeDefined();
    expect(JSON.parse(modelFileText(model, input)).layers[0]).toEqual({ type: 'Embedding', num_embeddings: 100, embedding_dim: 8, padding_idx: 0 });
    const bad = (layer: object) => () => parseModelFile(JSON.stringify({ input: [12], layers: [layer] }), 'bad.json');
    expect(bad({ type: 'Embedding', num_embeddings: 10, embedding_dim: 3, max_norm: 0 })).toThrow("bad.json: layer '0' (Embedding): max_norm must be a positive number (or null: none), got 0");
    expect(bad({ type: 'Embedding', num_embeddings: 10, embedding_dim: 3, max_norm: 1, norm_type: -1 })).toThrow("bad.json: layer '0' (Embedding): norm_type must be a positive number or Infinity");
    expect(bad({ type: 'Embedding', num_embeddings: 10, embedding_dim: 3, scale_grad_by_freq: 'yes' })).toThrow('"scale_grad_by_freq" must be true or false, got "yes"');
    expect(bad({ type: 'Embedding', num_embeddings: 10, embedding_dim: 3, sparse: true })).toThrow("bad.json: layer '0' (Embedding): sparse gradients are not supported");
    // max_norm, norm_type and scale_grad_by_freq under PyTorch's names, in and out.
    const options = { type: 'Embedding', num_embeddings: 10, embedding_dim: 3, max_norm: 1.5, norm_type: 1, scale_grad_by_freq: true };
    const parsed = parseModelFile(JSON.stringify({ input: [4], layers: [options] }), 'options.json');
    const layer = (parsed.model as Sequential).children[0]![1] as Embedding;
    expect([layer.maxNorm, layer.normType, layer.scaleGradByFreq]).toEqual([1.5, 1, true]);
    expect(JSON.parse(modelFileText(parsed.model, parsed.input)).layers[0]).toEqual(options);
    expect(bad({ type: 'Embedding', num_embeddings: 10, embedding_dim: 3, padding_idx: 'none' })).toThrow('"padding_idx" must be a number or null, got "none"');
    expect(bad({ type: 'Permute', dims: 1 })).toThrow('"dims" must be a list of numbers, got 1');
    expect(parseModelFile(JSON.stringify({ input: [3], layers: [{ type: 'Embedding', num_embeddings: 5, embedding_dim: 2, padding_idx: null }] }), 'x').model).toBeDefined();
  });
});

describe('the Trainer on token ids', () => {
  const [vocab, length, count] = [50, 16, 256];
  /** Background ids 5 … 49, and class c's token (1 + c) planted at a quarter of the positions. */
  const task = (seedShift: number) => {
    const labels = Array.from({ length: count }, (_, i) => (i * 7 + seedShift) % 4);
    const inputs = Float32Array.from({ length: count * length }, (_, k) => {
      const [i, p] = [Math.floor(k / length), k % length];
      return (p * 5 + i) % 4 === 0 ? 1 + labels[i]! : 5 + ((k * 7919 + seedShift) % (vocab - 5));
    });
    return { inputs, labels, count, shape: [length] };
  };

  gpuTest('refuses a split whose inputs are no token ids, naming the sample, the position and the value', async (ctx) => {
    const network = new Network(ctx, tokenModel(vocab, 8, 0), { inputShape: [length], maxBatch: 32, seed: 1, optimizer: new Adam({ lr: 1e-2 }) });
    const withValue = (k: number, v: number) => {
      const split = task(0);
      split.inputs[k] = v;
      return uploadSplit(ctx, 'train', split);
    };
    const trainer = (split: ReturnType<typeof withValue>) => new Trainer(ctx, network, split, undefined, { batch: 32, seed: 1 });
    expect(() => trainer(withValue(3 * length + 5, vocab))).toThrow(`the train split's inputs[53] (sample 3, position 5) is 50, past layer '0' (Embedding)'s 50 rows (ids 0 to 49; num_embeddings must be at least 51)`);
    expect(() => trainer(withValue(17, -1))).toThrow("the train split's inputs[17] (sample 1, position 1) is -1, but layer '0' (Embedding) takes token ids from 0 to 49");
    expect(() => trainer(withValue(40, 2.5))).toThrow("the train split's inputs[40] (sample 2, position 8) is 2.5, but layer '0' (Embedding) takes token ids: whole numbers from 0 to 49");
  });

  gpuTest('predict refuses inputs that are no token ids, and classifies ids', async (ctx) => {
    const network = new Network(ctx, tokenModel(vocab, 8, 0), { inputShape: [length], maxBatch: 8, seed: 1, optimizer: new Adam({ lr: 1e-2 }) });
    const inputs = task(0).inputs.subarray(0, 3 * length);
    expect((await network.predict(inputs)).every(Number.isFinite)).toBe(true);
    const bad = Float32Array.from(inputs);
    bad[length + 2] = 0.5;
    await expect(network.predict(bad)).rejects.toThrow("predict: inputs[18] (sample 1, position 2) is 0.5, but layer '0' (Embedding) takes token ids: whole numbers from 0 to 49");
  });

  gpuTest('learns a planted-token task in three epochs', async (ctx) => {
    const network = new Network(ctx, tokenModel(vocab, 8, 0), { inputShape: [length], maxBatch: 32, seed: 1, optimizer: new Adam({ lr: 1e-2 }) });
    const trainer = new Trainer(ctx, network, uploadSplit(ctx, 'train', task(0)), uploadSplit(ctx, 'test', task(1)), { batch: 32, seed: 1 });
    const first = await trainer.trainEpoch(1);
    let last = first;
    for (let epoch = 2; epoch <= 3; epoch++) last = await trainer.trainEpoch(epoch);
    expect(last.trainLoss).toBeLessThan(0.5 * first.trainLoss);
  }, 120_000);
});
