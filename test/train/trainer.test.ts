/**
 * The training loop on a small subset of the real MNIST: the loss falls, a run is reproducible
 * from its seed, and a run cut in two through a checkpoint equals the uninterrupted run.
 */
import { describe, expect } from 'vitest';
import { encodeCheckpoint, loadCheckpoint } from '../../src/checkpoint/checkpoint.js';
import type { GpuContext } from '../../src/gpu/context.js';
import { Network } from '../../src/plan/network.js';
import { BatchNorm1d, Flatten, Linear, LogSoftmax, Sequential } from '../../src/layers/index.js';
import { loadMnist } from '../../src/node/mnist-files.js';
import { uploadSplit } from '../../src/train/gpu-dataset.js';
import { Trainer } from '../../src/train/trainer.js';
import { SGD } from '../../src/optim/optimizers.js';
import { createSeedCnn, gpuTest } from '../helpers/gpu.js';
import { SEED_CNN_INPUT, seedCnn } from '../../src/models/seed-cnn.js';
import { createNodeContext } from '../../src/node/device.js';

const data = loadMnist();
const BATCH = 32;

async function trainer(ctx: GpuContext, trainCount: number, options: { shuffle?: boolean } = {}) {
  const { train, test } = await data;
  const model = createSeedCnn(ctx, { maxBatch: BATCH, seed: 5, lr: 0.05 });
  return new Trainer(ctx, model, uploadSplit(ctx, 'train', train, trainCount), uploadSplit(ctx, 'test', test, 64), { batch: BATCH, seed: 5, augment: true, ...options }); // rotation on, as the CLI trains
}

async function weights(model: Network): Promise<Float32Array[]> {
  return Promise.all(model.parameters.map((p) => model.ctx.read(p.value)));
}

