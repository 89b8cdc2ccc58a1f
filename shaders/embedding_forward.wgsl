// embedding_forward: PyTorch's F.embedding (src/layers/embedding.ts); overwrites y.
//   ids [batch · L] token ids held as f32 (whole numbers, exact below 2^24), weight
//   [numEmbeddings, dim], y [batch · L, dim]: y[p, d] = weight[ids[p], d].
//   An id that is not a whole number in [0, numEmbeddings) (negative, fractional, ±inf, NaN) reads
//   nothing: its row of y is NaN, so the loss turns non-finite and the divergence guard stops the
//   run (the Trainer refuses such ids in a split before it trains; src/train/gpu-dataset.ts).
//   One invocation per output element.

struct Params {
  count: u32,
  dim: u32,
  numEmbeddings: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> ids: array<f32>;
@group(0) @binding(2) var<storage, read> weight: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;

override WG_X: u32;

const QUIET_NAN = 0x7fc00000u;

@compute @workgroup_size(WG_X)
fn embedding_forward(@builtin(global_invocation_id) gid3: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let gid = linearInvocation(gid3, nwg);
  let o = gid.x;
  if (o >= params.count) { return; }
  let id = ids[o / params.dim];
  // Tested on the bits first: WGSL lets a compiler assume floats are finite, so a NaN compare may fold.
  let finite = (bitcast<u32>(id) & 0x7f800000u) != 0x7f800000u;
  let valid = finite && id >= 0.0 && id < f32(params.numEmbeddings) && floor(id) == id;
  // The row read is clamped into the table whatever the id, so no id reads outside it.
  let row = min(u32(clamp(id, 0.0, f32(params.numEmbeddings - 1u))), params.numEmbeddings - 1u);
  let value = weight[row * params.dim + o % params.dim];
  // Chosen on the bits: a NaN constant cannot be written as an f32 expression in WGSL.
  y[o] = bitcast<f32>(select(QUIET_NAN, bitcast<u32>(value), valid));
}
