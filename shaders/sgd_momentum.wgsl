// sgd_momentum: PyTorch's SGD with momentum (no dampening, no Nesterov, no weight decay);
// updates velocity and param in place:  v ← momentum·v + g;  p ← p − lr·v.
//   (v starts at 0, so the first step gives v = g, as PyTorch does.) One invocation per element.

struct Params {
  length: u32,
  lr: f32,
  momentum: f32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> grad: array<f32>;
@group(0) @binding(2) var<storage, read_write> velocity: array<f32>;
@group(0) @binding(3) var<storage, read_write> param: array<f32>;

override WG_X: u32;

@compute @workgroup_size(WG_X)
fn sgd_momentum(@builtin(global_invocation_id) gid: vec3u) {
  let i = gid.x;
  if (i >= params.length) { return; }
  let v = params.momentum * velocity[i] + grad[i];
  velocity[i] = v;
  param[i] = param[i] - params.lr * v;
}
