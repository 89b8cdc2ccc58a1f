// prelu_backward_weight: PReLU's weight gradient as partial sums, partial[s, c] = Σ (x ≤ 0 ? x·dy : 0)
// over split s of channel c's batch·area elements of [batch, channels, area] (one slope for all:
// channels 1, area a whole sample); overwrites partial. The network reduces the splits into the
// gradient in order (conv2d_backward_weight_reduce, as the conv layers' partial sums).
//   Split s takes elements j in [s·chunk, (s + 1)·chunk) of the channel (j = b·area + a, chunk =
//   ⌈batch·area / splits⌉): a workgroup of WG_X invocations (a power of two) a (split, channel),
//   per-invocation sums over j in strides of WG_X, then a fixed-order tree reduction. Channels
//   past the grid's y dimension (65,535): each workgroup takes every nwg.y-th (the same trip count
//   for its invocations, so the barriers stay uniform).

struct Params {
  batch: u32,
  channels: u32,
  area: u32,
  splits: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read_write> partial: array<f32>;

override WG_X: u32;

var<workgroup> sums: array<f32, WG_X>;

@compute @workgroup_size(WG_X)
fn prelu_backward_weight(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32, @builtin(num_workgroups) nwg: vec3u) {
  let split = wid.x;
  let total = params.batch * params.area;
  let chunk = (total + params.splits - 1u) / params.splits;
  let start = split * chunk;
  let end = min(start + chunk, total);
  for (var c = wid.y; c < params.channels; c += nwg.y) {
    var sum = 0.0;
    for (var j = start + lid; j < end; j += WG_X) {
      let i = ((j / params.area) * params.channels + c) * params.area + j % params.area;
      let v = x[i];
      sum += select(v * dy[i], 0.0, v > 0.0);
    }
    sums[lid] = sum;
    workgroupBarrier();
    for (var stride = WG_X / 2u; stride > 0u; stride /= 2u) {
      if (lid < stride) {
        sums[lid] += sums[lid + stride];
      }
      workgroupBarrier();
    }
    if (lid == 0u) {
      partial[split * params.channels + c] = sums[0];
    }
    workgroupBarrier();
  }
}
