/**
 * Inverted dropout with masks from the counter-based Philox generator (shaders/lib/philox.wgsl),
 * so a run is reproducible from its seed and a mask never has to come from the CPU. A mask is kept
 * as bits, one per element (shaders/lib/dropout_mask.wgsl).
 * Kernels: shaders/dropout_forward.wgsl, dropout_backward.wgsl. CPU reference: src/reference/random.ts.
 */
import { defineKernel } from '../gpu/kernel.js';
import { dropoutScale, dropoutThreshold } from '../reference/random.js';
import forwardSource from '../../shaders/dropout_forward.wgsl?raw';
import backwardSource from '../../shaders/dropout_backward.wgsl?raw';
import philoxSource from '../../shaders/lib/philox.wgsl?raw';
import maskSource from '../../shaders/lib/dropout_mask.wgsl?raw';
import drawSource from '../../shaders/lib/dropout_draw.wgsl?raw';

/**
 * The dropout kernel's parameters for drop probability p: threshold ⌊p·2³²⌋ and scale 1/(1 − p);
 * p = 1 zeroes every element, as PyTorch's (scale 0: the rare draw at the threshold is kept × 0).
 */
export function dropoutParams(p: number): { threshold: number; scale: number } {
  if (!(p >= 0 && p <= 1)) throw new Error(`dropout: probability ${p} must be in [0, 1]`);
  return { threshold: dropoutThreshold(p), scale: dropoutScale(p) };
}

/** Words of a dropout mask of `length` elements: one bit per element (shaders/lib/dropout_mask.wgsl). */
export const maskWords = (length: number) => Math.ceil(length / 32);

/**
 * The mask values (scale = 1/(1 − p) where kept, 0 where dropped) of the first `length` elements
 * of mask bits read back from the GPU: what the f32 mask of dropoutMaskRef holds, in f32.
 */
export function maskFromBits(bits: ArrayLike<number>, length: number, p: number): Float32Array {
  if (bits.length < maskWords(length)) throw new RangeError(`dropout mask: ${bits.length} words hold fewer than ${length} elements`);
  const { scale } = dropoutParams(p);
  return Float32Array.from({ length }, (_, i) => ((bits[i >>> 5]! >>> (i & 31)) & 1 ? scale : 0));
}

/** kept = word ≥ threshold: mask bit = kept, y = x · (kept ? 1/(1 − p) : 0)  (overwrites mask and y) */
export const dropoutForward = defineKernel({
  name: 'dropout_forward',
  linear: true,
  source: forwardSource,
  libraries: [philoxSource, drawSource, maskSource],
  // area: elements a channel (variant CHANNELS, Dropout2d; 1 otherwise, unread).
  params: { length: 'u32', threshold: 'u32', scale: 'f32', seed: 'u32', stream: 'u32', step: 'u32', area: 'u32' },
  bindings: {
    x: { type: 'f32', access: 'read' },
    mask: { type: 'u32', access: 'read_write' },
    y: { type: 'f32', access: 'read_write' },
  },
  defines: ['CHANNELS'],
  workgroupSize: [64],
  grid: (p) => [maskWords(p.length)],
  lengths: (p) => ({ x: p.length, mask: maskWords(p.length), y: p.length }),
});

/** dx = dy · (mask bit ? scale : 0)  (overwrites dx) */
export const dropoutBackward = defineKernel({
  name: 'dropout_backward',
  linear: true,
  source: backwardSource,
  libraries: [maskSource],
  params: { length: 'u32', scale: 'f32' },
  defines: ['VEC4'],
  bindings: {
    dy: { type: 'f32', access: 'read', vec4: 'VEC4' },
    mask: { type: 'u32', access: 'read' },
    dx: { type: 'f32', access: 'read_write', vec4: 'VEC4' },
  },
  workgroupSize: [256],
  grid: (p) => [Math.ceil(p.length / 4)],
  lengths: (p) => ({ dy: p.length, mask: maskWords(p.length), dx: p.length }),
});
