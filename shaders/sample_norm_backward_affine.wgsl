// sample_norm_backward_affine: the weight's and bias's gradients of sample_norm_forward
// (GroupNorm, LayerNorm); overwrites dweight and dbias.
//   x, dy [batch, sampleSize]; segments, affine indices and stats (μ, rstd) as the forward's.
//   dweight[a] = Σ dy·x̂ and dbias[a] = Σ dy over every element of every sample with affine index
//   a (sampleSize / affineCount of them a sample: element (q·affineCount + a)·affineStride + r,
//   q and r counted in that order), x̂ = (x − μ)·rstd of the element's segment.
//   One workgroup of WG_X invocations per affine index: invocation l sums the terms ≡ l mod WG_X
//   (samples, then q, then r) in order, then a fixed tree (the same bits every run); the grid
//   linear and folded, a workgroup past the last index writes nothing.

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
@group(0) @binding(3) var<storage, read> stats: array<f32>;
@group(0) @binding(4) var<storage, read_write> dweight: array<f32>;
@group(0) @binding(5) var<storage, read_write> dbias: array<f32>;

override WG_X: u32;

var<workgroup> partial: array<vec2f, WG_X>;

@compute @workgroup_size(WG_X)
fn sample_norm_backward_affine(@builtin(global_invocation_id) gid3: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let gid = linearInvocation(gid3, nwg);
  let a = gid.x / WG_X;
  let lid = gid.x % WG_X;
  let valid = a < params.affineCount;
  let perSample = params.sampleSize / params.affineCount;
  let count = select(0u, params.batch * perSample, valid);
  var sums = vec2f(0.0);
  for (var j = lid; j < count; j += WG_X) {
    let n = j / perSample;
    let k = j % perSample;
    let i = (k / params.affineStride * params.affineCount + a) * params.affineStride + k % params.affineStride;
    let e = n * params.sampleSize + i;
    let s = e / params.segmentLength;
    let g = dy[e];
    sums += vec2f(g * (x[e] - stats[2u * s]) * stats[2u * s + 1u], g);
  }
  partial[lid] = sums;
  workgroupBarrier();
  for (var stride = WG_X / 2u; stride > 0u; stride /= 2u) {
    if (lid < stride) {
      partial[lid] += partial[lid + stride];
    }
    workgroupBarrier();
  }
  if (valid && lid == 0u) {
    dweight[a] = partial[0].x;
    dbias[a] = partial[0].y;
  }
}
