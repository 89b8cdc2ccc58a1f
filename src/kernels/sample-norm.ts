/**
 * Normalisation within each sample — GroupNorm and LayerNorm (PyTorch's): a sample's elements in
 * contiguous segments (a group's channels, or the normalized_shape), each normalised by its own
 * mean and biased variance, then an affine weight and bias per channel (GroupNorm) or per element
 * of the normalized_shape (LayerNorm). Forward (saving each segment's mean and 1/σ), input
 * gradient, affine gradients; every sum in a fixed order.
 * Kernels: shaders/sample_norm_*.wgsl. CPU reference: src/reference/sample-norm.ts.
 */
import { defineKernel } from '../gpu/kernel.js';
import forwardSource from '../../shaders/sample_norm_forward.wgsl?raw';
import backwardInputSource from '../../shaders/sample_norm_backward_input.wgsl?raw';
import backwardAffineSource from '../../shaders/sample_norm_backward_affine.wgsl?raw';

/**
 * batch samples of sampleSize elements, in segments of segmentLength; element i of a sample has
 * affine index ⌊i / affineStride⌋ mod affineCount (sample_norm_forward's comment).
 */
const SAMPLE_NORM_PARAMS = { batch: 'u32', sampleSize: 'u32', segmentLength: 'u32', affineStride: 'u32', affineCount: 'u32', eps: 'f32' } as const;
export type SampleNormParams = { readonly [K in keyof typeof SAMPLE_NORM_PARAMS]: number };

const elements = (p: SampleNormParams) => p.batch * p.sampleSize;
const segments = (p: SampleNormParams) => p.batch * (p.sampleSize / p.segmentLength);

/** y = (x − μ)·rstd·weight + bias over each segment; stats = (μ, rstd) a segment  (overwrites y, stats) */
export const sampleNormForward = defineKernel({
  name: 'sample_norm_forward',
  linear: true,
  source: forwardSource,
  params: SAMPLE_NORM_PARAMS,
  bindings: {
    x: { type: 'f32', access: 'read' },
    weight: { type: 'f32', access: 'read' },
    bias: { type: 'f32', access: 'read' },
    y: { type: 'f32', access: 'read_write' },
    stats: { type: 'f32', access: 'read_write' },
  },
  workgroupSize: [64],
  // One workgroup (WG_X invocations) per segment.
  grid: (p, wg) => [segments(p) * wg[0]!],
  lengths: (p) => ({ x: elements(p), weight: p.affineCount, bias: p.affineCount, y: elements(p), stats: 2 * segments(p) }),
});

/** dx = rstd·(g − mean(g) − x̂·mean(g·x̂)), g = dy·weight, over each segment  (overwrites dx) */
export const sampleNormBackwardInput = defineKernel({
  name: 'sample_norm_backward_input',
  linear: true,
  source: backwardInputSource,
  params: SAMPLE_NORM_PARAMS,
  bindings: {
    x: { type: 'f32', access: 'read' },
    dy: { type: 'f32', access: 'read' },
    weight: { type: 'f32', access: 'read' },
    stats: { type: 'f32', access: 'read' },
    dx: { type: 'f32', access: 'read_write' },
  },
  workgroupSize: [64],
  grid: (p, wg) => [segments(p) * wg[0]!],
  lengths: (p) => ({ x: elements(p), dy: elements(p), weight: p.affineCount, stats: 2 * segments(p), dx: elements(p) }),
});

/** dweight[a] = Σ dy·x̂, dbias[a] = Σ dy over the elements of affine index a  (overwrites dweight, dbias) */
export const sampleNormBackwardAffine = defineKernel({
  name: 'sample_norm_backward_affine',
  linear: true,
  source: backwardAffineSource,
  params: SAMPLE_NORM_PARAMS,
  bindings: {
    x: { type: 'f32', access: 'read' },
    dy: { type: 'f32', access: 'read' },
    stats: { type: 'f32', access: 'read' },
    dweight: { type: 'f32', access: 'read_write' },
    dbias: { type: 'f32', access: 'read_write' },
  },
  workgroupSize: [64],
  // One workgroup (WG_X invocations) per affine index.
  grid: (p, wg) => [p.affineCount * wg[0]!],
  lengths: (p) => ({ x: elements(p), dy: elements(p), stats: 2 * segments(p), dweight: p.affineCount, dbias: p.affineCount }),
});
