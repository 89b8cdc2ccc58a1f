// log_softmax_nll_backward: the gradient of the batch-mean NLL of log_softmax(logits);
// overwrites dlogits:  dlogits[b, j] = (exp(logp[b, j]) − [j = labels[b]]) / batch.
//   logp [batch, classes] from log_softmax_nll_forward; labels [batch]. One invocation per element.

struct Params {
  batch: u32,
  classes: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> logp: array<f32>;
@group(0) @binding(2) var<storage, read> labels: array<u32>;
@group(0) @binding(3) var<storage, read_write> dlogits: array<f32>;

override WG_X: u32;

@compute @workgroup_size(WG_X)
fn log_softmax_nll_backward(@builtin(global_invocation_id) gid3: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let gid = linearInvocation(gid3, nwg);
  let i = gid.x;
  if (i >= params.batch * params.classes) { return; }
  let b = i / params.classes;
  let j = i % params.classes;
  let onehot = select(0.0, 1.0, labels[b] == j);
  dlogits[i] = (exp(logp[i])- onehot) / f32(params.batch);
}
