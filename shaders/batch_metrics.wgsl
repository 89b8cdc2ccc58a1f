// batch_metrics: loss and accuracy of one batch, accumulated on the GPU.
//   loss [batch] per-sample NLL, logp [batch, classes], labels [batch].
//   metrics[0] = Σ loss / batch (overwritten: the batch's mean loss);
//   metrics[1] += Σ loss (summed NLL of the epoch); counts[0] += correct; counts[1] += batch.
//   A prediction is the first class with the largest logp (ties go to the lower class; a NaN
//   row counts as wrong). One workgroup of WG_X invocations (a power of two): invocation k takes
//   samples k, k + WG_X, …, then a fixed-order tree reduction. With `guard` = 1 (training), a
//   non-finite batch loss is recorded in `health` (shaders/lib/health.wgsl), slot 2.
//   Variant IGNORE: a sample whose label is params.ignoreIndex (PyTorch's ignore_index, compared as
//   i32) is never correct and is counted in counts[2] (accuracy is correct / (samples − ignored), a
//   user's accuracy over the labels not ignored); its loss (0, the NLL kernels' share) is summed as any.
//   A batch whose every sample is ignored has the mean loss NaN (PyTorch's mean of none: 0/0) and
//   adds 0 to the sums (nothing to flag for the divergence guard: its gradient is 0).

struct Params {
  batch: u32,
  classes: u32,
  guard: u32,
  ignoreIndex: i32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> loss: array<f32>;
@group(0) @binding(2) var<storage, read> logp: array<f32>;
@group(0) @binding(3) var<storage, read> labels: array<u32>;
@group(0) @binding(4) var<storage, read_write> metrics: array<f32>;
@group(0) @binding(5) var<storage, read_write> counts: array<u32>;
@group(0) @binding(6) var<storage, read_write> health: array<u32>;

override WG_X: u32;

var<workgroup> lossSums: array<f32, WG_X>;
var<workgroup> correctCounts: array<u32, WG_X>;
var<workgroup> ignoredCounts: array<u32, WG_X>;

@compute @workgroup_size(WG_X)
fn batch_metrics(@builtin(local_invocation_index) lid: u32) {
  var sum = 0.0;
  var correct = 0u;
  var skipped = 0u;
  for (var b = lid; b < params.batch; b += WG_X) {
    sum += loss[b];
    if (ignored(labels[b])) {
      skipped += 1u;
      continue;
    }
    let row = b * params.classes;
    var best = 0u;
    for (var j = 1u; j < params.classes; j++) {
      if (logp[row + j] > logp[row + best]) {
        best = j;
      }
    }
    let value = logp[row + best];
    // A NaN maximum (a NaN row) is wrong: told by its bits, as `value == value` may be folded to true
    // (WGSL lets a compiler assume no NaN).
    correct += select(0u, 1u, best == labels[b] && (bitcast<u32>(value) & 0x7fffffffu) <= 0x7f800000u);
  }
  lossSums[lid] = sum;
  correctCounts[lid] = correct;
  ignoredCounts[lid] = skipped;
  workgroupBarrier();
  for (var stride = WG_X / 2u; stride > 0u; stride /= 2u) {
    if (lid < stride) {
      lossSums[lid] += lossSums[lid + stride];
      correctCounts[lid] += correctCounts[lid + stride];
      ignoredCounts[lid] += ignoredCounts[lid + stride];
    }
    workgroupBarrier();
  }
  if (lid == 0u) {
    var mean = lossSums[0] / f32(params.batch);
#if IGNORE
    if (ignoredCounts[0] == params.batch) {
      mean = lossSums[0] / f32(params.batch - ignoredCounts[0]);
    }
#endif
    metrics[0] = mean;
    metrics[1] += lossSums[0];
    counts[0] += correctCounts[0];
    counts[1] += params.batch;
#if IGNORE
    counts[2] += ignoredCounts[0];
#endif
    if (params.guard != 0u && !isFinite(lossSums[0])) {
      markNonFinite(2u);
    }
  }
}
