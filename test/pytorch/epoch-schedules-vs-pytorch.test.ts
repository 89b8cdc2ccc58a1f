/**
 * LinearLR, ConstantLR, PolynomialLR and CosineAnnealingWarmRestarts (`linear`, `constant-lr`,
 * `polynomial`, `cosine-restarts`) against PyTorch's schedulers stepped once an epoch for fifteen
 * epochs — alone, with several settings each (their defaults, the ends of their ranges, a length
 * past the fifteen epochs), and after a linear warm-up (SequentialLR, as the warm-up test builds
 * it): every epoch's rate to 1e-14. One PyTorch run for all of them; skipped, saying so, where
 * PyTorch is not installed.
 */
import { describe, expect, test } from 'vitest';
import { runTorch, skipWithoutTorch } from '../helpers/torch.js';
import { checkSchedule, describeSchedule, scheduledValues, type Schedule, type Warmup } from '../../src/optim/schedules.js';

const EPOCHS = 15;

// The scheduler's step() once an epoch (its chained factors, as a training loop gets them), the
// rate read before each; with a warm-up, PyTorch's SequentialLR of LinearLR and the scheduler.
const TORCH = `
import json, sys, warnings, torch
warnings.filterwarnings('ignore')
S = torch.optim.lr_scheduler
classes = {'linear': S.LinearLR, 'constant-lr': S.ConstantLR, 'polynomial': S.PolynomialLR, 'cosine-restarts': S.CosineAnnealingWarmRestarts}
out = []
for case in json.load(sys.stdin):
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=case['lr'])
    main = classes[case['kind']](opt, **case['args'])
    w = case['warmup']
    if w is None:
        scheduler = main
    else:
        args = {} if w['start'] is None else {'start_factor': w['start']}
        scheduler = S.SequentialLR(opt, [S.LinearLR(opt, total_iters=w['epochs'], **args), main], milestones=[w['epochs']])
    rates = []
    for epoch in range(case['n']):
        rates.append(opt.param_groups[0]['lr'])
        opt.step()
        scheduler.step()
    out.append(rates)
print(json.dumps(out))
`;

/** PyTorch's argument names for each setting. */
const TORCH_NAMES: Record<string, string> = { startFactor: 'start_factor', endFactor: 'end_factor', totalIters: 'total_iters', factor: 'factor', power: 'power', t0: 'T_0', tMult: 'T_mult', etaMin: 'eta_min' };

const settings: Schedule[] = [
  { kind: 'linear' },
  { kind: 'linear', startFactor: 0.25, totalIters: 4 },
  { kind: 'linear', startFactor: 1, endFactor: 0, totalIters: 10 },
  { kind: 'linear', startFactor: 0.5, endFactor: 0.1, totalIters: 7 },
  { kind: 'linear', startFactor: 0.1, endFactor: 0.9, totalIters: 1 },
  { kind: 'linear', startFactor: 0.2, totalIters: 20 },
  { kind: 'constant-lr' },
  { kind: 'constant-lr', factor: 0.5, totalIters: 4 },
  { kind: 'constant-lr', factor: 1, totalIters: 3 },
  { kind: 'constant-lr', factor: 0.1, totalIters: 1 },
  { kind: 'constant-lr', factor: 0.7, totalIters: 14 },
  { kind: 'polynomial' },
  { kind: 'polynomial', totalIters: 10, power: 2 },
  { kind: 'polynomial', totalIters: 4, power: 0.5 },
  { kind: 'polynomial', totalIters: 7, power: 0 },
  { kind: 'polynomial', totalIters: 1, power: 3 },
  { kind: 'polynomial', totalIters: 12, power: 1.7 },
  { kind: 'cosine-restarts', t0: 3 },
  { kind: 'cosine-restarts', t0: 3, tMult: 2, etaMin: 0.01 },
  { kind: 'cosine-restarts', t0: 1 },
  { kind: 'cosine-restarts', t0: 1, tMult: 2 },
  { kind: 'cosine-restarts', t0: 4, tMult: 3, etaMin: 0.05 },
  { kind: 'cosine-restarts', t0: 5, etaMin: 0.2 },
  { kind: 'cosine-restarts', t0: 20 },
];
// A warm-up before one setting of each and before each's defaults.
const warmups: Warmup[] = [{ epochs: 3, startFactor: 0.25 }, { epochs: 1 }, { epochs: 4 }];
const warmed = settings.filter((_, k) => [0, 3, 7, 10, 13, 15, 18, 21].includes(k));
const cases = [
  ...settings.map((schedule) => ({ schedule, lr: 0.1 })),
  ...warmed.flatMap((main, k) => [{ schedule: { ...main, warmup: warmups[k % warmups.length]! } as Schedule, lr: 0.1 }]),
  ...warmed.map((main) => ({ schedule: { ...main, warmup: { epochs: 2, startFactor: 0.5 } } as Schedule, lr: 0.05 })),
];

