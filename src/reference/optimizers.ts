/**
 * CPU reference of torch.optim.SGD, torch.optim.Adam / AdamW, torch.optim.RMSprop, Adagrad, NAdam,
 * RAdam, Adamax and Adadelta, float64, one step, written from PyTorch's documented algorithms
 * (torch/optim/sgd.py, adam.py, adamw.py, rmsprop.py, adagrad.py; nadam.py as PyTorch ≥ 2.0 has it,
 * radam.py, adamax.py and adadelta.py as 1.13).
 */

export interface SgdRefOptions {
  lr: number;
  momentum: number;
  dampening: number;
  weightDecay: number;
  nesterov: boolean;
  /** The first step: PyTorch's momentum buffer is None, and becomes the gradient. */
  first: boolean;
}

export function sgdRef(param: ArrayLike<number>, grad: ArrayLike<number>, buffer: ArrayLike<number>, o: SgdRefOptions): { param: Float64Array; buffer: Float64Array } {
  const n = param.length;
  const p = Float64Array.from(param);
  const buf = Float64Array.from(buffer);
  for (let i = 0; i < n; i++) {
    let g = grad[i]! + o.weightDecay * p[i]!;
    if (o.momentum !== 0) {
      buf[i] = o.first ? g : o.momentum * buf[i]! + (1 - o.dampening) * g;
      g = o.nesterov ? g + o.momentum * buf[i]! : buf[i]!;
    }
    p[i] = p[i]! - o.lr * g;
  }
  return { param: p, buffer: buf };
}

export interface AdamRefOptions {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** AdamW. */
  decoupled: boolean;
  /** 1-based step count. */
  step: number;
}

/**
 * One Adam / AdamW step; with `maxExpAvgSq` (AMSGrad, PyTorch's amsgrad=True) the running maximum
 * of exp_avg_sq is kept and the step divides by its square root.
 */
export function adamRef(
  param: ArrayLike<number>,
  grad: ArrayLike<number>,
  expAvg: ArrayLike<number>,
  expAvgSq: ArrayLike<number>,
  o: AdamRefOptions,
  maxExpAvgSq?: ArrayLike<number>,
): { param: Float64Array; expAvg: Float64Array; expAvgSq: Float64Array; maxExpAvgSq?: Float64Array } {
  const p = Float64Array.from(param);
  const m = Float64Array.from(expAvg);
  const v = Float64Array.from(expAvgSq);
  const vmax = maxExpAvgSq && Float64Array.from(maxExpAvgSq);
  const bc1 = 1 - o.beta1 ** o.step;
  const bc2 = 1 - o.beta2 ** o.step;
  for (let i = 0; i < p.length; i++) {
    let g = grad[i]!;
    if (o.decoupled) p[i] = p[i]! * (1 - o.lr * o.weightDecay);
    else g += o.weightDecay * p[i]!;
    m[i] = o.beta1 * m[i]! + (1 - o.beta1) * g;
    v[i] = o.beta2 * v[i]! + (1 - o.beta2) * g * g;
    if (vmax) vmax[i] = Math.max(vmax[i]!, v[i]!);
    p[i] = p[i]! - (o.lr / bc1) * (m[i]! / (Math.sqrt(vmax ? vmax[i]! : v[i]!) / Math.sqrt(bc2) + o.eps));
  }
  return { param: p, expAvg: m, expAvgSq: v, ...(vmax ? { maxExpAvgSq: vmax } : {}) };
}

export interface RmspropRefOptions {
  lr: number;
  alpha: number;
  eps: number;
  weightDecay: number;
  momentum: number;
}

export interface AdagradRefOptions {
  /** The scheduled rate; the step's is lr / (1 + (step − 1)·lrDecay). */
  lr: number;
  lrDecay: number;
  eps: number;
  weightDecay: number;
  /** 1-based step count. */
  step: number;
}

/** One Adagrad step (torch/optim/adagrad.py): sum += g², param −= clr·g / (√sum + eps). */
export function adagradRef(param: ArrayLike<number>, grad: ArrayLike<number>, sum: ArrayLike<number>, o: AdagradRefOptions): { param: Float64Array; sum: Float64Array } {
  const p = Float64Array.from(param);
  const s = Float64Array.from(sum);
  const clr = o.lr / (1 + (o.step - 1) * o.lrDecay);
  for (let i = 0; i < p.length; i++) {
    const g = grad[i]! + o.weightDecay * p[i]!;
    s[i] = s[i]! + g * g;
    p[i] = p[i]! - clr * (g / (Math.sqrt(s[i]!) + o.eps));
  }
  return { param: p, sum: s };
}

export interface NadamRefOptions {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  momentumDecay: number;
  /** 1-based step count. */
  step: number;
  /** PyTorch's state mu_product before this step (1 before the first). */
  muProduct: number;
}

