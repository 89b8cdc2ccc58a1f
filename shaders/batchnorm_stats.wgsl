// batchnorm_stats: training-mode statistics of BatchNorm2d, per channel c over batch × area;
// overwrites stats, updates the running statistics in place.
//   x [batch, channels, area] (NCHW with area = H·W), stats [2, channels]:
//   stats[0, c] = mean, stats[1, c] = 1/√(biased variance + eps);
//   running_mean ← (1 − momentum)·running_mean + momentum·mean,
//   running_var  ← (1 − momentum)·running_var  + momentum·variance·M/(M − 1)   (M = batch·area)
//   One workgroup of WG_X invocations (a power of two) per channel (workgroup_id.x), one pass
//   over x: each quad (four elements) gives its count, mean and sum of squared deviations (M2),
//   an invocation merges its quads' in order, and a fixed-order tree merges the invocations'
//   (Chan, Golub and LeVeque's pairwise update: no sum of squares that cancels, and x read once).
//   Two passes, Σx for the mean and then Σ(x − mean)², read x twice: the seed CNN's six
//   statistics went from 8.7–9.4 to 4.9–5.3 ms a step at batch 128 (bench:profile, alternated;
//   bound by memory: convblock2's 9.4 MB in 2.4–3.1 ms). Which quads an invocation takes: a plane
//   of WG_X quads or more is walked by LANES = 8 invocations together, quads l, l + 8, … (l = k %
//   8) of the planes of images k / 8, k / 8 + WG_X / 8, …; a smaller plane, quad k % quads of the
//   images k / quads, k / quads + P, … (P = ⌊WG_X / quads⌋ planes side by side; none for k ≥
//   P·quads). The big planes' walk follows lavapipe, whose 8-wide SIMD vectors each run their
//   loop to the end before the next vector starts: when all WG_X invocations strode through each
//   plane, a vector read 128 bytes of every image's plane, a new page each, and convblock1 and
//   2's statistics and reductions ran at a third of an element-wise kernel's bandwidth. Walking
//   a plane from end to end, 128 bytes a step, they took a quarter of the time (convblock2:
//   stats 12.5–14.7 → 3.1–3.6 ms, the backward reduction 24–32 → 5–7 ms, alternated in one run
//   on an AMD EPYC machine whose bandwidth probe read 1.9 GB/s). One plane at a time whatever
//   its size kept a 6 × 6 plane's 9 quads on 9 of the 64 invocations. Variant VEC4 (area a
//   multiple of 4) reads a quad as one vec4; it computes the same terms in the same order, so
//   both agree bit for bit. The moments and their merge (shaders/lib/moments.wgsl) and the tree and
//   the stores (shaders/lib/batchnorm_statistics.wgsl) are shared with batchnorm_stats_merge, which
//   takes the moments a conv's forward summed instead of reading x (batchnorm-stats-epilogue).

struct Params {
  batch: u32,
  channels: u32,
  area: u32,
  eps: f32,
  momentum: f32,
  meanSlot: u32,
  varSlot: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
#if VEC4
@group(0) @binding(1) var<storage, read> x: array<vec4f>;
#else
@group(0) @binding(1) var<storage, read> x: array<f32>;
#endif
@group(0) @binding(2) var<storage, read_write> stats: array<f32>;
@group(0) @binding(3) var<storage, read_write> runningMean: array<f32>;
@group(0) @binding(4) var<storage, read_write> runningVar: array<f32>;
@group(0) @binding(5) var<storage, read_write> health: array<u32>;

override WG_X: u32;
/** Invocations that walk one plane together (the header says why). */
const LANES = 8u;

// x at elements base + s .. base + s + 3 of a plane (s a multiple of 4): 0 past its area.
fn load4(base: u32, s: u32) -> vec4f {
#if VEC4
  return x[(base + s) / 4u];
#else
  var v = vec4f(0.0);
  for (var e = 0u; e < 4u; e++) {
    if (s + e < params.area) { v[e] = x[base + s + e]; }
  }
  return v;
#endif
}

// The moments of a plane's quad q (its elements 4q .. 4q + 3 inside the area; at least one is).
fn quadMoments(base: u32, q: u32) -> Moments {
  let inside = 4u * q + vec4u(0u, 1u, 2u, 3u) < vec4u(params.area);
  let v = load4(base, 4u * q);
  let n = dot(select(vec4u(0u), vec4u(1u), inside), vec4u(1u));
  let mean = ((v.x + v.y) + (v.z + v.w)) / f32(n);
  let d = select(vec4f(0.0), v - mean, inside);
  return Moments(n, mean, dot(d, d));
}

// Invocation lid's moments of channel c's quads that it takes (see the header). The two walks
// are separate loops: one loop for both, its step a variable, took convblock2's statistics from
// 3.6 to 5–7 ms on lavapipe.
fn invocationMoments(c: u32, lid: u32, quads: u32) -> Moments {
  var m = Moments(0u, 0.0, 0.0);
  if (quads >= WG_X) {
    let lanes = min(LANES, WG_X);
    let rowsOfLanes = WG_X / lanes;
    for (var b = lid / lanes; b < params.batch; b += rowsOfLanes) {
      let base = (b * params.channels + c) * params.area;
      for (var q = lid % lanes; q < quads; q += lanes) {
        m = mergeMoments(m, quadMoments(base, q));
      }
    }
  } else {
    let planes = WG_X / quads;
    let q = lid % quads;
    for (var b = lid / quads; b < params.batch && lid < planes * quads; b += planes) {
      m = mergeMoments(m, quadMoments((b * params.channels + c) * params.area, q));
    }
  }
  return m;
}

@compute @workgroup_size(WG_X)
fn batchnorm_stats(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let c = wid.x;
  let quads = (params.area + 3u) / 4u;
  let moments = workgroupMoments(lid, invocationMoments(c, lid, quads));
  storeStatistics(lid, c, moments);
}
