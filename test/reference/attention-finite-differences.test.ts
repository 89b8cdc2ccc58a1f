/**
 * MultiheadAttention's float64 reference (src/reference/attention.ts) checked by central finite
 * differences of its own forward: every gradient (input, in_proj_weight, in_proj_bias,
 * out_proj.weight, out_proj.bias) on tiny shapes, one head and several, causal and not, and with a
 * dropout mask on the attention weights (training).
 */
import { describe, test } from 'vitest';
import { attentionBackwardRef, attentionForwardRef, type AttentionShape, type AttentionWeights } from '../../src/reference/attention.js';
import { expectAllClose, randomArray } from '../helpers/allclose.js';
import { FD, numericalGrad } from '../helpers/finite-differences.js';

describe('MultiheadAttention reference', () => {
  // [batch, L, E, heads, causal, bias, dropout p (0: none)]
  test.each([
    [1, 1, 2, 1, false, true, 0],
    [2, 3, 4, 2, false, true, 0],
    [1, 4, 6, 3, true, true, 0],
    [2, 5, 4, 1, true, false, 0],
    [1, 3, 6, 2, false, false, 0],
    [2, 4, 6, 3, false, true, 0.3],
    [1, 5, 4, 2, true, true, 0.5],
  ])('batch %i, L %i, E %i, heads %i, causal %s, bias %s, dropout %s', (batch, seqLen, embed, heads, causal, bias, p) => {
    const s: AttentionShape = { batch, seqLen, embed, heads, causal };
    const seed = 7 * seqLen + embed;
    const x = randomArray(batch * seqLen * embed, seed, -2, 2);
    const w: AttentionWeights = {
      inWeight: randomArray(3 * embed * embed, seed + 1),
      outWeight: randomArray(embed * embed, seed + 2),
      ...(bias ? { inBias: randomArray(3 * embed, seed + 3), outBias: randomArray(embed, seed + 4) } : {}),
    };
    const dy = randomArray(batch * seqLen * embed, seed + 5);
    // A mask of 0 and 1/(1 − p), about p of it 0.
    const mask = p > 0 ? Float64Array.from(randomArray(batch * heads * seqLen * seqLen, seed + 6, 0, 1), (u) => (u < p ? 0 : 1 / (1 - p))) : undefined;
    const y = (xx: Float64Array, ww: AttentionWeights) => attentionForwardRef(xx, ww, s, mask).y;
    const g = attentionBackwardRef(dy, x, w, s, attentionForwardRef(x, w, s, mask));
    expectAllClose('dx', g.dx, numericalGrad((xx) => y(xx, w), x, dy), FD);
    expectAllClose('din_proj_weight', g.dinWeight, numericalGrad((v) => y(x, { ...w, inWeight: v }), Float64Array.from(w.inWeight), dy), FD);
    expectAllClose('dout_proj.weight', g.doutWeight, numericalGrad((v) => y(x, { ...w, outWeight: v }), Float64Array.from(w.outWeight), dy), FD);
    if (bias) {
      expectAllClose('din_proj_bias', g.dinBias, numericalGrad((v) => y(x, { ...w, inBias: v }), Float64Array.from(w.inBias!), dy), FD);
      expectAllClose('dout_proj.bias', g.doutBias, numericalGrad((v) => y(x, { ...w, outBias: v }), Float64Array.from(w.outBias!), dy), FD);
    }
  });
});
