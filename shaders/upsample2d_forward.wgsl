// upsample2d_forward: PyTorch's nn.Upsample / F.interpolate of an NCHW tensor's last two dimensions
// (src/layers/upsample.ts); overwrites y.
//   x [planes, height, width], y [planes, outH, outW]. Each axis maps output position o to input
//   taps as PyTorch's CPU kernels, with `scaleH` and `scaleW` the host's source scales (PyTorch's
//   area_pixel_compute_scale, rounded to f32 as PyTorch's float32 kernels hold it):
//   NEAREST:       i = min(⌊o·scale⌋, n − 1)
//   NEAREST_EXACT: i = min(⌊(o + ½)·scale⌋, n − 1)
//   (default)      bilinear: s = o·scale (ALIGN_CORNERS) or max((o + ½)·scale − ½, 0); taps
//                  i0 = ⌊s⌋ and i1 = i0 + 1 (i0 at the last element), weights 1 − (s − i0) and s − i0;
//                  y = wy0·(wx0·x[i0, j0] + wx1·x[i0, j1]) + wy1·(wx0·x[i1, j0] + wx1·x[i1, j1]).
//   The taps: shaders/lib/upsample_taps.wgsl. One invocation per output element.

struct Params {
  planes: u32,
  height: u32,
  width: u32,
  outH: u32,
  outW: u32,
  scaleH: f32,
  scaleW: f32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

override WG_X: u32;

@compute @workgroup_size(WG_X)
fn upsample2d_forward(@builtin(global_invocation_id) gid3: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let gid = linearInvocation(gid3, nwg);
  let area = params.outH * params.outW;
  let i = gid.x;
  if (i >= params.planes * area) { return; }
  let plane = i / area;
  let ty = tapsOf((i % area) / params.outW, params.scaleH, params.height);
  let tx = tapsOf(i % params.outW, params.scaleW, params.width);
  let base = plane * params.height * params.width;
  let row0 = base + ty.i0 * params.width;
#if NEAREST
  y[i] = x[row0 + tx.i0];
#elif NEAREST_EXACT
  y[i] = x[row0 + tx.i0];
#else
  let row1 = base + ty.i1 * params.width;
  y[i] = ty.w0 * (tx.w0 * x[row0 + tx.i0] + tx.w1 * x[row0 + tx.i1]) + ty.w1 * (tx.w0 * x[row1 + tx.i0] + tx.w1 * x[row1 + tx.i1]);
#endif
}
