// The partial moments of channel c that a conv's STATS epilogue wrote, merged: invocation lid of a
// workgroup of WG_X takes slots lid, lid + WG_X, … in order (then workgroupMoments merges the
// invocations' in a fixed tree). For the kernels that bind `moments` [channels, slots, 3] and have
// `params.slots`: batchnorm_stats_merge and batchnorm_merge_forward, which so merge alike.
fn slotMoments(c: u32, lid: u32) -> Moments {
  var m = Moments(0u, 0.0, 0.0);
  for (var s = lid; s < params.slots; s += WG_X) {
    let at = (c * params.slots + s) * 3u;
    m = mergeMoments(m, Moments(u32(moments[at]), moments[at + 1u], moments[at + 2u]));
  }
  return m;
}
