/**
 * CPU reference for upsampling an NCHW tensor's last two dimensions (PyTorch's nn.Upsample /
 * F.interpolate, modes 'nearest', 'nearest-exact' and 'bilinear' with align_corners either way),
 * written from PyTorch's CPU kernels (UpSample.h: area_pixel_compute_scale,
 * area_pixel_compute_source_index, nearest_neighbor_compute_source_index). The taps' positions and
 * weights are computed in the precision PyTorch's kernel computes them for the tensor's dtype:
 * `float32` as its float32 kernels (and this engine's GPU) do, else float64 — the nearest modes'
 * positions in float32 always, as PyTorch's; the sums are float64.
 * The backward scatters each output's gradient to its taps, where the kernel gathers.
 */

export type UpsampleMode = 'nearest' | 'nearest-exact' | 'bilinear';

export interface Upsample2dGeometry {
  readonly planes: number;
  readonly height: number;
  readonly width: number;
  readonly outH: number;
  readonly outW: number;
  readonly mode: UpsampleMode;
  readonly alignCorners: boolean;
  /** The scale_factor PyTorch's kernel is given (each axis; undefined: none, the sizes' ratio is used). */
  readonly scaleFactor?: readonly [number, number];
  /** Taps computed in float32 (PyTorch's float32 kernels) rather than float64. */
  readonly float32?: boolean;
}

/**
 * PyTorch's area_pixel_compute_scale (and, for the nearest modes, compute_scales_value): the
 * source scale of one axis, in float64 or rounded to float32 as a float32 kernel holds it (the
 * nearest modes' always: PyTorch computes their positions in float in every dtype). Its CPU
 * kernels' special cases as scales: an axis that keeps its size is copied (nearest and bilinear:
 * scale 1), and nearest's exact doubling takes o >> 1 (scale ½), whatever the scale factor.
 */
export function upsampleScale(inSize: number, outSize: number, mode: UpsampleMode, alignCorners: boolean, scaleFactor: number | undefined, float32: boolean): number {
  const round = float32 || mode !== 'bilinear' ? Math.fround : (v: number) => v;
  if (mode === 'bilinear' && alignCorners) return outSize > 1 ? round((inSize - 1) / (outSize - 1)) : 0;
  if (mode !== 'nearest-exact' && outSize === inSize) return 1;
  if (mode === 'nearest' && outSize === 2 * inSize) return 0.5;
  return scaleFactor !== undefined && scaleFactor > 0 ? round(1 / scaleFactor) : round(inSize / outSize);
}

/** An output position's input taps along an axis of n elements and their weights (nearest: one tap, weight 1). */
export function upsampleTaps(o: number, scale: number, n: number, mode: UpsampleMode, alignCorners: boolean, float32: boolean): { i0: number; i1: number; w0: number; w1: number } {
  const r = float32 || mode !== 'bilinear' ? Math.fround : (v: number) => v;
  if (mode === 'nearest' || mode === 'nearest-exact') {
    const i = Math.min(Math.floor(r((mode === 'nearest' ? o : o + 0.5) * scale)), n - 1);
    return { i0: i, i1: i, w0: 1, w1: 0 };
  }
  const s = alignCorners ? r(o * scale) : Math.max(r(r((o + 0.5) * scale) - 0.5), 0);
  const i0 = Math.min(Math.floor(s), n - 1);
  const i1 = i0 < n - 1 ? i0 + 1 : i0;
  const w1 = r(s - i0);
  return { i0, i1, w0: r(1 - w1), w1 };
}

function axes(g: Upsample2dGeometry) {
  const f32 = g.float32 === true;
  const scaleH = upsampleScale(g.height, g.outH, g.mode, g.alignCorners, g.scaleFactor?.[0], f32);
  const scaleW = upsampleScale(g.width, g.outW, g.mode, g.alignCorners, g.scaleFactor?.[1], f32);
  const rows = Array.from({ length: g.outH }, (_, o) => upsampleTaps(o, scaleH, g.height, g.mode, g.alignCorners, f32));
  const columns = Array.from({ length: g.outW }, (_, o) => upsampleTaps(o, scaleW, g.width, g.mode, g.alignCorners, f32));
  return { rows, columns };
}

export function upsample2dForwardRef(x: ArrayLike<number>, g: Upsample2dGeometry): Float64Array {
  const { rows, columns } = axes(g);
  const y = new Float64Array(g.planes * g.outH * g.outW);
  const nearest = g.mode !== 'bilinear';
  for (let p = 0; p < g.planes; p++) {
    const at = (i: number, j: number) => x[(p * g.height + i) * g.width + j]!;
    for (let oy = 0; oy < g.outH; oy++) {
      const ty = rows[oy]!;
      for (let ox = 0; ox < g.outW; ox++) {
        const tx = columns[ox]!;
        y[(p * g.outH + oy) * g.outW + ox] = nearest
          ? at(ty.i0, tx.i0)
          : ty.w0 * (tx.w0 * at(ty.i0, tx.i0) + tx.w1 * at(ty.i0, tx.i1)) + ty.w1 * (tx.w0 * at(ty.i1, tx.i0) + tx.w1 * at(ty.i1, tx.i1));
      }
    }
  }
  return y;
}

export function upsample2dBackwardRef(dy: ArrayLike<number>, g: Upsample2dGeometry): Float64Array {
  const { rows, columns } = axes(g);
  const dx = new Float64Array(g.planes * g.height * g.width);
  for (let p = 0; p < g.planes; p++) {
    const add = (i: number, j: number, v: number) => (dx[(p * g.height + i) * g.width + j]! += v);
    for (let oy = 0; oy < g.outH; oy++) {
      const ty = rows[oy]!;
      for (let ox = 0; ox < g.outW; ox++) {
        const tx = columns[ox]!;
        const d = dy[(p * g.outH + oy) * g.outW + ox]!;
        if (g.mode !== 'bilinear') {
          add(ty.i0, tx.i0, d);
          continue;
        }
        add(ty.i0, tx.i0, ty.w0 * tx.w0 * d);
        add(ty.i0, tx.i1, ty.w0 * tx.w1 * d);
        add(ty.i1, tx.i0, ty.w1 * tx.w0 * d);
        add(ty.i1, tx.i1, ty.w1 * tx.w1 * d);
      }
    }
  }
  return dx;
}
