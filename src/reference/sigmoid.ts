/** CPU reference for the sigmoid, float64. */

export function sigmoidRef(x: ArrayLike<number>): Float64Array {
  return Float64Array.from(x, (v) => 1 / (1 + Math.exp(-v)));
}

/**
 * dx = dy · y(1 − y), y = σ(x). With `spreadsheetDerivative`, every unit of a row of `features`
 * uses y[row, 0] instead of its own y: the slip in the 2-2-2 sheet's ∂E/∂w3 and ∂E/∂w4.
 */
export function sigmoidBackwardRef(dy: ArrayLike<number>, y: ArrayLike<number>, features: number, spreadsheetDerivative = false): Float64Array {
  const dx = new Float64Array(dy.length);
  for (let i = 0; i < dy.length; i++) {
    const a = spreadsheetDerivative ? y[i - (i % features)]! : y[i]!;
    dx[i] = dy[i]! * a * (1 - a);
  }
  return dx;
}
