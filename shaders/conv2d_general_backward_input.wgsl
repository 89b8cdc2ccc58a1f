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
//   it only for a stride over 1. Params and blockChannels: shaders/lib/conv2d_general.wgsl.

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
  // The block's weight columns.
  let w = blockChannels(c0, c0 + count - 1u) * taps;
  let outPlane = params.outHeight * params.outWidth;
  let inPlane = params.height * params.width;
  let dxRow = (n * params.inChannels + g * groupIn + c0) * inPlane + u32(iy) * params.width;
  let dyBase = n * params.outChannels * outPlane;
  // Columns ix0 + i·strideW, i < 4 (past the row's end: none).
  let ix0 = q / perClass + (q % perClass) * 4u * params.strideW;
  let columns = select(0u, min(4u, (params.width - ix0 + params.strideW - 1u) / params.strideW), ix0 < params.width);
  // The block's sums at columns ix0 + i·strideW, i < 4 (shaders/lib/conv2d_general_block.wgsl).
  var sums = array<vec4f, 4>();
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
        sums = addProducts(sums, d, w, co * groupIn * taps + t, params.inBlock);
      }
    }
  }
  for (var j = 0u; j < count; j++) {
    // Channel c0 + j's values at the four columns.
    let v = channelSums(sums, j, params.inBlock);
    for (var i = 0u; i < columns; i++) {
      dx[dxRow + j * inPlane + ix0 + i * params.strideW] = v[i];
    }
  }
}