let torchRates: number[][] | undefined;
/** Every case's rates from one PyTorch run (the first test that asks). */
function torch(): number[][] {
  torchRates ??= runTorch<number[][]>(
    TORCH,
    cases.map(({ schedule, lr }) => {
      const { kind, warmup, ...rest } = schedule as Schedule & { warmup?: Warmup };
      const args = Object.fromEntries(Object.entries(rest).map(([k, v]) => [TORCH_NAMES[k] ?? k, v]));
      return { kind, args, lr, n: EPOCHS, warmup: warmup ? { epochs: warmup.epochs, start: warmup.startFactor ?? null } : null };
    }),
  );
  return torchRates;
}

describe("LinearLR, ConstantLR, PolynomialLR and CosineAnnealingWarmRestarts against PyTorch's rates, once an epoch", () => {
  cases.forEach(({ schedule, lr }, k) => {
    test(`${describeSchedule(schedule)}, lr ${lr}: ${EPOCHS} epochs`, (ctx) => {
      skipWithoutTorch(ctx);
      const theirs = torch()[k]!;
      expect(theirs).toHaveLength(EPOCHS);
      const ours = theirs.map((_, epoch) => scheduledValues(checkSchedule(schedule), lr, 0, { epoch, step: 100 * epoch }).lr);
      ours.forEach((r, epoch) => expect(Math.abs(r - theirs[epoch]!), `epoch ${epoch}: ${r} against ${theirs[epoch]}`).toBeLessThanOrEqual(1e-14 * Math.max(1e-3, Math.abs(theirs[epoch]!))));
    });
  });

  test('the cases move: each rate changes within the fifteen epochs (a schedule held constant would pass a weaker test)', (ctx) => {
    skipWithoutTorch(ctx);
    // Except those that keep the rate by their settings: ConstantLR(factor=1), PolynomialLR(power=0),
    // CosineAnnealingWarmRestarts(T_0=1, T_mult=1) (a restart every epoch).
    cases.forEach(({ schedule }, k) => {
      const s = schedule as { factor?: number; power?: number; t0?: number; tMult?: number; warmup?: Warmup };
      const keeps = !s.warmup && (s.factor === 1 || s.power === 0 || (s.t0 === 1 && (s.tMult ?? 1) === 1));
      if (!keeps) expect(new Set(torch()[k]!).size, describeSchedule(schedule)).toBeGreaterThan(1);
    });
  });
});

