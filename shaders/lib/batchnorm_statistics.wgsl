// The end of a batch norm's training statistics, shared by batchnorm_stats (which walks x),
// batchnorm_stats_merge and batchnorm_merge_forward (which merge the conv forward's partial
// moments): the workgroup's moments of channel c, merged in a fixed-order tree, become stats
// (mean, 1/√(biased variance + eps)) and update the running statistics. The kernel declares params (channels, eps, momentum,
// meanSlot, varSlot), stats, runningMean, runningVar and health (shaders/lib/health.wgsl), and
// appends shaders/lib/moments.wgsl and shaders/lib/workgroup_moments.wgsl (workgroupMoments).

// 1/√(biased variance + eps) of the moments: stats[1, c] (batchnorm_merge_forward also applies it).
fn invStdOf(moments: Moments) -> f32 {
  return 1.0 / sqrt(moments.m2 / f32(moments.n) + params.eps);
}

// Invocation 0 stores channel c's statistics from the moments of its batch × area elements, and
// updates the running statistics (running_var with the unbiased variance, as PyTorch does).
fn storeStatistics(lid: u32, c: u32, moments: Moments) {
  let count = f32(moments.n);
  let mean = moments.mean;
  let variance = moments.m2 / count;
  if (lid == 0u) {
    stats[c] = mean;
    stats[params.channels + c] = invStdOf(moments);
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
