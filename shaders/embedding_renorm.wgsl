// embedding_renorm: PyTorch's embedding_renorm_ (F.embedding's max_norm; src/layers/embedding.ts),
// run before the lookup in every mode; updates weight in place.
//   Each row r that some id names, once: where its norm ‖weight[r, :]‖ exceeds maxNorm, the row is
//   scaled by maxNorm / (norm + 1e-7) (PyTorch's formula; the padding row too, as PyTorch's). The
//   norm is the 2-norm √Σ w², or (variants) Σ |w| (L1), max |w| (INF), (Σ |w|^p)^(1/p) with
//   p = normType (POWER; taken as m · (Σ (|w| / m)^p)^(1/p), m = max |w|, so that |w|^p of a
//   large p stays within float32's range, as PyTorch's double accumulator does). Rows no id names
//   are left as they are.
//   The rows come from `keys` (shaders/embedding_sort.wgsl): `count` (row, position) pairs sorted
//   ascending, ids that are no row (row 2³² − 1) last. One invocation per key: the first key of
//   each row's run renorms the row (serially over its dim elements), so each row is read and
//   written by one invocation: the same bits every run.

struct Params {
  count: u32,
  dim: u32,
  numEmbeddings: u32,
  maxNorm: f32,
  normType: f32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> keys: array<u32>;
@group(0) @binding(2) var<storage, read_write> weight: array<f32>;

override WG_X: u32;

const NO_ROW = 0xffffffffu;

// An element's share of the norm (top: the row's max |w|, read by POWER alone).
fn term(w: f32, top: f32) -> f32 {
#if L1
  return abs(w);
#elif INF
  return abs(w);
#elif POWER
  // pow(0, p) as 0 (pow is exp2(p · log2 x), which need not hold at 0).
  return select(pow(abs(w) / top, params.normType), 0.0, w == 0.0);
#else
  return w * w;
#endif
}

fn combine(a: f32, b: f32) -> f32 {
#if INF
  return max(a, b);
#else
  return a + b;
#endif
}

// The norm from the combined terms.
fn rowNorm(combined: f32, top: f32) -> f32 {
#if L1
  return combined;
#elif INF
  return combined;
#elif POWER
  return select(top * pow(combined, 1.0 / params.normType), 0.0, combined == 0.0);
#else
  return sqrt(combined);
#endif
}

@compute @workgroup_size(WG_X)
fn embedding_renorm(@builtin(global_invocation_id) gid3: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let gid = linearInvocation(gid3, nwg);
  let i = gid.x;
  if (i >= params.count) { return; }
  let r = keys[2u * i];
  if (r == NO_ROW || (i > 0u && keys[2u * (i - 1u)] == r)) { return; }
  let dim = params.dim;
  let base = r * dim;
  var top = 0.0;
#if POWER
  for (var d = 0u; d < dim; d++) {
    top = max(top, abs(weight[base + d]));
  }
#endif
  var acc = 0.0;
  for (var d = 0u; d < dim; d++) {
    acc = combine(acc, term(weight[base + d], top));
  }
  let norm = rowNorm(acc, top);
  if (norm > params.maxNorm) {
    let scale = params.maxNorm / (norm + 1e-7);
    for (var d = 0u; d < dim; d++) {
      weight[base + d] = weight[base + d] * scale;
    }
  }
}
