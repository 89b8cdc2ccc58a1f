/**
 * LambdaLR, MultiplicativeLR, SequentialLR and ChainedScheduler (`lambda`, `multiplicative`,
 * `sequential`, `chained`) against torch 1.13's schedulers stepped once an epoch for twenty epochs,
 * every param group's rate each epoch to 1e-14: the functions alone and one a group; SequentialLR
 * with its step(0) at each milestone (a MultiplicativeLR after a milestone keeping the previous
 * scheduler's rate, a milestone at 0, three schedulers); ChainedScheduler of multiplicative
 * schedulers and of those that set the rate (CosineAnnealingLR's recursive form, LambdaLR,
 * CosineAnnealingWarmRestarts); a run resumed from a saved rate (PyTorch's state_dicts loaded into
 * new schedulers, MultiplicativeLR given another function). The same function written in both
 * languages; one PyTorch run for all. Skipped, saying so, where PyTorch is not installed.
 */
import { describe, expect, test } from 'vitest';
import { runTorch, skipWithoutTorch } from '../helpers/torch.js';
import { checkSchedule, describeSchedule, scheduledValues, type LrLambda, type Schedule } from '../../src/optim/schedules.js';

const EPOCHS = 20;

/** The functions of the epoch, by name (Python's the same expressions). */
const FUNCTIONS: Record<string, LrLambda> = {
  exp95: (e) => 0.95 ** e,
  inv: (e) => 1 / (e + 1),
  halving3: (e) => 0.5 ** Math.floor(e / 3),
  const09: () => 0.9,
  grow: () => 1.05,
  quarters: (e) => ((e % 4) + 1) / 4,
  zeroAt5: (e) => (e >= 5 ? 0 : 1.1),
};
const PY_FUNCTIONS = `
FN = {'exp95': lambda e: 0.95 ** e, 'inv': lambda e: 1 / (e + 1), 'halving3': lambda e: 0.5 ** (e // 3), 'const09': lambda e: 0.9,
      'grow': lambda e: 1.05, 'quarters': lambda e: (e % 4 + 1) / 4, 'zeroAt5': lambda e: 0 if e >= 5 else 1.1}
`;
const NAMES = new Map(Object.entries(FUNCTIONS).map(([name, f]) => [f as unknown, name]));
const F = FUNCTIONS;

const TORCH = `
import json, sys, warnings, torch
warnings.filterwarnings('ignore')
S = torch.optim.lr_scheduler
${PY_FUNCTIONS}
ARGS = {'stepSize': 'step_size', 'gamma': 'gamma', 'milestones': 'milestones', 'tMax': 'T_max', 'etaMin': 'eta_min', 'startFactor': 'start_factor',
        'endFactor': 'end_factor', 'totalIters': 'total_iters', 'factor': 'factor', 'power': 'power', 't0': 'T_0', 'tMult': 'T_mult'}
CLASSES = {'step': S.StepLR, 'multistep': S.MultiStepLR, 'exponential': S.ExponentialLR, 'cosine': S.CosineAnnealingLR, 'linear': S.LinearLR,
           'constant-lr': S.ConstantLR, 'polynomial': S.PolynomialLR, 'cosine-restarts': S.CosineAnnealingWarmRestarts}
def make(opt, s):
    k = s['kind']
    if k == 'sequential':
        return S.SequentialLR(opt, [make(opt, p) for p in s['schedulers']], milestones=s['milestones'])
    if k == 'chained':
        return S.ChainedScheduler([make(opt, p) for p in s['schedulers']])
    if k in ('lambda', 'multiplicative'):
        f = s['lrLambda']
        return (S.LambdaLR if k == 'lambda' else S.MultiplicativeLR)(opt, [FN[n] for n in f] if isinstance(f, list) else FN[f])
    if k == 'constant':
        return S.LambdaLR(opt, lambda e: 1.0)
    return CLASSES[k](opt, **{ARGS[a]: v for a, v in s.items() if a != 'kind'})
out = []
for case in json.load(sys.stdin):
    ps = [torch.nn.Parameter(torch.zeros(1)) for _ in case['lrs']]
    opt = torch.optim.SGD([{'params': [p], 'lr': lr} for p, lr in zip(ps, case['lrs'])], lr=case['lrs'][0])
    scheduler = make(opt, case['schedule'])
    rates = []
    for epoch in range(case['n']):
        if case['resume'] is not None and epoch == case['resume']['epoch']:
            # A checkpoint: the optimizer's and scheduler's state_dicts into new ones (functions given again).
            state, opt_state = scheduler.state_dict(), opt.state_dict()
            ps = [torch.nn.Parameter(torch.zeros(1)) for _ in case['lrs']]
            opt = torch.optim.SGD([{'params': [p], 'lr': lr} for p, lr in zip(ps, case['lrs'])], lr=case['lrs'][0])
            scheduler = make(opt, case['resume']['schedule'])
            opt.load_state_dict(opt_state)
            scheduler.load_state_dict(state)
        rates.append([g['lr'] for g in opt.param_groups])
        opt.step()
        scheduler.step()
    out.append(rates)
print(json.dumps(out))
`;

