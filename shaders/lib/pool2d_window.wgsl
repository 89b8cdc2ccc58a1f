// The pooling kernels' parameters and windows (pool2d_forward, pool2d_backward; one declaration of
// the parameters for the two: src/kernels/pooling.ts). x [planes, height, width], y [planes, outH,
// outW]; output (oy, ox)'s window as pool2d_forward's comment says.

struct Params {
  planes: u32,
  height: u32,
  width: u32,
  outH: u32,
  outW: u32,
  kernelH: u32,
  kernelW: u32,
  strideH: u32,
  strideW: u32,
  padH: u32,
  padW: u32,
  dilationH: u32,
  dilationW: u32,
  divisorOverride: u32,
  countIncludePad: u32,
}

// An adaptive window's extent along one axis of `size` positions cut into `count` windows:
// window o's first position ⌊o·size/count⌋ and its length (to ⌈(o + 1)·size/count⌉).
fn adaptiveWindow(o: u32, size: u32, count: u32) -> vec2u {
  let start = (o * size) / count;
  return vec2u(start, ((o + 1u) * size + count - 1u) / count - start);
}

// Output (oy, ox)'s AvgPool2d window (dilation 1): its first row and column (negative in the
// padding) and its ends clipped to the padded input (count_include_pad's extent).
struct AvgWindow {
  y0: i32,
  x0: i32,
  yEnd: i32,
  xEnd: i32,
}

fn avgWindowOf(oy: u32, ox: u32) -> AvgWindow {
  let y0 = i32(oy * params.strideH) - i32(params.padH);
  let x0 = i32(ox * params.strideW) - i32(params.padW);
  let yEnd = min(y0 + i32(params.kernelH), i32(params.height + params.padH));
  let xEnd = min(x0 + i32(params.kernelW), i32(params.width + params.padW));
  return AvgWindow(y0, x0, yEnd, xEnd);
}

// A window's divisor, PyTorch's avg_pool2d's: divisorOverride if > 0, else with countIncludePad
// the window's size clipped to the padded input, else the number of its taps inside the input.
fn avgDivisor(w: AvgWindow) -> f32 {
  let padded = (w.yEnd - w.y0) * (w.xEnd - w.x0);
  let inside = (min(w.yEnd, i32(params.height)) - max(w.y0, 0)) * (min(w.xEnd, i32(params.width)) - max(w.x0, 0));
  var divisor = f32(select(inside, padded, params.countIncludePad == 1u));
  if (params.divisorOverride > 0u) { divisor = f32(params.divisorOverride); }
  return divisor;
}
