// log_softmax_nll_forward: logp = log_softmax(logits) per row and the per-sample NLL;
// overwrites logp and loss.
//   logits, logp [batch, classes]; labels [batch]; loss[b] = −logp[b, labels[b]].
//   log_softmax(z)_j = z_j − max − log Σ_k exp(z_k − max). One invocation per sample.
//   With label smoothing ε > 0 (PyTorch's CrossEntropyLoss(label_smoothing)): loss[b] =
//   (1 − ε)·(−logp[b, label]) + ε·(Σ_j −logp[b, j]) / classes; ε = 0 is the plain NLL, the same bits.

struct Params {
  batch: u32,
  classes: u32,
  smoothing: f32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(2) var<storage, read> labels: array<u32>;
@group(0) @binding(3) var<storage, read_write> logp: array<f32>;
@group(0) @binding(4) var<storage, read_write> loss: array<f32>;

override WG_X: u32;

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
    total += shift - logits[row + j];
  }
  let nll = shift - logits[row + labels[b]];
  if (params.smoothing > 0.0) {
    loss[b] = (1.0 - params.smoothing) * nll + params.smoothing * total / f32(params.classes);
  } else {
    loss[b] = nll;
  }
}