describe('their settings checked as PyTorch checks them (and where its stepping would fail)', () => {
  test.each([
    [{ kind: 'linear', startFactor: 0 }, 'LinearLR: start_factor must be a number in (0, 1], got 0'],
    [{ kind: 'linear', startFactor: 1.5 }, 'LinearLR: start_factor must be a number in (0, 1], got 1.5'],
    [{ kind: 'linear', endFactor: -0.1 }, 'LinearLR: end_factor must be a number in [0, 1], got -0.1'],
    [{ kind: 'linear', endFactor: 1.01 }, 'LinearLR: end_factor must be a number in [0, 1], got 1.01'],
    [{ kind: 'linear', totalIters: 0 }, 'LinearLR: total_iters must be a whole number ≥ 1 (epochs), got 0'],
    [{ kind: 'linear', totalIters: 2.5 }, 'LinearLR: total_iters must be a whole number ≥ 1 (epochs), got 2.5'],
    [{ kind: 'linear', start_factor: 0.5 }, "schedule linear: unknown option 'start_factor'; the options are kind, startFactor, endFactor, totalIters, warmup"],
    [{ kind: 'constant-lr', factor: 0 }, 'ConstantLR: factor must be a number in (0, 1] (PyTorch accepts 0, then divides by it at total_iters), got 0'],
    [{ kind: 'constant-lr', factor: 1.5 }, 'ConstantLR: factor must be a number in (0, 1]'],
    [{ kind: 'constant-lr', totalIters: -1 }, 'ConstantLR: total_iters must be a whole number ≥ 1 (epochs), got -1'],
    [{ kind: 'polynomial', totalIters: 0 }, 'PolynomialLR: total_iters must be a whole number ≥ 1 (epochs), got 0'],
    [{ kind: 'polynomial', power: -1 }, 'PolynomialLR: power must be a number ≥ 0, got -1'],
    [{ kind: 'polynomial', power: Number.NaN }, 'PolynomialLR: power must be a number ≥ 0, got NaN'],
    [{ kind: 'cosine-restarts' }, 'CosineAnnealingWarmRestarts: T_0 must be a whole number ≥ 1 (epochs), got undefined'],
    [{ kind: 'cosine-restarts', t0: 0 }, 'CosineAnnealingWarmRestarts: T_0 must be a whole number ≥ 1 (epochs), got 0'],
    [{ kind: 'cosine-restarts', t0: 2.5 }, 'CosineAnnealingWarmRestarts: T_0 must be a whole number ≥ 1 (epochs), got 2.5'],
    [{ kind: 'cosine-restarts', t0: 3, tMult: 0 }, 'CosineAnnealingWarmRestarts: T_mult must be a whole number ≥ 1, got 0'],
    [{ kind: 'cosine-restarts', t0: 3, tMult: 1.5 }, 'CosineAnnealingWarmRestarts: T_mult must be a whole number ≥ 1, got 1.5'],
    [{ kind: 'cosine-restarts', t0: 3, etaMin: -1 }, 'CosineAnnealingWarmRestarts: eta_min must be a number ≥ 0, got -1'],
    [{ kind: 'cosine-restarts', t0: 3, tMax: 5 }, "schedule cosine-restarts: unknown option 'tMax'; the options are kind, t0, tMult, etaMin, warmup"],
    [{ kind: 'polynomial', warmup: { epochs: 0 } }, 'LinearLR: total_iters (warmup epochs) must be a whole number ≥ 1, got 0'],
  ] as [unknown, string][])('%j', (schedule, message) => {
    expect(() => checkSchedule(schedule as Schedule)).toThrow(message);
  });

  test('the ends of the ranges pass (and step to finite rates)', () => {
    for (const s of [
      { kind: 'linear', startFactor: 1, endFactor: 0, totalIters: 1 },
      { kind: 'linear', startFactor: Number.MIN_VALUE, endFactor: 1 },
      { kind: 'constant-lr', factor: 1, totalIters: 1 },
      { kind: 'polynomial', totalIters: 1, power: 0 },
      { kind: 'cosine-restarts', t0: 1, tMult: 1, etaMin: 0 },
    ] as Schedule[]) {
      expect(checkSchedule(s)).toBe(s);
      expect(Array.from({ length: 6 }, (_, epoch) => scheduledValues(s, 0.1, 0, { epoch, step: epoch }).lr).every(Number.isFinite), describeSchedule(s)).toBe(true);
    }
  });

  test("described with PyTorch's names, defaults written out", () => {
    expect(describeSchedule({ kind: 'linear' })).toBe('LinearLR(start_factor=1/3, end_factor=1, total_iters=5 epochs)');
    expect(describeSchedule({ kind: 'linear', startFactor: 0.25, endFactor: 0, totalIters: 8 })).toBe('LinearLR(start_factor=0.25, end_factor=0, total_iters=8 epochs)');
    expect(describeSchedule({ kind: 'constant-lr' })).toBe('ConstantLR(factor=1/3, total_iters=5 epochs)');
    expect(describeSchedule({ kind: 'constant-lr', factor: 0.5, totalIters: 2 })).toBe('ConstantLR(factor=0.5, total_iters=2 epochs)');
    expect(describeSchedule({ kind: 'polynomial' })).toBe('PolynomialLR(total_iters=5 epochs, power=1)');
    expect(describeSchedule({ kind: 'polynomial', totalIters: 10, power: 2 })).toBe('PolynomialLR(total_iters=10 epochs, power=2)');
    expect(describeSchedule({ kind: 'cosine-restarts', t0: 3 })).toBe('CosineAnnealingWarmRestarts(T_0=3 epochs, T_mult=1, eta_min=0)');
    expect(describeSchedule({ kind: 'cosine-restarts', t0: 3, tMult: 2, etaMin: 1e-4, warmup: { epochs: 2 } })).toBe(
      'LinearLR(start_factor=1/3, total_iters=2 epochs), then from epoch 3 CosineAnnealingWarmRestarts(T_0=3 epochs, T_mult=2, eta_min=0.0001) (SequentialLR)',
    );
  });
});
