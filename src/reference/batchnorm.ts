/**
 * CPU reference for BatchNorm2d, float64, PyTorch semantics. x is [N, C, HW] (NCHW with the
 * spatial dimensions flattened); each channel's statistics run over its M = N·HW values.
 * Training normalises with the biased variance and feeds the unbiased one (·M/(M − 1)) to the
 * running variance, so M must be > 1 (M = 1 gives an unbiased variance of NaN).
 */

export interface BatchNormStats {
  mean: Float64Array;
  /** Σ(x − mean)² / M: what training normalises with. */
  variance: Float64Array;
  /** Σ(x − mean)² / (M − 1): what the running variance tracks. */
  varianceUnbiased: Float64Array;
}

export function batchNormStatsRef(x: ArrayLike<number>, N: number, C: number, HW: number): BatchNormStats {
  const M = N * HW;
  const mean = new Float64Array(C);
  const variance = new Float64Array(C);
  const varianceUnbiased = new Float64Array(C);
  for (let c = 0; c < C; c++) {
    let sum = 0;
    for (let n = 0; n < N; n++) for (let i = 0; i < HW; i++) sum += x[(n * C + c) * HW + i]!;
    const m = sum / M;
    let squares = 0;
    for (let n = 0; n < N; n++) {
      for (let i = 0; i < HW; i++) {
        const d = x[(n * C + c) * HW + i]! - m;
        squares += d * d;
      }
    }
    mean[c] = m;
    variance[c] = squares / M;
    varianceUnbiased[c] = squares / (M - 1);
  }
  return { mean, variance, varianceUnbiased };
}

/** y = (x − mean[c]) · invStd[c] · γ[c] + β[c] */
function normalize(
  x: ArrayLike<number>,
  mean: ArrayLike<number>,
  invStd: ArrayLike<number>,
  gamma: ArrayLike<number>,
  beta: ArrayLike<number>,
  N: number,
  C: number,
  HW: number,
): Float64Array {
  const y = new Float64Array(N * C * HW);
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      for (let i = 0; i < HW; i++) {
        const j = (n * C + c) * HW + i;
        y[j] = (x[j]! - mean[c]!) * invStd[c]! * gamma[c]! + beta[c]!;
      }
    }
  }
  return y;
}

/** Training mode: normalise with the batch's mean and biased variance, invStd = 1/√(var + eps). */
export function batchNormForwardTrainRef(
  x: ArrayLike<number>,
  gamma: ArrayLike<number>,
  beta: ArrayLike<number>,
  N: number,
  C: number,
  HW: number,
  eps: number,
): { y: Float64Array; mean: Float64Array; invStd: Float64Array; varianceUnbiased: Float64Array } {
  const { mean, variance, varianceUnbiased } = batchNormStatsRef(x, N, C, HW);
  const invStd = Float64Array.from(variance, (v) => 1 / Math.sqrt(v + eps));
  return { y: normalize(x, mean, invStd, gamma, beta, N, C, HW), mean, invStd, varianceUnbiased };
}

/** Eval mode: normalise with the running mean and variance. */
export function batchNormForwardEvalRef(
  x: ArrayLike<number>,
  gamma: ArrayLike<number>,
  beta: ArrayLike<number>,
  runningMean: ArrayLike<number>,
  runningVar: ArrayLike<number>,
  N: number,
  C: number,
  HW: number,
  eps: number,
): Float64Array {
  const invStd = Float64Array.from(runningVar, (v) => 1 / Math.sqrt(v + eps));
  return normalize(x, runningMean, invStd, gamma, beta, N, C, HW);
}

/** r ← (1 − momentum) · r + momentum · batch, for the mean and the unbiased variance. */
export function batchNormRunningUpdateRef(
  runningMean: ArrayLike<number>,
  runningVar: ArrayLike<number>,
  mean: ArrayLike<number>,
  varianceUnbiased: ArrayLike<number>,
  momentum: number,
): { runningMean: Float64Array; runningVar: Float64Array } {
  return {
    runningMean: Float64Array.from(runningMean, (r, c) => (1 - momentum) * r + momentum * mean[c]!),
    runningVar: Float64Array.from(runningVar, (r, c) => (1 - momentum) * r + momentum * varianceUnbiased[c]!),
  };
}

/**
 * Training-mode gradient, through the batch statistics (recomputed from x). With x̂ = (x − mean) · invStd:
 * dβ = Σ dy, dγ = Σ dy · x̂, dx = γ · invStd / M · (M · dy − Σ dy − x̂ · Σ dy · x̂), sums over the channel.
 */
export function batchNormBackwardRef(
  dy: ArrayLike<number>,
  x: ArrayLike<number>,
  gamma: ArrayLike<number>,
  N: number,
  C: number,
  HW: number,
  eps: number,
): { dx: Float64Array; dgamma: Float64Array; dbeta: Float64Array } {
  const M = N * HW;
  const { mean, variance } = batchNormStatsRef(x, N, C, HW);
  const dx = new Float64Array(N * C * HW);
  const dgamma = new Float64Array(C);
  const dbeta = new Float64Array(C);
  for (let c = 0; c < C; c++) {
    const invStd = 1 / Math.sqrt(variance[c]! + eps);
    const xhat = (j: number) => (x[j]! - mean[c]!) * invStd;
    let sumDy = 0;
    let sumDyXhat = 0;
    for (let n = 0; n < N; n++) {
      for (let i = 0; i < HW; i++) {
        const j = (n * C + c) * HW + i;
        sumDy += dy[j]!;
        sumDyXhat += dy[j]! * xhat(j);
      }
    }
    dbeta[c] = sumDy;
    dgamma[c] = sumDyXhat;
    const scale = (gamma[c]! * invStd) / M;
    for (let n = 0; n < N; n++) {
      for (let i = 0; i < HW; i++) {
        const j = (n * C + c) * HW + i;
        dx[j] = scale * (M * dy[j]! - sumDy - xhat(j) * sumDyXhat);
      }
    }
  }
  return { dx, dgamma, dbeta };
}
