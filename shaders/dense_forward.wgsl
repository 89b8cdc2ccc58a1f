// dense_forward: y = x · Wᵀ (a fully connected layer without bias), overwrites y.
//   x [batch, inFeatures], W [outFeatures, inFeatures] (PyTorch Linear layout), y [batch, outFeatures].
//   The matmul skeleton (shaders/lib/matmul.wgsl) with C = y (m = batch, n = outFeatures),
//   A = x, B = Wᵀ: each y[b, o] summed over i in increasing order.

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

fn loadA(i: u32) -> f32 { return x[i]; }
fn loadB(i: u32) -> f32 { return weight[i]; }
fn storeC(i: u32, v: f32) { y[i] = v; }

@compute @workgroup_size(WG_X)
fn dense_forward(@builtin(global_invocation_id) gid3: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let gid = linearInvocation(gid3, nwg);
  matmulTile(gid.x, MatmulShape(params.batch, params.outFeatures, params.inFeatures, params.inFeatures, 1u, 1u, params.inFeatures));
}
