// batchnorm_stats: training-mode statistics of BatchNorm2d, per channel c over batch × area;
// overwrites stats, updates the running statistics in place.
//   x [batch, channels, area] (NCHW with area = H·W), stats [2, channels]:
//   stats[0, c] = mean, stats[1, c] = 1/√(biased variance + eps);
//   running_mean ← (1 − momentum)·running_mean + momentum·mean,
//   running_var  ← (1 − momentum)·running_var  + momentum·variance·M/(M − 1)   (M = batch·area)
//   One workgroup of WG_X invocations (a power of two) per channel (workgroup_id.x). Two passes,
//   first Σx for the mean, then Σ(x − mean)² for the variance, each summed per invocation over b
//   then the area, four elements (a quad) at a time into four running sums, added
//   ((x + y) + (z + w)), then a fixed-order tree reduction over the invocations. Which quads an
//   invocation takes: a plane of WG_X quads or more, quads k, k + WG_X, … of each image's plane
//   (invocation k); a smaller plane, quad k % quads of the images k / quads, k / quads + P, …
//   (P = ⌊WG_X / quads⌋ planes side by side; none for k ≥ P·quads). One plane at a time whatever
//   its size kept a 6 × 6 plane's 9 quads on 9 of the 64 invocations. Variant VEC4 (area a
//   multiple of 4) reads a quad as one vec4; it sums the same terms in the same order, so both
//   agree bit for bit.

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

var<workgroup> partial: array<f32, WG_X>;

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

// Which of a plane's elements s .. s + 3 exist.
fn inside4(s: u32) -> vec4<bool> {
  return s + vec4u(0u, 1u, 2u, 3u) < vec4u(params.area);
}

// The workgroup's sum of `value` (each invocation's own contribution), read by every invocation.
fn workgroupSum(lid: u32, value: f32) -> f32 {
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

// A quad's term added to a running sum: x, or (centred) (x − mean)² (0 past the area).
fn accumulate(sum: vec4f, base: u32, q: u32, mean: f32, centred: bool) -> vec4f {
  if (!centred) { return sum + load4(base, 4u * q); }
  let d = select(vec4f(0.0), load4(base, 4u * q) - mean, inside4(4u * q));
  return fma(d, d, sum);
}

// Invocation lid's sums of one pass over channel c's quads (see the header for which it takes).
// The two walks are separate loops: one loop for both, its step a variable, took convblock2's
// statistics from 3.6 to 5–7 ms on lavapipe.
fn passSums(c: u32, lid: u32, quads: u32, mean: f32, centred: bool) -> vec4f {
  var sum = vec4f(0.0);
  if (quads >= WG_X) {
    for (var b = 0u; b < params.batch; b++) {
      let base = (b * params.channels + c) * params.area;
      for (var q = lid; q < quads; q += WG_X) {
        sum = accumulate(sum, base, q, mean, centred);
      }
    }
  } else {
    let planes = WG_X / quads;
    let q = lid % quads;
    for (var b = lid / quads; b < params.batch && lid < planes * quads; b += planes) {
      sum = accumulate(sum, (b * params.channels + c) * params.area, q, mean, centred);
    }
  }
  return sum;
}

@compute @workgroup_size(WG_X)
fn batchnorm_stats(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let c = wid.x;
  let count = f32(params.batch * params.area);
  let quads = (params.area + 3u) / 4u;
  let sum4 = passSums(c, lid, quads, 0.0, false);
  let mean = workgroupSum(lid, (sum4.x + sum4.y) + (sum4.z + sum4.w)) / count;
  let squares4 = passSums(c, lid, quads, mean, true);
  let variance = workgroupSum(lid, (squares4.x + squares4.y) + (squares4.z + squares4.w)) / count;
  if (lid == 0u) {
    stats[c] = mean;
    stats[params.channels + c] = 1.0 / sqrt(variance + params.eps);
    let unbiased = variance * count / max(count - 1.0, 1.0);
    runningMean[c] = (1.0 - params.momentum) * runningMean[c] + params.momentum * mean;
    runningVar[c] = (1.0 - params.momentum) * runningVar[c] + params.momentum * unbiased;
    // The divergence guard (shaders/lib/health.wgsl): a running statistic can overflow while the
    // batch statistics keep the loss and the gradients finite.
    if (!isFinite(runningMean[c])) {
      markNonFinite(params.meanSlot);
    }
    if (!isFinite(runningVar[c])) {
      markNonFinite(params.varSlot);
    }
  }
}
