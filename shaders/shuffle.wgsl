// shuffle: PyTorch's element permutations of [C, H, W] samples (src/layers/shuffle.ts); overwrites
// y. Each output element gathers the input element it is, so one source serves every direction:
// a permutation's gradient is its inverse, run the same way.
//   (default)        PixelShuffle(r): [C·r², H, W] → [C, H·r, W·r]; y[c, h·r + i, w·r + j] = x[c·r² + i·r + j, h, w]
//   PIXEL_UNSHUFFLE  PixelUnshuffle(r): [C, H·r, W·r] → [C·r², H, W], the inverse
//   CHANNEL_SHUFFLE  ChannelShuffle(g): [g·k, H, W], channels viewed as (g, k) and transposed to
//                    (k, g): y[j·g + i] = x[i·k + j] (its inverse: ChannelShuffle(k))
//   `outChannels`, `outH`, `outW` the output's per-sample shape, `factor` r or g.
//   One invocation per output element.

struct Params {
  count: u32,
  outChannels: u32,
  outH: u32,
  outW: u32,
  factor: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

override WG_X: u32;

@compute @workgroup_size(WG_X)
fn shuffle(@builtin(global_invocation_id) gid3: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let gid = linearInvocation(gid3, nwg);
  let o = gid.x;
  if (o >= params.count) { return; }
  let area = params.outH * params.outW;
  let perSample = params.outChannels * area;
  let n = o / perSample;
  let c = (o % perSample) / area;
  let yy = (o % area) / params.outW;
  let xx = o % params.outW;
  let r = params.factor;
#if PIXEL_UNSHUFFLE
  // Input [outChannels / r², outH·r, outW·r]: channel c = c0·r² + i·r + j reads (c0, yy·r + i, xx·r + j).
  let c0 = c / (r * r);
  let i = (c / r) % r;
  let j = c % r;
  let inH = params.outH * r;
  let inW = params.outW * r;
  y[o] = x[((n * (params.outChannels / (r * r)) + c0) * inH + yy * r + i) * inW + xx * r + j];
#elif CHANNEL_SHUFFLE
  // Output channel j·g + i is input channel i·k + j (k = channels / g); the plane moves whole.
  let k = params.outChannels / r;
  let source = (c % r) * k + c / r;
  y[o] = x[(n * params.outChannels + source) * area + yy * params.outW + xx];
#else
  // Input [outChannels·r², outH / r, outW / r].
  let inH = params.outH / r;
  let inW = params.outW / r;
  let source = c * r * r + (yy % r) * r + xx % r;
  y[o] = x[((n * params.outChannels * r * r + source) * inH + yy / r) * inW + xx / r];
#endif
}
