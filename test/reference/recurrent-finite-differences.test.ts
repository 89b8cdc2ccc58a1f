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

describe('LSTM reference', () => {
  // [batch, L, input_size, hidden]
  test.each([
    [1, 1, 2, 1, true],
    [2, 3, 2, 3, true],
    [1, 4, 3, 2, false],
    [2, 2, 1, 5, true],
  ])('batch %i, L %i, in %i, H %i, bias %s', (batch, seqLen, inputSize, hidden, bias) => {
    const s: LstmShape = { batch, seqLen, inputSize, hidden };
    const H = hidden;
    const x = randomArray(batch * seqLen * inputSize, 21, -2, 2);
    const w: LstmWeights = {
      weightIh: randomArray(4 * H * inputSize, 22),
      weightHh: randomArray(4 * H * H, 23),
      ...(bias ? { biasIh: randomArray(4 * H, 24), biasHh: randomArray(4 * H, 25) } : {}),
    };
    const dy = randomArray(batch * seqLen * H, 26);
    const y = (x: Float64Array, weights: LstmWeights) => lstmForwardRef(x, weights, s).y;
    const g = lstmBackwardRef(dy, x, w, s);
    expectAllClose('dx', g.dx, numericalGrad((xx) => y(xx, w), x, dy), FD);
    expectAllClose('dweight_ih', g.dweightIh, numericalGrad((ww) => y(x, { ...w, weightIh: ww }), Float64Array.from(w.weightIh), dy), FD);
    expectAllClose('dweight_hh', g.dweightHh, numericalGrad((ww) => y(x, { ...w, weightHh: ww }), Float64Array.from(w.weightHh), dy), FD);
    if (bias) {
      expectAllClose('dbias_ih', g.dbias, numericalGrad((bb) => y(x, { ...w, biasIh: bb }), Float64Array.from(w.biasIh!), dy), FD);
      expectAllClose('dbias_hh', g.dbias, numericalGrad((bb) => y(x, { ...w, biasHh: bb }), Float64Array.from(w.biasHh!), dy), FD);
    }
  });
});

describe('GRU reference', () => {
  // [batch, L, input_size, hidden]
  test.each([
    [1, 1, 2, 1, true],
    [2, 3, 2, 3, true],
    [1, 4, 3, 2, false],
    [2, 2, 1, 5, true],
  ])('batch %i, L %i, in %i, H %i, bias %s', (batch, seqLen, inputSize, hidden, bias) => {
    const s: LstmShape = { batch, seqLen, inputSize, hidden };
    const H = hidden;
    const x = randomArray(batch * seqLen * inputSize, 31, -2, 2);
    const w: LstmWeights = {
      weightIh: randomArray(3 * H * inputSize, 32),
      weightHh: randomArray(3 * H * H, 33),
      ...(bias ? { biasIh: randomArray(3 * H, 34), biasHh: randomArray(3 * H, 35) } : {}),
    };
    const dy = randomArray(batch * seqLen * H, 36);
    const y = (x: Float64Array, weights: LstmWeights) => gruForwardRef(x, weights, s).y;
    const g = gruBackwardRef(dy, x, w, s);
    expectAllClose('dx', g.dx, numericalGrad((xx) => y(xx, w), x, dy), FD);
    expectAllClose('dweight_ih', g.dweightIh, numericalGrad((ww) => y(x, { ...w, weightIh: ww }), Float64Array.from(w.weightIh), dy), FD);
    expectAllClose('dweight_hh', g.dweightHh, numericalGrad((ww) => y(x, { ...w, weightHh: ww }), Float64Array.from(w.weightHh), dy), FD);
    if (bias) {
      expectAllClose('dbias_ih', g.dbiasIh, numericalGrad((bb) => y(x, { ...w, biasIh: bb }), Float64Array.from(w.biasIh!), dy), FD);
      expectAllClose('dbias_hh', g.dbiasHh, numericalGrad((bb) => y(x, { ...w, biasHh: bb }), Float64Array.from(w.biasHh!), dy), FD);
    }
  });
});
