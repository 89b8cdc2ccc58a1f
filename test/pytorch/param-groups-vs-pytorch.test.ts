/**
 * Param groups' own learning rates and weight decays (PyTorch's
 * `SGD([{'params': …}, {'params': …, 'lr': 0.5, 'weight_decay': 0}], lr=0.1, …)`) under a schedule,
 * against torch.optim on float64 tensors over five steps, the scheduler stepped after each: each
 * group's rate is the schedule run from the group's own (its base_lr; CosineAnnealingLR's eta_min
 * shared), which the Network computes with `learningRates` and `scheduledValues` and the kernels
 * read a parameter at a time (test/optim/param-groups.test.ts). Skipped, saying so, where PyTorch is
 * not installed.
 */
import { describe, expect, test } from 'vitest';
import { runTorch, skipWithoutTorch } from '../helpers/torch.js';
import { Adam, AdamW, RMSprop, SGD, learningRates, weightDecays, type Optimizer } from '../../src/optim/optimizers.js';
import { scheduledValues, type Schedule } from '../../src/optim/schedules.js';
import { adamRef, rmspropRef, sgdRef } from '../../src/reference/optimizers.js';
import { randomArray } from '../helpers/allclose.js';

const TORCH = `
import json, sys, torch
spec = json.load(sys.stdin)
ps = [torch.nn.Parameter(torch.tensor(v, dtype=torch.float64)) for v in spec['params']]
groups = [{'params': [ps[0]]}, {'params': [ps[1]], 'lr': spec['group_lr'], 'weight_decay': spec['group_decay']}, {'params': [ps[2]], 'lr': spec['group_lr']}]
kind = spec['optimizer']
if kind == 'sgd':
    opt = torch.optim.SGD(groups, lr=spec['lr'], momentum=0.9, weight_decay=spec['decay'])
elif kind == 'rmsprop':
    opt = torch.optim.RMSprop(groups, lr=spec['lr'], alpha=0.9, momentum=0.5, weight_decay=spec['decay'])
else:
    opt = (torch.optim.AdamW if kind == 'adamw' else torch.optim.Adam)(groups, lr=spec['lr'], weight_decay=spec['decay'])
s = spec['schedule']
sched = {'step': lambda: torch.optim.lr_scheduler.StepLR(opt, 2, 0.5), 'exponential': lambda: torch.optim.lr_scheduler.ExponentialLR(opt, 0.8),
         'cosine': lambda: torch.optim.lr_scheduler.CosineAnnealingLR(opt, 4, eta_min=0.01), 'multistep': lambda: torch.optim.lr_scheduler.MultiStepLR(opt, [1, 3], 0.3)}[s]()
rates = []
for grads in spec['grads']:
    rates.append([g['lr'] for g in opt.param_groups])
    for p, g in zip(ps, grads):
        p.grad = torch.tensor(g, dtype=torch.float64)
    opt.step()
    sched.step()
print(json.dumps({'params': [p.detach().tolist() for p in ps], 'rates': rates}))
`;

const schedules: Record<string, Schedule> = {
  step: { kind: 'step', stepSize: 2, gamma: 0.5 },
  exponential: { kind: 'exponential', gamma: 0.8 },
  cosine: { kind: 'cosine', tMax: 4, etaMin: 0.01 },
  multistep: { kind: 'multistep', milestones: [1, 3], gamma: 0.3 },
};

describe("param groups' learning rates and weight decays under a schedule, against PyTorch (float64)", () => {
  const cases: [string, keyof typeof schedules][] = [['sgd', 'step'], ['adam', 'cosine'], ['adamw', 'exponential'], ['rmsprop', 'multistep']];
  for (const [kind, scheduleName] of cases) {
    test(`${kind}, ${scheduleName}: five steps, three parameters (the optimizer's settings; a group's lr and weight decay; a group's lr)`, (ctx) => {
      skipWithoutTorch(ctx);
      const n = 12;
      const spec = {
        optimizer: kind, schedule: scheduleName, lr: 0.1, decay: 0.05, group_lr: 0.5, group_decay: 0,
        params: [0, 1, 2].map((k) => Array.from(randomArray(n, 90 + k))),
        grads: [0, 1, 2, 3, 4].map((t) => [0, 1, 2].map((k) => Array.from(randomArray(n, 100 + 10 * t + k, -1, 1)))),
      };
      const torch = runTorch<{ params: number[][]; rates: number[][] }>(TORCH, spec);
      const schedule = schedules[scheduleName]!;
      const paramGroups = [{ params: ['b'], lr: spec.group_lr, weightDecay: spec.group_decay }, { params: ['c'], lr: spec.group_lr }];
      const opt: Optimizer =
        kind === 'sgd' ? new SGD({ lr: spec.lr, momentum: 0.9, weightDecay: spec.decay, paramGroups }, schedule)
        : kind === 'rmsprop' ? new RMSprop({ lr: spec.lr, alpha: 0.9, momentum: 0.5, weightDecay: spec.decay, paramGroups }, schedule)
        : kind === 'adamw' ? new AdamW({ lr: spec.lr, weightDecay: spec.decay, paramGroups }, schedule)
        : new Adam({ lr: spec.lr, weightDecay: spec.decay, paramGroups }, schedule);
      const parameters = ['a', 'b', 'c'].map((name) => ({ name, shape: [n] }));
      const [bases, decays] = [learningRates(opt, parameters), weightDecays(opt, parameters)];
      expect(bases).toEqual([0.1, 0.5, 0.5]);
      expect(decays).toEqual([0.05, 0, 0.05]);
      const state: { param: Float64Array<ArrayBufferLike>; a: Float64Array<ArrayBufferLike>; b: Float64Array<ArrayBufferLike> }[] = spec.params.map((p) => ({ param: Float64Array.from(p), a: new Float64Array(n), b: new Float64Array(n) }));
      spec.grads.forEach((grads, t) => {
        // Each parameter's rate: the schedule from its group's own (the Network's beginStep).
        const rates = bases.map((base) => scheduledValues(opt.schedule, base, 0, { epoch: t, step: t }).lr);
        rates.forEach((r, k) => expect(Math.abs(r - torch.rates[t]![k]!), `step ${t + 1}, parameter ${k}: rate ${r} against ${torch.rates[t]![k]}`).toBeLessThanOrEqual(1e-15 * Math.max(1, Math.abs(r))));
        grads.forEach((g, k) => {
          const s = state[k]!;
          const [lr, weightDecay] = [rates[k]!, decays[k]!];
          if (opt.kind === 'sgd') [s.param, s.a] = ((r) => [r.param, r.buffer])(sgdRef(s.param, g, s.a, { lr, momentum: 0.9, dampening: 0, weightDecay, nesterov: false, first: t === 0 }));
          else if (opt.kind === 'rmsprop') [s.param, s.a, s.b] = ((r) => [r.param, r.squareAvg, r.buffer!])(rmspropRef(s.param, g, s.a, { lr, alpha: 0.9, eps: 1e-8, weightDecay, momentum: 0.5 }, { buffer: s.b }));
          else [s.param, s.a, s.b] = ((r) => [r.param, r.expAvg, r.expAvgSq])(adamRef(s.param, g, s.a, s.b, { lr, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay, decoupled: opt.kind === 'adamw', step: t + 1 }));
        });
      });
      state.forEach((s, k) => torch.params[k]!.forEach((v, i) => expect(Math.abs(s.param[i]! - v), `parameter ${k}[${i}]: ${s.param[i]} against ${v}`).toBeLessThanOrEqual(1e-13 * Math.max(1, Math.abs(v)))));
    });
  }
});
