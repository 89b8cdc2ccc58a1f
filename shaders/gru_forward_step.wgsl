// gru_forward_step: one time step t (params.step) of one direction of one layer of PyTorch's
// nn.GRU over a batch, batch_first, initial state zero. The forward direction (params.reverse 0)
// runs t = 0 … seqLen − 1, the reverse one t = seqLen − 1 … 0, its "previous" step t + 1 (written
// h_{t−1} below either way). Gates in PyTorch's order r, z, n
// (rows k·H … k·H + H − 1 of the weights, k = 0 … 2):
//   hh = W_hh · h_{t−1} + b_hh                  gx = x · W_ihᵀ + b_ih, for every t at once (dense_forward)
//   r = σ(gx_r + hh_r), z = σ(gx_z + hh_z), n = tanh(gx_n + r ⊙ hh_n)
//   h_t = (1 − z) ⊙ n + z ⊙ h_{t−1}
// Layout (this direction's own): gx [batch, seqLen, 3H]; gates [batch, seqLen, 4H] (r, z, n and
// hh_n, for the backward); hprev [batch, seqLen, H]; and y [batch, seqLen, directions, H] (the
// directions' h_t side by side, this one's at params.reverse); weightHh [3H, H]. One invocation per
// (b, j), j a hidden unit: the three dot products of W_hh's rows k·H + j with h_{t−1} = y[b, t ∓ 1, reverse] (written by the previous
// step's dispatch), each summed over m in increasing order, then b_hh added (variant BIAS).
// Overwrites y[b, t, reverse], gates[b, t] and hprev[b, t] = h_{t−1} (0 at the first step). σ: shaders/lib/sigmoid.wgsl;
// tanh: shaders/lib/stable_math.wgsl's tanhAccurate. Variant SUBGROUP (subgroups of 8): an
// invocation per (group of 8 samples, j), units padded to whole subgroups, h_{t−1} of the 8 samples
// shared by subgroupBroadcast (hiddenSums8: the same sums, the same bits). Params and the step's
// rows: shaders/lib/recurrent_step.wgsl; W_hh · h_{t−1} + b_hh (VEC4, SUBGROUP too):
// shaders/lib/recurrent_hidden_sums.wgsl.

#if SUBGROUP
enable subgroups;
diagnostic(off, subgroup_uniformity);
#endif

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> gx: array<f32>;
#if VEC4
@group(0) @binding(2) var<storage, read> weightHh: array<vec4f>;
#else
@group(0) @binding(2) var<storage, read> weightHh: array<f32>;
#endif
#if BIAS
@group(0) @binding(3) var<storage, read> biasHh: array<f32>;
#endif
@group(0) @binding(4) var<storage, read_write> y: array<f32>;
@group(0) @binding(5) var<storage, read_write> gates: array<f32>;
@group(0) @binding(6) var<storage, read_write> hprev: array<f32>;

override WG_X: u32;

// Unit j of sample b at this step, from hs = W_hh · h_{t−1} + b_hh (gate k's in hs[k]).
fn cellStep(b: u32, j: u32, hs: vec4f) {
  let H = params.hidden;
  let step = stepOf(b);
  let row = step.row;
  let inputAt = row * 3u * H + j;
  let r = sigmoid(gx[inputAt] + hs[0]);
  let z = sigmoid(gx[inputAt + H] + hs[1]);
  let hn = hs[2];
  let n = tanhAccurate(gx[inputAt + 2u * H] + r * hn);
  var hPrev = 0.0;
  if (!step.first) {
    hPrev = y[hAt(step.prevRow) + j];
  }
  storeGates(row, j, vec4f(r, z, n, hn));
  hprev[row * H + j] = hPrev;
  y[hAt(row) + j] = (1.0 - z) * n + z * hPrev;
}

@compute @workgroup_size(WG_X)
fn gru_forward_step(@builtin(global_invocation_id) gid3: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let gid = linearInvocation(gid3, nwg);
  let H = params.hidden;
#if SUBGROUP
  let at = subgroupSlotOf(gid.x, subgroupPadded(H));
  // A subgroup's lanes share their group: they return together.
  if (at.group * SUBGROUP_LANES >= params.batch) { return; }
  let own = stepOf(at.own);
  let sums = hiddenSums8(min(at.slot, H - 1u), hAt(own.prevRow), own.first, 3u);
  if (at.slot >= H) { return; }
  for (var i = 0u; i < SUBGROUP_LANES; i++) {
    let b = at.group * SUBGROUP_LANES + i;
    if (b >= params.batch) { break; }
    cellStep(b, at.slot, sums[i]);
  }
#else
  if (gid.x >= params.batch * H) { return; }
  let b = gid.x / H;
  let j = gid.x % H;
  let step = stepOf(b);
  cellStep(b, j, hiddenSums(j, hAt(step.prevRow), step.first, 3u));
#endif
}
