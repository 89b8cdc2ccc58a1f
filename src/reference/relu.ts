/** CPU reference for the ReLU, float64. */

export function reluForwardRef(x: ArrayLike<number>): Float64Array {
  return Float64Array.from(x, (v) => (v > 0 ? v : 0));
}

/** dx = dy where the ReLU's output y > 0, else 0 (y is the OUTPUT, so the kink at 0 gets 0). */
export function reluBackwardRef(dy: ArrayLike<number>, y: ArrayLike<number>): Float64Array {
  return Float64Array.from(dy, (g, i) => (y[i]! > 0 ? g : 0));
}