describe('bad options are refused when made, naming the option', () => {
  gpuTest('a batch or seed of the wrong kind, and a 0-based epoch', async (ctx) => {
    const { train, test } = await data;
    const model = createSeedCnn(ctx, { maxBatch: BATCH, seed: 5 });
    const [a, b] = [uploadSplit(ctx, 'train', train, 64), uploadSplit(ctx, 'test', test, 32)];
    expect(() => new Trainer(ctx, model, a, b, { batch: 0, seed: 1 })).toThrow('batch must be a whole number ≥ 1, got 0');
    expect(() => new Trainer(ctx, model, a, b, { batch: 32 } as never)).toThrow('seed (of the shuffles and rotations) must be a whole number from 0 to 4294967295, got undefined');
    expect(() => new Trainer(ctx, model, a, b, { batch: 32, seed: -1 })).toThrow('got -1');
    // The rotation is off by default: an angle alone would rotate nothing, silently.
    expect(() => new Trainer(ctx, model, a, b, { batch: 32, seed: 1, maxDegrees: 15 })).toThrow('Trainer: maxDegrees without augment: true rotates nothing (the rotation is off by default)');
    expect(() => new Trainer(ctx, model, a, b, { batch: 32, seed: 1, maxDegrees: 15, augment: true })).not.toThrow();
    // A model with fewer outputs than the labels' classes (the loss would read past its outputs).
    const seven = new Network(ctx, new Sequential(new Flatten(), new Linear({ outFeatures: 7 }), new LogSoftmax()), { inputShape: [1, 28, 28], maxBatch: BATCH });
    expect(() => new Trainer(ctx, seven, a, b, { batch: 32, seed: 1 })).toThrow('the train labels go up to 9; the model has 7 outputs (its last layer should have 10)');
    // A batch norm with one value per channel in a training batch (PyTorch raises): a batch of 1,
    // or a last batch of 1; a BatchNorm2d over a map has more than one value even then.
    const bn1d = new Network(ctx, new Sequential(new Flatten(), new Linear({ outFeatures: 8 }), new BatchNorm1d(), new Linear({ outFeatures: 10 }), new LogSoftmax()), { inputShape: [1, 28, 28], maxBatch: BATCH });
    // Said before the epoch's first step; evaluation (running statistics) takes any batch.
    const [sixtyFive, one] = [uploadSplit(ctx, 'train', train, 65), uploadSplit(ctx, 'train', train, 1)];
    const steps = () => bn1d.stepsTaken;
    await expect(new Trainer(ctx, bn1d, sixtyFive, b, { batch: 32, seed: 1 }).trainEpoch(1)).rejects.toThrow(
      `BatchNorm1d '2': 1 value per channel in a training batch of 1 (the last batch of the 65 training samples at batch 32), as PyTorch refuses too ("Expected more than 1 value per channel when training"); choose a batch size that leaves no batch of 1`,
    );
    expect(steps()).toBe(0);
    await expect(new Trainer(ctx, bn1d, a, b, { batch: 1, seed: 1 }).trainEpoch(1)).rejects.toThrow("BatchNorm1d '2': 1 value per channel in a training batch of 1 (batch 1)");
    await expect(new Trainer(ctx, bn1d, one, b, { batch: 32, seed: 1 }).trainEpoch(1)).rejects.toThrow('(the last batch of the 1 training samples at batch 32)');
    // Two steps of 32 stop before the batch of 1; a batch of 13 leaves none.
    expect((await new Trainer(ctx, bn1d, sixtyFive, b, { batch: 32, seed: 1 }).trainEpoch(1, { maxSteps: 2 })).steps).toBe(2);
    expect((await new Trainer(ctx, bn1d, sixtyFive, b, { batch: 13, seed: 1 }).trainEpoch(1)).steps).toBe(5);
    const evaluation = await new Trainer(ctx, bn1d, one, one, { batch: 1, seed: 1 }).evaluate();
    expect(evaluation.count).toBe(1);
    const fitting = new Trainer(ctx, model, a, b, { batch: 32, seed: 1 });
    await expect(fitting.fit({ firstEpoch: 1, epochs: 1.5 })).rejects.toThrow('fit: epochs must be a whole number ≥ 0, got 1.5');
    await expect(fitting.fit({ firstEpoch: 1, epochs: -3 })).rejects.toThrow('got -3');
    await expect(fitting.fit({ firstEpoch: 0, epochs: 1 })).rejects.toThrow('fit: firstEpoch is 1-based');
    // PyTorch's `for epoch in range(n)` counts from 0; here the epoch keys the shuffle and the schedule, from 1.
    await expect(new Trainer(ctx, model, a, b, { batch: 32, seed: 1 }).trainEpoch(0)).rejects.toThrow('trainEpoch: epoch is 1-based (the first is 1: it keys the shuffle and the schedule), got 0');
  });
});

describe("OneCycleLR's end", () => {
  gpuTest('an epoch that would step past total_steps is refused before its first step, saying the room left', async (ctx) => {
    const { train, test } = await data;
    const net = new Network(ctx, new Sequential(new Flatten(), new Linear({ outFeatures: 10 }), new LogSoftmax()), {
      inputShape: [1, 28, 28], maxBatch: 16, optimizer: new SGD({ lr: 0.01, momentum: 0.9 }, { kind: 'onecycle', maxLr: 0.1, totalSteps: 6 }),
    });
    const trainer = new Trainer(ctx, net, uploadSplit(ctx, 'train', train, 64), uploadSplit(ctx, 'test', test, 16), { batch: 16, seed: 1 });
    expect((await trainer.trainEpoch(1)).steps).toBe(4);
    await expect(trainer.trainEpoch(2)).rejects.toThrow("OneCycleLR: epoch 2 would take steps 5 … 8, past total_steps 6 (as PyTorch, it cannot step further); 2 steps are left (trainEpoch's maxSteps); a longer run needs a totalSteps that covers it");
    expect(net.stepsTaken).toBe(4);
    expect((await trainer.trainEpoch(2, { maxSteps: 2 })).steps).toBe(2);
    await expect(trainer.trainEpoch(3)).rejects.toThrow('past total_steps 6 (as PyTorch, it cannot step further); the cycle is over; a longer run needs a totalSteps that covers it');
  });
});

