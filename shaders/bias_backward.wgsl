// bias_backward: dbias[c] = Σ_b Σ_s dy[b, c, s]; overwrites dbias.
//   dy [batch, channels, area] (area 1 for a Linear layer). One workgroup of WG_X invocations (a
//   power of two) per channel; per-invocation sums over b then the area, then a fixed-order tree
//   reduction (as batchnorm_backward_reduce).

struct Params {
  batch: u32,
  channels: u32,
  area: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read_write> dbias: array<f32>;

override WG_X: u32;

var<workgroup> partial: array<f32, WG_X>;

@compute @workgroup_size(WG_X)
fn bias_backward(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let c = wid.x;
  var sum = 0.0;
  if (params.area == 1u) {
    for (var b = lid; b < params.batch; b += WG_X) {
      sum += dy[b * params.channels + c];
    }
  } else {
    for (var b = 0u; b < params.batch; b++) {
      let base = (b * params.channels + c) * params.area;
      for (var s = lid; s < params.area; s += WG_X) {
        sum += dy[base + s];
      }
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
  if (lid == 0u && c < params.channels) {
    dbias[c] = partial[0];
  }
}
