// conv2d_backward_weight: partial sums of dweight = ∂loss/∂weight of y = conv2d(x, weight);
// overwrites partial. conv2d_backward_weight_reduce adds the partial sums into dweight.
//   partial[s, co, ci, ky, kx] = Σ over output pixels p in split s of
//                                dy[b, co, oy, ox] · x[b, ci, oy·stride − padding + ky, ox·stride − padding + kx]
//   with p = (b·outHeight + oy)·outWidth + ox, split s covering p in [s·splitPixels, (s+1)·splitPixels).
//   x [batch, inChannels, height, width], dy [batch, outChannels, outHeight, outWidth],
//   partial [splits, outChannels, inChannels, kernelH, kernelW]; NCHW.
//   Workgroup: WG_X weight taps e = (ci·kernelH + ky)·kernelW + kx (global_invocation_id.x) × one
//   tile of OUT_TILE output channels (workgroup_id.y) × one split (workgroup_id.z). Each
//   invocation accumulates its tap for the OUT_TILE channels in four vec4s. The output gradients
//   of PIXEL_TILE pixels at a time are staged in workgroup memory ([pixel][channel / 4]), with
//   each pixel's input offset, so the loop over pixels holds no division.
//   Sum order: pixels increasing within the split.

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
  splitPixels: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read_write> partial: array<f32>;

override WG_X: u32;
override WG_Y: u32;
override WG_Z: u32;

const OUT_TILE = 16u;
const PIXEL_TILE = 64u;

var<workgroup> grads: array<vec4f, PIXEL_TILE * 4u>;
// Per staged pixel: the x offset of its tap (0, 0) for channel 0, and its top-left input row and column.
var<workgroup> origin: array<vec3i, PIXEL_TILE>;

@compute @workgroup_size(WG_X, WG_Y, WG_Z)
fn conv2d_backward_weight(
  @builtin(global_invocation_id) gid: vec3u,
  @builtin(workgroup_id) wid: vec3u,
  @builtin(local_invocation_index) lid: u32,
) {
  let kArea = params.kernelH * params.kernelW;
  let taps = params.inChannels * kArea;
  let e = min(gid.x, taps - 1u);
  let ci = e / kArea;
  let ky = (e % kArea) / params.kernelW;
  let kx = e % params.kernelW;
  let plane = params.height * params.width;
  let tapOffset = i32(ci * plane + ky * params.width + kx);
  let outArea = params.outHeight * params.outWidth;
  let pixels = params.batch * outArea;
  let ocBase = wid.y * OUT_TILE;
  let first = wid.z * params.splitPixels;
  let last = min(first + params.splitPixels, pixels);
  let threads = WG_X * WG_Y * WG_Z;

  var acc0 = vec4f(0.0);
  var acc1 = vec4f(0.0);
  var acc2 = vec4f(0.0);
  var acc3 = vec4f(0.0);
  for (var p0 = first; p0 < last; p0 += PIXEL_TILE) {
    let count = min(PIXEL_TILE, last - p0);
    workgroupBarrier();
    for (var i = lid; i < count * 4u; i += threads) {
      let p = p0 + i / 4u;
      let b = p / outArea;
      let r = p % outArea;
      var g = vec4f(0.0);
      for (var q = 0u; q < 4u; q++) {
        let oc = ocBase + (i % 4u) * 4u + q;
        if (oc < params.outChannels) {
          g[q] = dy[(b * params.outChannels + oc) * outArea + r];
        }
      }
      grads[i] = g;
    }
    for (var j = lid; j < count; j += threads) {
      let p = p0 + j;
      let b = p / outArea;
      let r = p % outArea;
      let top = i32((r / params.outWidth) * params.stride) - i32(params.padding);
      let left = i32((r % params.outWidth) * params.stride) - i32(params.padding);
      origin[j] = vec3i(i32(b * params.inChannels * plane) + top * i32(params.width) + left, top, left);
    }
    workgroupBarrier();
    for (var j = 0u; j < count; j++) {
      let o = origin[j];
      let iy = o.y + i32(ky);
      let ix = o.z + i32(kx);
      let inside = iy >= 0 && iy < i32(params.height) && ix >= 0 && ix < i32(params.width);
      let at = select(0, o.x + tapOffset, inside);
      let v = vec4f(select(0.0, x[u32(at)], inside));
      acc0 = fma(v, grads[j * 4u], acc0);
      acc1 = fma(v, grads[j * 4u + 1u], acc1);
      acc2 = fma(v, grads[j * 4u + 2u], acc2);
      acc3 = fma(v, grads[j * 4u + 3u], acc3);
    }
  }
  if (gid.x >= taps) { return; }
  var out = array<vec4f, 4>(acc0, acc1, acc2, acc3);
  let splitBase = wid.z * params.outChannels * taps;
  for (var o = 0u; o < OUT_TILE; o++) {
    let oc = ocBase + o;
    if (oc < params.outChannels) {
      partial[splitBase + oc * taps + e] = out[o / 4u][o % 4u];
    }
  }
}
