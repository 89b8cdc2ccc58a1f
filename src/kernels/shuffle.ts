/**
 * Element permutations of [C, H, W] samples (PyTorch's nn.PixelShuffle, PixelUnshuffle and
 * ChannelShuffle; src/layers/shuffle.ts): one gathering kernel, a variant per permutation; each
 * one's gradient is its inverse, the same kernel. Kernel: shaders/shuffle.wgsl. CPU reference:
 * src/reference/shuffle.ts.
 */
import { defineKernel } from '../gpu/kernel.js';
import source from '../../shaders/shuffle.wgsl?raw';

/** y = x permuted: PixelShuffle (default), PIXEL_UNSHUFFLE or CHANNEL_SHUFFLE; `outChannels`, `outH`, `outW` the output's sample shape, `factor` r or groups  (overwrites y) */
export const shuffle = defineKernel({
  name: 'shuffle',
  linear: true,
  source,
  params: { count: 'u32', outChannels: 'u32', outH: 'u32', outW: 'u32', factor: 'u32' },
  bindings: {
    x: { type: 'f32', access: 'read' },
    y: { type: 'f32', access: 'read_write' },
  },
  defines: ['PIXEL_UNSHUFFLE', 'CHANNEL_SHUFFLE'],
  workgroupSize: [64],
  grid: (p) => [p.count],
  lengths: (p) => ({ x: p.count, y: p.count }),
});
