/**
 * Nothing lost, nothing silent: a device lost in the middle of an epoch is replaced and the run
 * ends bit for bit where an uninterrupted one does; a diverging run stops at the step that
 * diverged, naming it and the layer, or rolls back with a halved learning rate.
 */
import { describe, expect } from 'vitest';
import type { GpuContext } from '../../src/gpu/context.js';
import { DeviceLostError } from '../../src/gpu/errors.js';
import { createNodeContext } from '../../src/node/device.js';
import { loadMnist } from '../../src/node/mnist-files.js';
import { uploadSplit } from '../../src/train/gpu-dataset.js';
import { fitWithRecovery } from '../../src/train/recovery.js';
import { DivergenceError, Trainer, type EpochRecord } from '../../src/train/trainer.js';
import { createSeedCnn, gpuTest } from '../helpers/gpu.js';

const data = loadMnist();
const BATCH = 32;
const TRAIN = 320; // 10 steps an epoch

async function build(ctx: GpuContext, options: { lr?: number; momentum?: number } = {}): Promise<Trainer> {
  const { train, test } = await data;
  const model = createSeedCnn(ctx, { maxBatch: BATCH, seed: 7, lr: options.lr ?? 0.05, momentum: options.momentum });
  return new Trainer(ctx, model, uploadSplit(ctx, 'train', train, TRAIN), uploadSplit(ctx, 'test', test, 96), { batch: BATCH, seed: 7, augment: true }); // rotation on, as the CLI trains
}

/** A device that is destroyed (as a driver reset would lose it) at its `after`-th queue submission. */
async function doomedContext(after: number): Promise<GpuContext> {
  const ctx = await createNodeContext({ announce: false, onError: () => {} });
  const queue = ctx.device.queue;
  const submit = queue.submit.bind(queue);
  let count = 0;
  queue.submit = (buffers) => {
    if (++count === after) ctx.device.destroy();
    submit(buffers);
  };
  return ctx;
}

const summary = (history: readonly EpochRecord[]) =>
  history.map((h) => ({ epoch: h.epoch, steps: h.train.steps, samples: h.train.samples, loss: h.train.trainLoss, accuracy: h.train.trainAccuracy, last: h.train.lastBatchLoss, test: h.test }));

async function weights(trainer: Trainer): Promise<number[][]> {
  return Promise.all(trainer.model.parameters.map(async (p) => Array.from(await trainer.ctx.read(p.value))));
}

