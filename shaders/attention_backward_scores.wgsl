// attention_backward_scores: the scores' gradient of PyTorch's nn.MultiheadAttention, scaled,
// dS · scale = P ⊙ (dP − rowsum(dP ⊙ P)) · scale with dP = dO Vᵀ, in place over P. The row sum is
// taken as D_i = Σ_c dO[i, c] · O[i, c] (c increasing over the head's d features), which equals
// Σ_j dP_ij P_ij since O_i = Σ_j P_ij V_j (attention_values.wgsl's output, kept). Layout: qkv
// [batch, seqLen, 3·embed] (v at 2·embed); attn, dattn [batch, seqLen, embed] (O and dO); probs
// [batch, heads, seqLen, seqLen]. One invocation per (b, h, i) (rows padded to whole subgroups:
// shaders/lib/attention_index.wgsl's planeRowOf; d = HEAD_DIM, a constant of the compiled kernel),
// dO_i held in registers: for j < end (i + 1 when causal),
// dP_ij = Σ_c dO[b, i, h·d + c] · v[b, j, h·d + c] in increasing c, then
// probs[b, h, i, j] = P_ij · (dP_ij − D_i) · scale. Masked keys keep their 0. Overwrites probs
// (run after attention_backward_values, which reads P).
// Variant DROPOUT (training with the attention weights dropped out: O = (P ⊙ M) v, M the dropout's
// 0 or 1/(1 − p)): `dropped` holds P ⊙ M, the gradient reaching P is dP ⊙ M, and D_i = dO_i · O_i is
// still Σ_j (dP ⊙ M)_ij P_ij, so probs[b, h, i, j] = (dropped_ij · dP_ij − P_ij · D_i) · scale.
// Variant VEC4 (d a multiple of 4): qkv, attn and dattn read as vec4s. Variant SUBGROUP (subgroups
// of 8): the subgroup's 8 rows take the keys 8 at a time, each invocation loads one key's v and
// subgroupBroadcast shares it; the same sums in the same order, the same bits.
// Params and the index splits: shaders/lib/attention_index.wgsl.

#if SUBGROUP
enable subgroups;
diagnostic(off, subgroup_uniformity);
#endif

@group(0) @binding(0) var<uniform> params: Params;
#if VEC4
@group(0) @binding(1) var<storage, read> qkv: array<vec4f>;
@group(0) @binding(2) var<storage, read> attn: array<vec4f>;
@group(0) @binding(3) var<storage, read> dattn: array<vec4f>;
#else
@group(0) @binding(1) var<storage, read> qkv: array<f32>;
@group(0) @binding(2) var<storage, read> attn: array<f32>;
@group(0) @binding(3) var<storage, read> dattn: array<f32>;
#endif
#if DROPOUT
@group(0) @binding(4) var<storage, read> dropped: array<f32>;
#endif
@group(0) @binding(5) var<storage, read_write> probs: array<f32>;

override WG_X: u32;

// Features 4t … 4t + 3 of the head's row at `at` in qkv, attn or dattn (0 past HEAD_DIM).
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

fn loadAttn4(at: u32, t: u32) -> vec4f {
#if VEC4
  return attn[at / 4u + t];
#else
  var v = vec4f();
  for (var c = 0u; c < 4u; c++) {
    if (4u * t + c < HEAD_DIM) { v[c] = attn[at + 4u * t + c]; }
  }
  return v;
#endif
}

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

// probs[at] from P (or P ⊙ M) there, dP and D.
fn storeScoreGradient(at: u32, dP: f32, D: f32) {
#if DROPOUT
  probs[at] = (dropped[at] * dP - probs[at] * D) * params.scale;
#else
  probs[at] = probs[at] * (dP - D) * params.scale;
#endif
}

@compute @workgroup_size(WG_X)
fn attention_backward_scores(@builtin(global_invocation_id) gid3: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let gid = linearInvocation(gid3, nwg);
  let row = planeRowOf(gid.x, 1u);
  // The whole subgroup returns together (one plane).
  if (row.b >= params.batch) { return; }
  let L = params.seqLen;
  let valid = row.r < L;
  let i = min(row.r, L - 1u);
  let base = row.h * HEAD_DIM;
  let rowAt = probsPlaneAt(row.b, row.h) + i * L;
  let end = keyEnd(i);
  let oAt = (row.b * L + i) * params.embed + base;
  var dO: array<vec4f, HEAD_VEC4S>;
  var D = 0.0;
  for (var t = 0u; t < HEAD_VEC4S; t++) {
    dO[t] = loadDattn4(oAt, t);
    D = dotStep(D, dO[t], loadAttn4(oAt, t), t);
  }
#if SUBGROUP
  let groupEnd = keyEnd(min(row.first + 7u, L - 1u));
  let lane = row.r - row.first;
  for (var j0 = 0u; j0 < groupEnd; j0 += 8u) {
    let vAt = qkvAt(row.b, min(j0 + lane, L - 1u), VALUE) + base;
    var dots = array<f32, 8>();
    for (var t = 0u; t < HEAD_VEC4S; t++) {
      let v = loadQkv4(vAt, t);
      dots[0] = dotStep(dots[0], dO[t], subgroupBroadcast(v, 0u), t);
      dots[1] = dotStep(dots[1], dO[t], subgroupBroadcast(v, 1u), t);
      dots[2] = dotStep(dots[2], dO[t], subgroupBroadcast(v, 2u), t);
      dots[3] = dotStep(dots[3], dO[t], subgroupBroadcast(v, 3u), t);
      dots[4] = dotStep(dots[4], dO[t], subgroupBroadcast(v, 4u), t);
      dots[5] = dotStep(dots[5], dO[t], subgroupBroadcast(v, 5u), t);
      dots[6] = dotStep(dots[6], dO[t], subgroupBroadcast(v, 6u), t);
      dots[7] = dotStep(dots[7], dO[t], subgroupBroadcast(v, 7u), t);
    }
    for (var jj = 0u; jj < 8u; jj++) {
      if (valid && j0 + jj < end) { storeScoreGradient(rowAt + j0 + jj, dots[jj], D); }
    }
  }
#else
  if (!valid) { return; }
  for (var j = 0u; j < end; j++) {
    let vAt = qkvAt(row.b, j, VALUE) + base;
    var dP = 0.0;
    for (var t = 0u; t < HEAD_VEC4S; t++) { dP = dotStep(dP, dO[t], loadQkv4(vAt, t), t); }
    storeScoreGradient(rowAt + j, dP, D);
  }
#endif
}
