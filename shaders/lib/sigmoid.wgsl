// The logistic function σ(v) = 1 / (1 + e^(−v)), computed from e^(−|v|) so that no exponent
// overflows (WGSL need not have infinities). Used by sigmoid_forward and activation_* (SiLU).

fn sigmoid(v: f32) -> f32 {
  let e = exp(-abs(v));
  return select(e / (1.0 + e), 1.0 / (1.0 + e), v >= 0.0);
}
