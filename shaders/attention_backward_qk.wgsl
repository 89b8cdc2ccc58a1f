// attention_backward_qk: the query's and key's gradients of PyTorch's nn.MultiheadAttention,
// dQ = dS K / √d and dK = dSᵀ Q / √d, from attention_backward_scores.wgsl's dS · scale (in probs).
// Layout: probs [batch, heads, seqLen, seqLen]; qkv, dqkv [batch, seqLen, 3·embed] (q at e, k at
// embed + e). One invocation per (b, h, r) and chunk of 4·CHUNK_VEC4S features
// (shaders/lib/attention_index.wgsl's planeRowOf; d = HEAD_DIM, a constant of the compiled kernel),
// its sums in registers, feature e of the head:
//   dq[b, r, e] = Σ_j probs[b, h, r, j] · k[b, j, e]   (j increasing, j ≤ r when causal)
//   dk[b, r, e] = Σ_i probs[b, h, i, r] · q[b, i, e]   (i increasing, i ≥ r when causal)
// Variant VEC4 (d a multiple of 4): qkv and dqkv as vec4s. Variant SUBGROUP (subgroups of 8): the
// subgroup's 8 tokens take the keys (for dq), then the queries (for dk), 8 at a time, each
// invocation loads one of their rows and subgroupBroadcast shares it; the same sums in the same
// order, the same bits. Overwrites dqkv's q and k parts. Params and the index splits:
// shaders/lib/attention_index.wgsl.

#if SUBGROUP
enable subgroups;
diagnostic(off, subgroup_uniformity);
#endif

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> probs: array<f32>;
#if VEC4
@group(0) @binding(2) var<storage, read> qkv: array<vec4f>;
@group(0) @binding(3) var<storage, read_write> dqkv: array<vec4f>;
#else
@group(0) @binding(2) var<storage, read> qkv: array<f32>;
@group(0) @binding(3) var<storage, read_write> dqkv: array<f32>;
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

// The chunk's sums (vec4s t0 … t0 + CHUNK_VEC4S − 1 of the head's features) to dqkv's head row at `at`.
fn storeChunk(at: u32, t0: u32, sum: array<vec4f, CHUNK_VEC4S>) {
  for (var t = 0u; t < CHUNK_VEC4S; t++) {
#if VEC4
    if (t0 + t < HEAD_VEC4S) { dqkv[at / 4u + t0 + t] = sum[t]; }
#else
    for (var c = 0u; c < 4u; c++) {
      if (4u * (t0 + t) + c < HEAD_DIM) { dqkv[at + 4u * (t0 + t) + c] = sum[t][c]; }
    }
#endif
  }
}

