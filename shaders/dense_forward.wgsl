// dense_forward: y = x · Wᵀ (a fully connected layer without bias), overwrites y.
//   x [batch, inFeatures], W [outFeatures, inFeatures] (PyTorch Linear layout), y [batch, outFeatures].
//   One invocation per output element y[b, o]; the sum runs over i in increasing order.

struct Params {
  batch: u32,
  inFeatures: u32,
  outFeatures: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> weight: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;

override WG_X: u32;

@compute @workgroup_size(WG_X)
fn dense_forward(@builtin(global_invocation_id) gid3: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let gid = linearInvocation(gid3, nwg);
  let index = gid.x;
  if (index >= params.batch * params.outFeatures) { return; }
  let b = index / params.outFeatures;
  let o = index % params.outFeatures;
  var sum = 0.0;
  for (var i = 0u; i < params.inFeatures; i++) {
    sum = fma(x[b * params.inFeatures + i], weight[o * params.inFeatures + i], sum);
  }
  y[index] = sum;
}
