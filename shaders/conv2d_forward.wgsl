// conv2d_forward: y = conv2d(x, weight), no bias; overwrites y. Variant RELU (a generator option):
// y = max(conv2d(x, weight), 0), a ReLU that follows the convolution applied as the sums are stored
// (shaders/lib/relu.wgsl's reluBits: a NaN kept, as PyTorch's relu keeps it).
//   x [batch, inChannels, height, width], y [batch, outChannels, outHeight, outWidth]; NCHW, zero
//   padding. weight: the layer's weight [outChannels, inChannels, kernelH, kernelW] packed by
//   conv2d_pack_weights as [inChannel][tap][outChannel] vec4s (output channels channelBase ..
//   channelBase + channelCount, padded to whole tiles, rowVec4s vec4s a row), read as a uniform array.
//   The body, `convTile`, is generated for the tile shape and kernel geometry by
//   src/kernels/conv-tile.ts (one skeleton with conv2d_backward_input): see there for the
//   invocation layout and the summation order (input channel, then ky, kx ascending).
//   Variants IN_VEC4, IN_VEC2 (x read as vec4s, vec2s: stride 1, width a multiple of 4, 2) and
//   OUT_VEC4, OUT_VEC2 (y written as vec4s, vec2s: outWidth a multiple of 4, 2); the same bits.
//   Variant STATS (fusion rule batchnorm-stats-epilogue): also writes the partial moments of y
//   per channel, moments [outChannels, statsSlots, 3] (count, mean, M2 of the values stored), for
//   batchnorm_stats_merge (the generator's statsEpilogue says which invocations take which slot).
//   Variant POOL (fusion rule maxpool-epilogue; the generator's `pool`, scalar stores): y is the
//   2×2 max pool of the convolution, [batch, outChannels, outHeight / 2, outWidth / 2] (floored),
//   and argmax [the same] the flat index into the convolution's output of each value, as
//   maxpool2x2_forward writes them (the generator's poolEpilogue).
//   Variant BIAS (a Conv2d with bias): y = conv2d(x, weight) + bias[outChannel], the bias added
//   to the sums before the ReLU, statistics or max pool (the generator's biasEpilogue); bias
//   [outChannels].
//   Variant NORM_MASK (the 4-column tile only; no plan fusion uses it yet): x is
//   a training BatchNorm2d's input, and the layer convolves that batch norm's output after the
//   Dropout behind it, computed as x is loaded from affine [inChannels] (vec4s: mean,
//   invStd·gamma, beta, the dropout's scale, as batchnorm_dropout_forward's MASK_ONLY writes them)
//   and dropMask (its mask bits, the flat index of x): the generator's NORM_MASK_FUNCTIONS, the
//   batch norm pass's expressions, so the same bits as convolving its stored output.

#if W_SHARED
enable subgroups;
diagnostic(off, subgroup_uniformity);
#endif

struct Params {
  batch: u32,
  inChannels: u32,
  height: u32,
  width: u32,
  outChannels: u32,
  kernelH: u32,
  kernelW: u32,
  stride: u32,
  padding: u32,
  outHeight: u32,
  outWidth: u32,
  channelBase: u32,
  channelCount: u32,
  rowVec4s: u32,
  statsSlots: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
#if IN_VEC4
@group(0) @binding(1) var<storage, read> x: array<vec4f>;
#elif IN_VEC2
@group(0) @binding(1) var<storage, read> x: array<vec2f>;
#else
@group(0) @binding(1) var<storage, read> x: array<f32>;
#endif
@group(0) @binding(2) var<uniform> weight: array<vec4f, WEIGHT_VEC4S>;
#if OUT_VEC4
@group(0) @binding(3) var<storage, read_write> y: array<vec4f>;
#elif OUT_VEC2
@group(0) @binding(3) var<storage, read_write> y: array<vec2f>;
#else
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
#endif
#if STATS
@group(0) @binding(4) var<storage, read_write> moments: array<f32>;
#endif
#if POOL
@group(0) @binding(5) var<storage, read_write> argmax: array<u32>;
#endif
#if BIAS
@group(0) @binding(6) var<storage, read> bias: array<f32>;
#endif
#if NORM_MASK
@group(0) @binding(7) var<storage, read> affine: array<vec4f>;
@group(0) @binding(8) var<storage, read> dropMask: array<u32>;
#endif

override WG_X: u32;
override WG_Y: u32;

@compute @workgroup_size(WG_X, WG_Y)
#if W_SHARED
fn conv2d_forward(@builtin(global_invocation_id) gid: vec3u, @builtin(workgroup_id) wid: vec3u, @builtin(subgroup_invocation_id) lane: u32, @builtin(subgroup_size) subgroupSize: u32) {
  convTile(gid.x, wid.y, lane, subgroupSize);
}
#else
fn conv2d_forward(@builtin(global_invocation_id) gid: vec3u, @builtin(workgroup_id) wid: vec3u) {
  convTile(gid.x, wid.y, 0u, 0u);
}
#endif
