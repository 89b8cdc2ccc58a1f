/**
 * CPU reference of the activations whose backward reads their input (LeakyReLU, SiLU, GELU, ELU,
 * SELU, Softplus, Mish, Hardswish, Hardsigmoid, Hardtanh, ReLU6), float64, from PyTorch's
 * formulas (written from its documentation and its backward kernels, independently of the WGSL):
 * forward, and the input gradient from the input x.
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

/**
 * erfc(z) in float64 for z ≥ 0: 1 − erf(z) from its Taylor series below 2.5 (terms to 1e-17;
 * erfc ≥ 4e-4 there, so the subtraction keeps 13 digits), else the continued fraction
 * erfc(z) = e^(−z²)/√π · 1/(z + ½/(z + 1/(z + 3/2/(z + …)))) evaluated from its 80th term.
 */
export function erfcRef(z: number): number {
  if (z < 2.5) {
    let term = z;
    let sum = z;
    for (let n = 1; Math.abs(term) > 1e-17 * Math.abs(sum); n++) {
      term *= (-z * z) / n;
      sum += term / (2 * n + 1);
    }
    return 1 - (2 / Math.sqrt(Math.PI)) * sum;
  }
  let k = z;
  for (let n = 80; n >= 1; n--) k = z + n / 2 / k;
  return Math.exp(-z * z) / Math.sqrt(Math.PI) / k;
}

/** Φ(x), the standard normal CDF, from the side on which it does not cancel. */
export function normalCdfRef(x: number): number {
  const tail = 0.5 * erfcRef(Math.abs(x) / Math.SQRT2);
  return x >= 0 ? 1 - tail : tail;
}

/** The activations of src/kernels/activation.ts (shaders/lib/activation_math.wgsl), by variant. */
export type ActivationRefKind = 'LEAKY_RELU' | 'SILU' | 'GELU' | 'GELU_TANH' | 'ELU' | 'SOFTPLUS' | 'MISH' | 'HARDSWISH' | 'HARDSIGMOID' | 'HARDTANH' | 'CELU' | 'LOGSIGMOID' | 'SOFTSIGN' | 'SOFTSHRINK' | 'HARDSHRINK' | 'THRESHOLD' | 'TANHSHRINK';

/**
 * tanh's Taylor coefficients, tanh v = Σ TANH_TAYLOR[n]·v^n (odd n), from tanh' = 1 − tanh²:
 * (n + 1)·t[n + 1] = −Σ_{i + k = n} t[i]·t[k] for n ≥ 1, t[1] = 1.
 */
const TANH_TAYLOR = (() => {
  const t = new Float64Array(80);
  t[1] = 1;
  for (let n = 2; n < t.length; n++) {
    let s = 0;
    for (let i = 1; i < n - 1; i++) s += t[i]! * t[n - 1 - i]!;
    t[n] = -s / n;
  }
  return t;
})();

/**
 * v − tanh v in float64 without its cancellation near 0 (there v − Math.tanh(v) would keep only
 * 1e-16·v/(v³/3) of relative accuracy): below |v| = 0.5 the series −Σ_{n ≥ 3} t[n]·v^n until a term
 * is below 1e-18 of the sum (|v|/(π/2) ≤ 0.32: the terms shrink tenfold every two), else the difference.
 */
export function tanhshrinkRef1(v: number): number {
  if (!(Math.abs(v) < 0.5)) return v - Math.tanh(v);
  let sum = 0;
  for (let n = 3; n < TANH_TAYLOR.length; n += 2) {
    const term = -TANH_TAYLOR[n]! * v ** n;
    sum += term;
    if (Math.abs(term) <= 1e-18 * Math.abs(sum)) break;
  }
  return sum;
}

const GELU_KAPPA = 0.044715;
const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);
const softplus1 = (z: number) => Math.max(z, 0) + Math.log1p(Math.exp(-Math.abs(z)));
const sigmoid1 = (v: number) => 1 / (1 + Math.exp(-v));

/** f(v), as PyTorch's forward defines it; a, b the layer's arguments (activation_math.wgsl's table). */
function activate(kind: ActivationRefKind, v: number, a: number, b: number): number {
  switch (kind) {
    case 'LEAKY_RELU':
      return v > 0 ? v : a * v;
    case 'SILU':
      return v * sigmoid1(v);
    case 'GELU':
      return v * normalCdfRef(v);
    case 'GELU_TANH':
      // ½v(1 + tanh(u)) as v·σ(2u), the same number without the cancellation of 1 + tanh(u) → 0.
      return v * sigmoid1(2 * SQRT_2_OVER_PI * (v + GELU_KAPPA * v ** 3));
    case 'ELU':
      return v <= 0 ? b * a * Math.expm1(v) : b * v;
    case 'SOFTPLUS':
      return a * v > b ? v : softplus1(a * v) / a;
    case 'MISH':
      return v * Math.tanh(softplus1(v));
    case 'HARDSWISH':
      return (v * Math.min(Math.max(v + 3, 0), 6)) / 6;
    case 'HARDSIGMOID':
      return Math.min(Math.max(v + 3, 0), 6) / 6;
    case 'HARDTANH':
      return Math.min(Math.max(v, a), b);
    case 'CELU':
      return v > 0 ? v : a * Math.expm1(v / a);
    case 'LOGSIGMOID':
      return Math.min(v, 0) - Math.log1p(Math.exp(-Math.abs(v)));
    case 'SOFTSIGN':
      return v / (1 + Math.abs(v));
    case 'SOFTSHRINK':
      return v > a ? v - a : v < -a ? v + a : v * 0;
    case 'HARDSHRINK':
      return v >= -a && v <= a ? v * 0 : v;
    case 'THRESHOLD':
      // PyTorch's condition (x <= threshold → value): a NaN stays NaN.
      return v <= a ? b : v;
    case 'TANHSHRINK':
      return tanhshrinkRef1(v);
  }
}

