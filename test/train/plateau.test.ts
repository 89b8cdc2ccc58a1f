/**
 * ReduceLROnPlateau in training: `Trainer.fit` steps it after each evaluation with its metric and
 * the next epoch trains at the new rate (the same weights, bit for bit, as MultiStepLR with
 * milestones at those epochs), its state goes into snapshots (a rollback restores it) and
 * checkpoints (a loaded network goes on from it), and what it refuses.
 */
import { describe, expect, it } from 'vitest';
import { Flatten, Linear, ReLU, Sequential } from '../../src/layers/index.js';
import { Network } from '../../src/plan/network.js';
import { SGD } from '../../src/optim/optimizers.js';
import { checkSchedule, initialPlateau, type Schedule } from '../../src/optim/schedules.js';
import { checkpointInfo, encodeCheckpoint, loadCheckpoint, optimizerFromMetadata } from '../../src/checkpoint/checkpoint.js';
import { decodeSafetensors, encodeSafetensors } from '../../src/checkpoint/safetensors.js';
import { uploadSplit, type TensorSplit } from '../../src/train/gpu-dataset.js';
import { Trainer } from '../../src/train/trainer.js';
import { randomArray } from '../helpers/allclose.js';
import { gpuTest } from '../helpers/gpu.js';
import type { GpuContext } from '../../src/gpu/context.js';

const split = (count: number, seed: number): TensorSplit => ({ inputs: Float32Array.from(randomArray(count * 12, seed, -2, 2)), labels: Uint8Array.from(randomArray(count, seed + 1, 0, 3), Math.floor), count, shape: [12] });
const model = () => new Sequential(new Flatten(), new Linear({ outFeatures: 16 }), new ReLU(), new Linear({ outFeatures: 3 }));

function setup(ctx: GpuContext, schedule: Schedule) {
  const net = new Network(ctx, model(), { inputShape: [12], maxBatch: 8, seed: 4, optimizer: new SGD({ lr: 0.2, momentum: 0.9 }, schedule) });
  const trainer = new Trainer(ctx, net, uploadSplit(ctx, 'train', split(40, 3)), uploadSplit(ctx, 'test', split(16, 5)), { batch: 8, seed: 4 });
  return { net, trainer };
}

