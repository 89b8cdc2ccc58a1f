/**
 * LambdaLR, MultiplicativeLR, SequentialLR and ChainedScheduler in checkpoints and runs: their
 * settings round-trip through the metadata; a run cut after three epochs and continued from its
 * checkpoint (its functions given again) ends with the weights of an uninterrupted one, to the bit,
 * each step's rate of each param group as the schedule gives it; the refusals (a function missing,
 * another schedule given, a factor that is not finite ≥ 0, a list of the wrong length, the CLI).
 */
import { describe, expect, test } from 'vitest';
import { encodeCheckpoint, loadCheckpoint, optimizerFromMetadata, optimizerMetadata } from '../../src/checkpoint/checkpoint.js';
import { decodeSafetensors } from '../../src/checkpoint/safetensors.js';
import type { GpuContext } from '../../src/gpu/context.js';
import { Flatten, Linear, LogSoftmax, Sequential } from '../../src/layers/index.js';
import { loadMnist } from '../../src/node/mnist-files.js';
import { SGD, type Optimizer } from '../../src/optim/optimizers.js';
import { checkSchedule, scheduledValues, type Schedule } from '../../src/optim/schedules.js';
import { Network } from '../../src/plan/network.js';
import { uploadSplit } from '../../src/train/gpu-dataset.js';
import { Trainer } from '../../src/train/trainer.js';
import { gpuTest } from '../helpers/gpu.js';
import { parseMnistArgs } from '../../src/cli/mnist.js';

const data = loadMnist();
const GROUPS = [{ params: ['1.bias'], lr: 0.5 }];

/** Schedules with state: a MultiplicativeLR after a milestone, one function a group, a chain with a restart. */
const schedules = (): Record<string, Schedule> => ({
  sequential: { kind: 'sequential', schedulers: [{ kind: 'linear', startFactor: 0.25, totalIters: 2 }, { kind: 'multiplicative', lrLambda: [(e) => 0.8 + 0.01 * e, () => 0.7] }, { kind: 'exponential', gamma: 0.9 }], milestones: [2, 4] },
  chained: { kind: 'chained', schedulers: [{ kind: 'cosine-restarts', t0: 2 }, { kind: 'multiplicative', lrLambda: (e) => 1 / (1 + 0.1 * e) }] },
  lambda: { kind: 'lambda', lrLambda: [(e) => 0.9 ** e, (e) => 1 / (e + 1)] },
});

async function run(ctx: GpuContext, optimizer: Optimizer) {
  const { train, test } = await data;
  const model = new Network(ctx, new Sequential(new Flatten(), new Linear({ outFeatures: 10 }), new LogSoftmax()), { inputShape: [1, 28, 28], maxBatch: 8, seed: 3, optimizer });
  return new Trainer(ctx, model, uploadSplit(ctx, 'train', train, 16), uploadSplit(ctx, 'test', test, 8), { batch: 8, seed: 1 });
}

