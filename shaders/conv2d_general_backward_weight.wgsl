// conv2d_general_backward_weight: the weight gradient of conv2d_general_forward (any groups,
// dilation, stride and padding); overwrites dweight. Fixed-order sums: the same bits every run.
//   x [batch, inChannels, height, width], dy [batch, outChannels, outHeight, outWidth], dweight
//   [outChannels, inChannels / groups, kernelH, kernelW]; the geometry as the forward's.
//   dweight[co, c, ky, kx] = Σ over (n, oy, ox) of dy[n, co, oy, ox]·x[n, g·(inChannels /
//   groups) + c, oy·strideH − padTop + ky·dilationH, ox·strideW − padLeft + kx·dilationW] (taps
//   inside the input), g = co / (outChannels / groups).
//   One workgroup of WG_X invocations (a power of two) per (co, block of inBlock input channels,
//   ky, kx) (inBlock 4 where the group has 4 or more, each dy loaded once for the four; otherwise
//   1: the host's choice, a uniform branch here): invocation l sums
//   the output rows (n, oy) ≡ l mod WG_X in order, each row's columns in order, then a fixed tree
//   adds the WG_X partial sums (as bias_backward). The grid is linear (WG_X invocations a
//   workgroup, folded past 65,535 workgroups); a workgroup past the last sums nothing and writes
//   nothing, and every invocation reaches the barriers. Params and blockChannels:
//   shaders/lib/conv2d_general.wgsl.

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read_write> dweight: array<f32>;

override WG_X: u32;

#if TAPS
var<workgroup> partialTaps: array<array<vec4f, 9>, WG_X>;
#else
var<workgroup> partial: array<vec4f, WG_X>;
#endif

@compute @workgroup_size(WG_X)
fn conv2d_general_backward_weight(@builtin(global_invocation_id) gid3: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let gid = linearInvocation(gid3, nwg);
#if TAPS
  sumAllTaps(gid.x / WG_X, gid.x % WG_X);
#else

  // The workgroup's weights and the invocation's place in it (a workgroup's invocations are WG_X consecutive gid.x).
  let e = gid.x / WG_X;
  let lid = gid.x % WG_X;
  let groupIn = params.inChannels / params.groups;
  let perGroup = (groupIn + params.inBlock - 1u) / params.inBlock;
  let taps = params.kernelH * params.kernelW;
  let valid = e < params.outChannels * perGroup * taps;
  let kx = e % params.kernelW;
  let ky = (e / params.kernelW) % params.kernelH;
  let c0 = ((e / taps) % perGroup) * params.inBlock;
  let co = e / (taps * perGroup);
  let g = co / (params.outChannels / params.groups);
  let count = select(0u, min(params.inBlock, groupIn - c0), valid);
  let inPlane = params.height * params.width;
  let outPlane = params.outHeight * params.outWidth;
  // The block's input planes (a workgroup past the last: channel c0's, unread).
  let planes = blockChannels(c0, c0 + max(count, 1u) - 1u) * inPlane;
  // The columns whose tap kx is inside the input: ox·strideW + kx·dilationW − padLeft in [0, width).
  let shift = i32(kx * params.dilationW) - i32(params.padLeft);
  let oxFirst = u32(max(0, (-shift + i32(params.strideW) - 1) / i32(params.strideW)));
  let span = i32(params.width) - 1 - shift;
  let oxEnd = select(0u, min(u32(span) / params.strideW + 1u, params.outWidth), span >= 0);
  let rows = select(0u, params.batch * params.outHeight, valid);
  var acc = vec4f(0.0);
  for (var r = lid; r < rows; r += WG_X) {
    let n = r / params.outHeight;
    let oy = r % params.outHeight;
    let iy = i32(oy * params.strideH + ky * params.dilationH) - i32(params.padTop);
    if (iy < 0 || iy >= i32(params.height)) { continue; }
    let dyRow = (n * params.outChannels + co) * outPlane + oy * params.outWidth;
    let xRow = (n * params.inChannels + g * groupIn) * inPlane + u32(iy) * params.width;
    for (var ox = oxFirst; ox < oxEnd; ox++) {
      let d = dy[dyRow + ox];
      let at = xRow + u32(i32(ox * params.strideW) + shift);
      if (params.inBlock == 4u) {
        acc += d * vec4f(x[at + planes.x], x[at + planes.y], x[at + planes.z], x[at + planes.w]);
      } else {
        acc.x += d * x[at + planes.x];
      }
    }
  }
  partial[lid] = acc;
  workgroupBarrier();
  for (var stride = WG_X / 2u; stride > 0u; stride /= 2u) {
    if (lid < stride) {
      partial[lid] += partial[lid + stride];
    }
    workgroupBarrier();
  }
  if (lid == 0u) {
    for (var j = 0u; j < count; j++) {
      dweight[((co * groupIn + c0 + j) * params.kernelH + ky) * params.kernelW + kx] = partial[0][j];
    }
  }
#endif
}

