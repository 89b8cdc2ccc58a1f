/**
 * Adamax and Adadelta against torch.optim.Adamax and torch.optim.Adadelta of PyTorch 1.13 on float64
 * tensors over eight steps, the scheduler stepped after each: the float64 reference (adamaxRef,
 * adadeltaRef: every parameter after every step, and the state at the end: exp_avg and exp_inf,
 * square_avg and acc_delta) and the host's per-step values the kernels read (hyperValues: Adamax's
 * clr = lr/(1 − β1^t), each param group's own) against PyTorch's — at PyTorch's defaults; with weight
 * decay, other settings and param groups (a group's lr and weight_decay, a group's lr) under StepLR;
 * and under OneCycleLR (cycling Adamax's β1 as PyTorch's cycle_momentum does; Adadelta, which has no
 * momentum, with cycle_momentum=False, and refused with it as PyTorch refuses). Skipped, saying so,
 * where PyTorch is not installed.
 */
import { describe, expect, test } from 'vitest';
import { runTorch, skipWithoutTorch } from '../helpers/torch.js';
import { adadeltaRef, adamaxRef } from '../../src/reference/optimizers.js';
import { Adadelta, Adamax, hyperValues, learningRates, weightDecays, type ParamGroup } from '../../src/optim/optimizers.js';
import { scheduledValues, type Schedule } from '../../src/optim/schedules.js';
import { randomArray } from '../helpers/allclose.js';

const TORCH = `
import json, sys, torch
spec = json.load(sys.stdin)
ps = [torch.nn.Parameter(torch.tensor(v, dtype=torch.float64)) for v in spec['params']]
groups = []
for k, p in enumerate(ps):
    g = {'params': [p]}
    g.update(spec['groups'][k])
    groups.append(g)
o = spec['options']
if spec['optimizer'] == 'adamax':
    opt = torch.optim.Adamax(groups, **o)
else:
    opt = torch.optim.Adadelta(groups, **o)
s = spec['schedule']
sched = None
if s['kind'] == 'step':
    sched = torch.optim.lr_scheduler.StepLR(opt, s['step_size'], s['gamma'])
elif s['kind'] == 'onecycle':
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=s['max_lr'], total_steps=s['total_steps'], cycle_momentum=s['cycle_momentum'])
steps = []
for grads in spec['grads']:
    rates = [g['lr'] for g in opt.param_groups]
    beta1 = opt.param_groups[0]['betas'][0] if 'betas' in opt.param_groups[0] else None
    for p, g in zip(ps, grads):
        p.grad = torch.tensor(g, dtype=torch.float64)
    opt.step()
    t = opt.state[ps[0]]['step']
    t = t.item() if torch.is_tensor(t) else t
    # Adamax's clr as _single_tensor_adamax computes it, a group at a time.
    clr = [r / (1 - beta1 ** t) for r in rates] if beta1 is not None else None
    steps.append({'params': [p.detach().tolist() for p in ps], 'rates': rates, 'beta1': beta1, 'clr': clr, 'step': t})
    if sched: sched.step()
state = [{k: (v.tolist() if torch.is_tensor(v) and v.dim() > 0 else (v.item() if torch.is_tensor(v) else v)) for k, v in opt.state[p].items()} for p in ps]
print(json.dumps({'steps': steps, 'state': state}))
`;

const REFUSED = `
import torch
p = torch.nn.Parameter(torch.zeros(2, dtype=torch.float64))
try:
    torch.optim.lr_scheduler.OneCycleLR(torch.optim.Adadelta([p]), max_lr=0.1, total_steps=4)
    print('accepted')
except ValueError as e:
    print(str(e))
`;

interface TorchRun {
  steps: { params: number[][]; rates: number[]; beta1: number | null; clr: number[] | null; step: number }[];
  state: Record<string, number[] | number>[];
}

const close = (what: string, got: number, want: number) => expect(Math.abs(got - want), `${what}: ${got} against PyTorch's ${want}`).toBeLessThanOrEqual(1e-13 * Math.max(1, Math.abs(want)));

type Case = {
  name: string;
  optimizer: 'adamax' | 'adadelta';
  options: Record<string, unknown>;
  /** PyTorch's keyword arguments. */
  torchOptions: Record<string, unknown>;
  /** Each parameter's group in PyTorch's terms (b and c have their own). */
  groups: Record<string, number>[];
  paramGroups?: ParamGroup[];
  schedule: Schedule;
  torchSchedule: Record<string, unknown>;
};

