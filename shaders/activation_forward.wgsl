// activation_forward: element-wise activations that need their input in the backward pass
// (PyTorch's nn.LeakyReLU and nn.SiLU); overwrites y. One invocation per element.
//   LeakyReLU (the default variant): y = x if x > 0 else slope · x (PyTorch's negative_slope).
//   SILU: y = x · σ(x), σ(x) = 1 / (1 + e^(−x)), computed from e^(−|x|).

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
  // σ from e^(−|x|), as sigmoid_forward: no exponent overflows (WGSL need not have infinities).
  let e = exp(-abs(v));
  y[i] = v * select(e / (1.0 + e), 1.0 / (1.0 + e), v >= 0.0);
#else
  y[i] = select(params.slope * v, v, v > 0.0);
#endif
}