interface Case {
  readonly schedule: Schedule;
  /** Each param group's own rate (PyTorch's group order). */
  readonly lrs: readonly number[];
  /** Saved at this epoch and continued with `schedule` (its functions may be others). */
  readonly resume?: { readonly epoch: number; readonly schedule: Schedule };
}

const cases: Case[] = [
  // LambdaLR and MultiplicativeLR alone, one function and one a group.
  { schedule: { kind: 'lambda', lrLambda: F.exp95! }, lrs: [0.1] },
  { schedule: { kind: 'lambda', lrLambda: F.inv! }, lrs: [0.1] },
  { schedule: { kind: 'lambda', lrLambda: F.halving3! }, lrs: [0.05, 0.3] },
  { schedule: { kind: 'lambda', lrLambda: [F.exp95!, F.quarters!] }, lrs: [0.1, 0.5] },
  { schedule: { kind: 'multiplicative', lrLambda: F.const09! }, lrs: [0.1] },
  { schedule: { kind: 'multiplicative', lrLambda: F.grow! }, lrs: [0.01] },
  { schedule: { kind: 'multiplicative', lrLambda: F.quarters! }, lrs: [0.1, 0.2] },
  { schedule: { kind: 'multiplicative', lrLambda: F.zeroAt5! }, lrs: [0.1] },
  { schedule: { kind: 'multiplicative', lrLambda: [F.const09!, F.inv!, F.exp95!] }, lrs: [0.1, 0.1, 0.4] },
  // SequentialLR: step(0) of the next scheduler at each milestone.
  { schedule: { kind: 'sequential', schedulers: [{ kind: 'linear', startFactor: 0.25, totalIters: 3 }, { kind: 'cosine', tMax: 10, etaMin: 0.01 }], milestones: [3] }, lrs: [0.1] },
  { schedule: { kind: 'sequential', schedulers: [{ kind: 'constant-lr', factor: 0.5, totalIters: 2 }, { kind: 'exponential', gamma: 0.9 }, { kind: 'step', stepSize: 3, gamma: 0.5 }], milestones: [2, 7] }, lrs: [0.1, 0.02] },
  { schedule: { kind: 'sequential', schedulers: [{ kind: 'multiplicative', lrLambda: F.const09! }, { kind: 'exponential', gamma: 0.8 }], milestones: [4] }, lrs: [0.1] },
  // A MultiplicativeLR after a milestone: step(0) has no closed form, so it keeps the rate the exponential left.
  { schedule: { kind: 'sequential', schedulers: [{ kind: 'exponential', gamma: 0.7 }, { kind: 'multiplicative', lrLambda: F.grow! }], milestones: [5] }, lrs: [0.1, 0.3] },
  { schedule: { kind: 'sequential', schedulers: [{ kind: 'lambda', lrLambda: F.inv! }, { kind: 'cosine-restarts', t0: 3, tMult: 2, etaMin: 0.001 }], milestones: [4] }, lrs: [0.1] },
  { schedule: { kind: 'sequential', schedulers: [{ kind: 'polynomial', totalIters: 4, power: 2 }, { kind: 'multistep', milestones: [2, 5], gamma: 0.3 }, { kind: 'linear' }], milestones: [6, 12] }, lrs: [0.1] },
  // A milestone at 0: the second scheduler's first step() is its last_epoch 0 on the first one's rate.
  { schedule: { kind: 'sequential', schedulers: [{ kind: 'linear', startFactor: 0.5, totalIters: 4 }, { kind: 'exponential', gamma: 0.9 }], milestones: [0] }, lrs: [0.1] },
  { schedule: { kind: 'sequential', schedulers: [{ kind: 'linear', startFactor: 0.5, totalIters: 4 }, { kind: 'linear', startFactor: 0.5, totalIters: 4 }], milestones: [0] }, lrs: [0.1] },
  { schedule: { kind: 'sequential', schedulers: [{ kind: 'cosine', tMax: 5 }, { kind: 'cosine', tMax: 5, etaMin: 0.02 }], milestones: [5] }, lrs: [0.1, 0.7] },
  { schedule: { kind: 'sequential', schedulers: [{ kind: 'constant' }, { kind: 'step', stepSize: 2, gamma: 0.5 }], milestones: [3] }, lrs: [0.1] },
  { schedule: { kind: 'sequential', schedulers: [{ kind: 'lambda', lrLambda: [F.exp95!, F.inv!] }, { kind: 'multiplicative', lrLambda: [F.const09!, F.grow!] }], milestones: [6] }, lrs: [0.1, 0.5] },
  // ChainedScheduler: each scheduler's step on the rate the one before left.
  { schedule: { kind: 'chained', schedulers: [{ kind: 'constant-lr', factor: 0.1, totalIters: 2 }, { kind: 'exponential', gamma: 0.9 }] }, lrs: [1] },
  { schedule: { kind: 'chained', schedulers: [{ kind: 'step', stepSize: 3, gamma: 0.5 }, { kind: 'multiplicative', lrLambda: F.const09! }] }, lrs: [0.1, 0.2] },
  { schedule: { kind: 'chained', schedulers: [{ kind: 'linear', startFactor: 0.25, totalIters: 4 }, { kind: 'exponential', gamma: 0.95 }, { kind: 'multistep', milestones: [5, 9], gamma: 0.5 }] }, lrs: [0.1] },
  { schedule: { kind: 'chained', schedulers: [{ kind: 'polynomial', totalIters: 10, power: 1.5 }, { kind: 'constant-lr', factor: 0.5, totalIters: 3 }] }, lrs: [0.1] },
  { schedule: { kind: 'chained', schedulers: [{ kind: 'cosine', tMax: 6, etaMin: 0.01 }, { kind: 'exponential', gamma: 0.9 }] }, lrs: [0.1] },
  { schedule: { kind: 'chained', schedulers: [{ kind: 'lambda', lrLambda: F.inv! }, { kind: 'exponential', gamma: 0.9 }] }, lrs: [0.1, 0.4] },
  { schedule: { kind: 'chained', schedulers: [{ kind: 'cosine-restarts', t0: 4 }, { kind: 'exponential', gamma: 0.95 }] }, lrs: [0.1] },
  { schedule: { kind: 'chained', schedulers: [{ kind: 'multiplicative', lrLambda: [F.quarters!, F.grow!] }, { kind: 'step', stepSize: 4, gamma: 0.5 }] }, lrs: [0.1, 0.05] },
  // Resumed at epoch 7 from the saved rate: MultiplicativeLR with another function multiplies the saved rate.
  { schedule: { kind: 'multiplicative', lrLambda: F.const09! }, lrs: [0.1, 0.3], resume: { epoch: 7, schedule: { kind: 'multiplicative', lrLambda: F.grow! } } },
  { schedule: { kind: 'sequential', schedulers: [{ kind: 'exponential', gamma: 0.7 }, { kind: 'multiplicative', lrLambda: F.const09! }], milestones: [4] }, lrs: [0.1], resume: { epoch: 9, schedule: { kind: 'sequential', schedulers: [{ kind: 'exponential', gamma: 0.7 }, { kind: 'multiplicative', lrLambda: F.quarters! }], milestones: [4] } } },
  { schedule: { kind: 'chained', schedulers: [{ kind: 'cosine-restarts', t0: 3, tMult: 2 }, { kind: 'multiplicative', lrLambda: F.exp95! }] }, lrs: [0.1], resume: { epoch: 5, schedule: { kind: 'chained', schedulers: [{ kind: 'cosine-restarts', t0: 3, tMult: 2 }, { kind: 'multiplicative', lrLambda: F.inv! }] } } },
];

