// bias_add: y[b, c, s] += bias[c], in place; variant RELU: y = max(y + bias, 0), a NaN kept
// (reluBits) (the ReLU of a Conv2d or Linear with bias, applied as the sum is stored).
//   y [batch, channels, area] (area 1 for a Linear layer's [batch, features]); bias [channels].
//   One invocation per four elements, read and written as one vec4 in VEC4 (the area a multiple
//   of 4: the four in one channel).

struct Params {
  batch: u32,
  channels: u32,
  area: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> bias: array<f32>;
#if VEC4
@group(0) @binding(2) var<storage, read_write> y: array<vec4f>;
#else
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
#endif

override WG_X: u32;

// The sum as stored: itself, or its ReLU (RELU).
fn stored(v: vec4f) -> vec4f {
#if RELU
  return reluBits4(v);
#else
  return v;
#endif
}

@compute @workgroup_size(WG_X)
fn bias_add(@builtin(global_invocation_id) gid3: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let gid = linearInvocation(gid3, nwg);
  let i0 = gid.x * 4u;
  let length = params.batch * params.channels * params.area;
#if VEC4
  if (i0 >= length) { return; }
  y[gid.x] = stored(y[gid.x] + bias[(i0 / params.area) % params.channels]);
#else
  for (var i = i0; i < min(i0 + 4u, length); i++) {
    y[i] = stored(vec4f(y[i] + bias[(i / params.area) % params.channels])).x;
  }
#endif
}
