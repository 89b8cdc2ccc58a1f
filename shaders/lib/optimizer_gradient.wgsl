// The gradient, weight decay and learning rate an optimizer step (sgd_step, adam_step,
// rmsprop_step, adagrad_step, adadelta_step) applies to element i, in the variants each declares:
// clip_grad_norm_ / clip_grad_value_ (CLIP_NORM, CLIP_VALUE), the param groups' weight decays
// (GROUP_DECAY) and learning rates (GROUP_LR); and the divergence guard's record of the element.
// A kernel appending it (after shaders/lib/health.wgsl) declares `params` (with weightDecay,
// clipValue, decayAt), `hyper`, `grad`, `param`, `health` and `slots` (src/kernels/optimizers.ts:
// defineOptimizerKernel declares them all).

// Elements per entry of `slots` (src/gpu/arena.ts: ARENA_BLOCK).
const SLOT_BLOCK = 256u;
// The guard's slot of parameter 0 (src/kernels/health.ts: HEALTH_SLOTS.parameters).
const PARAM_SLOT0 = 3u;
// Where in `hyper` clip_grad_norm_'s factor is (shaders/grad_norm.wgsl writes it there; the norm after it).
const CLIP_AT = 5u;
// Where in `hyper` the param groups' [lr, stepSize] a parameter start (variant GROUP_LR; src/kernels/optimizers.ts).
const HYPER_LENGTH = 7u;

// Records a non-finite gradient, state or update of element i in `health`, at its parameter's
// slot, slots[i / SLOT_BLOCK] (an arena's members start on whole blocks).
fn markElementNonFinite(i: u32) {
  markNonFinite(slots[i / SLOT_BLOCK]);
}

// Element i's gradient as the step takes it: grad[i] (recorded in `health` where non-finite),
// clipped.
fn gradientOf(i: u32) -> f32 {
  let g = grad[i];
  if (!isFinite(g)) {
    markElementNonFinite(i);
  }
  return clipped(g);
}

// g with weight decay added to it, as PyTorch's grad.add(param, alpha=weight_decay) (p: the
// element's parameter).
fn withWeightDecay(g: f32, weightDecay: f32, p: f32) -> f32 {
  return g + weightDecay * p;
}

// Element i's gradient with its weight decay added where it has one (every step's but AdamW's).
fn decayedGradientOf(i: u32) -> f32 {
  let g = gradientOf(i);
  let weightDecay = weightDecayOf(i);
  if (weightDecay != 0.0) {
    return withWeightDecay(g, weightDecay, param[i]);
  }
  return g;
}

// Element i's weight decay: its parameter's (variant GROUP_DECAY: PyTorch's param groups, one
// value a parameter, kept as f32 bits in `slots` from params.decayAt on, found by the guard's slot
// of the element's block), else the optimizer's.
fn weightDecayOf(i: u32) -> f32 {
#if GROUP_DECAY
  return bitcast<f32>(slots[params.decayAt + slots[i / SLOT_BLOCK] - PARAM_SLOT0]);
#else
  return params.weightDecay;
#endif
}

// The gradient clipped as PyTorch's clip_grad_norm_ (by the factor shaders/grad_norm.wgsl wrote
// into hyper) or clip_grad_value_ (clamped to ±clipValue) would leave it before the step; else
// as it is.
fn clipped(g: f32) -> f32 {
#if CLIP_NORM
  return g * hyper[CLIP_AT];
#elif CLIP_VALUE
  return clamp(g, -params.clipValue, params.clipValue);
#else
  return g;
#endif
}

// Element i's learning rate this step (NAdam's: the gradient's step lr·(1 − μ_t)/(1 − Π_t)): its
// parameter's (variant GROUP_LR: PyTorch's param groups, the host's [lr, stepSize] a parameter in
// `hyper` from HYPER_LENGTH on, found by the guard's slot of the element's block), else the step's hyper[0].
fn lrOf(i: u32) -> f32 {
#if GROUP_LR
  return hyper[HYPER_LENGTH + 2u * (slots[i / SLOT_BLOCK] - PARAM_SLOT0)];
#else
  return hyper[0];
#endif
}

// Adam's step size lr / (1 − β1^t) of element i (NAdam's exp_avg step, RAdam's rectified step size;
// computed by the host in float64: src/optim/optimizers.ts, hyperValues): its parameter's
// (GROUP_LR), else hyper[2].
fn stepSizeOf(i: u32) -> f32 {
#if GROUP_LR
  return hyper[HYPER_LENGTH + 2u * (slots[i / SLOT_BLOCK] - PARAM_SLOT0) + 1u];
#else
  return hyper[2];
#endif
}