describe('stepped schedules in runs and checkpoints', () => {
  for (const name of ['sequential', 'chained', 'lambda'] as const) {
    gpuTest(`${name}: a run cut after epoch 3 and continued from its checkpoint ends as the uninterrupted one, to the bit; each group's rate the schedule's`, async (ctx) => {
      const optimizer = () => new SGD({ lr: 0.1, momentum: 0.9, paramGroups: GROUPS }, schedules()[name]);
      const straight = await run(ctx, optimizer());
      const seen: number[][] = [];
      for (let epoch = 1; epoch <= 6; epoch++) {
        await straight.trainEpoch(epoch);
        seen.push([...straight.model.stepLearningRates]);
      }
      // [weight (no group: group 1), bias (group 0)] against the schedule's rates of each group.
      const schedule = schedules()[name]!;
      seen.forEach((rates, e) => {
        expect(rates[1], `epoch ${e + 1}, group 0`).toBe(scheduledValues(schedule, 0.5, 0, { epoch: e, step: 0, group: 0 }).lr);
        expect(rates[0], `epoch ${e + 1}, group 1`).toBe(scheduledValues(schedule, 0.1, 0, { epoch: e, step: 0, group: 1 }).lr);
      });
      expect(new Set(seen.map((r) => r[1])).size).toBeGreaterThan(3);

      const cut = await run(ctx, optimizer());
      for (let epoch = 1; epoch <= 3; epoch++) await cut.trainEpoch(epoch);
      const bytes = await encodeCheckpoint(cut.model, { epoch: '3' });
      const metadata = decodeSafetensors(bytes, 'cut').metadata;
      expect(metadata.schedule).toBe(name);
      expect(JSON.parse(metadata.scheduler_last_lr!)).toEqual([0.5, 0.1].map((lr, group) => scheduledValues(schedule, lr, 0, { epoch: 3, step: 0, group }).lr));
      // The functions are not in the file: continuing needs them again.
      expect(() => optimizerFromMetadata(metadata, 'cut.safetensors')).toThrow(/cut\.safetensors: __metadata__\.schedule(rs\[1\])? is (lambda|multiplicative) \((LambdaLR|MultiplicativeLR)\): a checkpoint does not hold its function/);
      const resumed = await run(ctx, optimizerFromMetadata(metadata, 'cut.safetensors', { schedule: schedules()[name]! })!);
      expect(loadCheckpoint(resumed.model, bytes, 'cut.safetensors').differences).toEqual([]);
      for (let epoch = 4; epoch <= 6; epoch++) {
        await resumed.trainEpoch(epoch);
        expect(resumed.model.stepLearningRates, `epoch ${epoch}`).toEqual(seen[epoch - 1]);
      }
      for (let i = 0; i < straight.model.parameters.length; i++) {
        const p = straight.model.parameters[i]!;
        expect(Array.from(await ctx.read(resumed.model.parameters[i]!.value)), p.name).toEqual(Array.from(await ctx.read(p.value)));
      }
    });
  }

  gpuTest("PyTorch's list, one function a group, where every parameter is in a group; refused, naming them, where some are in none", async (ctx) => {
    // torch 1.13: SGD([{'params': [w], 'lr': 0.1}, {'params': [b], 'lr': 0.5}]) with LambdaLR(opt, [0.9 ** e, 1 / (e + 1)]): [0.1, 0.5] → [0.09, 0.25] → [0.081, 0.1667].
    const lrLambda = [(e: number) => 0.9 ** e, (e: number) => 1 / (e + 1)];
    const everyone = [{ params: ['1.weight'], lr: 0.1 }, { params: ['1.bias'], lr: 0.5 }];
    const trainer = await run(ctx, new SGD({ lr: 0.3, paramGroups: everyone }, { kind: 'lambda', lrLambda }));
    const seen: number[][] = [];
    for (let epoch = 1; epoch <= 3; epoch++) {
      await trainer.trainEpoch(epoch);
      seen.push([...trainer.model.stepLearningRates]); // [weight, bias]
    }
    expect(seen.map((r) => r.map((v) => Number(v.toPrecision(4))))).toEqual([[0.1, 0.5], [0.09, 0.25], [0.081, 0.1667]]);
    // A list of one a group (PyTorch's) or one more (the parameters in none) is taken; any other length refused.
    expect(() => new SGD({ lr: 0.1, paramGroups: everyone }, { kind: 'multiplicative', lrLambda: [() => 0.9] })).toThrow(
      `SGD: the schedule's lrLambda lists 1 functions; expected 2 or 3, one a param group (PyTorch: "Expected 2 lr_lambdas, but got 1")`,
    );
    const partial = new SGD({ lr: 0.1, paramGroups: [{ params: ['1.bias'], lr: 0.5 }] }, { kind: 'sequential', schedulers: [{ kind: 'exponential', gamma: 0.9 }, { kind: 'lambda', lrLambda: [(e) => 0.5 ** e] }], milestones: [2] });
    await expect(run(ctx, partial)).rejects.toThrow("SGD: the schedule's schedulers[1].lrLambda lists 1 functions, one a paramGroups entry, but parameter '1.weight' is in none: give one more function for it, or put it in a group");
  });

  gpuTest("MultiplicativeLR continued with another function multiplies the saved rate (PyTorch's loaded optimizer state)", async (ctx) => {
    const first = await run(ctx, new SGD({ lr: 0.1 }, { kind: 'multiplicative', lrLambda: () => 0.5 }));
    for (let epoch = 1; epoch <= 2; epoch++) await first.trainEpoch(epoch);
    const bytes = await encodeCheckpoint(first.model, { epoch: '2' });
    const next = await run(ctx, new SGD({ lr: 0.1 }, { kind: 'multiplicative', lrLambda: () => 2 }));
    loadCheckpoint(next.model, bytes, 'half.safetensors');
    await next.trainEpoch(3);
    // 0.1 × 0.5 × 0.5 saved at epoch 2 (0-based), then × 2 at epoch 3: the new function from the saved rate.
    expect(next.model.stepLearningRates).toEqual([0.025, 0.025]);
    await next.trainEpoch(4);
    expect(next.model.stepLearningRates).toEqual([0.05, 0.05]);
    // A snapshot carries where the schedule goes on from: a network rebuilt after a device loss
    // (a fresh one, no checkpoint loaded into it) restored from it steps the same rates.
    const snapshot = await next.snapshot(4, 0);
    const rebuilt = await run(ctx, new SGD({ lr: 0.1 }, { kind: 'multiplicative', lrLambda: () => 2 }));
    rebuilt.restore(snapshot);
    await rebuilt.trainEpoch(5);
    await next.trainEpoch(5);
    expect(rebuilt.model.stepLearningRates).toEqual([0.1, 0.1]);
    expect(rebuilt.model.stepLearningRates).toEqual(next.model.stepLearningRates);
  });
});

