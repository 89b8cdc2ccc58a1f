/**
 * The float64 reference of Adam's and AdamW's AMSGrad step (adamRef with max_exp_avg_sq) against
 * torch.optim.Adam / AdamW(amsgrad=True) on float64 tensors over several steps of shrinking
 * gradients: the parameters and every state tensor. Skipped, saying so, where PyTorch is not
 * installed.
 */
import { describe, expect, test } from 'vitest';
import { runTorch, skipWithoutTorch } from '../helpers/torch.js';
import { adamRef } from '../../src/reference/optimizers.js';
import { randomArray } from '../helpers/allclose.js';


const TORCH = `
import json, sys, torch
spec = json.load(sys.stdin)
p = torch.nn.Parameter(torch.tensor(spec['param'], dtype=torch.float64))
cls = torch.optim.AdamW if spec['decoupled'] else torch.optim.Adam
opt = cls([p], lr=spec['lr'], betas=tuple(spec['betas']), weight_decay=spec['weight_decay'], amsgrad=True)
for g in spec['grads']:
    p.grad = torch.tensor(g, dtype=torch.float64)
    opt.step()
st = opt.state[p]
print(json.dumps({'param': p.detach().tolist(), 'exp_avg': st['exp_avg'].tolist(), 'exp_avg_sq': st['exp_avg_sq'].tolist(), 'max_exp_avg_sq': st['max_exp_avg_sq'].tolist()}))
`;

describe('AMSGrad against PyTorch (float64)', () => {
  for (const decoupled of [false, true]) {
    test(`${decoupled ? 'AdamW' : 'Adam'}(amsgrad=True), six steps`, (ctx) => {
      skipWithoutTorch(ctx);
      const n = 40;
      const spec = { param: Array.from(randomArray(n, 71)), grads: [1, 2, 3, 4, 5, 6].map((k) => Array.from(randomArray(n, 72 + k, -1 / k ** 2, 1 / k ** 2))), lr: 0.01, betas: [0.9, 0.7], weight_decay: 0.05, decoupled };
      const torch = runTorch<Record<string, number[]>>(TORCH, spec);
      let state: ReturnType<typeof adamRef> = { param: Float64Array.from(spec.param), expAvg: new Float64Array(n), expAvgSq: new Float64Array(n), maxExpAvgSq: new Float64Array(n) };
      spec.grads.forEach((g, k) => {
        state = adamRef(state.param, g, state.expAvg, state.expAvgSq, { lr: spec.lr, beta1: 0.9, beta2: 0.7, eps: 1e-8, weightDecay: spec.weight_decay, decoupled, step: k + 1 }, state.maxExpAvgSq!);
      });
      const close = (name: string, ours: ArrayLike<number>, theirs: number[]) => theirs.forEach((t, i) => expect(Math.abs(ours[i]! - t), `${name}[${i}] ${ours[i]} against ${t}`).toBeLessThanOrEqual(1e-14 * Math.max(1, Math.abs(t))));
      close('param', state.param, torch.param!);
      close('exp_avg', state.expAvg, torch.exp_avg!);
      close('exp_avg_sq', state.expAvgSq, torch.exp_avg_sq!);
      close('max_exp_avg_sq', state.maxExpAvgSq!, torch.max_exp_avg_sq!);
      // The maximum is not exp_avg_sq itself at the end (the shrinking gradients let it fall).
      expect(torch.max_exp_avg_sq!.filter((v, i) => v > torch.exp_avg_sq![i]!).length).toBeGreaterThan(n / 2);
    });
  }
});
