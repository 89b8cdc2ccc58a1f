// sgd_update: plain gradient descent, p ← p − lr · g, in place on p. One invocation per element.

struct Params {
  count: u32,
  lr: f32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> grad: array<f32>;
@group(0) @binding(2) var<storage, read_write> param: array<f32>;

override WG_X: u32;

@compute @workgroup_size(WG_X)
fn sgd_update(@builtin(global_invocation_id) gid3: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let gid = linearInvocation(gid3, nwg);
  let i = gid.x;
  if (i >= params.count) { return; }
  param[i] = param[i] - params.lr * grad[i];
}
