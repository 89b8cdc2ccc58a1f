/**
 * RAdam against torch.optim.RAdam of PyTorch 1.13 on float64 tensors over eight steps, five
 * un-adapted (ρ_t ≤ 5) and three rectified: the float64 reference (radamRef: the parameters after
 * every step, exp_avg, exp_avg_sq) and the host's per-step values the kernel reads (hyperValues: the
 * branch, the step size lr·r_t/(1 − β1^t) or lr/(1 − β1^t), √(1 − β2^t)) against PyTorch's — at
 * PyTorch's defaults, with weight decay, other betas and eps, and with β2 0.9. Skipped, saying so,
 * where PyTorch is not installed.
 */
import { describe, expect, test } from 'vitest';
import { runTorch, skipWithoutTorch } from '../helpers/torch.js';
import { radamRef } from '../../src/reference/optimizers.js';
import { RAdam, hyperValues, radamRectification } from '../../src/optim/optimizers.js';
import { randomArray } from '../helpers/allclose.js';

const TORCH = `
import json, math, sys, torch
spec = json.load(sys.stdin)
p = torch.nn.Parameter(torch.tensor(spec['param'], dtype=torch.float64))
opt = torch.optim.RAdam([p], lr=spec['lr'], betas=tuple(spec['betas']), eps=spec['eps'], weight_decay=spec['weight_decay'])
beta1, beta2 = spec['betas']
steps = []
for g in spec['grads']:
    p.grad = torch.tensor(g, dtype=torch.float64)
    opt.step()
    st = opt.state[p]
    t = st['step'].item()
    # PyTorch 1.13's _single_tensor_radam's scalars, as it computes them.
    bc1, bc2 = 1 - beta1 ** t, 1 - beta2 ** t
    rho_inf = 2 / (1 - beta2) - 1
    rho_t = rho_inf - 2 * t * (beta2 ** t) / bc2
    rect = math.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) if rho_t > 5. else None
    steps.append({'param': p.detach().tolist(), 'rectified': rect is not None, 'step_size': spec['lr'] * (rect if rect is not None else 1) / bc1, 'sqrt_bc2': math.sqrt(bc2)})
st = opt.state[p]
print(json.dumps({'exp_avg': st['exp_avg'].tolist(), 'exp_avg_sq': st['exp_avg_sq'].tolist(), 'steps': steps, 'keys': sorted(st.keys())}))
`;

interface TorchRun {
  exp_avg: number[];
  exp_avg_sq: number[];
  steps: { param: number[]; rectified: boolean; step_size: number; sqrt_bc2: number }[];
  keys: string[];
}

const close = (what: string, got: number, want: number) => expect(Math.abs(got - want), `${what}: ${got} against PyTorch's ${want}`).toBeLessThanOrEqual(1e-13 * Math.max(1, Math.abs(want)));

describe('RAdam against PyTorch 1.13 (float64)', () => {
  const STEPS = 8;
  for (const [name, options] of [
    ["PyTorch's defaults, lr 0.01", { lr: 0.01 }],
    ['weight decay, betas (0.8, 0.99), eps 1e-6', { lr: 0.05, betas: [0.8, 0.99], eps: 1e-6, weightDecay: 0.05 }],
    ['β2 0.9', { lr: 0.02, betas: [0.9, 0.9] }],
  ] as const) {
    test(`${name}: ${STEPS} steps, the first five un-adapted (ρ_t ≤ 5), then rectified`, (ctx) => {
      skipWithoutTorch(ctx);
      const opt = new RAdam(options);
      const n = 40;
      const spec = { param: Array.from(randomArray(n, 91)), grads: Array.from({ length: STEPS }, (_, k) => Array.from(randomArray(n, 92 + k, -1 / (k + 1), 1 / (k + 1)))), lr: opt.lr, betas: opt.betas, eps: opt.eps, weight_decay: opt.weightDecay };
      const torch = runTorch<TorchRun>(TORCH, spec);
      expect(torch.steps.map((s) => s.rectified)).toEqual([false, false, false, false, false, true, true, true]);
      let state = { param: Float64Array.from(spec.param) as Float64Array<ArrayBufferLike>, expAvg: new Float64Array(n) as Float64Array<ArrayBufferLike>, expAvgSq: new Float64Array(n) as Float64Array<ArrayBufferLike> };
      spec.grads.forEach((g, k) => {
        const t = k + 1;
        const theirs = torch.steps[k]!;
        const r = radamRef(state.param, g, state.expAvg, state.expAvgSq, { lr: opt.lr, beta1: opt.betas[0], beta2: opt.betas[1], eps: opt.eps, weightDecay: opt.weightDecay, step: t });
        state = r;
        expect(r.rectified, `step ${t}: the reference's branch`).toBe(theirs.rectified);
        theirs.param.forEach((v, i) => close(`step ${t}: param[${i}]`, r.param[i]!, v));
        // What the kernel reads: [lr, rectified, step size, √(1 − β2^t), 1 − β1].
        const hyper = hyperValues(opt, t, opt.lr, opt.betas[0]);
        expect([hyper[1], radamRectification(opt.betas[1], t) !== undefined], `step ${t}: hyper[1], the branch`).toEqual([theirs.rectified ? 1 : 0, theirs.rectified]);
        close(`step ${t}: hyper[2], the step size`, hyper[2], theirs.step_size);
        close(`step ${t}: hyper[3], √(1 − β2^t)`, hyper[3], theirs.sqrt_bc2);
      });
      torch.exp_avg.forEach((v, i) => close(`exp_avg[${i}]`, state.expAvg[i]!, v));
      torch.exp_avg_sq.forEach((v, i) => close(`exp_avg_sq[${i}]`, state.expAvgSq[i]!, v));
      // The state PyTorch keeps is the engine's stateNames, beside its step count.
      expect(torch.keys).toEqual(['exp_avg', 'exp_avg_sq', 'step']);
      expect(opt.stateNames).toEqual(['exp_avg', 'exp_avg_sq']);
    });
  }
});
