// batchnorm_backward_input: the input gradient of training-mode BatchNorm2d; overwrites dx.
//   dx = gamma·invStd/M · (M·dy − Σdy − x̂·Σ(dy·x̂)),  x̂ = (x − mean)·invStd,  M = batch·area,
//   with Σdy = dbeta and Σ(dy·x̂) = dgamma from batchnorm_backward_reduce.
//   With reluInput = 1 the batch norm's input x is a ReLU's output, and dx also takes the ReLU's
//   gradient: dx = 0 where x ≤ 0, a NaN x passing it (relu_backward fused in, one pass fewer; reluPasses4).
//   Variant DROPOUT (a Dropout after the batch norm, its backward fused in): dy is the gradient
//   at the dropout's output, taken times each element's mask value first (mask bits as
//   dropout_forward draws them, shaders/lib/dropout_mask.wgsl; 0 or dropoutScale), as
//   batchnorm_backward_reduce's DROPOUT does.
//   x, dy, dx [batch, channels, area]; stats [2, channels]. One invocation per 32 elements (a mask
//   word): i = 32·gid.x … 32·gid.x + 31 of the flat index, their channel found once and its values
//   read again only where a plane ends (as batchnorm_dropout_forward), and the mask word once.
//   lavapipe pays a load per invocation for every value, uniform or not: with one invocation per
//   quad, in workgroups along each plane's rows (a 6 × 6 plane used 9 of its 64 invocations), the
//   seed CNN's convblock4–7 took 0.5–1.1 ms each at batch 128, 0.3–0.8 ms so (convblock1 and 2,
//   bound by their 9–28 MB of traffic, the same within noise; bench:profile, alternated). Variant
//   VEC4 (area a multiple of 4): dy, x and dx read and written as vec4s, each quad one vec4.

struct Params {
  batch: u32,
  channels: u32,
  area: u32,
  reluInput: u32,
  dropoutScale: f32,
}

@group(0) @binding(0) var<uniform> params: Params;
#if VEC4
@group(0) @binding(1) var<storage, read> dy: array<vec4f>;
@group(0) @binding(2) var<storage, read> x: array<vec4f>;
#else
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
#endif
@group(0) @binding(3) var<storage, read> stats: array<f32>;
@group(0) @binding(4) var<storage, read> gamma: array<f32>;
@group(0) @binding(5) var<storage, read> dgamma: array<f32>;
@group(0) @binding(6) var<storage, read> dbeta: array<f32>;
#if VEC4
@group(0) @binding(7) var<storage, read_write> dx: array<vec4f>;
#else
@group(0) @binding(7) var<storage, read_write> dx: array<f32>;
#endif
#if DROPOUT
@group(0) @binding(8) var<storage, read> mask: array<u32>;
#endif

override WG_X: u32;

// Channel c's values the gradient needs (read again only where the elements reach a new plane).
struct Channel {
  mean: f32,
  invStd: f32,
  scale: f32,
  db: f32,
  dg: f32,
}

fn channel(c: u32, m: f32) -> Channel {
  let invStd = stats[params.channels + c];
  return Channel(stats[c], invStd, gamma[c] * invStd / m, dbeta[c], dgamma[c]);
}

// dx of four elements of channel k: scale·(M·dy − Σdy − x̂·Σ(dy·x̂)), 0 where x ≤ 0 under a ReLU
// (the scalar variant passes one element in all four components and keeps the first).
fn gradient4(k: Channel, m: f32, xs: vec4f, dys: vec4f) -> vec4f {
  let g = k.scale * (m * dys - k.db - (xs - k.mean) * k.invStd * k.dg);
  return select(g, vec4f(0.0), vec4<bool>(params.reluInput == 1u) & !reluPasses4(xs));
}

@compute @workgroup_size(WG_X)
fn batchnorm_backward_input(@builtin(global_invocation_id) gid3: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let gid = linearInvocation(gid3, nwg);
  let word = gid.x;
  let length = params.batch * params.channels * params.area;
  if (word * 32u >= length) { return; }
  let m = f32(params.batch * params.area);
#if DROPOUT
  let bits = mask[word];
#endif
#if VEC4
  let quads = params.area / 4u;
  var c = (word * 8u / quads) % params.channels;
  var s = word * 8u % quads;
  var k = channel(c, m);
  for (var q = 0u; q < 8u; q++) {
    let block = word * 8u + q;
    if (block * 4u < length) {
#if DROPOUT
      let dys = dy[block] * maskQuad(bits >> (4u * q), params.dropoutScale);
#else
      let dys = dy[block];
#endif
      dx[block] = gradient4(k, m, x[block], dys);
    }
    s += 1u;
    if (s == quads) {
      s = 0u;
      c += 1u;
      if (c == params.channels) { c = 0u; }
      k = channel(c, m);
    }
  }
#else
  let i0 = word * 32u;
  var c = (i0 / params.area) % params.channels;
  var s = i0 % params.area;
  var k = channel(c, m);
  for (var e = 0u; e < 32u; e++) {
    let i = i0 + e;
    if (i < length) {
#if DROPOUT
      let dys = dy[i] * maskAt(bits, e, params.dropoutScale);
#else
      let dys = dy[i];
#endif
      dx[i] = gradient4(k, m, vec4f(x[i]), vec4f(dys)).x;
    }
    s += 1u;
    if (s == params.area) {
      s = 0u;
      c += 1u;
      if (c == params.channels) { c = 0u; }
      k = channel(c, m);
    }
  }
#endif
}
