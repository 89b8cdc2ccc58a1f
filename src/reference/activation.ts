/**
 * CPU reference of LeakyReLU and SiLU, float64, from PyTorch's formulas: forward, and the input
 * gradient from the input x.
 */
import { sigmoidRef } from './sigmoid.js';

/** y = x if x > 0 else slope · x */
export function leakyReluRef(x: ArrayLike<number>, slope: number): Float64Array {
  return Float64Array.from(x, (v) => (v > 0 ? v : slope * v));
}

/** dx = dy if x > 0 else slope · dy */
export function leakyReluBackwardRef(dy: ArrayLike<number>, x: ArrayLike<number>, slope: number): Float64Array {
  return Float64Array.from(dy, (g, i) => (x[i]! > 0 ? g : slope * g));
}

/** y = x · σ(x) */
export function siluRef(x: ArrayLike<number>): Float64Array {
  const s = sigmoidRef(x);
  return Float64Array.from(x, (v, i) => v * s[i]!);
}

/** dx = dy · σ(x) · (1 + x · (1 − σ(x))) */
export function siluBackwardRef(dy: ArrayLike<number>, x: ArrayLike<number>): Float64Array {
  const s = sigmoidRef(x);
  return Float64Array.from(dy, (g, i) => g * s[i]! * (1 + x[i]! * (1 - s[i]!)));
}
