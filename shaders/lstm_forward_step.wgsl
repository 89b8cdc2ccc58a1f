// lstm_forward_step: one time step t (params.step) of one direction of one layer of PyTorch's
// nn.LSTM over a batch, batch_first, initial states zero. The forward direction (params.reverse 0)
// runs t = 0 … seqLen − 1 and its h_{t−1} is step t − 1's; the reverse one (params.reverse 1) runs
// t = seqLen − 1 … 0 and its "previous" step is t + 1 (written h_{t−1} below either way). Gates in PyTorch's
// order i, f, g, o (rows k·H … k·H + H − 1 of the weights, k = 0 … 3):
//   pre = gx[b, t] + (W_hh · h_{t−1} + b_hh)      gx = x · W_ihᵀ + b_ih, for every t at once (dense_forward)
//   i = σ(pre_i), f = σ(pre_f), g = tanh(pre_g), o = σ(pre_o)
//   c_t = f ⊙ c_{t−1} + i ⊙ g,  h_t = o ⊙ tanh(c_t)
// Layout: gx, gates [batch, seqLen, 4H] and cell, hprev [batch, seqLen, H], this direction's own;
// y [batch, seqLen, directions, H] (PyTorch's output: the directions' h_t side by side, this one's
// at params.reverse); weightHh [4H, H].
// One invocation per (b, j), j a hidden unit: the four dot products of W_hh's rows k·H + j with
// h_{t−1} = y[b, t ∓ 1, reverse] (written by the previous step's dispatch), each summed over m in increasing
// order, then b_hh added (variant BIAS), then gx. Overwrites y[b, t, reverse], cell[b, t], gates[b, t]
// (the activated gates i, f, g, o, for the backward) and hprev[b, t] = h_{t−1} (0 at the first step: the
// weight gradient's operand, dW_hh = Σ_t dgatesᵀ · h_{t−1}). σ: shaders/lib/sigmoid.wgsl; tanh:
// shaders/lib/stable_math.wgsl's tanhAccurate. Variant SUBGROUP (subgroups of 8): an invocation per
// (group of 8 samples, j), units padded to whole subgroups, h_{t−1} of the 8 samples shared by
// subgroupBroadcast (hiddenSums8: the same sums, the same bits). Params and the step's rows:
// shaders/lib/recurrent_step.wgsl; W_hh · h_{t−1} + b_hh (VEC4, SUBGROUP too): shaders/lib/recurrent_hidden_sums.wgsl.

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
@group(0) @binding(5) var<storage, read_write> cell: array<f32>;
@group(0) @binding(6) var<storage, read_write> gates: array<f32>;
@group(0) @binding(7) var<storage, read_write> hprev: array<f32>;

override WG_X: u32;

// Unit j of sample b at this step, from hs = W_hh · h_{t−1} + b_hh (gate k's in hs[k]).
fn cellStep(b: u32, j: u32, hs: vec4f) {
  let H = params.hidden;
  let step = stepOf(b);
  let row = step.row;
  // Gate k's pre-activation: gx + (W_hh · h_{t−1} + b_hh).
  var pre = hs;
  for (var k = 0u; k < 4u; k++) {
    pre[k] = gx[row * 4u * H + k * H + j] + pre[k];
  }
  let i = sigmoid(pre[0]);
  let f = sigmoid(pre[1]);
  let g = tanhAccurate(pre[2]);
  let o = sigmoid(pre[3]);
  var cPrev = 0.0;
  var hPrev = 0.0;
  if (!step.first) {
    cPrev = cell[step.prevRow * H + j];
    hPrev = y[hAt(step.prevRow) + j];
  }
  let c = f * cPrev + i * g;
  storeGates(row, j, vec4f(i, f, g, o));
  cell[row * H + j] = c;
  hprev[row * H + j] = hPrev;
  y[hAt(row) + j] = o * tanhAccurate(c);
}

@compute @workgroup_size(WG_X)
fn lstm_forward_step(@builtin(global_invocation_id) gid3: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let gid = linearInvocation(gid3, nwg);
  let H = params.hidden;
#if SUBGROUP
  let at = subgroupSlotOf(gid.x, subgroupPadded(H));
  // A subgroup's lanes share their group: they return together.
  if (at.group * SUBGROUP_LANES >= params.batch) { return; }
  let own = stepOf(at.own);
  let sums = hiddenSums8(min(at.slot, H - 1u), hAt(own.prevRow), own.first, 4u);
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
  cellStep(b, j, hiddenSums(j, hAt(step.prevRow), step.first, 4u));
#endif
}
