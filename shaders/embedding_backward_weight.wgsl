// embedding_backward_weight: F.embedding's weight gradient (src/layers/embedding.ts); overwrites
// dweight.
//   dweight[r, :] = Σ_p dy[p, :] over the positions p (0 … positions − 1, batch · L of them) whose
//   id is r, summed in ascending p: a scatter-add written as a gather, so no atomics and the same
//   bits every run. The padding row (`padding`; NO_PADDING: none) gets 0, as PyTorch's. An id that
//   is not a whole number in [0, numEmbeddings) equals no row's f32(r) and adds to none.
//   One invocation per row of dweight: it scans every id once (numEmbeddings × positions
//   compares: 82M at a vocabulary of 10,000 and 128 × 64 positions) and adds dy's row where the id
//   is its own; dy is read once in all (each position belongs to one row).

struct Params {
  positions: u32,
  dim: u32,
  numEmbeddings: u32,
  padding: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> ids: array<f32>;
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read_write> dweight: array<f32>;

override WG_X: u32;

@compute @workgroup_size(WG_X)
fn embedding_backward_weight(@builtin(global_invocation_id) gid3: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let gid = linearInvocation(gid3, nwg);
  let r = gid.x;
  if (r >= params.numEmbeddings) { return; }
  let dim = params.dim;
  let out = r * dim;
  for (var d = 0u; d < dim; d++) {
    dweight[out + d] = 0.0;
  }
  if (r == params.padding) { return; }
  let own = f32(r);
  for (var p = 0u; p < params.positions; p++) {
    if (ids[p] == own) {
      for (var d = 0u; d < dim; d++) {
        dweight[out + d] += dy[p * dim + d];
      }
    }
  }
}
