// A segment's invocations and its elements' affine indices (sample_norm_forward,
// sample_norm_backward_input). The kernel declares weight and appends shaders/lib/sample_norm.wgsl.

// Invocation x's segment and lane: a segment takes WG_X invocations (a workgroup), or one
// (serial). A workgroup past the last segment is not `valid`: it reads the last segment (index)
// and takes none of its elements (count 0). start: the segment's first element.
struct Segment {
  index: u32,
  lid: u32,
  lanes: u32,
  valid: bool,
  start: u32,
  count: u32,
}

fn segmentOf(x: u32) -> Segment {
  let lanes = select(WG_X, 1u, params.serial != 0u);
  let s = x / lanes;
  let L = params.segmentLength;
  let segments = params.batch * (params.sampleSize / L);
  let valid = s < segments;
  let index = min(s, segments - 1u);
  return Segment(index, x % lanes, lanes, valid, index * L, select(0u, L, valid));
}

// The affine index a₀ + q of element j of the segment from element `start` of the batch:
// a₀ = ⌊(start mod sampleSize) / affineStride⌋ mod affineCount (a segment holds whole runs of
// affineStride elements), (q, r) = (⌊j / affineStride⌋, j mod affineStride), counted from element
// `first`, `step` elements a step, without a division an element.
struct AffineCursor {
  a0: u32,
  q: u32,
  r: u32,
  dq: u32,
  dr: u32,
}

fn affineCursor(start: u32, first: u32, step: u32) -> AffineCursor {
  let stride = params.affineStride;
  let a0 = ((start % params.sampleSize) / stride) % params.affineCount;
  return AffineCursor(a0, first / stride, first % stride, step / stride, step % stride);
}

// The cursor `step` elements on.
fn affineNext(c: AffineCursor) -> AffineCursor {
  var next = c;
  next.q += c.dq;
  next.r += c.dr;
  if (next.r >= params.affineStride) {
    next.r -= params.affineStride;
    next.q += 1u;
  }
  return next;
}

// VEC4 (a step of 4 elements; affine runs of 1 or of a multiple of 4): the weights of the four
// elements from affine index a — weight[a … a + 3] (affineStride 1), or weight[a] for all four.
fn weight4(a: u32) -> vec4f {
  if (params.affineStride == 1u) {
    return vec4f(weight[a], weight[a + 1u], weight[a + 2u], weight[a + 3u]);
  }
  return vec4f(weight[a]);
}

#if SUBGROUP
// SUBGROUP (VEC4 on an adapter with subgroups of 8, LayerNorm's affine: element j of every segment
// takes index j): a segment's at most HELD_VEC4S vec4s are held in registers (read once; loops of
// constant length, so that every index is a constant), and its weights are the same in every
// segment, so the subgroup shares them: each lane loads one vec4 of a block of 8 and
// subgroupBroadcast hands them round (where VEC4 has every invocation load the same four weights,
// addresses all 8 lanes share: lavapipe's dearest load).
const HELD_VEC4S = 16u;

// The 8 lanes' values of v (lane k's at index k): the subgroup's 8 invocations are x = 8g … 8g + 7.
fn broadcast8(v: vec4f) -> array<vec4f, 8> {
  return array<vec4f, 8>(subgroupBroadcast(v, 0u), subgroupBroadcast(v, 1u), subgroupBroadcast(v, 2u), subgroupBroadcast(v, 3u), subgroupBroadcast(v, 4u), subgroupBroadcast(v, 5u), subgroupBroadcast(v, 6u), subgroupBroadcast(v, 7u));
}
#endif
