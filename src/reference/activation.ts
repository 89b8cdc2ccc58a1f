/**
 * CPU reference of LeakyReLU and SiLU, float64, from PyTorch's formulas: forward, and the input
 * gradient from the input x.
 */

/** y = x if x > 0 else slope · x */
export function leakyReluRef(x: ArrayLike<number>, slope: number): Float64Array {
  return Float64Array.from(x, (v) => (v > 0 ? v : slope * v));
}

/** dx = dy if x > 0 else slope · dy */
export function leakyReluBackwardRef(dy: ArrayLike<number>, x: ArrayLike<number>, slope: number): Float64Array {
  return Float64Array.from(dy, (g, i) => (x[i]! > 0 ? g : slope * g));
}

const sigma = (v: number) => 1 / (1 + Math.exp(-v));

/** y = x · σ(x) */
export function siluRef(x: ArrayLike<number>): Float64Array {
  return Float64Array.from(x, (v) => v * sigma(v));
}

/** dx = dy · σ(x) · (1 + x · (1 − σ(x))) */
export function siluBackwardRef(dy: ArrayLike<number>, x: ArrayLike<number>): Float64Array {
  return Float64Array.from(dy, (g, i) => {
    const s = sigma(x[i]!);
    return g * s * (1 + x[i]! * (1 - s));
  });
}
