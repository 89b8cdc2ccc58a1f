/**
 * Upsampling of an NCHW tensor's last two dimensions (PyTorch's nn.Upsample / F.interpolate: modes
 * 'nearest', 'nearest-exact', 'bilinear' with align_corners either way; src/layers/upsample.ts):
 * forward and input gradient, a variant per mode, the taps of shaders/lib/upsample_taps.wgsl in
 * both. Kernels: shaders/upsample2d_*.wgsl. CPU reference: src/reference/upsample.ts.
 */
import { defineKernel } from '../gpu/kernel.js';
import forwardSource from '../../shaders/upsample2d_forward.wgsl?raw';
import backwardSource from '../../shaders/upsample2d_backward.wgsl?raw';
import tapsSource from '../../shaders/lib/upsample_taps.wgsl?raw';
import type { UpsampleMode } from '../reference/upsample.js';

/** [planes, height, width] to [planes, outH, outW]; `scaleH`, `scaleW` each axis's source scale as PyTorch's float32 kernels hold it (upsampleScale). */
const UPSAMPLE2D_PARAMS = { planes: 'u32', height: 'u32', width: 'u32', outH: 'u32', outW: 'u32', scaleH: 'f32', scaleW: 'f32' } as const;
type Upsample2dShape = { readonly planes: number; readonly height: number; readonly width: number; readonly outH: number; readonly outW: number };
const inputs = (p: Upsample2dShape) => p.planes * p.height * p.width;
const outputs = (p: Upsample2dShape) => p.planes * p.outH * p.outW;

/** The variant of a mode (bilinear: the default, ALIGN_CORNERS with align_corners). */
export const upsampleVariant = (mode: UpsampleMode, alignCorners: boolean) => ({ NEAREST: mode === 'nearest', NEAREST_EXACT: mode === 'nearest-exact', ALIGN_CORNERS: mode === 'bilinear' && alignCorners });

/** y = x upsampled (each output from its taps)  (overwrites y) */
export const upsample2dForward = defineKernel({
  name: 'upsample2d_forward',
  linear: true,
  source: forwardSource,
  libraries: [tapsSource],
  params: UPSAMPLE2D_PARAMS,
  bindings: {
    x: { type: 'f32', access: 'read' },
    y: { type: 'f32', access: 'read_write' },
  },
  defines: ['NEAREST', 'NEAREST_EXACT', 'ALIGN_CORNERS'],
  workgroupSize: [64],
  grid: (p) => [outputs(p)],
  lengths: (p) => ({ x: inputs(p), y: outputs(p) }),
});

/** dx = Σ over the outputs tapping each element of their weight · dy, gathered in output order  (overwrites dx) */
export const upsample2dBackward = defineKernel({
  name: 'upsample2d_backward',
  linear: true,
  source: backwardSource,
  libraries: [tapsSource],
  params: UPSAMPLE2D_PARAMS,
  bindings: {
    dy: { type: 'f32', access: 'read' },
    dx: { type: 'f32', access: 'read_write' },
  },
  defines: ['NEAREST', 'NEAREST_EXACT', 'ALIGN_CORNERS'],
  workgroupSize: [64],
  grid: (p) => [inputs(p)],
  lengths: (p) => ({ dy: outputs(p), dx: inputs(p) }),
});
