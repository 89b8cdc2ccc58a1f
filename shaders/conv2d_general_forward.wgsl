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
//   One invocation per four neighbouring output columns of a row and block of outBlock output
//   channels of one group (4 where the group has 4 or more, each x loaded once for the four and
//   each weight once for the four columns; otherwise 1); a group's last block may hold fewer, a
//   row's last quad fewer columns. Neighbouring invocations take neighbouring quads of a row, so
//   the SIMD lanes of a CPU adapter load neighbouring elements. An invocation takes those four
//   columns in params.rows consecutive output rows (the index divisions once for them all; a
//   plane's last rows may be fewer), one after the other.
//   Variant SUBGROUP (subgroups of 8, blocks of 4 output channels, one row an invocation,
//   planeAlign 8: the host's choice): a subgroup's 8 invocations take one channel block (its
//   slots padded to whole subgroups, a padding slot computing a live one's sums and writing
//   nothing); for each tap and pair of input channels each lane loads one of the 8 weights and
//   subgroupBroadcast shares them (where the plain path has every invocation load all 8, each a
//   load all lanes share: dearer on a CPU adapter); rows in the padding add zeros in place of
//   being skipped (the same sums). The same bits as the plain path.
//   Variant DEPTHWISE (groups = inChannels = outChannels, a kernel of at most 3×3, rows
//   DEPTHWISE_ROWS: the host's choice): the channel's taps held in registers, and each input row's
//   four columns at each kx loaded once for every output row of the invocation that reads it
//   (the input rows in order, so each output's sum keeps the plain order: ky, then kx).
//   Params, blockChannels, DEPTHWISE_ROWS and SUBGROUP_LANES: shaders/lib/conv2d_general.wgsl.

#if SUBGROUP
enable subgroups;
diagnostic(off, subgroup_uniformity);
#endif

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
#if DEPTHWISE
  depthwiseRows(gid.x);
