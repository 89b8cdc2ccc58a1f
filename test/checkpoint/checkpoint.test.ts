/**
 * Seed-CNN checkpoints: the names, dtypes, shapes and bytes PyTorch's `load_state_dict` needs for
 * the notebook's Net, and loading that refuses a bad file without touching the model.
 */
import { describe, expect, test } from 'vitest';
import { checkpointInfo, checkTensorValues, encodeCheckpoint, epochMetricsText, ignoreIndexFromMetadata, loadCheckpoint, lossWeightsFromMetadata, optimizerFromMetadata, optimizerMetadata, readEpochMetrics } from '../../src/checkpoint/checkpoint.js';
import { CheckpointFormatError, decodeSafetensors, encodeSafetensors, type SafetensorsTensor } from '../../src/checkpoint/safetensors.js';
import { SEED_CNN_INPUT, seedCnn } from '../../src/models/seed-cnn.js';
import { Adadelta, Adagrad, Adam, Adamax, AdamW, NAdam, RAdam, RMSprop, SGD, type Optimizer } from '../../src/optim/optimizers.js';
import { checkNetworkStep } from '../../src/plan/check.js';
import { describeSchedule, type Schedule } from '../../src/optim/schedules.js';
import { randomArray } from '../helpers/allclose.js';
import { BatchNorm1d, Conv2d, Flatten, Linear, LogSoftmax, MaxPool2d, ReLU, Sequential, type Layer } from '../../src/layers/index.js';
import { modelFileText, parseModelFile } from '../../src/models/model-file.js';
import { Network } from '../../src/plan/network.js';
import { seedCnnBufferShapes, seedCnnParameterShapes } from '../../src/reference/seed-cnn.js';
import { createSeedCnn, gpuTest } from '../helpers/gpu.js';
import { loadMnist } from '../../src/node/mnist-files.js';
import { uploadSplit } from '../../src/train/gpu-dataset.js';
import { Trainer } from '../../src/train/trainer.js';

const BN_MODULES = [1, 2, 4, 5, 6, 7].map((k) => `convblock${k}.2`);

/** A copy of an F32 tensor with element i set to value. */
function scaled(t: SafetensorsTensor, i: number, value: number): SafetensorsTensor {
  const data = Float32Array.from(t.data as Float32Array);
  data[i] = value;
  return { dtype: 'F32', shape: t.shape, data };
}

/** A metadata-and-counters-only file: num_batches_tracked per module as given. */
function counters(metadata: Record<string, string>, tracked: Record<string, SafetensorsTensor> = {}) {
  return { metadata, tensors: tracked };
}
const i64 = (value: bigint, shape: number[] = []): SafetensorsTensor => ({ dtype: 'I64', shape, data: BigInt64Array.of(value) });
const f32 = (n: number): SafetensorsTensor => ({ dtype: 'F32', shape: [n], data: new Float32Array(n) });

describe('checkpointInfo: the metadata and step counters, checked without a GPU', () => {
  test('good files: values, defaults, and steps from num_batches_tracked', () => {
    expect(checkpointInfo(counters({}), 'a')).toEqual({ epoch: 0, lrFactor: 1, steps: 0, optimizerSteps: 0 });
    expect(checkpointInfo(counters({ epoch: '3', steps: '1407', seed: '4294967295', batch: '1', model: 'seed-cnn', lr: '0.01' }), 'a')).toEqual({
      epoch: 3, lrFactor: 1, steps: 1407, optimizerSteps: 0, seed: 4294967295, batch: 1, model: 'seed-cnn',
    });
    expect(checkpointInfo(counters({ lr_factor: '0.125' }), 'a').lrFactor).toBe(0.125);
    expect(() => checkpointInfo(counters({ lr_factor: '0' }), 'a')).toThrow('a: __metadata__.lr_factor is "0", expected a number in (0, 1]');
    // Optimizer state: its steps are the file's optimizer_steps, else all of them.
    const state = { 'optimizer.w.momentum_buffer': f32(2) };
    expect(checkpointInfo(counters({ steps: '1407', optimizer_steps: '469' }, state), 'a').optimizerSteps).toBe(469);
    expect(checkpointInfo(counters({ steps: '1407' }, state), 'a').optimizerSteps).toBe(1407);
    const bn = { 'b.running_mean': f32(2), 'b.num_batches_tracked': i64(12n), 'c.running_mean': f32(2), 'c.num_batches_tracked': i64(12n, [1]) };
    expect(checkpointInfo(counters({ epoch: '0' }, bn), 'a')).toEqual({ epoch: 0, lrFactor: 1, steps: 12, optimizerSteps: 0 });
    expect(checkpointInfo(counters({ steps: '12' }, bn), 'a').steps).toBe(12);
  });

  const bad: [string, ReturnType<typeof counters>, string][] = [
    ['epoch abc', counters({ epoch: 'abc' }), '__metadata__.epoch is "abc", expected a whole number ≥ 0'],
    ['epoch -5', counters({ epoch: '-5' }), '__metadata__.epoch is "-5", expected a whole number ≥ 0'],
    ['epoch 1.5', counters({ epoch: '1.5' }), '__metadata__.epoch is "1.5", expected a whole number ≥ 0'],
    ['epoch empty', counters({ epoch: '' }), '__metadata__.epoch is "", expected a whole number ≥ 0'],
    ['epoch 1e3', counters({ epoch: '1e3' }), '__metadata__.epoch is "1e3", expected a whole number ≥ 0'],
    ['epoch beyond 2^53', counters({ epoch: '9007199254740993' }), '__metadata__.epoch is "9007199254740993", expected a whole number ≥ 0 (at most 9007199254740991)'],
    ['steps', counters({ steps: ' 7' }), '__metadata__.steps is " 7", expected a whole number ≥ 0'],
    ['optimizer_steps beyond the steps', counters({ steps: '7', optimizer_steps: '8' }), '__metadata__.optimizer_steps is "8", expected a whole number from 0 to 7'],
    ['seed 2^32', counters({ seed: '4294967296' }), '__metadata__.seed is "4294967296", expected a whole number from 0 to 4294967295'],
    ['seed -1', counters({ seed: '-1' }), '__metadata__.seed is "-1", expected a whole number from 0 to 4294967295'],
    ['batch 0', counters({ batch: '0' }), '__metadata__.batch is "0", expected a whole number ≥ 1'],
    ['tracked F32', counters({}, { 'b.num_batches_tracked': f32(1) }), "tensor 'b.num_batches_tracked': dtype is F32, expected I64 (PyTorch's num_batches_tracked)"],
    ['tracked shape', counters({}, { 'b.num_batches_tracked': { dtype: 'I64', shape: [2], data: BigInt64Array.of(1n, 1n) } }), "tensor 'b.num_batches_tracked': shape is [2], expected [] (one step count)"],
    ['tracked negative', counters({}, { 'b.num_batches_tracked': i64(-3n) }), "tensor 'b.num_batches_tracked' is -3, expected a step count from 0 to 9007199254740991"],
    ['tracked missing', counters({}, { 'b.running_mean': f32(2) }), "tensor 'b.num_batches_tracked' is missing (expected I64 [] beside 'b.running_mean': the BatchNorm's steps taken, which PyTorch always saves)"],
    ['tracked disagree', counters({}, { 'b.num_batches_tracked': i64(5n), 'c.num_batches_tracked': i64(6n) }), "tensor 'c.num_batches_tracked' is 6, but 'b.num_batches_tracked' is 5; expected every BatchNorm's num_batches_tracked to equal the steps taken"],
    ['steps disagree', counters({ steps: '4' }, { 'b.num_batches_tracked': i64(5n) }), `__metadata__.steps is "4", but tensor 'b.num_batches_tracked' is 5; expected them to agree (both count the steps taken)`],
  ];
  test.each(bad)('%s', (_, file, message) => {
    const run = () => checkpointInfo(file, 'run.safetensors');
    expect(run).toThrow(CheckpointFormatError);
    expect(run).toThrow(`run.safetensors: ${message}`);
  });
});

