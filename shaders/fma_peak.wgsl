// fma_peak: the adapter's f32 multiply-add rate, the denominator of utilisation figures.
//   (Written as x * m + a, which the driver may fuse; explicit fma() measured no faster here.)
//   Invocation i runs `iterations` rounds of 8 independent vec4 chains, x ← x · multiplier + addend
//   (8 × 4 FMAs = 64 FLOP a round), from x = (i + k) · 0.001 for chain k, then overwrites
//   out[i] with the sum of every lane of every chain (so no chain is dead code).

struct Params {
  count: u32,
  iterations: u32,
  multiplier: f32,
  addend: f32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;

override WG_X: u32;

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
  var x4 = x0 + 0.016;
  var x5 = x0 + 0.020;
  var x6 = x0 + 0.024;
  var x7 = x0 + 0.028;
  for (var r = 0u; r < params.iterations; r++) {
    x0 = x0 * m + a;
    x1 = x1 * m + a;
    x2 = x2 * m + a;
    x3 = x3 * m + a;
    x4 = x4 * m + a;
    x5 = x5 * m + a;
    x6 = x6 * m + a;
    x7 = x7 * m + a;
  }
  let s = (x0 + x1) + (x2 + x3) + (x4 + x5) + (x6 + x7);
  out[i] = (s.x + s.y) + (s.z + s.w);
}
