// attention_scores: the attention weights of PyTorch's nn.MultiheadAttention (self-attention,
// batch_first), P = softmax(q_h k_hᵀ · scale) over the keys, scale = 1/√d, d = embed / heads.
// Layout: qkv [batch, seqLen, 3·embed] (q, k, v: the input projection's output, dense_forward);
// probs [batch, heads, seqLen, seqLen]. One invocation per (b, h, i), a query row: its scores
// s_j = (Σ_c q[b, i, h·d + c] · k[b, j, h·d + c], c increasing) · scale for j < end (end = i + 1
// when causal: −∞ above the diagonal, P = 0 there; else seqLen), written to the row, their
// maximum m (from j = 0, which every row has), then e_j = exp(s_j − m), the sum Σ_j e_j in
// increasing j, and P_j = e_j / sum. Overwrites probs[b, h, i, ·] (0 at the masked keys).
// Params and the index splits: shaders/lib/attention_index.wgsl.

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> qkv: array<f32>;
@group(0) @binding(2) var<storage, read_write> probs: array<f32>;

override WG_X: u32;

@compute @workgroup_size(WG_X)
fn attention_scores(@builtin(global_invocation_id) gid3: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let gid = linearInvocation(gid3, nwg);
  let L = params.seqLen;
  if (gid.x >= params.batch * params.heads * L) { return; }
  let query = queryRowOf(gid.x);
  let d = params.embed / params.heads;
  let row = gid.x * L;
  let end = keyEnd(query.i);
  let qAt = qkvAt(query.b, query.i, QUERY) + query.h * d;
  var m = 0.0;
  for (var j = 0u; j < end; j++) {
    let kAt = qkvAt(query.b, j, KEY) + query.h * d;
    var dot = 0.0;
    for (var c = 0u; c < d; c++) {
      dot += qkv[qAt + c] * qkv[kAt + c];
    }
    let s = dot * params.scale;
    probs[row + j] = s;
    if (j == 0u || s > m) { m = s; }
  }
  var total = 0.0;
  for (var j = 0u; j < end; j++) {
    let e = exp(probs[row + j] - m);
    probs[row + j] = e;
    total += e;
  }
  for (var j = 0u; j < end; j++) {
    probs[row + j] = probs[row + j] / total;
  }
  for (var j = end; j < L; j++) {
    probs[row + j] = 0.0;
  }
}
