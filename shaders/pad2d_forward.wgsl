// pad2d_forward: PyTorch's F.pad of an NCHW tensor's last two dimensions (nn.ZeroPad2d,
// ConstantPad2d, ReflectionPad2d, ReplicationPad2d, CircularPad2d, and Conv2d's padding_mode);
// overwrites y.
//   x [planes, height, width], y [planes, outH, outW]; output (oy, ox) reads input row oy − top and
//   column ox − left, mapped back inside the input by the mode:
//   (default)  constant: `value` outside the input (a negative top or left crops);
//   REFLECT:   mirrored about the edge, the edge itself not repeated (k < 0 → −k, k ≥ n → 2(n − 1) − k;
//              each side's padding below the input's size, as PyTorch requires);
//   REPLICATE: the nearest edge element (k clamped to [0, n − 1]);
//   CIRCULAR:  wrapped around: k mod n, or where a side crops (a negative count), around the kept
//              part (PyTorch's: cropped first, then wrapped; each side's padding at most its size).
//   One invocation per output element.

struct Params {
  planes: u32,
  height: u32,
  width: u32,
  outH: u32,
  outW: u32,
  top: i32,
  left: i32,
  value: f32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

override WG_X: u32;

/**
 * The input position output position k − pad reads along an axis of n elements, `before` and
 * `after` the axis's two padding counts (constant mode: k itself, maybe outside).
 */
fn sourceOf(k: i32, n: i32, before: i32, after: i32) -> i32 {
#if REFLECT
  let r = abs(k);
  return select(r, 2 * (n - 1) - r, r >= n);
#elif REPLICATE
  return clamp(k, 0, n - 1);
#elif CIRCULAR
  let kept = max(-before, 0);
  let m = n - kept - max(-after, 0);
  return kept + (((k - kept) % m) + m) % m;
#else
  return k;
#endif
}

@compute @workgroup_size(WG_X)
fn pad2d_forward(@builtin(global_invocation_id) gid3: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let gid = linearInvocation(gid3, nwg);
  let area = params.outH * params.outW;
  let i = gid.x;
  if (i >= params.planes * area) { return; }
  let plane = i / area;
  let oy = (i % area) / params.outW;
  let ox = i % params.outW;
  let h = i32(params.height);
  let w = i32(params.width);
  let bottom = i32(params.outH) - h - params.top;
  let right = i32(params.outW) - w - params.left;
  let iy = sourceOf(i32(oy) - params.top, h, params.top, bottom);
  let ix = sourceOf(i32(ox) - params.left, w, params.left, right);
  if (iy < 0 || iy >= h || ix < 0 || ix >= w) {
    y[i] = params.value;
  } else {
    y[i] = x[plane * params.height * params.width + u32(iy) * params.width + u32(ix)];
  }
}
