// The gradient, weight decay and learning rate an optimizer step (sgd_step, adam_step,
// rmsprop_step, adagrad_step) applies to element i, in the variants each declares: clip_grad_norm_ /
// clip_grad_value_ (CLIP_NORM, CLIP_VALUE), the param groups' weight decays (GROUP_DECAY) and
// learning rates (GROUP_LR). A kernel appending it declares `params` (with weightDecay, clipValue,
// decayAt), `hyper`, `slots`, and the constants SLOT_BLOCK, PARAM_SLOT0, CLIP_AT and HYPER_LENGTH.

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
