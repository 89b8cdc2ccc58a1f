// gru_backward_step: one time step t (params.step) of one direction's GRU cell backward
// (gru_forward_step.wgsl's forward; gates r, z, n), run in the reverse of the forward's order: the
// forward direction from t = seqLen − 1 down to 0, the reverse one (params.reverse 1) from 0 up,
// its "next" step t − 1 (written t + 1 below either way). For each (b, j):
//   dh = dy[b, t, reverse, j] + Σ_k dgh[b, t + 1, k] · W_hh[k, j] + dcarry[b, j]   (the carries from step t + 1:
//        k over all 3H rows in increasing order, and dcarry = dh_{t+1} ⊙ z_{t+1}; none at the forward's last step)
//   ∂n_pre = dh·(1 − z)·(1 − n²),  ∂z_pre = dh·(h_{t−1} − n)·z(1 − z),  ∂r_pre = ∂n_pre·hh_n·r(1 − r)
// The input side's pre-activation gradients dgx = (∂r_pre, ∂z_pre, ∂n_pre) and the hidden side's
// dgh = (∂r_pre, ∂z_pre, ∂n_pre·r) (hh_n enters n through r); dcarry[b, j] = dh ⊙ z for step t − 1.
// The dispatch of step t + 1 wrote dgh[b, t + 1] before this one reads it: each carry is its own
// fixed-order sum, no atomics. From dgx and dgh the dense kernels take dW_ih, ∂b_ih, dX and
// dW_hh, ∂b_hh.
// Layout: dy [batch, seqLen, directions, H]; hprev [batch, seqLen, H]; gates [batch, seqLen, 4H] (r, z, n, hh_n); dgx, dgh
// [batch, seqLen, 3H]; dcarry [batch, H]. One invocation per (b, four units j0 … j0 + 3): each
// dgh[b, t + 1, k] read once for the four carries, W_hh's four words of row k read together
// (variant VEC4, H a multiple of 4: as one vec4), each carry still its own sum over k in increasing
// order (the same, to the bit, as an invocation per unit; faster on lavapipe, as
// lstm_backward_step's). Variant SUBGROUP (subgroups of 8): an invocation per (group of 8 samples,
// four units), the quads padded to whole subgroups, each dgh[b, t + 1, k] of the 8 samples loaded
// once a subgroup and shared by subgroupBroadcast (carries8: the same sums, the same bits).
// Overwrites dgx and dgh at t, dcarry. Params and the step's rows: shaders/lib/recurrent_step.wgsl;
// the carry's products (VEC4, SUBGROUP too): shaders/lib/recurrent_carry.wgsl.

#if SUBGROUP
enable subgroups;
diagnostic(off, subgroup_uniformity);
#endif

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> gates: array<f32>;
@group(0) @binding(3) var<storage, read> hprev: array<f32>;
#if VEC4
@group(0) @binding(4) var<storage, read> weightHh: array<vec4f>;
#else
@group(0) @binding(4) var<storage, read> weightHh: array<f32>;
#endif
@group(0) @binding(5) var<storage, read_write> dgx: array<f32>;
@group(0) @binding(6) var<storage, read_write> dgh: array<f32>;
@group(0) @binding(7) var<storage, read_write> dcarry: array<f32>;

override WG_X: u32;

// A word of the next step's hidden-side gradients (carries8's operand).
fn nextGradient(at: u32) -> f32 {
  return dgh[at];
}

// Unit j of sample b at this step, given its carry Σ_k dgh[b, t + 1, k] · W_hh[k, j].
fn unitStep(b: u32, j: u32, carry: f32) {
  let H = params.hidden;
  let step = stepOf(b);
  let row = step.row;
  var dh = dy[hAt(row) + j];
  if (!step.last) {
    dh += carry + dcarry[b * H + j];
  }
  let gateAt = row * 4u * H + j;
  let r = gates[gateAt];
  let z = gates[gateAt + H];
  let n = gates[gateAt + 2u * H];
  let hn = gates[gateAt + 3u * H];
  let dnPre = dh * (1.0 - z) * (1.0 - n * n);
  let dzPre = dh * (hprev[row * H + j] - n) * z * (1.0 - z);
  let drPre = dnPre * hn * r * (1.0 - r);
  let at = row * 3u * H + j;
  dgx[at] = drPre;
  dgx[at + H] = dzPre;
  dgx[at + 2u * H] = dnPre;
  dgh[at] = drPre;
  dgh[at + H] = dzPre;
  dgh[at + 2u * H] = dnPre * r;
  dcarry[b * H + j] = dh * z;
}

@compute @workgroup_size(WG_X)
fn gru_backward_step(@builtin(global_invocation_id) gid3: vec3u, @builtin(num_workgroups) nwg: vec3u) {
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
    carries = carries8(j0, own.nextRow * 3u * H, 3u * H);
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
  // The carries Σ_k dgh[b, t + 1, k] · W_hh[k, j] into units j0 … j0 + 3 (those past H unused).
  var carry = vec4f(0.0);
  if (!step.last) {
    let next = step.nextRow * 3u * H;
    for (var k = 0u; k < 3u * H; k++) {
      carry = addCarry(carry, dgh[next + k], k, j0);
    }
  }
  for (var u = 0u; u < 4u; u++) {
    if (j0 + u >= H) { break; }
    unitStep(b, j0 + u, carry[u]);
  }
#endif
}
