// attention_backward_values: dV = Pᵀ dO of PyTorch's nn.MultiheadAttention (attention_values.wgsl's
// backward): dv[b, j, e] = Σ_i probs[b, h, i, j] · dattn[b, i, e], h = e / d, i increasing over the
// queries that see key j (i ≥ j when causal). Layout: probs [batch, heads, seqLen, seqLen] (P: run
// before attention_backward_scores overwrites it with dS); dattn [batch, seqLen, embed];
// dqkv [batch, seqLen, 3·embed] (dv at 2·embed + e). One invocation per (b, j, e). Overwrites dqkv's v part.
// Params and the index splits: shaders/lib/attention_index.wgsl.

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
  // Key j = el.t.
  let el = elementOf(gid.x);
  let base = probsPlaneAt(el.b, el.h) + el.t;
  var sum = 0.0;
  for (var i = queryStart(el.t); i < L; i++) {
    sum += probs[base + i * L] * dattn[(el.b * L + i) * E + el.e];
  }
  dqkv[qkvAt(el.b, el.t, VALUE) + el.e] = sum;
}
