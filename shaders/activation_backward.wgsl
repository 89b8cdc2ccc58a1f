// activation_backward: the input gradient of activation_forward, dx = dy · f'(x), from its input x
// (f' as shaders/lib/activation_math.wgsl defines it, with PyTorch's side at each kink: LeakyReLU
// and ELU take the negative side at x = 0); overwrites dx. One invocation per element.

struct Params {
  count: u32,
  a: f32,
  b: f32,
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
  dx[i] = dy[i] * slope(x[i]);
}
