/**
 * CPU reference of the whole 2-2-2 network (SPEC.md §1), float64: the sheet's row-by-row
 * gradient descent, from the reference layers.
 */
import { denseBackwardInputRef, denseBackwardWeightRef, denseForwardRef } from './dense.js';
import { halfSquaredErrorRef } from './loss.js';
import { sgdUpdateRef } from './sgd.js';
import { sigmoidBackwardRef, sigmoidRef } from './sigmoid.js';

export interface TwoTwoTwoRefRow {
  /** E1, E2 (the per-output terms) and E_total. */
  E1: number;
  E2: number;
  E_total: number;
  /** w1..w8 at this row. */
  weights: number[];
  /** ∂E/∂w1..∂E/∂w8 at this row. */
  gradients: number[];
}

/** E and ∂E/∂w at weights w1..w8 for one sample. */
export function twoTwoTwoGradientRef(weights: readonly number[], inputs: readonly number[], targets: readonly number[], spreadsheetDerivative: boolean) {
  const w1 = weights.slice(0, 4);
  const w2 = weights.slice(4, 8);
  const h = denseForwardRef(inputs, w1, 1, 2, 2);
  const ah = sigmoidRef(h);
  const o = denseForwardRef(ah, w2, 1, 2, 2);
  const ao = sigmoidRef(o);
  const loss = halfSquaredErrorRef(ao, targets, 1);
  const dOut = sigmoidBackwardRef(loss.grad, ao, 2);
  const dW2 = denseBackwardWeightRef(dOut, ah, 1, 2, 2);
  const dAh = denseBackwardInputRef(dOut, w2, 1, 2, 2);
  const dH = sigmoidBackwardRef(dAh, ah, 2, spreadsheetDerivative);
  const dW1 = denseBackwardWeightRef(dH, inputs, 1, 2, 2);
  return { loss, gradients: [...dW1, ...dW2] };
}

export function twoTwoTwoRef(options: {
  weights: readonly number[];
  inputs: readonly number[];
  targets: readonly number[];
  learningRate: number;
  rows: number;
  spreadsheetDerivative: boolean;
}): TwoTwoTwoRefRow[] {
  const rows: TwoTwoTwoRefRow[] = [];
  let weights = [...options.weights];
  for (let r = 0; r < options.rows; r++) {
    const { loss, gradients } = twoTwoTwoGradientRef(weights, options.inputs, options.targets, options.spreadsheetDerivative);
    rows.push({ E1: loss.terms[0]!, E2: loss.terms[1]!, E_total: loss.loss, weights, gradients });
    weights = [...sgdUpdateRef(weights, gradients, options.learningRate)];
  }
  return rows;
}
