// conv2d_forward: y = conv2d(x, weight), no bias; overwrites y. Variant RELU: y = max(conv2d(x, weight), 0)
// (a ReLU that follows the convolution, applied as the sums are stored: no pass of its own).
//   x [batch, inChannels, height, width], weight [outChannels, inChannels, kernelH, kernelW]
//   (PyTorch's layout), y [batch, outChannels, outHeight, outWidth]; NCHW, zero padding.
//   A GEMM over the taps k = (ci·kernelH + ky)·kernelW + kx: y[b, oc, pixel] = Σ_k in(pixel, k) · weight[oc, k].
//   Invocation (global_invocation_id.x) = a block of ROWS output rows × 4 output columns of one
//   image, blk = (b·⌈outHeight/ROWS⌉ + oy0/ROWS)·⌈outWidth/4⌉ + ox0/4, × the OUT_TILE output
//   channels of tile workgroup_id.y. Its ROWS × 4 × OUT_TILE sums stay in registers: per output
//   row, Q = OUT_TILE/4 mat4x4f (column e = channel 4q + e, the 4 rows = the 4 pixels), so each
//   weight read feeds 4·ROWS products and each input value read feeds OUT_TILE.
//   Workgroup memory: the tile's weights for CHUNK taps at a time, [tap][channel / 4] as vec4s.
//   Inputs are read straight from x (neighbouring invocations read adjacent columns).
//   The taps go three at a time (a step): per output row, a [4 pixels × 3 taps] matrix of inputs
//   times a [3 taps × 4 channels] matrix of weights per vec4 of channels. The inputs of a step:
//   - 3×3 kernel, stride 1 (any padding): a step is one kernel row (ci, ky); output row py loads
//     its input row's 6 columns once and takes the three 4-pixel windows kx = 0, 1, 2 from them;
//   - any other kernel or stride: each of the 3 taps on its own, 4 values per row (0 outside the
//     image; the taps past the last, up to a multiple of 3, read the last channel, weight 0).
//   Sum order, per output: taps in increasing k, added onto the sum one at a time (multiply-add).
//   The block's sums are written once at the end, those inside the output.
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
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> weight: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;

override WG_X: u32;
override WG_Y: u32;

/** Output rows per invocation (a0..a3 below). */
const ROWS = 4u;
/** Output channels per invocation and per workgroup tile. */
const OUT_TILE = 16u;
const Q = OUT_TILE / 4u;
const WEIGHT_TILE = 576u;
/** Taps staged at a time (a multiple of 3: whole steps). */
const CHUNK = WEIGHT_TILE / Q;

var<workgroup> tile: array<vec4f, WEIGHT_TILE>;

// quad3 and rowStep (the register tile): shaders/lib/conv_tile.wgsl.

// 3×3 path: input row iy of plane `base` at the block's 6 columns, as the windows kx = 0, 1, 2.
fn windows(base: u32, iy: i32, col: array<u32, 6>, colIn: array<bool, 6>) -> mat3x4f {
  let inside = iy >= 0 && iy < i32(params.height);
  let at = base + u32(clamp(iy, 0, i32(params.height) - 1)) * params.width;
  var v: array<f32, 6>;
  for (var j = 0u; j < 6u; j++) {
    v[j] = select(0.0, x[at + col[j]], inside && colIn[j]);
  }
  return mat3x4f(vec4f(v[0], v[1], v[2], v[3]), vec4f(v[1], v[2], v[3], v[4]), vec4f(v[2], v[3], v[4], v[5]));
}

// Other path: the 4 pixels of the output row whose top input row is iy (left column ix) at the
// step's taps t[i] = (plane offset, ky, kx); 0 outside the image.
fn taps(t: array<vec3u, 3>, iy: i32, ix: i32) -> mat3x4f {
  let s = i32(params.stride);
  var r: mat3x4f;
  for (var i = 0u; i < 3u; i++) {
    let y0 = iy + i32(t[i].y);
    let at = t[i].x + u32(clamp(y0, 0, i32(params.height) - 1)) * params.width;
    for (var j = 0u; j < 4u; j++) {
      let x0 = ix + i32(j) * s + i32(t[i].z);
      let inside = y0 >= 0 && y0 < i32(params.height) && x0 >= 0 && x0 < i32(params.width);
      r[i][j] = select(0.0, x[at + u32(clamp(x0, 0, i32(params.width) - 1))], inside);
    }
  }
  return r;
}

