/**
 * CPU reference of RReLU (PyTorch's nn.RReLU), float64: the slopes drawn in training, bit-exact in
 * the words the GPU draws (src/reference/random.ts's randomWord: Philox4x32-10), so the reference
 * follows the GPU's slopes as it follows its dropout masks; forward and input gradient given them.
 */
import { randomWord } from './random.js';

/**
 * The slope drawn for each of `length` elements: lower + (upper − lower)·u, u = (w >>> 8)·2⁻²⁴ with w
 * = randomWord(seed, stream, step, i) (in [0, 1), 2²⁴ steps: U(lower, upper) to float32's precision).
 */
export function rreluSlopesRef(length: number, lower: number, upper: number, seed: number, stream: number, step: number): Float64Array {
  return Float64Array.from({ length }, (_, i) => lower + (upper - lower) * (randomWord(seed, stream, step, i) >>> 8) * 2 ** -24);
}

/** y = x where x > 0, else slope·x (PyTorch's condition x ≤ 0 takes the slope: a NaN passes). */
export function rreluRef(x: ArrayLike<number>, slopes: ArrayLike<number>): Float64Array {
  return Float64Array.from(x, (v, i) => (v <= 0 ? v * slopes[i]! : v));
}

/** dx = dy where x > 0, else slope·dy (PyTorch's noise: the slope drawn, 1 elsewhere). */
export function rreluBackwardRef(dy: ArrayLike<number>, x: ArrayLike<number>, slopes: ArrayLike<number>): Float64Array {
  return Float64Array.from(dy, (g, i) => (x[i]! <= 0 ? g * slopes[i]! : g));
}
