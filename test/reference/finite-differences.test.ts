/**
 * The CPU reference checked by central finite differences in float64 on tiny shapes:
 * each backward function against the numerical derivative of its forward function.
 */
import { describe, expect, test } from 'vitest';
import { denseBackwardInputRef, denseBackwardWeightRef, denseForwardRef } from '../../src/reference/dense.js';
import { halfSquaredErrorRef, pointwiseLossRef } from '../../src/reference/loss.js';
import { sigmoidBackwardRef, sigmoidRef } from '../../src/reference/sigmoid.js';
import { twoTwoTwoGradientRef } from '../../src/reference/two-two-two.js';
import { SHEET_EXAMPLE } from '../../src/models/two-two-two.js';
import { expectAllClose, randomArray } from '../helpers/allclose.js';
import { FD, numericalGrad } from '../helpers/finite-differences.js';

describe('dense reference', () => {
  test.each([
    [1, 1, 1],
    [1, 2, 2],
    [3, 4, 5],
    [2, 7, 3],
  ])('batch %i, in %i, out %i', (batch, inF, outF) => {
    const x = randomArray(batch * inF, 1);
    const w = randomArray(outF * inF, 2);
    const dy = randomArray(batch * outF, 3);
    expectAllClose('dx', denseBackwardInputRef(dy, w, batch, inF, outF), numericalGrad((xx) => denseForwardRef(xx, w, batch, inF, outF), x, dy), FD);
    expectAllClose('dW', denseBackwardWeightRef(dy, x, batch, inF, outF), numericalGrad((ww) => denseForwardRef(x, ww, batch, inF, outF), w, dy), FD);
  });
});

describe('sigmoid reference', () => {
  test('dx = dy · σ′(x)', () => {
    const x = randomArray(7, 4, -6, 6);
    const dy = randomArray(7, 5);
    expectAllClose('sigmoid dx', sigmoidBackwardRef(dy, sigmoidRef(x), 7), numericalGrad((xx) => sigmoidRef(xx), x, dy), FD);
  });

  test('the spreadsheet variant is not the derivative (it uses the row’s first unit)', () => {
    const x = Float64Array.from([0.2, -1.5]);
    const dy = Float64Array.from([1, 1]);
    const quirk = sigmoidBackwardRef(dy, sigmoidRef(x), 2, true);
    const fd = numericalGrad((xx) => sigmoidRef(xx), x, dy);
    expect(Math.abs(quirk[0]! - fd[0]!)).toBeLessThan(1e-8);
    expect(Math.abs(quirk[1]! - fd[1]!)).toBeGreaterThan(1e-3);
  });
});

describe('half squared error reference', () => {
  test.each([1, 3])('batch %i: grad = ∂loss/∂prediction', (batch) => {
    const a = randomArray(batch * 4, 6);
    const t = randomArray(batch * 4, 7);
    const grad = halfSquaredErrorRef(a, t, batch).grad;
    expectAllClose('loss grad', grad, numericalGrad((aa) => [halfSquaredErrorRef(aa, t, batch).loss], a, [1]), FD);
  });
});

describe('2-2-2 network reference', () => {
  const { inputs, targets, weights } = SHEET_EXAMPLE;
  const loss = (w: Float64Array) => [twoTwoTwoGradientRef([...w], inputs, targets, false).loss.loss];

  test('exact mode: ∂E/∂w1..w8 match finite differences', () => {
    const g = twoTwoTwoGradientRef(weights, inputs, targets, false).gradients;
    expectAllClose('∂E/∂w', g, numericalGrad(loss, Float64Array.from(weights), [1]), FD);
  });

  test("spreadsheet mode: only ∂E/∂w3, ∂E/∂w4 differ from finite differences", () => {
    const g = twoTwoTwoGradientRef(weights, inputs, targets, true).gradients;
    const fd = numericalGrad(loss, Float64Array.from(weights), [1]);
    for (const i of [0, 1, 4, 5, 6, 7]) expect(Math.abs(g[i]! - fd[i]!)).toBeLessThan(1e-9);
    // a_h1 ≈ a_h2 here, so the slip is small (~1e-7) but far above the differences’ error (~1e-10).
    for (const i of [2, 3]) expect(Math.abs(g[i]! - fd[i]!)).toBeGreaterThan(2e-8);
  });
});

describe('pointwise losses (reference)', () => {
  // Away from the kinks (central differences straddle them): |d| not within 1e-3 of 0 or 1.
  const batch = 3;
  const features = 4;
  const labels = [1, 3, 0];
  for (const kind of ['mse', 'half-sse', 'l1', 'smooth-l1', 'huber', 'bce-with-logits', 'bce', 'kl-div'] as const) {
    for (const given of [false, true]) {
      test(`${kind}${given ? ', float targets' : ''}: the gradient of the batch's mean loss matches central differences`, () => {
        const n = batch * features;
        const raw = kind === 'bce' ? randomArray(n, 61, 0.05, 0.95) : randomArray(n, 61, -2.5, 2.5);
        const targets = given ? randomArray(n, 62, 0, 1) : undefined;
        const a = Float64Array.from(raw, (v, i) => {
          const t = targets ? targets[i]! : labels[Math.floor(i / features)] === i % features ? 1 : 0;
          const d = Math.abs(v - t);
          return kind !== 'bce' && (Math.abs(d) < 1e-3 || Math.abs(d - 1) < 1e-3) ? v + 0.01 : v;
        });
        const mean = (aa: Float64Array) => [pointwiseLossRef(kind, aa, labels, batch, features, { targets }).loss.reduce((x, y) => x + y, 0) / batch];
        expectAllClose(`${kind} grad`, pointwiseLossRef(kind, a, labels, batch, features, { targets }).grad, numericalGrad(mean, a, [1]), FD);
      });
    }
  }

  // BCEWithLogitsLoss's pos_weight (a 0 among them), KLDivLoss on log-probabilities against probabilities (some 0) and log-probabilities.
  const settings = [
    { kind: 'bce-with-logits', name: 'pos_weight', options: { posWeight: [0.5, 3, 0, 1.7] }, targets: randomArray(batch * features, 63, 0, 1) },
    { kind: 'kl-div', name: 'probability targets with zeros', options: {}, targets: randomArray(batch * features, 64, 0, 1).map((v, i) => (i % 3 === 0 ? 0 : v)) },
    { kind: 'kl-div', name: 'log_target', options: { logTarget: true }, targets: randomArray(batch * features, 65, -3, 0) },
  ] as const;
  for (const { kind, name, options, targets } of settings) {
    test(`${kind}, ${name}: the gradient of the batch's mean loss matches central differences`, () => {
      const a = randomArray(batch * features, 66, -2.5, 2.5);
      const mean = (aa: Float64Array) => [pointwiseLossRef(kind, aa, labels, batch, features, { ...options, targets }).loss.reduce((x, y) => x + y, 0) / batch];
      expectAllClose(`${kind} ${name} grad`, pointwiseLossRef(kind, a, labels, batch, features, { ...options, targets }).grad, numericalGrad(mean, a, [1]), FD);
    });
  }
});
