// dense_backward_input: dx = dy · W, overwrites dx.
//   dy [batch, outFeatures], W [outFeatures, inFeatures], dx [batch, inFeatures].
//   The matmul skeleton (shaders/lib/matmul.wgsl) with C = dx (m = batch, n = inFeatures),
//   A = dy, B = W: each dx[b, i] summed over o in increasing order.
//   Variant RELU_MASK (fusion rule relu-grad-in-input-gradient: a ReLU before the layer): dx is
//   the gradient of the ReLU's input, each sum stored where reluOut (the ReLU's output, the
//   layer's input x [batch, inFeatures]) is not ≤ 0 (positive or NaN: reluPasses), else 0.
//   Variant SUBGROUP (subgroups of 8, inFeatures and outFeatures multiples of 4): the subgroup
//   skeleton (src/kernels/dense.ts, matmulSubgroupSource), dy and W read as vec4s; the same bits.

#if SUBGROUP
enable subgroups;
diagnostic(off, subgroup_uniformity);
#endif

struct Params {
  batch: u32,
  inFeatures: u32,
  outFeatures: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
#if SUBGROUP
@group(0) @binding(1) var<storage, read> dy: array<vec4f>;
@group(0) @binding(2) var<storage, read> weight: array<vec4f>;
#else
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> weight: array<f32>;
#endif
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;
#if RELU_MASK
@group(0) @binding(4) var<storage, read> reluOut: array<f32>;
#endif

override WG_X: u32;

#if SUBGROUP
fn loadA4(i: u32) -> vec4f { return dy[i]; }
fn loadB4(i: u32) -> vec4f { return weight[i]; }
// (the plain skeleton, appended too, is not called in this variant)
fn loadA(i: u32) -> f32 { return dy[i / 4u][i % 4u]; }
fn loadB(i: u32) -> f32 { return weight[i / 4u][i % 4u]; }
#else
fn loadA(i: u32) -> f32 { return dy[i]; }
fn loadB(i: u32) -> f32 { return weight[i]; }
#endif
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
  let shape = MatmulShape(params.batch, params.inFeatures, params.outFeatures, params.outFeatures, 1u, params.inFeatures, 1u);
#if SUBGROUP
  matmulSubgroupTile(gid.x, shape);
#else
  matmulTile(gid.x, shape);
#endif
}
