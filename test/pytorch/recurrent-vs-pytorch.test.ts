/**
 * The LSTM's and GRU's float64 references (src/reference/lstm.ts, gru.ts) against PyTorch 1.13's
 * nn.LSTM and nn.GRU (batch_first=True) in float64: the output sequence, h_n and every gradient
 * (input, weight_ih_l0, weight_hh_l0, bias_ih_l0, bias_hh_l0) on several shapes, with and without
 * bias; and the layers' parameters (names, shapes, order, init bound) against PyTorch's state_dict.
 * Skipped, saying so, without PyTorch.
 */
import { describe, expect, test } from 'vitest';
import { GRU, LSTM } from '../../src/layers/recurrent.js';
import { gruBackwardRef, gruForwardRef } from '../../src/reference/gru.js';
import { lstmBackwardRef, lstmForwardRef, type LstmShape } from '../../src/reference/lstm.js';
import { randomArray } from '../helpers/allclose.js';
import { runTorch, skipWithoutTorch } from '../helpers/torch.js';

const SCRIPT = `
import json, sys, torch
spec = json.load(sys.stdin)
out = []
for case in spec['cases']:
    b, l, i, h = case['shape']
    lstm = getattr(torch.nn, case['type'])(i, h, batch_first=True, bias=case['bias']).double()
    with torch.no_grad():
        for name, p in lstm.named_parameters():
            p.copy_(torch.tensor(case[name], dtype=torch.float64).reshape(p.shape))
    x = torch.tensor(case['x'], dtype=torch.float64).reshape(b, l, i).requires_grad_(True)
    y, state = lstm(x)
    hn = state[0] if case['type'] == 'LSTM' else state
    y.backward(torch.tensor(case['dy'], dtype=torch.float64).reshape(y.shape))
    grads = {name: p.grad.flatten().tolist() for name, p in lstm.named_parameters()}
    out.append({'y': y.flatten().tolist(), 'hn': hn.flatten().tolist(), 'dx': x.grad.flatten().tolist(), 'grads': grads,
                'names': [[k, list(v.shape)] for k, v in lstm.state_dict().items()]})
print(json.dumps(out))
`;

/** The largest |ours − theirs| over the largest |theirs|. */
function scaledError(ours: ArrayLike<number>, theirs: ArrayLike<number>): number {
  expect(ours.length).toBe(theirs.length);
  let [diff, scale] = [0, 0];
  for (let k = 0; k < ours.length; k++) {
    diff = Math.max(diff, Math.abs(ours[k]! - theirs[k]!));
    scale = Math.max(scale, Math.abs(theirs[k]!));
  }
  return diff / Math.max(scale, 1e-300);
}

describe("LSTM and GRU against PyTorch's nn.LSTM and nn.GRU (float64)", () => {
  for (const type of ['LSTM', 'GRU'] as const) test(`${type}: the output sequence, h_n and every gradient, with and without bias; the parameters’ names and shapes`, (ctx) => {
    skipWithoutTorch(ctx);
    const G = type === 'LSTM' ? 4 : 3;
    // [batch, L, input_size, hidden]
    const shapes: [number, number, number, number, boolean][] = [
      [1, 1, 1, 1, true],
      [3, 5, 7, 6, true],
      [2, 9, 4, 3, false],
      [4, 28, 28, 16, true],
    ];
    const cases = shapes.map(([batch, seqLen, inputSize, hidden, bias], n) => {
      const H = hidden;
      const scale = 2 / Math.sqrt(H);
      return {
        type,
        shape: [batch, seqLen, inputSize, hidden],
        bias,
        x: Array.from(randomArray(batch * seqLen * inputSize, 40 + n, -2, 2)),
        dy: Array.from(randomArray(batch * seqLen * H, 50 + n)),
        weight_ih_l0: Array.from(randomArray(G * H * inputSize, 60 + n, -scale, scale)),
        weight_hh_l0: Array.from(randomArray(G * H * H, 70 + n, -scale, scale)),
        ...(bias ? { bias_ih_l0: Array.from(randomArray(G * H, 80 + n, -scale, scale)), bias_hh_l0: Array.from(randomArray(G * H, 90 + n, -scale, scale)) } : {}),
      };
    });
    const torch = runTorch<{ y: number[]; hn: number[]; dx: number[]; grads: Record<string, number[]>; names: [string, number[]][] }[]>(SCRIPT, { cases });
    let worst = 0;
    cases.forEach((c, n) => {
      const [batch, seqLen, inputSize, hidden] = c.shape as [number, number, number, number];
      const s: LstmShape = { batch, seqLen, inputSize, hidden };
      const w = { weightIh: c.weight_ih_l0, weightHh: c.weight_hh_l0, biasIh: c.bias_ih_l0, biasHh: c.bias_hh_l0 };
      const fwd = type === 'LSTM' ? lstmForwardRef(c.x, w, s) : gruForwardRef(c.x, w, s);
      const g = type === 'LSTM' ? lstmBackwardRef(c.dy, c.x, w, s, fwd as ReturnType<typeof lstmForwardRef>) : gruBackwardRef(c.dy, c.x, w, s, fwd);
      const [dbiasIh, dbiasHh] = 'dbias' in g ? [g.dbias, g.dbias] : [g.dbiasIh, g.dbiasHh];
      const t = torch[n]!;
      const errors: Record<string, number> = {
        y: scaledError(fwd.y, t.y),
        // h_n is the output's last step.
        hn: scaledError(Array.from({ length: batch * hidden }, (_, k) => fwd.y[(Math.floor(k / hidden) * seqLen + seqLen - 1) * hidden + (k % hidden)]!), t.hn),
        dx: scaledError(g.dx, t.dx),
        weight_ih_l0: scaledError(g.dweightIh, t.grads.weight_ih_l0!),
        weight_hh_l0: scaledError(g.dweightHh, t.grads.weight_hh_l0!),
        ...(c.bias ? { bias_ih_l0: scaledError(dbiasIh, t.grads.bias_ih_l0!), bias_hh_l0: scaledError(dbiasHh, t.grads.bias_hh_l0!) } : {}),
      };
      for (const [name, e] of Object.entries(errors)) {
        expect(e, `${c.shape.join('×')}: ${name}`).toBeLessThan(1e-12);
        worst = Math.max(worst, e);
      }
      // The layer's parameters: PyTorch's names, shapes and order.
      const layer = type === 'LSTM' ? new LSTM(inputSize, hidden, { batchFirst: true, bias: c.bias }) : new GRU(inputSize, hidden, { batchFirst: true, bias: c.bias });
      expect(layer.parameterSpecs([seqLen, inputSize]).map((p) => [p.name, [...p.shape]])).toEqual(t.names);
      expect(layer.parameterSpecs([seqLen, inputSize]).every((p) => 'uniform' in p.init && p.init.uniform === 1 / Math.sqrt(hidden))).toBe(true);
    });
    console.log(`${type} reference against PyTorch 1.13 (float64): largest error ${worst.toExponential(2)} of the largest value`);
  });
});
