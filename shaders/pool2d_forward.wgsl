// pool2d_forward: MaxPool2d and AvgPool2d of any window (PyTorch's kernel_size, stride, padding,
// dilation, ceil_mode; AvgPool2d's count_include_pad and divisor_override); overwrites y (and
// argmax). The 2×2 max pool and the global average pool have kernels of their own (faster).
//   x [planes, height, width] (planes = batch·channels), y [planes, outH, outW]; output (oy, ox)'s
//   window has taps (oy·strideH − padH + ky·dilationH, ox·strideW − padW + kx·dilationW), ky <
//   kernelH, kx < kernelW; taps outside the input are padding.
//   MAX: y = the largest tap inside the input, argmax[o] = its flat index into x. PyTorch's rule:
//   taps are scanned row-major and one replaces the maximum if it is greater or NaN (the first of
//   equal maxima wins, NaN propagates); the maximum starts at −∞ at the first tap inside the input.
//   Otherwise (AvgPool2d, dilation 1): y = (Σ taps inside the input, row-major) / divisor, where
//   divisor = divisorOverride if > 0, else with countIncludePad the window's size clipped to the
//   padded input, else the number of taps inside the input (PyTorch's avg_pool2d).
//   ADAPTIVE (AdaptiveMaxPool2d with MAX, AdaptiveAvgPool2d without): PyTorch's adaptive windows,
//   rows ⌊oy·height/outH⌋ … ⌈(oy + 1)·height/outH⌉ − 1 (columns likewise), no padding; the
//   average is the window's sum / its rows / its columns (adaptive_avg_pool2d's two divisions).
//   The kernel, stride, padding and dilation parameters are not read.
//   One invocation per output. Params, the adaptive and average windows and the divisor:
//   shaders/lib/pool2d_window.wgsl.

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
#if MAX
@group(0) @binding(3) var<storage, read_write> argmax: array<u32>;
#endif

override WG_X: u32;

fn isNan(v: f32) -> bool {
  return (bitcast<u32>(v) & 0x7fffffffu) > 0x7f800000u;
}

@compute @workgroup_size(WG_X)
fn pool2d_forward(@builtin(global_invocation_id) gid3: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let gid = linearInvocation(gid3, nwg);
  let o = gid.x;
  let area = params.outH * params.outW;
  if (o >= params.planes * area) { return; }
  let plane = o / area;
  let oy = (o % area) / params.outW;
  let ox = o % params.outW;
  let base = plane * params.height * params.width;
  let H = i32(params.height);
  let W = i32(params.width);
#if ADAPTIVE
  let rows = adaptiveWindow(oy, params.height, params.outH);
  let cols = adaptiveWindow(ox, params.width, params.outW);
  let y0 = i32(rows.x);
  let x0 = i32(cols.x);
  let kernelH = rows.y;
  let kernelW = cols.y;
  let dilationH = 1u;
  let dilationW = 1u;
#else
  let y0 = i32(oy * params.strideH) - i32(params.padH);
  let x0 = i32(ox * params.strideW) - i32(params.padW);
  let kernelH = params.kernelH;
  let kernelW = params.kernelW;
  let dilationH = params.dilationH;
  let dilationW = params.dilationW;
#endif
#if MAX
  // −∞ (a window with no tap inside the input keeps it), built at run time: a constant −∞ is not
  // a valid WGSL f32 value.
  var best = bitcast<f32>(0xff800000u | (params.planes & 0u));
  var index = 0xffffffffu;
  for (var ky = 0u; ky < kernelH; ky++) {
    let iy = y0 + i32(ky * dilationH);
    if (iy < 0 || iy >= H) { continue; }
    for (var kx = 0u; kx < kernelW; kx++) {
      let ix = x0 + i32(kx * dilationW);
      if (ix < 0 || ix >= W) { continue; }
      let i = base + u32(iy) * params.width + u32(ix);
      let v = x[i];
      // The first tap inside the input is taken whatever it is (PyTorch's maxindex starts there,
      // its maximum at −∞, which a −∞ tap leaves as it is).
      if (index == 0xffffffffu || v > best || isNan(v)) {
        best = v;
        index = i;
      }
    }
  }
  y[o] = best;
  argmax[o] = index;
#elif ADAPTIVE
  var sum = 0.0;
  for (var iy = y0; iy < y0 + i32(kernelH); iy++) {
    for (var ix = x0; ix < x0 + i32(kernelW); ix++) {
      sum += x[base + u32(iy) * params.width + u32(ix)];
    }
  }
  y[o] = sum / f32(kernelH) / f32(kernelW);
#else
  // The window clipped to the padded input (count_include_pad's size), then to the input.
  let window = avgWindowOf(oy, ox);
  let ys = max(window.y0, 0);
  let xs = max(window.x0, 0);
  let ye = min(window.yEnd, H);
  let xe = min(window.xEnd, W);
  var sum = 0.0;
  for (var iy = ys; iy < ye; iy++) {
    for (var ix = xs; ix < xe; ix++) {
      sum += x[base + u32(iy) * params.width + u32(ix)];
    }
  }
  y[o] = sum / avgDivisor(window);
#endif
}
