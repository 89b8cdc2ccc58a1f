// attention_backward_values: dV = Pᵀ dO of PyTorch's nn.MultiheadAttention (attention_values.wgsl's
// backward): dv[b, j, e] = Σ_i probs[b, h, i, j] · dattn[b, i, e], h = e / d, i increasing over the
// queries that see key j (i ≥ j when causal). Layout: probs [batch, heads, seqLen, seqLen] (P: run
// before attention_backward_scores overwrites it with dS); dattn [batch, seqLen, embed];
// dqkv [batch, seqLen, 3·embed] (dv at 2·embed + e). One invocation per (b, j, e). Overwrites dqkv's v part.

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
@group(0) @binding(2) var<storage, read> dattn: array<f32>;
@group(0) @binding(3) var<storage, read_write> dqkv: array<f32>;

override WG_X: u32;

@compute @workgroup_size(WG_X)
fn attention_backward_values(@builtin(global_invocation_id) gid3: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let gid = linearInvocation(gid3, nwg);
  let L = params.seqLen;
  let E = params.embed;
  if (gid.x >= params.batch * L * E) { return; }
  let e = gid.x % E;
  let j = (gid.x / E) % L;
  let b = gid.x / (E * L);
  let h = e / (E / params.heads);
  let base = (b * params.heads + h) * L * L + j;
  let start = select(0u, j, params.causal != 0u);
  var sum = 0.0;
  for (var i = start; i < L; i++) {
    sum += probs[base + i * L] * dattn[(b * L + i) * E + e];
  }
  dqkv[(b * L + j) * 3u * E + 2u * E + e] = sum;
}
