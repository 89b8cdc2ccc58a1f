// dense_backward_input: dx = dy · W, overwrites dx.
//   dy [batch, outFeatures], W [outFeatures, inFeatures], dx [batch, inFeatures].
//   The matmul skeleton (shaders/lib/matmul.wgsl) with C = dx (m = batch, n = inFeatures),
//   A = dy, B = W: each dx[b, i] summed over o in increasing order.

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

fn loadA(i: u32) -> f32 { return dy[i]; }
fn loadB(i: u32) -> f32 { return weight[i]; }
fn storeC(i: u32, v: f32) { dx[i] = v; }

@compute @workgroup_size(WG_X)
fn dense_backward_input(@builtin(global_invocation_id) gid3: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let gid = linearInvocation(gid3, nwg);
  matmulTile(gid.x, MatmulShape(params.batch, params.inFeatures, params.outFeatures, params.outFeatures, 1u, params.inFeatures, 1u));
}
