// batchnorm_merge_forward: a BatchNorm2d's training forward pass in one dispatch, from the partial
// moments the conv before it wrote (the conv forward's STATS epilogue, fusion rule
// batchnorm-stats-epilogue): batchnorm_stats_merge and then batchnorm_forward (variant DROPOUT:
// batchnorm_dropout_forward), their bits. Overwrites stats and y (and mask); updates the running
// statistics in place.
//   moments [channels, slots, 3], stats [2, channels], the running statistics and health as
//   batchnorm_stats_merge's, and merged as it merges them (the same merges in the same order);
//   x, y [batch, channels, area]; gamma, beta [channels]; y = (x − mean)·invStd·gamma + beta as
//   batchnorm_forward computes it (variant RELU: reluBits of it, the batch norm's ReLU epilogue).
//   Variant DROPOUT (a Dropout after it, fusion rule batchnorm-dropout): y and mask [⌈batch·
//   channels·area / 32⌉] as batchnorm_dropout_forward writes them (the same expressions and
//   draws: shaders/lib/dropout_draw.wgsl, shaders/lib/dropout_mask.wgsl).
//   One workgroup of WG_X invocations (a power of two) per channel c (workgroup_id.x): it merges
//   the channel's moments, invocation 0 stores the statistics, and every invocation takes the mean
//   and invStd from the merged moments (the expressions invocation 0 stores) and walks some of the
//   channel's mask words. The walk goes plane by plane (b = 0 … batch − 1), over the words that
//   hold an element of the plane (perPlane slots a plane, the most it can touch; some past its end); slot j = b·perPlane + k is word ⌊start/32⌋ + k. Each SIMD vector of LANES
//   invocations takes a run of consecutive slots, its lanes side by side (lavapipe runs a
//   vector's loop to the end before the next vector starts: a run keeps it on consecutive words).
//   A word may hold elements of two or more planes (area 676: 21⅛ words a plane): the plane that
//   holds the word's first element draws all four of its Philox blocks and stores the mask word;
//   every plane writes y only for its own elements, drawing the blocks that hold them (a block
//   across two planes is drawn by both: the draws depend on the element index only). So every y
//   and every mask word is written once, with no race.
//   Software adapters only (src/layers/batchnorm.ts): a workgroup a channel keeps a CPU's few
//   threads busy and finds the channel's moments and its x in cache; a GPU wants the merge's slot
//   groups and batchnorm_dropout_forward's invocation a mask word.
//   Variant VEC4 (area a multiple of 4): x and y as vec4s, each quad (half a Philox block) one
//   vec4 in one plane.
//   Variant MASK_ONLY (implies DROPOUT; for a 1×1 conv after the dropout that computes y as it
//   loads it, its NORM_MASK variants): no x read and no y written; the same mask words (only the
//   words a plane owns are walked, their four blocks drawn), and affine [channels] vec4s = (mean,
//   invStd·gamma, beta, scale), as batchnorm_dropout_forward's MASK_ONLY writes them (the values
//   this pass would normalise with), stored by invocation 0.

