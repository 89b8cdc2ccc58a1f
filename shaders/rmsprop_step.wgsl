// rmsprop_step: PyTorch's torch.optim.RMSprop update of parameters, in place (param, square_avg,
// and the momentum buffer and grad_avg where used): a network's whole parameter arena in one
// dispatch (src/gpu/arena.ts), or one tensor:
//   g ← clip(grad) + weightDecay·param    (clip: variants CLIP_NORM, CLIP_VALUE; else none)
//   s ← α·s + (1 − α)·g²                  (square_avg.mul_(α).addcmul_(g, g, value=1 − α))
//   CENTERED: ḡ ← α·ḡ + (1 − α)·g (grad_avg), avg = √(s − ḡ²) + eps;   else avg = √s + eps
//   momentum > 0 (variant MOMENTUM binds the buffer; hyper[1] is this step's momentum, which
//   OneCycleLR may cycle): b ← momentum·b + g/avg, param ← param − lr·b;
//   else param ← param − lr·g/avg
// hyper = [lr, momentum, …] (written once per step; a schedule changes them without re-binding);
// 1 − α from the host in float64 (as PyTorch's value=1 − alpha). One invocation per element.
// A non-finite gradient, state or updated element is recorded in `health` (shaders/lib/health.wgsl)
// at its parameter's slot, slots[i / SLOT_BLOCK]: the divergence guard.

struct Params {
  length: u32,
  alpha: f32,
  oneMinusAlpha: f32,
  eps: f32,
  weightDecay: f32,
  clipValue: f32,
  decayAt: u32,
  groupLrs: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> hyper: array<f32>;
@group(0) @binding(2) var<storage, read> grad: array<f32>;
@group(0) @binding(3) var<storage, read_write> squareAvg: array<f32>;
@group(0) @binding(4) var<storage, read_write> param: array<f32>;
@group(0) @binding(5) var<storage, read_write> health: array<u32>;
@group(0) @binding(6) var<storage, read> slots: array<u32>;
#if MOMENTUM
@group(0) @binding(7) var<storage, read_write> momentumBuffer: array<f32>;
#endif
#if CENTERED
@group(0) @binding(8) var<storage, read_write> gradAvg: array<f32>;
#endif

override WG_X: u32;

// decayedGradientOf(i), lrOf(i) and markElementNonFinite(i), and the constants SLOT_BLOCK, CLIP_AT, …:
// shaders/lib/optimizer_gradient.wgsl.

@compute @workgroup_size(WG_X)
fn rmsprop_step(@builtin(global_invocation_id) gid3: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let gid = linearInvocation(gid3, nwg);
  let i = gid.x;
  if (i >= params.length) { return; }
  let lr = lrOf(i);
  let g = decayedGradientOf(i);
  let s = params.alpha * squareAvg[i] + params.oneMinusAlpha * g * g;
  squareAvg[i] = s;
#if CENTERED
  let mean = params.alpha * gradAvg[i] + params.oneMinusAlpha * g;
  gradAvg[i] = mean;
  let avg = sqrt(s - mean * mean) + params.eps;
#else
  let avg = sqrt(s) + params.eps;
#endif
  var step = g / avg;
#if MOMENTUM
  let momentum = hyper[1];
  if (momentum > 0.0) {
    step = momentum * momentumBuffer[i] + step;
    momentumBuffer[i] = step;
  }
#endif
  let updated = param[i] - lr * step;
  param[i] = updated;
  if (!isFinite(updated) || !isFinite(step)) {
    markElementNonFinite(i);
  }
}
