// dropout_forward: inverted dropout; overwrites mask and y.
//   kept(i) = word(i) ≥ threshold (= ⌊p·2³²⌋);  y[i] = x[i] · (kept(i) ? scale : 0), scale = 1/(1 − p);
//   mask: kept(i) as bit i % 32 of word i / 32 (shaders/lib/dropout_mask.wgsl).
//   word(i) = randomWord(seed, stream, step, i): Philox4x32-10 of counter (i / 4, step, stream, 0)
//   and key (seed, 0), word i % 4 (shaders/lib/philox.wgsl). One invocation per mask word: 32
//   elements, eight Philox blocks. dropout_backward multiplies by the same mask.

struct Params {
  length: u32,
  threshold: u32,
  scale: f32,
  seed: u32,
  stream: u32,
  step: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> mask: array<u32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;

override WG_X: u32;

@compute @workgroup_size(WG_X)
fn dropout_forward(@builtin(global_invocation_id) gid3: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let gid = linearInvocation(gid3, nwg);
  let word = gid.x;
  if (word * 32u >= params.length) { return; }
  var bits = 0u;
  for (var q = 0u; q < 8u; q++) {
    let block = word * 8u + q;
    let kept = keptBits(randomBlock(params.seed, params.stream, params.step, block), params.threshold);
    let m = maskQuad(kept, params.scale);
    for (var e = 0u; e < 4u; e++) {
      let i = block * 4u + e;
      if (i < params.length) {
        y[i] = x[i] * m[e];
      }
    }
    bits |= kept << (4u * q);
  }
  mask[word] = maskWordWithin(bits, word, params.length);
}
