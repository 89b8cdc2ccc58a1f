/**
 * CPU reference for torchvision.ops.Permute (torch.permute) of [N, ...sample] with the batch
 * dimension kept first: every input element's multi-index moved to its place in the output.
 * Plain loops in float64 (not the kernel's output-side strides).
 */

/** x [batch, ...shape] with the sample dimensions permuted: output dimension k is input dimension dims[k]. */
export function permuteRef(x: ArrayLike<number>, batch: number, shape: readonly number[], dims: readonly number[]): Float64Array {
  const out = dims.map((d) => shape[d]!);
  const per = shape.reduce((a, b) => a * b, 1);
  const y = new Float64Array(batch * per);
  const index = new Array<number>(shape.length);
  for (let n = 0; n < batch; n++) {
    for (let i = 0; i < per; i++) {
      // The input multi-index of element i, row-major.
      let rest = i;
      for (let k = shape.length - 1; k >= 0; k--) {
        index[k] = rest % shape[k]!;
        rest = Math.floor(rest / shape[k]!);
      }
      // Its output multi-index: position k holds input index dims[k].
      let o = 0;
      for (let k = 0; k < out.length; k++) o = o * out[k]! + index[dims[k]!]!;
      y[n * per + o] = x[n * per + i]!;
    }
  }
  return y;
}
