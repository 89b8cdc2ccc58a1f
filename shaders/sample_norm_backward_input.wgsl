// sample_norm_backward_input: the input gradient of sample_norm_forward (GroupNorm, LayerNorm,
// InstanceNorm); overwrites dx.
//   x, dy, dx [batch, sampleSize]; segments, affine indices (a₀ + ⌊j / affineStride⌋, counted
//   without a division an element) and stats (μ, rstd) as the forward's. With g = dy·weight[a] and
//   x̂ = (x − μ)·rstd over a segment of L elements: dx = rstd·(g − Σg / L − x̂·Σ(g·x̂) / L).
//   One workgroup per segment, fixed-order sums, the grid linear and folded (as the forward's);
//   serial = 1: one invocation per segment.

struct Params {
  batch: u32,
  sampleSize: u32,
  segmentLength: u32,
  affineStride: u32,
  affineCount: u32,
  eps: f32,
  serial: u32,
  affineSerial: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read> weight: array<f32>;
@group(0) @binding(4) var<storage, read> stats: array<f32>;
@group(0) @binding(5) var<storage, read_write> dx: array<f32>;

override WG_X: u32;

var<workgroup> partial: array<vec2f, WG_X>;

/** The sums of the segment's lanes' `value`s (the tree; serial: the one invocation's own). */
fn segmentSum2(lid: u32, value: vec2f) -> vec2f {
  if (params.serial != 0u) {
    return value;
  }
  partial[lid] = value;
  workgroupBarrier();
  for (var stride = WG_X / 2u; stride > 0u; stride /= 2u) {
    if (lid < stride) {
      partial[lid] += partial[lid + stride];
    }
    workgroupBarrier();
  }
  return partial[0];
}

@compute @workgroup_size(WG_X)
fn sample_norm_backward_input(@builtin(global_invocation_id) gid3: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let gid = linearInvocation(gid3, nwg);
  // A segment's invocations: WG_X (a workgroup), or one (serial).
  let lanes = select(WG_X, 1u, params.serial != 0u);
  let s = gid.x / lanes;
  let lid = gid.x % lanes;
  let L = params.segmentLength;
  let segments = params.batch * (params.sampleSize / L);
  let valid = s < segments;
  let count = select(0u, L, valid);
  // A workgroup past the last segment reads the last one's statistics and sums nothing.
  let si = min(s, segments - 1u);
  let start = si * L;
  let mean = stats[2u * si];
  let rstd = stats[2u * si + 1u];
  let stride = params.affineStride;
  let a0 = ((start % params.sampleSize) / stride) % params.affineCount;
  let dq = lanes / stride;
  let dr = lanes % stride;
  var q = lid / stride;
  var r = lid % stride;
  var sums = vec2f(0.0);
  for (var j = lid; j < count; j += lanes) {
    let g = dy[start + j] * weight[a0 + q];
    sums += vec2f(g, g * (x[start + j] - mean) * rstd);
    q += dq;
    r += dr;
    if (r >= stride) {
      r -= stride;
      q += 1u;
    }
  }
  let total = segmentSum2(lid, sums) / f32(L);
  q = lid / stride;
  r = lid % stride;
  for (var j = lid; j < count; j += lanes) {
    let g = dy[start + j] * weight[a0 + q];
    let xhat = (x[start + j] - mean) * rstd;
    dx[start + j] = rstd * (g - total.x - xhat * total.y);
    q += dq;
    r += dr;
    if (r >= stride) {
      r -= stride;
      q += 1u;
    }
  }
}
