// sigmoid_forward: y = 1 / (1 + e^(−x)), element-wise, overwrites y.
//   σ from shaders/lib/sigmoid.wgsl (from e^(−|x|): no exponent overflows). One invocation per element.

struct Params {
  count: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

override WG_X: u32;

@compute @workgroup_size(WG_X)
fn sigmoid_forward(@builtin(global_invocation_id) gid3: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let gid = linearInvocation(gid3, nwg);
  let i = gid.x;
  if (i >= params.count) { return; }
  y[i] = sigmoid(x[i]);
}