/**
 * One NAdam step as PyTorch ≥ 2.0's torch/optim/nadam.py takes it (_single_tensor_nadam, its
 * default), in its order: μ_t and μ_{t+1}, mu_product ← mu_product·μ_t, mu_product_next ←
 * mu_product·μ_{t+1} (1.13 took μ_t twice there: pytorch#92699), the moments, then param −= lr(1 − μ_t)/(1 −
 * mu_product)·g/d and −= lr·μ_{t+1}/(1 − mu_product_next)·m/d, d = √(v / (1 − β2^t)) + eps.
 */
export function nadamRef(param: ArrayLike<number>, grad: ArrayLike<number>, expAvg: ArrayLike<number>, expAvgSq: ArrayLike<number>, o: NadamRefOptions): { param: Float64Array; expAvg: Float64Array; expAvgSq: Float64Array; muProduct: number } {
  const p = Float64Array.from(param);
  const m = Float64Array.from(expAvg);
  const v = Float64Array.from(expAvgSq);
  const bc2 = 1 - o.beta2 ** o.step;
  const mu = o.beta1 * (1 - 0.5 * 0.96 ** (o.step * o.momentumDecay));
  const muNext = o.beta1 * (1 - 0.5 * 0.96 ** ((o.step + 1) * o.momentumDecay));
  const muProduct = o.muProduct * mu;
  const muProductNext = muProduct * muNext;
  const gradStep = (-o.lr * (1 - mu)) / (1 - muProduct);
  const momentumStep = (-o.lr * muNext) / (1 - muProductNext);
  for (let i = 0; i < p.length; i++) {
    const g = grad[i]! + o.weightDecay * p[i]!;
    m[i] = m[i]! * o.beta1 + (1 - o.beta1) * g;
    v[i] = v[i]! * o.beta2 + (1 - o.beta2) * g * g;
    const d = Math.sqrt(v[i]! / bc2) + o.eps;
    p[i] = p[i]! + gradStep * (g / d);
    p[i] = p[i]! + momentumStep * (m[i]! / d);
  }
  return { param: p, expAvg: m, expAvgSq: v, muProduct };
}

export interface RadamRefOptions {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** 1-based step count. */
  step: number;
}

/**
 * One RAdam step as PyTorch 1.13's torch/optim/radam.py takes it (_single_tensor_radam, its
 * default), in its order: the moments, ρ∞ and ρ_t; where ρ_t > 5 param −= (m/bc1)·lr·√bc2/(√v +
 * eps)·r_t, else param −= (m/bc1)·lr.
 */
export function radamRef(param: ArrayLike<number>, grad: ArrayLike<number>, expAvg: ArrayLike<number>, expAvgSq: ArrayLike<number>, o: RadamRefOptions): { param: Float64Array; expAvg: Float64Array; expAvgSq: Float64Array; rectified: boolean } {
  const p = Float64Array.from(param);
  const m = Float64Array.from(expAvg);
  const v = Float64Array.from(expAvgSq);
  const bc1 = 1 - o.beta1 ** o.step;
  const bc2 = 1 - o.beta2 ** o.step;
  const rhoInf = 2 / (1 - o.beta2) - 1;
  const rhoT = rhoInf - (2 * o.step * o.beta2 ** o.step) / bc2;
  const rect = rhoT > 5 ? Math.sqrt(((rhoT - 4) * (rhoT - 2) * rhoInf) / ((rhoInf - 4) * (rhoInf - 2) * rhoT)) : undefined;
  for (let i = 0; i < p.length; i++) {
    const g = grad[i]! + o.weightDecay * p[i]!;
    m[i] = m[i]! * o.beta1 + (1 - o.beta1) * g;
    v[i] = v[i]! * o.beta2 + (1 - o.beta2) * g * g;
    const corrected = m[i]! / bc1;
    p[i] = rect === undefined ? p[i]! - corrected * o.lr : p[i]! - corrected * o.lr * (Math.sqrt(bc2) / (Math.sqrt(v[i]!) + o.eps)) * rect;
  }
  return { param: p, expAvg: m, expAvgSq: v, rectified: rect !== undefined };
}

export interface AdamaxRefOptions {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** 1-based step count. */
  step: number;
}

/**
 * One Adamax step as PyTorch 1.13's torch/optim/adamax.py takes it (_single_tensor_adamax, its
 * default), in its order: g += wd·p; exp_avg.mul_(β1).add_(g, alpha=1 − β1); exp_inf ←
 * amax(cat([exp_inf·β2, |g| + eps])); param.addcdiv_(exp_avg, exp_inf, value=−lr/(1 − β1^t)).
 */
export function adamaxRef(param: ArrayLike<number>, grad: ArrayLike<number>, expAvg: ArrayLike<number>, expInf: ArrayLike<number>, o: AdamaxRefOptions): { param: Float64Array; expAvg: Float64Array; expInf: Float64Array } {
  const p = Float64Array.from(param);
  const m = Float64Array.from(expAvg);
  const u = Float64Array.from(expInf);
  const clr = o.lr / (1 - o.beta1 ** o.step);
  for (let i = 0; i < p.length; i++) {
    const g = grad[i]! + o.weightDecay * p[i]!;
    m[i] = m[i]! * o.beta1 + (1 - o.beta1) * g;
    u[i] = Math.max(u[i]! * o.beta2, Math.abs(g) + o.eps);
    p[i] = p[i]! + (-clr * m[i]!) / u[i]!;
  }
  return { param: p, expAvg: m, expInf: u };
}

