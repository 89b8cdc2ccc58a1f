// The recurrent step kernels' parameters and a step's place in its direction (gru_forward_step,
// gru_backward_step, lstm_forward_step, lstm_backward_step; one declaration of the parameters for
// the four: src/kernels/recurrent-step.ts). The forward direction (params.reverse 0) runs
// t = 0 … seqLen − 1, the reverse one t = seqLen − 1 … 0: its "previous" step is t + 1 and its
// "next" t − 1. Layout: y, dy [batch, seqLen, directions, H] (the directions' h_t side by side,
// this one's at params.reverse); the others [batch, seqLen, ·], this direction's own.

struct Params {
  batch: u32,
  seqLen: u32,
  hidden: u32,
  step: u32,
  directions: u32,
  reverse: u32,
}

// Step t = params.step of sample b: its row b·seqLen + t of the [batch, seqLen, ·] tensors; whether
// it is the direction's first step (no h_{t−1}) and its last (no carry from a next step); the rows
// of the previous and the next step (this row itself where there is none, unread there).
struct Step {
  row: u32,
  first: bool,
  last: bool,
  prevRow: u32,
  nextRow: u32,
}

fn stepOf(b: u32) -> Step {
  let t = params.step;
  let row = b * params.seqLen + t;
  let reverse = params.reverse != 0u;
  let first = select(t == 0u, t + 1u == params.seqLen, reverse);
  let last = select(t + 1u == params.seqLen, t == 0u, reverse);
  let prevRow = select(select(row - 1u, row + 1u, reverse), row, first);
  let nextRow = select(select(row + 1u, row - 1u, reverse), row, last);
  return Step(row, first, last, prevRow, nextRow);
}

// The offset of this direction's h at `row` in y and dy (its unit 0).
fn hAt(row: u32) -> u32 {
  return (row * params.directions + params.reverse) * params.hidden;
}

// Variant SUBGROUP (subgroups of 8, lavapipe's): the lanes of a subgroup are 8 consecutive
// invocations, which share a group of 8 samples (8g … 8g + 7, those past the batch idle): each
// lane loads its own sample's operand and subgroupBroadcast shares it. The invocation's group,
// its slot among `slots` (a multiple of 8: units or quads of units, padded) and its lane.
const SUBGROUP_LANES = 8u;

struct SubgroupSlot {
  group: u32,
  slot: u32,
  lane: u32,
  // The lane's own sample (the batch's last where the group runs past it: loaded, unused).
  own: u32,
}

fn subgroupSlotOf(index: u32, slots: u32) -> SubgroupSlot {
  let group = index / slots;
  let lane = index % SUBGROUP_LANES;
  let own = min(group * SUBGROUP_LANES + lane, params.batch - 1u);
  return SubgroupSlot(group, index % slots, lane, own);
}

// n rounded up to whole subgroups.
fn subgroupPadded(n: u32) -> u32 {
  return (n + SUBGROUP_LANES - 1u) / SUBGROUP_LANES * SUBGROUP_LANES;
}
