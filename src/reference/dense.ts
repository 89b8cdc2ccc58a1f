/**
 * CPU reference for the dense layer, float64, plain loops from the maths (no shared code with
 * the WGSL kernels). W is [out, in].
 */

/** y[b, o] = Σ_i x[b, i] · W[o, i] */
export function denseForwardRef(x: ArrayLike<number>, weight: ArrayLike<number>, batch: number, inFeatures: number, outFeatures: number): Float64Array {
  const y = new Float64Array(batch * outFeatures);
  for (let b = 0; b < batch; b++) {
    for (let o = 0; o < outFeatures; o++) {
      let sum = 0;
      for (let i = 0; i < inFeatures; i++) sum += x[b * inFeatures + i]! * weight[o * inFeatures + i]!;
      y[b * outFeatures + o] = sum;
    }
  }
  return y;
}

/** dx[b, i] = Σ_o dy[b, o] · W[o, i] */
export function denseBackwardInputRef(dy: ArrayLike<number>, weight: ArrayLike<number>, batch: number, inFeatures: number, outFeatures: number): Float64Array {
  const dx = new Float64Array(batch * inFeatures);
  for (let b = 0; b < batch; b++) {
    for (let o = 0; o < outFeatures; o++) {
      const g = dy[b * outFeatures + o]!;
      for (let i = 0; i < inFeatures; i++) dx[b * inFeatures + i]! += g * weight[o * inFeatures + i]!;
    }
  }
  return dx;
}

/** dW[o, i] = Σ_b dy[b, o] · x[b, i] */
export function denseBackwardWeightRef(dy: ArrayLike<number>, x: ArrayLike<number>, batch: number, inFeatures: number, outFeatures: number): Float64Array {
  const dw = new Float64Array(outFeatures * inFeatures);
  for (let b = 0; b < batch; b++) {
    for (let o = 0; o < outFeatures; o++) {
      const g = dy[b * outFeatures + o]!;
      for (let i = 0; i < inFeatures; i++) dw[o * inFeatures + i]! += g * x[b * inFeatures + i]!;
    }
  }
  return dw;
}
