/**
 * ReduceLROnPlateau's steps (plateauStep) against PyTorch's own scheduler on the same metric
 * sequences: the learning rate after every epoch, for each mode, threshold mode, a cooldown, a
 * min_lr and an eps that stops a reduction, and NaN metrics. Skipped, saying so, where PyTorch is
 * not installed.
 */
import { describe, expect, test } from 'vitest';
import { runTorch, skipWithoutTorch } from '../helpers/torch.js';
import { checkSchedule, initialPlateau, plateauStep, type Schedule } from '../../src/optim/schedules.js';


const TORCH = `
import json, math, sys, torch
spec = json.load(sys.stdin)
out = []
for case in spec['cases']:
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=spec['lr'])
    s = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, **case['torch'])
    lrs = []
    for m in spec['metrics']:
        s.step(float('nan') if m is None else m)
        lrs.append(opt.param_groups[0]['lr'])
    out.append(lrs)
print(json.dumps(out))
`;

type Plateau = Extract<Schedule, { kind: 'plateau' }>;

describe('ReduceLROnPlateau against PyTorch', () => {
  test('the rate after each epoch, for every mode, threshold mode, cooldown, min_lr and eps', (ctx) => {
    skipWithoutTorch(ctx);
    // Improvements, plateaus, tiny improvements below the relative threshold, NaN (never better), a rise.
    const metrics = [1, 0.9, 0.9, 0.9, 0.89995, 0.9, 0.5, 0.5, null, 0.5, 0.5, 0.5, 0.49999, 0.6, 0.6, 0.6, 0.6, 0.6, 0.1, 0.1, 0.1, 0.1];
    const cases: [Plateau, Record<string, unknown>][] = [
      [{ kind: 'plateau' }, {}],
      [{ kind: 'plateau', patience: 1, factor: 0.5 }, { patience: 1, factor: 0.5 }],
      [{ kind: 'plateau', patience: 0, factor: 0.3, thresholdMode: 'abs', threshold: 0.05 }, { patience: 0, factor: 0.3, threshold_mode: 'abs', threshold: 0.05 }],
      [{ kind: 'plateau', mode: 'max', patience: 1, factor: 0.5 }, { mode: 'max', patience: 1, factor: 0.5 }],
      [{ kind: 'plateau', mode: 'max', patience: 0, thresholdMode: 'abs', threshold: 0.01 }, { mode: 'max', patience: 0, threshold_mode: 'abs', threshold: 0.01 }],
      [{ kind: 'plateau', patience: 1, cooldown: 2, factor: 0.5 }, { patience: 1, cooldown: 2, factor: 0.5 }],
      [{ kind: 'plateau', patience: 0, factor: 0.1, minLr: 0.004 }, { patience: 0, factor: 0.1, min_lr: 0.004 }],
      [{ kind: 'plateau', patience: 0, factor: 0.9, eps: 0.005 }, { patience: 0, factor: 0.9, eps: 0.005 }],
      // The mode from the metric where none is given: an accuracy rises (PyTorch's mode='max').
      [{ kind: 'plateau', metric: 'test-accuracy', patience: 1, factor: 0.5 }, { mode: 'max', patience: 1, factor: 0.5 }],
    ];
    const lr = 0.05;
    const torch = runTorch<number[][]>(TORCH, { lr, metrics, cases: cases.map(([, t]) => ({ torch: t })) });
    let reductions = 0;
    cases.forEach(([schedule], k) => {
      checkSchedule(schedule);
      let state = initialPlateau(schedule, lr);
      const ours = metrics.map((m) => (state = plateauStep(schedule, state, m ?? NaN)).lr);
      expect(ours, JSON.stringify(schedule)).toEqual(torch[k]);
      reductions += new Set(ours).size - 1;
      expect(state.lastEpoch).toBe(metrics.length);
    });
    // The sequences reduce the rate many times (a plateauStep that never reduced would not pass).
    expect(reductions).toBeGreaterThan(15);
  });
});