describe('stepped schedules in the metadata and their refusals', () => {
  test('a composition of data round-trips through optimizerMetadata and optimizerFromMetadata', () => {
    const schedule: Schedule = { kind: 'sequential', schedulers: [{ kind: 'linear', startFactor: 0.5, totalIters: 3 }, { kind: 'cosine-restarts', t0: 4, tMult: 2, etaMin: 0.001 }], milestones: [3] };
    const metadata = optimizerMetadata(new SGD({ lr: 0.1 }, schedule));
    expect(metadata).toMatchObject({ schedule: 'sequential', milestones: '3', schedulers: '[{"schedule":"linear","start_factor":"0.5","end_factor":"1","total_iters":"3"},{"schedule":"cosine-restarts","t_0":"4","t_mult":"2","eta_min":"0.001"}]' });
    const again = optimizerFromMetadata(metadata, 'x')!;
    expect(optimizerMetadata(again)).toEqual(metadata);
    const chained: Schedule = { kind: 'chained', schedulers: [{ kind: 'step', stepSize: 2, gamma: 0.5 }, { kind: 'exponential', gamma: 0.9 }] };
    expect(optimizerMetadata(optimizerFromMetadata(optimizerMetadata(new SGD({ lr: 0.1 }, chained)), 'x')!)).toEqual(optimizerMetadata(new SGD({ lr: 0.1 }, chained)));
    // A scheduler's bad field names its place; another schedule given is refused, naming the field.
    expect(() => optimizerFromMetadata({ ...metadata, schedulers: '[{"schedule":"linear","total_iters":"0"}]' }, 'bad.safetensors')).toThrow('bad.safetensors: __metadata__.schedulers[0]: __metadata__.total_iters is "0", expected a whole number from 1 to 9007199254740991');
    expect(() => optimizerFromMetadata({ ...metadata, schedulers: 'cosine' }, 'bad.safetensors')).toThrow('bad.safetensors: __metadata__.schedulers is "cosine", expected a JSON list');
    expect(() => optimizerFromMetadata({ optimizer: 'sgd', schedule: 'chained' }, 'bad.safetensors')).toThrow('bad.safetensors: __metadata__.schedulers is missing (the chained schedule needs it)');
    expect(() => optimizerFromMetadata(optimizerMetadata(new SGD({ lr: 0.1 }, { kind: 'lambda', lrLambda: () => 1 })), 'l.safetensors', { schedule: { kind: 'multiplicative', lrLambda: () => 1 } }))
      .toThrow('l.safetensors: __metadata__.schedule is "lambda", and the schedule given has "multiplicative": give the schedule the file was trained with');
    expect(() => optimizerFromMetadata(metadata, 's.safetensors', { schedule: { ...schedule, milestones: [4] } as Schedule })).toThrow('s.safetensors: __metadata__.milestones is "3", and the schedule given has "4"');
  });

  test('the CLI refuses them as --schedule, saying they are given from code', () => {
    expect(() => parseMnistArgs(['--schedule', 'lambda'])).toThrow("--schedule lambda: a function of the epoch is given from code, not flags (README, 'As a module')");
    expect(() => parseMnistArgs(['--schedule', 'sequential'])).toThrow("--schedule sequential: a composition of schedules is given from code, not flags");
  });

  test.each([
    [{ kind: 'lambda' }, 'LambdaLR: lrLambda must be a function of the epoch (epoch) => factor, or a list of one a param group, got undefined'],
    [{ kind: 'multiplicative', lrLambda: [() => 1, 0.5] }, 'MultiplicativeLR: lrLambda must be a function of the epoch (epoch) => factor, or a list of one a param group, got [function, number]'],
    [{ kind: 'lambda', lrLambda: () => 1, warmup: { epochs: 2 } }, "schedule lambda: takes no warm-up; a warm-up before it is a SequentialLR"],
    [{ kind: 'sequential', schedulers: [{ kind: 'step', stepSize: 2 }], milestones: [2] }, 'SequentialLR: milestones must be a list of 0 epochs (one fewer than the schedulers, as PyTorch requires), got [2]'],
    [{ kind: 'sequential', schedulers: [{ kind: 'step', stepSize: 2 }, { kind: 'constant' }, { kind: 'constant' }], milestones: [5, 3] }, 'SequentialLR: milestones must be whole numbers ≥ 0 (epochs), increasing, got [5,3]'],
    [{ kind: 'sequential', schedulers: [], milestones: [] }, 'SequentialLR: schedulers must be a list of one or more schedules, got []'],
    [{ kind: 'chained', schedulers: [{ kind: 'onecycle', maxLr: 0.1, totalSteps: 10 }] }, 'ChainedScheduler: schedulers[0] must be an epoch-based schedule (constant, step, multistep, exponential, cosine, linear, constant-lr, polynomial, cosine-restarts, lambda, multiplicative), got "onecycle" (OneCycleLR steps once a batch)'],
    [{ kind: 'chained', schedulers: [{ kind: 'chained', schedulers: [{ kind: 'constant' }] }] }, 'ChainedScheduler: schedulers[0] must be an epoch-based schedule'],
    [{ kind: 'chained', schedulers: [{ kind: 'cosine', tMax: 3, warmup: { epochs: 2 } }] }, 'ChainedScheduler: schedulers[0] has a warm-up; make the warm-up a scheduler of its own in a SequentialLR'],
    [{ kind: 'chained', schedulers: [{ kind: 'exponential', gamma: -1 }] }, 'ChainedScheduler: schedulers[0]: ExponentialLR: gamma must be a number ≥ 0, got -1'],
  ] as [unknown, string][])('%j refused', (schedule, message) => {
    expect(() => checkSchedule(schedule as Schedule)).toThrow(message);
  });

  test("a factor that is not finite ≥ 0 is refused naming the function and epoch; a list's length is one a param group", () => {
    const rate = (schedule: Schedule, epoch: number, group = 0) => scheduledValues(schedule, 0.1, 0, { epoch, step: 0, group }).lr;
    expect(() => rate({ kind: 'lambda', lrLambda: (e) => (e === 4 ? NaN : 1) }, 4)).toThrow('LambdaLR: lr_lambda(4) gave NaN at epoch 4: a factor must be a finite number ≥ 0');
    expect(() => rate({ kind: 'multiplicative', lrLambda: [() => 1, (e) => (e >= 3 ? -0.5 : 1)] }, 6, 1)).toThrow('MultiplicativeLR: lr_lambda[1](3) gave -0.5 at epoch 3: a factor must be a finite number ≥ 0');
    expect(() => rate({ kind: 'lambda', lrLambda: (() => 'x') as never }, 0)).toThrow('LambdaLR: lr_lambda(0) gave "x" at epoch 0');
    expect(() => rate({ kind: 'lambda', lrLambda: () => Infinity }, 0)).toThrow('LambdaLR: lr_lambda(0) gave Infinity');
    expect(() => new SGD({ lr: 0.1, paramGroups: GROUPS }, { kind: 'lambda', lrLambda: [() => 1, () => 1, () => 1] })).toThrow('SGD: the schedule\'s lrLambda lists 3 functions; expected 1 or 2, one a param group (PyTorch: "Expected 1 lr_lambdas, but got 3"): the 1 paramGroups in order, then, where some parameters are in none, one for them (or give one function for all)');
    expect(() => new SGD({ lr: 0.1 }, { kind: 'chained', schedulers: [{ kind: 'multiplicative', lrLambda: [() => 1, () => 1] }] })).toThrow("SGD: the schedule's schedulers[0].lrLambda lists 2 functions; expected 1");
    // Each function is called once an epoch and group, as PyTorch's.
    const calls: number[] = [];
    const once: Schedule = { kind: 'multiplicative', lrLambda: (e) => (calls.push(e), 0.5) };
    for (let step = 0; step < 5; step++) for (let epoch = 0; epoch < 4; epoch++) rate(once, epoch);
    expect(calls).toEqual([1, 2, 3]);
  });
});
