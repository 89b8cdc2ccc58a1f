// attention_backward_values: dV = Pᵀ dO of PyTorch's nn.MultiheadAttention (attention_values.wgsl's
// backward): dv[b, j, e] = Σ_i probs[b, h, i, j] · dattn[b, i, e], h = e / d, i increasing over the
// queries that see key j (i ≥ j when causal). Layout: probs [batch, heads, seqLen, seqLen] (P: run
// before attention_backward_scores overwrites it with dS); dattn [batch, seqLen, embed];
// dqkv [batch, seqLen, 3·embed] (dv at 2·embed + e). One invocation per (b, h, j) and chunk of
// 4·CHUNK_VEC4S features (shaders/lib/attention_index.wgsl's planeRowOf; d = HEAD_DIM, a constant
// of the compiled kernel), its sums in registers. Variant VEC4 (d a multiple of 4): dattn and dqkv
// as vec4s. Variant SUBGROUP (subgroups of 8): the subgroup's 8 keys take the queries 8 at a time,
// each invocation loads one query's dO and subgroupBroadcast shares it; the same sums in the same
// order, the same bits. Overwrites dqkv's v part.
// Params and the index splits: shaders/lib/attention_index.wgsl.

#if SUBGROUP
enable subgroups;
diagnostic(off, subgroup_uniformity);
#endif

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> probs: array<f32>;
#if VEC4
@group(0) @binding(2) var<storage, read> dattn: array<vec4f>;
@group(0) @binding(3) var<storage, read_write> dqkv: array<vec4f>;
#else
@group(0) @binding(2) var<storage, read> dattn: array<f32>;
@group(0) @binding(3) var<storage, read_write> dqkv: array<f32>;
#endif

override WG_X: u32;

// Features 4t … 4t + 3 of the head's row at `at` in dattn (0 past HEAD_DIM).
fn loadDattn4(at: u32, t: u32) -> vec4f {
#if VEC4
  return dattn[at / 4u + t];
#else
  var v = vec4f();
  for (var c = 0u; c < 4u; c++) {
    if (4u * t + c < HEAD_DIM) { v[c] = dattn[at + 4u * t + c]; }
  }
  return v;
#endif
}

@compute @workgroup_size(WG_X)
fn attention_backward_values(@builtin(global_invocation_id) gid3: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let gid = linearInvocation(gid3, nwg);
  let row = planeRowOf(gid.x, featureChunks());
  // The whole subgroup returns together (one plane).
  if (row.b >= params.batch) { return; }
  let L = params.seqLen;
  let E = params.embed;
  let valid = row.r < L;
  // Key j.
  let j = min(row.r, L - 1u);
  // The chunk's vec4s of the head's features: t0 + t, t < CHUNK_VEC4S (below HEAD_VEC4S).
  let t0 = row.chunk * CHUNK_VEC4S;
  let base = row.h * HEAD_DIM;
  let pAt = probsPlaneAt(row.b, row.h) + j;
  let start = queryStart(j);
  var sum: array<vec4f, CHUNK_VEC4S>;
#if SUBGROUP
  let lane = row.r - row.first;
  for (var i0 = queryStart(row.first); i0 < L; i0 += 8u) {
    let oAt = (row.b * L + min(i0 + lane, L - 1u)) * E + base;
    // The probabilities of queries i0 … i0 + 7 for key j (0 outside the queries that see it: their terms are left out).
    var p: array<f32, 8>;
    for (var ii = 0u; ii < 8u; ii++) {
      let i = i0 + ii;
      if (i >= start && i < L) { p[ii] = probs[pAt + i * L]; }
    }
    for (var t = 0u; t < CHUNK_VEC4S; t++) {
      if (t0 + t < HEAD_VEC4S) {
        let o = loadDattn4(oAt, t0 + t);
        var s = sum[t];
        let o0 = subgroupBroadcast(o, 0u);
        if (i0 >= start) { s += p[0] * o0; }
        let o1 = subgroupBroadcast(o, 1u);
        if (i0 + 1u >= start && i0 + 1u < L) { s += p[1] * o1; }
        let o2 = subgroupBroadcast(o, 2u);
        if (i0 + 2u >= start && i0 + 2u < L) { s += p[2] * o2; }
        let o3 = subgroupBroadcast(o, 3u);
        if (i0 + 3u >= start && i0 + 3u < L) { s += p[3] * o3; }
        let o4 = subgroupBroadcast(o, 4u);
        if (i0 + 4u >= start && i0 + 4u < L) { s += p[4] * o4; }
        let o5 = subgroupBroadcast(o, 5u);
        if (i0 + 5u >= start && i0 + 5u < L) { s += p[5] * o5; }
        let o6 = subgroupBroadcast(o, 6u);
        if (i0 + 6u >= start && i0 + 6u < L) { s += p[6] * o6; }
        let o7 = subgroupBroadcast(o, 7u);
        if (i0 + 7u >= start && i0 + 7u < L) { s += p[7] * o7; }
        sum[t] = s;
      }
    }
  }
#else
  if (!valid) { return; }
  for (var i = start; i < L; i++) {
    let p = probs[pAt + i * L];
    let oAt = (row.b * L + i) * E + base;
    for (var t = 0u; t < CHUNK_VEC4S; t++) {
      if (t0 + t < HEAD_VEC4S) { sum[t] += p * loadDattn4(oAt, t0 + t); }
    }
  }
#endif
  if (!valid) { return; }
  let outAt = qkvAt(row.b, j, VALUE) + base;
  for (var t = 0u; t < CHUNK_VEC4S; t++) {
#if VEC4
    if (t0 + t < HEAD_VEC4S) { dqkv[outAt / 4u + t0 + t] = sum[t]; }
#else
    for (var c = 0u; c < 4u; c++) {
      if (4u * (t0 + t) + c < HEAD_DIM) { dqkv[outAt + 4u * (t0 + t) + c] = sum[t][c]; }
    }
#endif
  }
}
