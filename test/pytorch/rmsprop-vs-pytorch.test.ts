/**
 * The float64 reference of RMSprop's step (rmspropRef) against torch.optim.RMSprop on float64
 * tensors over several steps: plain, with momentum, centered, both, with weight decay — the
 * parameters and every state tensor. Skipped, saying so, where PyTorch is not installed.
 */
import { describe, expect, test } from 'vitest';
import { runTorch, skipWithoutTorch } from '../helpers/torch.js';
import { rmspropRef } from '../../src/reference/optimizers.js';
import { randomArray } from '../helpers/allclose.js';

const TORCH = `
import json, sys, torch
spec = json.load(sys.stdin)
p = torch.nn.Parameter(torch.tensor(spec['param'], dtype=torch.float64))
opt = torch.optim.RMSprop([p], lr=spec['lr'], alpha=spec['alpha'], eps=spec['eps'], weight_decay=spec['weight_decay'], momentum=spec['momentum'], centered=spec['centered'])
for g in spec['grads']:
    p.grad = torch.tensor(g, dtype=torch.float64)
    opt.step()
st = opt.state[p]
print(json.dumps({'param': p.detach().tolist(), **{k: v.tolist() for k, v in st.items() if k != 'step'}}))
`;

describe('RMSprop against PyTorch (float64)', () => {
  for (const [momentum, centered, weightDecay] of [[0, false, 0], [0.9, false, 0.05], [0, true, 0], [0.5, true, 0.01]] as const) {
    test(`momentum ${momentum}, centered ${centered}, weight decay ${weightDecay}: six steps`, (ctx) => {
      skipWithoutTorch(ctx);
      const n = 40;
      const spec = { param: Array.from(randomArray(n, 81)), grads: [1, 2, 3, 4, 5, 6].map((k) => Array.from(randomArray(n, 82 + k, -1 / k, 1 / k))), lr: 0.01, alpha: 0.9, eps: 1e-6, weight_decay: weightDecay, momentum, centered };
      const torch = runTorch<Record<string, number[]>>(TORCH, spec);
      let state: ReturnType<typeof rmspropRef> = { param: Float64Array.from(spec.param), squareAvg: new Float64Array(n), ...(momentum > 0 ? { buffer: new Float64Array(n) } : {}), ...(centered ? { gradAvg: new Float64Array(n) } : {}) };
      for (const g of spec.grads) state = rmspropRef(state.param, g, state.squareAvg, { lr: spec.lr, alpha: spec.alpha, eps: spec.eps, weightDecay, momentum }, { buffer: state.buffer, gradAvg: state.gradAvg });
      const close = (name: string, ours: ArrayLike<number> | undefined, theirs: number[] | undefined) => {
        expect(ours && theirs, `${name} on both sides`).toBeTruthy();
        theirs!.forEach((t, i) => expect(Math.abs(ours![i]! - t), `${name}[${i}] ${ours![i]} against ${t}`).toBeLessThanOrEqual(1e-13 * Math.max(1, Math.abs(t))));
      };
      close('param', state.param, torch.param);
      close('square_avg', state.squareAvg, torch.square_avg);
      if (momentum > 0) close('momentum_buffer', state.buffer, torch.momentum_buffer);
      if (centered) close('grad_avg', state.gradAvg, torch.grad_avg);
      // The state PyTorch keeps is the state the reference keeps (no momentum buffer without momentum).
      expect(Object.keys(torch).sort()).toEqual(['param', 'square_avg', ...(momentum > 0 ? ['momentum_buffer'] : []), ...(centered ? ['grad_avg'] : [])].sort());
    });
  }
});
