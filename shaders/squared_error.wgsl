// squared_error: the squared-error losses of a network's outputs against one-hot targets
// (t[b, j] = 1 where j = labels[b], else 0) or, variant TARGETS, against given float targets
// (t[b, j] = targets[b, j]: regression), per sample, and their gradient; overwrites loss, grad.
//   MSE (half = 0, PyTorch's MSELoss, mean over batch × features):
//     loss[b] = Σ_j (a − t)² / features,   grad = 2(a − t) / (batch · features)
//   The sheet's ½Σ(t − a)² (half = 1, mean over the batch):
//     loss[b] = Σ_j ½(a − t)²,             grad = (a − t) / batch
//   prediction, grad [batch, features]; labels, loss [batch]. One invocation per sample.

struct Params {
  batch: u32,
  features: u32,
  half: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> prediction: array<f32>;
@group(0) @binding(2) var<storage, read> labels: array<u32>;
@group(0) @binding(3) var<storage, read_write> loss: array<f32>;
@group(0) @binding(4) var<storage, read_write> grad: array<f32>;
#if TARGETS
@group(0) @binding(5) var<storage, read> targets: array<f32>;
#endif

override WG_X: u32;

@compute @workgroup_size(WG_X)
fn squared_error(@builtin(global_invocation_id) gid3: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let gid = linearInvocation(gid3, nwg);
  let b = gid.x;
  if (b >= params.batch) { return; }
  let n = f32(params.features);
  let gradScale = select(2.0 / (f32(params.batch) * n), 1.0 / f32(params.batch), params.half != 0u);
  var sum = 0.0;
  for (var j = 0u; j < params.features; j++) {
    let i = b * params.features + j;
#if TARGETS
    let diff = prediction[i] - targets[i];
#else
    let diff = prediction[i] - select(0.0, 1.0, labels[b] == j);
#endif
    sum += diff * diff;
    grad[i] = diff * gradScale;
  }
  loss[b] = select(sum / n, 0.5 * sum, params.half != 0u);
}
