// The element-wise activations whose backward reads their input, as PyTorch defines them, one
// variant each (the default: LeakyReLU): activate(v) = f(v) and slope(v) = f'(v), the derivative
// PyTorch's backward uses (at a kink, the side its backward takes). `params.a` and `params.b` are
// the layer's arguments:
//   LeakyReLU (default)  f = v if v > 0 else a·v                          a = negative_slope
//   SILU                 f = v·σ(v)
//   GELU                 f = v·Φ(v), Φ the standard normal CDF (approximate='none')
//   GELU_TANH            f = ½v(1 + tanh(√(2/π)(v + 0.044715v³)))  (approximate='tanh')
//   ELU                  f = b·v if v > 0 else b·a·(e^v − 1)           a = alpha, b = scale (SELU's; 1 for ELU)
//   SOFTPLUS             f = log(1 + e^(a·v))/a, or v where a·v > b     a = beta, b = threshold
//   MISH                 f = v·tanh(softplus(v))
//   HARDSWISH            f = v·clamp(v + 3, 0, 6)/6
//   HARDSIGMOID          f = clamp(v + 3, 0, 6)/6
//   HARDTANH             f = clamp(v, a, b)                              a = min_val, b = max_val (ReLU6: 0, 6)
//   CELU                 f = v if v > 0 else a·(e^(v/a) − 1)             a = alpha
//   LOGSIGMOID           f = log σ(v) = min(v, 0) − log(1 + e^(−|v|))
//   SOFTSIGN             f = v/(1 + |v|)
//   SOFTSHRINK           f = v − a if v > a, v + a if v < −a, else 0     a = lambd
//   HARDSHRINK           f = 0 if −a ≤ v ≤ a, else v                     a = lambd
//   THRESHOLD            f = v if v > a, else b                          a = threshold, b = value
//   TANHSHRINK           f = v − tanh(v)  (a series near 0, where the difference cancels)
// e^v − 1, log(1 + e) and log(1 + e^v) keep their relative accuracy where PyTorch's formulas would
// cancel (shaders/lib/stable_math.wgsl, appended before this); no exponent is taken of a number
// that could overflow (WGSL need not have infinities). The sigmoid σ is shaders/lib/sigmoid.wgsl.
// Where e^v is a float32 subnormal (v < −87.34), which lavapipe flushes to 0, SiLU, Mish and
// Softplus (β < 1) still give a normal number in PyTorch's float32 (SiLU(−88) = −5.3e-37): there
// they take e^v and σ(v) in units of 2^−149 as PyTorch's float32 rounds them (sigmoid.wgsl's
// expUnits, sigmoidUnits) and scale the product down last.

// erfc(z) for z ≥ 0 (Numerical Recipes' erfcc: relative error below 1.2e-7 everywhere in exact
// arithmetic; in float32, with WGSL's exp, up to about 7e-6 in GELU's far tail); 0 past z = 10,
// where erfc is below the smallest float.
fn erfcNonNeg(z: f32) -> f32 {
  let x = min(z, 10.0);
  let t = 1.0 / (1.0 + 0.5 * x);
  var p = 0.17087277;
  p = p * t - 0.82215223;
  p = p * t + 1.48851587;
  p = p * t - 1.13520398;
  p = p * t + 0.27886807;
  p = p * t - 0.18628806;
  p = p * t + 0.09678418;
  p = p * t + 0.37409196;
  p = p * t + 1.00002368;
  p = p * t - 1.26551223;
  return select(t * exp(-x * x + p), 0.0, z >= 10.0);
}

// Φ(v) = ½·erfc(−v/√2), from the side on which it does not cancel.
fn normalCdf(v: f32) -> f32 {
  let z = abs(v) * 0.70710678118654752;
  let tail = 0.5 * erfcNonNeg(z);
  return select(tail, 1.0 - tail, v >= 0.0);
}

