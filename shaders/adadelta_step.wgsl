// adadelta_step: PyTorch 1.13's torch.optim.Adadelta update of parameters, in place (param,
// square_avg, acc_delta): a network's whole parameter arena in one dispatch (src/gpu/arena.ts), or
// one tensor:
//   g ← clip(grad) + weightDecay·param    (clip: variants CLIP_NORM, CLIP_VALUE; else none)
//   v ← ρ·v + (1 − ρ)·g²                  (square_avg.mul_(rho).addcmul_(g, g, value=1 − rho))
//   delta ← √(a + eps) / √(v + eps) · g   (acc_delta.add(eps).sqrt_().div_(std).mul_(g))
//   a ← ρ·a + (1 − ρ)·delta²              (acc_delta.mul_(rho).addcmul_(delta, delta, value=1 − rho))
//   param ← param − lr·delta              (lr: the host's hyper[0], or a param group's: lrOf)
// 1 − ρ from the host in float64 (params.oneMinusRho). One invocation per element. A non-finite
// gradient, state or updated element is recorded in `health` (shaders/lib/health.wgsl) at its
// parameter's slot, slots[i / SLOT_BLOCK]: the divergence guard.

struct Params {
  length: u32,
  rho: f32,
  oneMinusRho: f32,
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
@group(0) @binding(4) var<storage, read_write> accDelta: array<f32>;
@group(0) @binding(5) var<storage, read_write> param: array<f32>;
@group(0) @binding(6) var<storage, read_write> health: array<u32>;
@group(0) @binding(7) var<storage, read> slots: array<u32>;

override WG_X: u32;

// decayedGradientOf(i), lrOf(i) and markElementNonFinite(i), and the constants SLOT_BLOCK, CLIP_AT, …:
// shaders/lib/optimizer_gradient.wgsl.

@compute @workgroup_size(WG_X)
fn adadelta_step(@builtin(global_invocation_id) gid3: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let gid = linearInvocation(gid3, nwg);
  let i = gid.x;
  if (i >= params.length) { return; }
  let lr = lrOf(i);
  let g = decayedGradientOf(i);
  let v = squareAvg[i] * params.rho + params.oneMinusRho * g * g;
  squareAvg[i] = v;
  let delta = (sqrt(accDelta[i] + params.eps) / sqrt(v + params.eps)) * g;
  let a = accDelta[i] * params.rho + params.oneMinusRho * delta * delta;
  accDelta[i] = a;
  let updated = param[i] - lr * delta;
  param[i] = updated;
  if (!isFinite(updated) || !isFinite(v) || !isFinite(a)) {
    markElementNonFinite(i);
  }
}
