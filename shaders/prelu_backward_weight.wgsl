// prelu_backward_weight: PReLU's weight gradient, dweight[c] = Σ_b Σ_s (x ≤ 0 ? x·dy : 0) over
// [batch, channels, area] (one slope for all: channels 1, area a whole sample); overwrites dweight.
//   One workgroup of WG_X invocations (a power of two) per channel (up to 65,535 workgroups, each
//   then taking every nwg.x-th channel); per-invocation sums over b then the area, then a
//   fixed-order tree reduction (as bias_backward).

struct Params {
  batch: u32,
  channels: u32,
  area: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read_write> dweight: array<f32>;

override WG_X: u32;

var<workgroup> partial: array<f32, WG_X>;

@compute @workgroup_size(WG_X)
fn prelu_backward_weight(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32, @builtin(num_workgroups) nwg: vec3u) {
  // Channels past the grid's 65,535 workgroups: each workgroup takes every nwg.x-th (the same
  // trip count for its invocations, so the barriers stay uniform).
  for (var c = wid.x; c < params.channels; c += nwg.x) {
    var sum = 0.0;
    for (var b = 0u; b < params.batch; b++) {
      let base = (b * params.channels + c) * params.area;
      for (var s = lid; s < params.area; s += WG_X) {
        let v = x[base + s];
        sum += select(v * dy[base + s], 0.0, v > 0.0);
      }
    }
    partial[lid] = sum;
    workgroupBarrier();
    for (var stride = WG_X / 2u; stride > 0u; stride /= 2u) {
      if (lid < stride) {
        partial[lid] += partial[lid + stride];
      }
      workgroupBarrier();
    }
    if (lid == 0u) {
      dweight[c] = partial[0];
    }
    workgroupBarrier();
  }
}
