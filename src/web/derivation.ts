/**
 * The write-up's derivation of the 2-2-2 gradients: each ∂E_total/∂w as its chain-rule factors,
 * in float64 from a row's weights, for the page to show beside the GPU's values. Checked against
 * the reference (src/reference/two-two-two.ts) in test/web/derivation.test.ts.
 */
import { SHEET_EXAMPLE, type GradientMode } from '../models/two-two-two.js';

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

/** The eight gradients at weights w1..w8, each with its factors written out. */
export function derivation(w: readonly number[], gradient: GradientMode): { formula: string; value: number }[] {
  const [i1, i2] = SHEET_EXAMPLE.inputs;
  const [t1, t2] = SHEET_EXAMPLE.targets;
  const [w1, w2, w3, w4, w5, w6, w7, w8] = w as [number, number, number, number, number, number, number, number];
  const ah1 = sigmoid(w1 * i1 + w2 * i2);
  const ah2 = sigmoid(w3 * i1 + w4 * i2);
  const ao1 = sigmoid(w5 * ah1 + w6 * ah2);
  const ao2 = sigmoid(w7 * ah1 + w8 * ah2);
  const d1 = (ao1 - t1) * ao1 * (1 - ao1);
  const d2 = (ao2 - t2) * ao2 * (1 - ao2);
  const e1 = d1 * w5 + d2 * w7;
  const e2 = d1 * w6 + d2 * w8;
  const s1 = ah1 * (1 - ah1);
  // The sheet's own formula for w3, w4 uses a_h1·(1 − a_h1) where the true gradient has a_h2.
  const s2 = gradient === 'spreadsheet' ? ah1 * (1 - ah1) : ah2 * (1 - ah2);
  const s2name = gradient === 'spreadsheet' ? 'a_h1(1−a_h1)' : 'a_h2(1−a_h2)';
  const f = (x: number) => x.toPrecision(6);
  const delta1 = `(a_o1−t1)·a_o1(1−a_o1) = ${f(d1)}`;
  const delta2 = `(a_o2−t2)·a_o2(1−a_o2) = ${f(d2)}`;
  return [
    { formula: `(δo1·w5 + δo2·w7) · a_h1(1−a_h1) · i1 = ${f(e1)} · ${f(s1)} · ${i1}`, value: e1 * s1 * i1 },
    { formula: `(δo1·w5 + δo2·w7) · a_h1(1−a_h1) · i2 = ${f(e1)} · ${f(s1)} · ${i2}`, value: e1 * s1 * i2 },
    { formula: `(δo1·w6 + δo2·w8) · ${s2name} · i1 = ${f(e2)} · ${f(s2)} · ${i1}`, value: e2 * s2 * i1 },
    { formula: `(δo1·w6 + δo2·w8) · ${s2name} · i2 = ${f(e2)} · ${f(s2)} · ${i2}`, value: e2 * s2 * i2 },
    { formula: `δo1 · a_h1, δo1 = ${delta1}; a_h1 = ${f(ah1)}`, value: d1 * ah1 },
    { formula: `δo1 · a_h2, a_h2 = ${f(ah2)}`, value: d1 * ah2 },
    { formula: `δo2 · a_h1, δo2 = ${delta2}`, value: d2 * ah1 },
    { formula: `δo2 · a_h2`, value: d2 * ah2 },
  ];
}

