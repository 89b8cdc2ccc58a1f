/**
 * CPU reference for the pooling layers, float64, NCHW: 2×2 max pooling with stride 2 (rows and
 * columns past the last whole window are dropped), global average pooling, and max and average
 * pooling of any window (PyTorch's kernel_size, stride, padding, dilation, ceil_mode,
 * count_include_pad, divisor_override), written from PyTorch's CPU kernels' loops.
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

/** dx[argmax[o]] += dy[o], outputs in order; every other element of x gets 0 (any window: argmax says where). */
export function maxPoolBackwardRef(dy: ArrayLike<number>, argmax: ArrayLike<number>, inputLength: number): Float64Array {
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

/** A pooling window as PyTorch's MaxPool2d/AvgPool2d take it, each pair (height, width). */
export interface Pool2dRef {
  readonly kernel: readonly [number, number];
  readonly stride: readonly [number, number];
  readonly padding: readonly [number, number];
  /** MaxPool2d only (AvgPool2d has none): 1 by default. */
  readonly dilation?: readonly [number, number];
  readonly ceilMode?: boolean;
  /** AvgPool2d: divide by the window's size within the padded input (true, PyTorch's default) or by its taps inside the input. */
  readonly countIncludePad?: boolean;
  /** AvgPool2d: divide by this instead (PyTorch's divisor_override). */
  readonly divisorOverride?: number;
}

/**
 * PyTorch's pooling_output_shape: ⌊(size + 2·pad − dilation·(kernel − 1) − 1) / stride⌋ + 1, or
 * with ceil_mode ⌈…⌉ + 1 less one where the last window would start past the input and its left
 * padding.
 */
export function poolOutputSizeRef(size: number, kernel: number, stride: number, pad: number, dilation: number, ceilMode: boolean): number {
  const span = size + 2 * pad - dilation * (kernel - 1) - 1;
  let out = Math.floor((span + (ceilMode ? stride - 1 : 0)) / stride) + 1;
  if (ceilMode && (out - 1) * stride >= size + pad) out--;
  return out;
}

/** The output size of a window over an H×W map. */
export function pool2dShapeRef(H: number, W: number, p: Pool2dRef): [number, number] {
  const [dh, dw] = p.dilation ?? [1, 1];
  return [poolOutputSizeRef(H, p.kernel[0], p.stride[0], p.padding[0], dh, p.ceilMode ?? false), poolOutputSizeRef(W, p.kernel[1], p.stride[1], p.padding[1], dw, p.ceilMode ?? false)];
}

/**
 * MaxPool2d of any window: each output the largest of its taps inside the input, scanned
 * row-major, `v > max || isNaN(v)` replacing the maximum (PyTorch's CPU rule: the first of equal
 * maxima wins, NaN propagates). The maximum starts at −∞ and its index at the first tap inside the
 * input. argmax is the flat index into x.
 */
export function maxPool2dForwardRef(x: ArrayLike<number>, N: number, C: number, H: number, W: number, p: Pool2dRef): { y: Float64Array; argmax: Uint32Array } {
  const [outH, outW] = pool2dShapeRef(H, W, p);
  const [dh, dw] = p.dilation ?? [1, 1];
  const y = new Float64Array(N * C * outH * outW);
  const argmax = new Uint32Array(y.length);
  for (let plane = 0; plane < N * C; plane++) {
    for (let oy = 0; oy < outH; oy++) {
      for (let ox = 0; ox < outW; ox++) {
        let hstart = oy * p.stride[0] - p.padding[0];
        let wstart = ox * p.stride[1] - p.padding[1];
        const hend = Math.min(hstart + (p.kernel[0] - 1) * dh + 1, H);
        const wend = Math.min(wstart + (p.kernel[1] - 1) * dw + 1, W);
        while (hstart < 0) hstart += dh;
        while (wstart < 0) wstart += dw;
        let index = (plane * H + hstart) * W + wstart;
        let max = -Infinity;
        for (let iy = hstart; iy < hend; iy += dh) {
          for (let ix = wstart; ix < wend; ix += dw) {
            const i = (plane * H + iy) * W + ix;
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

/**
 * AvgPool2d of any window (PyTorch's avg_pool2d): the sum of the taps inside the input over the
 * divisor — divisorOverride, else the window's size clipped to the padded input
 * (countIncludePad, the default), else its taps inside the input.
 */
export function avgPool2dForwardRef(x: ArrayLike<number>, N: number, C: number, H: number, W: number, p: Pool2dRef): Float64Array {
  const [outH, outW] = pool2dShapeRef(H, W, p);
  const y = new Float64Array(N * C * outH * outW);
  for (let plane = 0; plane < N * C; plane++) {
    for (let oy = 0; oy < outH; oy++) {
      for (let ox = 0; ox < outW; ox++) {
        const w = avgWindowRef(oy, ox, H, W, p);
        let sum = 0;
        for (let iy = w.h0; iy < w.h1; iy++) for (let ix = w.w0; ix < w.w1; ix++) sum += x[(plane * H + iy) * W + ix]!;
        y[(plane * outH + oy) * outW + ox] = sum / w.divisor;
      }
    }
  }
  return y;
}

/** dx: each output's dy / divisor added to every tap of its window inside the input (PyTorch's avg_pool2d backward). */
export function avgPool2dBackwardRef(dy: ArrayLike<number>, N: number, C: number, H: number, W: number, p: Pool2dRef): Float64Array {
  const [outH, outW] = pool2dShapeRef(H, W, p);
  const dx = new Float64Array(N * C * H * W);
  for (let plane = 0; plane < N * C; plane++) {
    for (let oy = 0; oy < outH; oy++) {
      for (let ox = 0; ox < outW; ox++) {
        const w = avgWindowRef(oy, ox, H, W, p);
        const g = dy[(plane * outH + oy) * outW + ox]! / w.divisor;
        for (let iy = w.h0; iy < w.h1; iy++) for (let ix = w.w0; ix < w.w1; ix++) dx[(plane * H + iy) * W + ix]! += g;
      }
    }
  }
  return dx;
}

/** An average pool's window, clipped to the input, and its divisor. */
function avgWindowRef(oy: number, ox: number, H: number, W: number, p: Pool2dRef): { h0: number; h1: number; w0: number; w1: number; divisor: number } {
  let h0 = oy * p.stride[0] - p.padding[0];
  let w0 = ox * p.stride[1] - p.padding[1];
  let h1 = Math.min(h0 + p.kernel[0], H + p.padding[0]);
  let w1 = Math.min(w0 + p.kernel[1], W + p.padding[1]);
  const padded = (h1 - h0) * (w1 - w0);
  h0 = Math.max(h0, 0);
  w0 = Math.max(w0, 0);
  h1 = Math.min(h1, H);
  w1 = Math.min(w1, W);
  const divisor = p.divisorOverride ?? ((p.countIncludePad ?? true) ? padded : (h1 - h0) * (w1 - w0));
  return { h0, h1, w0, w1, divisor };
}

/** An adaptive window along one axis (PyTorch's start_index / end_index): [⌊o·size/out⌋, ⌈(o + 1)·size/out⌉). */
function adaptiveSpanRef(o: number, size: number, out: number): [number, number] {
  return [Math.floor((o * size) / out), Math.ceil(((o + 1) * size) / out)];
}

/**
 * AdaptiveAvgPool2d (PyTorch's adaptive_avg_pool2d): output (oy, ox) the mean of its adaptive
 * window, its sum divided by the window's rows, then by its columns (as PyTorch's kernel divides).
 */
export function adaptiveAvgPool2dForwardRef(x: ArrayLike<number>, N: number, C: number, H: number, W: number, outH: number, outW: number): Float64Array {
  const y = new Float64Array(N * C * outH * outW);
  for (let plane = 0; plane < N * C; plane++) {
    for (let oy = 0; oy < outH; oy++) {
      const [h0, h1] = adaptiveSpanRef(oy, H, outH);
      for (let ox = 0; ox < outW; ox++) {
        const [w0, w1] = adaptiveSpanRef(ox, W, outW);
        let sum = 0;
        for (let iy = h0; iy < h1; iy++) for (let ix = w0; ix < w1; ix++) sum += x[(plane * H + iy) * W + ix]!;
        y[(plane * outH + oy) * outW + ox] = sum / (h1 - h0) / (w1 - w0);
      }
    }
  }
  return y;
}

/** dx: each output's dy / rows / columns added to every element of its adaptive window. */
export function adaptiveAvgPool2dBackwardRef(dy: ArrayLike<number>, N: number, C: number, H: number, W: number, outH: number, outW: number): Float64Array {
  const dx = new Float64Array(N * C * H * W);
  for (let plane = 0; plane < N * C; plane++) {
    for (let oy = 0; oy < outH; oy++) {
      const [h0, h1] = adaptiveSpanRef(oy, H, outH);
      for (let ox = 0; ox < outW; ox++) {
        const [w0, w1] = adaptiveSpanRef(ox, W, outW);
        const g = dy[(plane * outH + oy) * outW + ox]! / (h1 - h0) / (w1 - w0);
        for (let iy = h0; iy < h1; iy++) for (let ix = w0; ix < w1; ix++) dx[(plane * H + iy) * W + ix]! += g;
      }
    }
  }
  return dx;
}

/**
 * AdaptiveMaxPool2d: each output the largest element of its adaptive window, scanned row-major,
 * `v > max || isNaN(v)` replacing it (the first of equal maxima wins, NaN propagates); argmax the
 * flat index into x (its backward: maxPoolBackwardRef).
 */
export function adaptiveMaxPool2dForwardRef(x: ArrayLike<number>, N: number, C: number, H: number, W: number, outH: number, outW: number): { y: Float64Array; argmax: Uint32Array } {
  const y = new Float64Array(N * C * outH * outW);
  const argmax = new Uint32Array(y.length);
  for (let plane = 0; plane < N * C; plane++) {
    for (let oy = 0; oy < outH; oy++) {
      const [h0, h1] = adaptiveSpanRef(oy, H, outH);
      for (let ox = 0; ox < outW; ox++) {
        const [w0, w1] = adaptiveSpanRef(ox, W, outW);
        let index = (plane * H + h0) * W + w0;
        let max = -Infinity;
        for (let iy = h0; iy < h1; iy++) {
          for (let ix = w0; ix < w1; ix++) {
            const i = (plane * H + iy) * W + ix;
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
