// batchnorm_backward_input: the input gradient of training-mode BatchNorm2d; overwrites dx.
//   dx = gamma·invStd/M · (M·dy − Σdy − x̂·Σ(dy·x̂)),  x̂ = (x − mean)·invStd,  M = batch·area,
//   with Σdy = dbeta and Σ(dy·x̂) = dgamma from batchnorm_backward_reduce.
//   With reluInput = 1 the batch norm's input x is a ReLU's output, and dx also takes the ReLU's
//   gradient: dx = 0 where x ≤ 0 (relu_backward fused in, one pass fewer).
//   Variant DROPOUT (a Dropout after the batch norm, its backward fused in): dy is the gradient
//   at the dropout's output, taken times each element's mask value first (mask bits as
//   dropout_forward draws them, shaders/lib/dropout_mask.wgsl; 0 or dropoutScale), as
//   batchnorm_backward_reduce's DROPOUT does.
//   x, dy, dx [batch, channels, area]; stats [2, channels]. One invocation per four elements
//   of a row, global_invocation_id = (s/4, c, b); the channel and image come from workgroup_id
//   (the workgroup is 1 wide in y and z). The per-channel values are read once, before the loop
//   over the four elements: lavapipe pays a load per invocation for each (21.7 → 18.2 ms over the
//   seed CNN's blocks at batch 128). Variant VEC4 (area a multiple of 4): dy, x and dx read and
//   written as vec4s, the four elements one vec4.

struct Params {
  batch: u32,
  channels: u32,
  area: u32,
  reluInput: u32,
  dropoutScale: f32,
}

@group(0) @binding(0) var<uniform> params: Params;
#if VEC4
@group(0) @binding(1) var<storage, read> dy: array<vec4f>;
@group(0) @binding(2) var<storage, read> x: array<vec4f>;
#else
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
#endif
@group(0) @binding(3) var<storage, read> stats: array<f32>;
@group(0) @binding(4) var<storage, read> gamma: array<f32>;
@group(0) @binding(5) var<storage, read> dgamma: array<f32>;
@group(0) @binding(6) var<storage, read> dbeta: array<f32>;
#if VEC4
@group(0) @binding(7) var<storage, read_write> dx: array<vec4f>;
#else
@group(0) @binding(7) var<storage, read_write> dx: array<f32>;
#endif
#if DROPOUT
@group(0) @binding(8) var<storage, read> mask: array<u32>;
#endif

override WG_X: u32;
override WG_Y: u32;
override WG_Z: u32;

@compute @workgroup_size(WG_X, WG_Y, WG_Z)
fn batchnorm_backward_input(@builtin(global_invocation_id) gid: vec3u, @builtin(workgroup_id) wid: vec3u) {
  // The channel and image from the workgroup (WG_Y = WG_Z = 1): the same in every invocation of
  // a workgroup, so the per-channel values are read once for all of them (lavapipe reads a value
  // whose address it cannot prove uniform once per invocation).
  let s0 = gid.x * 4u;
  let c = wid.y;
  let b = wid.z;
  if (s0 >= params.area || c >= params.channels || b >= params.batch) { return; }
  let row = (b * params.channels + c) * params.area;
  let mean = stats[c];
  let invStd = stats[params.channels + c];
  let m = f32(params.batch * params.area);
  let scale = gamma[c] * invStd / m;
  let db = dbeta[c];
  let dg = dgamma[c];
  let relu = params.reluInput == 1u;
#if VEC4
  // The invocation's four elements, one vec4 of the plane.
  let at = row / 4u + gid.x;
  let xs = x[at];
#if DROPOUT
  let dys = dy[at] * maskQuad(mask[at / 8u] >> (4u * (at % 8u)), params.dropoutScale);
#else
  let dys = dy[at];
#endif
  let g = scale * (m * dys - db - (xs - mean) * invStd * dg);
  dx[at] = select(g, vec4f(0.0), vec4<bool>(relu) & !(xs > vec4f(0.0)));
#else
  for (var s = s0; s < min(s0 + 4u, params.area); s++) {
    let xs = x[row + s];
#if DROPOUT
    let i = row + s;
    let dys = dy[i] * maskAt(mask[i / 32u], i % 32u, params.dropoutScale);
#else
    let dys = dy[row + s];
#endif
    let g = scale * (m * dys - db - (xs - mean) * invStd * dg);
    dx[row + s] = select(g, 0.0, relu && !(xs > 0.0));
  }
#endif
}
