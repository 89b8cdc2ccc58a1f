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
//   it only for a stride over 1. An invocation takes those columns in params.rows consecutive
//   input rows (the index divisions once for them all; a plane's last rows may be fewer), one
//   after the other.
//   Variant SUBGROUP (subgroups of 8, blocks of 4 input channels, stride 1, one row an
//   invocation, planeAlign 8: the host's choice): a subgroup's 8 invocations take one channel
//   block (its slots padded to whole subgroups, a padding slot computing a live one's sums and
//   writing nothing); for each tap and pair of output channels each lane loads one of the 8
//   weights and subgroupBroadcast shares them; taps no output reads add zeros in place of being
//   skipped (the same sums). The same bits as the plain path.
//   Variant DEPTHWISE (groups = inChannels = outChannels, a kernel of at most 3×3, rows
//   DEPTHWISE_ROWS: the host's choice): the channel's taps held in registers, and each output
//   row's dy at each kx loaded once for every input row of the invocation it reaches (the output
//   rows from the last down, so each input's sum keeps the plain order: ky, then kx); each kx's
//   output column by floorDivide (a float division: lavapipe divides integers a lane at a time).
//   Params, blockChannels, floorDivide, DEPTHWISE_ROWS and SUBGROUP_LANES:
//   shaders/lib/conv2d_general.wgsl.

#if SUBGROUP
enable subgroups;
diagnostic(off, subgroup_uniformity);
#endif

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> weight: array<f32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;

override WG_X: u32;

@compute @workgroup_size(WG_X)
fn conv2d_general_backward_input(@builtin(global_invocation_id) gid3: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let gid = linearInvocation(gid3, nwg);
#if DEPTHWISE
  depthwiseRows(gid.x);
#else
  let r = gid.x;
  let groupIn = params.inChannels / params.groups;
  let groupOut = params.outChannels / params.groups;
  let perGroup = (groupIn + params.inBlock - 1u) / params.inBlock;
  let blocks = params.groups * perGroup;
  // A row's columns by their remainder mod strideW, each class in quads: those of one quad are
  // read by one tap kx each or by none, at neighbouring output columns.
  let perClass = ((params.width + params.strideW - 1u) / params.strideW + 3u) / 4u;
  let quads = params.strideW * perClass;
  let rowBlocks = (params.height + params.rows - 1u) / params.rows;
  // A (sample, channel block)'s slots: its blocks of rows' quads, rounded up to planeAlign.
  let slots = (rowBlocks * quads + params.planeAlign - 1u) / params.planeAlign * params.planeAlign;
  // (SUBGROUP: a whole subgroup returns together, slots being whole subgroups.)
  if (r >= params.batch * blocks * slots) { return; }
  // The invocation's four input columns: its sample, channel block, block of rows and quad
  // (neighbouring invocations take neighbouring quads of a class); a slot past the plane's rows
  // computes its last ones and writes nothing.
  let slot = r % slots;
  let live = slot < rowBlocks * quads;
  let q = slot % quads;
  let firstRow = min(slot / quads, rowBlocks - 1u) * params.rows;
  let b = (r / slots) % blocks;
  let n = r / (slots * blocks);
  let g = b / perGroup;
  let c0 = (b % perGroup) * params.inBlock;
  let count = min(params.inBlock, groupIn - c0);
  let taps = params.kernelH * params.kernelW;
  // The block's weight columns.
  let w = blockChannels(c0, c0 + count - 1u) * taps;
  let outPlane = params.outHeight * params.outWidth;
  let inPlane = params.height * params.width;
  let dyBase = n * params.outChannels * outPlane;
  // Columns ix0 + i·strideW, i < 4 (past the row's end: none).
  let ix0 = q / perClass + (q % perClass) * 4u * params.strideW;
  let columns = select(0u, min(4u, (params.width - ix0 + params.strideW - 1u) / params.strideW), ix0 < params.width);
  for (var iy = i32(firstRow); iy < i32(min(firstRow + params.rows, params.height)); iy++) {
    let dxRow = (n * params.inChannels + g * groupIn + c0) * inPlane + u32(iy) * params.width;
    // The block's sums at columns ix0 + i·strideW, i < 4 (shaders/lib/conv2d_general_block.wgsl).
    var sums = array<vec4f, 4>();
    for (var ky = 0u; ky < params.kernelH; ky++) {
      // The output row whose tap ky reads row iy (a division only for a stride over 1).
      let ty = iy + i32(params.padTop) - i32(ky * params.dilationH);
#if SUBGROUP
      // (Stride 1.) A row no output reads adds zeros: the subgroup's lanes stay together.
      let rowRead = vec4<bool>(ty >= 0 && ty < i32(params.outHeight));
      let dyRow = dyBase + u32(clamp(ty, 0, i32(params.outHeight) - 1)) * params.outWidth;
      for (var kx = 0u; kx < params.kernelW; kx++) {
        let ox = vec4i(i32(ix0 + params.padLeft) - i32(kx * params.dilationW)) + vec4i(0, 1, 2, 3);
        let reads = (ox >= vec4i(0)) & (ox < vec4i(i32(params.outWidth))) & rowRead;
        let at = vec4u(clamp(ox, vec4i(0), vec4i(i32(params.outWidth) - 1))) + dyRow;
        let t = ky * params.kernelW + kx;
        // Output channels co and co + 1 together: lane l loads input channel l mod 4's weight of
        // output channel co + ⌊l / 4⌋ (past the group: the last's, unused), the subgroup shares them.
        let lane = r % SUBGROUP_LANES;
        let wLane = w[lane % 4u] + t;
        let end = (g + 1u) * groupOut;
        for (var co = g * groupOut; co < end; co += 2u) {
          let mine = weight[min(co + lane / 4u, end - 1u) * groupIn * taps + wLane];
          let w0 = vec4f(subgroupBroadcast(mine, 0u), subgroupBroadcast(mine, 1u), subgroupBroadcast(mine, 2u), subgroupBroadcast(mine, 3u));
          let w1 = vec4f(subgroupBroadcast(mine, 4u), subgroupBroadcast(mine, 5u), subgroupBroadcast(mine, 6u), subgroupBroadcast(mine, 7u));
          let plane = co * outPlane;
          sums = addBlockProducts(sums, select(vec4f(0.0), vec4f(dy[at.x + plane], dy[at.y + plane], dy[at.z + plane], dy[at.w + plane]), reads), w0);
          if (co + 1u < end) {
            let next = plane + outPlane;
            sums = addBlockProducts(sums, select(vec4f(0.0), vec4f(dy[at.x + next], dy[at.y + next], dy[at.z + next], dy[at.w + next]), reads), w1);
          }
        }
      }
#else
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
#endif
    }
    for (var j = 0u; j < select(0u, count, live); j++) {
      // Channel c0 + j's values at the four columns.
      let v = channelSums(sums, j, params.inBlock);
      for (var i = 0u; i < columns; i++) {
        dx[dxRow + j * inPlane + ix0 + i * params.strideW] = v[i];
      }
    }
  }
#endif
}

