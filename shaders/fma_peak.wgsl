// fma_peak: the adapter's f32 multiply-add rate, the denominator of utilisation figures.
//   Written as x * m + a, which the driver may or may not fuse; variant EXPLICIT_FMA calls fma().
//   Invocation i runs `iterations` rounds of C independent vec4 chains, x ← x · multiplier + addend
//   (C × 4 FMAs = 8·C FLOP a round): C = 8, 4 with variant HALF, 16 with DOUBLE. Chain k starts at
//   x = base + (4k + lane) · 0.001 with base = i · 0.001; out[i] (overwritten) is the sum of every
//   lane of every chain, so no chain is dead code.

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
  for (var r = 0u; r < params.iterations; r++) {
    x0 = step4(x0, m, a);
    x1 = step4(x1, m, a);
    x2 = step4(x2, m, a);
    x3 = step4(x3, m, a);
#if HALF
#else
    x4 = step4(x4, m, a);
    x5 = step4(x5, m, a);
    x6 = step4(x6, m, a);
    x7 = step4(x7, m, a);
#endif
#if DOUBLE
    x8 = step4(x8, m, a);
    x9 = step4(x9, m, a);
    x10 = step4(x10, m, a);
    x11 = step4(x11, m, a);
    x12 = step4(x12, m, a);
    x13 = step4(x13, m, a);
    x14 = step4(x14, m, a);
    x15 = step4(x15, m, a);
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
