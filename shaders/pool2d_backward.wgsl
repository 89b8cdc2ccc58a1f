// pool2d_backward: the input gradient of pool2d_forward (MaxPool2d and AvgPool2d of any window);
// overwrites dx. Gathered, not scattered: no atomics, and each element's sum in one order.
//   dy [planes, outH, outW], dx [planes, height, width]; the window parameters as the forward's.
//   Input element (iy, ix) is a tap of the outputs oy with oy·strideH − padH ≤ iy ≤ oy·strideH −
//   padH + (kernelH − 1)·dilationH (and likewise ox); they are visited row-major, as PyTorch's
//   backward adds each output's gradient into dx in output order: the same sums.
//   MAX: dx = Σ dy[o] over those outputs whose argmax is this element.
//   Otherwise (AvgPool2d): dx = Σ dy[o] / divisor(o), the forward's divisor of each window that
//   holds the element (inside its clipped span).
//   ADAPTIVE: PyTorch's adaptive windows (pool2d_forward); the outputs holding element iy are
//   ⌊iy·outH/height⌋ … ⌈(iy + 1)·outH/height⌉ − 1; the average's share dy[o] / rows / columns.
//   One invocation per input element. Params, the adaptive and average windows and the divisor:
//   shaders/lib/pool2d_window.wgsl.

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read_write> dx: array<f32>;
#if MAX
@group(0) @binding(3) var<storage, read> argmax: array<u32>;
#endif

override WG_X: u32;

/** The outputs along one axis whose windows reach input position i: [first, last], empty if first > last. */
fn outputsOf(i: u32, stride: u32, pad: u32, kernel: u32, dilation: u32, count: u32) -> vec2i {
  let shifted = i32(i + pad);
  let reach = i32((kernel - 1u) * dilation);
  // first = ⌈(i + pad − reach) / stride⌉, at least 0; last = ⌊(i + pad) / stride⌋, at most count − 1.
  let lowest = shifted - reach;
  var first = 0;
  if (lowest > 0) { first = (lowest + i32(stride) - 1) / i32(stride); }
  let last = min(shifted / i32(stride), i32(count) - 1);
  return vec2i(first, last);
}

/** The outputs along one axis whose adaptive windows hold input position i: [first, last]. */
fn adaptiveOutputsOf(i: u32, size: u32, count: u32) -> vec2i {
  let first = (i * count) / size;
  let last = min(((i + 1u) * count + size - 1u) / size - 1u, count - 1u);
  return vec2i(i32(first), i32(last));
}

@compute @workgroup_size(WG_X)
fn pool2d_backward(@builtin(global_invocation_id) gid3: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let gid = linearInvocation(gid3, nwg);
  let i = gid.x;
  let size = params.height * params.width;
  if (i >= params.planes * size) { return; }
  let plane = i / size;
  let iy = (i % size) / params.width;
  let ix = i % params.width;
#if ADAPTIVE
  let rows = adaptiveOutputsOf(iy, params.height, params.outH);
  let cols = adaptiveOutputsOf(ix, params.width, params.outW);
#else
  let rows = outputsOf(iy, params.strideH, params.padH, params.kernelH, params.dilationH, params.outH);
  let cols = outputsOf(ix, params.strideW, params.padW, params.kernelW, params.dilationW, params.outW);
#endif
  let outBase = plane * params.outH * params.outW;
  var sum = 0.0;
  for (var oy = rows.x; oy <= rows.y; oy++) {
    for (var ox = cols.x; ox <= cols.y; ox++) {
      let o = outBase + u32(oy) * params.outW + u32(ox);
#if MAX
      if (argmax[o] == i) { sum += dy[o]; }
#elif ADAPTIVE
      let kernelH = adaptiveWindow(u32(oy), params.height, params.outH).y;
      let kernelW = adaptiveWindow(u32(ox), params.width, params.outW).y;
      sum += dy[o] / f32(kernelH) / f32(kernelW);
#else
      // The window and its divisor, as the forward's. A tap past the padded end (the window
      // clipped there) is not the window's.
      let window = avgWindowOf(u32(oy), u32(ox));
      if (i32(iy) < window.yEnd && i32(ix) < window.xEnd) { sum += dy[o] / avgDivisor(window); }
#endif
    }
  }
  dx[i] = sum;
}