@compute @workgroup_size(WG_X, WG_Y)
fn conv2d_forward(
  @builtin(global_invocation_id) gid: vec3u,
  @builtin(workgroup_id) wid: vec3u,
  @builtin(local_invocation_index) lid: u32,
) {
  let quads = (params.outWidth + 3u) / 4u;
  let blockRows = (params.outHeight + ROWS - 1u) / ROWS;
  let blocks = params.batch * blockRows * quads;
  let blk = min(gid.x, blocks - 1u);
  let b = blk / (blockRows * quads);
  let oy0 = (blk / quads) % blockRows * ROWS;
  let ox0 = blk % quads * 4u;
  let s = i32(params.stride);
  let iy0 = i32(oy0) * s - i32(params.padding);
  let ix0 = i32(ox0) * s - i32(params.padding);
  let W = i32(params.width);
  let plane = params.height * params.width;
  let kW = params.kernelW;
  let kH = params.kernelH;
  let taps3 = params.inChannels * kH * kW;
  let ocBase = wid.y * OUT_TILE;
  let fast = kH == 3u && kW == 3u && s == 1;
  let rowCount = min(ROWS, params.outHeight - oy0);
  // Columns of the 3×3 path: ix0 + j, j = 0..5, clamped, and whether inside.
  var col: array<u32, 6>;
  var colIn: array<bool, 6>;
  for (var j = 0u; j < 6u; j++) {
    let ix = ix0 + i32(j);
    col[j] = u32(clamp(ix, 0, W - 1));
    colIn[j] = ix >= 0 && ix < W;
  }

  var a0: array<mat4x4f, Q>;
  var a1: array<mat4x4f, Q>;
  var a2: array<mat4x4f, Q>;
  var a3: array<mat4x4f, Q>;
  // The next tap (ci, ky, kx).
  var ci = 0u;
  var ky = 0u;
  var kx = 0u;
  for (var k0 = 0u; k0 < taps3; k0 += CHUNK) {
    // Taps k0 .. k0 + count (rounded up to whole steps; weight 0 past the last).
    let count = min(CHUNK, (taps3 - k0 + 2u) / 3u * 3u);
    workgroupBarrier();
    for (var i = lid; i < count * Q; i += WG_X * WG_Y) {
      let k = k0 + i / Q;
      var w = vec4f(0.0);
      for (var e = 0u; e < 4u; e++) {
        let oc = ocBase + (i % Q) * 4u + e;
        if (oc < params.outChannels && k < taps3) {
          w[e] = weight[oc * taps3 + k];
        }
      }
      tile[i] = w;
    }
    workgroupBarrier();
    for (var step = 0u; step < count; step += 3u) {
      // Plane offset, ky, kx of the step's taps.
      var t: array<vec3u, 3>;
      for (var i = 0u; i < 3u; i++) {
        t[i] = vec3u((b * params.inChannels + min(ci, params.inChannels - 1u)) * plane, ky, kx);
        kx += 1u;
        if (kx == kW) { kx = 0u; ky += 1u; }
        if (ky == kH) { ky = 0u; ci += 1u; }
      }
      var r0: mat3x4f;
      var r1: mat3x4f;
      var r2: mat3x4f;
      var r3: mat3x4f;
      if (fast) {
        r0 = windows(t[0].x, iy0 + 0 + i32(t[0].y), col, colIn);
        r1 = windows(t[0].x, iy0 + 1 + i32(t[0].y), col, colIn);
        r2 = windows(t[0].x, iy0 + 2 + i32(t[0].y), col, colIn);
        r3 = windows(t[0].x, iy0 + 3 + i32(t[0].y), col, colIn);
      } else {
        // One copy of the loads, in a loop over a count known only at run time (the shader
        // stays small to compile), through a private array.
        var rs: array<mat3x4f, ROWS>;
        for (var py = 0u; py < rowCount; py++) {
          rs[py] = taps(t, iy0 + i32(py) * s, ix0);
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
  let quadCount = min(Q, (params.outChannels - ocBase + 3u) / 4u);
  let outArea = params.outHeight * params.outWidth;
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
        let oc = ocBase + q * 4u + e;
        if (oc < params.outChannels) {
          let at = (b * params.outChannels + oc) * outArea + (oy0 + py) * params.outWidth + ox0;
          for (var j = 0u; j < 4u; j++) {
#if RELU
            if (ox0 + j < params.outWidth) { y[at + j] = max(m[e][j], 0.0); }
#else
            if (ox0 + j < params.outWidth) { y[at + j] = m[e][j]; }
#endif
          }
        }
      }
    }
  }
}
