// nll_forward: the per-sample NLL of log-probabilities (PyTorch's nll_loss before the mean);
// overwrites loss:  loss[b] = −logp[b, labels[b]].  logp [batch, classes]. One invocation per sample.

struct Params {
  batch: u32,
  classes: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> logp: array<f32>;
@group(0) @binding(2) var<storage, read> labels: array<u32>;
@group(0) @binding(3) var<storage, read_write> loss: array<f32>;

override WG_X: u32;

@compute @workgroup_size(WG_X)
fn nll_forward(@builtin(global_invocation_id) gid3: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let gid = linearInvocation(gid3, nwg);
  let b = gid.x;
  if (b >= params.batch) { return; }
  loss[b] = -logp[b * params.classes + labels[b]];
}
