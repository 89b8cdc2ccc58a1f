// tanh_forward: y = tanh(x), element-wise, overwrites y.
//   Computed as sign(x)·(1 − e)/(1 + e) with e = e^(−2|x|), so no exponent overflows and large |x|
//   give ±1 exactly. One invocation per element.

struct Params {
  count: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

override WG_X: u32;

@compute @workgroup_size(WG_X)
fn tanh_forward(@builtin(global_invocation_id) gid3: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let gid = linearInvocation(gid3, nwg);
  let i = gid.x;
  if (i >= params.count) { return; }
  let v = x[i];
  let e = exp(-2.0 * abs(v));
  let t = (1.0 - e) / (1.0 + e);
  y[i] = select(-t, t, v >= 0.0);
}
