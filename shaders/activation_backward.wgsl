// activation_backward: the input gradient of activation_forward, dx = dy · f'(x), from its input x
// (f' as shaders/lib/activation_math.wgsl defines it, with PyTorch's side at each kink: LeakyReLU
// and ELU take the negative side at x = 0); overwrites dx. Four elements an invocation,
// read and written as one vec4 in VEC4 (the count a multiple of 4): the same arithmetic element by element.

struct Params {
  count: u32,
  a: f32,
  b: f32,
}

@group(0) @binding(0) var<uniform> params: Params;
#if VEC4
@group(0) @binding(1) var<storage, read> dy: array<vec4f>;
@group(0) @binding(2) var<storage, read> x: array<vec4f>;
@group(0) @binding(3) var<storage, read_write> dx: array<vec4f>;
#else
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;
#endif

override WG_X: u32;

@compute @workgroup_size(WG_X)
fn activation_backward(@builtin(global_invocation_id) gid3: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let gid = linearInvocation(gid3, nwg);
  let i = gid.x;
#if VEC4
  if (i >= params.count / 4u) { return; }
  let v = x[i];
  dx[i] = dy[i] * vec4f(slope(v.x), slope(v.y), slope(v.z), slope(v.w));
#else
  for (var e = i * 4u; e < min(i * 4u + 4u, params.count); e++) {
    dx[e] = dy[e] * slope(x[e]);
  }
#endif
}