describe('optimizerFromMetadata: the optimizer a checkpoint was trained with, rebuilt', () => {
  const settings = (o: Optimizer) => ({ ...o, describe: undefined });
  test.each([
    ['SGD, Nesterov, weight decay, StepLR', new SGD({ lr: 0.05, momentum: 0.8, nesterov: true, weightDecay: 5e-4 }, { kind: 'step', stepSize: 6, gamma: 0.1 })],
    ['SGD with dampening, constant', new SGD({ lr: 0.02, momentum: 0.5, dampening: 0.25 })],
    ['SGD, MultiStepLR', new SGD({ lr: 0.1, momentum: 0.9 }, { kind: 'multistep', milestones: [10, 15, 18], gamma: 0.2 })],
    ['SGD, MultiStepLR of no milestones', new SGD({ lr: 0.1 }, { kind: 'multistep', milestones: [], gamma: 0.1 })],
    ['Adam, ExponentialLR', new Adam({ lr: 1e-3 }, { kind: 'exponential', gamma: 0.95 })],
    ['Adam, cosine', new Adam({ lr: 3e-3, betas: [0.8, 0.99], eps: 1e-7 }, { kind: 'cosine', tMax: 20, etaMin: 1e-5 })],
    ['AdamW, OneCycle', new AdamW({ lr: 2e-3, weightDecay: 0.05 }, { kind: 'onecycle', maxLr: 2e-3, totalSteps: 9380, pctStart: 0.25 })],
    ['Adagrad, lr_decay, an initial accumulator, StepLR', new Adagrad({ lr: 0.02, lrDecay: 0.01, weightDecay: 1e-4, initialAccumulatorValue: 0.1, eps: 1e-9 }, { kind: 'step', stepSize: 3, gamma: 0.1 })],
    ['SGD, OneCycle with every setting of its own', new SGD({ lr: 0.1, momentum: 0.9 }, { kind: 'onecycle', maxLr: 0.2, totalSteps: 500, pctStart: 0.2, divFactor: 10, finalDivFactor: 100, cycleMomentum: false, baseMomentum: 0.8, maxMomentum: 0.9 })],
    ['Adagrad, OneCycle without cycling a momentum', new Adagrad({ lr: 0.02 }, { kind: 'onecycle', maxLr: 0.02, totalSteps: 100, pctStart: 0.3, cycleMomentum: false })],
    ['NAdam, momentum_decay, betas, weight decay, OneCycle cycling β1', new NAdam({ lr: 3e-3, betas: [0.85, 0.99], eps: 1e-7, weightDecay: 1e-4, momentumDecay: 0.01 }, { kind: 'onecycle', maxLr: 3e-3, totalSteps: 200, pctStart: 0.3 })],
    ['NAdam, StepLR', new NAdam({ lr: 2e-3 }, { kind: 'step', stepSize: 2, gamma: 0.5 })],
    ['RAdam, eps, weight decay, cosine', new RAdam({ lr: 1e-3, eps: 1e-6, weightDecay: 0.01 }, { kind: 'cosine', tMax: 10, etaMin: 1e-5 })],
    ['Adamax, betas, eps, weight decay, OneCycle cycling β1', new Adamax({ lr: 3e-3, betas: [0.85, 0.99], eps: 1e-7, weightDecay: 1e-4 }, { kind: 'onecycle', maxLr: 3e-3, totalSteps: 200, pctStart: 0.3 })],
    ['Adamax, weight decay, StepLR', new Adamax({ lr: 2e-3, weightDecay: 0.01 }, { kind: 'step', stepSize: 2, gamma: 0.5 })],
    ['Adadelta, rho, eps, weight decay, cosine', new Adadelta({ lr: 0.5, rho: 0.8, eps: 1e-5, weightDecay: 0.01 }, { kind: 'cosine', tMax: 10, etaMin: 1e-5 })],
    ['Adadelta, OneCycle without cycling a momentum', new Adadelta({ lr: 1 }, { kind: 'onecycle', maxLr: 1, totalSteps: 100, pctStart: 0.3, cycleMomentum: false })],
    ['SGD, a warm-up before cosine', new SGD({ lr: 0.1, momentum: 0.9 }, { kind: 'cosine', tMax: 17, etaMin: 0, warmup: { epochs: 3, startFactor: 0.1 } })],
    ['Adam, a warm-up before a constant rate', new Adam({ lr: 1e-3 }, { kind: 'constant', warmup: { epochs: 2, startFactor: 1 / 3 } })],
    ['SGD, LinearLR', new SGD({ lr: 0.1, momentum: 0.9 }, { kind: 'linear', startFactor: 0.25, endFactor: 0.5, totalIters: 8 })],
    ['SGD, LinearLR with its defaults', new SGD({ lr: 0.1 }, { kind: 'linear', startFactor: 1 / 3, endFactor: 1, totalIters: 5 })],
    ['Adam, a warm-up before ConstantLR', new Adam({ lr: 1e-3 }, { kind: 'constant-lr', factor: 0.5, totalIters: 3, warmup: { epochs: 2, startFactor: 0.1 } })],
    ['RMSprop, PolynomialLR', new RMSprop({ lr: 1e-3, alpha: 0.9 }, { kind: 'polynomial', totalIters: 12, power: 2.5 })],
    ['AdamW, CosineAnnealingWarmRestarts', new AdamW({ lr: 2e-3 }, { kind: 'cosine-restarts', t0: 4, tMult: 2, etaMin: 1e-5 })],
    ['NAdam, a warm-up before CosineAnnealingWarmRestarts', new NAdam({ lr: 2e-3 }, { kind: 'cosine-restarts', t0: 10, tMult: 1, etaMin: 0, warmup: { epochs: 1, startFactor: 0.5 } })],
  ] as const)('%s: the same settings and schedule', (_, optimizer) => {
    const rebuilt = optimizerFromMetadata(optimizerMetadata(optimizer), 'run.safetensors');
    expect(rebuilt?.constructor).toBe(optimizer.constructor);
    expect(settings(rebuilt!)).toEqual(settings(optimizer));
  });

  test('Adagrad refuses OneCycleLR cycling a momentum it does not have (as PyTorch), and its own settings out of range', () => {
    expect(() => new Adagrad({}, { kind: 'onecycle', maxLr: 0.1, totalSteps: 10 })).toThrow('Adagrad: OneCycleLR cycles a momentum, and Adagrad has none');
    expect(() => new Adagrad({ lrDecay: -1 })).toThrow('Adagrad: lr_decay must be a finite number ≥ 0, got -1');
    expect(() => new Adagrad({ momentum: 0.9 } as never)).toThrow("Adagrad: unknown option 'momentum'");
    expect(new Adagrad().describe()).toBe('Adagrad lr 0.01, eps 1e-10');
  });

  test("NAdam's and RAdam's settings as PyTorch checks them (its names in the messages), their defaults and descriptions", () => {
    expect(new NAdam().describe()).toBe('NAdam lr 0.002, betas (0.9, 0.999), eps 1e-8, weight decay 0, momentum decay 0.004');
    expect(new RAdam().describe()).toBe('RAdam lr 0.001, betas (0.9, 0.999), eps 1e-8, weight decay 0');
    expect(() => new NAdam({ momentumDecay: -0.1 })).toThrow('NAdam: momentum_decay must be a finite number ≥ 0, got -0.1');
    expect(() => new NAdam({ betas: [0.9, 1] })).toThrow('NAdam: betas[1] must be in [0, 1), got 1');
    expect(() => new RAdam({ betas: [0.9] as never })).toThrow('RAdam: betas must be two numbers [β1, β2], got [0.9]');
    expect(() => new RAdam({ eps: -1 })).toThrow('RAdam: eps must be a finite number ≥ 0, got -1');
    expect(() => new RAdam({ amsgrad: true } as never)).toThrow("RAdam: unknown option 'amsgrad'");
    expect(() => new NAdam({ momentum_decay: 0.01 } as never)).toThrow("NAdam: unknown option 'momentum_decay'");
    // PyTorch's param_groups names in the metadata.
    expect(optimizerMetadata(new NAdam({ momentumDecay: 0.01 }))).toMatchObject({ optimizer: 'nadam', lr: '0.002', betas: '0.9,0.999', eps: '1e-8', weight_decay: '0', momentum_decay: '0.01' });
    expect(optimizerMetadata(new RAdam())).toEqual({ optimizer: 'radam', lr: '0.001', betas: '0.9,0.999', eps: '1e-8', weight_decay: '0', schedule: 'constant' });
  });

  test("Adamax's and Adadelta's settings as PyTorch checks them (its names in the messages), their defaults and descriptions", () => {
    expect(new Adamax().describe()).toBe('Adamax lr 0.002, betas (0.9, 0.999), eps 1e-8, weight decay 0');
    expect(new Adadelta().describe()).toBe('Adadelta lr 1, rho 0.9, eps 0.000001');
    expect(() => new Adamax({ betas: [1, 0.999] })).toThrow('Adamax: betas[0] must be in [0, 1), got 1');
    expect(() => new Adamax({ amsgrad: true } as never)).toThrow("Adamax: unknown option 'amsgrad'");
    expect(() => new Adadelta({ rho: 1.5 })).toThrow('Adadelta: rho must be in [0, 1], got 1.5');
    expect(() => new Adadelta({ eps: -1 })).toThrow('Adadelta: eps must be a finite number ≥ 0, got -1');
    expect(() => new Adadelta({ weight_decay: 0.1 } as never)).toThrow("Adadelta: unknown option 'weight_decay'");
    expect(() => new Adadelta({}, { kind: 'onecycle', maxLr: 1, totalSteps: 10 })).toThrow('Adadelta: OneCycleLR cycles a momentum, and Adadelta has none');
    // PyTorch's param_groups names in the metadata.
    expect(optimizerMetadata(new Adamax())).toEqual({ optimizer: 'adamax', lr: '0.002', betas: '0.9,0.999', eps: '1e-8', weight_decay: '0', schedule: 'constant' });
    expect(optimizerMetadata(new Adadelta({ rho: 0.95 }))).toEqual({ optimizer: 'adadelta', lr: '1', rho: '0.95', eps: '0.000001', weight_decay: '0', schedule: 'constant' });
  });

  test("a warm-up's fields: both or the epochs alone, before an epoch-based schedule only", () => {
    const meta = optimizerMetadata(new SGD({ lr: 0.1 }, { kind: 'step', stepSize: 2, warmup: { epochs: 3 } }));
    expect([meta.warmup_epochs, Number(meta.warmup_start_factor)]).toEqual(['3', 1 / 3]);
    const { warmup_start_factor: _, ...epochsOnly } = meta;
    expect(optimizerFromMetadata(epochsOnly, 'a.safetensors')!.schedule).toEqual({ kind: 'step', stepSize: 2, gamma: 0.1, warmup: { epochs: 3 } });
    const { warmup_epochs: __, ...factorOnly } = meta;
    expect(() => optimizerFromMetadata(factorOnly, 'b.safetensors')).toThrow('b.safetensors: __metadata__ holds warmup_start_factor but not warmup_epochs (a warm-up is both)');
    expect(() => optimizerFromMetadata({ ...meta, schedule: 'onecycle', max_lr: '0.1', total_steps: '10' }, 'c.safetensors')).toThrow('c.safetensors: __metadata__.warmup_epochs is given with schedule onecycle: a warm-up goes before an epoch-based schedule only');
    expect(() => optimizerFromMetadata({ ...meta, warmup_epochs: '0' }, 'd.safetensors')).toThrow(/d\.safetensors: __metadata__\.warmup_epochs is "0", expected a whole number from 1/);
  });

  test("LinearLR's, ConstantLR's, PolynomialLR's and CosineAnnealingWarmRestarts' fields: PyTorch's names, the defaults written; read back, a field left out is PyTorch's default", () => {
    expect(optimizerMetadata(new SGD({ lr: 0.1 }, { kind: 'linear' }))).toMatchObject({ schedule: 'linear', start_factor: String(1 / 3), end_factor: '1', total_iters: '5' });
    expect(optimizerMetadata(new SGD({ lr: 0.1 }, { kind: 'constant-lr', totalIters: 2 }))).toMatchObject({ schedule: 'constant-lr', factor: String(1 / 3), total_iters: '2' });
    expect(optimizerMetadata(new SGD({ lr: 0.1 }, { kind: 'polynomial', power: 0.5 }))).toMatchObject({ schedule: 'polynomial', total_iters: '5', power: '0.5' });
    expect(optimizerMetadata(new SGD({ lr: 0.1 }, { kind: 'cosine-restarts', t0: 3, warmup: { epochs: 2 } }))).toMatchObject({ schedule: 'cosine-restarts', t_0: '3', t_mult: '1', eta_min: '0', warmup_epochs: '2' });
    const described = (metadata: Record<string, string>) => describeSchedule(optimizerFromMetadata({ optimizer: 'sgd', ...metadata }, 'a.safetensors')!.schedule);
    expect(described({ schedule: 'linear' })).toBe('LinearLR(start_factor=1/3, end_factor=1, total_iters=5 epochs)');
    expect(described({ schedule: 'linear', end_factor: '0' })).toBe('LinearLR(start_factor=1/3, end_factor=0, total_iters=5 epochs)');
    expect(described({ schedule: 'constant-lr', total_iters: '7' })).toBe('ConstantLR(factor=1/3, total_iters=7 epochs)');
    expect(described({ schedule: 'polynomial' })).toBe('PolynomialLR(total_iters=5 epochs, power=1)');
    expect(described({ schedule: 'cosine-restarts', t_0: '6', warmup_epochs: '2' })).toBe('LinearLR(start_factor=1/3, total_iters=2 epochs), then from epoch 3 CosineAnnealingWarmRestarts(T_0=6 epochs, T_mult=1, eta_min=0) (SequentialLR)');
  });

  test('undefined for a file that names no optimizer (a PyTorch state_dict)', () => {
    expect(optimizerFromMetadata({ epoch: '3' }, 'torch.safetensors')).toBeUndefined();
  });

  test.each([
    [{ optimizer: 'lion' }, "run.safetensors: __metadata__.optimizer is \"lion\", expected sgd, adam, adamw, rmsprop, adagrad, nadam, radam, adamax, adadelta"],
    [{ optimizer: 'nadam', momentum_decay: '-0.5' }, 'run.safetensors: __metadata__.momentum_decay is "-0.5", expected a number ≥ 0'],
    [{ optimizer: 'radam', betas: '0.9,1' }, 'run.safetensors: __metadata__.betas is "0.9,1", expected two numbers in [0, 1) such as 0.9,0.999'],
    [{ optimizer: 'adamax', betas: '0.9' }, 'run.safetensors: __metadata__.betas is "0.9", expected two numbers in [0, 1) such as 0.9,0.999'],
    [{ optimizer: 'adadelta', rho: '1.5' }, 'run.safetensors: __metadata__.rho is "1.5", expected a number from 0 to 1'],
    [{ optimizer: 'adadelta', schedule: 'onecycle', max_lr: '1', total_steps: '10', cycle_momentum: 'true' }, 'run.safetensors: its optimizer settings: Adadelta: OneCycleLR cycles a momentum'],
    [{ optimizer: 'sgd', momentum: '1.5' }, 'run.safetensors: __metadata__.momentum is "1.5", expected a number from 0 to 1'],
    [{ optimizer: 'adam', betas: '0.9' }, 'run.safetensors: __metadata__.betas is "0.9", expected two numbers in [0, 1) such as 0.9,0.999'],
    [{ optimizer: 'adam', schedule: 'step' }, 'run.safetensors: __metadata__.step_size is missing (the step schedule needs it)'],
    [{ optimizer: 'sgd', schedule: 'step', step_size: '2.5' }, 'run.safetensors: __metadata__.step_size is "2.5", expected a whole number from 1 to'],
    [{ optimizer: 'sgd', schedule: 'multistep' }, 'run.safetensors: __metadata__.milestones is missing (the multistep schedule needs it)'],
    [{ optimizer: 'sgd', schedule: 'multistep', milestones: '5,x' }, "run.safetensors: __metadata__.milestones is \"5,x\", expected whole numbers ≥ 0, comma-separated (MultiStepLR's epochs)"],
    [{ optimizer: 'adam', schedule: 'exponential' }, 'run.safetensors: __metadata__.gamma is missing (the exponential schedule needs it)'],
    [{ optimizer: 'sgd', nesterov: 'true', momentum: '0' }, 'run.safetensors: its optimizer settings: SGD: Nesterov momentum requires a momentum and zero dampening'],
    [{ optimizer: 'sgd', schedule: 'cosine_restarts' }, 'run.safetensors: __metadata__.schedule is "cosine_restarts", expected constant, step, multistep, exponential, cosine, linear, constant-lr, polynomial, cosine-restarts, onecycle, plateau'],
    [{ optimizer: 'sgd', schedule: 'linear', start_factor: '0' }, 'run.safetensors: __metadata__.start_factor is "0", expected a number in (0, 1]'],
    [{ optimizer: 'sgd', schedule: 'linear', end_factor: '1.5' }, 'run.safetensors: __metadata__.end_factor is "1.5", expected a number from 0 to 1'],
    [{ optimizer: 'sgd', schedule: 'linear', total_iters: '0' }, 'run.safetensors: __metadata__.total_iters is "0", expected a whole number from 1 to'],
    [{ optimizer: 'sgd', schedule: 'constant-lr', factor: '0' }, 'run.safetensors: __metadata__.factor is "0", expected a number in (0, 1]'],
    [{ optimizer: 'sgd', schedule: 'constant-lr', total_iters: '2.5' }, 'run.safetensors: __metadata__.total_iters is "2.5", expected a whole number from 1 to'],
    [{ optimizer: 'sgd', schedule: 'polynomial', power: '-1' }, 'run.safetensors: __metadata__.power is "-1", expected a number ≥ 0'],
    [{ optimizer: 'sgd', schedule: 'polynomial', power: 'Infinity' }, 'run.safetensors: its optimizer settings: PolynomialLR: power must be a number ≥ 0, got Infinity'],
    [{ optimizer: 'sgd', schedule: 'cosine-restarts' }, 'run.safetensors: __metadata__.t_0 is missing (the cosine-restarts schedule needs it)'],
    [{ optimizer: 'sgd', schedule: 'cosine-restarts', t_0: '2.5' }, 'run.safetensors: __metadata__.t_0 is "2.5", expected a whole number from 1 to'],
    [{ optimizer: 'sgd', schedule: 'cosine-restarts', t_0: '3', t_mult: '0' }, 'run.safetensors: __metadata__.t_mult is "0", expected a whole number from 1 to'],
    [{ optimizer: 'sgd', schedule: 'cosine-restarts', t_0: '3', eta_min: '-0.1' }, 'run.safetensors: __metadata__.eta_min is "-0.1", expected a number ≥ 0'],
  ])('refuses %j, naming the file and the field', (metadata, message) => {
    expect(() => optimizerFromMetadata(metadata, 'run.safetensors')).toThrow(message);
  });
});

