// batchnorm_forward: y = (x − mean)·invStd·gamma + beta per channel; overwrites y.
//   x, y [batch, channels, area]; stats [2, channels] = (mean, invStd) from batchnorm_stats
//   (training) or batchnorm_eval_stats (eval); gamma, beta [channels].
//   One invocation per four elements of a row: global_invocation_id = (s/4, c, b), so no division.
//   Variant VEC4 (area a multiple of 4): x and y read and written as vec4s, the four one vec4.
//   Variant RELU: y = max(·, 0), a NaN kept (reluBits), the ReLU after the batch norm (batchnorm-relu).

struct Params {
  batch: u32,
  channels: u32,
  area: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
#if VEC4
@group(0) @binding(1) var<storage, read> x: array<vec4f>;
#else
@group(0) @binding(1) var<storage, read> x: array<f32>;
#endif
@group(0) @binding(2) var<storage, read> stats: array<f32>;
@group(0) @binding(3) var<storage, read> gamma: array<f32>;
@group(0) @binding(4) var<storage, read> beta: array<f32>;
#if VEC4
@group(0) @binding(5) var<storage, read_write> y: array<vec4f>;
#else
@group(0) @binding(5) var<storage, read_write> y: array<f32>;
#endif

override WG_X: u32;
override WG_Y: u32;
override WG_Z: u32;

@compute @workgroup_size(WG_X, WG_Y, WG_Z)
fn batchnorm_forward(@builtin(global_invocation_id) gid: vec3u) {
  let s0 = gid.x * 4u;
  let c = gid.y;
  let b = gid.z;
  if (s0 >= params.area || c >= params.channels || b >= params.batch) { return; }
  let row = (b * params.channels + c) * params.area;
  let scale = stats[params.channels + c] * gamma[c];
  let mean = stats[c];
  let shift = beta[c];
#if VEC4
  let at = row / 4u + gid.x;
#if RELU
  y[at] = reluBits4((x[at] - mean) * scale + shift);
#else
  y[at] = (x[at] - mean) * scale + shift;
#endif
#else
  for (var s = s0; s < min(s0 + 4u, params.area); s++) {
#if RELU
    y[row + s] = reluBits((x[row + s] - mean) * scale + shift);
#else
    y[row + s] = (x[row + s] - mean) * scale + shift;
#endif
  }
#endif
}
