/** CPU reference of the bias of Conv2d / Linear, float64: y[b, c, s] = x[b, c, s] + bias[c] (optionally then ReLU); dbias[c] = Σ_b Σ_s dy. */

export function biasAddRef(x: ArrayLike<number>, bias: ArrayLike<number>, batch: number, channels: number, area: number, relu = false): Float64Array {
  const y = new Float64Array(batch * channels * area);
  for (let b = 0; b < batch; b++) {
    for (let c = 0; c < channels; c++) {
      for (let s = 0; s < area; s++) {
        const i = (b * channels + c) * area + s;
        const v = x[i]! + bias[c]!;
        y[i] = relu ? Math.max(v, 0) : v;
      }
    }
  }
  return y;
}

export function biasBackwardRef(dy: ArrayLike<number>, batch: number, channels: number, area: number): Float64Array {
  const dbias = new Float64Array(channels);
  for (let b = 0; b < batch; b++) {
    for (let c = 0; c < channels; c++) {
      for (let s = 0; s < area; s++) dbias[c]! += dy[(b * channels + c) * area + s]!;
    }
  }
  return dbias;
}
