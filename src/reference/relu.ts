/** CPU reference for the ReLU, float64. */

/** max(x, 0): a NaN stays NaN, as PyTorch's relu keeps it (−0 gives +0, as the kernels do; PyTorch 1.13 keeps −0). */
export function reluForwardRef(x: ArrayLike<number>): Float64Array {
  return Float64Array.from(x, (v) => Math.max(v, 0));
}

/**
 * dx = dy except where the ReLU's output y ≤ 0, there 0 (y is the OUTPUT, so the kink at 0 gets 0):
 * PyTorch's threshold_backward, which passes dy where y is NaN.
 */
export function reluBackwardRef(dy: ArrayLike<number>, y: ArrayLike<number>): Float64Array {
  return Float64Array.from(dy, (g, i) => (y[i]! <= 0 ? 0 : g));
}
