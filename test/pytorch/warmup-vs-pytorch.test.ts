/**
 * A linear warm-up before an epoch-based schedule (`warmup: { epochs, startFactor }`) against
 * PyTorch's SequentialLR([LinearLR(start_factor, 1.0, total_iters), main], milestones=[total_iters]),
 * stepped once an epoch for twelve epochs: every epoch's rate. Skipped, saying so, where PyTorch is
 * not installed.
 */
import { describe, expect, test } from 'vitest';
import { runTorch, skipWithoutTorch } from '../helpers/torch.js';
import { checkSchedule, describeSchedule, scheduledValues, type Schedule } from '../../src/optim/schedules.js';

const TORCH = `
import json, sys, warnings, torch
warnings.filterwarnings('ignore')
spec = json.load(sys.stdin)
p = torch.nn.Parameter(torch.zeros(1))
opt = torch.optim.SGD([p], lr=spec['lr'])
S = torch.optim.lr_scheduler
kind = spec['kind']
main = {'constant': lambda: S.LambdaLR(opt, lambda e: 1.0), 'step': lambda: S.StepLR(opt, 2, 0.5), 'multistep': lambda: S.MultiStepLR(opt, [2, 5], 0.3),
        'exponential': lambda: S.ExponentialLR(opt, 0.8), 'cosine': lambda: S.CosineAnnealingLR(opt, 6, eta_min=0.01)}[kind]
args = {} if spec['start'] is None else {'start_factor': spec['start']}
warm = S.LinearLR(opt, total_iters=spec['epochs'], **args)
seq = S.SequentialLR(opt, [warm, main()], milestones=[spec['epochs']])
rates = []
for epoch in range(12):
    rates.append(opt.param_groups[0]['lr'])
    opt.step()
    seq.step()
print(json.dumps(rates))
`;

const mains: Record<string, Schedule> = {
  constant: { kind: 'constant' },
  step: { kind: 'step', stepSize: 2, gamma: 0.5 },
  multistep: { kind: 'multistep', milestones: [2, 5], gamma: 0.3 },
  exponential: { kind: 'exponential', gamma: 0.8 },
  cosine: { kind: 'cosine', tMax: 6, etaMin: 0.01 },
};

describe("a linear warm-up (LinearLR in a SequentialLR) against PyTorch's rates", () => {
  for (const [kind, main] of Object.entries(mains)) {
    for (const [epochs, start] of [[3, 0.25], [1, undefined], [4, undefined]] as const) {
      test(`${kind}, warm-up of ${epochs} epoch${epochs === 1 ? '' : 's'} from ${start ?? 'the default 1/3'}: twelve epochs`, (ctx) => {
        skipWithoutTorch(ctx);
        const lr = 0.1;
        const schedule = checkSchedule({ ...main, warmup: { epochs, ...(start === undefined ? {} : { startFactor: start }) } } as Schedule);
        const torch = runTorch<number[]>(TORCH, { kind, lr, epochs, start: start ?? null });
        const ours = torch.map((_, epoch) => scheduledValues(schedule, lr, 0, { epoch, step: epoch }).lr);
        ours.forEach((r, epoch) => expect(Math.abs(r - torch[epoch]!), `epoch ${epoch}: ${r} against ${torch[epoch]} (${describeSchedule(schedule)})`).toBeLessThanOrEqual(1e-14 * Math.max(1e-3, Math.abs(torch[epoch]!))));
      });
    }
  }
});

describe('a warm-up checked as PyTorch checks LinearLR', () => {
  test('its epochs a whole number ≥ 1, its start factor in (0, 1], no other field, and only before an epoch-based schedule', () => {
    expect(() => checkSchedule({ kind: 'cosine', tMax: 5, warmup: { epochs: 0 } })).toThrow('LinearLR: total_iters (warmup epochs) must be a whole number ≥ 1, got 0');
    expect(() => checkSchedule({ kind: 'constant', warmup: { epochs: 2, startFactor: 0 } })).toThrow('LinearLR: start_factor must be a number in (0, 1], got 0');
    expect(() => checkSchedule({ kind: 'constant', warmup: { epochs: 2, endFactor: 1 } as never })).toThrow("schedule constant: warmup has 'endFactor'; it takes epochs and startFactor");
    expect(() => checkSchedule({ kind: 'onecycle', maxLr: 0.1, totalSteps: 10, warmup: { epochs: 2 } } as never)).toThrow('schedule onecycle: a warm-up goes before an epoch-based schedule only (constant, step, multistep, exponential, cosine, linear, constant-lr, polynomial, cosine-restarts); OneCycleLR has its own (pct_start)');
    expect(() => checkSchedule({ kind: 'plateau', warmup: { epochs: 2 } } as never)).toThrow('schedule plateau: a warm-up goes before an epoch-based schedule only');
    expect(describeSchedule({ kind: 'constant', warmup: { epochs: 2, startFactor: 1 / 3 } })).toContain('LinearLR(start_factor=1/3,');
    expect(describeSchedule({ kind: 'cosine', tMax: 5, warmup: { epochs: 2 } })).toBe('LinearLR(start_factor=1/3, total_iters=2 epochs), then from epoch 3 CosineAnnealingLR(T_max=5 epochs, eta_min=0) (SequentialLR)');
  });
});
