/**
 * The LSTM's and GRU's float64 references (src/reference/lstm.ts, gru.ts) checked by central
 * finite differences of their own forwards: every gradient (input, both weights, both biases) on
 * tiny shapes, one step and several.
 */
import { describe, test } from 'vitest';
import { gruBackwardRef, gruForwardRef } from '../../src/reference/gru.js';
import { lstmBackwardRef, lstmForwardRef, type LstmShape, type LstmWeights } from '../../src/reference/lstm.js';
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