// v − tanh(v). Below |v| = 0.75 its Taylor series, v³/3 − 2v⁵/15 + 17v⁷/315 − …, to v²⁹ (the
// first omitted term is below 1e-8 of the result; the series converges for |v| < π/2), where the
// difference would cancel; above, the difference of the two (tanh(v)/(v − tanh v) ≤ 5.5: a few
// ulp of tanh become at most 5.5 times as many of the result).
fn tanhShrink(v: f32) -> f32 {
  if (abs(v) < 0.75) {
    let z = v * v;
    var p = -2.614771151e-6;
    p = p * z + 6.451689216e-6;
    p = p * z - 1.591890507e-5;
    p = p * z + 3.927832388e-5;
    p = p * z - 9.691537957e-5;
    p = p * z + 2.391291142e-4;
    p = p * z - 5.900274409e-4;
    p = p * z + 1.455834387e-3;
    p = p * z - 3.592128037e-3;
    p = p * z + 8.863235530e-3;
    p = p * z - 2.186948854e-2;
    p = p * z + 5.396825397e-2;
    p = p * z - 1.333333333e-1;
    p = p * z + 3.333333333e-1;
    return v * z * p;
  }
  return v - tanhAccurate(v);
}

const GELU_KAPPA = 0.044715;
const SQRT_2_OVER_PI = 0.79788456080286536;
const INV_SQRT_2PI = 0.39894228040143268;

// A NaN input gives NaN, as PyTorch's (WGSL's max, min, clamp and select would not carry it).
fn activate(v: f32) -> f32 {
  if (isNanBits(v)) { return v; }
#if SILU
  // PyTorch's v/(1 + e^(−v)): v·e^v where σ is subnormal, −0 where e^(−v) overflows.
  if (sigmoidSubnormal(v)) { return unitsTimes(v, select(expUnits(v), 0.0, v <= SIGMOID_ZERO_AT)); }
  return v * sigmoid(v);
#elif GELU
  return v * normalCdf(v);
#elif GELU_TANH
  // ½(1 + tanh(u)) = σ(2u), exact on both sides; u from v clamped (tanh is ±1 in f32 long before).
  let c = clamp(v, -50.0, 50.0);
  return v * sigmoid(2.0 * SQRT_2_OVER_PI * (c + GELU_KAPPA * c * c * c));
#elif ELU
  return select(params.b * params.a * expm1Accurate(max(v, -100.0)), params.b * v, v > 0.0);
#elif SOFTPLUS
  let z = params.a * v;
  var f = softplusStable(z) / params.a;
  // log(1 + e^z) = e^z where that is subnormal, which a β below 1 makes normal again.
  if (sigmoidSubnormal(z)) { f = unitsOver(round(expUnits(z)), params.a); }
  return select(f, v, z > params.b);
#elif MISH
  // v·e^v where e^v is subnormal (PyTorch's float32: log1p and tanh of it are itself).
  if (sigmoidSubnormal(v)) { return unitsTimes(v, round(expUnits(v))); }
  // tanh(s) = −m/(2 + m), m = e^(−2s) − 1, s = softplus(v) ≥ 0 (1 past s = 40).
  let m = expm1Accurate(-2.0 * min(softplusStable(v), 40.0));
  return v * (-m / (2.0 + m));
#elif HARDSWISH
  // The factor first: v itself past 3 (v · 6 / 6 would overflow near the largest floats).
  return v * (clamp(v + 3.0, 0.0, 6.0) / 6.0);
#elif HARDSIGMOID
  return clamp(v + 3.0, 0.0, 6.0) / 6.0;
#elif HARDTANH
  return min(max(v, params.a), params.b);
#elif CELU
  return select(params.a * expm1Accurate(max(v / params.a, -100.0)), v, v > 0.0);
#elif LOGSIGMOID
  return min(v, 0.0) - log1pNonNeg(exp(-abs(v)));
#elif SOFTSIGN
  return v / (1.0 + abs(v));
#elif SOFTSHRINK
  return select(select(0.0 * v, v + params.a, v < -params.a), v - params.a, v > params.a);
#elif HARDSHRINK
  return select(v, 0.0 * v, v >= -params.a && v <= params.a);
#elif THRESHOLD
  return select(params.b, v, v > params.a);
#elif TANHSHRINK
  return tanhShrink(v);
#else
  return select(params.a * v, v, v > 0.0);
#endif
}

