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
// order, the same bits; a block of 8 that every invocation's sum takes whole (every key below
// each row's end, every query from each key's start) adds its terms without a guard (addBlock).
// Overwrites dqkv's q and k parts. Params and the index splits:
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

#if SUBGROUP
// sum + Σ p[n] · (invocation n's v) over n = 0 … 7 in increasing n, the terms lo ≤ n < hi only;
// `whole` (the same for the subgroup's 8 invocations): every term, without a guard (lavapipe
// masks each guarded term: 15 % of the kernel's time at B 128 L 28).
fn addBlock(sum: vec4f, p: array<f32, 8>, v: vec4f, lo: u32, hi: u32, whole: bool) -> vec4f {
  var s = sum;
  if (whole) {
    s += p[0] * subgroupBroadcast(v, 0u);
    s += p[1] * subgroupBroadcast(v, 1u);
    s += p[2] * subgroupBroadcast(v, 2u);
    s += p[3] * subgroupBroadcast(v, 3u);
    s += p[4] * subgroupBroadcast(v, 4u);
    s += p[5] * subgroupBroadcast(v, 5u);
    s += p[6] * subgroupBroadcast(v, 6u);
    s += p[7] * subgroupBroadcast(v, 7u);
    return s;
  }
  let v0 = subgroupBroadcast(v, 0u);
  if (lo <= 0u && 0u < hi) { s += p[0] * v0; }
  let v1 = subgroupBroadcast(v, 1u);
  if (lo <= 1u && 1u < hi) { s += p[1] * v1; }
  let v2 = subgroupBroadcast(v, 2u);
  if (lo <= 2u && 2u < hi) { s += p[2] * v2; }
  let v3 = subgroupBroadcast(v, 3u);
  if (lo <= 3u && 3u < hi) { s += p[3] * v3; }
  let v4 = subgroupBroadcast(v, 4u);
  if (lo <= 4u && 4u < hi) { s += p[4] * v4; }
  let v5 = subgroupBroadcast(v, 5u);
  if (lo <= 5u && 5u < hi) { s += p[5] * v5; }
  let v6 = subgroupBroadcast(v, 6u);
  if (lo <= 6u && 6u < hi) { s += p[6] * v6; }
  let v7 = subgroupBroadcast(v, 7u);
  if (lo <= 7u && 7u < hi) { s += p[7] * v7; }
  return s;
}
#endif

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
    var p = array<f32, 8>();
    for (var jj = 0u; jj < 8u; jj++) {
      if (j0 + jj < end) { p[jj] = probs[plane + r * L + j0 + jj]; }
    }
    // Keys j0 … j0 + 7: those below this row's end; every row of the subgroup sees all 8 (whole)
    // where the first row does.
    let whole = j0 + 8u <= keyEnd(row.first);
    let hi = select(0u, end - j0, end > j0);
    for (var t = 0u; t < CHUNK_VEC4S; t++) {
      if (t0 + t < HEAD_VEC4S) { dq[t] = addBlock(dq[t], p, loadQkv4(kAt, t0 + t), 0u, hi, whole); }
    }
  }
  for (var i0 = queryStart(row.first); i0 < L; i0 += 8u) {
    let qAt = qkvAt(row.b, min(i0 + lane, L - 1u), QUERY) + base;
    var p = array<f32, 8>();
    for (var ii = 0u; ii < 8u; ii++) {
      let i = i0 + ii;
      if (i >= start && i < L) { p[ii] = probs[plane + i * L + r]; }
    }
    // Queries i0 … i0 + 7: those from this key's start and below L; every key of the subgroup is
    // seen by all 8 (whole) where the last key is.
    let whole = i0 >= queryStart(row.first + 7u) && i0 + 8u <= L;
    let lo = select(0u, start - i0, start > i0);
    for (var t = 0u; t < CHUNK_VEC4S; t++) {
      if (t0 + t < HEAD_VEC4S) { dk[t] = addBlock(dk[t], p, loadQkv4(qAt, t0 + t), lo, L - i0, whole); }
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
