// batchnorm_backward_reduce: the per-channel sums of the BatchNorm2d backward pass; overwrites
// dgamma and dbeta:  dbeta[c] = Σ dy,  dgamma[c] = Σ dy·x̂  with x̂ = (x − mean)·invStd,
// over batch × area. x, dy [batch, channels, area]; stats [2, channels] from batchnorm_stats.
// One workgroup of WG_X invocations (a power of two) per channel; per-invocation sums over b
// then the area, then a fixed-order tree reduction.

struct Params {
  batch: u32,
  channels: u32,
  area: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read> stats: array<f32>;
@group(0) @binding(4) var<storage, read_write> dgamma: array<f32>;
@group(0) @binding(5) var<storage, read_write> dbeta: array<f32>;

override WG_X: u32;

var<workgroup> partial: array<vec2f, WG_X>;

@compute @workgroup_size(WG_X)
fn batchnorm_backward_reduce(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let c = wid.x;
  let mean = stats[c];
  let invStd = stats[params.channels + c];
  var sums = vec2f(0.0);
  for (var b = 0u; b < params.batch; b++) {
    let base = (b * params.channels + c) * params.area;
    for (var s = lid; s < params.area; s += WG_X) {
      let g = dy[base + s];
      sums += vec2f(g, g * (x[base + s] - mean) * invStd);
    }
  }
  partial[lid] = sums;
  workgroupBarrier();
  for (var stride = WG_X / 2u; stride > 0u; stride /= 2u) {
    if (lid < stride) {
      partial[lid] += partial[lid + stride];
    }
    workgroupBarrier();
  }
  if (lid == 0u) {
    dbeta[c] = partial[0].x;
    dgamma[c] = partial[0].y;
  }
}
