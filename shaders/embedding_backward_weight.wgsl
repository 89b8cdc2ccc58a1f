// embedding_backward_weight: F.embedding's weight gradient (src/layers/embedding.ts); overwrites
// dweight.
//   dweight[r, :] = Σ_p dy[p, :] over the positions p whose id is r, summed in ascending p (the
//   same order, and so the same bits, as a scan of the ids): a scatter-add written as a gather,
//   so no atomics and the same bits every run. The padding row (`padding`; NO_PADDING: none) gets
//   0, as PyTorch's. An id that is not a whole number in [0, numEmbeddings) is no row's and adds to
//   none.
//   The positions of each row come from `keys` (shaders/embedding_sort.wgsl): `count` (row,
//   position) pairs sorted ascending, those of ids that are no row (row 2³² − 1) last.
//   One invocation per element of dweight: a binary search for the row's first key (log₂ count
//   reads, the same address across the row's invocations), then its run of keys; a row that no id
//   names finds none and writes 0. Work: numEmbeddings · dim · log₂ count plus dy read once in all.
//   Variant SCALE_BY_FREQ (PyTorch's scale_grad_by_freq): the sum divided by the row's count, the
//   number of positions whose id is r.

struct Params {
  count: u32,
  positions: u32,
  dim: u32,
  numEmbeddings: u32,
  padding: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> keys: array<u32>;
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read_write> dweight: array<f32>;

override WG_X: u32;

@compute @workgroup_size(WG_X)
fn embedding_backward_weight(@builtin(global_invocation_id) gid3: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let gid = linearInvocation(gid3, nwg);
  let o = gid.x;
  let dim = params.dim;
  if (o >= params.numEmbeddings * dim) { return; }
  let r = o / dim;
  let d = o % dim;
  var sum = 0.0;
  if (r != params.padding) {
    // The first key whose row is not below r.
    var lo = 0u;
    var hi = params.count;
    while (lo < hi) {
      let mid = (lo + hi) / 2u;
      if (keys[2u * mid] < r) {
        lo = mid + 1u;
      } else {
        hi = mid;
      }
    }
    var i = lo;
    while (i < params.count && keys[2u * i] == r) {
      sum += dy[keys[2u * i + 1u] * dim + d];
      i++;
    }
#if SCALE_BY_FREQ
    if (i > lo) { sum = sum / f32(i - lo); }
#endif
  }
  dweight[o] = sum;
}
