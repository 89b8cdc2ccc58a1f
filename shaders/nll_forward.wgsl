// nll_forward: the per-sample NLL of log-probabilities (PyTorch's nll_loss before the mean);
// overwrites loss (and, variant WEIGHTED, weightSum):  loss[b] = −logp[b, labels[b]].
//   Variant WEIGHTED, per-class weights w [classes] (PyTorch's NLLLoss(weight), whose 'mean' is
//   Σ_b w[y_b]·ℓ_b / Σ_b w[y_b]): with W = Σ_b w[labels[b]] (every invocation sums it, in order;
//   invocation 0 stores it in weightSum[0] for nll_backward), loss[b] = batch / W · w[y]·(−logp[b, y]),
//   so that the batch's mean of loss[b] is PyTorch's loss.
//   Variant IGNORE (with WEIGHTED; weights of 1 where there are none): a sample whose label is
//   params.ignoreIndex (PyTorch's ignore_index; compared as i32) adds nothing to W: its loss[b] is 0
//   (batch_metrics makes the mean of a batch with every sample ignored NaN, PyTorch's mean of nothing).
//   logp [batch, classes]. One invocation per sample.

struct Params {
  batch: u32,
  classes: u32,
  ignoreIndex: i32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> logp: array<f32>;
@group(0) @binding(2) var<storage, read> labels: array<u32>;
@group(0) @binding(3) var<storage, read_write> loss: array<f32>;
#if WEIGHTED
@group(0) @binding(4) var<storage, read> weight: array<f32>;
@group(0) @binding(5) var<storage, read_write> weightSum: array<f32>;
#endif

override WG_X: u32;

@compute @workgroup_size(WG_X)
fn nll_forward(@builtin(global_invocation_id) gid3: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let gid = linearInvocation(gid3, nwg);
  let b = gid.x;
  if (b >= params.batch) { return; }
#if WEIGHTED
  var sum = 0.0;
  for (var k = 0u; k < params.batch; k++) {
    if (!ignored(labels[k])) {
      sum += weight[labels[k]];
    }
  }
  if (b == 0u) { weightSum[0] = sum; }
  if (ignored(labels[b])) {
    loss[b] = 0.0;
  } else {
    loss[b] = f32(params.batch) / sum * (weight[labels[b]] * -logp[b * params.classes + labels[b]]);
  }
#else
  loss[b] = -logp[b * params.classes + labels[b]];
#endif
}
