// dense_backward_input: dx = dy · W, overwrites dx.
//   dy [batch, outFeatures], W [outFeatures, inFeatures], dx [batch, inFeatures].
//   The matmul skeleton (shaders/lib/matmul.wgsl) with C = dx (m = batch, n = inFeatures),
//   A = dy, B = W: each dx[b, i] summed over o in increasing order.
//   Variant RELU_MASK (fusion rule relu-grad-in-input-gradient: a ReLU before the layer): dx is
//   the gradient of the ReLU's input, each sum stored where reluOut (the ReLU's output, the
//   layer's input x [batch, inFeatures]) is not ≤ 0 (positive or NaN: reluPasses), else 0.

struct Params {
  batch: u32,
  inFeatures: u32,
  outFeatures: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> weight: array<f32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;
#if RELU_MASK
@group(0) @binding(4) var<storage, read> reluOut: array<f32>;
#endif

override WG_X: u32;

fn loadA(i: u32) -> f32 { return dy[i]; }
fn loadB(i: u32) -> f32 { return weight[i]; }
fn storeC(i: u32, v: f32) {
#if RELU_MASK
  dx[i] = select(0.0, v, reluPasses(reluOut[i]));
#else
  dx[i] = v;
#endif
}

@compute @workgroup_size(WG_X)
fn dense_backward_input(@builtin(global_invocation_id) gid3: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let gid = linearInvocation(gid3, nwg);
  matmulTile(gid.x, MatmulShape(params.batch, params.inFeatures, params.outFeatures, params.outFeatures, 1u, params.inFeatures, 1u));
}
