/**
 * Learning-rate schedules against PyTorch's (torch.optim.lr_scheduler, 2.x) on a table of steps:
 * the values below are what `scheduler.get_last_lr()` gives after `last_epoch` steps.
 */
import { describe, expect, test } from 'vitest';
import { checkSchedule, scheduledValues, type Schedule } from '../../src/optim/schedules.js';
import { Adam, AdamW, SGD } from '../../src/optim/optimizers.js';

const run = (schedule: Schedule, lr: number, momentum: number, unit: 'epoch' | 'step', n: number) =>
  Array.from({ length: n }, (_, k) => scheduledValues(schedule, lr, momentum, unit === 'epoch' ? { epoch: k, step: 1000 * k } : { epoch: 0, step: k }));

describe('schedules as PyTorch computes them', () => {
  test('StepLR(step_size=2, gamma=0.5), lr 0.1: per epoch', () => {
    expect(run({ kind: 'step', stepSize: 2, gamma: 0.5 }, 0.1, 0.9, 'epoch', 5).map((v) => v.lr)).toEqual([0.1, 0.1, 0.05, 0.05, 0.025]);
  });
  test('MultiStepLR(milestones=[2, 3], gamma=0.5), lr 0.1: per epoch', () => {
    // torch 1.13: [0.1, 0.1, 0.05, 0.025, 0.025]
    expect(run({ kind: 'multistep', milestones: [2, 3], gamma: 0.5 }, 0.1, 0.9, 'epoch', 5).map((v) => v.lr)).toEqual([0.1, 0.1, 0.05, 0.025, 0.025]);
  });
  test('MultiStepLR reads milestones as PyTorch: any order, a repeated one twice, 0 at once', () => {
    // torch 1.13: [3, 1, 1] → [0.1, 0.025, 0.025, 0.0125, 0.0125]; [0, 2] → [0.05, 0.05, 0.025, 0.025]
    expect(run({ kind: 'multistep', milestones: [3, 1, 1], gamma: 0.5 }, 0.1, 0.9, 'epoch', 5).map((v) => v.lr)).toEqual([0.1, 0.025, 0.025, 0.0125, 0.0125]);
    expect(run({ kind: 'multistep', milestones: [0, 2], gamma: 0.5 }, 0.1, 0.9, 'epoch', 4).map((v) => v.lr)).toEqual([0.05, 0.05, 0.025, 0.025]);
    expect(run({ kind: 'multistep', milestones: [] }, 0.1, 0.9, 'epoch', 2).map((v) => v.lr)).toEqual([0.1, 0.1]);
  });
  test('ExponentialLR(gamma=0.9), lr 0.1: per epoch', () => {
    // torch 1.13 (chained products): 0.1, 0.09000000000000001, 0.08100000000000002, 0.07290000000000002, 0.06561000000000002
    const lrs = run({ kind: 'exponential', gamma: 0.9 }, 0.1, 0.9, 'epoch', 5).map((v) => v.lr);
    [0.1, 0.09000000000000001, 0.08100000000000002, 0.07290000000000002, 0.06561000000000002].forEach((want, k) => expect(lrs[k]).toBeCloseTo(want, 15));
  });
  test('CosineAnnealingLR(T_max=4), lr 1: per epoch', () => {
    const lrs = run({ kind: 'cosine', tMax: 4 }, 1, 0.9, 'epoch', 5).map((v) => v.lr);
    [1, 0.8535533905932737, 0.5, 0.14644660940672627, 0].forEach((want, k) => expect(lrs[k]).toBeCloseTo(want, 15));
  });
  test('OneCycleLR(max_lr=1, total_steps=10): learning rate and SGD momentum per step', () => {
    const values = run({ kind: 'onecycle', maxLr: 1, totalSteps: 10 }, 0.01, 0.9, 'step', 10);
    // initial_lr = max_lr / 25 = 0.04, min_lr = initial_lr / 1e4; phase 1 (steps 0–2, since it ends at
    // 0.3·10 − 1 = 2) anneals 0.04 → 1 and momentum 0.95 → 0.85 by cosine, phase 2 (steps 2–9) 1 → 4e-6
    // and 0.85 → 0.95: PyTorch's _annealing_cos, evaluated in float64 outside this code.
    const lr = [0.04, 0.52, 1.0, 0.950484632013, 0.81174565395, 0.611262021936, 0.388741978064, 0.18825834605, 0.0495193679865, 4e-6];
    const momentum = [0.95, 0.9, 0.85, 0.854951556605, 0.868825509907, 0.888873953302, 0.911126046698, 0.931174490093, 0.945048443395, 0.95];
    values.forEach((v, k) => {
      expect(v.lr, `lr at step ${k}`).toBeCloseTo(lr[k]!, 11);
      expect(v.momentum, `momentum at step ${k}`).toBeCloseTo(momentum[k]!, 11);
    });
    expect(() => scheduledValues({ kind: 'onecycle', maxLr: 1, totalSteps: 10 }, 0.01, 0.9, { epoch: 0, step: 10 })).toThrow(/past total_steps 10/);
  });
});

