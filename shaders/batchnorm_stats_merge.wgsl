// batchnorm_stats_merge: training-mode statistics of BatchNorm2d from partial moments that the
// conv before it computed as it stored its output (the conv forward's STATS epilogue, fusion rule
// batchnorm-stats-epilogue); overwrites stats, updates the running statistics in place, exactly
// as batchnorm_stats does from x.
//   moments [channels, slots, 3]: per channel, `slots` partial moments (count, mean, M2 of some
//   of the channel's elements; count 0 for an empty slot), the count an integer in an f32.
//   stats [2, channels]: stats[0, c] = mean, stats[1, c] = 1/√(biased variance + eps); running
//   statistics as batchnorm_stats (shaders/lib/batchnorm_statistics.wgsl).
//   One workgroup of WG_X invocations (a power of two) per channel (workgroup_id.x): invocation k
//   merges slots k, k + WG_X, … in order (shaders/lib/moments_slots.wgsl), then the fixed-order
//   tree merges the invocations' (the same merges for the same partials: the result does not
//   depend on timing).

struct Params {
  channels: u32,
  slots: u32,
  eps: f32,
  momentum: f32,
  meanSlot: u32,
  varSlot: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> moments: array<f32>;
@group(0) @binding(2) var<storage, read_write> stats: array<f32>;
@group(0) @binding(3) var<storage, read_write> runningMean: array<f32>;
@group(0) @binding(4) var<storage, read_write> runningVar: array<f32>;
@group(0) @binding(5) var<storage, read_write> health: array<u32>;

override WG_X: u32;

@compute @workgroup_size(WG_X)
fn batchnorm_stats_merge(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let c = wid.x;
  storeStatistics(lid, c, workgroupMoments(lid, slotMoments(c, lid)));
}