#else
  let r = gid.x;
  let groupIn = params.inChannels / params.groups;
  let groupOut = params.outChannels / params.groups;
  let perGroup = (groupOut + params.outBlock - 1u) / params.outBlock;
  let blocks = params.groups * perGroup;
  let quads = (params.outWidth + 3u) / 4u;
  let rowBlocks = (params.outHeight + params.rows - 1u) / params.rows;
  // A (sample, channel block)'s slots: its blocks of rows' quads, rounded up to planeAlign.
  let slots = (rowBlocks * quads + params.planeAlign - 1u) / params.planeAlign * params.planeAlign;
  // (SUBGROUP: a whole subgroup returns together, slots being whole subgroups.)
  if (r >= params.batch * blocks * slots) { return; }
  // The invocation's four output columns: its sample, channel block, block of rows and quad of
  // columns (neighbouring invocations take neighbouring quads of a row); a slot past the
  // plane's rows computes its last ones and writes nothing.
  let slot = r % slots;
  let live = slot < rowBlocks * quads;
  let q = slot % quads;
  let firstRow = min(slot / quads, rowBlocks - 1u) * params.rows;
  let b = (r / slots) % blocks;
  let n = r / (slots * blocks);
  let g = b / perGroup;
  let co0 = g * groupOut + (b % perGroup) * params.outBlock;
  let count = min(params.outBlock, (g + 1u) * groupOut - co0);
  let taps = params.kernelH * params.kernelW;
  // The block's weight rows.
  let w = blockChannels(co0, co0 + count - 1u) * groupIn * taps;
  let inPlane = params.height * params.width;
  let outPlane = params.outHeight * params.outWidth;
  let xBase = (n * params.inChannels + g * groupIn) * inPlane;
  let H = i32(params.height);
  let W = i32(params.width);
  let ox0 = q * 4u;
  let x0 = vec4i(vec4u(ox0, ox0 + 1u, ox0 + 2u, ox0 + 3u) * params.strideW) - i32(params.padLeft);
  let columns = min(4u, params.outWidth - ox0);
  for (var oy = firstRow; oy < min(firstRow + params.rows, params.outHeight); oy++) {
    let yRow = (n * params.outChannels + co0) * outPlane + oy * params.outWidth;
    let y0 = i32(oy * params.strideH) - i32(params.padTop);
    // The block's sums at columns ox0 … ox0 + 3 (shaders/lib/conv2d_general_block.wgsl).
    var sums = array<vec4f, 4>();
    for (var ky = 0u; ky < params.kernelH; ky++) {
      let iy = y0 + i32(ky * params.dilationH);
#if SUBGROUP
      // A row in the padding adds zeros (the subgroup's lanes stay together; the same sums).
      let rowIn = vec4<bool>(iy >= 0 && iy < H);
      let xRow = xBase + u32(clamp(iy, 0, H - 1)) * params.width;
#else
      if (iy < 0 || iy >= H) { continue; }
      let rowIn = vec4<bool>(true);
      let xRow = xBase + u32(iy) * params.width;
#endif
      for (var kx = 0u; kx < params.kernelW; kx++) {
        let ix = x0 + i32(kx * params.dilationW);
        // A tap in the padding adds a zero (x + 0 = x: the same sums as skipping it).
        let inside = (ix >= vec4i(0)) & (ix < vec4i(W)) & rowIn;
        let at = vec4u(clamp(ix, vec4i(0), vec4i(W - 1))) + xRow;
        let t = ky * params.kernelW + kx;
#if SUBGROUP
        // Input channels c and c + 1 together: lane l loads channel l mod 4's weight of input
        // channel c + ⌊l / 4⌋ (past the group: the last's, unused), and the subgroup shares them.
        let lane = r % SUBGROUP_LANES;
        let wLane = w[lane % 4u];
        for (var c = 0u; c < groupIn; c += 2u) {
          let mine = weight[wLane + min(c + lane / 4u, groupIn - 1u) * taps + t];
          let w0 = vec4f(subgroupBroadcast(mine, 0u), subgroupBroadcast(mine, 1u), subgroupBroadcast(mine, 2u), subgroupBroadcast(mine, 3u));
          let w1 = vec4f(subgroupBroadcast(mine, 4u), subgroupBroadcast(mine, 5u), subgroupBroadcast(mine, 6u), subgroupBroadcast(mine, 7u));
          let plane = c * inPlane;
          sums = addBlockProducts(sums, select(vec4f(0.0), vec4f(x[at.x + plane], x[at.y + plane], x[at.z + plane], x[at.w + plane]), inside), w0);
          if (c + 1u < groupIn) {
            let next = plane + inPlane;
            sums = addBlockProducts(sums, select(vec4f(0.0), vec4f(x[at.x + next], x[at.y + next], x[at.z + next], x[at.w + next]), inside), w1);
          }
        }
#else
        for (var c = 0u; c < groupIn; c++) {
          let plane = c * inPlane;
          let xv = select(vec4f(0.0), vec4f(x[at.x + plane], x[at.y + plane], x[at.z + plane], x[at.w + plane]), inside);
          sums = addProducts(sums, xv, w, c * taps + t, params.outBlock);
        }
#endif
      }
    }
    for (var j = 0u; j < select(0u, count, live); j++) {
      // Channel co0 + j's values at the four columns.
      let v = channelSums(sums, j, params.outBlock);
      for (var i = 0u; i < columns; i++) {
#if BIAS
        y[yRow + j * outPlane + ox0 + i] = v[i] + bias[co0 + j];
#else
        y[yRow + j * outPlane + ox0 + i] = v[i];
#endif
      }
    }
  }
#endif
}

