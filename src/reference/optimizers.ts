/**
 * CPU reference of torch.optim.SGD and torch.optim.Adam / AdamW, float64, one step, written from
 * PyTorch's documented algorithms (torch/optim/sgd.py, adam.py, adamw.py).
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

export function adamRef(
  param: ArrayLike<number>,
  grad: ArrayLike<number>,
  expAvg: ArrayLike<number>,
  expAvgSq: ArrayLike<number>,
  o: AdamRefOptions,
): { param: Float64Array; expAvg: Float64Array; expAvgSq: Float64Array } {
  const p = Float64Array.from(param);
  const m = Float64Array.from(expAvg);
  const v = Float64Array.from(expAvgSq);
  const bc1 = 1 - o.beta1 ** o.step;
  const bc2 = 1 - o.beta2 ** o.step;
  for (let i = 0; i < p.length; i++) {
    let g = grad[i]!;
    if (o.decoupled) p[i] = p[i]! * (1 - o.lr * o.weightDecay);
    else g += o.weightDecay * p[i]!;
    m[i] = o.beta1 * m[i]! + (1 - o.beta1) * g;
    v[i] = o.beta2 * v[i]! + (1 - o.beta2) * g * g;
    p[i] = p[i]! - (o.lr / bc1) * (m[i]! / (Math.sqrt(v[i]!) / Math.sqrt(bc2) + o.eps));
  }
  return { param: p, expAvg: m, expAvgSq: v };
}
