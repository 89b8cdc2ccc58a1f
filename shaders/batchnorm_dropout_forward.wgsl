// batchnorm_dropout_forward: training-mode BatchNorm2d followed by inverted dropout, in one pass;
// overwrites mask and y (batchnorm_forward then dropout_forward, without the tensor between them).
//   n = (x − mean)·invStd·gamma + beta per channel (as batchnorm_forward);
//   kept(i) = u(i) ≥ threshold (= ⌊p·2³²⌋);  y[i] = n · (kept(i) ? scale : 0), scale = 1/(1 − p);
//   mask: kept(i) as bit i % 32 of word i / 32 (shaders/lib/dropout_mask.wgsl),
//   u(i) the dropout draw of the flat element index i (shaders/lib/dropout_draw.wgsl), as
//   dropout_forward draws it, so the masks are the same as the two kernels'.
//   x, y [batch, channels, area]; stats [2, channels] from batchnorm_stats; gamma, beta
//   [channels]; mask [⌈batch·channels·area / 32⌉]. One invocation per mask word: the 32 elements
//   i = 32·gid.x … 32·gid.x + 31 (four Philox blocks), their channel found once and stepped on
//   where a plane ends. Variant VEC4 (area a multiple of 4): x and y read and written as vec4s,
//   each quad (half a Philox block) one vec4 in one channel. Storing the mask as bits, not an f32 per
//   element, took the seed CNN's six batch-norm-and-dropout passes from 18.2–21.6 to 13.8–16.3 ms
//   at batch 128 (bench:profile, three rounds alternated); reading the channel's values once and
//   again only where a plane ends, not for every quad, took them from 13.4–14.2 to 12.4–14.0 ms.
//   Variant MASK_ONLY (for a 1×1 conv after the dropout that computes y as it loads it, from x,
//   the mask and affine: its NORM_MASK variants; no plan fusion uses it yet): no x read and no y
//   written; the same mask words, and affine[c] = (mean, invStd·gamma, beta, scale) per channel
//   (the values and product the pass itself uses, so a reader's n and y are this pass's bits),
//   written by the invocations of words 0 … channels − 1 (the grid covers max(words, channels)).

struct Params {
  batch: u32,
  channels: u32,
  area: u32,
  threshold: u32,
  scale: f32,
  seed: u32,
  stream: u32,
  step: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
#if MASK_ONLY
#elif VEC4
@group(0) @binding(1) var<storage, read> x: array<vec4f>;
#else
@group(0) @binding(1) var<storage, read> x: array<f32>;
#endif
@group(0) @binding(2) var<storage, read> stats: array<f32>;
@group(0) @binding(3) var<storage, read> gamma: array<f32>;
@group(0) @binding(4) var<storage, read> beta: array<f32>;
@group(0) @binding(5) var<storage, read_write> mask: array<u32>;
#if MASK_ONLY
@group(0) @binding(7) var<storage, read_write> affine: array<vec4f>;
#elif VEC4
@group(0) @binding(6) var<storage, read_write> y: array<vec4f>;
#else
@group(0) @binding(6) var<storage, read_write> y: array<f32>;
#endif

override WG_X: u32;

@compute @workgroup_size(WG_X)
fn batchnorm_dropout_forward(@builtin(global_invocation_id) gid3: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let gid = linearInvocation(gid3, nwg);
  let word = gid.x;
  let length = params.batch * params.channels * params.area;
#if MASK_ONLY
  if (word < params.channels) {
    affine[word] = vec4f(stats[word], stats[params.channels + word] * gamma[word], beta[word], params.scale);
  }
#endif
  if (word * 32u >= length) { return; }
  var bits = 0u;
#if VEC4
  let quads = params.area / 4u;
  var c = (word * 8u / quads) % params.channels;
  var s = word * 8u % quads;
  // The channel's values, read again only where the 8 quads cross into the next plane.
  var mean = stats[c];
  var factor = stats[params.channels + c] * gamma[c];
  var shift = beta[c];
  // A Philox block's eight kept bits serve two quads.
  var kept = 0u;
  for (var q = 0u; q < 8u; q++) {
    let quad = word * 8u + q;
    if (quad * 4u < length) {
      if ((q & 1u) == 0u) {
        kept = dropoutKeptByte(params.seed, params.stream, params.step, quad / 2u, params.threshold);
        bits |= kept << (4u * q);
      }
#if MASK_ONLY
#else
      let n = (x[quad] - mean) * factor + shift;
      y[quad] = n * maskQuad(kept >> (4u * (q & 1u)), params.scale);
#endif
    }
    s += 1u;
    if (s == quads) {
      s = 0u;
      c += 1u;
      if (c == params.channels) { c = 0u; }
      mean = stats[c];
      factor = stats[params.channels + c] * gamma[c];
      shift = beta[c];
    }
  }
#else
  let i0 = word * 32u;
  var c = (i0 / params.area) % params.channels;
  var s = i0 % params.area;
  for (var q = 0u; q < 4u; q++) {
    let block = word * 4u + q;
    let kept = dropoutKeptByte(params.seed, params.stream, params.step, block, params.threshold);
    for (var e = 0u; e < 8u; e++) {
      let i = block * 8u + e;
#if MASK_ONLY
#else
      if (i < length) {
        let n = (x[i] - stats[c]) * (stats[params.channels + c] * gamma[c]) + beta[c];
        y[i] = n * maskAt(kept, e, params.scale);
      }
#endif
      s += 1u;
      if (s == params.area) {
        s = 0u;
        c += 1u;
        if (c == params.channels) { c = 0u; }
      }
    }
    bits |= kept << (8u * q);
  }
#endif
  mask[word] = maskWordWithin(bits, word, length);
}
