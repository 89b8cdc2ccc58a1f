// log_softmax_backward: dx_j = dy_j − exp(y_j) · Σ_k dy_k per row, from the forward's output y;
// overwrites dx. x, y, dy [batch, classes]. One invocation per row (the sum runs over k in order).
//   Variant SOFTMAX (y = softmax(x)): dx_j = y_j · (dy_j − Σ_k dy_k · y_k) (PyTorch's
//   softmax_backward_data).
//   Variant SOFTMIN (y = softmax(−x)): dx_j = −y_j · (dy_j − Σ_k dy_k · y_k).

struct Params {
  batch: u32,
  classes: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> y: array<f32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;

override WG_X: u32;

@compute @workgroup_size(WG_X)
fn log_softmax_backward(@builtin(global_invocation_id) gid3: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let gid = linearInvocation(gid3, nwg);
  let b = gid.x;
  if (b >= params.batch) { return; }
  let row = b * params.classes;
  var sum = 0.0;
#if SOFTMAX
  for (var j = 0u; j < params.classes; j++) {
    sum += dy[row + j] * y[row + j];
  }
  for (var j = 0u; j < params.classes; j++) {
    dx[row + j] = y[row + j] * (dy[row + j] - sum);
  }
#elif SOFTMIN
  for (var j = 0u; j < params.classes; j++) {
    sum += dy[row + j] * y[row + j];
  }
  for (var j = 0u; j < params.classes; j++) {
    dx[row + j] = -y[row + j] * (dy[row + j] - sum);
  }
#else
  for (var j = 0u; j < params.classes; j++) {
    sum += dy[row + j];
  }
  for (var j = 0u; j < params.classes; j++) {
    dx[row + j] = dy[row + j] - exp(y[row + j]) * sum;
  }
#endif
}
