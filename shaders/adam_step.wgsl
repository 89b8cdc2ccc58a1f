// adam_step: PyTorch's torch.optim.Adam / AdamW update of parameters, in place (param, exp_avg,
// exp_avg_sq), and NAdam's, RAdam's and Adamax's (variants NADAM, RADAM, ADAMAX; PyTorch ≥ 2.0's
// NAdam, 1.13's RAdam and Adamax): a network's whole
// parameter arena in one dispatch (src/gpu/arena.ts), or one tensor:
//   g ← clip(grad)   (variants CLIP_NORM, CLIP_VALUE, below; else the gradient as it is)
//   Adam, NAdam, RAdam, Adamax:  g ← g + weightDecay·param   AdamW (decoupled): param ← param·(1 − lr·weightDecay)
//   m ← m + (1 − β1)·(g − m)            (exp_avg.lerp_(g, 1 − β1))
//   s ← β2·s + (1 − β2)·g²              (exp_avg_sq.mul_(β2).addcmul_(g, g, value=1 − β2))
//   Adam:  param ← param − stepSize · m / (√s / √bc2 + eps)
//   Variant AMSGRAD: ŝ ← max(ŝ, s) (max_exp_avg_sq), and the step divides by √ŝ instead of √s.
//   NADAM: d ← √(s / bc2) + eps; param ← param − gradStep·g / d − momentumStep·m / d
//   RADAM: where rectified (ρ_t > 5) param ← param − stepSize·m·√bc2 / (√s + eps), else
//          param ← param − stepSize·m (the un-adapted step; the same branch for every element)
//   ADAMAX: m ← β1·m + (1 − β1)·g (1.13's exp_avg.mul_(β1).add_(g, alpha=1 − β1)); expAvgSq holds
//          exp_inf ← max(β2·exp_inf, |g| + eps); param ← param − clr·m / exp_inf (addcdiv_)
// hyper: the per-step values, computed on the host in float64 as PyTorch does and written once per
// step (src/optim/optimizers.ts: hyperValues): Adam [lr, β1, stepSize = lr / (1 − β1^t),
// √bc2 = √(1 − β2^t), 1 − β1]; NADAM [gradStep = lr·(1 − μ_t)/(1 − Π_t), β1, momentumStep =
// lr·μ_{t+1}/(1 − Π_t·μ_{t+1}), bc2 = 1 − β2^t, 1 − β1] (μ_t = β1·(1 − ½·0.96^(t·momentum_decay)),
// Π_t their product, PyTorch's mu_product); RADAM [lr, 1 where rectified else 0, stepSize = lr·r_t / (1 − β1^t)
// (else lr / (1 − β1^t)), √bc2, 1 − β1]; ADAMAX [lr, β1, clr = lr / (1 − β1^t), 0, 1 − β1]. With param groups' own rates (GROUP_LR) each parameter's
// [0] and [2] from HYPER_LENGTH on (lrOf, stepSizeOf). 1 − β2 from the host too
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
  decoupled: u32,
  weightDecay: f32,
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

override WG_X: u32;

// gradientOf(i), withWeightDecay, weightDecayOf(i), lrOf(i) (NAdam's gradStep), stepSizeOf(i) and
// markElementNonFinite(i), and the constants SLOT_BLOCK, CLIP_AT, …: shaders/lib/optimizer_gradient.wgsl.

@compute @workgroup_size(WG_X)
fn adam_step(@builtin(global_invocation_id) gid3: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let gid = linearInvocation(gid3, nwg);
  let i = gid.x;
  if (i >= params.length) { return; }
  let lr = lrOf(i);
  var p = param[i];
  var g = gradientOf(i);
  let weightDecay = weightDecayOf(i);
  if (weightDecay != 0.0) {
    if (params.decoupled != 0u) {
      p = p * (1.0 - lr * weightDecay);
    } else {
      g = withWeightDecay(g, weightDecay, p);
    }
  }
#if ADAMAX
  let m = expAvg[i] * hyper[1] + hyper[4] * g;
  let s = max(expAvgSq[i] * params.beta2, abs(g) + params.eps);
#else
  let m = expAvg[i] + hyper[4] * (g - expAvg[i]);
  let s = params.beta2 * expAvgSq[i] + params.oneMinusBeta2 * g * g;
#endif
  expAvg[i] = m;
  expAvgSq[i] = s;
#if AMSGRAD
  let v = max(maxExpAvgSq[i], s);
  maxExpAvgSq[i] = v;
#else
  let v = s;
#endif
#if NADAM
  let d = sqrt(v / hyper[3]) + params.eps;
  let updated = (p - lr * (g / d)) - stepSizeOf(i) * (m / d);
#elif RADAM
  var direction = m;
  if (hyper[1] != 0.0) {
    direction = m * (hyper[3] / (sqrt(v) + params.eps));
  }
  let updated = p - stepSizeOf(i) * direction;
#elif ADAMAX
  let updated = p - (stepSizeOf(i) * m) / v;
#else
  let updated = p - stepSizeOf(i) * (m / (sqrt(v) / hyper[3] + params.eps));
#endif
  param[i] = updated;
  // A finite but huge gradient can still overflow the moments (an infinite exp_avg_sq would
  // freeze the parameter silently) or the update.
  if (!isFinite(updated) || !isFinite(m) || !isFinite(s)) {
    markElementNonFinite(i);
  }
}
