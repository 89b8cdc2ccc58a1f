/**
 * The LSTM's and GRU's float64 references (src/reference/lstm.ts, gru.ts) against PyTorch 1.13's
 * nn.LSTM and nn.GRU (batch_first=True) in float64: the output sequence, h_n and every gradient
 * (input, weight_ih_l0, weight_hh_l0, bias_ih_l0, bias_hh_l0) on several shapes, with and without
 * bias; and the layers' parameters (names, shapes, order, init bound) against PyTorch's state_dict.
 * The stacked reference (src/reference/recurrent.ts) against nn.LSTM and nn.GRU with num_layers 2
 * and 3, bidirectional (output, every layer's h_n, every gradient; dropout compared in eval, where
 * it is the identity: PyTorch's draws are its own). Skipped, saying so, without PyTorch.
 */
import { describe, expect, test } from 'vitest';
import { GRU, LSTM } from '../../src/layers/recurrent.js';
import { gruBackwardRef, gruForwardRef } from '../../src/reference/gru.js';
import { lstmBackwardRef, lstmForwardRef, type LstmShape } from '../../src/reference/lstm.js';
import { recurrentParameterName, recurrentStackBackwardRef, recurrentStackForwardRef, type RecurrentStackShape } from '../../src/reference/recurrent.js';
import { randomArray, scaledError } from '../helpers/allclose.js';
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

const STACK_SCRIPT = `
import json, sys, torch
spec = json.load(sys.stdin)
out = []
for case in spec['cases']:
    b, l, i, h = case['shape']
    rnn = getattr(torch.nn, case['type'])(i, h, num_layers=case['layers'], bidirectional=case['bidirectional'], dropout=case['dropout'], batch_first=True, bias=case['bias']).double()
    # Dropout between layers is PyTorch's own draws: compared in eval, where it is the identity.
    rnn.eval()
    with torch.no_grad():
        for name, p in rnn.named_parameters():
            p.copy_(torch.tensor(case['params'][name], dtype=torch.float64).reshape(p.shape))
    x = torch.tensor(case['x'], dtype=torch.float64).reshape(b, l, i).requires_grad_(True)
    y, state = rnn(x)
    hn = state[0] if case['type'] == 'LSTM' else state
    y.backward(torch.tensor(case['dy'], dtype=torch.float64).reshape(y.shape))
    out.append({'y': y.flatten().tolist(), 'hn': hn.flatten().tolist(), 'dx': x.grad.flatten().tolist(),
                'grads': {name: p.grad.flatten().tolist() for name, p in rnn.named_parameters()},
                'names': [[k, list(v.shape)] for k, v in rnn.state_dict().items()]})
print(json.dumps(out))
`;