#if DEPTHWISE
// DEPTHWISE: invocation r takes output columns ox0 … ox0 + 3 of rows oy0 … oy0 + DEPTHWISE_ROWS − 1
// of one channel's plane (sample and channel: the plane's index n·channels + c, the input's too).
// Output row j reads input row y0 + i at tap ky where i = j·strideH + ky·dilationH; the loop
// walks i upward, so each row's taps come in the plain order (ky, then kx).
fn depthwiseRows(r: u32) {
  let quads = (params.outWidth + 3u) / 4u;
  let rowBlocks = (params.outHeight + DEPTHWISE_ROWS - 1u) / DEPTHWISE_ROWS;
  if (r >= params.batch * params.outChannels * rowBlocks * quads) { return; }
  let q = r % quads;
  let planeRows = r / quads;
  let oy0 = (planeRows % rowBlocks) * DEPTHWISE_ROWS;
  let plane = planeRows / rowBlocks;
  let c = plane % params.outChannels;
  let rows = min(DEPTHWISE_ROWS, params.outHeight - oy0);
  // The channel's taps, a row of the kernel a vec3 (taps past the kernel: unread).
  var taps = array<vec3f, 3>();
  // (Loops of constant length, each index a constant once unrolled: the arrays stay in registers.)
  for (var ky = 0u; ky < 3u; ky++) {
    for (var kx = 0u; kx < 3u; kx++) {
      if (ky < params.kernelH && kx < params.kernelW) {
        taps[ky][kx] = weight[(c * params.kernelH + ky) * params.kernelW + kx];
      }
    }
  }
  let xBase = plane * params.height * params.width;
  let H = i32(params.height);
  let W = i32(params.width);
  let y0 = i32(oy0 * params.strideH) - i32(params.padTop);
  let ox0 = q * 4u;
  let x0 = vec4i(vec4u(ox0, ox0 + 1u, ox0 + 2u, ox0 + 3u) * params.strideW) - i32(params.padLeft);
  var sums = array<vec4f, DEPTHWISE_ROWS>();
  let span = (rows - 1u) * params.strideH + (params.kernelH - 1u) * params.dilationH + 1u;
  for (var i = 0u; i < span; i++) {
    let iy = y0 + i32(i);
    if (iy < 0 || iy >= H) { continue; }
    let xRow = xBase + u32(iy) * params.width;
    // Each kx's four x (a tap in the padding: a zero, as the plain path); at stride 1 and
    // dilation 1 across, the three overlap: six loaded.
    var row = array<vec4f, 3>();
    if (params.strideW == 1u && params.dilationW == 1u) {
      let ia = vec4i(x0.x) + vec4i(0, 1, 2, 3);
      let ib = vec2i(x0.x) + vec2i(4, 5);
      let at = vec4u(clamp(ia, vec4i(0), vec4i(W - 1))) + xRow;
      let bt = vec2u(clamp(ib, vec2i(0), vec2i(W - 1))) + xRow;
      let a = select(vec4f(0.0), vec4f(x[at.x], x[at.y], x[at.z], x[at.w]), (ia >= vec4i(0)) & (ia < vec4i(W)));
      let b = select(vec2f(0.0), vec2f(x[bt.x], x[bt.y]), (ib >= vec2i(0)) & (ib < vec2i(W)));
      row = array<vec4f, 3>(a, vec4f(a.yzw, b.x), vec4f(a.zw, b));
    } else {
      for (var kx = 0u; kx < 3u; kx++) {
        let ix = x0 + i32(kx * params.dilationW);
        let at = vec4u(clamp(ix, vec4i(0), vec4i(W - 1))) + xRow;
        if (kx < params.kernelW) {
          row[kx] = select(vec4f(0.0), vec4f(x[at.x], x[at.y], x[at.z], x[at.w]), (ix >= vec4i(0)) & (ix < vec4i(W)));
        }
      }
    }
    for (var j = 0u; j < DEPTHWISE_ROWS; j++) {
      // Output row j's tap ky at input row i, if any, and its kernel row.
      let k = i32(i) - i32(j * params.strideH);
      var ky = u32(max(k, 0));
      var reads = j < rows && k >= 0;
      if (params.dilationH != 1u) {
        reads = reads && ky % params.dilationH == 0u;
        ky = ky / params.dilationH;
      }
      reads = reads && ky < params.kernelH;
      let wk = select(select(taps[0], taps[1], ky == 1u), taps[2], ky == 2u);
      for (var kx = 0u; kx < 3u; kx++) {
        if (reads && kx < params.kernelW) { sums[j] += row[kx] * wk[kx]; }
      }
    }
  }
  let yBase = plane * params.outHeight * params.outWidth + oy0 * params.outWidth + ox0;
  let columns = min(4u, params.outWidth - ox0);
  for (var j = 0u; j < DEPTHWISE_ROWS; j++) {
    for (var i = 0u; i < 4u; i++) {
      if (j < rows && i < columns) {
#if BIAS
        y[yBase + j * params.outWidth + i] = sums[j][i] + bias[c];
#else
        y[yBase + j * params.outWidth + i] = sums[j][i];
#endif
      }
    }
  }
}
#endif
