// sample_norm_backward_affine: the weight's and bias's gradients of sample_norm_forward
// (GroupNorm, LayerNorm, InstanceNorm); overwrites dweight and dbias.
//   x, dy [batch, sampleSize]; segments, affine indices and stats (μ, rstd) as the forward's.
//   dweight[a] = Σ dy·x̂ and dbias[a] = Σ dy over every element of every sample with affine index
//   a: the runs of affineStride elements starting at (q·affineCount + a)·affineStride in each
//   sample (sampleSize / (affineCount·affineStride) runs a sample; GroupNorm: its channel's plane,
//   LayerNorm: one element a segment), each inside one segment; x̂ = (x − μ)·rstd of that segment.
//   Run u (over the batch's samples, then q) starts at element (u·affineCount + a)·affineStride.
//   affineMode (the host's choice, sampleNormParams):
//   - AFFINE_WORKGROUP: one workgroup of WG_X invocations per affine index: invocation l sums the
//     runs u ≡ l mod WG_X (its leaf), each run's elements in order, then a fixed tree over the
//     leaves in workgroup memory (partial[l] += partial[l + half], half = WG_X / 2 … 1).
//   - AFFINE_ACROSS: the same leaves and the same tree, the same bits, with the lanes across 8
//     consecutive indices (their loads neighbours, the segment's stats one address): invocation
//     8c + k of a workgroup takes index 8·workgroup + k and the subtree of the leaves l ≡ c mod 8
//     (T(c, 8): its 8 leaves visited depth first, left first, as l = c + 8·bitreverse3(i), i = 0 …
//     7, combined in three registers as a binary counter), then the tree's last three levels in
//     workgroup memory. WG_X = 64 (8 indices × 8 subtrees; the tree's 64 leaves).
//   - AFFINE_SERIAL (many indices of single-element runs: LayerNorm over thousands of elements):
//     one invocation per index sums its runs in order.
//   The grid is linear and folded; past the last index nothing is written. (`serial` is the other
//   two kernels'.) Params: shaders/lib/sample_norm.wgsl.

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read> stats: array<f32>;
@group(0) @binding(4) var<storage, read_write> dweight: array<f32>;
@group(0) @binding(5) var<storage, read_write> dbias: array<f32>;

override WG_X: u32;

var<workgroup> partial: array<vec2f, WG_X>;

// Σ (dy·x̂, dy) over index a's runs u = first, first + every, … (< runs), in increasing u, from 0.
// Run u starts at e0 = (u·affineCount + a)·stride, in segment e0 / L; a segment lies within one
// period of affineCount·stride elements (as the forward assumes), a multiple of L, so from one of
// the invocation's runs to the next both advance by a constant: the loop divides nothing
// (lavapipe divides lane by lane).
fn leafSums(a: u32, first: u32, every: u32, runs: u32) -> vec2f {
  let stride = params.affineStride;
  let step = every * params.affineCount * stride;
  let segmentStep = step / params.segmentLength;
  var e0 = (first * params.affineCount + a) * stride;
  var s = e0 / params.segmentLength;
  var sums = vec2f(0.0);
  for (var u = first; u < runs; u += every) {
    let mean = stats[2u * s];
    let rstd = stats[2u * s + 1u];
    // A run of one element (LayerNorm's) without a loop: 0.9 ms against 1.15 for the Transformer
    // example's LayerNorm(64) at batch 128 (AFFINE_ACROSS).
    if (stride == 1u) {
      let g = dy[e0];
      sums += vec2f(g * (x[e0] - mean) * rstd, g);
    } else {
      for (var e = e0; e < e0 + stride; e++) {
        let g = dy[e];
        sums += vec2f(g * (x[e] - mean) * rstd, g);
      }
    }
    e0 += step;
    s += segmentStep;
  }
  return sums;
}

@compute @workgroup_size(WG_X)
fn sample_norm_backward_affine(@builtin(global_invocation_id) gid3: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let gid = linearInvocation(gid3, nwg);
  let runsPerSample = params.sampleSize / (params.affineCount * params.affineStride);
  if (params.affineMode == AFFINE_SERIAL) {
    let a = gid.x;
    if (a < params.affineCount) {
      let sums = leafSums(a, 0u, 1u, params.batch * runsPerSample);
      dweight[a] = sums.x;
      dbias[a] = sums.y;
    }
    return;
  }
  let across = params.affineMode == AFFINE_ACROSS;
  let lid = gid.x % WG_X;
  // AFFINE_ACROSS: lane k of subtree c; else lid is the leaf.
  let c = lid / 8u;
  let a = select(gid.x / WG_X, gid.x / WG_X * 8u + lid % 8u, across);
  let valid = a < params.affineCount;
  let runs = select(0u, params.batch * runsPerSample, valid);
  var sums = vec2f(0.0);
  if (across) {
    var pair = vec2f(0.0);
    var quad = vec2f(0.0);
    for (var i = 0u; i < 8u; i++) {
      let rev = ((i & 1u) << 2u) | (i & 2u) | ((i & 4u) >> 2u);
      var v = leafSums(a, c + 8u * rev, WG_X, runs);
      if ((i & 1u) == 0u) {
        sums = v;
        continue;
      }
      v = sums + v;
      if ((i & 2u) == 0u) {
        pair = v;
        continue;
      }
      v = pair + v;
      if ((i & 4u) == 0u) {
        quad = v;
        continue;
      }
      sums = quad + v;
    }
  } else {
    sums = leafSums(a, lid, WG_X, runs);
  }
  partial[lid] = sums;
  workgroupBarrier();
  // AFFINE_ACROSS: the subtrees T(c, 8) sit at partial[8c + k]: the levels half = 4, 2, 1.
  let unit = select(1u, 8u, across);
  for (var half = WG_X / 2u; half >= unit; half /= 2u) {
    if (lid < half) {
      partial[lid] += partial[lid + half];
    }
    workgroupBarrier();
  }
  if (valid && lid < unit) {
    dweight[a] = partial[lid].x;
    dbias[a] = partial[lid].y;
  }
}
