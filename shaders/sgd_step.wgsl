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
  weightDecay: f32,
  nesterov: u32,
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

// Elements per entry of `slots` (src/gpu/arena.ts: ARENA_BLOCK).
const SLOT_BLOCK = 256u;
// The guard's slot of parameter 0 (src/kernels/health.ts: HEALTH_SLOTS.parameters).
const PARAM_SLOT0 = 3u;
// Where in `hyper` clip_grad_norm_'s factor is (shaders/grad_norm.wgsl writes it there; the norm after it).
const CLIP_AT = 5u;
// Where in `hyper` the param groups' [lr, stepSize] a parameter start (variant GROUP_LR; src/kernels/optimizers.ts).
const HYPER_LENGTH = 7u;

override WG_X: u32;

// weightDecayOf(i) and clipped(g): shaders/lib/optimizer_gradient.wgsl.

@compute @workgroup_size(WG_X)
fn sgd_step(@builtin(global_invocation_id) gid3: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let gid = linearInvocation(gid3, nwg);
  let i = gid.x;
  if (i >= params.length) { return; }
  let lr = lrOf(i);
  let momentum = hyper[1];
  var g = grad[i];
  if (!isFinite(g)) {
    markNonFinite(slots[i / SLOT_BLOCK]);
  }
  g = clipped(g);
  let weightDecay = weightDecayOf(i);
  if (weightDecay != 0.0) {
    g = g + weightDecay * param[i];
  }
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
    markNonFinite(slots[i / SLOT_BLOCK]);
  }
}
