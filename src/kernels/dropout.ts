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

/** SELU's α·λ as PyTorch's alpha dropout takes it (α' = −1.7580993408473766: a dropped unit's SELU value at −∞). */
const SELU_ALPHA_PRIME = -1.7580993408473766;

/**
 * The ALPHA dropout kernel's parameters for drop probability p (PyTorch's AlphaDropout): kept
 * y = a·x + b, dropped y = a·α' + b, with a = ((1 − p)(1 + p·α'²))^−½ and b = −a·α'·p, so that a
 * SELU network's zero mean and unit variance survive; the backward multiplies by a. p = 1 zeroes
 * every element and its gradient, as PyTorch's (a would be infinite).
 */
export function alphaDropoutParams(p: number): { threshold: number; scale: number; shift: number; dropped: number } {
  const { threshold } = dropoutParams(p);
  if (p === 1) return { threshold, scale: 0, shift: 0, dropped: 0 };
  const a = 1 / Math.sqrt((1 - p) * (1 + p * SELU_ALPHA_PRIME ** 2));
  const b = -a * SELU_ALPHA_PRIME * p;
  return { threshold, scale: a, shift: b, dropped: a * SELU_ALPHA_PRIME + b };
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

/** kept = word ≥ threshold: mask bit = kept, y = x · (kept ? 1/(1 − p) : 0); ALPHA: y = kept ? scale·x + shift : dropped  (overwrites mask and y) */
export const dropoutForward = defineKernel({
  name: 'dropout_forward',
  linear: true,
  source: forwardSource,
  libraries: [philoxSource, drawSource, maskSource],
  // area: elements a channel (variant CHANNELS, Dropout2d; 1 otherwise, unread); shift, dropped: variant ALPHA's (0 otherwise, unread).
  params: { length: 'u32', threshold: 'u32', scale: 'f32', seed: 'u32', stream: 'u32', step: 'u32', area: 'u32', shift: 'f32', dropped: 'f32' },
  bindings: {
    x: { type: 'f32', access: 'read', vec4: 'VEC4' },
    mask: { type: 'u32', access: 'read_write' },
    y: { type: 'f32', access: 'read_write', vec4: 'VEC4' },
  },
  defines: ['CHANNELS', 'ALPHA', 'VEC4'],
  // VEC4 with CHANNELS is not a variant (CHANNELS reads x an element at a time): dropoutForwardVariant never asks for both.
  variantRequires: { VEC4: (p) => (p.length % 4 !== 0 ? `${p.length} elements are not whole vec4s` : p.area !== 1 ? `draws a channel of ${p.area} elements (CHANNELS) read x an element at a time` : undefined) },
  workgroupSize: [64],
  grid: (p) => [maskWords(p.length)],
  lengths: (p) => ({ x: p.length, mask: maskWords(p.length), y: p.length }),
});

/**
 * dropout_forward's variant for `length` elements: CHANNELS (Dropout2d's draws a channel) and
 * ALPHA as asked; VEC4 where the draws are an element's own and the length is whole vec4s (on
 * lavapipe, 458,752 elements, alternated, min ms 0.77 -> 0.65; the same bits).
 */
export function dropoutForwardVariant(length: number, options: { channels?: boolean; alpha?: boolean } = {}): { CHANNELS: boolean; ALPHA: boolean; VEC4: boolean } {
  const channels = options.channels ?? false;
  return { CHANNELS: channels, ALPHA: options.alpha ?? false, VEC4: !channels && length % 4 === 0 };
}

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