/** The schedule as the PyTorch script reads it: each function by its name. */
const forTorch = (schedule: Schedule): unknown => JSON.parse(JSON.stringify(schedule, (_, v) => (typeof v === 'function' ? NAMES.get(v) : v)));

let torchRates: number[][][] | undefined;
function torch(): number[][][] {
  torchRates ??= runTorch<number[][][]>(TORCH, cases.map((c) => ({ schedule: forTorch(c.schedule), lrs: c.lrs, n: EPOCHS, resume: c.resume ? { epoch: c.resume.epoch, schedule: forTorch(c.resume.schedule) } : null })));
  return torchRates;
}

/** The engine's rates: each group's, each epoch; after a resume, from the rate saved at its epoch. */
function ours({ schedule, lrs, resume }: Case): number[][] {
  checkSchedule(schedule);
  return Array.from({ length: EPOCHS }, (_, epoch) =>
    lrs.map((lr, group) => {
      if (!resume || epoch < resume.epoch) return scheduledValues(schedule, lr, 0, { epoch, step: epoch, group }).lr;
      const saved = scheduledValues(schedule, lr, 0, { epoch: resume.epoch, step: 0, group }).lr;
      return scheduledValues(resume.schedule, lr, 0, { epoch, step: epoch, group, from: { epoch: resume.epoch, lr: saved } }).lr;
    }),
  );
}

