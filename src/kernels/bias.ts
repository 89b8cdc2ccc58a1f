/**
 * A bias's add in place (variant RELU: the ReLU that follows) and its gradient, Σ dy per channel,
 * which the layers no longer use: their forward kernels add the bias as they store the sums
 * (conv2d_forward's and dense_forward's variant BIAS, the same f32 addition), and their
 * weight-gradient kernels sum the bias's gradient from the dy they load (conv2d_backward_weight's
 * BIAS, dense_backward_weight's ROW_SUMS). They are the tests' unfused path: the forward variants
 * equal bias_add bit for bit, the gradients bias_backward within f32 rounding (another order).
 * Kernels: shaders/bias_add.wgsl, bias_backward.wgsl. CPU reference: src/reference/bias.ts.
 */
import { defineKernel } from '../gpu/kernel.js';
import addSource from '../../shaders/bias_add.wgsl?raw';
import backwardSource from '../../shaders/bias_backward.wgsl?raw';
import reluSource from '../../shaders/lib/relu.wgsl?raw';

const shape = { batch: 'u32', channels: 'u32', area: 'u32' } as const;
type Shape = { readonly batch: number; readonly channels: number; readonly area: number };
const elements = (p: Shape) => p.batch * p.channels * p.area;

/** y[b, c, s] += bias[c]; variant RELU: y = max(y + bias, 0)  (y updated in place) */
export const biasAdd = defineKernel({
  name: 'bias_add',
  linear: true,
  source: addSource,
  libraries: [reluSource],
  params: shape,
  bindings: {
    bias: { type: 'f32', access: 'read' },
    y: { type: 'f32', access: 'read_write', vec4: 'VEC4' },
  },
  workgroupSize: [256],
  grid: (p) => [Math.ceil(elements(p) / 4)],
  lengths: (p) => ({ bias: p.channels, y: elements(p) }),
  defines: ['RELU', 'VEC4'],
  variantRequires: { VEC4: (p) => (p.area % 4 === 0 ? undefined : `area ${p.area} is not a multiple of 4`) },
});

/** bias_add's variant for a shape: VEC4 where no vec4 crosses a channel's plane. */
export const biasAddVariant = (area: number) => ({ VEC4: area % 4 === 0 });

/** dbias[c] = Σ over batch and area of dy  (overwrites dbias) */
export const biasBackward = defineKernel({
  name: 'bias_backward',
  source: backwardSource,
  params: shape,
  bindings: {
    dy: { type: 'f32', access: 'read' },
    dbias: { type: 'f32', access: 'read_write' },
  },
  workgroupSize: [64],
  grid: (p, wg) => [p.channels * wg[0]],
  lengths: (p) => ({ dy: elements(p), dbias: p.channels }),
});
