// log_softmax_nll_forward: logp = log_softmax(logits) per row and the per-sample NLL;
// overwrites logp and loss (and, variant WEIGHTED, weightSum).
//   logits, logp [batch, classes]; labels [batch]; loss[b] = −logp[b, labels[b]].
//   log_softmax(z)_j = z_j − max − log Σ_k exp(z_k − max). One invocation per sample.
//   With label smoothing ε > 0 (PyTorch's CrossEntropyLoss(label_smoothing)): loss[b] =
//   (1 − ε)·(−logp[b, label]) + ε·(Σ_j −logp[b, j]) / classes; ε = 0 is the plain NLL, the same bits.
//   Variant WEIGHTED, per-class weights w [classes] (PyTorch's weight=, whose 'mean' is
//   Σ_b w[y_b]·ℓ_b / Σ_b w[y_b]): with W = Σ_b w[labels[b]] (every invocation sums it, in order,
//   over the batch; invocation 0 stores it in weightSum[0], and Σ_j w[j] in weightSum[1], for the backward),
//   loss[b] = batch / W · ((1 − ε)·w[label]·(−logp[b, label]) + ε·(Σ_j w[j]·(−logp[b, j])) / classes),
//   so that the batch's mean of loss[b] is PyTorch's loss (its smoothing term weighted per class
//   and divided by W too). Each term is scaled by batch / W on its own, so that W = 0 gives NaN
//   (the NLL term's 0·∞) as PyTorch's 0/0, with label smoothing too (its term alone would be ±∞).
//   Variant IGNORE (with WEIGHTED; the loss head binds weights of 1 where there are none): a sample
//   whose label is params.ignoreIndex (PyTorch's ignore_index; labels are compared as i32) adds
//   nothing to W or to either term: its loss[b] is 0 (batch_metrics makes the mean of a batch with
//   every sample ignored NaN, PyTorch's mean of nothing), and its logp row is still written.

struct Params {
  batch: u32,
  classes: u32,
  smoothing: f32,
  ignoreIndex: i32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(2) var<storage, read> labels: array<u32>;
@group(0) @binding(3) var<storage, read_write> logp: array<f32>;
@group(0) @binding(4) var<storage, read_write> loss: array<f32>;
#if WEIGHTED
@group(0) @binding(5) var<storage, read> weight: array<f32>;
@group(0) @binding(6) var<storage, read_write> weightSum: array<f32>;
#endif

override WG_X: u32;

/** Class j's weight (1 without WEIGHTED: the products below are then exact, the plain loss's bits). */
fn classWeight(j: u32) -> f32 {
#if WEIGHTED
  return weight[j];
#else
  return 1.0;
#endif
}

/** batch / Σ_b w[labels[b]] over the samples not ignored (1 without WEIGHTED); invocation 0 stores the sum and Σ_j w[j]. */
fn batchScale(b: u32) -> f32 {
#if WEIGHTED
  var sum = 0.0;
  for (var k = 0u; k < params.batch; k++) {
    if (!ignored(labels[k])) {
      sum += weight[labels[k]];
    }
  }
  if (b == 0u) {
    var classes = 0.0;
    for (var j = 0u; j < params.classes; j++) {
      classes += weight[j];
    }
    weightSum[0] = sum;
    weightSum[1] = classes;
  }
  return f32(params.batch) / sum;
#else
  return 1.0;
#endif
}

@compute @workgroup_size(WG_X)
fn log_softmax_nll_forward(@builtin(global_invocation_id) gid3: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let gid = linearInvocation(gid3, nwg);
  let b = gid.x;
  if (b >= params.batch) { return; }
  let row = b * params.classes;
  var top = logits[row];
  for (var j = 1u; j < params.classes; j++) {
    top = max(top, logits[row + j]);
  }
  var sum = 0.0;
  for (var j = 0u; j < params.classes; j++) {
    sum += exp(logits[row + j] - top);
  }
  let shift = top + log(sum);
  var total = 0.0;
  for (var j = 0u; j < params.classes; j++) {
    logp[row + j] = logits[row + j] - shift;
    total += classWeight(j) * (shift - logits[row + j]);
  }
  let label = labels[b];
  let scale = batchScale(b);
  if (ignored(label)) {
    loss[b] = 0.0;
    return;
  }
#if WEIGHTED
  let nll = (scale * weight[label]) * (shift - logits[row + label]);
  if (params.smoothing > 0.0) {
    loss[b] = (1.0 - params.smoothing) * nll + params.smoothing * (scale * total) / f32(params.classes);
  } else {
    loss[b] = nll;
  }
#else
  let nll = shift - logits[row + label];
  if (params.smoothing > 0.0) {
    loss[b] = (1.0 - params.smoothing) * nll + params.smoothing * total / f32(params.classes);
  } else {
    loss[b] = nll;
  }
#endif
}