describe('a network defined in code', () => {
  gpuTest('its checkpoint carries the network as a model file and the optimizer’s settings', async (ctx) => {
    const model = new Sequential({
      features: new Sequential(new Conv2d({ outChannels: 4, kernelSize: 3, padding: 1 }), new ReLU(), new MaxPool2d(2)),
      classifier: new Sequential(new Flatten(), new Linear({ outFeatures: 10 }), new LogSoftmax()),
    });
    const optimizer = new AdamW({ lr: 3e-3, betas: [0.8, 0.99], eps: 1e-7, weightDecay: 0.05 }, { kind: 'step', stepSize: 2, gamma: 0.5 });
    const network = new Network(ctx, model, { inputShape: [1, 28, 28], maxBatch: 2, optimizer });
    const { metadata } = decodeSafetensors(await encodeCheckpoint(network, { epoch: '2' }), 'checkpoint');
    expect(metadata).toMatchObject({ epoch: '2', optimizer: 'adamw', lr: '0.003', betas: '0.8,0.99', eps: '1e-7', weight_decay: '0.05', schedule: 'step', step_size: '2', gamma: '0.5' });
    // The model file rebuilds the same network (what `evaluate --init` reads without --model).
    const parsed = parseModelFile(metadata.model_file!, 'model_file');
    expect(parsed.input).toEqual([1, 28, 28]);
    expect(modelFileText(parsed.model, parsed.input)).toBe(modelFileText(model, [1, 28, 28]));
    expect(JSON.parse(metadata.model_file!)).toMatchObject({ layers: [{ name: 'features' }, { name: 'classifier' }] });
    // The caller's metadata has the last word.
    expect(decodeSafetensors(await encodeCheckpoint(network, { model_file: 'x' }), 'c').metadata.model_file).toBe('x');
    const sgd = decodeSafetensors(await encodeCheckpoint(createSeedCnn(ctx, { maxBatch: 2, seed: 3 })), 'c').metadata;
    expect(sgd).toMatchObject({ optimizer: 'sgd', momentum: expect.any(String), dampening: '0', nesterov: 'false', weight_decay: '0', schedule: 'constant' });
  });
});

describe('a checkpoint written while training runs', () => {
  gpuTest('holds one step’s state: the steps it names, every tensor of that step (read one by one, they came from steps 11 to 25)', async (ctx) => {
    const { train, test: testSet } = await loadMnist();
    const make = () => {
      const model = new Sequential(new Flatten(), new Linear({ outFeatures: 32 }), new ReLU(), new Linear({ outFeatures: 10 }), new LogSoftmax());
      const network = new Network(ctx, model, { inputShape: [1, 28, 28], maxBatch: 32, seed: 7, optimizer: new SGD({ lr: 0.05, momentum: 0.9 }) });
      return new Trainer(ctx, network, uploadSplit(ctx, 'train', train, 32 * 24), uploadSplit(ctx, 'test', testSet, 32), { batch: 32, seed: 7, augment: false, shuffle: false });
    };
    const running = make();
    let pending: Promise<Uint8Array> | undefined;
    // From a progress report: the loop goes on (two steps in flight) while the state is read.
    await running.trainEpoch(1, { onProgress: (p) => void (p.step >= 6 && (pending ??= encodeCheckpoint(running.model))) });
    const written = decodeSafetensors(await pending!, 'written');
    const steps = Number(written.metadata.steps);
    expect(steps).toBeGreaterThanOrEqual(6);
    expect(steps).toBeLessThan(24);
    const stopped = make();
    await stopped.trainEpoch(1, { maxSteps: steps });
    const expected = decodeSafetensors(await encodeCheckpoint(stopped.model), 'expected');
    expect(Object.keys(written.tensors).sort()).toEqual(Object.keys(expected.tensors).sort());
    for (const [name, t] of Object.entries(expected.tensors)) expect(Array.from(written.tensors[name]!.data as ArrayLike<number | bigint>), name).toEqual(Array.from(t.data as ArrayLike<number | bigint>));
  });
});

describe('a rollback’s cut to the learning rate', () => {
  gpuTest('is saved and loaded by the module API too (lr_factor; only the CLI carried it)', async (ctx) => {
    const network = createSeedCnn(ctx, { maxBatch: 2, seed: 3 });
    network.lrFactor = 0.25;
    const bytes = await encodeCheckpoint(network);
    expect(decodeSafetensors(bytes, 'cut').metadata.lr_factor).toBe('0.25');
    const copy = createSeedCnn(ctx, { maxBatch: 2, seed: 4 });
    loadCheckpoint(copy, bytes, 'cut');
    expect(copy.lrFactor).toBe(0.25);
    loadCheckpoint(copy, await encodeCheckpoint(createSeedCnn(ctx, { maxBatch: 2, seed: 5 })), 'uncut');
    expect(copy.lrFactor).toBe(1);
  });
});

describe('another optimizer’s state', () => {
  gpuTest('is refused, naming the tensor and the optimizer, unless dropOtherOptimizerState', async (ctx) => {
    const model = () => new Sequential(new Flatten(), new Linear({ outFeatures: 10 }), new LogSoftmax());
    const adamw = new Network(ctx, model(), { inputShape: [1, 28, 28], maxBatch: 2, optimizer: new AdamW() });
    const bytes = await encodeCheckpoint(adamw);
    const sgd = new Network(ctx, model(), { inputShape: [1, 28, 28], maxBatch: 2 });
    expect(() => loadCheckpoint(sgd, bytes, 'adamw.safetensors')).toThrow(
      "adamw.safetensors: tensor 'optimizer.1.bias.exp_avg' is another optimizer's state (its __metadata__.optimizer: adamw), which this network's optimizer (state: momentum_buffer) would drop",
    );
    expect(loadCheckpoint(sgd, bytes, 'adamw.safetensors', { dropOtherOptimizerState: true }).info.steps).toBe(0);
    // The same optimizer's state loads; Adam's tensors under AdamW (or back) would go on under
    // another update (weight decay added to the gradient, or decoupled): refused unless dropped.
    expect(() => loadCheckpoint(new Network(ctx, model(), { inputShape: [1, 28, 28], maxBatch: 2, optimizer: new AdamW() }), bytes, 'adamw.safetensors')).not.toThrow();
    const adam = new Network(ctx, model(), { inputShape: [1, 28, 28], maxBatch: 2, optimizer: new Adam() });
    expect(() => loadCheckpoint(adam, bytes, 'adamw.safetensors')).toThrow(
      "adamw.safetensors: its optimizer state is adamw's, and this network's optimizer is adam: the state would go on under another update; build the network with the checkpoint's optimizer (optimizerFromMetadata(metadata) gives it, with its settings), or load with { dropOtherOptimizerState: true }",
    );
    adamw.stepsTaken = 7;
    const trained = await encodeCheckpoint(adamw);
    loadCheckpoint(adam, trained, 'adamw.safetensors', { dropOtherOptimizerState: true });
    // Dropped: Adam's state starts at zero, its steps from here.
    expect([adam.stepsTaken, adam.optimizerSteps]).toEqual([7, 0]);
    expect(Array.from(await ctx.read(adam.parameters[0]!.state.exp_avg!)).every((v) => v === 0)).toBe(true);
    // optimizerFromMetadata builds the checkpoint's optimizer, with its settings.
    const again = new Network(ctx, model(), { inputShape: [1, 28, 28], maxBatch: 2, optimizer: optimizerFromMetadata(decodeSafetensors(trained, 'x').metadata, 'x') });
    expect(again.optimizer.kind).toBe('adamw');
    loadCheckpoint(again, trained, 'adamw.safetensors');
    expect(again.optimizerSteps).toBe(7);
  });
});

