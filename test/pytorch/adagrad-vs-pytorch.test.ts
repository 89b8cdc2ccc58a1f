/**
 * The float64 reference of Adagrad's step (adagradRef) against torch.optim.Adagrad on float64
 * tensors over six steps: PyTorch's defaults, and lr_decay, weight decay, an initial accumulator and
 * another eps together — the parameters and the sum. Skipped, saying so, where PyTorch is not installed.
 */
import { describe, expect, test } from 'vitest';
import { runTorch, skipWithoutTorch } from '../helpers/torch.js';
import { adagradRef } from '../../src/reference/optimizers.js';
import { randomArray } from '../helpers/allclose.js';

const TORCH = `
import json, sys, torch
spec = json.load(sys.stdin)
p = torch.nn.Parameter(torch.tensor(spec['param'], dtype=torch.float64))
opt = torch.optim.Adagrad([p], lr=spec['lr'], lr_decay=spec['lr_decay'], weight_decay=spec['weight_decay'], initial_accumulator_value=spec['initial'], eps=spec['eps'])
for g in spec['grads']:
    p.grad = torch.tensor(g, dtype=torch.float64)
    opt.step()
st = opt.state[p]
print(json.dumps({'param': p.detach().tolist(), 'sum': st['sum'].tolist(), 'keys': sorted(k for k in st.keys())}))
`;

describe('Adagrad against PyTorch (float64)', () => {
  for (const [lrDecay, weightDecay, initial, eps] of [[0, 0, 0, 1e-10], [0.1, 0.05, 0.1, 1e-6]] as const) {
    test(`lr_decay ${lrDecay}, weight decay ${weightDecay}, initial accumulator ${initial}, eps ${eps}: six steps`, (ctx) => {
      skipWithoutTorch(ctx);
      const n = 40;
      const spec = { param: Array.from(randomArray(n, 71)), grads: [1, 2, 3, 4, 5, 6].map((k) => Array.from(randomArray(n, 72 + k, -1 / k, 1 / k))), lr: 0.05, lr_decay: lrDecay, weight_decay: weightDecay, initial, eps };
      const torch = runTorch<{ param: number[]; sum: number[]; keys: string[] }>(TORCH, spec);
      let state: { param: Float64Array<ArrayBufferLike>; sum: Float64Array<ArrayBufferLike> } = { param: Float64Array.from(spec.param), sum: new Float64Array(n).fill(initial) };
      spec.grads.forEach((g, t) => (state = adagradRef(state.param, g, state.sum, { lr: spec.lr, lrDecay, eps, weightDecay, step: t + 1 })));
      torch.param.forEach((v, i) => expect(Math.abs(state.param[i]! - v), `param[${i}] ${state.param[i]} against ${v}`).toBeLessThanOrEqual(1e-13 * Math.max(1, Math.abs(v))));
      torch.sum.forEach((v, i) => expect(Math.abs(state.sum[i]! - v), `sum[${i}]`).toBeLessThanOrEqual(1e-13 * Math.max(1, Math.abs(v))));
      // The state PyTorch keeps is the reference's (and the engine's stateNames), beside its step count.
      expect(torch.keys).toEqual(['step', 'sum']);
    });
  }
});