describe("stacked and bidirectional LSTM and GRU against PyTorch's (float64)", () => {
  for (const type of ['LSTM', 'GRU'] as const) test(`${type}: num_layers 2 and 3, bidirectional: the output, every layer's h_n, every gradient; the parameters' names, shapes and order`, (ctx) => {
    skipWithoutTorch(ctx);
    const G = type === 'LSTM' ? 4 : 3;
    // [batch, L, input_size, hidden, num_layers, bidirectional, bias, dropout (compared in eval)]
    const shapes: [number, number, number, number, number, boolean, boolean, number][] = [
      [2, 5, 3, 4, 2, false, true, 0],
      [3, 4, 2, 3, 1, true, false, 0],
      [2, 6, 3, 5, 2, true, true, 0],
      [2, 7, 4, 3, 3, true, true, 0.5],
    ];
    const cases = shapes.map(([batch, seqLen, inputSize, hidden, layers, bidirectional, bias, dropout], n) => {
      const D = bidirectional ? 2 : 1;
      const scale = 2 / Math.sqrt(hidden);
      const params: Record<string, number[]> = {};
      let seed = 300 + 40 * n;
      for (let k = 0; k < layers; k++) {
        for (let d = 0; d < D; d++) {
          const sfx = `_l${k}${d ? '_reverse' : ''}`;
          params[`weight_ih${sfx}`] = Array.from(randomArray(G * hidden * (k === 0 ? inputSize : D * hidden), seed++, -scale, scale));
          params[`weight_hh${sfx}`] = Array.from(randomArray(G * hidden * hidden, seed++, -scale, scale));
          if (bias) {
            params[`bias_ih${sfx}`] = Array.from(randomArray(G * hidden, seed++, -scale, scale));
            params[`bias_hh${sfx}`] = Array.from(randomArray(G * hidden, seed++, -scale, scale));
          }
        }
      }
      return { type, shape: [batch, seqLen, inputSize, hidden], layers, bidirectional, bias, dropout, params, x: Array.from(randomArray(batch * seqLen * inputSize, 200 + n, -2, 2)), dy: Array.from(randomArray(batch * seqLen * D * hidden, 250 + n)) };
    });
    const torch = runTorch<{ y: number[]; hn: number[]; dx: number[]; grads: Record<string, number[]>; names: [string, number[]][] }[]>(STACK_SCRIPT, { cases });
    let worst = 0;
    cases.forEach((c, n) => {
      const [batch, seqLen, inputSize, hidden] = c.shape as [number, number, number, number];
      const D = c.bidirectional ? 2 : 1;
      const s: RecurrentStackShape = { batch, seqLen, inputSize, hidden, numLayers: c.layers, directions: D };
      const weights = Array.from({ length: c.layers }, (_, k) =>
        Array.from({ length: D }, (_, d) => {
          const p = (which: 'weight_ih' | 'weight_hh' | 'bias_ih' | 'bias_hh') => c.params[recurrentParameterName(which, k, d)];
          return { weightIh: p('weight_ih')!, weightHh: p('weight_hh')!, ...(c.bias ? { biasIh: p('bias_ih')!, biasHh: p('bias_hh')! } : {}) };
        }),
      );
      // No masks: the reference's eval (dropout the identity).
      const fwd = recurrentStackForwardRef(type, c.x, weights, s);
      const g = recurrentStackBackwardRef(type, c.dy, c.x, weights, s, undefined, fwd);
      const t = torch[n]!;
      // h_n [layers · directions, batch, H]: the forward direction's h at the last step, the reverse one's at the first.
      const hn = Array.from({ length: c.layers * D * batch * hidden }, (_, i) => {
        const [kd, b, j] = [Math.floor(i / (batch * hidden)), Math.floor(i / hidden) % batch, i % hidden];
        const [k, d] = [Math.floor(kd / D), kd % D];
        const step = d === 0 ? seqLen - 1 : 0;
        return fwd.layers[k]!.output[((b * seqLen + step) * D + d) * hidden + j]!;
      });
      const errors: Record<string, number> = { y: scaledError(fwd.y, t.y), hn: scaledError(hn, t.hn), dx: scaledError(g.dx, t.dx) };
      g.weights.forEach((layer, k) =>
        layer.forEach((w, d) => {
          errors[recurrentParameterName('weight_ih', k, d)] = scaledError(w.dweightIh, t.grads[recurrentParameterName('weight_ih', k, d)]!);
          errors[recurrentParameterName('weight_hh', k, d)] = scaledError(w.dweightHh, t.grads[recurrentParameterName('weight_hh', k, d)]!);
          if (c.bias) {
            errors[recurrentParameterName('bias_ih', k, d)] = scaledError(w.dbiasIh, t.grads[recurrentParameterName('bias_ih', k, d)]!);
            errors[recurrentParameterName('bias_hh', k, d)] = scaledError(w.dbiasHh, t.grads[recurrentParameterName('bias_hh', k, d)]!);
          }
        }),
      );
      expect(Object.keys(errors).length).toBe(3 + Object.keys(t.grads).length);
      for (const [name, e] of Object.entries(errors)) {
        expect(e, `${c.shape.join('×')}, ${c.layers} layers${c.bidirectional ? ', bidirectional' : ''}: ${name}`).toBeLessThan(1e-12);
        worst = Math.max(worst, e);
      }
      // The layer's parameters: PyTorch's names, shapes and order, all U(−1/√H, 1/√H).
      const options = { batchFirst: true, bias: c.bias, numLayers: c.layers, bidirectional: c.bidirectional, dropout: c.dropout };
      const layer = type === 'LSTM' ? new LSTM(inputSize, hidden, options) : new GRU(inputSize, hidden, options);
      expect(layer.parameterSpecs([seqLen, inputSize]).map((p) => [p.name, [...p.shape]])).toEqual(t.names);
      expect(layer.parameterSpecs([seqLen, inputSize]).every((p) => 'uniform' in p.init && p.init.uniform === 1 / Math.sqrt(hidden))).toBe(true);
      expect(layer.outputShape([seqLen, inputSize])).toEqual([seqLen, D * hidden]);
    });
    console.log(`stacked/bidirectional ${type} reference against PyTorch 1.13 (float64): largest error ${worst.toExponential(2)} of the largest value`);
  });
});
