// attention_values: the heads' outputs O_h = P v_h of PyTorch's nn.MultiheadAttention
// (attention_scores.wgsl's P), concatenated: attn[b, i, e] = Σ_j probs[b, h, i, j] · v[b, j, e],
// h = e / d, j increasing over the keys row i sees (j ≤ i when causal). Layout: probs [batch, heads,
// seqLen, seqLen]; qkv [batch, seqLen, 3·embed] (v at 2·embed + e); attn [batch, seqLen, embed].
// One invocation per (b, i, e). Overwrites attn.

struct Params {
  batch: u32,
  seqLen: u32,
  embed: u32,
  heads: u32,
  causal: u32,
  scale: f32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> probs: array<f32>;
@group(0) @binding(2) var<storage, read> qkv: array<f32>;
@group(0) @binding(3) var<storage, read_write> attn: array<f32>;

override WG_X: u32;

@compute @workgroup_size(WG_X)
fn attention_values(@builtin(global_invocation_id) gid3: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let gid = linearInvocation(gid3, nwg);
  let L = params.seqLen;
  let E = params.embed;
  if (gid.x >= params.batch * L * E) { return; }
  let e = gid.x % E;
  let i = (gid.x / E) % L;
  let b = gid.x / (E * L);
  let h = e / (E / params.heads);
  let row = ((b * params.heads + h) * L + i) * L;
  let end = select(L, i + 1u, params.causal != 0u);
  var sum = 0.0;
  for (var j = 0u; j < end; j++) {
    sum += probs[row + j] * qkv[(b * L + j) * 3u * E + 2u * E + e];
  }
  attn[gid.x] = sum;
}