let worst = 0;
describe("LambdaLR, MultiplicativeLR, SequentialLR and ChainedScheduler against torch 1.13's rates, once an epoch", () => {
  cases.forEach((c, k) => {
    test(`${describeSchedule(c.schedule)}, lrs ${c.lrs.join(', ')}${c.resume ? `, resumed at epoch ${c.resume.epoch} with ${describeSchedule(c.resume.schedule)}` : ''}: ${EPOCHS} epochs`, (ctx) => {
      skipWithoutTorch(ctx);
      const theirs = torch()[k]!;
      expect(theirs).toHaveLength(EPOCHS);
      const mine = ours(c);
      mine.forEach((groups, epoch) =>
        groups.forEach((r, group) => {
          const t = theirs[epoch]![group]!;
          worst = Math.max(worst, Math.abs(r - t) / Math.max(1e-3, Math.abs(t)));
          expect(Math.abs(r - t), `epoch ${epoch}, group ${group}: ${r} against ${t}`).toBeLessThanOrEqual(1e-14 * Math.max(1e-3, Math.abs(t)));
        }),
      );
    });
  });

  test('the cases move, and groups differ where their functions or rates do (a constant schedule would pass a weaker test)', (ctx) => {
    skipWithoutTorch(ctx);
    cases.forEach((c, k) => {
      const rates = torch()[k]!;
      for (let g = 0; g < c.lrs.length; g++) expect(new Set(rates.map((r) => r[g])).size, describeSchedule(c.schedule)).toBeGreaterThan(2);
    });
    // The quirks the cases are there for: MultiplicativeLR keeps the exponential's rate at the milestone, 0.1 × 0.7^4 (not 0.1).
    expect(torch()[12]![5]![0]).toBeCloseTo(0.1 * 0.7 ** 4, 15);
    console.log(`stepped schedules against torch 1.13: largest relative difference ${worst.toExponential(2)}`);
  });
});
