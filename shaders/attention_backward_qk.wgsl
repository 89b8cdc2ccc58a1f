// attention_backward_qk: the query's and key's gradients of PyTorch's nn.MultiheadAttention,
// dQ = dS K / √d and dK = dSᵀ Q / √d, from attention_backward_scores.wgsl's dS · scale (in probs).
// Layout: probs [batch, heads, seqLen, seqLen]; qkv, dqkv [batch, seqLen, 3·embed] (q at e, k at
// embed + e). One invocation per (b, r, e), h = e / d:
//   dq[b, r, e] = Σ_j probs[b, h, r, j] · k[b, j, e]   (j increasing, j ≤ r when causal)
//   dk[b, r, e] = Σ_i probs[b, h, i, r] · q[b, i, e]   (i increasing, i ≥ r when causal)
// Overwrites dqkv's q and k parts. Params and the index splits: shaders/lib/attention_index.wgsl.

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> probs: array<f32>;
@group(0) @binding(2) var<storage, read> qkv: array<f32>;
@group(0) @binding(3) var<storage, read_write> dqkv: array<f32>;

override WG_X: u32;

@compute @workgroup_size(WG_X)
fn attention_backward_qk(@builtin(global_invocation_id) gid3: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let gid = linearInvocation(gid3, nwg);
  let L = params.seqLen;
  if (gid.x >= params.batch * L * params.embed) { return; }
  // Token r = el.t, a query for dq and a key for dk.
  let el = elementOf(gid.x);
  let r = el.t;
  let plane = probsPlaneAt(el.b, el.h);
  let end = keyEnd(r);
  var dq = 0.0;
  for (var j = 0u; j < end; j++) {
    dq += probs[plane + r * L + j] * qkv[qkvAt(el.b, j, KEY) + el.e];
  }
  var dk = 0.0;
  for (var i = queryStart(r); i < L; i++) {
    dk += probs[plane + i * L + r] * qkv[qkvAt(el.b, i, QUERY) + el.e];
  }
  dqkv[qkvAt(el.b, r, QUERY) + el.e] = dq;
  dqkv[qkvAt(el.b, r, KEY) + el.e] = dk;
}