describe("the pointwise losses' β and δ in checkpoints", () => {
  gpuTest('huber_delta and smooth_l1_beta recorded with their loss; another one is a difference', async (ctx) => {
    const net = (options: object) => new Network(ctx, new Sequential(new Flatten(), new Linear({ outFeatures: 3 })), { inputShape: [4], maxBatch: 2, seed: 3, ...options });
    const huber = decodeSafetensors(await encodeCheckpoint(net({ loss: 'huber', huberDelta: 2 })), 'x');
    expect([huber.metadata.loss, huber.metadata.huber_delta, huber.metadata.smooth_l1_beta]).toEqual(['huber', '2', undefined]);
    expect(decodeSafetensors(await encodeCheckpoint(net({ loss: 'smooth-l1' })), 'x').metadata.smooth_l1_beta).toBe('1');
    expect(decodeSafetensors(await encodeCheckpoint(net({ loss: 'mse' })), 'x').metadata.huber_delta).toBeUndefined();
    const bytes = await encodeCheckpoint(net({ loss: 'huber', huberDelta: 2 }));
    expect(loadCheckpoint(net({ loss: 'huber', huberDelta: 2 }), bytes, 'h.safetensors').differences).toEqual([]);
    expect(loadCheckpoint(net({ loss: 'huber' }), bytes, 'h.safetensors').differences).toEqual(["huber_delta 2 (this network's 1)"]);
  });
});

describe("the loss options' weights and log_target in checkpoints", () => {
  gpuTest('class_weights, pos_weight and log_target recorded with their loss; other ones (or none) are differences; a malformed list is refused naming the file', async (ctx) => {
    const net = (options: object, tail: Layer[] = []) => new Network(ctx, new Sequential(new Flatten(), new Linear({ outFeatures: 3 }), ...tail), { inputShape: [4], maxBatch: 2, seed: 3, ...options });
    const weighted = await encodeCheckpoint(net({ loss: 'cross-entropy', classWeights: [1, 0.5, 2] }));
    expect(decodeSafetensors(weighted, 'x').metadata).toMatchObject({ loss: 'cross-entropy', class_weights: '1,0.5,2' });
    expect(decodeSafetensors(weighted, 'x').metadata.pos_weight).toBeUndefined();
    expect(loadCheckpoint(net({ loss: 'cross-entropy', classWeights: [1, 0.5, 2] }), weighted, 'w.safetensors').differences).toEqual([]);
    expect(loadCheckpoint(net({ loss: 'cross-entropy', classWeights: [1, 1, 2] }), weighted, 'w.safetensors').differences).toEqual(["class_weights 1,0.5,2 (this network's 1,1,2)"]);
    expect(loadCheckpoint(net({ loss: 'cross-entropy' }), weighted, 'w.safetensors').differences).toEqual(["class_weights 1,0.5,2 (this network's none)"]);
    const plain = await encodeCheckpoint(net({ loss: 'cross-entropy' }));
    expect(loadCheckpoint(net({ loss: 'cross-entropy', classWeights: [1, 0.5, 2] }), plain, 'p.safetensors').differences).toEqual(["class_weights none (this network's 1,0.5,2)"]);
    const bce = await encodeCheckpoint(net({ loss: 'bce-with-logits', posWeight: [3, 0, 1] }));
    expect(decodeSafetensors(bce, 'x').metadata).toMatchObject({ loss: 'bce-with-logits', pos_weight: '3,0,1' });
    expect(loadCheckpoint(net({ loss: 'bce-with-logits', posWeight: [3, 0, 1] }), bce, 'b.safetensors').differences).toEqual([]);
    expect(loadCheckpoint(net({ loss: 'bce-with-logits' }), bce, 'b.safetensors').differences).toEqual(["pos_weight 3,0,1 (this network's none)"]);
    const kl = await encodeCheckpoint(net({ loss: 'kl-div', logTarget: true }, [new LogSoftmax()]));
    expect(decodeSafetensors(kl, 'x').metadata).toMatchObject({ loss: 'kl-div', log_target: 'true' });
    expect(loadCheckpoint(net({ loss: 'kl-div' }, [new LogSoftmax()]), kl, 'k.safetensors').differences).toEqual(["log_target true (this network's false)"]);
    expect(lossWeightsFromMetadata({ class_weights: '1,0.5,2' }, 'class_weights', 'w.safetensors')).toEqual([1, 0.5, 2]);
    expect(lossWeightsFromMetadata({}, 'pos_weight', 'w.safetensors')).toBeUndefined();
    expect(() => lossWeightsFromMetadata({ class_weights: '1,,2' }, 'class_weights', 'w.safetensors')).toThrow('w.safetensors: __metadata__.class_weights is "1,,2", expected numbers ≥ 0, separated by commas');
    expect(() => lossWeightsFromMetadata({ pos_weight: '1,-2' }, 'pos_weight', 'w.safetensors')).toThrow('w.safetensors: __metadata__.pos_weight is "1,-2"');
  });

  gpuTest('ignore_index recorded where the loss has one and read back; another (or none) is a difference; a bad value is refused naming the file; a cut epoch keeps its ignored samples', async (ctx) => {
    const net = (options: object, tail: Layer[] = []) => new Network(ctx, new Sequential(new Flatten(), new Linear({ outFeatures: 3 }), ...tail), { inputShape: [4], maxBatch: 2, seed: 3, ...options });
    const ignoring = await encodeCheckpoint(net({ loss: 'cross-entropy', ignoreIndex: -100, classWeights: [1, 0.5, 2] }));
    const metadata = decodeSafetensors(ignoring, 'x').metadata;
    expect(metadata).toMatchObject({ loss: 'cross-entropy', ignore_index: '-100', class_weights: '1,0.5,2' });
    expect(ignoreIndexFromMetadata(metadata, 'i.safetensors')).toBe(-100);
    // Read back, it builds the same network: no differences.
    const rebuilt = net({ loss: 'cross-entropy', ignoreIndex: ignoreIndexFromMetadata(metadata, 'i.safetensors'), classWeights: lossWeightsFromMetadata(metadata, 'class_weights', 'i.safetensors') });
    expect(loadCheckpoint(rebuilt, ignoring, 'i.safetensors').differences).toEqual([]);
    expect(loadCheckpoint(net({ loss: 'cross-entropy', ignoreIndex: 2, classWeights: [1, 0.5, 2] }), ignoring, 'i.safetensors').differences).toEqual(["ignore_index -100 (this network's 2)"]);
    expect(loadCheckpoint(net({ loss: 'cross-entropy', classWeights: [1, 0.5, 2] }), ignoring, 'i.safetensors').differences).toEqual(["ignore_index -100 (this network's none)"]);
    const nll = await encodeCheckpoint(net({ loss: 'nll' }, [new LogSoftmax()]));
    expect(decodeSafetensors(nll, 'x').metadata.ignore_index).toBeUndefined();
    expect(loadCheckpoint(net({ loss: 'nll', ignoreIndex: 0 }, [new LogSoftmax()]), nll, 'n.safetensors').differences).toEqual(["ignore_index none (this network's 0)"]);
    expect(ignoreIndexFromMetadata({}, 'n.safetensors')).toBeUndefined();
    for (const bad of ['1.5', '', 'x', '2147483648', '-2147483649']) {
      expect(() => ignoreIndexFromMetadata({ ignore_index: bad }, 'i.safetensors')).toThrow(`i.safetensors: __metadata__.ignore_index is ${JSON.stringify(bad)}, expected an integer from -2147483648 to 2147483647`);
    }
    // A cut epoch's running sums with ignored samples: a fifth field, read back; none: four, as before.
    const sums = { batchLoss: 0.5, lossSum: 12, correct: 9, count: 24, ignored: 7 };
    expect(epochMetricsText(sums)).toBe('0.5,12,9,24,7');
    expect(readEpochMetrics({ epoch_metrics: epochMetricsText(sums) }, 'e.safetensors', 3, 8)).toEqual(sums);
    expect(epochMetricsText({ ...sums, ignored: 0 })).toBe('0.5,12,9,24');
    expect(readEpochMetrics({ epoch_metrics: '0.5,12,9,24' }, 'e.safetensors', 3, 8)).toEqual({ batchLoss: 0.5, lossSum: 12, correct: 9, count: 24 });
    expect(() => readEpochMetrics({ epoch_metrics: '0.5,12,20,24,7' }, 'e.safetensors', 3, 8)).toThrow('e.safetensors');
  });
});

