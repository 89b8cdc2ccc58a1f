// Moments: the count, mean and sum of squared deviations from the mean (M2) of some elements,
// and their pairwise merge (Chan, Golub and LeVeque): a batch norm's statistics without a sum of
// squares that cancels, and with x read once. Used by batchnorm_stats, batchnorm_stats_merge and
// the conv forward's STATS epilogue (src/kernels/conv-tile.ts), which hands its partial moments
// to batchnorm_stats_merge as three floats (n, mean, M2) each.

struct Moments {
  n: u32,
  mean: f32,
  m2: f32,
}

// The moments of a and b's elements together: δ = mean_b − mean_a, mean = mean_a + δ·n_b/n,
// M2 = M2_a + M2_b + δ²·n_a·n_b/n. Either may be empty (n = 0).
fn mergeMoments(a: Moments, b: Moments) -> Moments {
  let n = a.n + b.n;
  let share = f32(b.n) / f32(max(n, 1u));
  let delta = b.mean - a.mean;
  return Moments(n, a.mean + delta * share, a.m2 + b.m2 + delta * delta * f32(a.n) * share);
}
