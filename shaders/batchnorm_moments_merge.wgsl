// batchnorm_moments_merge: on a GPU, the first of two merges of the partial moments the conv
// before a batch norm wrote (the conv forward's STATS epilogue): workgroup (c, g) merges channel
// c's slots g·⌈slots/groups⌉ … into one moment, merged[c, g, 3]; batchnorm_stats_merge then
// merges the groups (slots = groups) into the statistics. A workgroup a channel (that kernel
// alone) leaves a GPU's multiprocessors idle: on an H200 at batch 1024 the seed CNN's six merges
// took 2.0–2.3 ms of a 9–12 ms step, each walking up to 50,176 slots in 16 or 32 workgroups.
//   moments [channels, slots, 3] (count, mean, M2; count 0 for an empty slot), merged
//   [channels, groups, 3] (overwritten; an empty group's count is 0). Invocation k merges its
//   range's slots k, k + WG_X, … in order, then the fixed-order tree of
//   shaders/lib/workgroup_moments.wgsl: the same bits every run.

struct Params {
  channels: u32,
  slots: u32,
  groups: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> moments: array<f32>;
@group(0) @binding(2) var<storage, read_write> merged: array<f32>;

override WG_X: u32;

@compute @workgroup_size(WG_X)
fn batchnorm_moments_merge(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let c = wid.x;
  let perGroup = (params.slots + params.groups - 1u) / params.groups;
  let first = wid.y * perGroup;
  let end = min(params.slots, first + perGroup);
  var m = Moments(0u, 0.0, 0.0);
  for (var s = first + lid; s < end; s += WG_X) {
    let at = (c * params.slots + s) * 3u;
    m = mergeMoments(m, Moments(u32(moments[at]), moments[at + 1u], moments[at + 2u]));
  }
  let all = workgroupMoments(lid, m);
  if (lid == 0u) {
    let at = (c * params.groups + wid.y) * 3u;
    merged[at] = f32(all.n);
    merged[at + 1u] = all.mean;
    merged[at + 2u] = all.m2;
  }
}
