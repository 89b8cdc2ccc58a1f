// conv2d_general_forward: PyTorch's Conv2d of any geometry (groups, dilation, a stride and a
// padding of their own in each direction, asymmetric padding as padding='same' makes it) —
// the layers the tiled conv kernels (conv2d_forward) do not take; overwrites y.
//   x [batch, inChannels, height, width], weight [outChannels, inChannels / groups, kernelH,
//   kernelW], y [batch, outChannels, outHeight, outWidth] (outHeight and outWidth from the host:
//   they carry the bottom and right padding). Output channel co belongs to group
//   g = co / (outChannels / groups) and reads input channels g·(inChannels / groups) onwards.
//   Output (oy, ox)'s taps are (oy·strideH − padTop + ky·dilationH, ox·strideW − padLeft +
//   kx·dilationW); taps outside the input are zeros (padding_mode 'zeros').
//   y = Σ over the group's input channels, then ky, then kx (the reference's order) of x·w;
//   BIAS: + bias[co] after the sum (as the tiled kernels' BIAS).
//   One invocation per output.

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
  let o = gid.x;
  let plane = params.outHeight * params.outWidth;
  if (o >= params.batch * params.outChannels * plane) { return; }
  let ox = o % params.outWidth;
  let oy = (o / params.outWidth) % params.outHeight;
  let co = (o / plane) % params.outChannels;
  let n = o / (plane * params.outChannels);
  let groupIn = params.inChannels / params.groups;
  let g = co / (params.outChannels / params.groups);
  let H = i32(params.height);
  let W = i32(params.width);
  let y0 = i32(oy * params.strideH) - i32(params.padTop);
  let x0 = i32(ox * params.strideW) - i32(params.padLeft);
  let taps = params.kernelH * params.kernelW;
  var sum = 0.0;
  for (var c = 0u; c < groupIn; c++) {
    let xBase = (n * params.inChannels + g * groupIn + c) * params.height * params.width;
    let wBase = (co * groupIn + c) * taps;
    for (var ky = 0u; ky < params.kernelH; ky++) {
      let iy = y0 + i32(ky * params.dilationH);
      if (iy < 0 || iy >= H) { continue; }
      for (var kx = 0u; kx < params.kernelW; kx++) {
        let ix = x0 + i32(kx * params.dilationW);
        if (ix < 0 || ix >= W) { continue; }
        sum += x[xBase + u32(iy) * params.width + u32(ix)] * weight[wBase + ky * params.kernelW + kx];
      }
    }
  }
#if BIAS
  sum += bias[co];
#endif
  y[o] = sum;
}
