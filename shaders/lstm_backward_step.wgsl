// lstm_backward_step: one time step t (params.step) of one direction's LSTM cell backward
// (lstm_forward_step.wgsl's forward; gates i, f, g, o), run in the reverse of the forward's order:
// the forward direction from t = seqLen − 1 down to 0, the reverse one (params.reverse 1) from 0
// up, its "next" step t − 1 (written t + 1 below either way). For each (b, j):
//   dh = dy[b, t, reverse, j] + Σ_r dgates[b, t + 1, r] · W_hh[r, j]   (the carry from step t + 1; r over
//        all 4H rows in increasing order; none at the forward's last step)
//   dc = dh ⊙ o ⊙ (1 − tanh²(c_t)) + dcell[b, j]               (dcell: step t + 1's dc ⊙ f; none at the last step)
//   ∂pre_i = dc·g·i(1 − i), ∂pre_f = dc·c_{t−1}·f(1 − f), ∂pre_g = dc·i·(1 − g²), ∂pre_o = dh·tanh(c_t)·o(1 − o)
// and dcell[b, j] = dc ⊙ f for step t − 1. The dispatch of step t + 1 wrote dgates[b, t + 1]
// before this one reads it, so each carry is its own fixed-order sum: no second dispatch, no atomics.
// Layout: dy [batch, seqLen, directions, H]; cell [batch, seqLen, H]; gates, dgates [batch, seqLen, 4H] (the pre-activation
// gradients, from which the dense kernels take dW_ih, dW_hh, the biases' and the input's gradients);
// dcell [batch, H]. One invocation per (b, four units j0 … j0 + 3): each dgates[b, t + 1, r] read
// once for the four carries, W_hh's four words of row r read together (variant VEC4, H a multiple
// of 4: as one vec4), each carry still its own sum over r in increasing order (the same, to the
// bit, as an invocation per unit; measured on lavapipe at batch 128, H 64, exp/, rough: 3.4–3.7 ms
// a step with an invocation per unit, 1.6 with VEC4). Variant SUBGROUP (subgroups of 8): an
// invocation per (group of 8 samples, four units), the quads padded to whole subgroups, each
// dgates[b, t + 1, r] of the 8 samples loaded once a subgroup and shared by subgroupBroadcast
// (carries8: the same sums, the same bits). Overwrites dgates[b, t] and dcell. Params and the
// step's rows: shaders/lib/recurrent_step.wgsl; the carry's products (VEC4, SUBGROUP too):
// shaders/lib/recurrent_carry.wgsl.

#if SUBGROUP
enable subgroups;
diagnostic(off, subgroup_uniformity);
#endif

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> gates: array<f32>;
@group(0) @binding(3) var<storage, read> cell: array<f32>;
#if VEC4
@group(0) @binding(4) var<storage, read> weightHh: array<vec4f>;
#else
@group(0) @binding(4) var<storage, read> weightHh: array<f32>;
#endif
@group(0) @binding(5) var<storage, read_write> dgates: array<f32>;
@group(0) @binding(6) var<storage, read_write> dcell: array<f32>;

override WG_X: u32;

// A word of the next step's gate gradients (carries8's operand).
fn nextGradient(at: u32) -> f32 {
  return dgates[at];
}

// Unit j of sample b at this step, given its carry Σ_r dgates[b, t + 1, r] · W_hh[r, j].
fn unitStep(b: u32, j: u32, carry: f32) {
  let H = params.hidden;
  let step = stepOf(b);
  let row = step.row;
  var dh = dy[hAt(row) + j];
  var dcCarry = 0.0;
  if (!step.last) {
    dh += carry;
    dcCarry = dcell[b * H + j];
  }
  var cPrev = 0.0;
  if (!step.first) {
    cPrev = cell[step.prevRow * H + j];
  }
  let gateAt = row * 4u * H + j;
  let i = gates[gateAt];
  let f = gates[gateAt + H];
  let g = gates[gateAt + 2u * H];
  let o = gates[gateAt + 3u * H];
  let tc = tanhAccurate(cell[row * H + j]);
  let dc = dh * o * (1.0 - tc * tc) + dcCarry;
  dgates[gateAt] = dc * g * i * (1.0 - i);
  dgates[gateAt + H] = dc * cPrev * f * (1.0 - f);
  dgates[gateAt + 2u * H] = dc * i * (1.0 - g * g);
  dgates[gateAt + 3u * H] = dh * tc * o * (1.0 - o);
  dcell[b * H + j] = dc * f;
}

@compute @workgroup_size(WG_X)
fn lstm_backward_step(@builtin(global_invocation_id) gid3: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let gid = linearInvocation(gid3, nwg);
  let H = params.hidden;
  let quads = (H + 3u) / 4u;
#if SUBGROUP
  let at = subgroupSlotOf(gid.x, subgroupPadded(quads));
  // A subgroup's lanes share their group: they return together.
  if (at.group * SUBGROUP_LANES >= params.batch) { return; }
  let j0 = min(at.slot, quads - 1u) * 4u;
  let own = stepOf(at.own);
  // The carries of the group's samples into units j0 … j0 + 3 (those past H unused).
  var carries: array<vec4f, 8>;
  if (!own.last) {
    carries = carries8(j0, own.nextRow * 4u * H, 4u * H);
  }
  if (at.slot >= quads) { return; }
  for (var s = 0u; s < SUBGROUP_LANES; s++) {
    let b = at.group * SUBGROUP_LANES + s;
    if (b >= params.batch) { break; }
    for (var u = 0u; u < 4u; u++) {
      if (j0 + u >= H) { break; }
      unitStep(b, j0 + u, carries[s][u]);
    }
  }
#else
  if (gid.x >= params.batch * quads) { return; }
  let b = gid.x / quads;
  let j0 = (gid.x % quads) * 4u;
  let step = stepOf(b);
  // The carries Σ_r dgates[b, t + 1, r] · W_hh[r, j] into units j0 … j0 + 3 (those past H unused).
  var carry = vec4f(0.0);
  if (!step.last) {
    let next = step.nextRow * 4u * H;
    for (var r = 0u; r < 4u * H; r++) {
      carry = addCarry(carry, dgates[next + r], r, j0);
    }
  }
  for (var u = 0u; u < 4u; u++) {
    if (j0 + u >= H) { break; }
    unitStep(b, j0 + u, carry[u]);
  }
#endif
}
