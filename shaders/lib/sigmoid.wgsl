// The logistic function σ(v) = 1 / (1 + e^(−v)), computed from e^(−|v|) so that no exponent
// overflows (WGSL need not have infinities). Used by sigmoid_forward, glu, pointwise_loss and
// activation_* (SiLU, Softplus's and LogSigmoid's derivatives, Mish's).
//
// Below v = −87.34, e^v (and σ(v)) is a float32 subnormal, which lavapipe's exp flushes to 0.
// PyTorch's float32 keeps it, a whole number of 2^−149, and a large factor makes a normal number
// of it again (GLU's a·σ(b) at b = −88, SiLU's v·σ(v) ≈ −5e-37 there). For those products the
// kernels take e^v in units of 2^−149 (expUnits: a normal float) and scale the product by 2^−149
// last, through the factor's exponent (unitsTimes): a normal result is rounded once, as PyTorch's
// a·σ. (Not by constant powers of two: the compiler reassociates a·2^−64·u·2^−85 into
// (a·2^−149)·u, whose first product is itself subnormal, a rounded to a whole number.) Only where
// e^(−|v|) leaves the normal range, so every other input keeps its bits.

const MIN_NORMAL_F32 = 1.17549435e-38; // 2^−126
// At and below −88.72283935546875 PyTorch's e^(−v) overflows to ∞, so its σ(v) = 1/(1 + e^(−v)) is 0.
const SIGMOID_ZERO_AT = -88.72283935546875;

fn sigmoid(v: f32) -> f32 {
  let e = exp(-abs(v));
  return select(e / (1.0 + e), 1.0 / (1.0 + e), v >= 0.0);
}

// Whether σ(v) (v < 0: e^v) is below float32's normal range, where sigmoid(v) is flushed to 0.
fn sigmoidSubnormal(v: f32) -> bool {
  return v < 0.0 && exp(-abs(v)) < MIN_NORMAL_F32;
}

// e^v · 2^149, a normal float, for v ≤ −87 (below ½ from v = −103.98 down; v clamped at −104): e^r · 2^(n + 149)
// with v = n·ln2 + r, |r| ≤ ½ln2 (Cody–Waite: ln2's leading 15 bits, so n·LN2_HI is exact, and
// the rest), the power of two from its bits. Within a few ulp of e^v where WGSL's exp of v itself
// would round v·log2(e) to 2^−17.
fn expUnits(v: f32) -> f32 {
  let w = max(v, -104.0);
  let n = round(w * 1.44269504);
  let r = (w - n * 0.693145751953125) - n * 1.42860677e-6;
  return exp(r) * bitcast<f32>(u32(i32(n) + 149 + 127) << 23u);
}

// σ(v) · 2^149 where σ(v) is subnormal, as PyTorch's float32 gives it: a whole number (rounded to
// even), 0 from SIGMOID_ZERO_AT down.
fn sigmoidUnits(v: f32) -> f32 {
  return select(round(expUnits(v)), 0.0, v <= SIGMOID_ZERO_AT);
}

// a · units · 2^−149 for units ≥ 0: a's fraction times units (the one rounding), then the
// exponents (exact where the result is normal). An infinite or NaN a: a · units (NaN at units 0,
// as PyTorch's ∞·0).
fn unitsTimes(a: f32, units: f32) -> f32 {
  if ((bitcast<u32>(a) & 0x7f800000u) == 0x7f800000u) { return a * units; }
  let f = frexp(a);
  return ldexp(f.fract * units, f.exp - 149);
}

// units · 2^−149 / d (d finite, nonzero): as unitsTimes, by d's fraction.
fn unitsOver(units: f32, d: f32) -> f32 {
  let f = frexp(d);
  return ldexp(units / f.fract, -149 - f.exp);
}

// a · σ(v), with σ(v) as PyTorch's float32 has it where it is subnormal.
fn timesSigmoid(a: f32, v: f32) -> f32 {
  if (sigmoidSubnormal(v)) { return unitsTimes(a, sigmoidUnits(v)); }
  return a * sigmoid(v);
}
