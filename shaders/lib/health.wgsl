// health: the divergence guard's record, shared by the kernels that see every gradient (the
// optimizer steps), the loss (batch_metrics) and the running statistics (batchnorm_stats). A
// kernel that appends this library declares `health: array<u32>` (read_write). Layout
// (src/kernels/health.ts):
//   health[0]          the first step whose loss, gradient or statistic was non-finite (NONE: none)
//   health[1]          the current step's number, written by the host before each step
//   health[2]          the first step whose loss was non-finite
//   health[3 + k]      the first step whose gradient of parameter k was non-finite, then (after
//                      the parameters) the first step whose running statistic k was
// Every writer of a step writes the same value, and only into a slot still NONE, so the plain
// stores need no atomics.

const HEALTH_NONE = 0xffffffffu;

// Inf and NaN have every exponent bit set. Tested on the bits: WGSL lets a compiler assume that
// floats are finite, so `x != x` may be folded away.
fn isFinite(x: f32) -> bool {
  return (bitcast<u32>(x) & 0x7f800000u) != 0x7f800000u;
}

fn markNonFinite(slot: u32) {
  let step = health[1];
  if (health[slot] == HEALTH_NONE) {
    health[slot] = step;
  }
  if (health[0] == HEALTH_NONE) {
    health[0] = step;
  }
}
