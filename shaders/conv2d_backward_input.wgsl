// conv2d_backward_input: dx = ∂loss/∂x of y = conv2d(x, weight); overwrites dx.
//   dx[b, ci, iy, ix] = Σ_{co, ky, kx} dy[b, co, oy, ox] · weight[co, ci, ky, kx]
//   over the (oy, ox) with oy·stride − padding + ky = iy (and the same for x).
//   dy [batch, outChannels, outHeight, outWidth], weight [outChannels, inChannels, kernelH, kernelW],
//   dx [batch, inChannels, height, width]; NCHW.
//   Workgroup: WG_X input pixels p = (b·height + iy)·width + ix (global_invocation_id.x) × one tile
//   of IN_TILE input channels (workgroup_id.y). Each invocation accumulates the IN_TILE gradients
//   of its pixel in four vec4s. The weights of the tile are staged in workgroup memory, as many
//   output channels at a time as fit in WEIGHT_TILE vec4s, laid out [co][ky][kx][input channel / 4].
//   Sum order, per staged chunk of output channels: ky, kx, then co increasing.
//   Control flow in the sum is uniform (clamped addresses, 0 where no output pixel exists).

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
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> weight: array<f32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;

override WG_X: u32;
override WG_Y: u32;

const IN_TILE = 16u;
const WEIGHT_TILE = 576u;

var<workgroup> tile: array<vec4f, WEIGHT_TILE>;

// The output coordinate that input coordinate `at` meets through kernel tap `k`, clamped into
// range, and whether it exists: o·stride − padding + k = at.
fn source(at: u32, k: u32, size: u32) -> vec2i {
  let shifted = i32(at + params.padding) - i32(k);
  let o = shifted / i32(params.stride);
  let exists = shifted >= 0 && shifted % i32(params.stride) == 0 && o < i32(size);
  return vec2i(clamp(o, 0, i32(size) - 1), select(0, 1, exists));
}

@compute @workgroup_size(WG_X, WG_Y)
fn conv2d_backward_input(
  @builtin(global_invocation_id) gid: vec3u,
  @builtin(workgroup_id) wid: vec3u,
  @builtin(local_invocation_index) lid: u32,
) {
  let area = params.height * params.width;
  let pixels = params.batch * area;
  let p = min(gid.x, pixels - 1u);
  let b = p / area;
  let r = p % area;
  let iy = r / params.width;
  let ix = r % params.width;
  let outArea = params.outHeight * params.outWidth;
  let kArea = params.kernelH * params.kernelW;
  let ciBase = wid.y * IN_TILE;
  // A staged channel takes 4·kArea vec4s (one vec4 per tap and 4 channels of the tile), so
  // WEIGHT_TILE / (4·kArea) output channels fit; at least one, so the loop always advances
  // (kArea must be ≤ WEIGHT_TILE / 4 for a channel to fit).
  let chunk = max(WEIGHT_TILE / (4u * kArea), 1u);

  var acc0 = vec4f(0.0);
  var acc1 = vec4f(0.0);
  var acc2 = vec4f(0.0);
  var acc3 = vec4f(0.0);
  for (var co0 = 0u; co0 < params.outChannels; co0 += chunk) {
    let count = min(chunk, params.outChannels - co0);
    workgroupBarrier();
    for (var i = lid; i < count * kArea * 4u; i += WG_X * WG_Y) {
      let t = i / 4u;
      let c = t / kArea;
      let k = t % kArea;
      var w = vec4f(0.0);
      for (var e = 0u; e < 4u; e++) {
        let ci = ciBase + (i % 4u) * 4u + e;
        if (ci < params.inChannels) {
          w[e] = weight[((co0 + c) * params.inChannels + ci) * kArea + k];
        }
      }
      tile[i] = w;
    }
    workgroupBarrier();
    let gradBase = (b * params.outChannels + co0) * outArea;
    for (var ky = 0u; ky < params.kernelH; ky++) {
      let sy = source(iy, ky, params.outHeight);
      for (var kx = 0u; kx < params.kernelW; kx++) {
        let sx = source(ix, kx, params.outWidth);
        let exists = sy.y * sx.y == 1;
        let at = gradBase + u32(sy.x) * params.outWidth + u32(sx.x);
        let k = ky * params.kernelW + kx;
        for (var c = 0u; c < count; c++) {
          let g = vec4f(select(0.0, dy[at + c * outArea], exists));
          let w = (c * kArea + k) * 4u;
          acc0 = fma(g, tile[w], acc0);
          acc1 = fma(g, tile[w + 1u], acc1);
          acc2 = fma(g, tile[w + 2u], acc2);
          acc3 = fma(g, tile[w + 3u], acc3);
        }
      }
    }
  }
  if (gid.x >= pixels) { return; }
  var out = array<vec4f, 4>(acc0, acc1, acc2, acc3);
  for (var i = 0u; i < IN_TILE; i++) {
    let ci = ciBase + i;
    if (ci < params.inChannels) {
      dx[(b * params.inChannels + ci) * area + r] = out[i / 4u][i % 4u];
    }
  }
}
