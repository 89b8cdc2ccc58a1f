// The general conv kernels' parameters and a block's channels (conv2d_general_forward,
// conv2d_general_backward_input, conv2d_general_backward_weight; one declaration of the
// parameters for the three: src/kernels/conv2d-general.ts). outBlock, inBlock: the channels an
// invocation or workgroup takes (4 where a group has 4 or more, else 1: the host's choice);
// rows: the output rows (forward) or input rows (input gradient) an invocation takes
// (DEPTHWISE_ROWS for a depthwise conv of at most 3×3, the DEPTHWISE variants; else 1);
// planeAlign: the forward's (input gradient's) invocations a (sample, block of output (input)
// channels) rounded up to a multiple of it (SUBGROUP_LANES where a block of either has 4
// channels, so that invocations 8g … 8g + 7 — a subgroup of 8 where the SUBGROUP variants run —
// share one block; else 1).

const DEPTHWISE_ROWS = 4u;
const SUBGROUP_LANES = 8u;

struct Params {
  batch: u32,
  inChannels: u32,
  height: u32,
  width: u32,
  outChannels: u32,
  outHeight: u32,
  outWidth: u32,
  kernelH: u32,
  kernelW: u32,
  strideH: u32,
  strideW: u32,
  padTop: u32,
  padLeft: u32,
  dilationH: u32,
  dilationW: u32,
  groups: u32,
  outBlock: u32,
  inBlock: u32,
  tapSplits: u32,
  rows: u32,
  planeAlign: u32,
}

// ⌊a / d⌋ for 0 < d and |a| + d < 2^23 (the DEPTHWISE variants' columns: the host's check), by a
// float division and one step back (a CPU adapter's vector unit divides floats, but integers a
// lane at a time): the rounded quotient is ⌊a / d⌋ or one more.
fn floorDivide(a: i32, d: i32) -> i32 {
  let q = i32(floor(f32(a) / f32(d)));
  return select(q, q - 1, q * d > a);
}

// A block's four channels from `first` (a short block repeats its `last` channel, never stored).
fn blockChannels(first: u32, last: u32) -> vec4u {
  return vec4u(first, min(first + 1u, last), min(first + 2u, last), min(first + 3u, last));
}