describe('recovery', () => {
  gpuTest('a device lost mid-epoch is replaced and the run ends bit for bit as an uninterrupted one', async (ctx) => {
    const fit = { firstEpoch: 1, epochs: 2 };
    const reference = await build(ctx);
    const expected = await fitWithRecovery(reference, fit, { createContext: async () => ctx, build, snapshotEvery: 4 });
    expect(expected.deviceLosses).toBe(0);

    // Lost in epoch 2, after its snapshot at step 4: steps 5… are redone on a new device.
    const contexts: GpuContext[] = [await doomedContext(37)];
    const lines: string[] = [];
    const first = await build(contexts[0]!);
    const got = await fitWithRecovery(first, fit, {
      createContext: async () => {
        contexts.push(await createNodeContext({ announce: false }));
        return contexts[contexts.length - 1]!;
      },
      build,
      snapshotEvery: 4,
      log: (line) => lines.push(line),
    });
    try {
      expect(got.deviceLosses).toBe(1);
      expect(contexts).toHaveLength(2);
      expect(got.trainer.ctx).toBe(contexts[1]);
      expect(lines.join('\n')).toMatch(/device was lost .*continuing from epoch \d, step \d+/);
      expect(summary(got.history)).toEqual(summary(expected.history));
      expect(got.trainer.model.stepsTaken).toBe(20);
      expect(await weights(got.trainer)).toEqual(await weights(expected.trainer));
    } finally {
      for (const c of contexts) c.destroy();
    }
  }, 120_000);

  gpuTest('a device lost between an epoch’s end and the next epoch’s first steps: no epoch is reported twice', async (ctx) => {
    const fit = { firstEpoch: 1, epochs: 2 };
    const expected = await fitWithRecovery(await build(ctx), fit, { createContext: async () => ctx, build, snapshotEvery: 4 });
    // Epoch 1: its start snapshot, 10 steps (with two more snapshots), its checks and evaluation;
    // any submission from its end to epoch 2's first steps.
    for (const after of [22, 24, 26]) {
      const contexts: GpuContext[] = [await doomedContext(after)];
      const reported: number[] = [];
      const got = await fitWithRecovery(await build(contexts[0]!), { ...fit, onEpoch: (r) => void reported.push(r.epoch) }, {
        createContext: async () => {
          contexts.push(await createNodeContext({ announce: false }));
          return contexts.at(-1)!;
        },
        build,
        snapshotEvery: 4,
      });
      try {
        expect(reported, `lost at submission ${after}`).toEqual([1, 2]);
        expect(summary(got.history), `lost at submission ${after}`).toEqual(summary(expected.history));
      } finally {
        for (const c of contexts) c.destroy();
      }
    }
  }, 240_000);

  gpuTest('a loss before the first snapshot starts the run again; a new device that fails once is tried again', async (ctx) => {
    const fit = { firstEpoch: 1, epochs: 1 };
    const expected = await fitWithRecovery(await build(ctx), fit, { createContext: async () => ctx, build, snapshotEvery: 4 });
    // Lost at the first submission (the first snapshot's read): it was an error, the start state being lost.
    const contexts: GpuContext[] = [await doomedContext(1)];
    const lines: string[] = [];
    let refusals = 1; // the first new device "cannot be made" (a driver still resetting)
    try {
      const got = await fitWithRecovery(await build(contexts[0]!), fit, {
        createContext: async () => {
          if (refusals-- > 0) throw new Error('OperationError: adapter not available');
          contexts.push(await createNodeContext({ announce: false }));
          return contexts.at(-1)!;
        },
        build,
        snapshotEvery: 4,
        log: (line) => lines.push(line),
      });
      expect(got.deviceLosses).toBe(1);
      expect(lines[0]).toMatch(/device was lost.*: creating a new device and starting the run again \(it was lost before the first snapshot, the network not trained yet\)$/);
      expect(lines[1]).toBe('making a new device and the run on it failed (OperationError: adapter not available); trying again in 1 s');
      expect(summary(got.history)).toEqual(summary(expected.history));
      expect(await weights(got.trainer)).toEqual(await weights(expected.trainer));
    } finally {
      for (const c of contexts) c.destroy();
    }
  }, 120_000);

  gpuTest('without a snapshot to go back to, or past maxRecoveries, the loss is a DeviceLostError', async () => {
    const doomed = await doomedContext(3);
    const trainer = await build(doomed);
    const error = await fitWithRecovery(trainer, { firstEpoch: 1, epochs: 1 }, {
      createContext: () => doomedContext(3),
      build,
      maxRecoveries: 1,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DeviceLostError);
    expect((error as Error).message).toMatch(/the WebGPU device was lost \(destroyed/);
  }, 120_000);

  gpuTest('a diverging run stops at the first non-finite step, naming the epoch, the step and the layer', async (ctx) => {
    // A gradient that overflows (at lr 10 and momentum 1, the tester's case, a running variance
    // overflows first: the next test).
    const trainer = await build(ctx, { lr: 1000, momentum: 0.9 });
    const saved: number[] = [];
    const error = await fitWithRecovery(trainer, { firstEpoch: 1, epochs: 3, onEpoch: (r) => void saved.push(r.epoch) }, { createContext: async () => ctx, build }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DivergenceError);
    const d = error as DivergenceError;
    expect(d.message).toMatch(/^training diverged at epoch \d+, step \d+ \(step \d+ of the run\): .*non-finite/);
    // The module's words (the CLI's flags and files are the CLI's to say).
    expect(d.message).toMatch(/\. Try a smaller learning rate or momentum, or roll back \(fitWithRecovery's onDivergence: 'rollback'\)$/);
    expect(d.divergence.step).toBe((d.epoch - 1) * 10 + d.step);
    // Every epoch handed on (saved) was finished before the divergence.
    expect(saved.every((e) => e < d.epoch)).toBe(true);
    // The step named is the first: the steps before it had finite losses and gradients.
    // What went first, by name (which one depends on the run: a gradient, a running statistic).
    const first = d.divergence.state?.[0] ?? d.divergence.parameters[0];
    expect(first).toBeDefined();
    expect(d.message).toContain(first);
    const again = await build(ctx, { lr: 1000, momentum: 0.9 });
    const losses: number[] = [];
    for (let epoch = 1; epoch <= d.epoch; epoch++) {
      const result = await again.trainEpoch(epoch, { maxSteps: epoch === d.epoch ? d.step - 1 : undefined }).catch((e: unknown) => e);
      expect(result instanceof Error ? `${d.message}\nagain: ${result.message}` : '').toBe('');
      losses.push((result as { trainLoss: number }).trainLoss);
    }
    expect(losses.every(Number.isFinite)).toBe(true);
  }, 120_000);

  gpuTest('a running statistic that overflows is caught at its step, named', async (ctx) => {
    // The tester's case, --lr 10 --momentum 1: a BatchNorm's running variance overflows. Its step's
    // loss and gradients may be non-finite too: the ReLUs keep a NaN, as PyTorch's do (before, on
    // lavapipe, max(NaN, 0) = 0 hid it from the loss and the gradients).
    const trainer = await build(ctx, { lr: 10, momentum: 1 });
    const error = await trainer.fit({ firstEpoch: 1, epochs: 3 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DivergenceError);
    const d = error as DivergenceError;
    expect(d.message).toMatch(/^training diverged at epoch \d, step \d+ \(step \d+ of the run\): (the loss and )?convblock\d\.2\.running_(var|mean)\b.*became non-finite/);
    expect(d.divergence.state?.length).toBeGreaterThan(0);
    // One step earlier, everything was finite.
    const again = await build(ctx, { lr: 10, momentum: 1 });
    const result = await again.fit({ firstEpoch: 1, epochs: d.epoch, maxSteps: d.divergence.step - 1 }).catch((e: unknown) => e);
    expect(result instanceof Error ? result.message : '').toBe('');
  }, 120_000);

  gpuTest('a run that begins inside an epoch (a cut checkpoint) can roll back to where it began', async (ctx) => {
    // Where --lr 10 --momentum 1 diverges, then a run that begins at that step, inside its epoch.
    const d = (await (await build(ctx, { lr: 10, momentum: 1 })).fit({ firstEpoch: 1, epochs: 3 }).catch((e: unknown) => e)) as DivergenceError;
    expect(d).toBeInstanceOf(DivergenceError);
    const begin = d.step - 1; // the steps of d.epoch taken before this run
    expect(begin, 'the divergence is not its epoch\'s first step').toBeGreaterThan(0);
    const trainer = await build(ctx, { lr: 10, momentum: 1 });
    await trainer.fit({ firstEpoch: 1, epochs: d.epoch, maxSteps: d.divergence.step - 1 });
    const metrics = await trainer.runningMetrics();
    const lines: string[] = [];
    // Its first snapshot is at that step, not an epoch's start: it was no rollback target, and the
    // run threw at once. (At momentum 1 the state there may be past saving: the rollbacks may run
    // out, as they would from an epoch's start; what matters is that they are tried.)
    await fitWithRecovery(trainer, { firstEpoch: d.epoch, firstEpochFromStep: begin, firstEpochMetrics: metrics, epochs: 1 }, {
      createContext: async () => ctx, build, onDivergence: 'rollback', log: (line) => lines.push(line),
    }).catch((e: unknown) => expect(e).toBeInstanceOf(DivergenceError));
    expect(lines[0]).toMatch(new RegExp(`Rolling back to epoch ${d.epoch}, step ${begin} \\(the last good snapshot\\) with the learning rate halved`));
  }, 180_000);

  gpuTest('its options are checked: a misspelt policy or key is refused before training', async (ctx) => {
    const trainer = await build(ctx);
    await expect(fitWithRecovery(trainer, { firstEpoch: 1, epochs: 1 }, { createContext: async () => ctx, build, onDivergence: 'rollbak' as never })).rejects.toThrow("fitWithRecovery: onDivergence must be 'stop' or 'rollback', got \"rollbak\"");
    await expect(fitWithRecovery(trainer, { firstEpoch: 1, epochs: 1 }, { createContext: async () => ctx, build, onDivergance: 'rollback' } as never)).rejects.toThrow("fitWithRecovery options: unknown option 'onDivergance'");
    expect(trainer.model.stepsTaken).toBe(0);
  });

  gpuTest("a snapshot carries where the optimizer's steps count from (a state_dict's fresh optimizer): a rebuilt trainer takes it", async (ctx) => {
    const trainer = await build(ctx);
    // As after loading a model-only file at step 100: the optimizer's steps count from there.
    trainer.model.stepsTaken = 100;
    trainer.model.optimizerOrigin = 100;
    await trainer.trainEpoch(1, { maxSteps: 2 });
    expect([trainer.model.stepsTaken, trainer.model.optimizerSteps]).toEqual([102, 2]);
    const snapshot = await trainer.snapshot(1, 2);
    const rebuilt = await build(ctx);
    rebuilt.restore(snapshot);
    expect([rebuilt.model.stepsTaken, rebuilt.model.optimizerOrigin, rebuilt.model.optimizerSteps]).toEqual([102, 100, 2]);
  });

  gpuTest('rollback: the last good snapshot is restored with the learning rate halved, and the run finishes', async (ctx) => {
    const trainer = await build(ctx, { lr: 1000, momentum: 0.9 });
    const lines: string[] = [];
    const result = await fitWithRecovery(trainer, { firstEpoch: 1, epochs: 2 }, { createContext: async () => ctx, build, onDivergence: 'rollback', maxRecoveries: 20, snapshotEvery: 2, log: (l) => lines.push(l) });
    expect(result.rollbacks).toBeGreaterThan(0);
    expect(lines[0]).toMatch(/^training diverged at epoch \d, step \d+ .*Rolling back to epoch \d, step 0 .*halved \(×0\.5/);
    expect(result.trainer.model.lrFactor).toBe(0.5 ** result.rollbacks);
    expect(result.history.map((h) => h.epoch)).toEqual([1, 2]);
    expect(result.history.every((h) => Number.isFinite(h.train.trainLoss) && Number.isFinite(h.test!.loss))).toBe(true);
    expect(await result.trainer.model.divergence()).toBeUndefined();
  }, 120_000);

  gpuTest('rollbacks that do not get past a divergence: the error says so, not "roll back"', async (ctx) => {
    const trainer = await build(ctx, { lr: 1e6, momentum: 0.9 });
    const error = await fitWithRecovery(trainer, { firstEpoch: 1, epochs: 2 }, { createContext: async () => ctx, build, onDivergence: 'rollback', maxRecoveries: 1, log: () => {} }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DivergenceError);
    const d = error as DivergenceError;
    expect(d.rollbacks).toBe(1);
    expect(d.message).toMatch(/^training diverged .*\. 1 rollback, each halving the learning rate, did not get past it: try a smaller learning rate or momentum$/);
  }, 120_000);
});