#if TAPS
// TAPS (a kernel of at most 3×3: tapSplits 1): workgroup e takes (co, block of inBlock input
// channels) and every tap at once, each invocation's sums in 9 vec4s (tap ky·3 + kx, a channel a
// lane), each dy loaded once for the taps; the same rows and columns in the same order as the
// plain variant's, so each weight's sum differs from it only in the tree's partial sums. At stride
// 1 and dilation 1 across: slideRow (a block of one channel) or slideRowBlock (of four), the same
// sums, fewer loads.
fn sumAllTaps(e: u32, lid: u32) {
  let groupIn = params.inChannels / params.groups;
  let perGroup = (groupIn + params.inBlock - 1u) / params.inBlock;
  let valid = e < params.outChannels * perGroup;
  let c0 = (e % perGroup) * params.inBlock;
  let co = e / perGroup;
  let g = co / (params.outChannels / params.groups);
  let count = select(0u, min(params.inBlock, groupIn - c0), valid);
  let inPlane = params.height * params.width;
  let outPlane = params.outHeight * params.outWidth;
  let planes = blockChannels(c0, c0 + max(count, 1u) - 1u) * inPlane;
  let H = i32(params.height);
  let W = i32(params.width);
  let rows = select(0u, params.batch * params.outHeight, valid);
  // At stride 1 and dilation 1 across, a row's taps read a window of three columns that moves a
  // column an output (slideRow, slideRowBlock).
  let sliding = params.strideW == 1u && params.dilationW == 1u;
  var acc = array<vec4f, 9>(vec4f(0.0), vec4f(0.0), vec4f(0.0), vec4f(0.0), vec4f(0.0), vec4f(0.0), vec4f(0.0), vec4f(0.0), vec4f(0.0));
  for (var r = lid; r < rows; r += WG_X) {
    let n = r / params.outHeight;
    let oy = r % params.outHeight;
    let dyRow = (n * params.outChannels + co) * outPlane + oy * params.outWidth;
    let xBase = (n * params.inChannels + g * groupIn) * inPlane;
    let y0 = i32(oy * params.strideH) - i32(params.padTop);
    if (sliding && params.inBlock == 1u) {
      acc = slideRow(acc, dyRow, xBase + planes.x, y0);
      continue;
    }
    if (sliding) {
      acc = slideRowBlock(acc, dyRow, xBase, planes, y0);
      continue;
    }
    for (var ox = 0u; ox < params.outWidth; ox++) {
      let d = dy[dyRow + ox];
      let x0 = i32(ox * params.strideW) - i32(params.padLeft);
      for (var ky = 0u; ky < 3u; ky++) {
        let iy = y0 + i32(ky * params.dilationH);
        let rowIn = ky < params.kernelH && iy >= 0 && iy < H;
        for (var kx = 0u; kx < 3u; kx++) {
          let ix = x0 + i32(kx * params.dilationW);
          // A tap outside the kernel or the input adds a zero (x + 0 = x: the sum the plain variant skips to).
          let inside = rowIn && kx < params.kernelW && ix >= 0 && ix < W;
          let at = xBase + u32(clamp(iy, 0, H - 1)) * params.width + u32(clamp(ix, 0, W - 1));
          if (params.inBlock == 4u) {
            acc[ky * 3u + kx] += select(vec4f(0.0), d * vec4f(x[at + planes.x], x[at + planes.y], x[at + planes.z], x[at + planes.w]), inside);
          } else {
            acc[ky * 3u + kx].x += select(0.0, d * x[at + planes.x], inside);
          }
        }
      }
    }
  }
  for (var t = 0u; t < 9u; t++) {
    partialTaps[lid][t] = acc[t];
  }
  workgroupBarrier();
  for (var stride = WG_X / 2u; stride > 0u; stride /= 2u) {
    if (lid < stride) {
      for (var t = 0u; t < 9u; t++) {
        partialTaps[lid][t] += partialTaps[lid + stride][t];
      }
    }
    workgroupBarrier();
  }
  if (lid == 0u) {
    for (var j = 0u; j < count; j++) {
      for (var ky = 0u; ky < params.kernelH; ky++) {
        for (var kx = 0u; kx < params.kernelW; kx++) {
          dweight[((co * groupIn + c0 + j) * params.kernelH + ky) * params.kernelW + kx] = partialTaps[0][ky * 3u + kx][j];
        }
      }
    }
  }
}
#endif

