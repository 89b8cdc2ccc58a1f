// sample_norm_backward_affine: the weight's and bias's gradients of sample_norm_forward
// (GroupNorm, LayerNorm, InstanceNorm); overwrites dweight and dbias.
//   x, dy [batch, sampleSize]; segments, affine indices and stats (μ, rstd) as the forward's.
//   dweight[a] = Σ dy·x̂ and dbias[a] = Σ dy over every element of every sample with affine index
//   a: the runs of affineStride elements starting at (q·affineCount + a)·affineStride in each
//   sample (sampleSize / (affineCount·affineStride) runs a sample; GroupNorm: its channel's plane,
//   LayerNorm: one element a segment), each inside one segment; x̂ = (x − μ)·rstd of that segment.
//   One workgroup of WG_X invocations per affine index: invocation l sums the runs (samples, then
//   q) ≡ l mod WG_X, each run's elements in order, then a fixed tree (the same bits every run);
//   affineSerial = 1 (the host's choice where there are many indices with single-element runs:
//   LayerNorm over thousands of elements): one invocation per index sums its runs in order. The
//   grid is linear and folded; past the last index nothing is written. (`serial` is the other two
//   kernels'.) Params: shaders/lib/sample_norm.wgsl.

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read> stats: array<f32>;
@group(0) @binding(4) var<storage, read_write> dweight: array<f32>;
@group(0) @binding(5) var<storage, read_write> dbias: array<f32>;

override WG_X: u32;

var<workgroup> partial: array<vec2f, WG_X>;

@compute @workgroup_size(WG_X)
fn sample_norm_backward_affine(@builtin(global_invocation_id) gid3: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let gid = linearInvocation(gid3, nwg);
  let stride = params.affineStride;
  // An index's invocations: WG_X (a workgroup), or one (affineSerial).
  let lanes = select(WG_X, 1u, params.affineSerial != 0u);
  let a = gid.x / lanes;
  let lid = gid.x % lanes;
  let valid = a < params.affineCount;
  let runsPerSample = params.sampleSize / (params.affineCount * stride);
  let runs = select(0u, params.batch * runsPerSample, valid);
  var sums = vec2f(0.0);
  for (var u = lid; u < runs; u += lanes) {
    let e0 = (u / runsPerSample) * params.sampleSize + ((u % runsPerSample) * params.affineCount + a) * stride;
    let s = e0 / params.segmentLength;
    let mean = stats[2u * s];
    let rstd = stats[2u * s + 1u];
    for (var e = e0; e < e0 + stride; e++) {
      let g = dy[e];
      sums += vec2f(g * (x[e] - mean) * rstd, g);
    }
  }
  if (params.affineSerial != 0u) {
    if (valid) {
      dweight[a] = sums.x;
      dbias[a] = sums.y;
    }
    return;
  }
  partial[lid] = sums;
  workgroupBarrier();
  for (var half = WG_X / 2u; half > 0u; half /= 2u) {
    if (lid < half) {
      partial[lid] += partial[lid + half];
    }
    workgroupBarrier();
  }
  if (valid && lid == 0u) {
    dweight[a] = partial[0].x;
    dbias[a] = partial[0].y;
  }
}
