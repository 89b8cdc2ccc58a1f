// activation_forward: y = f(x), element-wise, for the activations whose backward reads their input
// (PyTorch's nn.LeakyReLU, SiLU, GELU, ELU, SELU, Softplus, Mish, Hardswish, Hardsigmoid, Hardtanh,
// ReLU6): one variant each, f and its arguments a, b as shaders/lib/activation_math.wgsl defines
// them; overwrites y. One invocation per element.

struct Params {
  count: u32,
  a: f32,
  b: f32,
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
  y[i] = activate(x[i]);
}
