/**
 * NAdam against PyTorch's NAdam step (≥ 2.0's, written out in torch ops beside torch 1.13's
 * torch.optim.NAdam, which supplies the schedule, step count and mu_product) on float64 tensors over eight steps: the float64
 * reference (nadamRef: the parameters, exp_avg, exp_avg_sq and the state mu_product), and the
 * host's per-step values the kernel reads (hyperValues: the gradient's and exp_avg's steps and
 * 1 − β2^t; nadamMuProduct) against PyTorch's own scalars — at PyTorch's defaults, with weight decay,
 * other betas, eps and momentum_decay, and under OneCycleLR cycling β1 (PyTorch's cycle_momentum),
 * whose β1 enters every μ_t. Skipped, saying so, where PyTorch is not installed.
 */
import { describe, expect, test } from 'vitest';
import { runTorch, skipWithoutTorch } from '../helpers/torch.js';
import { nadamRef } from '../../src/reference/optimizers.js';
import { NAdam, hyperValues, nadamMuProduct } from '../../src/optim/optimizers.js';
import { scheduledValues, type Schedule } from '../../src/optim/schedules.js';
import { randomArray } from '../helpers/allclose.js';

// The default dtype float64: PyTorch keeps mu_product in a tensor of the default dtype (float32
// otherwise, whatever the parameters' dtype); the engine's host keeps it in float64.
const TORCH = `
import json, sys, torch
torch.set_default_dtype(torch.float64)
spec = json.load(sys.stdin)
p = torch.nn.Parameter(torch.tensor(spec['param']))
q, m, v = torch.tensor(spec['param']), torch.zeros(len(spec['param'])), torch.zeros(len(spec['param']))
opt = torch.optim.NAdam([p], lr=spec['lr'], betas=tuple(spec['betas']), eps=spec['eps'], weight_decay=spec['weight_decay'], momentum_decay=spec['momentum_decay'])
sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=spec['lr'], total_steps=spec['total_steps']) if spec['onecycle'] else None
steps = []
for g in spec['grads']:
    group = opt.param_groups[0]
    lr, beta1, beta2 = group['lr'], group['betas'][0], group['betas'][1]
    p.grad = torch.tensor(g)
    opt.step()
    st = opt.state[p]
    t = st['step'].item()
    mu = beta1 * (1. - 0.5 * (0.96 ** (t * spec['momentum_decay'])))
    mu_next = beta1 * (1. - 0.5 * (0.96 ** ((t + 1) * spec['momentum_decay'])))
    prod = st['mu_product']
    # PyTorch ≥ 2.0's _single_tensor_nadam (pytorch#92699: 1.13 counted mu twice in
    # mu_product_next), on its own copy of the parameter, in its order; torch 1.13's step above
    # gives the schedule's lr and β1, the step count and mu_product, which it computes alike.
    grad = torch.tensor(g)
    if spec['weight_decay'] != 0: grad = grad.add(q, alpha=spec['weight_decay'])
    m.lerp_(grad, 1 - beta1)
    v.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
    denom = v.div(1 - beta2 ** t).sqrt().add_(spec['eps'])
    q.addcdiv_(grad, denom, value=(-lr * (1. - mu) / (1. - prod.item())))
    q.addcdiv_(m, denom, value=(-lr * mu_next) / (1. - prod.item() * mu_next))
    steps.append({'lr': lr, 'beta1': beta1, 'mu_product': prod.item(), 'grad_step': lr * (1. - mu) / (1. - prod.item()), 'momentum_step': lr * mu_next / (1. - prod.item() * mu_next), 'bc2': 1 - beta2 ** t})
    if sched: sched.step()
st = opt.state[p]
print(json.dumps({'param': q.tolist(), 'exp_avg': m.tolist(), 'exp_avg_sq': v.tolist(), 'steps': steps, 'keys': sorted(st.keys()), 'torch113_param': p.detach().tolist()}))
`;

interface TorchRun {
  param: number[];
  exp_avg: number[];
  exp_avg_sq: number[];
  steps: { lr: number; beta1: number; mu_product: number; grad_step: number; momentum_step: number; bc2: number }[];
  keys: string[];
  torch113_param: number[];
}

const close = (what: string, got: number, want: number) => expect(Math.abs(got - want), `${what}: ${got} against PyTorch's ${want}`).toBeLessThanOrEqual(1e-13 * Math.max(1, Math.abs(want)));

