/** CPU reference of tanh, float64: y = tanh(x); dx = dy · (1 − y²) from the output. */

export function tanhRef(x: ArrayLike<number>): Float64Array {
  return Float64Array.from(x, Math.tanh);
}

export function tanhBackwardRef(dy: ArrayLike<number>, y: ArrayLike<number>): Float64Array {
  return Float64Array.from(dy, (g, i) => g * (1 - y[i]! * y[i]!));
}
