// activation_forward: element-wise activations that need their input in the backward pass
// (PyTorch's nn.LeakyReLU and nn.SiLU); overwrites y. One invocation per element.
//   LeakyReLU (the default variant): y = x if x > 0 else slope · x (PyTorch's negative_slope).
//   SILU: y = x · σ(x), σ from shaders/lib/sigmoid.wgsl.

struct Params {
  count: u32,
  slope: f32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

override WG_X: u32;

@compute @workgroup_size(WG_X)
fn activation_forward(@builtin(global_invocation_id) gid3: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let gid = linearInvocation(gid3, nwg);
  let i = gid.x;
  if (i >= params.count) { return; }
  let v = x[i];
#if SILU
  y[i] = v * sigmoid(v);
#else
  y[i] = select(params.slope * v, v, v > 0.0);
#endif
}
