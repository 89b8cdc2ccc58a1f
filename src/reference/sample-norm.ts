/**
 * CPU reference for GroupNorm and LayerNorm (normalisation within each sample), float64, plain
 * loops from the maths. A sample of `sampleSize` elements is split into contiguous segments of
 * `segmentLength`; each segment is normalised by its own mean and biased variance; element i of a
 * sample then takes weight[a] and bias[a], a = ⌊i / affineStride⌋ mod affineCount.
 */

export interface SampleNormShape {
  readonly batch: number;
  readonly sampleSize: number;
  readonly segmentLength: number;
  readonly affineStride: number;
  readonly affineCount: number;
  readonly eps: number;
}

/** GroupNorm(G) of [C, ...spatial]: segments of C/G channels' planes, affine per channel. */
export const groupNormShape = (batch: number, channels: number, area: number, groups: number, eps: number): SampleNormShape => ({
  batch, sampleSize: channels * area, segmentLength: (channels / groups) * area, affineStride: area, affineCount: channels, eps,
});

/** LayerNorm over the trailing `normalized` elements of each sample: segments of them, affine per element. */
export const layerNormShape = (batch: number, sampleSize: number, normalized: number, eps: number): SampleNormShape => ({
  batch, sampleSize, segmentLength: normalized, affineStride: 1, affineCount: normalized, eps,
});

const affineIndex = (s: SampleNormShape, e: number) => Math.floor((e % s.sampleSize) / s.affineStride) % s.affineCount;

/** y = (x − μ)/√(σ² + eps)·weight + bias per segment; also each segment's μ and rstd. */
export function sampleNormForwardRef(x: ArrayLike<number>, weight: ArrayLike<number>, bias: ArrayLike<number>, s: SampleNormShape): { y: Float64Array; mean: Float64Array; rstd: Float64Array } {
  const segments = (s.batch * s.sampleSize) / s.segmentLength;
  const y = new Float64Array(s.batch * s.sampleSize);
  const mean = new Float64Array(segments);
  const rstd = new Float64Array(segments);
  for (let g = 0; g < segments; g++) {
    const start = g * s.segmentLength;
    let sum = 0;
    for (let j = 0; j < s.segmentLength; j++) sum += x[start + j]!;
    const m = sum / s.segmentLength;
    let squares = 0;
    for (let j = 0; j < s.segmentLength; j++) squares += (x[start + j]! - m) ** 2;
    const r = 1 / Math.sqrt(squares / s.segmentLength + s.eps);
    [mean[g], rstd[g]] = [m, r];
    for (let j = 0; j < s.segmentLength; j++) {
      const a = affineIndex(s, start + j);
      y[start + j] = (x[start + j]! - m) * r * weight[a]! + bias[a]!;
    }
  }
  return { y, mean, rstd };
}

/** dx, dweight, dbias of sampleNormForwardRef, from the maths (x̂ = (x − μ)·rstd; g = dy·weight). */
export function sampleNormBackwardRef(dy: ArrayLike<number>, x: ArrayLike<number>, weight: ArrayLike<number>, s: SampleNormShape): { dx: Float64Array; dweight: Float64Array; dbias: Float64Array } {
  const { mean, rstd } = sampleNormForwardRef(x, weight, new Float64Array(s.affineCount), s);
  const dx = new Float64Array(s.batch * s.sampleSize);
  const dweight = new Float64Array(s.affineCount);
  const dbias = new Float64Array(s.affineCount);
  const L = s.segmentLength;
  for (let g = 0; g < mean.length; g++) {
    const start = g * L;
    let [sumG, sumGx] = [0, 0];
    for (let j = 0; j < L; j++) {
      const e = start + j;
      const a = affineIndex(s, e);
      const xhat = (x[e]! - mean[g]!) * rstd[g]!;
      const grad = dy[e]! * weight[a]!;
      sumG += grad;
      sumGx += grad * xhat;
      dweight[a]! += dy[e]! * xhat;
      dbias[a]! += dy[e]!;
    }
    for (let j = 0; j < L; j++) {
      const e = start + j;
      const xhat = (x[e]! - mean[g]!) * rstd[g]!;
      dx[e] = rstd[g]! * (dy[e]! * weight[affineIndex(s, e)]! - sumG / L - (xhat * sumGx) / L);
    }
  }
  return { dx, dweight, dbias };
}