describe('ReduceLROnPlateau in training', () => {
  gpuTest('fit steps it after each epoch; the rate it sets trains the next epoch (as MultiStepLR at those epochs would)', async (ctx) => {
    // An absolute threshold no loss can beat after the first (which beats +∞): with patience 0
    // the rate halves after every epoch but the first.
    const plateau = setup(ctx, { kind: 'plateau', patience: 0, factor: 0.5, thresholdMode: 'abs', threshold: 1e9 });
    const { history } = await plateau.trainer.fit({ firstEpoch: 1, epochs: 4 });
    expect(history.map((h) => h.plateau)).toEqual([{ lr: 0.2, reduced: false }, { lr: 0.1, reduced: true }, { lr: 0.05, reduced: true }, { lr: 0.025, reduced: true }]);
    expect(plateau.net.plateau).toMatchObject({ lr: 0.025, numBadEpochs: 0, lastEpoch: 4 });
    const steps = setup(ctx, { kind: 'multistep', milestones: [2, 3, 4], gamma: 0.5 });
    await steps.trainer.fit({ firstEpoch: 1, epochs: 4 });
    for (const [k, p] of plateau.net.parameters.entries()) {
      expect(Array.from(await ctx.read(p.value)), p.name).toEqual(Array.from(await ctx.read(steps.net.parameters[k]!.value)));
    }
    // A network with another schedule has none to step.
    expect(() => steps.net.stepPlateau(1)).toThrow("stepPlateau: the optimizer's schedule is multistep, not ReduceLROnPlateau ({ kind: 'plateau' })");
  });

  gpuTest('its state goes into a checkpoint and a loaded network goes on from it; a snapshot restores it', async (ctx) => {
    const schedule: Schedule = { kind: 'plateau', patience: 2, factor: 0.3, cooldown: 1, metric: 'train-loss' };
    const a = setup(ctx, schedule);
    a.net.stepPlateau(1);
    a.net.stepPlateau(1.5);
    const snapshot = await a.trainer.snapshot(3, 0);
    const bytes = await encodeCheckpoint(a.net);
    const { metadata } = decodeSafetensors(bytes, 'x');
    expect(metadata).toMatchObject({ schedule: 'plateau', plateau_factor: '0.3', plateau_patience: '2', plateau_cooldown: '1', plateau_metric: 'train-loss', plateau_mode: 'min', plateau_lr: '0.2', plateau_best: '1', plateau_bad_epochs: '1', plateau_last_epoch: '2' });
    expect(checkpointInfo(decodeSafetensors(bytes, 'x'), 'x').plateau).toEqual(a.net.plateau);
    const b = setup(ctx, optimizerFromMetadata(metadata, 'x')!.schedule);
    expect(b.net.optimizer.schedule).toEqual({ kind: 'plateau', mode: 'min', factor: 0.3, patience: 2, threshold: 1e-4, thresholdMode: 'rel', cooldown: 1, minLr: 0, eps: 1e-8, metric: 'train-loss' });
    expect(loadCheckpoint(b.net, bytes, 'run.safetensors').differences).toEqual([]);
    expect(b.net.plateau).toEqual(a.net.plateau);
    // Two more bad epochs: the reduction both would make.
    for (const net of [a.net, b.net]) [net.stepPlateau(2), net.stepPlateau(2)];
    expect(b.net.plateau).toEqual(a.net.plateau);
    expect(a.net.plateau!.lr).toBeCloseTo(0.06, 12);
    a.trainer.restore(snapshot);
    expect(a.net.plateau).toMatchObject({ lr: 0.2, best: 1, numBadEpochs: 1, lastEpoch: 2 });
    // A record that could not have been written is refused before anything is loaded, naming the field.
    const bad = encodeSafetensors(decodeSafetensors(bytes, 'x').tensors, { ...metadata, plateau_bad_epochs: '-1' });
    const before = Array.from(await ctx.read(b.net.parameters[0]!.value));
    expect(() => loadCheckpoint(b.net, bad, 'bad.safetensors')).toThrow(/bad\.safetensors.*plateau_bad_epochs is "-1", expected a whole number ≥ 0/);
    expect(Array.from(await ctx.read(b.net.parameters[0]!.value))).toEqual(before);
    const partial = encodeSafetensors(decodeSafetensors(bytes, 'x').tensors, Object.fromEntries(Object.entries(metadata).filter(([k]) => k !== 'plateau_best')));
    expect(() => loadCheckpoint(b.net, partial, 'partial.safetensors')).toThrow(/but not plateau_best/);
  });

  gpuTest('an epoch cut short is not stepped (a continued run steps it once it is whole); another rate or metric asked of a loaded network', async (ctx) => {
    const cut = setup(ctx, { kind: 'plateau', patience: 0, factor: 0.5, thresholdMode: 'abs', threshold: 1e9 });
    const { history } = await cut.trainer.fit({ firstEpoch: 1, epochs: 2, maxSteps: 7 }); // 5 steps an epoch
    expect(history.map((h) => h.plateau)).toEqual([{ lr: 0.2, reduced: false }, undefined]);
    expect(cut.net.plateau!.lastEpoch).toBe(1);
    // Loaded into a network asked for another learning rate: that rate from here, the counters kept.
    cut.net.stepPlateau(5);
    const bytes = await encodeCheckpoint(cut.net);
    const faster = new Network(ctx, model(), { inputShape: [12], maxBatch: 8, seed: 4, optimizer: new SGD({ lr: 0.3, momentum: 0.9 }, cut.net.optimizer.schedule) });
    loadCheckpoint(faster, bytes, 'cut.safetensors');
    expect(faster.plateau).toEqual({ ...cut.net.plateau!, lr: 0.3 });
    // Another metric: the best and the counters start again (they were the other quantity's).
    const other = new Network(ctx, model(), { inputShape: [12], maxBatch: 8, seed: 4, optimizer: new SGD({ lr: 0.2, momentum: 0.9 }, { kind: 'plateau', patience: 0, factor: 0.5, metric: 'test-accuracy' }) });
    loadCheckpoint(other, bytes, 'cut.safetensors');
    expect(other.plateau).toEqual({ lr: cut.net.plateau!.lr, best: -Infinity, numBadEpochs: 0, cooldownCounter: 0, lastEpoch: 2 });
  });

  gpuTest('an accuracy metric is refused for a regression (it is NaN there)', async (ctx) => {
    const inputs = Float32Array.from(randomArray(16 * 4, 9));
    const data = { inputs, targets: Float32Array.from(randomArray(16 * 2, 10)), count: 16, shape: [4] };
    const net = new Network(ctx, new Sequential(new Linear({ outFeatures: 2 })), { inputShape: [4], maxBatch: 8, loss: 'mse', optimizer: new SGD({ lr: 0.1 }, { kind: 'plateau', metric: 'test-accuracy' }) });
    const trainer = new Trainer(ctx, net, uploadSplit(ctx, 'train', data), uploadSplit(ctx, 'test', data), { batch: 8, seed: 1 });
    await expect(trainer.fit({ firstEpoch: 1, epochs: 1 })).rejects.toThrow("fit: ReduceLROnPlateau's metric test-accuracy is NaN for a regression (no classes): choose test-loss or train-loss");
  });
});

describe('ReduceLROnPlateau settings', () => {
  it("are checked as PyTorch's constructor checks them, each error naming the field", () => {
    expect(() => checkSchedule({ kind: 'plateau', factor: 1 })).toThrow('ReduceLROnPlateau: factor must be a number in [0, 1), got 1');
    expect(() => checkSchedule({ kind: 'plateau', patience: 1.5 })).toThrow('ReduceLROnPlateau: patience must be a whole number ≥ 0, got 1.5');
    expect(() => checkSchedule({ kind: 'plateau', mode: 'least' as never })).toThrow(/ReduceLROnPlateau: mode must be 'min' or 'max', got "least"/);
    expect(() => checkSchedule({ kind: 'plateau', thresholdMode: 'relative' as never })).toThrow(/threshold_mode must be 'rel' or 'abs'/);
    expect(() => checkSchedule({ kind: 'plateau', metric: 'val_loss' as never })).toThrow(/metric must be 'test-loss' or 'test-accuracy' or 'train-loss' or 'train-accuracy', got "val_loss"/);
    expect(() => checkSchedule({ kind: 'plateau', min_lr: 0 } as never)).toThrow("schedule plateau: unknown option 'min_lr'");
    expect(initialPlateau({ kind: 'plateau', metric: 'train-accuracy' }, 0.1).best).toBe(-Infinity);
    expect(initialPlateau({ kind: 'plateau' }, 0.1).best).toBe(Infinity);
  });
});
