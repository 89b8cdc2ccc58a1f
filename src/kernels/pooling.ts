/**
 * Pooling: MaxPool2d(2, 2) (floor mode; ties go to the first maximum in row-major window order,
 * NaN propagates) and global average pooling, forward and backward, each its own fast kernel; and
 * max and average pooling of any window (kernel, stride, padding, dilation, ceil mode; an average's
 * count_include_pad and divisor_override), one source for both (variant MAX), which also runs
 * AdaptiveAvgPool2d and AdaptiveMaxPool2d (variant ADAPTIVE: PyTorch's adaptive windows).
 * Kernels: shaders/maxpool2x2_*.wgsl, global_avg_pool_*.wgsl, pool2d_*.wgsl (their Params and
 * windows: shaders/lib/pool2d_window.wgsl). CPU reference: src/reference/pooling.ts.
 */
import { defineKernel } from '../gpu/kernel.js';
import maxForwardSource from '../../shaders/maxpool2x2_forward.wgsl?raw';
import maxBackwardSource from '../../shaders/maxpool2x2_backward.wgsl?raw';
import avgForwardSource from '../../shaders/global_avg_pool_forward.wgsl?raw';
import avgBackwardSource from '../../shaders/global_avg_pool_backward.wgsl?raw';
import poolForwardSource from '../../shaders/pool2d_forward.wgsl?raw';
import poolBackwardSource from '../../shaders/pool2d_backward.wgsl?raw';
import windowSource from '../../shaders/lib/pool2d_window.wgsl?raw';
import reluSource from '../../shaders/lib/relu.wgsl?raw';

type PoolShape = { readonly planes: number; readonly height: number; readonly width: number };
const pooled = (p: PoolShape) => p.planes * Math.floor(p.height / 2) * Math.floor(p.width / 2);

/**
 * The max-pool variant a layer binds: VEC4 (four windows of a row an invocation) where the shape
 * allows it, else VEC2 (pairs of windows of a row: the small ResNet's 28 × 28 planes).
 */
export const maxpoolVariant = (p: PoolShape) => {
  const VEC4 = maxpoolVec4Problem(p) === undefined;
  return { VEC4, VEC2: !VEC4 && maxpoolVec2Problem(p) === undefined };
};

/** Why VEC4 cannot pool a shape: every row's windows in whole vec4s (width a multiple of 8), and no odd last row. */
function maxpoolVec4Problem(p: PoolShape): string | undefined {
  if (p.width % 8 !== 0) return `width ${p.width} is not a multiple of 8`;
  return p.height % 2 === 0 ? undefined : `height ${p.height} is odd`;
}

/** Why VEC2 cannot pool a shape: every row's windows in whole pairs (width a multiple of 4), and no odd last row. */
function maxpoolVec2Problem(p: PoolShape): string | undefined {
  if (p.width % 4 !== 0) return `width ${p.width} is not a multiple of 4`;
  return p.height % 2 === 0 ? undefined : `height ${p.height} is odd`;
}

/** y = max over each 2×2 window, argmax = where it came from  (overwrites y, argmax) */
export const maxpool2x2Forward = defineKernel({
  name: 'maxpool2x2_forward',
  linear: true,
  source: maxForwardSource,
  params: { planes: 'u32', height: 'u32', width: 'u32' },
  bindings: {
    x: { type: 'f32', access: 'read', vec4: 'VEC4', vec2: 'VEC2' },
    y: { type: 'f32', access: 'read_write', vec4: 'VEC4', vec2: 'VEC2' },
    argmax: { type: 'u32', access: 'read_write', vec4: 'VEC4', vec2: 'VEC2' },
  },
  defines: ['VEC4', 'VEC2'],
  variantRequires: { VEC4: maxpoolVec4Problem, VEC2: maxpoolVec2Problem },
  workgroupSize: [64],
  // One invocation per four outputs (VEC4: four of a row; VEC2: two pairs of a row's; otherwise
  // four consecutive ones).
  grid: (p) => [Math.ceil(pooled(p) / 4)],
  lengths: (p) => ({ x: p.planes * p.height * p.width, y: pooled(p), argmax: pooled(p) }),
});

/**
 * dx = dy at each window's argmax, 0 elsewhere  (overwrites dx); variant RELU (a ReLU before the
 * pool, fusion rule relu-grad-in-maxpool): dy passed only where the pooled value y > 0, so dx is
 * the ReLU's input gradient
 */