// TAPS at stride 1 and dilation 1 across, a block of one channel (its plane from xPlane): output row dyRow's products
// added to acc, the same sums in the same order as sumAllTaps' loop, but tap kx's x at column ox
// is tap kx + 1's at ox − 1: each kernel row's three x held in a vec3 that moves right a column an
// output, one x loaded a kernel row an output where the loop loads three.
fn slideRow(sums: array<vec4f, 9>, dyRow: u32, xPlane: u32, y0: i32) -> array<vec4f, 9> {
  var acc = sums;
  let H = i32(params.height);
  let W = i32(params.width);
  let x0 = -i32(params.padLeft);
  // win[ky][kx]: the x of tap (ky, kx) at the output column (a tap outside the input: unread, masked).
  var win = array<vec3f, 3>();
  var rowIn = array<bool, 3>();
  var rowAt = array<u32, 3>();
  for (var ky = 0u; ky < 3u; ky++) {
    let iy = y0 + i32(ky * params.dilationH);
    rowIn[ky] = ky < params.kernelH && iy >= 0 && iy < H;
    rowAt[ky] = xPlane + u32(clamp(iy, 0, H - 1)) * params.width;
    for (var kx = 0u; kx < 2u; kx++) {
      win[ky][kx + 1u] = x[rowAt[ky] + u32(clamp(x0 + i32(kx), 0, W - 1))];
    }
  }
  for (var ox = 0u; ox < params.outWidth; ox++) {
    let d = dy[dyRow + ox];
    let ix = i32(ox) + x0;
    let next = u32(clamp(ix + 2, 0, W - 1));
    for (var ky = 0u; ky < 3u; ky++) {
      win[ky] = vec3f(win[ky].y, win[ky].z, x[rowAt[ky] + next]);
      for (var kx = 0u; kx < 3u; kx++) {
        // A tap outside the kernel or the input adds a zero (as sumAllTaps).
        let inside = rowIn[ky] && kx < params.kernelW && ix + i32(kx) >= 0 && ix + i32(kx) < W;
        acc[ky * 3u + kx].x += select(0.0, d * win[ky][kx], inside);
      }
    }
  }
  return acc;
}

// slideRow for a block of 4 channels (planes: their offsets): each window element the four
// channels' x at a tap, a vec4.
fn slideRowBlock(sums: array<vec4f, 9>, dyRow: u32, xBase: u32, planes: vec4u, y0: i32) -> array<vec4f, 9> {
  var acc = sums;
  let H = i32(params.height);
  let W = i32(params.width);
  let x0 = -i32(params.padLeft);
  var win = array<array<vec4f, 3>, 3>();
  var rowIn = array<bool, 3>();
  var rowAt = array<u32, 3>();
  for (var ky = 0u; ky < 3u; ky++) {
    let iy = y0 + i32(ky * params.dilationH);
    rowIn[ky] = ky < params.kernelH && iy >= 0 && iy < H;
    rowAt[ky] = xBase + u32(clamp(iy, 0, H - 1)) * params.width;
    for (var kx = 0u; kx < 2u; kx++) {
      let at = rowAt[ky] + u32(clamp(x0 + i32(kx), 0, W - 1));
      win[ky][kx + 1u] = vec4f(x[at + planes.x], x[at + planes.y], x[at + planes.z], x[at + planes.w]);
    }
  }
  for (var ox = 0u; ox < params.outWidth; ox++) {
    let d = dy[dyRow + ox];
    let ix = i32(ox) + x0;
    let next = u32(clamp(ix + 2, 0, W - 1));
    for (var ky = 0u; ky < 3u; ky++) {
      let at = rowAt[ky] + next;
      win[ky] = array<vec4f, 3>(win[ky][1], win[ky][2], vec4f(x[at + planes.x], x[at + planes.y], x[at + planes.z], x[at + planes.w]));
      for (var kx = 0u; kx < 3u; kx++) {
        // A tap outside the kernel or the input adds a zero (as sumAllTaps).
        let inside = rowIn[ky] && kx < params.kernelW && ix + i32(kx) >= 0 && ix + i32(kx) < W;
        acc[ky * 3u + kx] += select(vec4f(0.0), d * win[ky][kx], inside);
      }
    }
  }
  return acc;
}
