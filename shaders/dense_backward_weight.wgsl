// dense_backward_weight: dW = dyᵀ · x, overwrites dweight.
//   dy [batch, outFeatures], x [batch, inFeatures], dweight [outFeatures, inFeatures].
//   The matmul skeleton (shaders/lib/matmul.wgsl) with C = dW (m = outFeatures, n = inFeatures),
//   A = dyᵀ, B = x: each dW[o, i] summed over b in increasing order.
//   Variant ROW_SUMS (a layer with a bias): the bias's gradient too, dbias[o] = Σ_b dy[b, o] in
//   increasing b, summed by the skeleton from the dy values the first column of tiles loads: no
//   pass of its own over dy.
//   Variant SUBGROUP (subgroups of 8, inFeatures and outFeatures multiples of 4, any batch): the
//   subgroup skeleton (src/kernels/dense.ts, matmulSubgroupSource), dy and x read as vec4s along
//   o and i; the same bits.

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
@group(0) @binding(2) var<storage, read> x: array<vec4f>;
#else
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
#endif
@group(0) @binding(3) var<storage, read_write> dweight: array<f32>;
#if ROW_SUMS
@group(0) @binding(4) var<storage, read_write> dbias: array<f32>;
#endif

override WG_X: u32;

#if SUBGROUP
fn loadA4(i: u32) -> vec4f { return dy[i]; }
fn loadB4(i: u32) -> vec4f { return x[i]; }
// (the plain skeleton, appended too, is not called in this variant)
fn loadA(i: u32) -> f32 { return dy[i / 4u][i % 4u]; }
fn loadB(i: u32) -> f32 { return x[i / 4u][i % 4u]; }
#else
fn loadA(i: u32) -> f32 { return dy[i]; }
fn loadB(i: u32) -> f32 { return x[i]; }
#endif
fn storeC(i: u32, v: f32) { dweight[i] = v; }
#if ROW_SUMS
fn storeRowSum(o: u32, v: f32) { dbias[o] = v; }
#endif

@compute @workgroup_size(WG_X)
fn dense_backward_weight(@builtin(global_invocation_id) gid3: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let gid = linearInvocation(gid3, nwg);
  let shape = MatmulShape(params.outFeatures, params.inFeatures, params.batch, 1u, params.outFeatures, params.inFeatures, 1u);
#if SUBGROUP
  matmulSubgroupTile(gid.x, shape);
#else
  matmulTile(gid.x, shape);
#endif
}
