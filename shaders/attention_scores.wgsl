// attention_scores: the attention weights of PyTorch's nn.MultiheadAttention (self-attention,
// batch_first), P = softmax(q_h k_hᵀ · scale) over the keys, scale = 1/√d, d = embed / heads
// (HEAD_DIM, a constant of the compiled kernel: src/kernels/attention.ts).
// Layout: qkv [batch, seqLen, 3·embed] (q, k, v: the input projection's output, dense_forward);
// probs [batch, heads, seqLen, seqLen]. One invocation per (b, h, i), a query row (rows padded to
// whole subgroups: shaders/lib/attention_index.wgsl's planeRowOf), q_i held in registers: its
// scores s_j = (Σ_c q[b, i, h·d + c] · k[b, j, h·d + c], c increasing) · scale for j < end (end =
// i + 1 when causal: −∞ above the diagonal, P = 0 there; else seqLen), written to the row, their
// maximum m (from j = 0, which every row has), then e_j = exp(s_j − m), the sum Σ_j e_j in
// increasing j, and P_j = e_j / sum. Overwrites probs[b, h, i, ·] (0 at the masked keys).
// Variant VEC4 (d a multiple of 4): qkv read as vec4s. Variant SUBGROUP (subgroups of 8): the 8
// rows of a subgroup take the keys 8 at a time, each invocation loads one key's features and
// subgroupBroadcast shares them (where the plain path has every invocation load each key itself,
// an address all share); the same sums in the same order, the same bits.
// Params and the index splits: shaders/lib/attention_index.wgsl.

#if SUBGROUP
enable subgroups;
diagnostic(off, subgroup_uniformity);
#endif

@group(0) @binding(0) var<uniform> params: Params;
#if VEC4
@group(0) @binding(1) var<storage, read> qkv: array<vec4f>;
#else
@group(0) @binding(1) var<storage, read> qkv: array<f32>;
#endif
@group(0) @binding(2) var<storage, read_write> probs: array<f32>;

override WG_X: u32;

// Features 4t … 4t + 3 of the head's row at `at` in qkv (0 past HEAD_DIM).
fn loadQkv4(at: u32, t: u32) -> vec4f {
#if VEC4
  return qkv[at / 4u + t];
#else
  var v = vec4f();
  for (var c = 0u; c < 4u; c++) {
    if (4u * t + c < HEAD_DIM) { v[c] = qkv[at + 4u * t + c]; }
  }
  return v;
#endif
}

// dot + q · k over features 4t … 4t + 3 (below HEAD_DIM), in increasing order.
fn dotStep(dot: f32, q: vec4f, k: vec4f, t: u32) -> f32 {
  var sum = dot;
  for (var c = 0u; c < 4u; c++) {
    if (4u * t + c < HEAD_DIM) { sum += q[c] * k[c]; }
  }
  return sum;
}

@compute @workgroup_size(WG_X)
fn attention_scores(@builtin(global_invocation_id) gid3: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let gid = linearInvocation(gid3, nwg);
  let row = planeRowOf(gid.x, 1u);
  // The whole subgroup returns together (one plane).
  if (row.b >= params.batch) { return; }
  let L = params.seqLen;
  let valid = row.r < L;
  let i = min(row.r, L - 1u);
  let base = row.h * HEAD_DIM;
  let qAt = qkvAt(row.b, i, QUERY) + base;
  var q: array<vec4f, HEAD_VEC4S>;
  for (var t = 0u; t < HEAD_VEC4S; t++) { q[t] = loadQkv4(qAt, t); }
  let rowAt = probsPlaneAt(row.b, row.h) + i * L;
  let end = keyEnd(i);
  var m = 0.0;
#if SUBGROUP
  // The keys any row of the subgroup sees.
  let groupEnd = keyEnd(min(row.first + 7u, L - 1u));
  let lane = row.r - row.first;
  for (var j0 = 0u; j0 < groupEnd; j0 += 8u) {
    let kAt = qkvAt(row.b, min(j0 + lane, L - 1u), KEY) + base;
    var dots = array<f32, 8>();
    for (var t = 0u; t < HEAD_VEC4S; t++) {
      let k = loadQkv4(kAt, t);
      dots[0] = dotStep(dots[0], q[t], subgroupBroadcast(k, 0u), t);
      dots[1] = dotStep(dots[1], q[t], subgroupBroadcast(k, 1u), t);
      dots[2] = dotStep(dots[2], q[t], subgroupBroadcast(k, 2u), t);
      dots[3] = dotStep(dots[3], q[t], subgroupBroadcast(k, 3u), t);
      dots[4] = dotStep(dots[4], q[t], subgroupBroadcast(k, 4u), t);
      dots[5] = dotStep(dots[5], q[t], subgroupBroadcast(k, 5u), t);
      dots[6] = dotStep(dots[6], q[t], subgroupBroadcast(k, 6u), t);
      dots[7] = dotStep(dots[7], q[t], subgroupBroadcast(k, 7u), t);
    }
    for (var jj = 0u; jj < 8u; jj++) {
      let j = j0 + jj;
      if (valid && j < end) {
        let s = dots[jj] * params.scale;
        probs[rowAt + j] = s;
        if (j == 0u || s > m) { m = s; }
      }
    }
  }
#else
  if (!valid) { return; }
  for (var j = 0u; j < end; j++) {
    let kAt = qkvAt(row.b, j, KEY) + base;
    var dot = 0.0;
    for (var t = 0u; t < HEAD_VEC4S; t++) { dot = dotStep(dot, q[t], loadQkv4(kAt, t), t); }
    let s = dot * params.scale;
    probs[rowAt + j] = s;
    if (j == 0u || s > m) { m = s; }
  }
#endif
  if (!valid) { return; }
  var total = 0.0;
  for (var j = 0u; j < end; j++) {
    let e = exp(probs[rowAt + j] - m);
    probs[rowAt + j] = e;
    total += e;
  }
  for (var j = 0u; j < end; j++) {
    probs[rowAt + j] = probs[rowAt + j] / total;
  }
  for (var j = end; j < L; j++) {
    probs[rowAt + j] = 0.0;
  }
}
