// adam_step: PyTorch's torch.optim.Adam / AdamW update of parameters, in place (param, exp_avg,
// exp_avg_sq): a network's whole parameter arena in one dispatch (src/gpu/arena.ts), or one tensor:
//   g ← clip(grad)   (variants CLIP_NORM, CLIP_VALUE, below; else the gradient as it is)
//   Adam:  g ← g + weightDecay·param          AdamW (decoupled): param ← param·(1 − lr·weightDecay)
//   m ← m + (1 − β1)·(g − m)            (exp_avg.lerp_(g, 1 − β1))
//   s ← β2·s + (1 − β2)·g²              (exp_avg_sq.mul_(β2).addcmul_(g, g, value=1 − β2))
//   param ← param − stepSize · m / (√s / √bc2 + eps)
//   Variant AMSGRAD: ŝ ← max(ŝ, s) (max_exp_avg_sq), and the step divides by √ŝ instead of √s.
// hyper = [lr, β1, stepSize = lr / (1 − β1^t), √bc2 = √(1 − β2^t), 1 − β1]: the per-step values,
// computed on the host in float64 as PyTorch does and written once per step; 1 − β2 too
// (params.oneMinusBeta2: 1 − f32(0.999) here would be 1.3e-5 off PyTorch's, and so would every
// exp_avg_sq of the first steps). One invocation per element.
// A non-finite gradient, moment or updated element is recorded in `health` (shaders/lib/health.wgsl)
// at its parameter's slot, slots[i / SLOT_BLOCK] (an arena's members start on whole blocks): the
// divergence guard, tests of bits.

struct Params {
  length: u32,
  beta2: f32,
  oneMinusBeta2: f32,
  eps: f32,
  weightDecay: f32,
  decoupled: u32,
  clipValue: f32,
  decayAt: u32,
  groupLrs: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> hyper: array<f32>;
@group(0) @binding(2) var<storage, read> grad: array<f32>;
@group(0) @binding(3) var<storage, read_write> expAvg: array<f32>;
@group(0) @binding(4) var<storage, read_write> expAvgSq: array<f32>;
@group(0) @binding(5) var<storage, read_write> param: array<f32>;
@group(0) @binding(6) var<storage, read_write> health: array<u32>;
@group(0) @binding(7) var<storage, read> slots: array<u32>;
#if AMSGRAD
@group(0) @binding(8) var<storage, read_write> maxExpAvgSq: array<f32>;
#endif

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
fn adam_step(@builtin(global_invocation_id) gid3: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let gid = linearInvocation(gid3, nwg);
  let i = gid.x;
  if (i >= params.length) { return; }
  let lr = lrOf(i);
  var p = param[i];
  var g = grad[i];
  if (!isFinite(g)) {
    markNonFinite(slots[i / SLOT_BLOCK]);
  }
  g = clipped(g);
  let weightDecay = weightDecayOf(i);
  if (weightDecay != 0.0) {
    if (params.decoupled != 0u) {
      p = p * (1.0 - lr * weightDecay);
    } else {
      g = g + weightDecay * p;
    }
  }
  let m = expAvg[i] + hyper[4] * (g - expAvg[i]);
  let s = params.beta2 * expAvgSq[i] + params.oneMinusBeta2 * g * g;
  expAvg[i] = m;
  expAvgSq[i] = s;
#if AMSGRAD
  let v = max(maxExpAvgSq[i], s);
  maxExpAvgSq[i] = v;
#else
  let v = s;
#endif
  let updated = p - stepSizeOf(i) * (m / (sqrt(v) / hyper[3] + params.eps));
  param[i] = updated;
  // A finite but huge gradient can still overflow the moments (an infinite exp_avg_sq would
  // freeze the parameter silently) or the update.
  if (!isFinite(updated) || !isFinite(m) || !isFinite(s)) {
    markNonFinite(slots[i / SLOT_BLOCK]);
  }
}
