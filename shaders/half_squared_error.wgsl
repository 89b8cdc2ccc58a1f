// half_squared_error: loss and its gradient for predictions a and targets t, both [batch, features].
//   terms[b, j] = ½ (t − a)²                      (overwritten; E1, E2 of the 2-2-2 sheet)
//   grad[b, j]  = (a − t) / batch                 (overwritten; ∂loss/∂a)
//   loss[0]     = Σ terms / batch                 (overwritten; E_total for one sample)
//   One workgroup of WG_X invocations (a power of two): invocation k handles elements k, k + WG_X, …,
//   then a fixed-order tree reduction in workgroup memory sums the partial sums.

struct Params {
  batch: u32,
  features: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> prediction: array<f32>;
@group(0) @binding(2) var<storage, read> targets: array<f32>;
@group(0) @binding(3) var<storage, read_write> terms: array<f32>;
@group(0) @binding(4) var<storage, read_write> grad: array<f32>;
@group(0) @binding(5) var<storage, read_write> loss: array<f32>;

override WG_X: u32;

var<workgroup> partial: array<f32, WG_X>;

@compute @workgroup_size(WG_X)
fn half_squared_error(@builtin(local_invocation_index) lid: u32) {
  let count = params.batch * params.features;
  let scale = 1.0 / f32(params.batch);
  var sum = 0.0;
  for (var i = lid; i < count; i += WG_X) {
    let diff = prediction[i] - targets[i];
    let term = 0.5 * diff * diff;
    terms[i] = term;
    grad[i] = diff * scale;
    sum += term;
  }
  partial[lid] = sum;
  workgroupBarrier();
  for (var stride = WG_X / 2u; stride > 0u; stride /= 2u) {
    if (lid < stride) {
      partial[lid] += partial[lid + stride];
    }
    workgroupBarrier();
  }
  if (lid == 0u) {
    loss[0] = partial[0] * scale;
  }
}
