// pointwise_loss: PyTorch's losses that compare each output with a target, per sample, and their
// gradient; overwrites loss, grad. Targets are one-hot (t[b, j] = 1 where j = labels[b], else 0)
// or, variant TARGETS, given floats (t[b, j] = targets[b, j]: regression, multi-label).
//   With d = a − t, N = batch · features, and `kind` (the loss; PyTorch's reduction 'mean'):
//     0 MSELoss            ℓ = d²                                      g = 2d / N
//     1 the sheet's ½Σ(t − a)², a mean over the batch only:  ℓ = ½d²  g = d / batch
//     2 L1Loss             ℓ = |d|                                     g = sign(d) / N (0 at d = 0)
//     3 SmoothL1Loss(β)    ℓ = ½d²/β where |d| < β, else |d| − ½β     g = d/β there, else sign(d); / N
//     4 HuberLoss(δ)       ℓ = ½d² where |d| < δ, else δ(|d| − ½δ)    g = clamp(d, −δ, δ) / N
//     5 BCEWithLogitsLoss  ℓ = l·log(1 + e^a) − p·t·a (softplusStable) g = (l·σ(a) − p·t) / N
//         with p = pos_weight[j] (variant POS_WEIGHT; else 1) and l = 1 + (p − 1)·t: PyTorch's
//         (1 − t)·a + l·log(1 + e^−a) rewritten; p = 1 is the plain loss, the same bits
//     6 BCELoss            ℓ = −(t·max(log a, −100) + (1 − t)·max(log(1 − a), −100)) (a in [0, 1])
//                                                                      g = (a − t) / max(a(1 − a), 1e-12) / N
//     7 KLDivLoss          ℓ = t·(log t − a), 0 where t = 0 (PyTorch's xlogy(t, t) − t·a; a: log-probabilities)
//                                                                      g = −t / batch
//     8 KLDivLoss(log_target=True)  ℓ = e^t·(t − a)                    g = −e^t / batch
//   (`beta` is β or δ.) loss[b] = Σ_j ℓ / features (kinds 1, 7 and 8: Σ_j ℓ, KLDivLoss's reduction
//   'batchmean'), so that the batch's mean of loss[b] is PyTorch's loss. prediction, grad [batch,
//   features]; labels, loss [batch]; posWeight [features]. One invocation per sample.

struct Params {
  batch: u32,
  features: u32,
  kind: u32,
  beta: f32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> prediction: array<f32>;
@group(0) @binding(2) var<storage, read> labels: array<u32>;
@group(0) @binding(3) var<storage, read_write> loss: array<f32>;
@group(0) @binding(4) var<storage, read_write> grad: array<f32>;
#if TARGETS
@group(0) @binding(5) var<storage, read> targets: array<f32>;
#endif
#if POS_WEIGHT
@group(0) @binding(6) var<storage, read> posWeight: array<f32>;
#endif

override WG_X: u32;

/** e^−100: below it BCELoss's log is clamped to −100 anyway. */
const E_MINUS_100 = 3.720076e-44;

/** BCEWithLogitsLoss's pos_weight of output j (1: none). */
fn positiveWeight(j: u32) -> f32 {
#if POS_WEIGHT
  return posWeight[j];
#else
  return 1.0;
#endif
}

/** (ℓ, g·N) of output j's element (g·batch for kinds 1, 7 and 8). */
fn pointwise(a: f32, t: f32, j: u32) -> vec2f {
  let d = a - t;
  let beta = params.beta;
  switch params.kind {
    case 0u: { return vec2f(d * d, 2.0 * d); }
    case 1u: { return vec2f(0.5 * d * d, d); }
    // A NaN d, told by its bits (WGSL leaves sign, clamp and comparisons of a NaN to the
    // implementation): PyTorch's gradient 0 for L1Loss (its sign(NaN) is 0), d itself (NaN) for
    // SmoothL1Loss and HuberLoss (their backward's comparisons fall through to it).
    case 2u: { return vec2f(abs(d), select(sign(d), 0.0, isNanBits(d))); }
    case 3u: {
      if (abs(d) < beta) { return vec2f(0.5 * d * d / beta, d / beta); }
      return vec2f(abs(d) - 0.5 * beta, select(sign(d), d, isNanBits(d)));
    }
    case 4u: {
      if (abs(d) < beta) { return vec2f(0.5 * d * d, d); }
      return vec2f(beta * (abs(d) - 0.5 * beta), select(clamp(d, -beta, beta), d, isNanBits(d)));
    }
    case 5u: {
      let p = positiveWeight(j);
      let l = 1.0 + (p - 1.0) * t;
      return vec2f(l * softplusStable(a) - p * t * a, l * sigmoid(a) - p * t);
    }
    case 7u: { return vec2f(select(t * (log(t) - a), 0.0, t == 0.0), -t); }
    case 8u: { return vec2f(exp(t) * (t - a), -exp(t)); }
    default: {
      // log clamped at −100 as PyTorch's; below e^−100 (and at 0, where WGSL's log is undefined) −100 itself.
      let logs = select(vec2f(-100.0), max(log(vec2f(a, 1.0 - a)), vec2f(-100.0)), vec2f(a, 1.0 - a) > vec2f(E_MINUS_100));
      return vec2f(-(t * logs.x + (1.0 - t) * logs.y), d / max(a * (1.0 - a), 1e-12));
    }
  }
}

@compute @workgroup_size(WG_X)
fn pointwise_loss(@builtin(global_invocation_id) gid3: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let gid = linearInvocation(gid3, nwg);
  let b = gid.x;
  if (b >= params.batch) { return; }
  let n = f32(params.features);
  // ½Σ(t − a)² and KLDivLoss('batchmean'): a sum over the features, a mean over the batch.
  let summed = params.kind == 1u || params.kind == 7u || params.kind == 8u;
  let gradScale = select(1.0 / (f32(params.batch) * n), 1.0 / f32(params.batch), summed);
  var sum = 0.0;
  for (var j = 0u; j < params.features; j++) {
    let i = b * params.features + j;
#if TARGETS
    let t = targets[i];
#else
    let t = select(0.0, 1.0, labels[b] == j);
#endif
    let lg = pointwise(prediction[i], t, j);
    sum += lg.x;
    grad[i] = lg.y * gradScale;
  }
  loss[b] = select(sum / n, sum, summed);
}