describe('NAdam against PyTorch (float64)', () => {
  const STEPS = 8;
  for (const [name, options, onecycle] of [
    ["PyTorch's defaults", {}, false],
    ['weight decay, betas (0.8, 0.99), eps 1e-6, momentum_decay 0.01', { lr: 0.05, betas: [0.8, 0.99], eps: 1e-6, weightDecay: 0.05, momentumDecay: 0.01 }, false],
    ['OneCycleLR cycling β1 (max_lr 0.05 over 10 steps), weight decay', { lr: 0.05, weightDecay: 0.01 }, true],
  ] as const) {
    test(`${name}: ${STEPS} steps, the reference and the host's per-step values`, (ctx) => {
      skipWithoutTorch(ctx);
      const schedule: Schedule = onecycle ? { kind: 'onecycle', maxLr: 0.05, totalSteps: 10 } : { kind: 'constant' };
      const opt = new NAdam(options, schedule);
      const n = 40;
      const spec = {
        param: Array.from(randomArray(n, 81)), grads: Array.from({ length: STEPS }, (_, k) => Array.from(randomArray(n, 82 + k, -1 / (k + 1), 1 / (k + 1)))),
        lr: opt.lr, betas: opt.betas, eps: opt.eps, weight_decay: opt.weightDecay, momentum_decay: opt.momentumDecay, onecycle, total_steps: 10,
      };
      const torch = runTorch<TorchRun>(TORCH, spec);
      let state = { param: Float64Array.from(spec.param) as Float64Array<ArrayBufferLike>, expAvg: new Float64Array(n) as Float64Array<ArrayBufferLike>, expAvgSq: new Float64Array(n) as Float64Array<ArrayBufferLike>, muProduct: 1 };
      spec.grads.forEach((g, k) => {
        const t = k + 1;
        const theirs = torch.steps[k]!;
        // The rate and β1 of the step as the engine's schedule gives them (OneCycleLR's cycled β1 too).
        const { lr, momentum } = scheduledValues(schedule, opt.lr, opt.betas[0], { epoch: 0, step: k });
        close(`step ${t}: lr`, lr, theirs.lr);
        close(`step ${t}: β1`, momentum, theirs.beta1);
        state = nadamRef(state.param, g, state.expAvg, state.expAvgSq, { lr, beta1: momentum, beta2: opt.betas[1], eps: opt.eps, weightDecay: opt.weightDecay, momentumDecay: opt.momentumDecay, step: t, muProduct: state.muProduct });
        close(`step ${t}: the reference's mu_product`, state.muProduct, theirs.mu_product);
        close(`step ${t}: nadamMuProduct`, nadamMuProduct(opt, t), theirs.mu_product);
        // What the kernel reads: [gradient's step, β1, exp_avg's step, 1 − β2^t, 1 − β1].
        const hyper = hyperValues(opt, t, lr, momentum);
        close(`step ${t}: hyper[0], lr·(1 − μ_t)/(1 − mu_product)`, hyper[0], theirs.grad_step);
        close(`step ${t}: hyper[2], lr·μ_{t+1}/(1 − mu_product·μ_{t+1})`, hyper[2], theirs.momentum_step);
        close(`step ${t}: hyper[3], 1 − β2^t`, hyper[3], theirs.bc2);
      });
      torch.param.forEach((v, i) => close(`param[${i}]`, state.param[i]!, v));
      // torch 1.13's own step differs (μ_t twice): the test can tell the two formulas apart.
      expect(Math.max(...torch.torch113_param.map((v, i) => Math.abs(v - state.param[i]!)))).toBeGreaterThan(1e-9);
      torch.exp_avg.forEach((v, i) => close(`exp_avg[${i}]`, state.expAvg[i]!, v));
      torch.exp_avg_sq.forEach((v, i) => close(`exp_avg_sq[${i}]`, state.expAvgSq[i]!, v));
      // The state PyTorch keeps: the engine's stateNames, beside its step count and mu_product (the host's).
      expect(torch.keys).toEqual(['exp_avg', 'exp_avg_sq', 'mu_product', 'step']);
      expect(opt.stateNames).toEqual(['exp_avg', 'exp_avg_sq']);
    });
  }

  test('nadamMuProduct: the same product however it is asked for (each step extending it, a step count anew, back to an earlier one); 0 once 1 − it is 1 in float64', () => {
    const opt = new NAdam({}, { kind: 'onecycle', maxLr: 0.01, totalSteps: 5000 });
    const fresh = () => new NAdam({}, { kind: 'onecycle', maxLr: 0.01, totalSteps: 5000 });
    const walked = Array.from({ length: 30 }, (_, k) => nadamMuProduct(opt, k + 1));
    expect(nadamMuProduct(fresh(), 30)).toBe(walked[29]);
    expect(nadamMuProduct(opt, 12)).toBe(walked[11]);
    expect(nadamMuProduct(opt, 0)).toBe(1);
    // 2^−64 and below change no step: 1 − x is 1 in float64 (PyTorch's product goes on to 5e-324).
    // At PyTorch's defaults that is from step 56 on.
    const defaults = new NAdam();
    expect([nadamMuProduct(defaults, 55) >= 2 ** -64, 1 - nadamMuProduct(defaults, 55), nadamMuProduct(defaults, 56)]).toEqual([true, 1, 0]);
    expect(nadamMuProduct(opt, 4000)).toBe(0);
    expect(() => nadamMuProduct(opt, -1)).toThrow('nadamMuProduct: steps must be a whole number ≥ 0, got -1');
  });
});
