// dense_backward_weight: dW = dyᵀ · x, overwrites dW (the gradient of this batch only).
//   dy [batch, outFeatures], x [batch, inFeatures], dW [outFeatures, inFeatures].
//   One invocation per dW[o, i]; the sum runs over the batch in increasing order.

struct Params {
  batch: u32,
  inFeatures: u32,
  outFeatures: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read_write> dweight: array<f32>;

override WG_X: u32;

@compute @workgroup_size(WG_X)
fn dense_backward_weight(@builtin(global_invocation_id) gid3: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let gid = linearInvocation(gid3, nwg);
  let index = gid.x;
  if (index >= params.outFeatures * params.inFeatures) { return; }
  let o = index / params.inFeatures;
  let i = index % params.inFeatures;
  var sum = 0.0;
  for (var b = 0u; b < params.batch; b++) {
    sum = fma(dy[b * params.outFeatures + o], x[b * params.inFeatures + i], sum);
  }
  dweight[index] = sum;
}
