// A workgroup's moments merged in a fixed-order tree (the same bits every run), for the kernels
// that reduce moments a workgroup a channel (batchnorm_stats, batchnorm_stats_merge through
// shaders/lib/batchnorm_statistics.wgsl; batchnorm_moments_merge). The kernel declares WG_X (a
// power of two) and appends shaders/lib/moments.wgsl.

var<workgroup> partial: array<Moments, WG_X>;

// The workgroup's moments (a fixed-order tree of merges), read by invocation 0.
fn workgroupMoments(lid: u32, m: Moments) -> Moments {
  partial[lid] = m;
  workgroupBarrier();
  for (var stride = WG_X / 2u; stride > 0u; stride /= 2u) {
    if (lid < stride) {
      partial[lid] = mergeMoments(partial[lid], partial[lid + stride]);
    }
    workgroupBarrier();
  }
  return partial[0];
}
