// Float32 functions that keep their relative accuracy where the textbook formulas cancel or
// overflow. WGSL's exp and log are only accurate to an absolute 2^−21 near 1 and have no expm1 or
// log1p, so those are computed here from series (e^x − 1 near 0, log(1 + e) for small e); no
// exponent is taken of a number that could overflow (WGSL need not have infinities). Used by the
// activations (activation_math.wgsl), the losses (pointwise_loss.wgsl) and the LSTM's cells
// (lstm_forward_step.wgsl, lstm_backward_step.wgsl).

// e^x − 1: a Taylor polynomial where it cancels (|x| < 1.25: the first omitted term is below 2e-8
// of the result), else exp(x) − 1.
fn expm1Accurate(x: f32) -> f32 {
  if (abs(x) < 1.25) {
    var p = 1.0 / 39916800.0;
    p = p * x + 1.0 / 3628800.0;
    p = p * x + 1.0 / 362880.0;
    p = p * x + 1.0 / 40320.0;
    p = p * x + 1.0 / 5040.0;
    p = p * x + 1.0 / 720.0;
    p = p * x + 1.0 / 120.0;
    p = p * x + 1.0 / 24.0;
    p = p * x + 1.0 / 6.0;
    p = p * x + 0.5;
    p = p * x + 1.0;
    return p * x;
  }
  return exp(x) - 1.0;
}

// tanh(v) to a few ulp relative: −m/(2 + m), m = e^(−2|v|) − 1 (expm1Accurate), the sign restored
// (1 past |v| = 40); WGSL's tanh need only be as accurate as its sinh/cosh formula.
fn tanhAccurate(v: f32) -> f32 {
  let m = expm1Accurate(-2.0 * min(abs(v), 40.0));
  let t = -m / (2.0 + m);
  return select(-t, t, v >= 0.0);
}

// log(1 + e) for e ≥ 0: below 1 from 2·atanh(s), s = e/(2 + e) ≤ 1/3 (the series to s^15: the
// first omitted term is below 1e-8 of the result), else log(1 + e).
fn log1pNonNeg(e: f32) -> f32 {
  if (e < 1.0) {
    let s = e / (2.0 + e);
    let s2 = s * s;
    var p = 1.0 / 15.0;
    p = p * s2 + 1.0 / 13.0;
    p = p * s2 + 1.0 / 11.0;
    p = p * s2 + 1.0 / 9.0;
    p = p * s2 + 1.0 / 7.0;
    p = p * s2 + 1.0 / 5.0;
    p = p * s2 + 1.0 / 3.0;
    p = p * s2 + 1.0;
    return 2.0 * s * p;
  }
  return log(1.0 + e);
}

// log(1 + e^z) without overflow: max(z, 0) + log(1 + e^(−|z|)).
fn softplusStable(z: f32) -> f32 {
  return max(z, 0.0) + log1pNonNeg(exp(-abs(z)));
}

// NaN, from the bits (WGSL lets a compiler assume floats are not NaN, so `v != v` may fold away).
fn isNanBits(v: f32) -> bool {
  return (bitcast<u32>(v) & 0x7fffffffu) > 0x7f800000u;
}
