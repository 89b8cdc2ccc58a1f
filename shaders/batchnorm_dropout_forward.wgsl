// batchnorm_dropout_forward: training-mode BatchNorm2d followed by inverted dropout, in one pass;
// overwrites mask and y (batchnorm_forward then dropout_forward, without the tensor between them).
//   n = (x − mean)·invStd·gamma + beta per channel (as batchnorm_forward);
//   mask[i] = scale (= 1/(1 − p)) if word(i) ≥ threshold (= ⌊p·2³²⌋) else 0;  y[i] = n · mask[i],
//   word(i) = randomWord(seed, stream, step, i) of the flat element index i, as dropout_forward
//   draws it, so the masks are the same as the two kernels'.
//   x, mask, y [batch, channels, area]; stats [2, channels] from batchnorm_stats; gamma, beta
//   [channels]. One invocation per four elements (one Philox block): i = 4·gid.x … 4·gid.x + 3,
//   their channel found once and stepped on where a row ends. Variant VEC4 (area a multiple of 4):
//   x, mask and y read and written as vec4s, the block's four elements one vec4 in one channel.

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
#if VEC4
@group(0) @binding(1) var<storage, read> x: array<vec4f>;
#else
@group(0) @binding(1) var<storage, read> x: array<f32>;
#endif
@group(0) @binding(2) var<storage, read> stats: array<f32>;
@group(0) @binding(3) var<storage, read> gamma: array<f32>;
@group(0) @binding(4) var<storage, read> beta: array<f32>;
#if VEC4
@group(0) @binding(5) var<storage, read_write> mask: array<vec4f>;
@group(0) @binding(6) var<storage, read_write> y: array<vec4f>;
#else
@group(0) @binding(5) var<storage, read_write> mask: array<f32>;
@group(0) @binding(6) var<storage, read_write> y: array<f32>;
#endif

override WG_X: u32;

@compute @workgroup_size(WG_X)
fn batchnorm_dropout_forward(@builtin(global_invocation_id) gid3: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let gid = linearInvocation(gid3, nwg);
  let block = gid.x;
#if VEC4
  let quads = params.area / 4u;
  if (block >= params.batch * params.channels * quads) { return; }
  let words = randomBlock(params.seed, params.stream, params.step, block);
  let c = (block / quads) % params.channels;
  let n = (x[block] - stats[c]) * (stats[params.channels + c] * gamma[c]) + beta[c];
  let m = select(vec4f(0.0), vec4f(params.scale), words >= vec4u(params.threshold));
  mask[block] = m;
  y[block] = n * m;
#else
  let length = params.batch * params.channels * params.area;
  let i0 = block * 4u;
  if (i0 >= length) { return; }
  let words = randomBlock(params.seed, params.stream, params.step, block);
  var c = (i0 / params.area) % params.channels;
  var s = i0 % params.area;
  for (var k = 0u; k < 4u; k++) {
    let i = i0 + k;
    if (i < length) {
      let n = (x[i] - stats[c]) * (stats[params.channels + c] * gamma[c]) + beta[c];
      let m = select(0.0, params.scale, words[k] >= params.threshold);
      mask[i] = m;
      y[i] = n * m;
    }
    s += 1u;
    if (s == params.area) {
      s = 0u;
      c += 1u;
      if (c == params.channels) { c = 0u; }
    }
  }
#endif
}