const STEPS = 8;
const N = 37;
const STEP_LR: Schedule = { kind: 'step', stepSize: 3, gamma: 0.5 };
const CASES: Case[] = [
  { name: "PyTorch's defaults", optimizer: 'adamax', options: {}, torchOptions: {}, groups: [{}, {}, {}], schedule: { kind: 'constant' }, torchSchedule: { kind: 'constant' } },
  {
    name: 'weight decay 0.05, betas (0.8, 0.99), eps 1e-6, lr 0.05; groups (lr 0.2 and weight_decay 0; lr 0.2); StepLR(3, 0.5)',
    optimizer: 'adamax', options: { lr: 0.05, betas: [0.8, 0.99], eps: 1e-6, weightDecay: 0.05 }, torchOptions: { lr: 0.05, betas: [0.8, 0.99], eps: 1e-6, weight_decay: 0.05 },
    groups: [{}, { lr: 0.2, weight_decay: 0 }, { lr: 0.2 }], paramGroups: [{ params: ['b'], lr: 0.2, weightDecay: 0 }, { params: ['c'], lr: 0.2 }],
    schedule: STEP_LR, torchSchedule: { kind: 'step', step_size: 3, gamma: 0.5 },
  },
  {
    name: 'OneCycleLR cycling β1 (max_lr 0.05 over 10 steps), weight decay 0.01, a group without it',
    optimizer: 'adamax', options: { weightDecay: 0.01 }, torchOptions: { weight_decay: 0.01 },
    groups: [{}, { weight_decay: 0 }, {}], paramGroups: [{ params: ['b'], weightDecay: 0 }],
    schedule: { kind: 'onecycle', maxLr: 0.05, totalSteps: 10 }, torchSchedule: { kind: 'onecycle', max_lr: 0.05, total_steps: 10, cycle_momentum: true },
  },
  { name: "PyTorch's defaults", optimizer: 'adadelta', options: {}, torchOptions: {}, groups: [{}, {}, {}], schedule: { kind: 'constant' }, torchSchedule: { kind: 'constant' } },
  {
    name: 'weight decay 0.05, rho 0.8, eps 1e-4, lr 0.5; groups (lr 2 and weight_decay 0; lr 2); StepLR(3, 0.5)',
    optimizer: 'adadelta', options: { lr: 0.5, rho: 0.8, eps: 1e-4, weightDecay: 0.05 }, torchOptions: { lr: 0.5, rho: 0.8, eps: 1e-4, weight_decay: 0.05 },
    groups: [{}, { lr: 2, weight_decay: 0 }, { lr: 2 }], paramGroups: [{ params: ['b'], lr: 2, weightDecay: 0 }, { params: ['c'], lr: 2 }],
    schedule: STEP_LR, torchSchedule: { kind: 'step', step_size: 3, gamma: 0.5 },
  },
  {
    name: 'OneCycleLR without cycling (max_lr 2 over 10 steps), weight decay 0.01, a group without it',
    optimizer: 'adadelta', options: { weightDecay: 0.01 }, torchOptions: { weight_decay: 0.01 },
    groups: [{}, { weight_decay: 0 }, {}], paramGroups: [{ params: ['b'], weightDecay: 0 }],
    schedule: { kind: 'onecycle', maxLr: 2, totalSteps: 10, cycleMomentum: false }, torchSchedule: { kind: 'onecycle', max_lr: 2, total_steps: 10, cycle_momentum: false },
  },
];

