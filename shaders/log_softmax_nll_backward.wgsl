// log_softmax_nll_backward: the gradient of the batch-mean NLL of log_softmax(logits);
// overwrites dlogits:  dlogits[b, j] = (exp(logp[b, j]) − t[b, j]) / batch, with the target
// t = (1 − ε)·[j = labels[b]] + ε / classes (label smoothing ε; ε = 0: the one-hot, the same bits).
//   Variant WEIGHTED (per-class weights w [classes]; W = Σ_b w[labels[b]] and Σ_k w[k] from
//   log_softmax_nll_forward's weightSum): with p = exp(logp[b, j]) and y = labels[b],
//   dlogits[b, j] = (1 − ε)·(w[y]·(1/W))·(p − [j = y]) + ε / classes·(p·Σ_k w[k] − w[j])·(1/W): each term
//   scaled on its own, so that W = 0 gives NaN (w[y]·∞ = 0·∞) as PyTorch's, with label smoothing too.
//   Variant IGNORE (with WEIGHTED; weights of 1 where there are none): a sample whose label is
//   params.ignoreIndex (compared as i32) has dlogits 0, W = 0 or not, as PyTorch's.
//   logp [batch, classes] from log_softmax_nll_forward; labels [batch]. One invocation per element.

struct Params {
  batch: u32,
  classes: u32,
  smoothing: f32,
  ignoreIndex: i32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> logp: array<f32>;
@group(0) @binding(2) var<storage, read> labels: array<u32>;
@group(0) @binding(3) var<storage, read_write> dlogits: array<f32>;
#if WEIGHTED
@group(0) @binding(4) var<storage, read> weight: array<f32>;
@group(0) @binding(5) var<storage, read> weightSum: array<f32>;
#endif

override WG_X: u32;

@compute @workgroup_size(WG_X)
fn log_softmax_nll_backward(@builtin(global_invocation_id) gid3: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let gid = linearInvocation(gid3, nwg);
  let i = gid.x;
  if (i >= params.batch * params.classes) { return; }
  let b = i / params.classes;
  let j = i % params.classes;
  let onehot = select(0.0, 1.0, labels[b] == j);
#if IGNORE
  if (bitcast<i32>(labels[b]) == params.ignoreIndex) {
    dlogits[i] = 0.0;
    return;
  }
#endif
#if WEIGHTED
  let p = exp(logp[i]);
  let eps = params.smoothing;
  let scale = 1.0 / weightSum[0];
  dlogits[i] = (1.0 - eps) * (weight[labels[b]] * scale) * (p - onehot) + eps / f32(params.classes) * (p * weightSum[1] - weight[j]) * scale;
#else
  let wanted = (1.0 - params.smoothing) * onehot + params.smoothing / f32(params.classes);
  dlogits[i] = (exp(logp[i]) - wanted) / f32(params.batch);
#endif
}
