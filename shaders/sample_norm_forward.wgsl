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
//   VEC4 (serial, segments of whole vec4s, affine runs of a multiple of 4 elements or of 1): the
//   invocation reads and writes its segment four elements at a time, each sum four running sums
//   added at the end (another fixed order; 3.3× faster on lavapipe).
//   SUBGROUP (with VEC4; subgroups of 8; LayerNorm of at most 64 features: affine index = the
//   element's place in its segment): the segment read once into registers and the weights and
//   biases shared by the subgroup (shaders/lib/sample_norm_segment.wgsl's broadcast8); VEC4's sums
//   in VEC4's order, the same bits. A subgroup's invocations past the last segment take part in
//   its broadcasts and write nothing.
//   Params: shaders/lib/sample_norm.wgsl; the segment's invocations and affine indices:
//   shaders/lib/sample_norm_segment.wgsl.

#if SUBGROUP
enable subgroups;
diagnostic(off, subgroup_uniformity);
#endif

@group(0) @binding(0) var<uniform> params: Params;
#if VEC4
@group(0) @binding(1) var<storage, read> x: array<vec4f>;
#else
@group(0) @binding(1) var<storage, read> x: array<f32>;
#endif
@group(0) @binding(2) var<storage, read> weight: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
#if VEC4
@group(0) @binding(4) var<storage, read_write> y: array<vec4f>;
#else
@group(0) @binding(4) var<storage, read_write> y: array<f32>;
#endif
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

/** VEC4: the biases of four elements from affine index a, as weight4 (shaders/lib/sample_norm_segment.wgsl) takes their weights. */
fn bias4(a: u32) -> vec4f {
  if (params.affineStride == 1u) {
    return vec4f(bias[a], bias[a + 1u], bias[a + 2u], bias[a + 3u]);
  }
  return vec4f(bias[a]);
}

@compute @workgroup_size(WG_X)
fn sample_norm_forward(@builtin(global_invocation_id) gid3: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let gid = linearInvocation(gid3, nwg);
#if VEC4
#if SUBGROUP
  let lane = gid.x % 8u;
  let L = params.segmentLength;
  let segments = params.batch * (params.sampleSize / L);
  let valid = gid.x < segments;
  let s = min(gid.x, segments - 1u);
  let L4 = L / 4u;
  let start = s * L4;
  var held: array<vec4f, HELD_VEC4S>;
  for (var j = 0u; j < HELD_VEC4S; j++) {
    if (j < L4) { held[j] = x[start + j]; }
  }
  let x0 = held[0].x;
  var sum = vec4f(0.0);
  for (var j = 0u; j < HELD_VEC4S; j++) {
    if (j < L4) { sum += held[j] - x0; }
  }
  let mean = x0 + (sum.x + sum.y + sum.z + sum.w) / f32(L);
  var squares = vec4f(0.0);
  for (var j = 0u; j < HELD_VEC4S; j++) {
    if (j < L4) {
      let d = held[j] - mean;
      squares += d * d;
    }
  }
  let rstd = 1.0 / sqrt((squares.x + squares.y + squares.z + squares.w) / f32(L) + params.eps);
  for (var j0 = 0u; j0 < HELD_VEC4S; j0 += 8u) {
    // Lane k loads the weights and biases of vec4 j0 + k (the last one past the segment's end).
    let own = 4u * min(j0 + lane, L4 - 1u);
    let w = broadcast8(weight4(own));
    let b = broadcast8(bias4(own));
    for (var k = 0u; k < 8u; k++) {
      let j = j0 + k;
      if (valid && j < L4) {
        y[start + j] = (held[j] - mean) * rstd * w[k] + b[k];
      }
    }
  }
  if (valid) {
    stats[2u * s] = mean;
    stats[2u * s + 1u] = rstd;
  }
#else
  // A segment an invocation (serial), its elements four at a time: four running sums each, added at the end.
  let s = gid.x;
  let L = params.segmentLength;
  if (s >= params.batch * (params.sampleSize / L)) { return; }
  let L4 = L / 4u;
  let start = s * L4;
  let x0 = x[start].x;
  var sum = vec4f(0.0);
  for (var j = 0u; j < L4; j++) {
    sum += x[start + j] - x0;
  }
  let mean = x0 + (sum.x + sum.y + sum.z + sum.w) / f32(L);
  var squares = vec4f(0.0);
  for (var j = 0u; j < L4; j++) {
    let d = x[start + j] - mean;
    squares += d * d;
  }
  let rstd = 1.0 / sqrt((squares.x + squares.y + squares.z + squares.w) / f32(L) + params.eps);
  // The four's first affine index a₀ + ⌊4j / affineStride⌋: a₀ + 4j, the first of four (affineStride 1), or the four's one (runs of a multiple of 4).
  var affine = affineCursor(s * L, 0u, 4u);
  for (var j = 0u; j < L4; j++) {
    let a = affine.a0 + affine.q;
    y[start + j] = (x[start + j] - mean) * rstd * weight4(a) + bias4(a);
    affine = affineNext(affine);
  }
  stats[2u * s] = mean;
  stats[2u * s + 1u] = rstd;
#endif
#else
  let segment = segmentOf(gid.x);
  let lid = segment.lid;
  let lanes = segment.lanes;
  let count = segment.count;
  let start = segment.start;
  let L = params.segmentLength;
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
  var affine = affineCursor(start, lid, lanes);
  for (var j = lid; j < count; j += lanes) {
    let a = affine.a0 + affine.q;
    y[start + j] = (x[start + j] - mean) * rstd * weight[a] + bias[a];
    affine = affineNext(affine);
  }
  if (segment.valid && lid == 0u) {
    stats[2u * segment.index] = mean;
    stats[2u * segment.index + 1u] = rstd;
  }
#endif
}
