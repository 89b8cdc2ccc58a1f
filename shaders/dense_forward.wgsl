// dense_forward: y = x · Wᵀ (a fully connected layer), overwrites y.
//   x [batch, inFeatures], W [outFeatures, inFeatures] (PyTorch Linear layout), y [batch, outFeatures].
//   The matmul skeleton (shaders/lib/matmul.wgsl) with C = y (m = batch, n = outFeatures),
//   A = x, B = Wᵀ: each y[b, o] summed over i in increasing order.
//   Variant BIAS (a Linear with bias): y = x · Wᵀ + bias, bias [outFeatures] added to each sum
//   as it is stored (bias_add's addition: the same bits, without its pass). Variant RELU (fusion
//   rule relu-epilogue): max(·, 0) of that, a NaN kept (shaders/lib/relu.wgsl's reluBits).
//   Variant SUBGROUP (subgroups of 8, inFeatures a multiple of 4): the subgroup skeleton
//   (src/kernels/dense.ts, matmulSubgroupSource), x and W read as vec4s along i; the same bits.

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
@group(0) @binding(1) var<storage, read> x: array<vec4f>;
@group(0) @binding(2) var<storage, read> weight: array<vec4f>;
#else
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> weight: array<f32>;
#endif
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
#if BIAS
@group(0) @binding(4) var<storage, read> bias: array<f32>;
#endif

override WG_X: u32;

#if SUBGROUP
fn loadA4(i: u32) -> vec4f { return x[i]; }
fn loadB4(i: u32) -> vec4f { return weight[i]; }
// (the plain skeleton, appended too, is not called in this variant)
fn loadA(i: u32) -> f32 { return x[i / 4u][i % 4u]; }
fn loadB(i: u32) -> f32 { return weight[i / 4u][i % 4u]; }
#else
fn loadA(i: u32) -> f32 { return x[i]; }
fn loadB(i: u32) -> f32 { return weight[i]; }
#endif
fn storeC(i: u32, v: f32) {
#if BIAS
  let s = v + bias[i % params.outFeatures];
#else
  let s = v;
#endif
#if RELU
  y[i] = reluBits(s);
#else
  y[i] = s;
#endif
}

@compute @workgroup_size(WG_X)
fn dense_forward(@builtin(global_invocation_id) gid3: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let gid = linearInvocation(gid3, nwg);
  let shape = MatmulShape(params.batch, params.outFeatures, params.inFeatures, params.inFeatures, 1u, 1u, params.inFeatures);
#if SUBGROUP
  matmulSubgroupTile(gid.x, shape);
#else
  matmulTile(gid.x, shape);
#endif
}
