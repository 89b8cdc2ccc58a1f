// attention_backward_scores: the scores' gradient of PyTorch's nn.MultiheadAttention, scaled,
// dS · scale = P ⊙ (dP − rowsum(dP ⊙ P)) · scale with dP = dO Vᵀ, in place over P. The row sum is
// taken as D_i = Σ_c dO[i, c] · O[i, c] (c increasing over the head's d features), which equals
// Σ_j dP_ij P_ij since O_i = Σ_j P_ij V_j (attention_values.wgsl's output, kept). Layout: qkv
// [batch, seqLen, 3·embed] (v at 2·embed); attn, dattn [batch, seqLen, embed] (O and dO); probs
// [batch, heads, seqLen, seqLen]. One invocation per (b, h, i): for j < end (i + 1 when causal),
// dP_ij = Σ_c dO[b, i, h·d + c] · v[b, j, h·d + c] in increasing c, then
// probs[b, h, i, j] = P_ij · (dP_ij − D_i) · scale. Masked keys keep their 0. Overwrites probs
// (run after attention_backward_values, which reads P).
// Variant DROPOUT (training with the attention weights dropped out: O = (P ⊙ M) v, M the dropout's
// 0 or 1/(1 − p)): `dropped` holds P ⊙ M, the gradient reaching P is dP ⊙ M, and D_i = dO_i · O_i is
// still Σ_j (dP ⊙ M)_ij P_ij, so probs[b, h, i, j] = (dropped_ij · dP_ij − P_ij · D_i) · scale.
// Params and the index splits: shaders/lib/attention_index.wgsl.

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> qkv: array<f32>;
@group(0) @binding(2) var<storage, read> attn: array<f32>;
@group(0) @binding(3) var<storage, read> dattn: array<f32>;
#if DROPOUT
@group(0) @binding(4) var<storage, read> dropped: array<f32>;
#endif
@group(0) @binding(5) var<storage, read_write> probs: array<f32>;

override WG_X: u32;

@compute @workgroup_size(WG_X)
fn attention_backward_scores(@builtin(global_invocation_id) gid3: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let gid = linearInvocation(gid3, nwg);
  let L = params.seqLen;
  let E = params.embed;
  if (gid.x >= params.batch * params.heads * L) { return; }
  let query = queryRowOf(gid.x);
  let d = E / params.heads;
  let row = gid.x * L;
  let end = keyEnd(query.i);
  let oAt = (query.b * L + query.i) * E + query.h * d;
  var D = 0.0;
  for (var c = 0u; c < d; c++) {
    D += dattn[oAt + c] * attn[oAt + c];
  }
  for (var j = 0u; j < end; j++) {
    let vAt = qkvAt(query.b, j, VALUE) + query.h * d;
    var dP = 0.0;
    for (var c = 0u; c < d; c++) {
      dP += dattn[oAt + c] * qkv[vAt + c];
    }
#if DROPOUT
    probs[row + j] = (dropped[row + j] * dP - probs[row + j] * D) * params.scale;
#else
    probs[row + j] = probs[row + j] * (dP - D) * params.scale;
#endif
  }
}
