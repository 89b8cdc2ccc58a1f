// prelu: PyTorch's PReLU with a learnt slope per channel (or one for all: channels 1, area a whole
// sample): out = v if x > 0 else weight[c]·v  (overwrites out). The forward binds v = x (y = x or
// weight[c]·x), the input gradient v = dy (dx = dy or weight[c]·dy): one kernel for both. Its
// weight gradient: prelu_backward_weight.
//   x, v, out [count] = [batch, channels, area]; c = (i / area) mod channels.
//   Four elements an invocation; VEC4 (area a multiple of 4) reads and writes them as one vec4,
//   the same arithmetic element by element.

struct Params {
  count: u32,
  channels: u32,
  area: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
#if VEC4
@group(0) @binding(1) var<storage, read> x: array<vec4f>;
#else
@group(0) @binding(1) var<storage, read> x: array<f32>;
#endif
@group(0) @binding(2) var<storage, read> weight: array<f32>;
#if VEC4
@group(0) @binding(3) var<storage, read> v: array<vec4f>;
@group(0) @binding(4) var<storage, read_write> out: array<vec4f>;
#else
@group(0) @binding(3) var<storage, read> v: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;
#endif

override WG_X: u32;

@compute @workgroup_size(WG_X)
fn prelu(@builtin(global_invocation_id) gid3: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let gid = linearInvocation(gid3, nwg);
  let i = gid.x;
#if VEC4
  if (i >= params.count / 4u) { return; }
  out[i] = select(weight[((i * 4u) / params.area) % params.channels] * v[i], v[i], x[i] > vec4f(0.0));
#else
  for (var e = i * 4u; e < min(i * 4u + 4u, params.count); e++) {
    out[e] = select(weight[(e / params.area) % params.channels] * v[e], v[e], x[e] > 0.0);
  }
#endif
}