export interface AdadeltaRefOptions {
  lr: number;
  rho: number;
  eps: number;
  weightDecay: number;
}

/**
 * One Adadelta step as PyTorch 1.13's torch/optim/adadelta.py takes it (_single_tensor_adadelta),
 * in its order: g += wd·p; square_avg.mul_(ρ).addcmul_(g, g, value=1 − ρ); std = √(square_avg +
 * eps); delta = √(acc_delta + eps) / std · g; acc_delta.mul_(ρ).addcmul_(delta, delta, value=1 −
 * ρ); param.add_(delta, alpha=−lr).
 */
export function adadeltaRef(param: ArrayLike<number>, grad: ArrayLike<number>, squareAvg: ArrayLike<number>, accDelta: ArrayLike<number>, o: AdadeltaRefOptions): { param: Float64Array; squareAvg: Float64Array; accDelta: Float64Array } {
  const p = Float64Array.from(param);
  const v = Float64Array.from(squareAvg);
  const a = Float64Array.from(accDelta);
  for (let i = 0; i < p.length; i++) {
    const g = grad[i]! + o.weightDecay * p[i]!;
    v[i] = v[i]! * o.rho + (1 - o.rho) * g * g;
    const std = Math.sqrt(v[i]! + o.eps);
    const delta = (Math.sqrt(a[i]! + o.eps) / std) * g;
    a[i] = a[i]! * o.rho + (1 - o.rho) * delta * delta;
    p[i] = p[i]! + -o.lr * delta;
  }
  return { param: p, squareAvg: v, accDelta: a };
}

/**
 * One RMSprop step (torch/optim/rmsprop.py): with `gradAvg` centered, with `buffer` (and momentum
 * > 0) through the momentum buffer.
 */
export function rmspropRef(
  param: ArrayLike<number>,
  grad: ArrayLike<number>,
  squareAvg: ArrayLike<number>,
  o: RmspropRefOptions,
  state: { readonly buffer?: ArrayLike<number>; readonly gradAvg?: ArrayLike<number> } = {},
): { param: Float64Array; squareAvg: Float64Array; buffer?: Float64Array; gradAvg?: Float64Array } {
  const p = Float64Array.from(param);
  const s = Float64Array.from(squareAvg);
  const b = state.buffer && Float64Array.from(state.buffer);
  const m = state.gradAvg && Float64Array.from(state.gradAvg);
  for (let i = 0; i < p.length; i++) {
    const g = grad[i]! + o.weightDecay * p[i]!;
    s[i] = o.alpha * s[i]! + (1 - o.alpha) * g * g;
    let avg: number;
    if (m) {
      m[i] = o.alpha * m[i]! + (1 - o.alpha) * g;
      avg = Math.sqrt(s[i]! - m[i]! * m[i]!) + o.eps;
    } else avg = Math.sqrt(s[i]!) + o.eps;
    if (b && o.momentum > 0) {
      b[i] = o.momentum * b[i]! + g / avg;
      p[i] = p[i]! - o.lr * b[i]!;
    } else p[i] = p[i]! - (o.lr * g) / avg;
  }
  return { param: p, squareAvg: s, ...(b ? { buffer: b } : {}), ...(m ? { gradAvg: m } : {}) };
}

/**
 * torch.nn.utils.clip_grad_norm_ over a network's gradients (every tensor at once): the total
 * norm of all of them (norm_type 1, 2 or ∞: Σ|g|, √Σg², max|g|), and each gradient multiplied by
 * min(maxNorm / (norm + 1e-6), 1). Returns the clipped gradients, the norm before clipping and the factor.
 */
export function clipGradNormRef(grads: Readonly<Record<string, ArrayLike<number>>>, maxNorm: number, normType: 1 | 2 | typeof Infinity = 2): { grads: Record<string, Float64Array>; norm: number; factor: number } {
  let acc = 0;
  for (const g of Object.values(grads)) {
    for (let i = 0; i < g.length; i++) {
      const a = Math.abs(g[i]!);
      acc = normType === Infinity ? Math.max(acc, a) : acc + (normType === 1 ? a : a * a);
    }
  }
  const norm = normType === 2 ? Math.sqrt(acc) : acc;
  const factor = Math.min(maxNorm / (norm + 1e-6), 1);
  const out: Record<string, Float64Array> = {};
  for (const [name, g] of Object.entries(grads)) out[name] = Float64Array.from(g, (v) => v * factor);
  return { grads: out, norm, factor };
}

/** torch.nn.utils.clip_grad_value_: every gradient element clamped to [−clipValue, clipValue]. */
export function clipGradValueRef(grads: Readonly<Record<string, ArrayLike<number>>>, clipValue: number): Record<string, Float64Array> {
  const out: Record<string, Float64Array> = {};
  for (const [name, g] of Object.entries(grads)) out[name] = Float64Array.from(g, (v) => Math.min(Math.max(v, -clipValue), clipValue));
  return out;
}