describe('splits a model cannot read are refused, naming the split', () => {
  gpuTest('pixels that are not bytes, arrays shorter than the count, labels past the outputs on evaluate, a split of another context', async (ctx) => {
    const { train, test } = await data;
    const floats = { ...train, images: Float32Array.from(train.images.subarray(0, 784 * 4), (v) => v / 255) as never, count: 4 };
    expect(() => uploadSplit(ctx, 'train', floats)).toThrow('train split: images must be a Uint8Array of pixels 0 … 255 (as MNIST\'s files hold them; they are normalised on the GPU), got Float32Array');
    expect(() => uploadSplit(ctx, 'train', { ...train, labels: train.labels.subarray(0, 3), count: 4 })).toThrow('train split: labels hold 3, fewer than the 4 images');
    expect(() => uploadSplit(ctx, 'train', { ...train, images: train.images.subarray(0, 784 * 3), count: 4 })).toThrow('train split: images hold 2352 bytes, fewer than 4 images of 28×28 (3136)');
    expect(() => uploadSplit(ctx, 'train', { ...train, labels: Int8Array.of(-1, 2, 3, 4) as never, count: 4 })).toThrow('train split: labels must be a Uint8Array of class indices 0 … 255, got Int8Array');
    const five = new Network(ctx, new Sequential(new Flatten(), new Linear({ outFeatures: 5 }), new LogSoftmax()), { inputShape: [1, 28, 28], maxBatch: BATCH });
    const low = { ...train, labels: Uint8Array.from(train.labels, (l) => l % 5) };
    const t = new Trainer(ctx, five, uploadSplit(ctx, 'train', low, 64), uploadSplit(ctx, 'test', { ...test, labels: Uint8Array.from(test.labels, (l) => l % 5) }, 32), { batch: BATCH, seed: 1 });
    // The default test split was checked when made; another one is checked when evaluated.
    await expect(t.evaluate(uploadSplit(ctx, 'other', test, 32))).rejects.toThrow('the other labels go up to 9; the model has 5 outputs');
    await expect(t.probabilities(uploadSplit(ctx, 'other', test, 32))).rejects.toThrow('the other labels go up to 9');
    const elsewhere = await createNodeContext({ announce: false });
    try {
      expect(() => new Trainer(ctx, five, uploadSplit(elsewhere, 'train', low, 64), uploadSplit(ctx, 'test', low, 32), { batch: BATCH, seed: 1 })).toThrow('the train split was uploaded to another GPU context');
      // A network of the other context: Dawn's errors ended the process from its error handler.
      const there = new Network(elsewhere, new Sequential(new Flatten(), new Linear({ outFeatures: 5 }), new LogSoftmax()), { inputShape: [1, 28, 28], maxBatch: BATCH });
      expect(() => new Trainer(ctx, there, uploadSplit(ctx, 'train', low, 64), uploadSplit(ctx, 'test', low, 32), { batch: BATCH, seed: 1 })).toThrow("the network was built on another GPU context (new Network(ctx, …) with this trainer's ctx)");
    } finally {
      elsewhere.destroy();
    }
  });
});