describe('RMSprop in checkpoints', () => {
  gpuTest('its settings and state (square_avg, momentum_buffer, grad_avg) saved and loaded; state without the momentum buffer or grad_avg a network keeps refused unless dropped', async (ctx) => {
    const model = () => new Sequential(new Flatten(), new Linear({ outFeatures: 3 }));
    const net = (o: { momentum?: number; centered?: boolean }) => new Network(ctx, model(), { inputShape: [4], maxBatch: 2, seed: 3, optimizer: new RMSprop({ lr: 0.01, alpha: 0.95, ...o }) });
    const full = net({ momentum: 0.9, centered: true });
    expect(full.optimizer.stateNames).toEqual(['square_avg', 'momentum_buffer', 'grad_avg']);
    for (const [k, state] of ['square_avg', 'momentum_buffer', 'grad_avg'].entries()) ctx.write(full.parameters[0]!.state[state]!, Float32Array.from({ length: 12 }, (_, i) => 0.01 * (i + 1 + k)));
    const bytes = await encodeCheckpoint(full);
    const file = decodeSafetensors(bytes, 'x');
    expect([file.metadata.optimizer, file.metadata.alpha, file.metadata.momentum, file.metadata.centered]).toEqual(['rmsprop', '0.95', '0.9', 'true']);
    expect(file.tensors['optimizer.1.weight.grad_avg']?.shape).toEqual([3, 4]);
    const again = new Network(ctx, model(), { inputShape: [4], maxBatch: 2, seed: 3, optimizer: optimizerFromMetadata(file.metadata, 'x') });
    expect(again.optimizer.describe()).toBe(full.optimizer.describe());
    expect(loadCheckpoint(again, bytes, 'rms.safetensors').differences).toEqual([]);
    for (const state of ['square_avg', 'momentum_buffer', 'grad_avg']) expect(Array.from(await ctx.read(again.parameters[0]!.state[state]!)), state).toEqual(Array.from(await ctx.read(full.parameters[0]!.state[state]!)));
    const plain = await encodeCheckpoint(net({}));
    expect(Object.keys(decodeSafetensors(plain, 'x').tensors).filter((n) => n.startsWith('optimizer.1.weight.'))).toEqual(['optimizer.1.weight.square_avg']);
    expect(() => loadCheckpoint(net({ momentum: 0.9, centered: true }), plain, 'plain.safetensors')).toThrow(/plain\.safetensors: its optimizer state has no momentum_buffer or grad_avg \(RMSprop without momentum; RMSprop without centered\), which this network's RMSprop keeps/);
    expect(() => loadCheckpoint(net({}), bytes, 'rms.safetensors')).toThrow(/rms\.safetensors: tensor 'optimizer\.1\.\w+\.(momentum_buffer|grad_avg)' is rmsprop state that this network's rmsprop \(other settings; state: square_avg\) does not keep/);
    const { differences } = loadCheckpoint(net({ centered: true }), plain, 'plain.safetensors', { dropOtherOptimizerState: true });
    expect(differences).toEqual(["centered false (this network's true)"]);
  });
});

describe('NAdam and RAdam in checkpoints', () => {
  gpuTest('their settings (momentum_decay) and state (exp_avg, exp_avg_sq) saved and loaded; one\'s state into the other refused unless dropped', async (ctx) => {
    const model = () => new Sequential(new Flatten(), new Linear({ outFeatures: 3 }));
    const net = (optimizer: Optimizer) => new Network(ctx, model(), { inputShape: [4], maxBatch: 2, seed: 3, optimizer });
    const nadam = net(new NAdam({ lr: 0.01, betas: [0.8, 0.99], momentumDecay: 0.02 }, { kind: 'onecycle', maxLr: 0.01, totalSteps: 50 }));
    for (const [k, state] of ['exp_avg', 'exp_avg_sq'].entries()) ctx.write(nadam.parameters[0]!.state[state]!, Float32Array.from({ length: 12 }, (_, i) => 0.01 * (i + 1 + k)));
    nadam.stepsTaken = 9;
    const bytes = await encodeCheckpoint(nadam);
    const file = decodeSafetensors(bytes, 'x');
    expect(file.metadata).toMatchObject({ optimizer: 'nadam', betas: '0.8,0.99', momentum_decay: '0.02', optimizer_steps: '9', schedule: 'onecycle' });
    expect(Object.keys(file.tensors).filter((n) => n.startsWith('optimizer.1.weight.')).sort()).toEqual(['optimizer.1.weight.exp_avg', 'optimizer.1.weight.exp_avg_sq']);
    const again = net(optimizerFromMetadata(file.metadata, 'x')!);
    expect(again.optimizer.describe()).toBe(nadam.optimizer.describe());
    expect(loadCheckpoint(again, bytes, 'nadam.safetensors').differences).toEqual([]);
    expect(again.optimizerSteps).toBe(9);
    for (const state of ['exp_avg', 'exp_avg_sq']) expect(Array.from(await ctx.read(again.parameters[0]!.state[state]!)), state).toEqual(Array.from(await ctx.read(nadam.parameters[0]!.state[state]!)));
    expect(loadCheckpoint(net(new NAdam({ lr: 0.01, betas: [0.8, 0.99] }, { kind: 'onecycle', maxLr: 0.01, totalSteps: 50 })), bytes, 'nadam.safetensors').differences).toEqual(["momentum_decay 0.02 (this network's 0.004)"]);
    // The same tensors under RAdam (or Adam) would go on under another update.
    const radam = net(new RAdam({ lr: 0.01 }));
    expect(() => loadCheckpoint(radam, bytes, 'nadam.safetensors')).toThrow("nadam.safetensors: its optimizer state is nadam's, and this network's optimizer is radam: the state would go on under another update");
    expect(() => loadCheckpoint(net(new Adam()), bytes, 'nadam.safetensors')).toThrow("its optimizer state is nadam's, and this network's optimizer is adam");
    expect(loadCheckpoint(radam, bytes, 'nadam.safetensors', { dropOtherOptimizerState: true }).differences).toEqual(expect.arrayContaining(["optimizer nadam (this network's radam)"]));
    expect(radam.optimizerSteps).toBe(0);
    const radamBytes = await encodeCheckpoint(radam);
    expect(decodeSafetensors(radamBytes, 'x').metadata).toMatchObject({ optimizer: 'radam', betas: '0.9,0.999', eps: '1e-8' });
    expect(decodeSafetensors(radamBytes, 'x').metadata.momentum_decay).toBeUndefined();
    expect(loadCheckpoint(net(optimizerFromMetadata(decodeSafetensors(radamBytes, 'x').metadata, 'x')!), radamBytes, 'radam.safetensors').differences).toEqual([]);
  });

  gpuTest('a NAdam run under OneCycleLR cut after two steps and continued from its checkpoint ends where an uninterrupted one does, to the bit (mu_product from the step count)', async (ctx) => {
    const images = Float32Array.from(randomArray(4 * 784, 43, -0.42, 2.8));
    const labels = Uint32Array.from([3, 1, 4, 1]);
    const make = () => new Network(ctx, new Sequential(new Flatten(), new Linear({ outFeatures: 10 })), { inputShape: [1, 28, 28], maxBatch: 4, seed: 5, optimizer: new NAdam({ lr: 0.01, momentumDecay: 0.05 }, { kind: 'onecycle', maxLr: 0.01, totalSteps: 10 }) });
    const whole = make();
    for (let step = 0; step < 3; step++) expect((await checkNetworkStep(whole, images, labels)).passed).toBe(true);
    const cut = make();
    for (let step = 0; step < 2; step++) await checkNetworkStep(cut, images, labels);
    const bytes = await encodeCheckpoint(cut);
    const continued = make();
    loadCheckpoint(continued, bytes, 'cut.safetensors');
    expect(continued.optimizerSteps).toBe(2);
    expect((await checkNetworkStep(continued, images, labels)).passed).toBe(true);
    for (let i = 0; i < whole.parameters.length; i++) {
      const p = whole.parameters[i]!;
      expect(Array.from(await ctx.read(continued.parameters[i]!.value)), p.name).toEqual(Array.from(await ctx.read(p.value)));
      expect(Array.from(await ctx.read(continued.parameters[i]!.state.exp_avg!)), `${p.name} exp_avg`).toEqual(Array.from(await ctx.read(p.state.exp_avg!)));
    }
  });
});

describe('Adamax and Adadelta in checkpoints', () => {
  gpuTest('their settings (rho) and state (exp_avg and exp_inf; square_avg and acc_delta) saved and loaded; one\'s state into the other (or Adam, RMSprop) refused unless dropped', async (ctx) => {
    const model = () => new Sequential(new Flatten(), new Linear({ outFeatures: 3 }));
    const net = (optimizer: Optimizer) => new Network(ctx, model(), { inputShape: [4], maxBatch: 2, seed: 3, optimizer });
    for (const [first, other] of [
      [new Adamax({ lr: 0.01, betas: [0.8, 0.99], eps: 1e-6 }, { kind: 'onecycle', maxLr: 0.01, totalSteps: 50 }), new Adadelta()],
      [new Adadelta({ lr: 0.5, rho: 0.8, weightDecay: 0.01 }, { kind: 'step', stepSize: 2, gamma: 0.5 }), new Adamax()],
    ] as const) {
      const a = net(first);
      const names = [...first.stateNames];
      for (const [k, state] of names.entries()) ctx.write(a.parameters[0]!.state[state]!, Float32Array.from({ length: 12 }, (_, i) => 0.01 * (i + 1 + k)));
      a.stepsTaken = 9;
      const bytes = await encodeCheckpoint(a);
      const file = decodeSafetensors(bytes, 'x');
      expect(file.metadata).toMatchObject(first.kind === 'adamax' ? { optimizer: 'adamax', betas: '0.8,0.99', eps: '0.000001', optimizer_steps: '9', schedule: 'onecycle' } : { optimizer: 'adadelta', rho: '0.8', lr: '0.5', weight_decay: '0.01', optimizer_steps: '9', schedule: 'step' });
      expect(Object.keys(file.tensors).filter((n) => n.startsWith('optimizer.1.weight.')).sort()).toEqual(names.map((s) => `optimizer.1.weight.${s}`).sort());
      const again = net(optimizerFromMetadata(file.metadata, 'x')!);
      expect(again.optimizer.describe()).toBe(a.optimizer.describe());
      expect(loadCheckpoint(again, bytes, `${first.kind}.safetensors`).differences).toEqual([]);
      expect(again.optimizerSteps).toBe(9);
      for (const state of names) expect(Array.from(await ctx.read(again.parameters[0]!.state[state]!)), state).toEqual(Array.from(await ctx.read(a.parameters[0]!.state[state]!)));
      if (first.kind === 'adadelta') {
        expect(loadCheckpoint(net(new Adadelta({ lr: 0.5, rho: 0.9, weightDecay: 0.01 }, { kind: 'step', stepSize: 2, gamma: 0.5 })), bytes, 'adadelta.safetensors').differences).toEqual(["rho 0.8 (this network's 0.9)"]);
        // RMSprop has a square_avg too, but no acc_delta: said of the tensor.
        expect(() => loadCheckpoint(net(new RMSprop()), bytes, 'adadelta.safetensors')).toThrow("acc_delta' is another optimizer's state (its __metadata__.optimizer: adadelta)");
      } else {
        expect(loadCheckpoint(net(new Adamax({ lr: 0.01, betas: [0.9, 0.99], eps: 1e-6 }, { kind: 'onecycle', maxLr: 0.01, totalSteps: 50 })), bytes, 'adamax.safetensors').differences).toEqual(["betas 0.8,0.99 (this network's 0.9,0.99)"]);
        // Adam has an exp_avg too, but no exp_inf: said of the tensor.
        expect(() => loadCheckpoint(net(new Adam()), bytes, 'adamax.safetensors')).toThrow("exp_inf' is another optimizer's state (its __metadata__.optimizer: adamax)");
      }
      const b = net(other);
      // No tensor of the one is the other's: each named as another optimizer's state.
      expect(() => loadCheckpoint(b, bytes, `${first.kind}.safetensors`)).toThrow(`is another optimizer's state (its __metadata__.optimizer: ${first.kind}), which this network's optimizer (state: ${other.stateNames.join(', ')}) would drop`);
      expect(loadCheckpoint(b, bytes, `${first.kind}.safetensors`, { dropOtherOptimizerState: true }).differences).toEqual(expect.arrayContaining([`optimizer ${first.kind} (this network's ${other.kind})`]));
      expect(b.optimizerSteps).toBe(0);
    }
  });

  test('a negative exp_inf or acc_delta in a file refused, naming the tensor', () => {
    expect(checkTensorValues('optimizer.fc.weight.exp_inf', Float32Array.from([0.1, -0.2]))).toBe('element 1 is -0.2, expected a running maximum of gradient magnitudes ≥ 0');
    expect(checkTensorValues('optimizer.fc.weight.acc_delta', Float32Array.from([0.1, -0.2]))).toBe('element 1 is -0.2, expected a mean of squared updates ≥ 0');
    expect(checkTensorValues('optimizer.fc.weight.exp_avg', Float32Array.from([0.1, -0.2]))).toBeUndefined();
  });

  for (const kind of ['adamax', 'adadelta'] as const) {
    gpuTest(`an ${kind === 'adamax' ? 'Adamax' : 'Adadelta'} run under OneCycleLR cut after two steps and continued from its checkpoint ends where an uninterrupted one does, to the bit`, async (ctx) => {
      const images = Float32Array.from(randomArray(4 * 784, 43, -0.42, 2.8));
      const labels = Uint32Array.from([3, 1, 4, 1]);
      const optimizer = () => (kind === 'adamax' ? new Adamax({ lr: 0.01, weightDecay: 0.01 }, { kind: 'onecycle', maxLr: 0.01, totalSteps: 10 }) : new Adadelta({ weightDecay: 0.01 }, { kind: 'onecycle', maxLr: 1, totalSteps: 10, cycleMomentum: false }));
      const make = () => new Network(ctx, new Sequential(new Flatten(), new Linear({ outFeatures: 10 })), { inputShape: [1, 28, 28], maxBatch: 4, seed: 5, optimizer: optimizer() });
      const whole = make();
      for (let step = 0; step < 3; step++) expect((await checkNetworkStep(whole, images, labels)).passed).toBe(true);
      const cut = make();
      for (let step = 0; step < 2; step++) await checkNetworkStep(cut, images, labels);
      const bytes = await encodeCheckpoint(cut);
      const continued = make();
      loadCheckpoint(continued, bytes, 'cut.safetensors');
      expect(continued.optimizerSteps).toBe(2);
      expect((await checkNetworkStep(continued, images, labels)).passed).toBe(true);
      for (let i = 0; i < whole.parameters.length; i++) {
        const p = whole.parameters[i]!;
        expect(Array.from(await ctx.read(continued.parameters[i]!.value)), p.name).toEqual(Array.from(await ctx.read(p.value)));
        for (const state of whole.optimizer.stateNames) expect(Array.from(await ctx.read(continued.parameters[i]!.state[state]!)), `${p.name} ${state}`).toEqual(Array.from(await ctx.read(p.state[state]!)));
      }
    });
  }
});

describe('AMSGrad in checkpoints', () => {
  gpuTest('max_exp_avg_sq saved and loaded; AMSGrad state into Adam without it (or back) refused unless dropped', async (ctx) => {
    const model = () => new Sequential(new Flatten(), new Linear({ outFeatures: 3 }));
    const net = (amsgrad: boolean) => new Network(ctx, model(), { inputShape: [4], maxBatch: 2, seed: 3, optimizer: new Adam({ lr: 0.01, amsgrad }) });
    const ams = net(true);
    ctx.write(ams.parameters[0]!.state.max_exp_avg_sq!, Float32Array.from({ length: 12 }, (_, i) => 0.01 * (i + 1)));
    const bytes = await encodeCheckpoint(ams);
    const file = decodeSafetensors(bytes, 'x');
    expect(file.metadata.amsgrad).toBe('true');
    expect(file.tensors['optimizer.1.weight.max_exp_avg_sq']?.shape).toEqual([3, 4]);
    const again = new Network(ctx, model(), { inputShape: [4], maxBatch: 2, seed: 3, optimizer: optimizerFromMetadata(file.metadata, 'x') });
    expect((again.optimizer as Adam).amsgrad).toBe(true);
    expect(loadCheckpoint(again, bytes, 'ams.safetensors').differences).toEqual([]);
    expect(Array.from(await ctx.read(again.parameters[0]!.state.max_exp_avg_sq!))).toEqual(Array.from(await ctx.read(ams.parameters[0]!.state.max_exp_avg_sq!)));
    expect(() => loadCheckpoint(net(false), bytes, 'ams.safetensors')).toThrow(/ams\.safetensors: its optimizer state is AMSGrad's \(with max_exp_avg_sq\), and this network's optimizer has no amsgrad/);
    const plain = await encodeCheckpoint(net(false));
    expect(decodeSafetensors(plain, 'x').metadata.amsgrad).toBe('false');
    expect(() => loadCheckpoint(net(true), plain, 'plain.safetensors')).toThrow(/plain\.safetensors: its optimizer state is Adam's without AMSGrad \(no max_exp_avg_sq\), and this network's optimizer has amsgrad/);
    // Dropped where asked: the network's state starts at zero, its steps from here; differences say so.
    const dropped = net(true);
    const { differences } = loadCheckpoint(dropped, plain, 'plain.safetensors', { dropOtherOptimizerState: true });
    expect(differences).toEqual(["amsgrad false (this network's true)"]);
    expect(dropped.optimizerSteps).toBe(0);
    expect(Array.from(await ctx.read(dropped.parameters[0]!.state.exp_avg!)).every((v) => v === 0)).toBe(true);
  });
});

describe('what a checkpoint records otherwise than the network it loads into', () => {
  gpuTest("the network's settings stay, and differences names each (seed, loss, optimizer, schedule); none where they agree", async (ctx) => {
    const model = () => new Sequential(new Flatten(), new Linear({ outFeatures: 4 }));
    const source = new Network(ctx, model(), { inputShape: [1, 3, 3], maxBatch: 2, seed: 7, loss: 'mse', optimizer: new SGD({ lr: 0.05, momentum: 0.9 }, { kind: 'multistep', milestones: [2], gamma: 0.5 }) });
    const bytes = await encodeCheckpoint(source);
    expect(decodeSafetensors(bytes, 'x').metadata).toMatchObject({ loss: 'mse', seed: '7' });
    const other = new Network(ctx, model(), { inputShape: [1, 3, 3], maxBatch: 2, seed: 99, optimizer: new SGD({ lr: 0.1, momentum: 0.9 }) });
    const { differences } = loadCheckpoint(other, bytes, 'run.safetensors');
    expect(differences).toEqual([
      "seed 7 (this network's 99: other dropout masks from here on)",
      "loss mse (this network's cross-entropy)",
      "lr 0.05 (this network's 0.1)",
      "schedule multistep (this network's constant)",
    ]);
    expect(other.optimizer.lr).toBe(0.1);
    const same = new Network(ctx, model(), { inputShape: [1, 3, 3], maxBatch: 2, seed: 7, loss: 'mse', optimizer: optimizerFromMetadata(decodeSafetensors(bytes, 'x').metadata, 'x') });
    expect(loadCheckpoint(same, bytes, 'run.safetensors').differences).toEqual([]);
    // Milestones as PyTorch reads them (any order); a file that records its loss and no label
    // smoothing had none.
    const twoMilestones = new Network(ctx, model(), { inputShape: [1, 3, 3], maxBatch: 2, seed: 7, loss: 'mse', optimizer: new SGD({ lr: 0.05, momentum: 0.9 }, { kind: 'multistep', milestones: [1, 2], gamma: 0.5 }) });
    const unsorted = encodeSafetensors(decodeSafetensors(bytes, 'x').tensors, { ...decodeSafetensors(bytes, 'x').metadata, milestones: '2,1' });
    expect(loadCheckpoint(twoMilestones, unsorted, 'run.safetensors').differences).toEqual([]);
    const smoothed = new Network(ctx, model(), { inputShape: [1, 3, 3], maxBatch: 2, seed: 7, loss: 'cross-entropy', labelSmoothing: 0.1 });
    const ce = await encodeCheckpoint(new Network(ctx, model(), { inputShape: [1, 3, 3], maxBatch: 2, seed: 7, loss: 'cross-entropy' }));
    expect(loadCheckpoint(smoothed, ce, 'ce.safetensors').differences).toContain("label_smoothing 0 (this network's 0.1)");
  });

  gpuTest("LinearLR's, ConstantLR's, PolynomialLR's and CosineAnnealingWarmRestarts' settings: each named where the network's differs, none where they agree", async (ctx) => {
    const net = (schedule: Schedule) => new Network(ctx, new Sequential(new Flatten(), new Linear({ outFeatures: 4 })), { inputShape: [1, 3, 3], maxBatch: 2, seed: 7, optimizer: new SGD({ lr: 0.05 }, schedule) });
    const cases: [Schedule, Schedule, string[]][] = [
      [{ kind: 'linear', startFactor: 0.25, endFactor: 0.5, totalIters: 8 }, { kind: 'linear' }, [`start_factor 0.25 (this network's ${1 / 3})`, "end_factor 0.5 (this network's 1)", "total_iters 8 (this network's 5)"]],
      [{ kind: 'constant-lr', factor: 0.5, totalIters: 3 }, { kind: 'constant-lr', factor: 0.25, totalIters: 3 }, ["factor 0.5 (this network's 0.25)"]],
      [{ kind: 'polynomial', totalIters: 12, power: 2 }, { kind: 'polynomial', totalIters: 12 }, ["power 2 (this network's 1)"]],
      [{ kind: 'cosine-restarts', t0: 4, tMult: 2, etaMin: 1e-4 }, { kind: 'cosine-restarts', t0: 3 }, ["t_0 4 (this network's 3)", "t_mult 2 (this network's 1)", "eta_min 0.0001 (this network's 0)"]],
      // Another schedule: named; the settings both record (total_iters, the same here) compared.
      [{ kind: 'polynomial', totalIters: 6 }, { kind: 'linear', totalIters: 6 }, ["schedule polynomial (this network's linear)"]],
      [{ kind: 'cosine-restarts', t0: 4, warmup: { epochs: 2 } }, { kind: 'cosine-restarts', t0: 4 }, ["warmup_epochs 2 (this network's none)", "warmup_start_factor 0.3333333333333333 (this network's none)"]],
    ];
    for (const [saved, mine, expected] of cases) {
      const bytes = await encodeCheckpoint(net(saved));
      expect(loadCheckpoint(net(mine), bytes, 'run.safetensors').differences, describeSchedule(saved)).toEqual(expected);
      expect(loadCheckpoint(net(optimizerFromMetadata(decodeSafetensors(bytes, 'x').metadata, 'x')!.schedule), bytes, 'run.safetensors').differences).toEqual([]);
    }
  });

  gpuTest('gradient clipping: recorded, read back by checkpointInfo, and named where the network clips otherwise (or not at all)', async (ctx) => {
    const model = () => new Sequential(new Flatten(), new Linear({ outFeatures: 4 }));
    const net = (clip: object) => new Network(ctx, model(), { inputShape: [1, 3, 3], maxBatch: 2, seed: 7, ...clip });
    const clipped = await encodeCheckpoint(net({ clipGradNorm: { maxNorm: 0.5, normType: 'inf' } }));
    const file = decodeSafetensors(clipped, 'x');
    expect(file.metadata).toMatchObject({ clip_grad_norm: '0.5', clip_grad_norm_type: 'inf' });
    expect(checkpointInfo(file, 'x').clipping).toEqual({ kind: 'norm', maxNorm: 0.5, normType: Infinity });
    expect(loadCheckpoint(net({ clipGradNorm: { maxNorm: 0.5, normType: 'inf' } }), clipped, 'c.safetensors').differences).toEqual([]);
    expect(loadCheckpoint(net({}), clipped, 'c.safetensors').differences).toEqual(["clip_grad_norm_ 0.5 (∞-norm) (this network's no gradient clipping)"]);
    expect(loadCheckpoint(net({ clipGradValue: 1 }), clipped, 'c.safetensors').differences).toEqual(["clip_grad_norm_ 0.5 (∞-norm) (this network's clip_grad_value_ 1)"]);
    // This engine's file without a record had none; a PyTorch state_dict (no producer) says nothing.
    const plain = await encodeCheckpoint(net({}));
    expect(loadCheckpoint(net({ clipGradNorm: 1 }), plain, 'p.safetensors').differences).toEqual(["no gradient clipping (this network's clip_grad_norm_ 1 (2-norm))"]);
    const stateDict = encodeSafetensors(Object.fromEntries(Object.entries(decodeSafetensors(plain, 'x').tensors).filter(([name]) => !name.startsWith('optimizer.'))), { format: 'pt' });
    expect(loadCheckpoint(net({ clipGradNorm: 1 }), stateDict, 'sd.safetensors').differences).toEqual([]);
    // A record that could not have been written: refused naming the file and the key.
    const bad = encodeSafetensors(file.tensors, { ...file.metadata, clip_grad_norm_type: '3' });
    expect(() => loadCheckpoint(net({}), bad, 'bad.safetensors')).toThrow(/bad.safetensors.*clip_grad_norm_type is "3", expected 1, 2 or inf/);
  });
});

describe('a float64 state_dict (a PyTorch model after .double())', () => {
  gpuTest('loads rounded to float32, as load_state_dict copies it', async (ctx) => {
    const model = () => new Sequential(new Flatten(), new Linear({ outFeatures: 3 }), new BatchNorm1d(3));
    const source = new Network(ctx, model(), { inputShape: [2, 2], maxBatch: 2, seed: 9 });
    const { tensors } = decodeSafetensors(await encodeCheckpoint(source), 'x');
    const doubled: Record<string, SafetensorsTensor> = {};
    for (const [name, t] of Object.entries(tensors)) {
      if (name.startsWith('optimizer.')) continue;
      // Values a float32 cannot hold exactly: each rounds once on load.
      doubled[name] = t.dtype === 'F32' ? { dtype: 'F64', shape: t.shape, data: Float64Array.from(t.data, (v) => v + 1e-12) } : t;
    }
    const target = new Network(ctx, model(), { inputShape: [2, 2], maxBatch: 2, seed: 10 });
    loadCheckpoint(target, encodeSafetensors(doubled), 'double.safetensors');
    for (const p of target.parameters) expect(Array.from(await ctx.read(p.value)), p.name).toEqual(Array.from(Float32Array.from(doubled[p.name]!.data as Float64Array)));
    for (const b of target.buffers) expect(Array.from(await ctx.read(b.value)), b.name).toEqual(Array.from(Float32Array.from(doubled[b.name]!.data as Float64Array)));
  });
});

describe('a float16 or bfloat16 state_dict (after .half(), .bfloat16())', () => {
  gpuTest('loads widened to float32, exactly, as load_state_dict copies it; an integer dtype is refused', async (ctx) => {
    const model = () => new Sequential(new Flatten(), new Linear({ outFeatures: 3 }), new BatchNorm1d(3));
    const source = new Network(ctx, model(), { inputShape: [2, 2], maxBatch: 2, seed: 9 });
    const { tensors } = decodeSafetensors(await encodeCheckpoint(source), 'x');
    for (const kind of ['F16', 'BF16'] as const) {
      const halved: Record<string, SafetensorsTensor> = {};
      const want = new Map<string, number[]>();
      for (const [name, t] of Object.entries(tensors)) {
        if (name.startsWith('optimizer.')) continue;
        if (t.dtype !== 'F32') {
          halved[name] = t;
          continue;
        }
        // Each element's bits: a half near the float32 value (bfloat16: its high half), and the value they hold.
        const bits = Uint16Array.from(t.data, (v, i) => (kind === 'BF16' ? new Uint32Array(Float32Array.of(v).buffer)[0]! >>> 16 : 0x3800 + ((i * 37) % 0x800)));
        halved[name] = { dtype: kind, shape: t.shape, data: bits };
        want.set(name, Array.from(bits, (b) => (kind === 'BF16' ? new Float32Array(Uint32Array.of(b << 16).buffer)[0]! : (1 + (b & 0x3ff) / 1024) * 2 ** (((b >> 10) & 0x1f) - 15))));
      }
      const target = new Network(ctx, model(), { inputShape: [2, 2], maxBatch: 2, seed: 10 });
      loadCheckpoint(target, encodeSafetensors(halved), `${kind}.safetensors`);
      for (const p of [...target.parameters, ...target.buffers]) expect(Array.from(await ctx.read(p.value)), `${kind} ${p.name}`).toEqual(want.get(p.name));
    }
    const first = Object.keys(tensors).find((n) => tensors[n]!.dtype === 'F32' && !n.startsWith('optimizer.'))!;
    const ints = { ...Object.fromEntries(Object.entries(tensors).filter(([n]) => !n.startsWith('optimizer.'))), [first]: { dtype: 'I16', shape: tensors[first]!.shape, data: new Int16Array(tensors[first]!.data.length) } as SafetensorsTensor };
    expect(() => loadCheckpoint(new Network(ctx, model(), { inputShape: [2, 2], maxBatch: 2 }), encodeSafetensors(ints), 'ints.safetensors')).toThrow(
      `ints.safetensors: tensor '${first}': dtype is I16, expected F32 (or F64, rounded to float32; or F16 or BF16, widened)`,
    );
  });
});

describe('seed-CNN checkpoints', () => {
  gpuTest('hold every state_dict entry of the notebook’s Net, with PyTorch’s names, dtypes and shapes', async (ctx) => {
    const model = createSeedCnn(ctx, { maxBatch: 2, seed: 3 });
    model.stepsTaken = 469;
    const bytes = await encodeCheckpoint(model, { epoch: '1' });
    const { tensors, metadata } = decodeSafetensors(bytes, 'checkpoint');
    const stateDict = { ...seedCnnParameterShapes(), ...seedCnnBufferShapes() };
    for (const m of BN_MODULES) stateDict[`${m}.num_batches_tracked`] = [];
    const modelKeys = Object.keys(tensors).filter((k) => !k.startsWith('optimizer.'));
    expect(modelKeys.sort()).toEqual(Object.keys(stateDict).sort());
    expect(modelKeys).toHaveLength(8 + 6 * 5);
    for (const [name, shape] of Object.entries(stateDict)) {
      expect(tensors[name]!.shape, name).toEqual(shape);
      expect(tensors[name]!.dtype, name).toBe(name.endsWith('num_batches_tracked') ? 'I64' : 'F32');
    }
    expect(tensors['convblock1.2.num_batches_tracked']!.data).toEqual(BigInt64Array.of(469n));
    for (const name of Object.keys(seedCnnParameterShapes())) expect(tensors[`optimizer.${name}.momentum_buffer`]!.shape).toEqual(stateDict[name]);
    expect(metadata).toMatchObject({ format: 'pt', epoch: '1', steps: '469' });

    // The bytes: u64 little-endian header length, JSON header, then little-endian f32 data at the offsets.
    const view = new DataView(bytes.buffer, bytes.byteOffset);
    const headerLength = Number(view.getBigUint64(0, true));
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLength))) as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
    const entry = header['convblock1.0.weight']!;
    expect(entry).toMatchObject({ dtype: 'F32', shape: [16, 1, 3, 3] });
    const [begin, end] = entry.data_offsets;
    expect(end - begin).toBe(144 * 4);
    const onGpu = await ctx.read(model.parameters.find((p) => p.name === 'convblock1.0.weight')!.value);
    for (let i = 0; i < 144; i++) expect(view.getFloat32(8 + headerLength + begin + 4 * i, true)).toBe(onGpu[i]);
  });

  gpuTest('load restores the model exactly; a PyTorch state_dict without optimizer state loads too', async (ctx) => {
    const source = createSeedCnn(ctx, { maxBatch: 2, seed: 3 });
    const bytes = await encodeCheckpoint(source);
    const target = createSeedCnn(ctx, { maxBatch: 2, seed: 4 });
    target.stepsTaken = 5;
    // The network's seed is in the metadata (the dropout draws depend on it).
    expect(loadCheckpoint(target, bytes, 'checkpoint').info).toEqual({ epoch: 0, lrFactor: 1, steps: 0, optimizerSteps: 0, seed: 3 });
    expect(target.stepsTaken).toBe(0);
    for (let i = 0; i < source.parameters.length; i++) {
      expect(Array.from(await ctx.read(target.parameters[i]!.value))).toEqual(Array.from(await ctx.read(source.parameters[i]!.value)));
    }
    const { tensors } = decodeSafetensors(bytes, 'checkpoint');
    const modelOnly = Object.fromEntries(Object.entries(tensors).filter(([k]) => !k.startsWith('optimizer.')));
    const fresh = createSeedCnn(ctx, { maxBatch: 2, seed: 4 });
    // As PyTorch saves it: no metadata, num_batches_tracked the steps taken.
    for (const m of BN_MODULES) modelOnly[`${m}.num_batches_tracked`] = { dtype: 'I64', shape: [], data: BigInt64Array.of(938n) };
    expect(loadCheckpoint(fresh, encodeSafetensors(modelOnly), 'pytorch.safetensors').info).toEqual({ epoch: 0, lrFactor: 1, steps: 938, optimizerSteps: 0 });
    expect(fresh.stepsTaken).toBe(938);
    // A fresh optimizer, as PyTorch's after load_state_dict: its steps count from 0.
    expect(fresh.optimizerSteps).toBe(0);
    expect(Array.from(await ctx.read(fresh.parameters[0]!.state.momentum_buffer!)).every((v) => v === 0)).toBe(true);
  });

  gpuTest("a PyTorch state_dict's network takes the first step of a fresh optimizer (Adam's bias corrections, SGD's first momentum), whatever num_batches_tracked says", async (ctx) => {
    // Without dropout a step's gradients do not depend on the step count: only the optimizer's step can differ.
    const images = Float32Array.from(randomArray(4 * 784, 41, -0.42, 2.8));
    const labels = Uint32Array.from([3, 1, 4, 1]);
    for (const optimizer of [() => new Adam({ lr: 1e-3 }), () => new SGD({ lr: 0.05, momentum: 0.9, dampening: 0.5 })]) {
      const make = () => new Network(ctx, seedCnn({ dropout: 0 }), { inputShape: SEED_CNN_INPUT, maxBatch: 4, seed: 3, optimizer: optimizer() });
      const fresh = make();
      const { tensors } = decodeSafetensors(await encodeCheckpoint(fresh), 'init');
      const modelOnly = Object.fromEntries(Object.entries(tensors).filter(([k]) => !k.startsWith('optimizer.')));
      for (const m of BN_MODULES) modelOnly[`${m}.num_batches_tracked`] = i64(100n);
      const loaded = make();
      loadCheckpoint(loaded, encodeSafetensors(modelOnly), 'pytorch.safetensors');
      for (const network of [fresh, loaded]) expect((await checkNetworkStep(network, images, labels)).passed).toBe(true);
      for (let i = 0; i < fresh.parameters.length; i++) {
        const name = fresh.parameters[i]!.name;
        expect(Array.from(await ctx.read(loaded.parameters[i]!.value)), `${optimizer().kind}: ${name}`).toEqual(Array.from(await ctx.read(fresh.parameters[i]!.value)));
      }
      expect([loaded.stepsTaken, loaded.optimizerSteps]).toEqual([101, 1]);
    }
  });

  gpuTest('load options are checked: a misspelt key or a value that is not a boolean is refused, not ignored', async (ctx) => {
    const model = createSeedCnn(ctx, { maxBatch: 2, seed: 3 });
    const bytes = await encodeCheckpoint(model);
    expect(() => loadCheckpoint(model, bytes, 'a', { dropOtherOptimiserState: true } as never)).toThrow("loadCheckpoint options: unknown option 'dropOtherOptimiserState'; the options are dropOtherOptimizerState");
    expect(() => loadCheckpoint(model, bytes, 'a', { dropOtherOptimizerState: 'yes' } as never)).toThrow('loadCheckpoint options: dropOtherOptimizerState must be true or false, got "yes"');
  });

  gpuTest('the step count comes from the checked metadata and num_batches_tracked', async (ctx) => {
    const model = createSeedCnn(ctx, { maxBatch: 2, seed: 3 });
    model.stepsTaken = 469;
    const bytes = await encodeCheckpoint(model, { epoch: '1', seed: '3', batch: '128', model: 'seed-cnn' });
    const target = createSeedCnn(ctx, { maxBatch: 2, seed: 4 });
    expect(loadCheckpoint(target, bytes, 'run.safetensors').info).toEqual({ epoch: 1, lrFactor: 1, steps: 469, optimizerSteps: 469, seed: 3, batch: 128, model: 'seed-cnn' });
    expect(target.stepsTaken).toBe(469);
    expect(target.optimizerSteps).toBe(469);
    // An older checkpoint without metadata.steps: the steps come from num_batches_tracked.
    const { tensors, metadata } = decodeSafetensors(bytes, 'run.safetensors');
    const { steps: _, ...old } = metadata;
    const again = createSeedCnn(ctx, { maxBatch: 2, seed: 4 });
    loadCheckpoint(again, encodeSafetensors(tensors, old), 'old.safetensors');
    expect(again.stepsTaken).toBe(469);
  });

  gpuTest('a bad file is refused with the file, the tensor and the field named, and the model is untouched', async (ctx) => {
    const model = createSeedCnn(ctx, { maxBatch: 2, seed: 3 });
    const { tensors } = decodeSafetensors(await encodeCheckpoint(model), 'checkpoint');
    const before = Array.from(await ctx.read(model.parameters[0]!.value));
    const variants: [string, (t: typeof tensors) => void, RegExp][] = [
      ['missing', (t) => delete t['convblock5.2.running_var'], /bad\.safetensors: tensor 'convblock5\.2\.running_var' is missing \(expected F32 \[16\]\)/],
      ['shape', (t) => (t['convblock2.0.weight'] = { dtype: 'F32', shape: [32, 16, 9], data: new Float32Array(4608) }), /'convblock2\.0\.weight': shape is \[32, 16, 9\], expected \[32, 16, 3, 3\]/],
      ['dtype', (t) => (t['convblock8.0.weight'] = { dtype: 'I32', shape: [10, 16, 1, 1], data: new Int32Array(160) }), /'convblock8\.0\.weight': dtype is I32, expected F32/],
      ['nan', (t) => ((t['convblock1.0.weight']!.data as Float32Array)[7] = NaN), /'convblock1\.0\.weight': element 7 is NaN/],
      ['huge weight', (t) => (t['convblock3.0.weight'] = scaled(t['convblock3.0.weight']!, 5, 3e38)), /^bad\.safetensors: tensor 'convblock3\.0\.weight': element 5 is 3e\+38, expected \|v\| ≤ 1e18 \(beyond that a product of two such values overflows float32\)$/],
      ['huge mean', (t) => (t['convblock2.2.running_mean'] = scaled(t['convblock2.2.running_mean']!, 1, -2e18)), /'convblock2\.2\.running_mean': element 1 is -2e\+18, expected \|v\| ≤ 1e18/],
      ['negative var', (t) => (t['convblock4.2.running_var'] = scaled(t['convblock4.2.running_var']!, 3, -0.5)), /^bad\.safetensors: tensor 'convblock4\.2\.running_var': element 3 is -0\.5, expected a variance ≥ 0$/],
      ['momentum inf', (t) => (t['optimizer.convblock1.0.weight.momentum_buffer'] = scaled(t['optimizer.convblock1.0.weight.momentum_buffer']!, 2, Infinity)), /'optimizer\.convblock1\.0\.weight\.momentum_buffer': element 2 is Infinity, expected a finite number/],
      ['tracked missing', (t) => delete t['convblock6.2.num_batches_tracked'], /^bad\.safetensors: tensor 'convblock6\.2\.num_batches_tracked' is missing \(expected I64 \[\] beside 'convblock6\.2\.running_mean'/],
      ['tracked F32', (t) => (t['convblock1.2.num_batches_tracked'] = { dtype: 'F32', shape: [], data: Float32Array.of(0) }), /'convblock1\.2\.num_batches_tracked': dtype is F32, expected I64/],
      // A momentum that loaded fine and diverged the next step, blamed on the learning rate.
      ['huge momentum', (t) => (t['optimizer.convblock1.0.weight.momentum_buffer'] = scaled(t['optimizer.convblock1.0.weight.momentum_buffer']!, 2, 7.8e36)), /'optimizer\.convblock1\.0\.weight\.momentum_buffer': element 2 is 7\.8e\+36, expected \|v\| ≤ 1e18/],
      // A larger network's file loaded in part (PyTorch's strict load refuses unexpected keys).
      ['unexpected', (t) => (t['convblock9.0.weight'] = { dtype: 'F32', shape: [10, 10, 1, 1], data: new Float32Array(100) }), /^bad\.safetensors: tensor 'convblock9\.0\.weight' is not this network's \(PyTorch's strict load_state_dict refuses unexpected keys too\): the file holds another network$/],
      ['unexpected state', (t) => (t['optimizer.convblock9.0.weight.momentum_buffer'] = { dtype: 'F32', shape: [1], data: new Float32Array(1) }), /tensor 'optimizer\.convblock9\.0\.weight\.momentum_buffer' is not this network's/],
      ['unexpected tracked', (t) => (t['convblock3.0.num_batches_tracked'] = { dtype: 'I64', shape: [], data: BigInt64Array.of(0n) }), /tensor 'convblock3\.0\.num_batches_tracked' is not this network's/],
      // One parameter's optimizer state missing would start at zero while the others went on.
      ['partial state', (t) => delete t['optimizer.convblock4.0.weight.momentum_buffer'], /^bad\.safetensors: tensor 'optimizer\.convblock4\.0\.weight\.momentum_buffer' is missing while 'optimizer\.convblock1\.0\.weight\.momentum_buffer' is there: the optimizer's state must be saved whole \(every state of every parameter\) or not at all$/],
    ];
    for (const [, change, message] of variants) {
      const copy = { ...tensors, 'convblock1.0.weight': { ...tensors['convblock1.0.weight']!, data: Float32Array.from(tensors['convblock1.0.weight']!.data as Float32Array) } } as typeof tensors;
      (copy['convblock1.0.weight']!.data as Float32Array)[0] = 123;
      change(copy);
      expect(() => loadCheckpoint(model, encodeSafetensors(copy), 'bad.safetensors')).toThrow(message);
    }
    expect(Array.from(await ctx.read(model.parameters[0]!.value))).toEqual(before);
  });

  gpuTest("Adam's exp_avg_sq must be ≥ 0; its exp_avg may be negative", async (ctx) => {
    const adam = () => new Network(ctx, seedCnn(), { inputShape: SEED_CNN_INPUT, maxBatch: 2, seed: 3, optimizer: new Adam({ lr: 0.001 }) });
    const model = adam();
    const { tensors, metadata } = decodeSafetensors(await encodeCheckpoint(model), 'adam');
    const name = 'optimizer.convblock2.0.weight';
    tensors[`${name}.exp_avg`] = scaled(tensors[`${name}.exp_avg`]!, 0, -1);
    const target = adam();
    loadCheckpoint(target, encodeSafetensors(tensors, metadata), 'adam.safetensors');
    expect((await ctx.read(target.parameters.find((p) => p.name === 'convblock2.0.weight')!.state.exp_avg!))[0]).toBe(-1);
    // Every exp_avg without any exp_avg_sq: refused (each state whole was not enough).
    const halfState = Object.fromEntries(Object.entries(tensors).filter(([k]) => !k.endsWith('.exp_avg_sq')));
    expect(() => loadCheckpoint(adam(), encodeSafetensors(halfState, metadata), 'adam.safetensors')).toThrow(/exp_avg_sq' is missing while '.*exp_avg' is there/);
    tensors[`${name}.exp_avg_sq`] = scaled(tensors[`${name}.exp_avg_sq`]!, 4, -1e-9);
    const before = Array.from(await ctx.read(target.parameters[0]!.value));
    expect(() => loadCheckpoint(adam(), encodeSafetensors(tensors, metadata), 'adam.safetensors')).toThrow(
      /^adam\.safetensors: tensor 'optimizer\.convblock2\.0\.weight\.exp_avg_sq': element 4 is -1e-9, expected a mean of squared gradients ≥ 0$/,
    );
    expect(Array.from(await ctx.read(target.parameters[0]!.value))).toEqual(before);
  });

  gpuTest("Adagrad's sum and RMSprop's square_avg must be ≥ 0 (a square root of them steps), and may be as large as a square", async (ctx) => {
    for (const [optimizer, state, words] of [[() => new Adagrad(), 'sum', 'a sum of squared gradients'], [() => new RMSprop(), 'square_avg', 'a mean of squared gradients']] as const) {
      const make = () => new Network(ctx, seedCnn(), { inputShape: SEED_CNN_INPUT, maxBatch: 2, seed: 3, optimizer: optimizer() });
      const { tensors, metadata } = decodeSafetensors(await encodeCheckpoint(make()), state);
      const name = `optimizer.convblock2.0.weight.${state}`;
      tensors[name] = scaled(tensors[name]!, 3, 2e18);
      const target = make();
      loadCheckpoint(target, encodeSafetensors(tensors, metadata), `${state}.safetensors`);
      expect((await ctx.read(target.parameters.find((p) => p.name === 'convblock2.0.weight')!.state[state]!))[3]).toBe(Math.fround(2e18));
      tensors[name] = scaled(tensors[name]!, 3, -1);
      expect(() => loadCheckpoint(make(), encodeSafetensors(tensors, metadata), `${state}.safetensors`)).toThrow(`${state}.safetensors: tensor '${name}': element 3 is -1, expected ${words} ≥ 0`);
    }
  });
});
