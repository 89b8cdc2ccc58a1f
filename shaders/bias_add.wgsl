// bias_add: y[b, c, s] += bias[c], in place; variant RELU: y = max(y + bias, 0) (the ReLU of a
// Conv2d or Linear with bias, applied as the sum is stored).
//   y [batch, channels, area] (area 1 for a Linear layer's [batch, features]); bias [channels].
//   One invocation per four elements of a plane row.

struct Params {
  batch: u32,
  channels: u32,
  area: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> bias: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

override WG_X: u32;

@compute @workgroup_size(WG_X)
fn bias_add(@builtin(global_invocation_id) gid3: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let gid = linearInvocation(gid3, nwg);
  let i0 = gid.x * 4u;
  let length = params.batch * params.channels * params.area;
  for (var i = i0; i < min(i0 + 4u, length); i++) {
    let c = (i / params.area) % params.channels;
    let v = y[i] + bias[c];
#if RELU
    y[i] = max(v, 0.0);
#else
    y[i] = v;
#endif
  }
}
