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
 * Squared-error losses against one-hot targets of `labels` or, given, float `targets` [batch,
 * features] (regression): per-sample loss and the gradient. MSE (PyTorch's MSELoss, mean over
 * batch × features), or the sheet's ½Σ(t − a)² averaged over the batch.
 */
export function squaredErrorRef(prediction: ArrayLike<number>, labels: ArrayLike<number>, batch: number, features: number, half: boolean, targets?: ArrayLike<number>): { loss: Float64Array; grad: Float64Array } {
  const loss = new Float64Array(batch);
  const grad = new Float64Array(batch * features);
  for (let b = 0; b < batch; b++) {
    let sum = 0;
    for (let j = 0; j < features; j++) {
      const diff = prediction[b * features + j]! - (targets ? targets[b * features + j]! : labels[b] === j ? 1 : 0);
      sum += diff * diff;
      grad[b * features + j] = half ? diff / batch : (2 * diff) / (batch * features);
    }
    loss[b] = half ? 0.5 * sum : sum / features;
  }
  return { loss, grad };
}
