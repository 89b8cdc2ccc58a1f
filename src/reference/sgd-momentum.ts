/**
 * CPU reference for SGD with momentum, float64, as PyTorch's SGD with no dampening, Nesterov or
 * weight decay: v ← momentum · v + g; p ← p − lr · v. With v starting at 0 the first step gives v = g.
 */

export function sgdMomentumRef(
  param: ArrayLike<number>,
  grad: ArrayLike<number>,
  velocity: ArrayLike<number>,
  lr: number,
  momentum: number,
): { param: Float64Array; velocity: Float64Array } {
  const v = Float64Array.from(velocity, (vi, i) => momentum * vi + grad[i]!);
  return { param: Float64Array.from(param, (p, i) => p - lr * v[i]!), velocity: v };
}
