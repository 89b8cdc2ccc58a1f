/**
 * CPU reference for padding an NCHW tensor's last two dimensions (PyTorch's F.pad, modes
 * 'constant', 'reflect', 'replicate', 'circular'), float64: the forward from the definition of
 * each mode, the backward scattered (each output's gradient added to the input element it read),
 * where the kernel gathers.
 */

export type PadMode = 'constant' | 'reflect' | 'replicate' | 'circular';

/** [planes, height, width] padded by each side's count: [planes, height + top + bottom, width + left + right]. */
export interface Pad2dGeometry {
  readonly planes: number;
  readonly height: number;
  readonly width: number;
  readonly left: number;
  readonly right: number;
  readonly top: number;
  readonly bottom: number;
  readonly mode: PadMode;
  /** The constant mode's value (default 0). */
  readonly value?: number;
}

/**
 * The input position an output position reads along an axis of n elements (k is the output's
 * position less the padding before; −1: none, constant mode outside); `before` and `after` the
 * axis's padding counts (a negative one crops: circular wraps around the kept part, PyTorch's).
 */
function sourceOf(k: number, n: number, mode: PadMode, before: number, after: number): number {
  switch (mode) {
    case 'constant':
      return k >= 0 && k < n ? k : -1;
    case 'reflect':
      return k < 0 ? -k : k >= n ? 2 * (n - 1) - k : k;
    case 'replicate':
      return Math.min(Math.max(k, 0), n - 1);
    case 'circular': {
      const kept = Math.max(-before, 0);
      const m = n - kept - Math.max(-after, 0);
      return kept + ((((k - kept) % m) + m) % m);
    }
  }
}

const outSize = (g: Pad2dGeometry) => ({ outH: g.height + g.top + g.bottom, outW: g.width + g.left + g.right });

export function pad2dForwardRef(x: ArrayLike<number>, g: Pad2dGeometry): Float64Array {
  const { outH, outW } = outSize(g);
  const y = new Float64Array(g.planes * outH * outW);
  for (let p = 0; p < g.planes; p++) {
    for (let oy = 0; oy < outH; oy++) {
      const iy = sourceOf(oy - g.top, g.height, g.mode, g.top, g.bottom);
      for (let ox = 0; ox < outW; ox++) {
        const ix = sourceOf(ox - g.left, g.width, g.mode, g.left, g.right);
        y[(p * outH + oy) * outW + ox] = iy < 0 || ix < 0 ? g.value ?? 0 : x[(p * g.height + iy) * g.width + ix]!;
      }
    }
  }
  return y;
}

export function pad2dBackwardRef(dy: ArrayLike<number>, g: Pad2dGeometry): Float64Array {
  const { outH, outW } = outSize(g);
  const dx = new Float64Array(g.planes * g.height * g.width);
  for (let p = 0; p < g.planes; p++) {
    for (let oy = 0; oy < outH; oy++) {
      const iy = sourceOf(oy - g.top, g.height, g.mode, g.top, g.bottom);
      for (let ox = 0; ox < outW; ox++) {
        const ix = sourceOf(ox - g.left, g.width, g.mode, g.left, g.right);
        if (iy >= 0 && ix >= 0) dx[(p * g.height + iy) * g.width + ix]! += dy[(p * outH + oy) * outW + ox]!;
      }
    }
  }
  return dx;
}