#if DEPTHWISE
// DEPTHWISE: invocation r takes input columns ix0 + i·strideW (i < 4) of rows iy0 … iy0 +
// DEPTHWISE_ROWS − 1 of one channel's plane (sample and channel: the plane's index n·channels + c,
// dy's too). Input row iy0 + j is tap ky of output row oy where oy·strideH = iy0 + j + padTop −
// ky·dilationH; the loop walks oy downward, so each row's taps come in the plain order (ky, then kx).
fn depthwiseRows(r: u32) {
  let perClass = ((params.width + params.strideW - 1u) / params.strideW + 3u) / 4u;
  let quads = params.strideW * perClass;
  let rowBlocks = (params.height + DEPTHWISE_ROWS - 1u) / DEPTHWISE_ROWS;
  if (r >= params.batch * params.inChannels * rowBlocks * quads) { return; }
  let q = r % quads;
  let planeRows = r / quads;
  let iy0 = (planeRows % rowBlocks) * DEPTHWISE_ROWS;
  let plane = planeRows / rowBlocks;
  let c = plane % params.inChannels;
  let rows = min(DEPTHWISE_ROWS, params.height - iy0);
  // The channel's taps, a row of the kernel a vec3 (taps past the kernel: unread). (Loops of
  // constant length, each index a constant once unrolled: the arrays stay in registers.)
  var taps = array<vec3f, 3>();
  for (var ky = 0u; ky < 3u; ky++) {
    for (var kx = 0u; kx < 3u; kx++) {
      if (ky < params.kernelH && kx < params.kernelW) {
        taps[ky][kx] = weight[(c * params.kernelH + ky) * params.kernelW + kx];
      }
    }
  }
  let ix0 = q / perClass + (q % perClass) * 4u * params.strideW;
  let columns = select(0u, min(4u, (params.width - ix0 + params.strideW - 1u) / params.strideW), ix0 < params.width);
  // Each kx's output column at the quad's first column (the quad's: the next three), and whether
  // any output reads the quad there (as the plain path).
  var txs = array<i32, 3>();
  var hits = array<bool, 3>();
  for (var kx = 0u; kx < 3u; kx++) {
    var tx = i32(ix0 + params.padLeft) - i32(kx * params.dilationW);
    var hit = kx < params.kernelW;
    if (params.strideW != 1u) {
      let s = i32(params.strideW);
      let below = floorDivide(tx, s);
      hit = hit && tx == below * s;
      tx = below;
    }
    txs[kx] = tx;
    hits[kx] = hit;
  }
  // Output rows oyHigh down to oyLow reach the invocation's rows.
  let oyHigh = i32(min((iy0 + rows - 1u + params.padTop) / params.strideH, params.outHeight - 1u));
  let lowest = i32(iy0 + params.padTop) - i32((params.kernelH - 1u) * params.dilationH);
  let oyLow = select(0, (lowest + i32(params.strideH) - 1) / i32(params.strideH), lowest > 0);
  let dyPlane = plane * params.outHeight * params.outWidth;
  let lastColumn = vec4i(i32(params.outWidth) - 1);
  var sums = array<vec4f, DEPTHWISE_ROWS>();
  for (var oy = oyHigh; oy >= oyLow; oy--) {
    let dyRow = dyPlane + u32(oy) * params.outWidth;
    // Row iy0 + j's tap at oy: ky·dilationH = k0 + j.
    let k0 = i32(iy0 + params.padTop) - oy * i32(params.strideH);
    // Each kx's four dy (a column before the first output column or past the last: zeros, as the
    // plain path); at stride 1 and dilation 1 across, the three overlap: six loaded.
    var row = array<vec4f, 3>();
    if (params.strideW == 1u && params.dilationW == 1u) {
      let oa = vec4i(txs[2]) + vec4i(0, 1, 2, 3);
      let ob = vec2i(txs[2]) + vec2i(4, 5);
      let at = vec4u(clamp(oa, vec4i(0), lastColumn)) + dyRow;
      let bt = vec2u(clamp(ob, vec2i(0), lastColumn.xy)) + dyRow;
      let a = select(vec4f(0.0), vec4f(dy[at.x], dy[at.y], dy[at.z], dy[at.w]), (oa >= vec4i(0)) & (oa <= lastColumn));
      let b = select(vec2f(0.0), vec2f(dy[bt.x], dy[bt.y]), (ob >= vec2i(0)) & (ob <= lastColumn.xy));
      row = array<vec4f, 3>(vec4f(a.zw, b), vec4f(a.yzw, b.x), a);
    } else {
      for (var kx = 0u; kx < 3u; kx++) {
        let ox = vec4i(txs[kx]) + vec4i(0, 1, 2, 3);
        let at = vec4u(clamp(ox, vec4i(0), lastColumn)) + dyRow;
        if (hits[kx]) {
          row[kx] = select(vec4f(0.0), vec4f(dy[at.x], dy[at.y], dy[at.z], dy[at.w]), (ox >= vec4i(0)) & (ox <= lastColumn));
        }
      }
    }
    for (var j = 0u; j < DEPTHWISE_ROWS; j++) {
      // Row j's tap ky at oy, if any, and its kernel row.
      let k = k0 + i32(j);
      var ky = u32(max(k, 0));
      var tap = j < rows && k >= 0;
      if (params.dilationH != 1u) {
        tap = tap && ky % params.dilationH == 0u;
        ky = ky / params.dilationH;
      }
      tap = tap && ky < params.kernelH;
      let wk = select(select(taps[0], taps[1], ky == 1u), taps[2], ky == 2u);
      for (var kx = 0u; kx < 3u; kx++) {
        if (tap && hits[kx]) { sums[j] += row[kx] * wk[kx]; }
      }
    }
  }
  let dxBase = plane * params.height * params.width + iy0 * params.width + ix0;
  for (var j = 0u; j < DEPTHWISE_ROWS; j++) {
    for (var i = 0u; i < 4u; i++) {
      if (j < rows && i < columns) {
        dx[dxBase + j * params.width + i * params.strideW] = sums[j][i];
      }
    }
  }
}
#endif
