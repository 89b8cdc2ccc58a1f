// sample_norm_forward: GroupNorm's, LayerNorm's and InstanceNorm's forward — each sample
// normalised over segments of its own (no batch statistics, the same in training and eval);
// overwrites y and stats.
//   x, y [batch, sampleSize]; a sample is sampleSize / segmentLength contiguous segments of
//   segmentLength elements (GroupNorm: a group's channels × their planes; LayerNorm: the
//   normalized_shape). Segment s has mean μ = Σx / L and variance σ² = Σ(x − μ)² / L (biased, as
//   PyTorch's; the sums taken from the segment's first element x₀, μ = x₀ + Σ(x − x₀)/L, so that
//   a large common offset costs no accuracy), rstd = 1 / √(σ² + eps); y = (x − μ)·rstd·weight[a]
//   + bias[a], where element i of a sample has affine index a = ⌊i / affineStride⌋ mod
//   affineCount (GroupNorm: its channel, affineStride = the plane, affineCount = the channels;
//   LayerNorm: its place in the normalized_shape, affineStride 1). A segment holds whole runs of
//   affineStride elements, so a = a₀ + ⌊j / affineStride⌋ for its element j, counted without a
//   division an element. Without affine the host binds a weight of ones and a bias of zeros
//   (x̂·1 + 0 is x̂ to the bit). stats[2s] = μ, stats[2s + 1] = rstd, for the backward.
//   One workgroup of WG_X invocations (a power of two) per segment: invocation l sums the
//   elements ≡ l mod WG_X in order, a fixed tree adds the partial sums (the same bits every run);
//   the grid is linear (WG_X invocations a segment, folded past 65,535 workgroups); a workgroup
//   past the last segment reads and writes nothing, and every invocation reaches the barriers.
//   serial = 1 (the host's choice for short segments, and on CPU adapters): one invocation per
//   segment, the sums in element order.

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
@group(0) @binding(2) var<storage, read> weight: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;
@group(0) @binding(5) var<storage, read_write> stats: array<f32>;

override WG_X: u32;

var<workgroup> partial: array<f32, WG_X>;

/** The sum of the segment's lanes' `value`s (the tree; serial: the one invocation's own). */
fn segmentSum(lid: u32, value: f32) -> f32 {
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
  let total = partial[0];
  workgroupBarrier();
  return total;
}

@compute @workgroup_size(WG_X)
fn sample_norm_forward(@builtin(global_invocation_id) gid3: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let gid = linearInvocation(gid3, nwg);
  // A segment's invocations: WG_X (a workgroup), or one (serial).
  let lanes = select(WG_X, 1u, params.serial != 0u);
  let s = gid.x / lanes;
  let lid = gid.x % lanes;
  let L = params.segmentLength;
  let segments = params.batch * (params.sampleSize / L);
  let valid = s < segments;
  let count = select(0u, L, valid);
  let start = min(s, segments - 1u) * L;
  let x0 = x[start];
  var sum = 0.0;
  for (var j = lid; j < count; j += lanes) {
    sum += x[start + j] - x0;
  }
  let mean = x0 + segmentSum(lid, sum) / f32(L);
  var squares = 0.0;
  for (var j = lid; j < count; j += lanes) {
    let d = x[start + j] - mean;
    squares += d * d;
  }
  let rstd = 1.0 / sqrt(segmentSum(lid, squares) / f32(L) + params.eps);
  // Element j's affine index a₀ + q, (q, r) = (⌊j / stride⌋, j mod stride) stepped by `lanes`.
  let stride = params.affineStride;
  let a0 = ((start % params.sampleSize) / stride) % params.affineCount;
  var q = lid / stride;
  var r = lid % stride;
  let dq = lanes / stride;
  let dr = lanes % stride;
  for (var j = lid; j < count; j += lanes) {
    let a = a0 + q;
    y[start + j] = (x[start + j] - mean) * rstd * weight[a] + bias[a];
    q += dq;
    r += dr;
    if (r >= stride) {
      r -= stride;
      q += 1u;
    }
  }
  if (valid && lid == 0u) {
    stats[2u * s] = mean;
    stats[2u * s + 1u] = rstd;
  }
}
