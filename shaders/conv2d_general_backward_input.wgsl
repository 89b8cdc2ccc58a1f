// conv2d_general_backward_input: the input gradient of conv2d_general_forward (any groups,
// dilation, stride and padding); overwrites dx. Gathered, not scattered: no atomics, each
// element's sum in one order.
//   dy [batch, outChannels, outHeight, outWidth], weight [outChannels, inChannels / groups,
//   kernelH, kernelW], dx [batch, inChannels, height, width]; the geometry as the forward's.
//   Input element (iy, ix) of channel ci (group g = ci / (inChannels / groups), index c in it) is
//   tap (ky, kx) of output (oy, ox) where oy·strideH = iy + padTop − ky·dilationH (and likewise
//   ox), inside the output; dx = Σ over ky, then kx, then the group's output channels, of
//   dy[oy, ox]·weight[co, c, ky, kx].
//   One invocation per four input columns of a row, strideW apart, and block of inBlock input
//   channels of one group (4 where the group has 4 or more, each dy loaded once for the four and
//   each weight once for the four columns; otherwise 1: the host's choice, a uniform branch here;
//   a group's last block may hold fewer, a row's last quad fewer columns). The four columns are
//   read by one tap kx at four neighbouring output columns, or by none; neighbouring invocations
//   take neighbouring quads of a row's columns of one remainder mod strideW, so the SIMD lanes of
//   a CPU adapter load neighbouring elements. The index divisions once an invocation, and within
//   it only for a stride over 1.

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
  tapSplits: u32,
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
  // A row's columns by their remainder mod strideW, each class in quads: those of one quad are
  // read by one tap kx each or by none, at neighbouring output columns.
  let perClass = ((params.width + params.strideW - 1u) / params.strideW + 3u) / 4u;
  let quads = params.strideW * perClass;
  if (r >= params.batch * blocks * params.height * quads) { return; }
  // The invocation's four input columns: its sample, channel block, row and quad (neighbouring
  // invocations take neighbouring quads of a class).
  let q = r % quads;
  let row = r / quads;
  let iy = i32(row % params.height);
  let b = (row / params.height) % blocks;
  let n = row / (params.height * blocks);
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
  // Columns ix0 + i·strideW, i < 4 (past the row's end: none).
  let ix0 = q / perClass + (q % perClass) * 4u * params.strideW;
  let columns = select(0u, min(4u, (params.width - ix0 + params.strideW - 1u) / params.strideW), ix0 < params.width);
  // aJ: column ix0 + J's sums for the block's channels (inBlock 4); a0 the four columns' sums of the one channel (inBlock 1).
  var a0 = vec4f(0.0);
  var a1 = vec4f(0.0);
  var a2 = vec4f(0.0);
  var a3 = vec4f(0.0);
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
    let dyRow = dyBase + oy * params.outWidth;
    for (var kx = 0u; kx < params.kernelW; kx++) {
      // The output column of tap kx at the quad's first column (a division only for a stride
      // over 1): the quad's are the next three, or no output reads the quad there. A column
      // before the first output column or past the last adds zeros (the same sums as skipping it).
      var tx = i32(ix0 + params.padLeft) - i32(kx * params.dilationW);
      if (params.strideW != 1u) {
        let s = i32(params.strideW);
        if (((tx % s) + s) % s != 0) { continue; }
        tx = (tx - ((tx % s) + s) % s) / s;
      }
      let ox = vec4i(tx) + vec4i(0, 1, 2, 3);
      let reads = (ox >= vec4i(0)) & (ox < vec4i(i32(params.outWidth)));
      let at = vec4u(clamp(ox, vec4i(0), vec4i(i32(params.outWidth) - 1))) + dyRow;
      let t = ky * params.kernelW + kx;
      for (var co = g * groupOut; co < (g + 1u) * groupOut; co++) {
        let plane = co * outPlane;
        let d = select(vec4f(0.0), vec4f(dy[at.x + plane], dy[at.y + plane], dy[at.z + plane], dy[at.w + plane]), reads);
        let k = co * groupIn * taps + t;
        if (params.inBlock == 4u) {
          let wv = vec4f(weight[w.x + k], weight[w.y + k], weight[w.z + k], weight[w.w + k]);
          a0 += d.x * wv;
          a1 += d.y * wv;
          a2 += d.z * wv;
          a3 += d.w * wv;
        } else {
          a0 += d * weight[w.x + k];
        }
      }
    }
  }
  for (var j = 0u; j < count; j++) {
    // Channel c0 + j's values at the four columns.
    let v = select(a0, vec4f(a0[j], a1[j], a2[j], a3[j]), params.inBlock == 4u);
    for (var i = 0u; i < columns; i++) {
      dx[dxRow + j * inPlane + ix0 + i * params.strideW] = v[i];
    }
  }
}
