/**
 * CPU reference of GLU (PyTorch's nn.GLU), float64, from its definition: the split dimension's
 * halves a, b of x [outer, 2·half, inner] give y = a·σ(b) [outer, half, inner]; the gradient
 * ∂a = dy·σ(b), ∂b = dy·a·σ(b)(1 − σ(b)), 1 − σ(b) as σ(−b) (in float64 too 1 − σ(b) keeps only
 * 1e-16/σ(−b) of relative accuracy: 1e-3 at b = 30).
 */

const sigmoid = (v: number) => (v >= 0 ? 1 / (1 + Math.exp(-v)) : Math.exp(v) / (1 + Math.exp(v)));

export interface GluShape {
  /** The product of the dimensions before the split one (the batch's included). */
  readonly outer: number;
  /** The split dimension's size (even). */
  readonly size: number;
  /** The product of the dimensions after it. */
  readonly inner: number;
}

export function gluRef(x: ArrayLike<number>, { outer, size, inner }: GluShape): Float64Array {
  const half = size / 2;
  const y = new Float64Array(outer * half * inner);
  for (let s = 0; s < outer; s++) {
    for (let j = 0; j < half; j++) {
      for (let k = 0; k < inner; k++) {
        const a = x[(s * size + j) * inner + k]!;
        const b = x[(s * size + j + half) * inner + k]!;
        y[(s * half + j) * inner + k] = a * sigmoid(b);
      }
    }
  }
  return y;
}

export function gluBackwardRef(dy: ArrayLike<number>, x: ArrayLike<number>, { outer, size, inner }: GluShape): Float64Array {
  const half = size / 2;
  const dx = new Float64Array(outer * size * inner);
  for (let s = 0; s < outer; s++) {
    for (let j = 0; j < half; j++) {
      for (let k = 0; k < inner; k++) {
        const ia = (s * size + j) * inner + k;
        const ib = (s * size + j + half) * inner + k;
        const g = dy[(s * half + j) * inner + k]!;
        const sb = sigmoid(x[ib]!);
        dx[ia] = g * sb;
        dx[ib] = g * x[ia]! * sb * sigmoid(-x[ib]!);
      }
    }
  }
  return dx;
}
