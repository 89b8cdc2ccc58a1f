// dropout_forward: inverted dropout; overwrites mask and y.
//   mask[i] = scale (= 1/(1 − p)) if word(i) ≥ threshold (= ⌊p·2³²⌋) else 0;  y[i] = x[i] · mask[i]
//   word(i) = randomWord(seed, stream, step, i): Philox4x32-10 of counter (i / 4, step, stream, 0)
//   and key (seed, 0), word i % 4 (shaders/lib/philox.wgsl). One invocation per four elements.
//   dropout_backward multiplies by the same mask.

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
@group(0) @binding(2) var<storage, read_write> mask: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;

override WG_X: u32;

@compute @workgroup_size(WG_X)
fn dropout_forward(@builtin(global_invocation_id) gid3: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let gid = linearInvocation(gid3, nwg);
  let block = gid.x;
  if (block * 4u >= params.length) { return; }
  let words = randomBlock(params.seed, params.stream, params.step, block);
  for (var k = 0u; k < 4u; k++) {
    let i = block * 4u + k;
    if (i < params.length) {
      let m = select(0.0, params.scale, words[k] >= params.threshold);
      mask[i] = m;
      y[i] = x[i] * m;
    }
  }
}