describe('MNIST training loop', () => {
  gpuTest('the loss falls over a few epochs of 128 images', async (ctx) => {
    const t = await trainer(ctx, 128);
    const losses: number[] = [];
    for (let epoch = 1; epoch <= 4; epoch++) losses.push((await t.trainEpoch(epoch)).trainLoss);
    expect(losses.every(Number.isFinite)).toBe(true);
    expect(losses[3]!).toBeLessThan(losses[0]! * 0.8);
    const evaluation = await t.evaluate();
    expect(evaluation.count).toBe(64);
    expect(Number.isFinite(evaluation.loss)).toBe(true);
  });

  gpuTest('a trainer without a test split: fit trains and evaluates nothing, ReduceLROnPlateau reads the training loss, evaluate() asks for a split', async (ctx) => {
    const { train } = await data;
    const split = uploadSplit(ctx, 'train', train, 96);
    const plain = new Trainer(ctx, createSeedCnn(ctx, { maxBatch: BATCH, seed: 5, lr: 0.05 }), split, undefined, { batch: BATCH, seed: 5 });
    await plain.prepare();
    const run = await plain.fit({ firstEpoch: 1, epochs: 2 });
    expect(run.history.map((r) => [r.epoch, r.test, r.best])).toEqual([[1, undefined, false], [2, undefined, false]]);
    expect(run.history.every((r) => Number.isFinite(r.train.trainLoss) && r.train.steps === 3)).toBe(true);
    expect(run.best).toBeUndefined();
    await expect(plain.evaluate()).rejects.toThrow('evaluate: this trainer has no test split; give the split to evaluate (trainer.evaluate(split))');
    expect((await plain.evaluate(split)).count).toBe(96);
    // ReduceLROnPlateau steps on the training loss by default there; a test metric is refused before any step.
    const plateau = (metric?: 'test-loss' | 'train-loss') => new Network(ctx, seedCnn(), { inputShape: SEED_CNN_INPUT, maxBatch: BATCH, seed: 5, optimizer: new SGD({ lr: 0.05 }, { kind: 'plateau', patience: 0, factor: 0.5, ...(metric ? { metric } : {}) }) });
    const byTrain = new Trainer(ctx, plateau(), split, undefined, { batch: BATCH, seed: 5 });
    const stepped = await byTrain.fit({ firstEpoch: 1, epochs: 3 });
    expect(stepped.history.every((r) => r.plateau !== undefined)).toBe(true);
    const refused = new Trainer(ctx, plateau('test-loss'), split, undefined, { batch: BATCH, seed: 5 });
    await expect(refused.fit({ firstEpoch: 1, epochs: 1 })).rejects.toThrow("fit: ReduceLROnPlateau's metric test-loss needs a test split, and this trainer has none: give one, or metric 'train-loss' or 'train-accuracy'");
    expect(refused.model.stepsTaken).toBe(0);
  }, 120_000);
  gpuTest('progress arrives while training, and the last snapshot is the epoch total', async (ctx) => {
    const t = await trainer(ctx, 100);
    const seen: number[] = [];
    const result = await t.trainEpoch(1, { onProgress: (p) => seen.push(p.samples) });
    await ctx.sync();
    expect(result.steps).toBe(4);
    expect(result.samples).toBe(100); // 32 + 32 + 32 + a last batch of 4
    expect(seen.length).toBeGreaterThan(0);
    expect(seen[seen.length - 1]).toBe(100);
  });

  gpuTest("prepare builds every program the run will use, so that training and evaluating build none", async (ctx) => {
    // The programs built, as split name/batch/mode (kept by split object).
    const programs = (t: Trainer) => {
      const bySplit = (t as unknown as { programs: WeakMap<object, Map<string, unknown>> }).programs;
      return new Map([t.train, t.test!].flatMap((split) => [...(bySplit.get(split)?.keys() ?? [])].map((key) => [`${split.name}/${key}`, true] as const)));
    };
    const t = await trainer(ctx, 100); // 32, 32, 32 and a last batch of 4; the test split: 2 × 32
    const before = ctx.pipelineTimes.length;
    const prepared = await t.prepare();
    expect([...programs(t).keys()].sort()).toEqual(['test/32/eval', 'train/32/train', 'train/4/train']);
    expect(prepared.pipelines).toBe(ctx.pipelineTimes.length - before);
    expect(prepared.seconds).toBeGreaterThan(0);
    if (prepared.pipelines > 0) expect(prepared.longest!.ms).toBeGreaterThan(0);
    await t.trainEpoch(1);
    await t.evaluate();
    expect(programs(t).size).toBe(3);
    // A run of fewer steps than an epoch (--steps 2) never reaches the last, smaller batch.
    const short = await trainer(ctx, 100);
    await short.prepare(2);
    expect([...programs(short).keys()].sort()).toEqual(['test/32/eval', 'train/32/train']);
  });

  gpuTest('a paused and stopped epoch: the loop waits in between() and ends at the abort', async (ctx) => {
    const t = await trainer(ctx, 160); // 5 steps of 32
    const stop = new AbortController();
    let calls = 0;
    const stepsSeen: number[] = [];
    const t0 = performance.now();
    const result = await t.trainEpoch(1, {
      signal: stop.signal,
      between: async () => {
        stepsSeen.push(t.model.stepsTaken);
        calls++;
        await new Promise((resolve) => setTimeout(resolve, calls === 1 ? 300 : 5)); // a pause, as a page would
        if (calls === 3) stop.abort(); // before the third step
      },
    });
    const wallMs = performance.now() - t0;
    expect(calls).toBe(3);
    expect(stepsSeen).toEqual([0, 1, 2]); // the loop waited before each step
    // The pause is not training time: at least the 300 ms pause is left out of `seconds`.
    expect(wallMs - result.seconds * 1000).toBeGreaterThanOrEqual(300);
    expect(result.steps).toBe(2);
    expect(result.samples).toBe(64);
    expect(t.model.stepsTaken).toBe(2);
  });

  gpuTest('a run is reproducible, and resuming from a checkpoint equals the uninterrupted run', async (ctx) => {
    const straight = await trainer(ctx, 96);
    await straight.trainEpoch(1);
    await straight.trainEpoch(2);
    const expected = await weights(straight.model);

    const again = await trainer(ctx, 96);
    await again.trainEpoch(1);
    const bytes = await encodeCheckpoint(again.model, { epoch: '1' });
    const resumed = await trainer(ctx, 96);
    loadCheckpoint(resumed.model, bytes, 'memory');
    expect(resumed.model.stepsTaken).toBe(3);
    await resumed.trainEpoch(2);
    const actual = await weights(resumed.model);
    actual.forEach((w, i) => expect(Array.from(w), straight.model.parameters[i]!.name).toEqual(Array.from(expected[i]!)));

    const other = await trainer(ctx, 96);
    await other.trainEpoch(1);
    await other.trainEpoch(3);
    expect(Array.from((await weights(other.model))[0]!)).not.toEqual(Array.from(expected[0]!));
  });

  gpuTest('the epoch order: a seeded permutation per epoch, or the set’s order with shuffle off', async (ctx) => {
    const identity = Array.from({ length: 64 }, (_, i) => i);
    const ordered = await trainer(ctx, 64, { shuffle: false });
    await ordered.trainEpoch(1, { maxSteps: 1 });
    expect(Array.from(await ctx.read(ordered.train.order))).toEqual(identity);

    const shuffled = await trainer(ctx, 64);
    await shuffled.trainEpoch(1, { maxSteps: 1 });
    const first = Array.from(await ctx.read(shuffled.train.order));
    expect([...first].sort((a, b) => a - b)).toEqual(identity);
    expect(first).not.toEqual(identity);
    await shuffled.trainEpoch(2, { maxSteps: 1 });
    expect(Array.from(await ctx.read(shuffled.train.order))).not.toEqual(first);
  });

  gpuTest('class probabilities of every sample sum to 1', async (ctx) => {
    const t = await trainer(ctx, 40);
    const probabilities = await t.probabilities(t.train);
    expect(probabilities).toHaveLength(40);
    for (const row of probabilities) expect(row.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 4);
  });
});
