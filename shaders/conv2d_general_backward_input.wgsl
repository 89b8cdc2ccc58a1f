// conv2d_general_backward_input: the input gradient of conv2d_general_forward (any groups,
// dilation, stride and padding); overwrites dx. Gathered, not scattered: no atomics, each
// element's sum in one order.
//   dy [batch, outChannels, outHeight, outWidth], weight [outChannels, inChannels / groups,
//   kernelH, kernelW], dx [batch, inChannels, height, width]; the geometry as the forward's.
//   Input element (iy, ix) of channel ci (group g = ci / (inChannels / groups), index c in it) is
//   tap (ky, kx) of output (oy, ox) where oy·strideH = iy + padTop − ky·dilationH (and likewise
//   ox), inside the output; dx = Σ over ky, then kx, then the group's output channels, of
//   dy[oy, ox]·weight[co, c, ky, kx].
//   One invocation per input row and block of inBlock input channels of one group (4 where the
//   group has 4 or more, each dy loaded once for the four; otherwise 1: the host's choice, a
//   uniform branch here; a group's last block may hold fewer), its elements in order: the index
//   divisions once a row, and within it only for a stride over 1.

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
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> weight: array<f32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;

override WG_X: u32;

@compute @workgroup_size(WG_X)
fn conv2d_general_backward_input(@builtin(global_invocation_id) gid3: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let gid = linearInvocation(gid3, nwg);
  let r = gid.x;
  let groupIn = params.inChannels / params.groups;
  let groupOut = params.outChannels / params.groups;
  let perGroup = (groupIn + params.inBlock - 1u) / params.inBlock;
  let blocks = params.groups * perGroup;
  if (r >= params.batch * blocks * params.height) { return; }
  // The invocation's input row: its sample, channel block and row (the divisions once a row).
  let iy = i32(r % params.height);
  let b = (r / params.height) % blocks;
  let n = r / (params.height * blocks);
  let g = b / perGroup;
  let c0 = (b % perGroup) * params.inBlock;
  let count = min(params.inBlock, groupIn - c0);
  let taps = params.kernelH * params.kernelW;
  // The block's weight columns (a short last block repeats its last channel, never stored).
  let lastC = c0 + count - 1u;
  let w = vec4u(c0, min(c0 + 1u, lastC), min(c0 + 2u, lastC), min(c0 + 3u, lastC)) * taps;
  let outPlane = params.outHeight * params.outWidth;
  let inPlane = params.height * params.width;
  let dxRow = (n * params.inChannels + g * groupIn + c0) * inPlane + u32(iy) * params.width;
  let dyBase = n * params.outChannels * outPlane;
  for (var ix = 0; ix < i32(params.width); ix++) {
    var acc = vec4f(0.0);
    for (var ky = 0u; ky < params.kernelH; ky++) {
      // The output row whose tap ky reads row iy (a division only for a stride over 1).
      let ty = iy + i32(params.padTop) - i32(ky * params.dilationH);
      if (ty < 0) { continue; }
      var oy = u32(ty);
      if (params.strideH != 1u) {
        if (oy % params.strideH != 0u) { continue; }
        oy = oy / params.strideH;
      }
      if (oy >= params.outHeight) { continue; }
      for (var kx = 0u; kx < params.kernelW; kx++) {
        let tx = ix + i32(params.padLeft) - i32(kx * params.dilationW);
        if (tx < 0) { continue; }
        var ox = u32(tx);
        if (params.strideW != 1u) {
          if (ox % params.strideW != 0u) { continue; }
          ox = ox / params.strideW;
        }
        if (ox >= params.outWidth) { continue; }
        let t = ky * params.kernelW + kx;
        let at = dyBase + oy * params.outWidth + ox;
        for (var co = g * groupOut; co < (g + 1u) * groupOut; co++) {
          let d = dy[at + co * outPlane];
          let k = co * groupIn * taps + t;
          if (params.inBlock == 4u) {
            acc += d * vec4f(weight[w.x + k], weight[w.y + k], weight[w.z + k], weight[w.w + k]);
          } else {
            acc.x += d * weight[w.x + k];
          }
        }
      }
    }
    for (var j = 0u; j < count; j++) {
      dx[dxRow + j * inPlane + u32(ix)] = acc[j];
    }
  }
}
