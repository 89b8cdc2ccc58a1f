// attention_scores: the attention weights of PyTorch's nn.MultiheadAttention (self-attention,
// batch_first), P = softmax(q_h k_hᵀ · scale) over the keys, scale = 1/√d, d = embed / heads
// (HEAD_DIM, a constant of the compiled kernel: src/kernels/attention.ts).
// Layout: qkv [batch, seqLen, 3·embed] (q, k, v: the input projection's output, dense_forward);
// probs [batch, heads, seqLen, seqLen]. One invocation per (b, h, i), a query row (rows padded to
// whole subgroups: shaders/lib/attention_index.wgsl's planeRowOf), q_i held in registers: its
// scores s_j = (Σ_c q[b, i, h·d + c] · k[b, j, h·d + c], c increasing) · scale for j < end (end =
// i + 1 when causal: −∞ above the diagonal, P = 0 there; else seqLen), their maximum m (from
// j = 0, which every row has), then e_j = exp(s_j − m), the sum Σ_j e_j in increasing j, and
// P_j = e_j / sum. Where the keys fit SCORE_SLOTS (SUBGROUP: the keys any of the subgroup's rows
// sees), the scores stay in registers (loops of constant length, unrolled, so that every index is
// a constant: an array indexed at run time lives in memory on lavapipe and costs as much as probs)
// and probs is written once; past it the row's scores go to probs, are read back for the sum, and
// read once more for P_j = exp(s_j − m) / sum (exp again: the same value, cheaper than a store).
// Overwrites probs[b, h, i, ·] (0 at the masked keys).
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

// The keys a row holds the scores of in registers (4 blocks of 8; 64 spills on lavapipe).
const SCORE_SLOTS = 32u;

#if SUBGROUP
// q · k_j (unscaled) for the 8 keys j0 … j0 + 7: this invocation loads key kAt's features (its
// lane's key), subgroupBroadcast shares them.
fn keyBlockDots(q: array<vec4f, HEAD_VEC4S>, kAt: u32) -> array<f32, 8> {
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
  return dots;
}
#else
// q · k (unscaled) for the key at kAt.
fn keyDot(q: array<vec4f, HEAD_VEC4S>, kAt: u32) -> f32 {
  var dot = 0.0;
  for (var t = 0u; t < HEAD_VEC4S; t++) { dot = dotStep(dot, q[t], loadQkv4(kAt, t), t); }
  return dot;
}
#endif

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
  // The row's scores, then its e_j, while inRegisters.
  var held: array<f32, SCORE_SLOTS>;
  var m = 0.0;
#if SUBGROUP
  // The keys any row of the subgroup sees (the same for its 8 invocations).
  let groupEnd = keyEnd(min(row.first + 7u, L - 1u));
  let lane = row.r - row.first;
  let inRegisters = groupEnd <= SCORE_SLOTS;
  if (inRegisters) {
    for (var block = 0u; block < SCORE_SLOTS / 8u; block++) {
      let j0 = 8u * block;
      if (j0 < groupEnd) {
        let dots = keyBlockDots(q, qkvAt(row.b, min(j0 + lane, L - 1u), KEY) + base);
        for (var jj = 0u; jj < 8u; jj++) {
          let j = j0 + jj;
          if (valid && j < end) {
            let s = dots[jj] * params.scale;
            held[j] = s;
            if (j == 0u || s > m) { m = s; }
          }
        }
      }
    }
  } else {
    for (var j0 = 0u; j0 < groupEnd; j0 += 8u) {
      let dots = keyBlockDots(q, qkvAt(row.b, min(j0 + lane, L - 1u), KEY) + base);
      for (var jj = 0u; jj < 8u; jj++) {
        let j = j0 + jj;
        if (valid && j < end) {
          let s = dots[jj] * params.scale;
          probs[rowAt + j] = s;
          if (j == 0u || s > m) { m = s; }
        }
      }
    }
  }
  if (!valid) { return; }
#else
  if (!valid) { return; }
  let inRegisters = end <= SCORE_SLOTS;
  if (inRegisters) {
    for (var j = 0u; j < SCORE_SLOTS; j++) {
      if (j < end) {
        let s = keyDot(q, qkvAt(row.b, j, KEY) + base) * params.scale;
        held[j] = s;
        if (j == 0u || s > m) { m = s; }
      }
    }
  } else {
    for (var j = 0u; j < end; j++) {
      let s = keyDot(q, qkvAt(row.b, j, KEY) + base) * params.scale;
      probs[rowAt + j] = s;
      if (j == 0u || s > m) { m = s; }
    }
  }
#endif
  var total = 0.0;
  if (inRegisters) {
    for (var j = 0u; j < SCORE_SLOTS; j++) {
      if (j < end) {
        held[j] = exp(held[j] - m);
        total += held[j];
      }
    }
    for (var j = 0u; j < SCORE_SLOTS; j++) {
      if (j < end) { probs[rowAt + j] = held[j] / total; }
    }
  } else {
    for (var j = 0u; j < end; j++) { total += exp(probs[rowAt + j] - m); }
    for (var j = 0u; j < end; j++) { probs[rowAt + j] = exp(probs[rowAt + j] - m) / total; }
  }
  for (var j = end; j < L; j++) {
    probs[rowAt + j] = 0.0;
  }
}
