// log_softmax_forward: y = log_softmax(x) over each row (PyTorch's LogSoftmax(dim=1)); overwrites y.
//   x, y [batch, classes]. y_j = x_j − max − log Σ_k exp(x_k − max). One invocation per row.
//   Variant SOFTMAX (PyTorch's Softmax(dim=1)): y_j = exp(x_j − max) / Σ_k exp(x_k − max).
//   Variant SOFTMIN (PyTorch's Softmin(dim=1)): SOFTMAX of −x (logit(j) = −x_j, max its maximum).

struct Params {
  batch: u32,
  classes: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

override WG_X: u32;

// The logit of element i: x[i], or −x[i] for Softmin.
fn logit(i: u32) -> f32 {
#if SOFTMIN
  return -x[i];
#else
  return x[i];
#endif
}

@compute @workgroup_size(WG_X)
fn log_softmax_forward(@builtin(global_invocation_id) gid3: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let gid = linearInvocation(gid3, nwg);
  let b = gid.x;
  if (b >= params.batch) { return; }
  let row = b * params.classes;
  var top = logit(row);
  for (var j = 1u; j < params.classes; j++) {
    top = max(top, logit(row + j));
  }
  var sum = 0.0;
  for (var j = 0u; j < params.classes; j++) {
    sum += exp(logit(row + j) - top);
  }
#if SOFTMAX
  for (var j = 0u; j < params.classes; j++) {
    y[row + j] = exp(logit(row + j) - top) / sum;
  }
#elif SOFTMIN
  for (var j = 0u; j < params.classes; j++) {
    y[row + j] = exp(logit(row + j) - top) / sum;
  }
#else
  let shift = top + log(sum);
  for (var j = 0u; j < params.classes; j++) {
    y[row + j] = logit(row + j) - shift;
  }
#endif
}
