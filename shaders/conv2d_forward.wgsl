// conv2d_forward: y = conv2d(x, weight), no bias; overwrites y.
//   x [batch, inChannels, height, width], weight [outChannels, inChannels, kernelH, kernelW]
//   (PyTorch's layout), y [batch, outChannels, outHeight, outWidth]; NCHW, zero padding.
//   Workgroup: WG_X output pixels p = (b·outHeight + oy)·outWidth + ox (global_invocation_id.x)
//   × one tile of OUT_TILE output channels (workgroup_id.y). Each invocation accumulates the
//   OUT_TILE outputs of its pixel in four vec4s. The tile's weights are staged in workgroup
//   memory, as many input channels at a time as fit in WEIGHT_TILE vec4s, laid out
//   [ci][ky][kx][output channel / 4] so that one input value meets four vec4s of weights.
//   Sum order, per staged chunk of input channels: ky, kx, then ci increasing.
//   Control flow in the sum is uniform: a pixel beyond the end computes from a clamped address
//   and is not stored, and padding reads a clamped address and uses 0.

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
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> weight: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;

override WG_X: u32;
override WG_Y: u32;

const OUT_TILE = 16u;
const WEIGHT_TILE = 576u;

var<workgroup> tile: array<vec4f, WEIGHT_TILE>;

@compute @workgroup_size(WG_X, WG_Y)
fn conv2d_forward(
  @builtin(global_invocation_id) gid: vec3u,
  @builtin(workgroup_id) wid: vec3u,
  @builtin(local_invocation_index) lid: u32,
) {
  let outArea = params.outHeight * params.outWidth;
  let pixels = params.batch * outArea;
  let p = min(gid.x, pixels - 1u);
  let b = p / outArea;
  let r = p % outArea;
  let oy = r / params.outWidth;
  let ox = r % params.outWidth;
  let iy0 = i32(oy * params.stride) - i32(params.padding);
  let ix0 = i32(ox * params.stride) - i32(params.padding);
  let plane = params.height * params.width;
  let kArea = params.kernelH * params.kernelW;
  let ocBase = wid.y * OUT_TILE;
  // A staged channel takes 4·kArea vec4s (one vec4 per tap and 4 channels of the tile), so
  // WEIGHT_TILE / (4·kArea) input channels fit; at least one, so the loop always advances
  // (kArea must be ≤ WEIGHT_TILE / 4 for a channel to fit).
  let chunk = max(WEIGHT_TILE / (4u * kArea), 1u);

  var acc0 = vec4f(0.0);
  var acc1 = vec4f(0.0);
  var acc2 = vec4f(0.0);
  var acc3 = vec4f(0.0);
  for (var ci0 = 0u; ci0 < params.inChannels; ci0 += chunk) {
    let count = min(chunk, params.inChannels - ci0);
    workgroupBarrier();
    for (var i = lid; i < count * kArea * 4u; i += WG_X * WG_Y) {
      let t = i / 4u;
      let c = t / kArea;
      let k = t % kArea;
      var w = vec4f(0.0);
      for (var e = 0u; e < 4u; e++) {
        let oc = ocBase + (i % 4u) * 4u + e;
        if (oc < params.outChannels) {
          w[e] = weight[(oc * params.inChannels + ci0 + c) * kArea + k];
        }
      }
      tile[i] = w;
    }
    workgroupBarrier();
    let inputBase = (b * params.inChannels + ci0) * plane;
    for (var ky = 0u; ky < params.kernelH; ky++) {
      let iy = iy0 + i32(ky);
      let rowInside = iy >= 0 && iy < i32(params.height);
      let row = u32(clamp(iy, 0, i32(params.height) - 1)) * params.width;
      for (var kx = 0u; kx < params.kernelW; kx++) {
        let ix = ix0 + i32(kx);
        let inside = rowInside && ix >= 0 && ix < i32(params.width);
        let at = inputBase + row + u32(clamp(ix, 0, i32(params.width) - 1));
        let k = ky * params.kernelW + kx;
        for (var c = 0u; c < count; c++) {
          let v = vec4f(select(0.0, x[at + c * plane], inside));
          let w = (c * kArea + k) * 4u;
          acc0 = fma(v, tile[w], acc0);
          acc1 = fma(v, tile[w + 1u], acc1);
          acc2 = fma(v, tile[w + 2u], acc2);
          acc3 = fma(v, tile[w + 3u], acc3);
        }
      }
    }
  }
  if (gid.x >= pixels) { return; }
  var out = array<vec4f, 4>(acc0, acc1, acc2, acc3);
  for (var o = 0u; o < OUT_TILE; o++) {
    let oc = ocBase + o;
    if (oc < params.outChannels) {
      y[(b * params.outChannels + oc) * outArea + r] = out[o / 4u][o % 4u];
    }
  }
}
