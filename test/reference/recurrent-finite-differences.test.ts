/**
 * The LSTM's and GRU's float64 references (src/reference/lstm.ts, gru.ts) checked by central
 * finite differences of their own forwards: every gradient (input, both weights, both biases) on
 * tiny shapes, one step and several; and the stacked reference (src/reference/recurrent.ts) for two
 * layers, bidirectional, with and without a dropout mask between the layers.
 */
import { describe, test } from 'vitest';
import { gruBackwardRef, gruForwardRef } from '../../src/reference/gru.js';
import { lstmBackwardRef, lstmForwardRef, type LstmShape, type LstmWeights } from '../../src/reference/lstm.js';
import { recurrentStackBackwardRef, recurrentStackForwardRef, type RecurrentStackShape } from '../../src/reference/recurrent.js';
import { expectAllClose, randomArray } from '../helpers/allclose.js';
import { FD, numericalGrad } from '../helpers/finite-differences.js';

// Each cell: its gates a unit (the weights' rows), its forward and backward; an LSTM's two biases
// share one gradient (both are added to the same pre-activations), a GRU's differ (n's b_hn inside r).
const CELLS = [
  { name: 'LSTM', gates: 4, seed: 21, forward: lstmForwardRef, backward: (dy: Float64Array, x: Float64Array, w: LstmWeights, s: LstmShape) => {
    const g = lstmBackwardRef(dy, x, w, s);
    return { ...g, dbiasIh: g.dbias, dbiasHh: g.dbias };
  } },
  { name: 'GRU', gates: 3, seed: 31, forward: gruForwardRef, backward: gruBackwardRef },
] as const;

for (const cell of CELLS) {
  describe(`${cell.name} reference`, () => {
    // [batch, L, input_size, hidden]
    test.each([
      [1, 1, 2, 1, true],
      [2, 3, 2, 3, true],
      [1, 4, 3, 2, false],
      [2, 2, 1, 5, true],
    ])('batch %i, L %i, in %i, H %i, bias %s', (batch, seqLen, inputSize, hidden, bias) => {
      const s: LstmShape = { batch, seqLen, inputSize, hidden };
      const rows = cell.gates * hidden;
      const x = randomArray(batch * seqLen * inputSize, cell.seed, -2, 2);
      const w: LstmWeights = {
        weightIh: randomArray(rows * inputSize, cell.seed + 1),
        weightHh: randomArray(rows * hidden, cell.seed + 2),
        ...(bias ? { biasIh: randomArray(rows, cell.seed + 3), biasHh: randomArray(rows, cell.seed + 4) } : {}),
      };
      const dy = randomArray(batch * seqLen * hidden, cell.seed + 5);
      const y = (x: Float64Array, weights: LstmWeights) => cell.forward(x, weights, s).y;
      const g = cell.backward(dy, x, w, s);
      expectAllClose('dx', g.dx, numericalGrad((xx) => y(xx, w), x, dy), FD);
      expectAllClose('dweight_ih', g.dweightIh, numericalGrad((ww) => y(x, { ...w, weightIh: ww }), Float64Array.from(w.weightIh), dy), FD);
      expectAllClose('dweight_hh', g.dweightHh, numericalGrad((ww) => y(x, { ...w, weightHh: ww }), Float64Array.from(w.weightHh), dy), FD);
      if (bias) {
        expectAllClose('dbias_ih', g.dbiasIh, numericalGrad((bb) => y(x, { ...w, biasIh: bb }), Float64Array.from(w.biasIh!), dy), FD);
        expectAllClose('dbias_hh', g.dbiasHh, numericalGrad((bb) => y(x, { ...w, biasHh: bb }), Float64Array.from(w.biasHh!), dy), FD);
      }
    });
  });
}

// Two layers, bidirectional (src/reference/recurrent.ts): every parameter of every layer and
// direction, and the input, against central differences of the stack's own forward; with a
// dropout mask between the layers (fixed: the draws are the caller's) and without.
for (const kind of ['LSTM', 'GRU'] as const) {
  describe(`${kind} reference, 2 layers, bidirectional`, () => {
    test.each([
      [2, 3, 2, 2, true, false],
      [1, 4, 3, 3, false, false],
      [2, 3, 2, 2, true, true],
    ])('batch %i, L %i, in %i, H %i, bias %s, dropout mask %s', (batch, seqLen, inputSize, hidden, bias, dropped) => {
      const s: RecurrentStackShape = { batch, seqLen, inputSize, hidden, numLayers: 2, directions: 2 };
      const rows = (kind === 'LSTM' ? 4 : 3) * hidden;
      const seed = kind === 'LSTM' ? 121 : 131;
      const weights: LstmWeights[][] = [0, 1].map((k) =>
        [0, 1].map((d) => {
          const inSize = k === 0 ? inputSize : 2 * hidden;
          const at = seed + 10 * k + 5 * d;
          return {
            weightIh: randomArray(rows * inSize, at + 1),
            weightHh: randomArray(rows * hidden, at + 2),
            ...(bias ? { biasIh: randomArray(rows, at + 3), biasHh: randomArray(rows, at + 4) } : {}),
          };
        }),
      );
      const x = randomArray(batch * seqLen * inputSize, seed, -2, 2);
      const dy = randomArray(batch * seqLen * 2 * hidden, seed + 99);
      const masks = dropped ? [Float64Array.from({ length: batch * seqLen * 2 * hidden }, (_, i) => (i % 3 === 1 ? 0 : 1.5))] : undefined;
      const y = (xx: Float64Array, w: LstmWeights[][]) => recurrentStackForwardRef(kind, xx, w, s, masks).y;
      const g = recurrentStackBackwardRef(kind, dy, x, weights, s, masks);
      expectAllClose('dx', g.dx, numericalGrad((xx) => y(xx, weights), x, dy), FD);
      const fields: [keyof LstmWeights, 'dweightIh' | 'dweightHh' | 'dbiasIh' | 'dbiasHh'][] = [['weightIh', 'dweightIh'], ['weightHh', 'dweightHh'], ...(bias ? ([['biasIh', 'dbiasIh'], ['biasHh', 'dbiasHh']] as [keyof LstmWeights, 'dbiasIh' | 'dbiasHh'][]) : [])];
      for (let k = 0; k < 2; k++) {
        for (let d = 0; d < 2; d++) {
          for (const [field, grad] of fields) {
            const with_ = (v: Float64Array) => weights.map((l, kk) => l.map((w, dd) => (kk === k && dd === d ? { ...w, [field]: v } : w)));
            expectAllClose(`${grad} l${k}${d ? '_reverse' : ''}`, g.weights[k]![d]![grad], numericalGrad((v) => y(x, with_(v)), Float64Array.from(weights[k]![d]![field]!), dy), FD);
          }
        }
      }
    });
  });
}
