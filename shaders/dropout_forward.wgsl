// dropout_forward: inverted dropout; overwrites mask and y.
//   kept(i) = u(i) ≥ threshold (= ⌊p·2³²⌋);  y[i] = x[i] · (kept(i) ? scale : 0), scale = 1/(1 − p);
//   mask: kept(i) as bit i % 32 of word i / 32 (shaders/lib/dropout_mask.wgsl).
//   u(i): element i's dropout draw from Philox4x32-10, eight elements a block
//   (shaders/lib/dropout_draw.wgsl; CPU: dropoutBlockDraws in src/reference/random.ts). One invocation
//   per mask word: 32 elements, four Philox blocks. dropout_backward multiplies by the same mask.
//   Variant CHANNELS (PyTorch's Dropout2d): element i is kept where its channel is, channel
//   k = i / area (over batch × channels) drawn as element k would be; the mask still has a bit an
//   element, so the backward is the same kernel.
//   Variant ALPHA (PyTorch's AlphaDropout, FeatureAlphaDropout with CHANNELS): y[i] = scale·x[i] +
//   shift where kept, `dropped` (= scale·α' + shift) where not, as PyTorch's x·(mask·a) + b (an
//   infinite x dropped gives NaN there too); the backward is dropout_backward with scale a.
//   Variant VEC4 (not CHANNELS; length a multiple of 4): x and y read and written a vec4 (four
//   elements, a nibble of the block's kept byte) at a time; the same products, the same bits.

struct Params {
  length: u32,
  threshold: u32,
  scale: f32,
  seed: u32,
  stream: u32,
  step: u32,
  area: u32,
  shift: f32,
  dropped: f32,
}

@group(0) @binding(0) var<uniform> params: Params;
#if VEC4
@group(0) @binding(1) var<storage, read> x: array<vec4f>;
#else
@group(0) @binding(1) var<storage, read> x: array<f32>;
#endif
@group(0) @binding(2) var<storage, read_write> mask: array<u32>;
#if VEC4
@group(0) @binding(3) var<storage, read_write> y: array<vec4f>;
#else
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
#endif

override WG_X: u32;

// An element's output from its keep decision.
fn dropoutOutput(v: f32, keep: bool) -> f32 {
#if ALPHA
  return v * select(0.0, params.scale, keep) + select(params.dropped, params.shift, keep);
#else
  return v * select(0.0, params.scale, keep);
#endif
}

// Four elements' outputs from their keep decisions (bits 0 … 3 of `bits`).
fn dropoutOutput4(v: vec4f, bits: u32) -> vec4f {
  let keep = (vec4u(bits) & vec4u(1u, 2u, 4u, 8u)) != vec4u(0u);
#if ALPHA
  return v * select(vec4f(0.0), vec4f(params.scale), keep) + select(vec4f(params.dropped), vec4f(params.shift), keep);
#else
  return v * select(vec4f(0.0), vec4f(params.scale), keep);
#endif
}

@compute @workgroup_size(WG_X)
fn dropout_forward(@builtin(global_invocation_id) gid3: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let gid = linearInvocation(gid3, nwg);
  let word = gid.x;
  if (word * 32u >= params.length) { return; }
  var bits = 0u;
#if CHANNELS
  var lastBlock = 0xffffffffu;
  var keptByte = 0u;
  for (var e = 0u; e < 32u; e++) {
    let i = word * 32u + e;
    if (i >= params.length) { break; }
    let k = i / params.area;
    if (k / 8u != lastBlock) {
      lastBlock = k / 8u;
      keptByte = dropoutKeptByte(params.seed, params.stream, params.step, lastBlock, params.threshold);
    }
    let keep = (keptByte >> (k % 8u)) & 1u;
    y[i] = dropoutOutput(x[i], keep != 0u);
    bits |= keep << e;
  }
  mask[word] = bits;
#elif VEC4
  for (var q = 0u; q < 4u; q++) {
    let block = word * 4u + q;
    let kept = dropoutKeptByte(params.seed, params.stream, params.step, block, params.threshold);
    for (var h = 0u; h < 2u; h++) {
      let v = 2u * block + h;
      if (v < params.length / 4u) {
        y[v] = dropoutOutput4(x[v], kept >> (4u * h));
      }
    }
    bits |= kept << (8u * q);
  }
  mask[word] = maskWordWithin(bits, word, params.length);
#else
  for (var q = 0u; q < 4u; q++) {
    let block = word * 4u + q;
    let kept = dropoutKeptByte(params.seed, params.stream, params.step, block, params.threshold);
    for (var e = 0u; e < 8u; e++) {
      let i = block * 8u + e;
      if (i < params.length) {
        y[i] = dropoutOutput(x[i], ((kept >> e) & 1u) != 0u);
      }
    }
    bits |= kept << (8u * q);
  }
  mask[word] = maskWordWithin(bits, word, params.length);
#endif
}