describe('Adamax and Adadelta against PyTorch 1.13 (float64)', () => {
  for (const c of CASES) {
    test(`${c.optimizer}, ${c.name}: ${STEPS} steps, three parameters`, (ctx) => {
      skipWithoutTorch(ctx);
      const opt = c.optimizer === 'adamax' ? new Adamax({ ...c.options, paramGroups: c.paramGroups }, c.schedule) : new Adadelta({ ...c.options, paramGroups: c.paramGroups }, c.schedule);
      // Gradients shrinking step by step (exp_inf's β2·exp_inf then wins over |g| + eps) and some exactly 0 (|g| + eps wins, or eps alone).
      const grads = Array.from({ length: STEPS }, (_, k) => [0, 1, 2].map((j) => {
        const g = Array.from(randomArray(N, 200 + 10 * k + j, -1 / (k + 1), 1 / (k + 1)));
        g[k] = 0;
        return g;
      }));
      const spec = { optimizer: c.optimizer, options: c.torchOptions, groups: c.groups, schedule: c.torchSchedule, params: [0, 1, 2].map((j) => Array.from(randomArray(N, 190 + j))), grads };
      const torch = runTorch<TorchRun>(TORCH, spec);
      const parameters = ['a', 'b', 'c'].map((name) => ({ name, shape: [N] }));
      const [bases, decays] = [learningRates(opt, parameters), weightDecays(opt, parameters)];
      const states = spec.params.map((p) => ({ param: Float64Array.from(p) as Float64Array<ArrayBufferLike>, s1: new Float64Array(N) as Float64Array<ArrayBufferLike>, s2: new Float64Array(N) as Float64Array<ArrayBufferLike> }));
      grads.forEach((g3, k) => {
        const t = k + 1;
        const theirs = torch.steps[k]!;
        expect(theirs.step).toBe(t);
        g3.forEach((g, j) => {
          // Each parameter's rate: the schedule from its group's own (the Network's beginStep); β1 the schedule's (OneCycleLR's cycled one).
          const { lr, momentum } = scheduledValues(opt.schedule, bases[j]!, opt.kind === 'adamax' ? opt.betas[0] : 0, { epoch: k, step: k });
          close(`step ${t}: parameter ${j}'s rate`, lr, theirs.rates[j]!);
          const s = states[j]!;
          if (opt.kind === 'adamax') {
            close(`step ${t}: β1`, momentum, theirs.beta1!);
            const r = adamaxRef(s.param, g, s.s1, s.s2, { lr, beta1: momentum, beta2: opt.betas[1], eps: opt.eps, weightDecay: decays[j]!, step: t });
            [s.param, s.s1, s.s2] = [r.param, r.expAvg, r.expInf];
            // What the kernel reads: [lr, β1, clr, 0, 1 − β1], a group's [0] and [2] its own.
            const hyper = hyperValues(opt, t, lr, momentum);
            close(`step ${t}: parameter ${j}'s hyper[2], clr`, hyper[2], theirs.clr![j]!);
            expect([hyper[0], hyper[1], hyper[4]]).toEqual([lr, momentum, 1 - momentum]);
          } else {
            const r = adadeltaRef(s.param, g, s.s1, s.s2, { lr, rho: opt.rho, eps: opt.eps, weightDecay: decays[j]! });
            [s.param, s.s1, s.s2] = [r.param, r.squareAvg, r.accDelta];
            expect(hyperValues(opt, t, lr, momentum)).toEqual([lr, 0, lr, 0, 0]);
          }
          theirs.params[j]!.forEach((v, i) => close(`step ${t}: parameter ${j}[${i}]`, s.param[i]!, v));
        });
      });
      // The state PyTorch keeps is the engine's stateNames, beside its step count.
      const [first, second] = opt.stateNames;
      torch.state.forEach((st, j) => {
        expect(Object.keys(st).sort()).toEqual([...opt.stateNames, 'step'].sort());
        (st[first] as number[]).forEach((v, i) => close(`${first}[${j}][${i}]`, states[j]!.s1[i]!, v));
        (st[second] as number[]).forEach((v, i) => close(`${second}[${j}][${i}]`, states[j]!.s2[i]!, v));
      });
    });
  }

  test('Adadelta under OneCycleLR cycling a momentum: refused, as PyTorch refuses it', (ctx) => {
    skipWithoutTorch(ctx);
    const theirs = runTorch<string>(`${REFUSED.replace("print('accepted')", "print('\"accepted\"')").replace('print(str(e))', 'import json; print(json.dumps(str(e)))')}`, {});
    expect(theirs).toContain('optimizer must support momentum');
    expect(() => new Adadelta({}, { kind: 'onecycle', maxLr: 0.1, totalSteps: 4 })).toThrow(/optimizer must support momentum with `cycle_momentum` option enabled/);
    expect(() => new Adadelta({}, { kind: 'onecycle', maxLr: 0.1, totalSteps: 4, cycleMomentum: false })).not.toThrow();
  });
});
