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
