// activation_forward: y = f(x), element-wise, for the activations whose backward reads their input
// (PyTorch's nn.LeakyReLU, SiLU, GELU, ELU, SELU, Softplus, Mish, Hardswish, Hardsigmoid, Hardtanh,
// ReLU6): one variant each, f and its arguments a, b as shaders/lib/activation_math.wgsl defines
// them; overwrites y. Four elements an invocation,
// read and written as one vec4 in VEC4 (the count a multiple of 4): the same arithmetic element by element.

struct Params {
  count: u32,
  a: f32,
  b: f32,
}

@group(0) @binding(0) var<uniform> params: Params;
#if VEC4
@group(0) @binding(1) var<storage, read> x: array<vec4f>;
@group(0) @binding(2) var<storage, read_write> y: array<vec4f>;
#else
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
#endif

override WG_X: u32;

@compute @workgroup_size(WG_X)
fn activation_forward(@builtin(global_invocation_id) gid3: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let gid = linearInvocation(gid3, nwg);
  let i = gid.x;
#if VEC4
  if (i >= params.count / 4u) { return; }
  let v = x[i];
  y[i] = vec4f(activate(v.x), activate(v.y), activate(v.z), activate(v.w));
#else
  for (var e = i * 4u; e < min(i * 4u + 4u, params.count); e++) {
    y[e] = activate(x[e]);
  }
#endif
}
