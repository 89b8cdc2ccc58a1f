/**
 * CPU reference for the pooling layers, float64, NCHW: 2×2 max pooling with stride 2 (rows and
 * columns past the last whole window are dropped) and global average pooling.
 */

/**
 * Each window is scanned top-left, top-right, bottom-left, bottom-right and an element replaces the
 * current maximum when `v > max || isNaN(v)` (PyTorch's rule): the first maximum wins a tie and a
 * NaN wins over any number (the last NaN, if several). argmax is the flat index into x.
 */
export function maxPool2x2ForwardRef(x: ArrayLike<number>, N: number, C: number, H: number, W: number): { y: Float64Array; argmax: Uint32Array } {
  const outH = Math.floor(H / 2);
  const outW = Math.floor(W / 2);
  const y = new Float64Array(N * C * outH * outW);
  const argmax = new Uint32Array(y.length);
  for (let plane = 0; plane < N * C; plane++) {
    for (let oy = 0; oy < outH; oy++) {
      for (let ox = 0; ox < outW; ox++) {
        let max = -Infinity;
        let index = (plane * H + 2 * oy) * W + 2 * ox;
        for (let wy = 0; wy < 2; wy++) {
          for (let wx = 0; wx < 2; wx++) {
            const i = (plane * H + 2 * oy + wy) * W + 2 * ox + wx;
            const v = x[i]!;
            if (v > max || Number.isNaN(v)) {
              max = v;
              index = i;
            }
          }
        }
        const o = (plane * outH + oy) * outW + ox;
        y[o] = max;
        argmax[o] = index;
      }
    }
  }
  return { y, argmax };
}

/** dx[argmax[o]] = dy[o]; every other element of x gets 0. */
export function maxPool2x2BackwardRef(dy: ArrayLike<number>, argmax: ArrayLike<number>, inputLength: number): Float64Array {
  const dx = new Float64Array(inputLength);
  for (let o = 0; o < dy.length; o++) dx[argmax[o]!]! += dy[o]!;
  return dx;
}

/** y[n, c] = (1/HW) Σ_i x[n, c, i] */
export function globalAvgPoolForwardRef(x: ArrayLike<number>, N: number, C: number, HW: number): Float64Array {
  const y = new Float64Array(N * C);
  for (let nc = 0; nc < N * C; nc++) {
    let sum = 0;
    for (let i = 0; i < HW; i++) sum += x[nc * HW + i]!;
    y[nc] = sum / HW;
  }
  return y;
}

/** dx[n, c, i] = dy[n, c] / HW */
export function globalAvgPoolBackwardRef(dy: ArrayLike<number>, N: number, C: number, HW: number): Float64Array {
  const dx = new Float64Array(N * C * HW);
  for (let j = 0; j < dx.length; j++) dx[j] = dy[Math.floor(j / HW)]! / HW;
  return dx;
}
