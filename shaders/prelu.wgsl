// prelu: PyTorch's PReLU, y = x if x > 0 else weight[c]·x, with a learnt slope per channel (or one
// for all: channels 1, area a whole sample); overwrites y. BACKWARD: its input gradient,
// dx = dy if x > 0 else weight[c]·dy (overwrites dx). Its weight gradient: prelu_backward_weight.
//   x, y, dy, dx [count] = [batch, channels, area]; c = (i / area) mod channels.
//   One invocation per element.

struct Params {
  count: u32,
  channels: u32,
  area: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> weight: array<f32>;
#if BACKWARD
@group(0) @binding(4) var<storage, read> dy: array<f32>;
@group(0) @binding(5) var<storage, read_write> dx: array<f32>;
#else
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
#endif

override WG_X: u32;

@compute @workgroup_size(WG_X)
fn prelu(@builtin(global_invocation_id) gid3: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let gid = linearInvocation(gid3, nwg);
  let i = gid.x;
  if (i >= params.count) { return; }
  let slope = weight[(i / params.area) % params.channels];
#if BACKWARD
  dx[i] = select(slope * dy[i], dy[i], x[i] > 0.0);
#else
  y[i] = select(slope * x[i], x[i], x[i] > 0.0);
#endif
}
