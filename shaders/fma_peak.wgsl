// fma_peak: the adapter's f32 multiply-add rate, the denominator of utilisation figures.
//   Written as x * m + a, which the driver may or may not fuse; variant EXPLICIT_FMA calls fma().
//   Invocation i runs `iterations` rounds of C independent vec4 chains, x ← x · multiplier + addend
//   (C × 4 FMAs = 8·C FLOP a round): C = 8, 4 with variant HALF, 16 with DOUBLE. Chain k starts at
//   x = base + (4k + lane) · 0.001 with base = i · 0.001; out[i] (overwritten) is the sum of every
//   lane of every chain, so no chain is dead code.
//   Variant PRODUCTS: sums of products instead, the shape of a GEMM's or a convolution's inner
//   loop. A round first steps eight vec4s v_t ← v_t · multiplier + addend (v_t starts as chain
//   0's x + t/100), then adds 8 products onto each chain k, x ← x + v_t · p_kt, t = 0 … 7 in
//   order, p_kt = 1/2 + k/128 + t/1024: (C + 1) × 8 × 4 FMAs a round. The multiplies do not wait
//   on x, only the adds do, and a driver without a fused multiply-add (lavapipe computes fma() as
//   a multiply and an add) runs this shape faster than the chains x ← x · m + a.

struct Params {
  count: u32,
  iterations: u32,
  multiplier: f32,
  addend: f32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;

override WG_X: u32;

fn step4(x: vec4f, m: vec4f, a: vec4f) -> vec4f {
#if EXPLICIT_FMA
  return fma(x, m, a);
#else
  return x * m + a;
#endif
}

// Chain k's round: x · m + a, or (PRODUCTS) the 8 products below.
fn advance(x: vec4f, k: f32, m: vec4f, a: vec4f, v0: vec4f, v1: vec4f, v2: vec4f, v3: vec4f, v4: vec4f, v5: vec4f, v6: vec4f, v7: vec4f) -> vec4f {
#if PRODUCTS
  return products(x, k, v0, v1, v2, v3, v4, v5, v6, v7);
#else
  return step4(x, m, a);
#endif
}

#if PRODUCTS
// Chain k's round in PRODUCTS: the 8 products v_t · p_kt added onto x in order, p_kt = 1/2 +
// k/128 + t/1024 (every product has its own pair of factors, so no compiler can share or fold a
// multiply; k is a literal at each call, so the p_kt are constants).
fn products(x: vec4f, k: f32, v0: vec4f, v1: vec4f, v2: vec4f, v3: vec4f, v4: vec4f, v5: vec4f, v6: vec4f, v7: vec4f) -> vec4f {
  let q = 0.5 + k / 128.0;
  let s0 = step4(v0, vec4f(q), x);
  let s1 = step4(v1, vec4f(q + 1.0 / 1024.0), s0);
  let s2 = step4(v2, vec4f(q + 2.0 / 1024.0), s1);
  let s3 = step4(v3, vec4f(q + 3.0 / 1024.0), s2);
  let s4 = step4(v4, vec4f(q + 4.0 / 1024.0), s3);
  let s5 = step4(v5, vec4f(q + 5.0 / 1024.0), s4);
  let s6 = step4(v6, vec4f(q + 6.0 / 1024.0), s5);
  return step4(v7, vec4f(q + 7.0 / 1024.0), s6);
}
#endif

@compute @workgroup_size(WG_X)
fn fma_peak(@builtin(global_invocation_id) gid: vec3u) {
  let i = gid.x;
  if (i >= params.count) { return; }
  let m = vec4f(params.multiplier);
  let a = vec4f(params.addend);
  let base = f32(i) * 0.001;
  var x0 = vec4f(base + 0.000, base + 0.001, base + 0.002, base + 0.003);
  var x1 = x0 + 0.004;
  var x2 = x0 + 0.008;
  var x3 = x0 + 0.012;
#if HALF
#else
  var x4 = x0 + 0.016;
  var x5 = x0 + 0.020;
  var x6 = x0 + 0.024;
  var x7 = x0 + 0.028;
#endif
#if DOUBLE
  var x8 = x0 + 0.032;
  var x9 = x0 + 0.036;
  var x10 = x0 + 0.040;
  var x11 = x0 + 0.044;
  var x12 = x0 + 0.048;
  var x13 = x0 + 0.052;
  var x14 = x0 + 0.056;
  var x15 = x0 + 0.060;
#endif
  // The factors of PRODUCTS (unused otherwise).
  var v0 = x0;
  var v1 = x0 + 0.01;
  var v2 = x0 + 0.02;
  var v3 = x0 + 0.03;
  var v4 = x0 + 0.04;
  var v5 = x0 + 0.05;
  var v6 = x0 + 0.06;
  var v7 = x0 + 0.07;
  for (var r = 0u; r < params.iterations; r++) {
#if PRODUCTS
    v0 = step4(v0, m, a);
    v1 = step4(v1, m, a);
    v2 = step4(v2, m, a);
    v3 = step4(v3, m, a);
    v4 = step4(v4, m, a);
    v5 = step4(v5, m, a);
    v6 = step4(v6, m, a);
    v7 = step4(v7, m, a);
#endif
    x0 = advance(x0, 0.0, m, a, v0, v1, v2, v3, v4, v5, v6, v7);
    x1 = advance(x1, 1.0, m, a, v0, v1, v2, v3, v4, v5, v6, v7);
    x2 = advance(x2, 2.0, m, a, v0, v1, v2, v3, v4, v5, v6, v7);
    x3 = advance(x3, 3.0, m, a, v0, v1, v2, v3, v4, v5, v6, v7);
#if HALF
#else
    x4 = advance(x4, 4.0, m, a, v0, v1, v2, v3, v4, v5, v6, v7);
    x5 = advance(x5, 5.0, m, a, v0, v1, v2, v3, v4, v5, v6, v7);
    x6 = advance(x6, 6.0, m, a, v0, v1, v2, v3, v4, v5, v6, v7);
    x7 = advance(x7, 7.0, m, a, v0, v1, v2, v3, v4, v5, v6, v7);
#endif
#if DOUBLE
    x8 = advance(x8, 8.0, m, a, v0, v1, v2, v3, v4, v5, v6, v7);
    x9 = advance(x9, 9.0, m, a, v0, v1, v2, v3, v4, v5, v6, v7);
    x10 = advance(x10, 10.0, m, a, v0, v1, v2, v3, v4, v5, v6, v7);
    x11 = advance(x11, 11.0, m, a, v0, v1, v2, v3, v4, v5, v6, v7);
    x12 = advance(x12, 12.0, m, a, v0, v1, v2, v3, v4, v5, v6, v7);
    x13 = advance(x13, 13.0, m, a, v0, v1, v2, v3, v4, v5, v6, v7);
    x14 = advance(x14, 14.0, m, a, v0, v1, v2, v3, v4, v5, v6, v7);
    x15 = advance(x15, 15.0, m, a, v0, v1, v2, v3, v4, v5, v6, v7);
#endif
  }
  var s = (x0 + x1) + (x2 + x3);
#if HALF
#else
  s += (x4 + x5) + (x6 + x7);
#endif
#if DOUBLE
  s += (x8 + x9) + (x10 + x11) + (x12 + x13) + (x14 + x15);
#endif
  out[i] = (s.x + s.y) + (s.z + s.w);
}
