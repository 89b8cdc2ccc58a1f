// activation_backward: the input gradient of activation_forward, from its input x; overwrites dx.
// One invocation per element.
//   LeakyReLU (the default variant): dx = dy if x > 0 else slope · dy (PyTorch's
//   leaky_relu_backward: at x = 0 the slope's side).
//   SILU: dx = dy · σ(x) · (1 + x · (1 − σ(x))) (PyTorch's silu_backward).

struct Params {
  count: u32,
  slope: f32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;

override WG_X: u32;

@compute @workgroup_size(WG_X)
fn activation_backward(@builtin(global_invocation_id) gid3: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let gid = linearInvocation(gid3, nwg);
  let i = gid.x;
  if (i >= params.count) { return; }
  let v = x[i];
#if SILU
  let s = sigmoid(v);
  dx[i] = dy[i] * s * (1.0 + v * (1.0 - s));
#else
  dx[i] = select(params.slope * dy[i], dy[i], v > 0.0);
#endif
}
