/** CPU reference for the half squared error loss, float64: loss = (1/B) Σ ½ (t − a)². */

export interface HalfSquaredErrorRef {
  terms: Float64Array;
  grad: Float64Array;
  loss: number;
}

export function halfSquaredErrorRef(prediction: ArrayLike<number>, target: ArrayLike<number>, batch: number): HalfSquaredErrorRef {
  const terms = new Float64Array(prediction.length);
  const grad = new Float64Array(prediction.length);
  let sum = 0;
  for (let i = 0; i < prediction.length; i++) {
    const diff = prediction[i]! - target[i]!;
    terms[i] = 0.5 * diff * diff;
    grad[i] = diff / batch;
    sum += terms[i]!;
  }
  return { terms, grad, loss: sum / batch };
}

/**
 * The pointwise losses (src/kernels/pointwise-loss.ts's, PyTorch's reduction 'mean'; KLDivLoss's
 * 'batchmean') against one-hot targets of `labels` or, given, float `targets` [batch, features]:
 * per-sample loss (the mean over features of ℓ; ½Σ(t − a)² and KLDivLoss: the sum) and the
 * gradient of the batch's mean loss. `beta`: SmoothL1Loss's β, HuberLoss's δ; `posWeight`:
 * BCEWithLogitsLoss's pos_weight [features]; `logTarget`: KLDivLoss's log_target. From the
 * definitions, in float64 (log1p where the textbook form would cancel, as PyTorch's own double
 * kernels).
 */
export function pointwiseLossRef(
  kind: 'mse' | 'half-sse' | 'l1' | 'smooth-l1' | 'huber' | 'bce-with-logits' | 'bce' | 'kl-div',
  prediction: ArrayLike<number>,
  labels: ArrayLike<number>,
  batch: number,
  features: number,
  options: { readonly beta?: number; readonly targets?: ArrayLike<number>; readonly posWeight?: ArrayLike<number>; readonly logTarget?: boolean } = {},
): { loss: Float64Array; grad: Float64Array } {
  const beta = options.beta ?? 1;
  const summed = kind === 'half-sse' || kind === 'kl-div';
  const loss = new Float64Array(batch);
  const grad = new Float64Array(batch * features);
  const n = batch * features;
  for (let b = 0; b < batch; b++) {
    let sum = 0;
    for (let j = 0; j < features; j++) {
      const i = b * features + j;
      const a = prediction[i]!;
      const t = options.targets ? options.targets[i]! : labels[b] === j ? 1 : 0;
      const d = a - t;
      let l: number;
      let g: number;
      switch (kind) {
        case 'mse': [l, g] = [d * d, (2 * d) / n]; break;
        case 'half-sse': [l, g] = [0.5 * d * d, d / batch]; break;
        // PyTorch's sign(NaN) is 0: L1Loss's gradient at a NaN difference 0 (SmoothL1Loss's and HuberLoss's NaN).
        case 'l1': [l, g] = [Math.abs(d), (Number.isNaN(d) ? 0 : Math.sign(d)) / n]; break;
        case 'smooth-l1': [l, g] = Math.abs(d) < beta ? [(0.5 * d * d) / beta, d / beta / n] : [Math.abs(d) - 0.5 * beta, Math.sign(d) / n]; break;
        case 'huber': [l, g] = Math.abs(d) < beta ? [0.5 * d * d, d / n] : [beta * (Math.abs(d) - 0.5 * beta), Math.min(Math.max(d, -beta), beta) / n]; break;
        case 'bce-with-logits': {
          // pos_weight p weighs the positive term: −(p·t·log σ(a) + (1 − t)·log(1 − σ(a))).
          const p = options.posWeight ? options.posWeight[j]! : 1;
          const logSigmoid = -(Math.max(-a, 0) + Math.log1p(Math.exp(-Math.abs(a))));
          const logOneMinusSigmoid = -(Math.max(a, 0) + Math.log1p(Math.exp(-Math.abs(a))));
          const sigmoid = 1 / (1 + Math.exp(-a));
          [l, g] = [-(p * t * logSigmoid + (1 - t) * logOneMinusSigmoid), (p * t * (sigmoid - 1) + (1 - t) * sigmoid) / n];
          break;
        }
        case 'bce': [l, g] = [-(t * Math.max(Math.log(a), -100) + (1 - t) * Math.max(Math.log1p(-a), -100)), d / Math.max(a * (1 - a), 1e-12) / n]; break;
        // a: log-probabilities; t: probabilities (0·log 0 = 0) or, logTarget, log-probabilities.
        case 'kl-div': [l, g] = options.logTarget ? [Math.exp(t) * (t - a), -Math.exp(t) / batch] : [t === 0 ? 0 : t * (Math.log(t) - a), -t / batch]; break;
      }
      sum += l;
      grad[i] = g;
    }
    loss[b] = summed ? sum : sum / features;
  }
  return { loss, grad };
}
