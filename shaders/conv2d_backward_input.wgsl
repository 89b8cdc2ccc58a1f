// conv2d_backward_input: dx = ∂loss/∂x of y = conv2d(x, weight); overwrites dx.
//   dx[b, ci, iy, ix] = Σ_{co, ky, kx} dy[b, co, oy, ox] · weight[co, ci, ky, kx]
//   over the (oy, ox) with oy·stride − padding + ky = iy (and the same for x).
//   dy [batch, outChannels, outHeight, outWidth], weight [outChannels, inChannels, kernelH, kernelW],
//   dx [batch, inChannels, height, width]; NCHW.
//   A GEMM over the taps k = (co·kernelH + ky)·kernelW + (kernelW − 1 − kx) (kx descending):
//   dx[b, ci, pixel] = Σ_k in(pixel, k) · weight[co, ci, ky, kx], in = the dy value the tap meets (or 0).
//   Invocation (global_invocation_id.x) = a block of ROWS rows × 4 columns of dx of one image,
//   blk = (b·⌈height/ROWS⌉ + iy0/ROWS)·⌈width/4⌉ + ix0/4, × the IN_TILE input channels of tile
//   workgroup_id.y. Its ROWS × 4 × IN_TILE sums stay in registers: per row, Q = IN_TILE/4
//   mat4x4f (column e = channel 4q + e, the 4 rows = the 4 pixels), so each weight read feeds
//   4·ROWS products and each dy value read feeds IN_TILE.
//   Workgroup memory: the tile's weights for CHUNK taps at a time, [tap][channel / 4] as vec4s.
//   dy is read straight from global memory (neighbouring invocations read adjacent columns).
//   The taps go three at a time (a step): per dx row, a [4 pixels × 3 taps] matrix of dy values
//   times a [3 taps × 4 channels] matrix of weights per vec4 of channels. The dy values of a step:
//   - 3×3 kernel, stride 1 (any padding): a step is one kernel row (co, ky), kx = 2, 1, 0; dx row
//     iy reads dy row iy + padding − ky at 6 columns once and takes the three 4-pixel windows;
//   - any other kernel or stride: each tap on its own (0 where no output pixel meets the input
//     pixel through it, and for the taps past the last, up to a multiple of 3, with weight 0).
//   Sum order, per dx value: taps in increasing k, added onto the sum one at a time (multiply-add).
//   The block's sums are written once at the end, those inside dx.
//   Control flow in the sums is uniform: a block beyond the end computes from clamped addresses
//   and is not stored; pixels and channels beyond the edges are computed and not stored.

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

/** dx rows per invocation (a0..a3 below). */
const ROWS = 4u;
/** Input channels per invocation and per workgroup tile. */
const IN_TILE = 16u;
const Q = IN_TILE / 4u;
const WEIGHT_TILE = 576u;
/** Taps staged at a time (a multiple of 3: whole steps). */
const CHUNK = WEIGHT_TILE / Q;

var<workgroup> tile: array<vec4f, WEIGHT_TILE>;

// quad3 and rowStep (the register tile): shaders/lib/conv_tile.wgsl.

// 3×3 path: dy row oy of plane `base` at the block's 6 columns, as the windows of kx = 2, 1, 0.
fn windows(base: u32, oy: i32, col: array<u32, 6>, colIn: array<bool, 6>) -> mat3x4f {
  let inside = oy >= 0 && oy < i32(params.outHeight);
  let at = base + u32(clamp(oy, 0, i32(params.outHeight) - 1)) * params.outWidth;
  var v: array<f32, 6>;
  for (var j = 0u; j < 6u; j++) {
    v[j] = select(0.0, dy[at + col[j]], inside && colIn[j]);
  }
  return mat3x4f(vec4f(v[0], v[1], v[2], v[3]), vec4f(v[1], v[2], v[3], v[4]), vec4f(v[2], v[3], v[4], v[5]));
}

// The output coordinate that input coordinate `at` meets through kernel tap `k` (clamped into
// range) and whether it exists: o·stride − padding + k = at.
fn source(at: i32, k: u32, size: u32) -> vec2i {
  let shifted = at + i32(params.padding) - i32(k);
  let s = i32(params.stride);
  var o = shifted;
  var exists = shifted >= 0;
  if (s != 1) {
    o = shifted / s;
    exists = exists && shifted % s == 0;
  }
  exists = exists && o < i32(size);
  return vec2i(clamp(o, 0, i32(size) - 1), select(0, 1, exists));
}

// Other path: the 4 pixels of dx row iy (left column ix) at the step's taps t[i] = (plane
// offset, ky, kx); 0 where no output pixel meets them.
fn taps(t: array<vec3u, 3>, iy: i32, ix: i32) -> mat3x4f {
  var r: mat3x4f;
  for (var i = 0u; i < 3u; i++) {
    let sy = source(iy, t[i].y, params.outHeight);
    let at = t[i].x + u32(sy.x) * params.outWidth;
    for (var j = 0u; j < 4u; j++) {
      let sx = source(ix + i32(j), t[i].z, params.outWidth);
      r[i][j] = select(0.0, dy[at + u32(sx.x)], sy.y * sx.y == 1);
    }
  }
  return r;
}

