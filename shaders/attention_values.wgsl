// attention_values: the heads' outputs O_h = P v_h of PyTorch's nn.MultiheadAttention
// (attention_scores.wgsl's P), concatenated: attn[b, i, e] = Σ_j probs[b, h, i, j] · v[b, j, e],
// h = e / d, j increasing over the keys row i sees (j ≤ i when causal). Layout: probs [batch, heads,
// seqLen, seqLen]; qkv [batch, seqLen, 3·embed] (v at 2·embed + e); attn [batch, seqLen, embed].
// One invocation per (b, h, i) and chunk of 4·CHUNK_VEC4S features (shaders/lib/attention_index.wgsl's
// planeRowOf; d = HEAD_DIM, a constant of the compiled kernel), its sums in registers.
// Variant VEC4 (d a multiple of 4): qkv and attn as vec4s. Variant SUBGROUP (subgroups of 8): the
// subgroup's 8 rows take the keys 8 at a time, each invocation loads one key's v and
// subgroupBroadcast shares it; the same sums in the same order, the same bits.
// Overwrites attn. Params and the index splits: shaders/lib/attention_index.wgsl.

#if SUBGROUP
enable subgroups;
diagnostic(off, subgroup_uniformity);
#endif

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> probs: array<f32>;
#if VEC4
@group(0) @binding(2) var<storage, read> qkv: array<vec4f>;
@group(0) @binding(3) var<storage, read_write> attn: array<vec4f>;
#else
@group(0) @binding(2) var<storage, read> qkv: array<f32>;
@group(0) @binding(3) var<storage, read_write> attn: array<f32>;
#endif

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

@compute @workgroup_size(WG_X)
fn attention_values(@builtin(global_invocation_id) gid3: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let gid = linearInvocation(gid3, nwg);
  let row = planeRowOf(gid.x, featureChunks());
  // The whole subgroup returns together (one plane).
  if (row.b >= params.batch) { return; }
  let L = params.seqLen;
  let valid = row.r < L;
  let i = min(row.r, L - 1u);
  // The chunk's vec4s of the head's features: t0 + t, t < CHUNK_VEC4S (below HEAD_VEC4S).
  let t0 = row.chunk * CHUNK_VEC4S;
  let base = row.h * HEAD_DIM;
  let pAt = probsPlaneAt(row.b, row.h) + i * L;
  let end = keyEnd(i);
  var sum: array<vec4f, CHUNK_VEC4S>;
#if SUBGROUP
  let groupEnd = keyEnd(min(row.first + 7u, L - 1u));
  let lane = row.r - row.first;
  for (var j0 = 0u; j0 < groupEnd; j0 += 8u) {
    let vAt = qkvAt(row.b, min(j0 + lane, L - 1u), VALUE) + base;
    // The probabilities of keys j0 … j0 + 7 (0 past the row's end: their terms are left out).
    var p: array<f32, 8>;
    for (var jj = 0u; jj < 8u; jj++) {
      if (j0 + jj < end) { p[jj] = probs[pAt + j0 + jj]; }
    }
    for (var t = 0u; t < CHUNK_VEC4S; t++) {
      if (t0 + t < HEAD_VEC4S) {
        let v = loadQkv4(vAt, t0 + t);
        var s = sum[t];
        if (j0 < end) { s += p[0] * subgroupBroadcast(v, 0u); }
        let v1 = subgroupBroadcast(v, 1u);
        if (j0 + 1u < end) { s += p[1] * v1; }
        let v2 = subgroupBroadcast(v, 2u);
        if (j0 + 2u < end) { s += p[2] * v2; }
        let v3 = subgroupBroadcast(v, 3u);
        if (j0 + 3u < end) { s += p[3] * v3; }
        let v4 = subgroupBroadcast(v, 4u);
        if (j0 + 4u < end) { s += p[4] * v4; }
        let v5 = subgroupBroadcast(v, 5u);
        if (j0 + 5u < end) { s += p[5] * v5; }
        let v6 = subgroupBroadcast(v, 6u);
        if (j0 + 6u < end) { s += p[6] * v6; }
        let v7 = subgroupBroadcast(v, 7u);
        if (j0 + 7u < end) { s += p[7] * v7; }
        sum[t] = s;
      }
    }
  }
#else
  if (!valid) { return; }
  for (var j = 0u; j < end; j++) {
    let p = probs[pAt + j];
    let vAt = qkvAt(row.b, j, VALUE) + base;
    for (var t = 0u; t < CHUNK_VEC4S; t++) {
      if (t0 + t < HEAD_VEC4S) { sum[t] += p * loadQkv4(vAt, t0 + t); }
    }
  }
#endif
  if (!valid) { return; }
  let outAt = (row.b * L + i) * params.embed + base;
  for (var t = 0u; t < CHUNK_VEC4S; t++) {
#if VEC4
    if (t0 + t < HEAD_VEC4S) { attn[outAt / 4u + t0 + t] = sum[t]; }
#else
    for (var c = 0u; c < 4u; c++) {
      if (4u * (t0 + t) + c < HEAD_DIM) { attn[outAt + 4u * (t0 + t) + c] = sum[t][c]; }
    }
#endif
  }
}
