// attention_values: the heads' outputs O_h = P v_h of PyTorch's nn.MultiheadAttention
// (attention_scores.wgsl's P), concatenated: attn[b, i, e] = Σ_j probs[b, h, i, j] · v[b, j, e],
// h = e / d, j increasing over the keys row i sees (j ≤ i when causal). Layout: probs [batch, heads,
// seqLen, seqLen]; qkv [batch, seqLen, 3·embed] (v at 2·embed + e); attn [batch, seqLen, embed].
// One invocation per (b, i, e). Overwrites attn. Params and the index splits:
// shaders/lib/attention_index.wgsl.

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> probs: array<f32>;
@group(0) @binding(2) var<storage, read> qkv: array<f32>;
@group(0) @binding(3) var<storage, read_write> attn: array<f32>;

override WG_X: u32;

@compute @workgroup_size(WG_X)
fn attention_values(@builtin(global_invocation_id) gid3: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let gid = linearInvocation(gid3, nwg);
  if (gid.x >= params.batch * params.seqLen * params.embed) { return; }
  let el = elementOf(gid.x);
  let row = probsPlaneAt(el.b, el.h) + el.t * params.seqLen;
  let end = keyEnd(el.t);
  var sum = 0.0;
  for (var j = 0u; j < end; j++) {
    sum += probs[row + j] * qkv[qkvAt(el.b, j, VALUE) + el.e];
  }
  attn[gid.x] = sum;
}
