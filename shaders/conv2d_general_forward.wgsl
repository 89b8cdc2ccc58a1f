// conv2d_general_forward: PyTorch's Conv2d of any geometry (groups, dilation, a stride and a
// padding of their own in each direction, asymmetric padding as padding='same' makes it) —
// the layers the tiled conv kernels (conv2d_forward) do not take; overwrites y.
//   x [batch, inChannels, height, width], weight [outChannels, inChannels / groups, kernelH,
//   kernelW], y [batch, outChannels, outHeight, outWidth] (outHeight and outWidth from the host:
//   they carry the bottom and right padding). Output channel co belongs to group
//   g = co / (outChannels / groups) and reads input channels g·(inChannels / groups) onwards.
//   Output (oy, ox)'s taps are (oy·strideH − padTop + ky·dilationH, ox·strideW − padLeft +
//   kx·dilationW); taps outside the input are zeros (padding_mode 'zeros').
//   y = Σ over ky, then kx, then the group's input channels of x·w; BIAS: + bias[co] after the
//   sum (as the tiled kernels' BIAS).
//   One invocation per output pixel and block of outBlock output channels of one group (4 where
//   the group has 4 or more, each x loaded once for the four; otherwise 1); a group's last block may hold fewer.

struct Params {
  batch: u32,
  inChannels: u32,
  height: u32,
  width: u32,
  outChannels: u32,
  outHeight: u32,
  outWidth: u32,
  kernelH: u32,
  kernelW: u32,
  strideH: u32,
  strideW: u32,
  padTop: u32,
  padLeft: u32,
  dilationH: u32,
  dilationW: u32,
  groups: u32,
  outBlock: u32,
  inBlock: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> weight: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
#if BIAS
@group(0) @binding(4) var<storage, read> bias: array<f32>;
#endif

override WG_X: u32;

@compute @workgroup_size(WG_X)
fn conv2d_general_forward(@builtin(global_invocation_id) gid3: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let gid = linearInvocation(gid3, nwg);
  let r = gid.x;
  let groupIn = params.inChannels / params.groups;
  let groupOut = params.outChannels / params.groups;
  let perGroup = (groupOut + params.outBlock - 1u) / params.outBlock;
  let blocks = params.groups * perGroup;
  if (r >= params.batch * blocks * params.outHeight) { return; }
  // The invocation's output row: its sample, channel block and row (the divisions once a row, not an output).
  let oy = r % params.outHeight;
  let b = (r / params.outHeight) % blocks;
  let n = r / (params.outHeight * blocks);
  let g = b / perGroup;
  let co0 = g * groupOut + (b % perGroup) * params.outBlock;
  let count = min(params.outBlock, (g + 1u) * groupOut - co0);
  let taps = params.kernelH * params.kernelW;
  // The block's weight rows (a short last block repeats its last channel, never stored).
  let last = co0 + count - 1u;
  let w = vec4u(co0, min(co0 + 1u, last), min(co0 + 2u, last), min(co0 + 3u, last)) * groupIn * taps;
  let inPlane = params.height * params.width;
  let outPlane = params.outHeight * params.outWidth;
  let xBase = (n * params.inChannels + g * groupIn) * inPlane;
  let yRow = (n * params.outChannels + co0) * outPlane + oy * params.outWidth;
  let H = i32(params.height);
  let W = i32(params.width);
  let y0 = i32(oy * params.strideH) - i32(params.padTop);
  for (var ox = 0u; ox < params.outWidth; ox++) {
    let x0 = i32(ox * params.strideW) - i32(params.padLeft);
    var acc = vec4f(0.0);
    for (var ky = 0u; ky < params.kernelH; ky++) {
      let iy = y0 + i32(ky * params.dilationH);
      if (iy < 0 || iy >= H) { continue; }
      for (var kx = 0u; kx < params.kernelW; kx++) {
        let ix = x0 + i32(kx * params.dilationW);
        if (ix < 0 || ix >= W) { continue; }
        let at = xBase + u32(iy) * params.width + u32(ix);
        let t = ky * params.kernelW + kx;
        for (var c = 0u; c < groupIn; c++) {
          let xv = x[at + c * inPlane];
          let k = c * taps + t;
          if (params.outBlock == 4u) {
            acc += xv * vec4f(weight[w.x + k], weight[w.y + k], weight[w.z + k], weight[w.w + k]);
          } else {
            acc.x += xv * weight[w.x + k];
          }
        }
      }
    }
    for (var j = 0u; j < count; j++) {
#if BIAS
      y[yRow + j * outPlane + ox] = acc[j] + bias[co0 + j];
#else
      y[yRow + j * outPlane + ox] = acc[j];
#endif
    }
  }
}