struct Params {
  batch: u32,
  channels: u32,
  area: u32,
  slots: u32,
  eps: f32,
  momentum: f32,
  meanSlot: u32,
  varSlot: u32,
  threshold: u32,
  scale: f32,
  seed: u32,
  stream: u32,
  step: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> moments: array<f32>;
@group(0) @binding(2) var<storage, read_write> stats: array<f32>;
@group(0) @binding(3) var<storage, read_write> runningMean: array<f32>;
@group(0) @binding(4) var<storage, read_write> runningVar: array<f32>;
@group(0) @binding(5) var<storage, read_write> health: array<u32>;
#if MASK_ONLY
#elif VEC4
@group(0) @binding(6) var<storage, read> x: array<vec4f>;
#else
@group(0) @binding(6) var<storage, read> x: array<f32>;
#endif
@group(0) @binding(7) var<storage, read> gamma: array<f32>;
@group(0) @binding(8) var<storage, read> beta: array<f32>;
#if DROPOUT
@group(0) @binding(9) var<storage, read_write> mask: array<u32>;
#endif
#if MASK_ONLY
@group(0) @binding(11) var<storage, read_write> affine: array<vec4f>;
#elif VEC4
@group(0) @binding(10) var<storage, read_write> y: array<vec4f>;
#else
@group(0) @binding(10) var<storage, read_write> y: array<f32>;
#endif

override WG_X: u32;
/** Invocations that walk consecutive words together (lavapipe's SIMD width). */
const LANES = 8u;

@compute @workgroup_size(WG_X)
fn batchnorm_merge_forward(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let c = wid.x;
  // batchnorm_stats_merge.
  let merged = workgroupMoments(lid, slotMoments(c, lid));
  storeStatistics(lid, c, merged);
  // batchnorm_forward's per-channel values, as it computes them from the stored statistics.
  let mean = merged.mean;
  let factor = invStdOf(merged) * gamma[c];
  let shift = beta[c];
#if MASK_ONLY
  if (lid == 0u) {
    affine[c] = vec4f(mean, factor, shift, params.scale);
  }
#endif
  // Slots a plane: the most words a plane's elements touch. A plane starts at an element
  // (b·channels + c)·area, a multiple of g = gcd(area, 32): at most 32 − g into a word.
  let g = 1u << min(countTrailingZeros(params.area), 5u);
  let perPlane = (params.area + 31u - g) / 32u + 1u;
  let slots = params.batch * perPlane;
  let lanes = min(LANES, WG_X);
  let run = (slots + WG_X / lanes - 1u) / (WG_X / lanes);
  let first = lid / lanes * run;
  for (var j = first + lid % lanes; j < min(first + run, slots); j += lanes) {
    let b = j / perPlane;
    let start = (b * params.channels + c) * params.area;
    let word = start / 32u + j % perPlane;
    if (word * 32u < start + params.area) {
      forwardWord(word, start, start + params.area, mean, factor, shift);
    }
  }
}

// y for the elements of mask word `word` that lie in the plane [start, end), and the mask word
// itself where the plane holds its first element.
fn forwardWord(word: u32, start: u32, end: u32, mean: f32, factor: f32, shift: f32) {
#if MASK_ONLY
  // The mask word only, by the plane that holds its first element: its four blocks.
  if (word * 32u < start) { return; }
  var bits = 0u;
  for (var q = 0u; q < 4u; q++) {
    bits |= dropoutKeptByte(params.seed, params.stream, params.step, word * 4u + q, params.threshold) << (8u * q);
  }
  mask[word] = maskWordWithin(bits, word, params.batch * params.channels * params.area);
#else
#if DROPOUT
  let owns = word * 32u >= start;
  var bits = 0u;
#endif
#if VEC4
#if DROPOUT
  var kept = 0u;
#endif
  for (var q = 0u; q < 8u; q++) {
    let quad = word * 8u + q;
    let inPlane = quad * 4u >= start && quad * 4u < end;
#if DROPOUT
    // A Philox block (two quads): drawn for the mask word, or for its quads in the plane.
    if ((q & 1u) == 0u) {
      if (owns || inPlane || (quad * 4u + 4u >= start && quad * 4u + 4u < end)) {
        kept = dropoutKeptByte(params.seed, params.stream, params.step, quad / 2u, params.threshold);
        bits |= kept << (4u * q);
      }
    }
    if (inPlane) {
      let n = (x[quad] - mean) * factor + shift;
      y[quad] = n * maskQuad(kept >> (4u * (q & 1u)), params.scale);
    }
#elif RELU
    if (inPlane) { y[quad] = reluBits4((x[quad] - mean) * factor + shift); }
#else
    if (inPlane) { y[quad] = (x[quad] - mean) * factor + shift; }
#endif
  }
#else
  for (var q = 0u; q < 4u; q++) {
    let block = word * 4u + q;
#if DROPOUT
    var kept = 0u;
    if (owns || (block * 8u < end && block * 8u + 8u > start)) {
      kept = dropoutKeptByte(params.seed, params.stream, params.step, block, params.threshold);
      bits |= kept << (8u * q);
    }
#endif
    for (var e = 0u; e < 8u; e++) {
      let i = block * 8u + e;
      if (i >= start && i < end) {
#if DROPOUT
        let n = (x[i] - mean) * factor + shift;
        y[i] = n * maskAt(kept, e, params.scale);
#elif RELU
        y[i] = reluBits((x[i] - mean) * factor + shift);
#else
        y[i] = (x[i] - mean) * factor + shift;
#endif
      }
    }
  }
#endif
#if DROPOUT
  if (owns) {
    mask[word] = maskWordWithin(bits, word, params.batch * params.channels * params.area);
  }
#endif
#endif
}
