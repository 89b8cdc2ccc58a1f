// sgd_step: PyTorch's torch.optim.SGD update of parameters, in place (param, and the momentum
// buffer when momentum is used): a network's whole parameter arena in one dispatch (src/gpu/arena.ts),
// or one tensor:
//   g ← clip(grad) + weightDecay·param     (clip: variants CLIP_NORM, CLIP_VALUE, below; else none)
//   v ← g on the first step, else momentum·v + (1 − dampening)·g;   (momentum 0: no buffer)
//   g ← g + momentum·v (Nesterov) or v;   param ← param − lr·g
// The per-step values come from `hyper` = [lr, momentum, first step (1) or not (0)], one small
// buffer written once per step for every parameter (a schedule changes them without re-binding).
// One invocation per element. A non-finite gradient, momentum or updated element is recorded in
// `health` (shaders/lib/health.wgsl) at its parameter's slot, slots[i / SLOT_BLOCK] (an arena's
// members start on whole blocks): the divergence guard, tests of bits.

struct Params {
  length: u32,
  oneMinusDampening: f32,
  nesterov: u32,
  weightDecay: f32,
  clipValue: f32,
  decayAt: u32,
  groupLrs: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> hyper: array<f32>;
@group(0) @binding(2) var<storage, read> grad: array<f32>;
@group(0) @binding(3) var<storage, read_write> velocity: array<f32>;
@group(0) @binding(4) var<storage, read_write> param: array<f32>;
@group(0) @binding(5) var<storage, read_write> health: array<u32>;
@group(0) @binding(6) var<storage, read> slots: array<u32>;

override WG_X: u32;

// decayedGradientOf(i), lrOf(i) and markElementNonFinite(i), and the constants SLOT_BLOCK, CLIP_AT, …:
// shaders/lib/optimizer_gradient.wgsl.

@compute @workgroup_size(WG_X)
fn sgd_step(@builtin(global_invocation_id) gid3: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let gid = linearInvocation(gid3, nwg);
  let i = gid.x;
  if (i >= params.length) { return; }
  let lr = lrOf(i);
  let momentum = hyper[1];
  var g = decayedGradientOf(i);
  if (momentum != 0.0) {
    var v = g;
    if (hyper[2] == 0.0) {
      if (params.oneMinusDampening == 1.0) {
        v = momentum * velocity[i] + g;
      } else {
        v = momentum * velocity[i] + params.oneMinusDampening * g;
      }
    }
    velocity[i] = v;
    g = select(v, g + momentum * v, params.nesterov != 0u);
  }
  let updated = param[i] - lr * g;
  param[i] = updated;
  // A finite but huge gradient can still overflow the update or the momentum buffer.
  if (!isFinite(updated) || !isFinite(g)) {
    markElementNonFinite(i);
  }
}