@compute @workgroup_size(WG_X)
fn attention_backward_qk(@builtin(global_invocation_id) gid3: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let gid = linearInvocation(gid3, nwg);
  let row = planeRowOf(gid.x, featureChunks());
  // The whole subgroup returns together (one plane).
  if (row.b >= params.batch) { return; }
  let L = params.seqLen;
  let valid = row.r < L;
  // Token r: a query for dq, a key for dk.
  let r = min(row.r, L - 1u);
  let t0 = row.chunk * CHUNK_VEC4S;
  let base = row.h * HEAD_DIM;
  let plane = probsPlaneAt(row.b, row.h);
  let end = keyEnd(r);
  let start = queryStart(r);
  var dq: array<vec4f, CHUNK_VEC4S>;
  var dk: array<vec4f, CHUNK_VEC4S>;
#if SUBGROUP
  let lane = row.r - row.first;
  let groupEnd = keyEnd(min(row.first + 7u, L - 1u));
  for (var j0 = 0u; j0 < groupEnd; j0 += 8u) {
    let kAt = qkvAt(row.b, min(j0 + lane, L - 1u), KEY) + base;
    var p: array<f32, 8>;
    for (var jj = 0u; jj < 8u; jj++) {
      if (j0 + jj < end) { p[jj] = probs[plane + r * L + j0 + jj]; }
    }
    for (var t = 0u; t < CHUNK_VEC4S; t++) {
      if (t0 + t < HEAD_VEC4S) {
        let k = loadQkv4(kAt, t0 + t);
        var s = dq[t];
        let k0 = subgroupBroadcast(k, 0u);
        if (j0 < end) { s += p[0] * k0; }
        let k1 = subgroupBroadcast(k, 1u);
        if (j0 + 1u < end) { s += p[1] * k1; }
        let k2 = subgroupBroadcast(k, 2u);
        if (j0 + 2u < end) { s += p[2] * k2; }
        let k3 = subgroupBroadcast(k, 3u);
        if (j0 + 3u < end) { s += p[3] * k3; }
        let k4 = subgroupBroadcast(k, 4u);
        if (j0 + 4u < end) { s += p[4] * k4; }
        let k5 = subgroupBroadcast(k, 5u);
        if (j0 + 5u < end) { s += p[5] * k5; }
        let k6 = subgroupBroadcast(k, 6u);
        if (j0 + 6u < end) { s += p[6] * k6; }
        let k7 = subgroupBroadcast(k, 7u);
        if (j0 + 7u < end) { s += p[7] * k7; }
        dq[t] = s;
      }
    }
  }
  for (var i0 = queryStart(row.first); i0 < L; i0 += 8u) {
    let qAt = qkvAt(row.b, min(i0 + lane, L - 1u), QUERY) + base;
    var p: array<f32, 8>;
    for (var ii = 0u; ii < 8u; ii++) {
      let i = i0 + ii;
      if (i >= start && i < L) { p[ii] = probs[plane + i * L + r]; }
    }
    for (var t = 0u; t < CHUNK_VEC4S; t++) {
      if (t0 + t < HEAD_VEC4S) {
        let q = loadQkv4(qAt, t0 + t);
        var s = dk[t];
        let q0 = subgroupBroadcast(q, 0u);
        if (i0 >= start) { s += p[0] * q0; }
        let q1 = subgroupBroadcast(q, 1u);
        if (i0 + 1u >= start && i0 + 1u < L) { s += p[1] * q1; }
        let q2 = subgroupBroadcast(q, 2u);
        if (i0 + 2u >= start && i0 + 2u < L) { s += p[2] * q2; }
        let q3 = subgroupBroadcast(q, 3u);
        if (i0 + 3u >= start && i0 + 3u < L) { s += p[3] * q3; }
        let q4 = subgroupBroadcast(q, 4u);
        if (i0 + 4u >= start && i0 + 4u < L) { s += p[4] * q4; }
        let q5 = subgroupBroadcast(q, 5u);
        if (i0 + 5u >= start && i0 + 5u < L) { s += p[5] * q5; }
        let q6 = subgroupBroadcast(q, 6u);
        if (i0 + 6u >= start && i0 + 6u < L) { s += p[6] * q6; }
        let q7 = subgroupBroadcast(q, 7u);
        if (i0 + 7u >= start && i0 + 7u < L) { s += p[7] * q7; }
        dk[t] = s;
      }
    }
  }
#else
  if (!valid) { return; }
  for (var j = 0u; j < end; j++) {
    let p = probs[plane + r * L + j];
    let kAt = qkvAt(row.b, j, KEY) + base;
    for (var t = 0u; t < CHUNK_VEC4S; t++) {
      if (t0 + t < HEAD_VEC4S) { dq[t] += p * loadQkv4(kAt, t0 + t); }
    }
  }
  for (var i = start; i < L; i++) {
    let p = probs[plane + i * L + r];
    let qAt = qkvAt(row.b, i, QUERY) + base;
    for (var t = 0u; t < CHUNK_VEC4S; t++) {
      if (t0 + t < HEAD_VEC4S) { dk[t] += p * loadQkv4(qAt, t0 + t); }
    }
  }
#endif
  if (!valid) { return; }
  storeChunk(qkvAt(row.b, r, QUERY) + base, t0, dq);
  storeChunk(qkvAt(row.b, r, KEY) + base, t0, dk);
}