@compute @workgroup_size(WG_X, WG_Y)
fn conv2d_backward_input(
  @builtin(global_invocation_id) gid: vec3u,
  @builtin(workgroup_id) wid: vec3u,
  @builtin(local_invocation_index) lid: u32,
) {
  let quads = (params.width + 3u) / 4u;
  let blockRows = (params.height + ROWS - 1u) / ROWS;
  let blocks = params.batch * blockRows * quads;
  let blk = min(gid.x, blocks - 1u);
  let b = blk / (blockRows * quads);
  let iy0 = (blk / quads) % blockRows * ROWS;
  let ix0 = blk % quads * 4u;
  let p = i32(params.padding);
  let outW = i32(params.outWidth);
  let outArea = params.outHeight * params.outWidth;
  let kW = params.kernelW;
  let kH = params.kernelH;
  let kArea = kH * kW;
  let taps3 = params.outChannels * kArea;
  let ciBase = wid.y * IN_TILE;
  let fast = kH == 3u && kW == 3u && params.stride == 1u;
  let rowCount = min(ROWS, params.height - iy0);
  // dy columns of the 3×3 path: ix0 + padding − 2 + j, j = 0..5, clamped, and whether inside.
  var col: array<u32, 6>;
  var colIn: array<bool, 6>;
  for (var j = 0u; j < 6u; j++) {
    let ox = i32(ix0) + p - 2 + i32(j);
    col[j] = u32(clamp(ox, 0, outW - 1));
    colIn[j] = ox >= 0 && ox < outW;
  }

  var a0: array<mat4x4f, Q>;
  var a1: array<mat4x4f, Q>;
  var a2: array<mat4x4f, Q>;
  var a3: array<mat4x4f, Q>;
  // The next tap (co, ky, kx), kx descending.
  var co = 0u;
  var ky = 0u;
  var kx = kW - 1u;
  for (var k0 = 0u; k0 < taps3; k0 += CHUNK) {
    // Taps k0 .. k0 + count (rounded up to whole steps; weight 0 past the last).
    let count = min(CHUNK, (taps3 - k0 + 2u) / 3u * 3u);
    workgroupBarrier();
    for (var i = lid; i < count * Q; i += WG_X * WG_Y) {
      // Tap k = (c·kernelH + ky)·kernelW + kernelW − 1 − kx is weight element c·kArea + r.
      let k = k0 + i / Q;
      let c = k / kArea;
      let r = k % kArea + kW - 1u - 2u * (k % kW);
      var w = vec4f(0.0);
      for (var e = 0u; e < 4u; e++) {
        let ci = ciBase + (i % Q) * 4u + e;
        if (ci < params.inChannels && k < taps3) {
          w[e] = weight[(c * params.inChannels + ci) * kArea + r];
        }
      }
      tile[i] = w;
    }
    workgroupBarrier();
    for (var step = 0u; step < count; step += 3u) {
      // Plane offset, ky, kx of the step's taps.
      var t: array<vec3u, 3>;
      for (var i = 0u; i < 3u; i++) {
        t[i] = vec3u((b * params.outChannels + min(co, params.outChannels - 1u)) * outArea, ky, kx);
        if (kx == 0u) {
          kx = kW - 1u;
          ky += 1u;
          if (ky == kH) { ky = 0u; co += 1u; }
        } else {
          kx -= 1u;
        }
      }
      var r0: mat3x4f;
      var r1: mat3x4f;
      var r2: mat3x4f;
      var r3: mat3x4f;
      if (fast) {
        r0 = windows(t[0].x, i32(iy0) + 0 + p - i32(t[0].y), col, colIn);
        r1 = windows(t[0].x, i32(iy0) + 1 + p - i32(t[0].y), col, colIn);
        r2 = windows(t[0].x, i32(iy0) + 2 + p - i32(t[0].y), col, colIn);
        r3 = windows(t[0].x, i32(iy0) + 3 + p - i32(t[0].y), col, colIn);
      } else {
        // One copy of the loads, in a loop over a count known only at run time (the shader
        // stays small to compile), through a private array.
        var rs: array<mat3x4f, ROWS>;
        for (var py = 0u; py < rowCount; py++) {
          rs[py] = taps(t, i32(iy0 + py), i32(ix0));
        }
        r0 = rs[0];
        r1 = rs[1];
        r2 = rs[2];
        r3 = rs[3];
      }
      var w: array<mat4x3f, Q>;
      for (var q = 0u; q < Q; q++) {
        let at = step * Q + q;
        w[q] = transpose(mat3x4f(tile[at], tile[at + Q], tile[at + 2u * Q]));
      }
      a0 = rowStep(a0, r0, w);
      a1 = rowStep(a1, r1, w);
      a2 = rowStep(a2, r2, w);
      a3 = rowStep(a3, r3, w);
    }
  }
  if (gid.x >= blocks) { return; }
  // The stores loop over counts known only at run time (the rows and channels inside), so they
  // stay loops, and pick the sums with selects rather than index a copy of them (both keep the
  // shader small to compile).
  let quadCount = min(Q, (params.inChannels - ciBase + 3u) / 4u);
  let area = params.height * params.width;
  for (var py = 0u; py < rowCount; py++) {
    var row = a0;
    if (py == 1u) { row = a1; }
    if (py == 2u) { row = a2; }
    if (py == 3u) { row = a3; }
    for (var q = 0u; q < quadCount; q++) {
      var m = row[0];
      if (q == 1u) { m = row[1]; }
      if (q == 2u) { m = row[2]; }
      if (q == 3u) { m = row[3]; }
      for (var e = 0u; e < 4u; e++) {
        let ci = ciBase + q * 4u + e;
        if (ci < params.inChannels) {
          let at = (b * params.inChannels + ci) * area + (iy0 + py) * params.width + ix0;
          for (var j = 0u; j < 4u; j++) {
            if (ix0 + j < params.width) { dx[at + j] = m[e][j]; }
          }
        }
      }
    }
  }
}