// At a NaN input, the derivative PyTorch's backward takes: its comparisons with NaN are false,
// so LeakyReLU's is the slope, ELU's the scale, Hardswish's and Hardtanh's 1, Hardsigmoid's 0,
// and the smooth ones' NaN.
fn slope(v: f32) -> f32 {
  if (isNanBits(v)) {
#if ELU
    return params.b;
#elif HARDSWISH
    return 1.0;
#elif HARDTANH
    return 1.0;
#elif HARDSIGMOID
    return 0.0;
#elif CELU
    return 1.0;
#elif SOFTSHRINK
    return 1.0;
#elif HARDSHRINK
    return 1.0;
#elif THRESHOLD
    return 1.0;
#elif LOGSIGMOID
    return v;
#elif SOFTSIGN
    return v;
#elif SILU
    return v;
#elif GELU
    return v;
#elif GELU_TANH
    return v;
#elif SOFTPLUS
    return v;
#elif MISH
    return v;
#elif TANHSHRINK
    return v;
#else
    return params.a;
#endif
  }
#if SILU
  // PyTorch's σ·(1 + v(1 − σ)), σ subnormal: (1 + v)·σ.
  if (sigmoidSubnormal(v)) { return unitsTimes(1.0 + v, sigmoidUnits(v)); }
  let s = sigmoid(v);
  return s * (1.0 + v * (1.0 - s));
#elif GELU
  let c = clamp(v, -20.0, 20.0);
  return normalCdf(v) + c * INV_SQRT_2PI * exp(-0.5 * c * c);
#elif GELU_TANH
  let c = clamp(v, -50.0, 50.0);
  let s = sigmoid(2.0 * SQRT_2_OVER_PI * (c + GELU_KAPPA * c * c * c));
  return s + 2.0 * c * s * (1.0 - s) * SQRT_2_OVER_PI * (1.0 + 3.0 * GELU_KAPPA * c * c);
#elif ELU
  return select(params.b * params.a * exp(max(v, -100.0)), params.b, v > 0.0);
#elif SOFTPLUS
  let z = params.a * v;
  return select(sigmoid(z), 1.0, z > params.b);
#elif MISH
  // e^v subnormal: PyTorch's float32 takes tanh(s) = e^v and 1 − tanh²(s) = 1, so f' = e^v + v·σ(v).
  if (sigmoidSubnormal(v)) { return unitsTimes(1.0, round(expUnits(v)) + v * sigmoidUnits(v)); }
  // f' = tanh(s) + v·σ(v)·(1 − tanh²(s)), 1 − tanh²(s) = 4E/(1 + E)², E = e^(−2s).
  // (v past 40: the second term is 0 in f32; v clamped there so that s's clamp does not leave a
  // v·E; below −100 it is below the smallest float, and a huge v would make the product −∞·0.)
  let s = min(softplusStable(v), 40.0);
  let m = expm1Accurate(-2.0 * s);
  let e = exp(-2.0 * s);
  let c = clamp(v, -100.0, 40.0);
  return -m / (2.0 + m) + c * sigmoid(c) * 4.0 * e / ((1.0 + e) * (1.0 + e));
#elif HARDSWISH
  // The sides of PyTorch ≥ 2.7 (pytorch/pytorch#148049): 0 at −3, 1 at 3.
  return select(select(1.0, v / 3.0 + 0.5, v < 3.0), 0.0, v <= -3.0);
#elif HARDSIGMOID
  return select(0.0, 1.0 / 6.0, v > -3.0 && v < 3.0);
#elif HARDTANH
  return select(1.0, 0.0, v <= params.a || v >= params.b);
#elif CELU
  return select(exp(max(v / params.a, -100.0)), 1.0, v > 0.0);
#elif LOGSIGMOID
  return sigmoid(-v);
#elif SOFTSIGN
  // 1/(1 + |v|)², as two factors (the square of 1 + |v| would overflow past 1.8e19).
  let r = 1.0 / (1.0 + abs(v));
  return r * r;
#elif SOFTSHRINK
  return select(1.0, 0.0, v >= -params.a && v <= params.a);
#elif HARDSHRINK
  return select(1.0, 0.0, v >= -params.a && v <= params.a);
#elif THRESHOLD
  return select(0.0, 1.0, v > params.a);
#elif TANHSHRINK
  // 1 − (1 − tanh²(v)) = tanh²(v), without the cancellation near 0.
  let t = tanhAccurate(v);
  return t * t;
#else
  return select(params.a, 1.0, v > 0.0);
#endif
}
