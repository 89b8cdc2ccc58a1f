// nll_backward: the gradient of the batch-mean NLL with respect to the log-probabilities;
// overwrites dlogp:  dlogp[b, j] = −[j = labels[b]] / batch; variant WEIGHTED (per-class weights
// w [classes], W = Σ_b w[labels[b]] from nll_forward's weightSum): −[j = labels[b]]·w[j] / W (NaN
// where W = 0, as PyTorch's). Variant IGNORE (with WEIGHTED; weights of 1 where there are none): 0 on
// the row of a sample whose label is params.ignoreIndex (compared as i32), W = 0 or not.
// One invocation per element.

struct Params {
  batch: u32,
  classes: u32,
  ignoreIndex: i32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> labels: array<u32>;
@group(0) @binding(2) var<storage, read_write> dlogp: array<f32>;
#if WEIGHTED
@group(0) @binding(3) var<storage, read> weight: array<f32>;
@group(0) @binding(4) var<storage, read> weightSum: array<f32>;
#endif

override WG_X: u32;

@compute @workgroup_size(WG_X)
fn nll_backward(@builtin(global_invocation_id) gid3: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let gid = linearInvocation(gid3, nwg);
  let i = gid.x;
  if (i >= params.batch * params.classes) { return; }
  let b = i / params.classes;
  let j = i % params.classes;
#if IGNORE
  if (bitcast<i32>(labels[b]) == params.ignoreIndex) {
    dlogp[i] = 0.0;
    return;
  }
#endif
#if WEIGHTED
  dlogp[i] = select(0.0, -weight[j] / weightSum[0], labels[b] == j);
#else
  dlogp[i] = select(0.0, -1.0 / f32(params.batch), labels[b] == j);
#endif
}
