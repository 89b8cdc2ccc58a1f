/**
 * Padding of an NCHW tensor's last two dimensions (PyTorch's F.pad with mode 'constant', 'reflect',
 * 'replicate' or 'circular'): nn.ZeroPad2d, ConstantPad2d, ReflectionPad2d, ReplicationPad2d,
 * CircularPad2d, and Conv2d's padding_mode (src/layers/padding.ts). Forward and input gradient,
 * one variant per mode (constant: none). Kernels: shaders/pad2d_*.wgsl. CPU reference:
 * src/reference/padding.ts.
 */
import { defineKernel } from '../gpu/kernel.js';
import forwardSource from '../../shaders/pad2d_forward.wgsl?raw';
import backwardSource from '../../shaders/pad2d_backward.wgsl?raw';

/** [planes, height, width] padded to [planes, outH, outW]: `top` rows and `left` columns before (negative: cropped, constant mode only), `value` the constant. */
const PAD2D_PARAMS = { planes: 'u32', height: 'u32', width: 'u32', outH: 'u32', outW: 'u32', top: 'i32', left: 'i32', value: 'f32' } as const;
type Pad2dShape = { readonly planes: number; readonly height: number; readonly width: number; readonly outH: number; readonly outW: number };
const inputs = (p: Pad2dShape) => p.planes * p.height * p.width;
const outputs = (p: Pad2dShape) => p.planes * p.outH * p.outW;

/** The non-constant modes, each a variant of both kernels. */
export const PAD_MODE_DEFINES = { reflect: 'REFLECT', replicate: 'REPLICATE', circular: 'CIRCULAR' } as const;

/** y = x padded (the mode's variant; constant: `value` outside x)  (overwrites y) */
export const pad2dForward = defineKernel({
  name: 'pad2d_forward',
  linear: true,
  source: forwardSource,
  params: PAD2D_PARAMS,
  bindings: {
    x: { type: 'f32', access: 'read' },
    y: { type: 'f32', access: 'read_write' },
  },
  defines: ['REFLECT', 'REPLICATE', 'CIRCULAR'],
  workgroupSize: [64],
  grid: (p) => [outputs(p)],
  lengths: (p) => ({ x: inputs(p), y: outputs(p) }),
});

/** dx = Σ dy over the outputs that read each element of x, gathered in output order  (overwrites dx) */
export const pad2dBackward = defineKernel({
  name: 'pad2d_backward',
  linear: true,
  source: backwardSource,
  params: PAD2D_PARAMS,
  bindings: {
    dy: { type: 'f32', access: 'read' },
    dx: { type: 'f32', access: 'read_write' },
  },
  defines: ['REFLECT', 'REPLICATE', 'CIRCULAR'],
  workgroupSize: [64],
  grid: (p) => [inputs(p)],
  lengths: (p) => ({ dy: outputs(p), dx: inputs(p) }),
});