/** f'(v) as PyTorch's backward takes it (at a kink, its side). */
function slope(kind: ActivationRefKind, v: number, a: number, b: number): number {
  switch (kind) {
    case 'LEAKY_RELU':
      return v > 0 ? 1 : a;
    case 'SILU': {
      const s = sigmoid1(v);
      return s * (1 + v * (1 - s));
    }
    case 'GELU':
      return normalCdfRef(v) + (v * Math.exp(-0.5 * v * v)) / Math.sqrt(2 * Math.PI);
    case 'GELU_TANH': {
      // PyTorch's gelu_backward (approximate='tanh'), ½(1 + t) + ½v(1 − t²)·√(2/π)(1 + 3κv²) with
      // t = tanh(u), written with s = σ(2u) = ½(1 + t): s + 2v·s(1 − s)·√(2/π)(1 + 3κv²).
      const s = sigmoid1(2 * SQRT_2_OVER_PI * (v + GELU_KAPPA * v ** 3));
      return s + 2 * v * s * (1 - s) * SQRT_2_OVER_PI * (1 + 3 * GELU_KAPPA * v * v);
    }
    case 'ELU':
      // PyTorch's condition (x <= 0): a NaN takes the positive side, the scale.
      return v <= 0 ? b * a * Math.exp(v) : b;
    case 'SOFTPLUS':
      return a * v > b ? 1 : sigmoid1(a * v);
    case 'MISH': {
      const t = Math.tanh(softplus1(v));
      return t + v * sigmoid1(v) * (1 - t * t);
    }
    case 'HARDSWISH':
      // At the kinks the sides of the function's defining pieces, as PyTorch ≥ 2.7's backward
      // (pytorch/pytorch#148049: 0 at −3, 1 at 3; 1.13 gave −0.5 at −3, and 1.5 or 1 at 3 by position).
      return v <= -3 ? 0 : v < 3 ? v / 3 + 0.5 : 1;
    case 'HARDSIGMOID':
      // PyTorch's backward multiplies by its constant one_sixth(1.0f / 6.0f), a float32 1/6 in
      // every dtype (float64 too: 3e-8 of 1/6 off): the same constant here.
      return v > -3 && v < 3 ? Math.fround(1 / 6) : 0;
    case 'HARDTANH':
      return v <= a || v >= b ? 0 : 1;
    case 'CELU': {
      // PyTorch's: elu_backward with input scale 1.0 / alpha.toFloat() (derivatives.yaml), so in
      // float64 too its slope is alpha/float32(alpha)·e^(x/float32(alpha)) (1.7e-8 off e^(x/alpha)
      // at alpha 0.7): the same here (a float32 alpha, as the kernels take it, gives e^(x/alpha)).
      // x <= 0 is PyTorch's condition: a NaN takes 1.
      const inverse = 1 / Math.fround(a);
      return v <= 0 ? a * inverse * Math.exp(v * inverse) : 1;
    }
    case 'LOGSIGMOID':
      // PyTorch's log_sigmoid_backward: 1 − σ(v) = σ(−v).
      return sigmoid1(-v);
    case 'SOFTSIGN':
      return 1 / (1 + Math.abs(v)) ** 2;
    case 'SOFTSHRINK':
    case 'HARDSHRINK':
      // PyTorch's backward: 0 where −lambd ≤ x ≤ lambd (a NaN takes 1).
      return v >= -a && v <= a ? 0 : 1;
    case 'THRESHOLD':
      return v <= a ? 0 : 1;
    case 'TANHSHRINK':
      // PyTorch's x − x.tanh(): 1 − (1 − tanh²) = tanh²(v).
      return Math.tanh(v) ** 2;
  }
}

/** y = f(x), element-wise. */
export function activationRef(kind: ActivationRefKind, x: ArrayLike<number>, a = 0, b = 0): Float64Array {
  return Float64Array.from(x, (v) => activate(kind, v, a, b));
}

/** dx = dy · f'(x), from the input x. */
export function activationBackwardRef(kind: ActivationRefKind, dy: ArrayLike<number>, x: ArrayLike<number>, a = 0, b = 0): Float64Array {
  return Float64Array.from(dy, (g, i) => g * slope(kind, x[i]!, a, b));
}

/** PReLU's forward over [batch, channels, area]: x if x > 0 else weight[c]·x (channels 1: one slope). */
export function preluRef(x: ArrayLike<number>, weight: ArrayLike<number>, channels: number, area: number): Float64Array {
  return Float64Array.from({ length: x.length }, (_, i) => (x[i]! > 0 ? x[i]! : weight[Math.floor(i / area) % channels]! * x[i]!));
}

/** PReLU's gradients: dx = dy if x > 0 else weight[c]·dy, and dweight[c] = Σ over x ≤ 0 of x·dy (PyTorch's). */
export function preluBackwardRef(dy: ArrayLike<number>, x: ArrayLike<number>, weight: ArrayLike<number>, channels: number, area: number): { dx: Float64Array; dweight: Float64Array } {
  const dx = new Float64Array(x.length);
  const dweight = new Float64Array(channels);
  for (let i = 0; i < x.length; i++) {
    const c = Math.floor(i / area) % channels;
    if (x[i]! > 0) dx[i] = dy[i]!;
    else {
      dx[i] = weight[c]! * dy[i]!;
      dweight[c]! += x[i]! * dy[i]!;
    }
  }
  return { dx, dweight };
}
