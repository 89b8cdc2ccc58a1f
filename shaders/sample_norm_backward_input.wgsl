// sample_norm_backward_input: the input gradient of sample_norm_forward (GroupNorm, LayerNorm,
// InstanceNorm); overwrites dx.
//   x, dy, dx [batch, sampleSize]; segments, affine indices (a₀ + ⌊j / affineStride⌋, counted
//   without a division an element) and stats (μ, rstd) as the forward's. With g = dy·weight[a] and
//   x̂ = (x − μ)·rstd over a segment of L elements: dx = rstd·(g − Σg / L − x̂·Σ(g·x̂) / L).
//   One workgroup per segment, fixed-order sums, the grid linear and folded (as the forward's);
//   serial = 1: one invocation per segment.
//   VEC4 (serial, segments of whole vec4s, affine runs of a multiple of 4 elements or of 1): the
//   invocation reads and writes its segment four elements at a time, each sum four running sums
//   added at the end (another fixed order).
//   SUBGROUP (with VEC4; subgroups of 8; LayerNorm of at most 64 features, as the forward's): the
//   weights shared by the subgroup (broadcast8), each g and x̂ held in registers between the sums
//   and the stores (dy and x read once); VEC4's arithmetic in VEC4's order, the same bits.
//   Params: shaders/lib/sample_norm.wgsl; the segment's invocations and affine indices (weight4 too):
//   shaders/lib/sample_norm_segment.wgsl.

#if SUBGROUP
enable subgroups;
diagnostic(off, subgroup_uniformity);
#endif

@group(0) @binding(0) var<uniform> params: Params;
#if VEC4
@group(0) @binding(1) var<storage, read> x: array<vec4f>;
@group(0) @binding(2) var<storage, read> dy: array<vec4f>;
#else
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> dy: array<f32>;
#endif
@group(0) @binding(3) var<storage, read> weight: array<f32>;
@group(0) @binding(4) var<storage, read> stats: array<f32>;
#if VEC4
@group(0) @binding(5) var<storage, read_write> dx: array<vec4f>;
#else
@group(0) @binding(5) var<storage, read_write> dx: array<f32>;
#endif

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
#if VEC4
#if SUBGROUP
  let lane = gid.x % 8u;
  let L = params.segmentLength;
  let segments = params.batch * (params.sampleSize / L);
  let valid = gid.x < segments;
  let s = min(gid.x, segments - 1u);
  let L4 = L / 4u;
  let start = s * L4;
  let mean = stats[2u * s];
  let rstd = stats[2u * s + 1u];
  var sumG = vec4f(0.0);
  var sumGx = vec4f(0.0);
  var gs: array<vec4f, HELD_VEC4S>;
  var xhats: array<vec4f, HELD_VEC4S>;
  for (var j0 = 0u; j0 < HELD_VEC4S; j0 += 8u) {
    let w = broadcast8(weight4(4u * min(j0 + lane, L4 - 1u)));
    for (var k = 0u; k < 8u; k++) {
      let j = j0 + k;
      if (j < L4) {
        let g = dy[start + j] * w[k];
        let d = x[start + j] - mean;
        gs[j] = g;
        xhats[j] = d * rstd;
        sumG += g;
        sumGx += g * d * rstd;
      }
    }
  }
  let total = vec2f(sumG.x + sumG.y + sumG.z + sumG.w, sumGx.x + sumGx.y + sumGx.z + sumGx.w) / f32(L);
  for (var j = 0u; j < HELD_VEC4S; j++) {
    if (valid && j < L4) {
      dx[start + j] = rstd * (gs[j] - total.x - xhats[j] * total.y);
    }
  }
#else
  // A segment an invocation (serial), its elements four at a time: four running sums each, added at the end.
  let s = gid.x;
  let L = params.segmentLength;
  if (s >= params.batch * (params.sampleSize / L)) { return; }
  let L4 = L / 4u;
  let start = s * L4;
  let mean = stats[2u * s];
  let rstd = stats[2u * s + 1u];
  // The four's first affine index a₀ + ⌊4j / affineStride⌋: a₀ + 4j, the first of four (affineStride 1), or the four's one (runs of a multiple of 4).
  var affine = affineCursor(s * L, 0u, 4u);
  var sumG = vec4f(0.0);
  var sumGx = vec4f(0.0);
  for (var j = 0u; j < L4; j++) {
    let g = dy[start + j] * weight4(affine.a0 + affine.q);
    sumG += g;
    sumGx += g * (x[start + j] - mean) * rstd;
    affine = affineNext(affine);
  }
  let total = vec2f(sumG.x + sumG.y + sumG.z + sumG.w, sumGx.x + sumGx.y + sumGx.z + sumGx.w) / f32(L);
  affine = affineCursor(s * L, 0u, 4u);
  for (var j = 0u; j < L4; j++) {
    let g = dy[start + j] * weight4(affine.a0 + affine.q);
    let xhat = (x[start + j] - mean) * rstd;
    dx[start + j] = rstd * (g - total.x - xhat * total.y);
    affine = affineNext(affine);
  }
#endif
#else
  // A workgroup past the last segment reads the last one's statistics and sums nothing.
  let segment = segmentOf(gid.x);
  let lid = segment.lid;
  let lanes = segment.lanes;
  let count = segment.count;
  let start = segment.start;
  let mean = stats[2u * segment.index];
  let rstd = stats[2u * segment.index + 1u];
  var affine = affineCursor(start, lid, lanes);
  var sums = vec2f(0.0);
  for (var j = lid; j < count; j += lanes) {
    let g = dy[start + j] * weight[affine.a0 + affine.q];
    sums += vec2f(g, g * (x[start + j] - mean) * rstd);
    affine = affineNext(affine);
  }
  let total = segmentSum2(lid, sums) / f32(params.segmentLength);
  affine = affineCursor(start, lid, lanes);
  for (var j = lid; j < count; j += lanes) {
    let g = dy[start + j] * weight[affine.a0 + affine.q];
    let xhat = (x[start + j] - mean) * rstd;
    dx[start + j] = rstd * (g - total.x - xhat * total.y);
    affine = affineNext(affine);
  }
#endif
}
