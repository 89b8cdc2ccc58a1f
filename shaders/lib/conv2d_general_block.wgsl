// A block of channels' sums at four columns (conv2d_general_forward, conv2d_general_backward_input):
// in a block of 4 channels, sums[J] holds column J's sums of the four channels; in a block of 1,
// sums[0] holds the four columns' sums of the one channel. The kernel declares weight and appends
// shaders/lib/conv2d_general.wgsl.

// sums plus the four columns' values v times the block's weights weight[w + k]: four channels,
// each column's value times the four weights (one load each for the four columns); one channel,
// v times its weight.
fn addProducts(sums: array<vec4f, 4>, v: vec4f, w: vec4u, k: u32, block: u32) -> array<vec4f, 4> {
  if (block == 4u) {
    return addBlockProducts(sums, v, vec4f(weight[w.x + k], weight[w.y + k], weight[w.z + k], weight[w.w + k]));
  }
  var s = sums;
  s[0] += v * weight[w.x + k];
  return s;
}

// A block of four channels' sums plus the four columns' values v times the four channels' weights wv.
fn addBlockProducts(sums: array<vec4f, 4>, v: vec4f, wv: vec4f) -> array<vec4f, 4> {
  var s = sums;
  s[0] += v.x * wv;
  s[1] += v.y * wv;
  s[2] += v.z * wv;
  s[3] += v.w * wv;
  return s;
}

// The block's channel j's sums at the four columns.
fn channelSums(sums: array<vec4f, 4>, j: u32, block: u32) -> vec4f {
  return select(sums[0], vec4f(sums[0][j], sums[1][j], sums[2][j], sums[3][j]), block == 4u);
}
