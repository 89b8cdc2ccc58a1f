// sample_norm_backward_input: the input gradient of sample_norm_forward (GroupNorm, LayerNorm);
// overwrites dx.
//   x, dy, dx [batch, sampleSize]; segments, affine indices and stats (μ, rstd) as the forward's.
//   With g = dy·weight[a] and x̂ = (x − μ)·rstd over a segment of L elements:
//   dx = rstd·(g − Σg / L − x̂·Σ(g·x̂) / L).
//   One workgroup per segment, fixed-order sums (as the forward's), the grid linear and folded.

struct Params {
  batch: u32,
  sampleSize: u32,
  segmentLength: u32,
  affineStride: u32,
  affineCount: u32,
  eps: f32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read> weight: array<f32>;
@group(0) @binding(4) var<storage, read> stats: array<f32>;
@group(0) @binding(5) var<storage, read_write> dx: array<f32>;

override WG_X: u32;

var<workgroup> partial: array<vec2f, WG_X>;

/** The sums of every invocation's `value` (fixed tree; uniform control flow). */
fn workgroupSum2(lid: u32, value: vec2f) -> vec2f {
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
  let s = gid.x / WG_X;
  let lid = gid.x % WG_X;
  let L = params.segmentLength;
  let segments = params.batch * (params.sampleSize / L);
  let valid = s < segments;
  let count = select(0u, L, valid);
  let start = s * L;
  // A workgroup past the last segment reads the last one's statistics and sums nothing.
  let si = min(s, segments - 1u);
  let mean = stats[2u * si];
  let rstd = stats[2u * si + 1u];
  var sums = vec2f(0.0);
  for (var j = lid; j < count; j += WG_X) {
    let a = (((start + j) % params.sampleSize) / params.affineStride) % params.affineCount;
    let g = dy[start + j] * weight[a];
    sums += vec2f(g, g * (x[start + j] - mean) * rstd);
  }
  let total = workgroupSum2(lid, sums) / f32(L);
  for (var j = lid; j < count; j += WG_X) {
    let a = (((start + j) % params.sampleSize) / params.affineStride) % params.affineCount;
    let g = dy[start + j] * weight[a];
    let xhat = (x[start + j] - mean) * rstd;
    dx[start + j] = rstd * (g - total.x - xhat * total.y);
  }
}
