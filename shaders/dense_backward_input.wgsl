// dense_backward_input: dx = dy · W, overwrites dx.
//   dy [batch, outFeatures], W [outFeatures, inFeatures], dx [batch, inFeatures].
//   One invocation per dx[b, i]; the sum runs over o in increasing order.

struct Params {
  batch: u32,
  inFeatures: u32,
  outFeatures: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> weight: array<f32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;

override WG_X: u32;

@compute @workgroup_size(WG_X)
fn dense_backward_input(@builtin(global_invocation_id) gid3: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let gid = linearInvocation(gid3, nwg);
  let index = gid.x;
  if (index >= params.batch * params.inFeatures) { return; }
  let b = index / params.inFeatures;
  let i = index % params.inFeatures;
  var sum = 0.0;
  for (var o = 0u; o < params.outFeatures; o++) {
    sum = fma(dy[b * params.outFeatures + o], weight[o * params.inFeatures + i], sum);
  }
  dx[index] = sum;
}