export const maxpool2x2Backward = defineKernel({
  name: 'maxpool2x2_backward',
  linear: true,
  source: maxBackwardSource,
  libraries: [reluSource],
  params: { planes: 'u32', height: 'u32', width: 'u32' },
  bindings: {
    dy: { type: 'f32', access: 'read', vec4: 'VEC4', vec2: 'VEC2' },
    argmax: { type: 'u32', access: 'read', vec4: 'VEC4', vec2: 'VEC2' },
    dx: { type: 'f32', access: 'read_write', vec4: 'VEC4', vec2: 'VEC2' },
    y: { type: 'f32', access: 'read', vec4: 'VEC4', vec2: 'VEC2', only: 'RELU' },
  },
  defines: ['VEC4', 'VEC2', 'RELU'],
  variantRequires: { VEC4: maxpoolVec4Problem, VEC2: maxpoolVec2Problem },
  workgroupSize: [256],
  // One invocation per four cells of 2×2 input elements (a window, or the edge past the last
  // one; VEC4: four windows of a row; VEC2: two pairs of a row's).
  grid: (p) => [Math.ceil((p.planes * Math.ceil(p.height / 2) * Math.ceil(p.width / 2)) / 4)],
  lengths: (p) => ({ dy: pooled(p), argmax: pooled(p), dx: p.planes * p.height * p.width, y: pooled(p) }),
});

/** y[p] = mean of plane p  (overwrites y) */
export const globalAvgPoolForward = defineKernel({
  name: 'global_avg_pool_forward',
  linear: true,
  source: avgForwardSource,
  params: { planes: 'u32', area: 'u32' },
  bindings: {
    x: { type: 'f32', access: 'read' },
    y: { type: 'f32', access: 'read_write' },
  },
  workgroupSize: [64],
  grid: (p) => [p.planes],
  lengths: (p) => ({ x: p.planes * p.area, y: p.planes }),
});

/** dx[p, s] = dy[p] / area  (overwrites dx) */
/**
 * The elements of dx an invocation of global_avg_pool_backward writes on an adapter: a plane on a
 * CPU adapter (no per-element integer division: 0.35 → about 0.1 ms for the seed CNN on
 * lavapipe), one on a GPU.
 */
export const globalAvgPoolSpread = (adapter: { readonly software: boolean }, area: number): number => (adapter.software ? area : 1);

export const globalAvgPoolBackward = defineKernel({
  name: 'global_avg_pool_backward',
  linear: true,
  source: avgBackwardSource,
  params: { planes: 'u32', area: 'u32', spread: 'u32' },
  bindings: {
    dy: { type: 'f32', access: 'read' },
    dx: { type: 'f32', access: 'read_write' },
  },
  workgroupSize: [256],
  grid: (p) => {
    if (p.spread !== 1 && p.spread !== p.area) throw new Error(`global_avg_pool_backward: spread ${p.spread}, expected 1 or the area (${p.area})`);
    return [Math.ceil((p.planes * p.area) / p.spread)];
  },
  lengths: (p) => ({ dy: p.planes, dx: p.planes * p.area }),
});

/** A window over [planes, height, width] giving [planes, outH, outW] (pool2d_forward's comment). */
const POOL2D_PARAMS = {
  planes: 'u32', height: 'u32', width: 'u32', outH: 'u32', outW: 'u32',
  kernelH: 'u32', kernelW: 'u32', strideH: 'u32', strideW: 'u32', padH: 'u32', padW: 'u32', dilationH: 'u32', dilationW: 'u32',
  divisorOverride: 'u32', countIncludePad: 'u32',
} as const;
type Pool2dShape = { readonly planes: number; readonly height: number; readonly width: number; readonly outH: number; readonly outW: number };
const inputs = (p: Pool2dShape) => p.planes * p.height * p.width;
const outputs = (p: Pool2dShape) => p.planes * p.outH * p.outW;

/** y = the window's max (MAX, with argmax: flat index into x) or average, any window  (overwrites y, argmax) */
export const pool2dForward = defineKernel({
  name: 'pool2d_forward',
  linear: true,
  source: poolForwardSource,
  libraries: [windowSource],
  params: POOL2D_PARAMS,
  bindings: {
    x: { type: 'f32', access: 'read' },
    y: { type: 'f32', access: 'read_write' },
    argmax: { type: 'u32', access: 'read_write', only: 'MAX' },
  },
  defines: ['MAX', 'ADAPTIVE'],
  workgroupSize: [64],
  grid: (p) => [outputs(p)],
  lengths: (p) => ({ x: inputs(p), y: outputs(p), argmax: outputs(p) }),
});

/** dx = Σ over the windows holding each element of dy (MAX: where argmax is it; else dy / divisor), gathered  (overwrites dx) */
export const pool2dBackward = defineKernel({
  name: 'pool2d_backward',
  linear: true,
  source: poolBackwardSource,
  libraries: [windowSource],
  params: POOL2D_PARAMS,
  bindings: {
    dy: { type: 'f32', access: 'read' },
    dx: { type: 'f32', access: 'read_write' },
    argmax: { type: 'u32', access: 'read', only: 'MAX' },
  },
  defines: ['MAX', 'ADAPTIVE'],
  workgroupSize: [64],
  grid: (p) => [inputs(p)],
  lengths: (p) => ({ dy: outputs(p), dx: inputs(p), argmax: outputs(p) }),
});
