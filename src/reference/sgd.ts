/** CPU reference for plain gradient descent, float64: p − lr · g. */

export function sgdUpdateRef(param: ArrayLike<number>, grad: ArrayLike<number>, lr: number): Float64Array {
  return Float64Array.from(param, (p, i) => p - lr * grad[i]!);
}
