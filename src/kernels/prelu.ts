/**
 * PReLU (PyTorch's nn.PReLU: a learnt negative slope per channel, or one for all;
 * src/layers/activations.ts): forward and input gradient by one kernel (the values it scales bound), and
 * the slopes' gradient as partial sums over splits of each channel (reduced in order by the
 * network, as the conv layers' weight gradients). Kernels: shaders/prelu.wgsl,
 * prelu_backward_weight.wgsl. CPU reference: src/reference/activation.ts (preluRef, preluBackwardRef).
 */
import { defineKernel } from '../gpu/kernel.js';
import source from '../../shaders/prelu.wgsl?raw';
import weightSource from '../../shaders/prelu_backward_weight.wgsl?raw';

/** The variant for a shape: VEC4 where no vec4 crosses a channel's plane. */
export const preluVariant = (area: number) => ({ VEC4: area % 4 === 0 });

/**
 * out = x > 0 ? v : weight[c]·v  (overwrites out): the forward with v = x (y), the input gradient
 * with v = dy (dx); VEC4 where the area is a multiple of 4 (preluVariant)
 */
export const prelu = defineKernel({
  name: 'prelu',
  linear: true,
  source,
  params: { count: 'u32', channels: 'u32', area: 'u32' },
  bindings: {
    x: { type: 'f32', access: 'read', vec4: 'VEC4' },
    weight: { type: 'f32', access: 'read' },
    v: { type: 'f32', access: 'read', vec4: 'VEC4' },
    out: { type: 'f32', access: 'read_write', vec4: 'VEC4' },
  },
  defines: ['VEC4'],
  variantRequires: { VEC4: (p) => (p.area % 4 === 0 ? undefined : `area ${p.area} is not a multiple of 4`) },
  workgroupSize: [64],
  grid: (p) => [Math.ceil(p.count / 4)],
  lengths: (p) => ({ x: p.count, weight: p.channels, v: p.count, out: p.count }),
});

/**
 * The splits of a PReLU weight gradient's sums for `elements` = batch·area a channel: about 16,384
 * elements a split (a workgroup), at most 64 and at most `cap` (the network's partial-sum room).
 */
export const preluSplits = (elements: number, cap = Infinity) => Math.max(1, Math.min(64, cap, Math.ceil(elements / 16384)));

/** partial[s, c] = Σ over split s of channel c's batch·area elements of (x ≤ 0 ? x·dy : 0)  (overwrites partial; reduced over s into dweight by conv2d_backward_weight_reduce) */
export const preluBackwardWeight = defineKernel({
  name: 'prelu_backward_weight',
  source: weightSource,
  params: { batch: 'u32', channels: 'u32', area: 'u32', splits: 'u32' },
  bindings: {
    x: { type: 'f32', access: 'read' },
    dy: { type: 'f32', access: 'read' },
    partial: { type: 'f32', access: 'read_write' },
  },
  workgroupSize: [64],
  // A workgroup a (split, channel); at most 65,535 channels a dispatch (the per-dimension limit): past it each takes several.
  grid: (p, wg) => [p.splits * wg[0], Math.min(p.channels, 65535)],
  lengths: (p) => ({ x: p.batch * p.channels * p.area, dy: p.batch * p.channels * p.area, partial: p.splits * p.channels }),
});