describe('bad schedules and optimizer settings are refused when made, naming the field (as PyTorch\'s constructors)', () => {
  const bad: [Schedule, string][] = [
    [{ kind: 'step', stepSize: 0 }, 'StepLR: step_size must be a whole number ≥ 1, got 0'],
    [{ kind: 'step', stepSize: 1.5 }, 'StepLR: step_size must be a whole number ≥ 1, got 1.5'],
    [{ kind: 'step', stepSize: 2, gamma: -1 }, 'StepLR: gamma must be a number ≥ 0, got -1'],
    [{ kind: 'cosine', tMax: 0 }, 'CosineAnnealingLR: T_max must be a number > 0, got 0'],
    [{ kind: 'cosine', tMax: 5, etaMin: Number.NaN }, 'CosineAnnealingLR: eta_min must be a number ≥ 0, got NaN'],
    [{ kind: 'onecycle', maxLr: 0.1, totalSteps: 0 }, 'OneCycleLR: total_steps must be a whole number ≥ 1, got 0'],
    [{ kind: 'onecycle', maxLr: 0.1, totalSteps: 10, pctStart: 1 }, 'OneCycleLR: pct_start must be a number in (0, 1), got 1'],
    // A warm-up that ends before its first step: the first learning rate was NaN (0/0), a "divergence".
    [{ kind: 'onecycle', maxLr: 0.1, totalSteps: 10, pctStart: 0.1 }, 'OneCycleLR: pct_start 0.1 × total_steps 10 is 1: the warm-up would end before its first step'],
    [{ kind: 'multistep', milestones: [3, 1.5] }, 'MultiStepLR: milestones must be a list of whole numbers ≥ 0 (epochs), got [3,1.5]'],
    [{ kind: 'multistep', milestones: 5 } as never, 'MultiStepLR: milestones must be a list of whole numbers ≥ 0 (epochs), got 5'],
    [{ kind: 'exponential' } as never, 'ExponentialLR: gamma must be a number ≥ 0, got undefined'],
    [{ kind: 'bogus' } as never, "schedule: kind must be 'constant', 'step', 'multistep', 'exponential', 'cosine', 'linear', 'constant-lr', 'polynomial', 'cosine-restarts', 'onecycle', 'plateau', 'lambda', 'multiplicative', 'sequential' or 'chained', got \"bogus\""],
  ];
  test.each(bad)('%j', (schedule, message) => {
    expect(() => checkSchedule(schedule)).toThrow(message);
    expect(() => new SGD({ lr: 0.1 }, schedule)).toThrow(message);
    expect(() => new Adam({}, schedule)).toThrow(message);
  });
  test('good ones pass, and the optimizers’ numbers must be numbers', () => {
    for (const s of [{ kind: 'constant' }, { kind: 'step', stepSize: 3, gamma: 0.5 }, { kind: 'cosine', tMax: 8 }, { kind: 'onecycle', maxLr: 0.1, totalSteps: 100 }] as Schedule[]) {
      expect(checkSchedule(s)).toBe(s);
    }
    // Next to the refused one: PyTorch steps these (the warm-up shorter than a step, or two steps).
    for (const pctStart of [0.05, 0.2]) {
      const s: Schedule = { kind: 'onecycle', maxLr: 0.1, totalSteps: 10, pctStart };
      expect(Array.from({ length: 10 }, (_, step) => scheduledValues(checkSchedule(s), 0.1, 0.9, { epoch: 0, step }).lr).every(Number.isFinite)).toBe(true);
    }
    expect(() => new SGD({ lr: '0.1' as never })).toThrow('SGD: lr must be a finite number ≥ 0, got "0.1"');
    expect(() => new Adam({ lr: Number.POSITIVE_INFINITY })).toThrow('Adam: lr must be a finite number ≥ 0, got Infinity');
  });
  test("PyTorch's defaults: SGD lr 1e-3 (PyTorch 2), momentum 0; Adam lr 1e-3, betas (0.9, 0.999), eps 1e-8; AdamW's weight decay 0.01", () => {
    const sgd = new SGD();
    expect([sgd.lr, sgd.momentum, sgd.dampening, sgd.weightDecay, sgd.nesterov]).toEqual([1e-3, 0, 0, 0, false]);
    const adam = new Adam();
    expect([adam.lr, ...adam.betas, adam.eps, adam.weightDecay]).toEqual([1e-3, 0.9, 0.999, 1e-8, 0]);
    expect(new AdamW().weightDecay).toBe(0.01);
  });
});
