// embedding_backward_weight: F.embedding's weight gradient (src/layers/embedding.ts); overwrites
// dweight, in two dispatches of this one source (`stage`).
//   dweight[r, :] = Σ_p dy[p, :] over the positions p whose id is r, summed in ascending p (the
//   same order, and so the same bits, as a scan of the ids): a scatter-add written as a gather,
//   so no atomics and the same bits every run. The padding row (`padding`; NO_PADDING: none) gets
//   0, as PyTorch's. An id that is not a whole number in [0, numEmbeddings) is no row's and adds to
//   none.
//   The positions of each row come from `keys` (shaders/embedding_sort.wgsl): the (row, position)
//   pairs of the `positions` ids sorted ascending, those of ids that are no row (row 2³² − 1) last.
//     stage 0: dweight = 0, one invocation per element (rows no id names, the padding row);
//     stage 1: one invocation per key and column d: the first key of a row's run (a row's keys are
//       adjacent) sums the run's dy[p, d] and writes dweight[r, d]; the others return. Each row is
//       written by one invocation per column, so no two invocations write one element.
//   Work: numEmbeddings · dim writes, then positions · dim invocations, dy read once in all.
//   Variant SCALE_BY_FREQ (PyTorch's scale_grad_by_freq): the sum divided by the row's count, the
//   number of positions whose id is r (the length of its run).

struct Params {
  count: u32,
  positions: u32,
  dim: u32,
  numEmbeddings: u32,
  padding: u32,
  stage: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> keys: array<u32>;
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read_write> dweight: array<f32>;

override WG_X: u32;

const NO_ROW = 0xffffffffu;

@compute @workgroup_size(WG_X)
fn embedding_backward_weight(@builtin(global_invocation_id) gid3: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let gid = linearInvocation(gid3, nwg);
  let o = gid.x;
  let dim = params.dim;
  if (params.stage == 0u) {
    if (o < params.numEmbeddings * dim) { dweight[o] = 0.0; }
    return;
  }
  if (o >= params.positions * dim) { return; }
  let first = o / dim;
  let d = o % dim;
  let r = keys[2u * first];
  if (r == NO_ROW || r == params.padding || (first > 0u && keys[2u * (first - 1u)] == r)) { return; }
  var sum = 0.0;
  var i = first;
  while (i < params.positions && keys[2u * i] == r) {
    sum += dy[keys[2u * i + 1u] * dim + d];
    i++;
  }
#if SCALE_BY_FREQ
  sum = sum / f32(i - first);
#endif
  dweight[r * dim + d] = sum;
}
