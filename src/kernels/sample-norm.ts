/**
 * Normalisation within each sample — GroupNorm and LayerNorm (PyTorch's): a sample's elements in
 * contiguous segments (a group's channels, or the normalized_shape), each normalised by its own
 * mean and biased variance, then an affine weight and bias per channel (GroupNorm) or per element
 * of the normalized_shape (LayerNorm). Forward (saving each segment's mean and 1/σ), input
 * gradient, affine gradients; every sum in a fixed order.
 * Kernels: shaders/sample_norm_*.wgsl (their Params: shaders/lib/sample_norm.wgsl; a segment's
 * invocations and affine indices: shaders/lib/sample_norm_segment.wgsl). CPU reference:
 * src/reference/sample-norm.ts.
 */
import type { GpuContext } from '../gpu/context.js';
import { defineKernel } from '../gpu/kernel.js';
import forwardSource from '../../shaders/sample_norm_forward.wgsl?raw';
import backwardInputSource from '../../shaders/sample_norm_backward_input.wgsl?raw';
import backwardAffineSource from '../../shaders/sample_norm_backward_affine.wgsl?raw';
import paramsSource from '../../shaders/lib/sample_norm.wgsl?raw';
import segmentSource from '../../shaders/lib/sample_norm_segment.wgsl?raw';

/**
 * batch samples of sampleSize elements, in segments of segmentLength; element i of a sample has
 * affine index ⌊i / affineStride⌋ mod affineCount (sample_norm_forward's comment); serial 1: the
 * forward and input gradient take a segment an invocation, else a workgroup; affineMode: how the
 * affine gradients share out their indices (AFFINE_MODE, sampleNormParams).
 */
const SAMPLE_NORM_PARAMS = { batch: 'u32', sampleSize: 'u32', segmentLength: 'u32', affineStride: 'u32', affineCount: 'u32', eps: 'f32', serial: 'u32', affineMode: 'u32' } as const;
export type SampleNormParams = { readonly [K in keyof typeof SAMPLE_NORM_PARAMS]: number };
export type SampleNormGeometry = Omit<SampleNormParams, 'serial' | 'affineMode'>;

/**
 * sample_norm_backward_affine's ways of taking the affine indices (AFFINE_* in
 * shaders/lib/sample_norm.wgsl): a workgroup an index (its 64 lanes take the runs in turn, a tree
 * sums them); across (single-element runs: the same sums and tree, the same bits, with 8 indices a
 * workgroup and the lanes across them); serial (an invocation an index, its runs in order).
 */
export const AFFINE_MODE = { workgroup: 0, serial: 1, across: 2 } as const;
/** The workgroup size AFFINE_MODE.across is written for (8 indices × 8 subtrees of a 64-leaf tree). */
const ACROSS_WORKGROUP = 64;

/**
 * The kernels' parameters for a geometry: a segment an invocation (serial) where segments are
 * short (≤ SERIAL_SEGMENT elements: a workgroup's 64 lanes and its barrier trees would idle) and on
 * a CPU adapter (whose few cores are best fed whole segments); else a workgroup a segment. On
 * lavapipe, batch 128 after a conv to 16 × 26 × 26 (docs/speed-log.md, the twenty-ninth sitting): LayerNorm(26)'s
 * forward took 294 ms a workgroup a segment with a division an element (a helper's measure), 6.8
 * serial; GroupNorm(4)'s 8.2 a workgroup a segment, 5.9 serial (GroupNorm(16): 14.8, 6.1).
 */
export function sampleNormParams(g: SampleNormGeometry, adapter: { readonly software: boolean }): SampleNormParams {
  return {
    ...g,
    serial: adapter.software || g.segmentLength <= SERIAL_SEGMENT ? 1 : 0,
    // Many affine indices of single-element runs (LayerNorm over [16, 26, 26]: 10,816 indices of
    // 128 runs, 23 ms a workgroup an index on lavapipe, 6.5 an invocation); few (LayerNorm(26): 26
    // of 3,328; LayerNorm(64) over [28, 64]: 64 of 3,584) take 8 indices a workgroup, the lanes
    // across them (the same bits; at batch 128 LayerNorm(64) 2.2 ms a workgroup an index, 0.9
    // across; LayerNorm(26) 15 ms, 7). Longer runs (GroupNorm's planes) keep a workgroup an index.
    affineMode: g.affineStride !== 1 ? AFFINE_MODE.workgroup : g.affineCount >= SERIAL_AFFINE ? AFFINE_MODE.serial : AFFINE_MODE.across,
  };
}
/** The fewest affine indices of single-element runs that take an invocation each (sampleNormParams). */
export const SERIAL_AFFINE = 1024;
/** The longest segment a GPU normalises with one invocation (sampleNormParams). */
export const SERIAL_SEGMENT = 256;

/** The subgroup size the SUBGROUP variant is written for (lavapipe's: one invocation a lane of its 8-wide vectors). */
export const SAMPLE_NORM_SUBGROUP = 8;
/** The most vec4s of a segment the SUBGROUP variant holds in registers (HELD_VEC4S in shaders/lib/sample_norm_segment.wgsl). */
const HELD_VEC4S = 16;

/**
 * The forward's and input gradient's variant: VEC4, a segment an invocation (serial), its elements
 * four at a time, where segments are whole vec4s and four neighbours share an affine index or take
 * consecutive ones; SUBGROUP besides (an adapter with subgroups of 8, and a LayerNorm of at most
 * 4·HELD_VEC4S features): the segment held in registers, the weights shared by the subgroup. On
 * lavapipe, LayerNorm(64) over [28, 64] at batch 128, alternated, min ms: forward 1.16 → 0.63,
 * input gradient 0.72 → 0.49 (the same bits).
 */
export function sampleNormVariant(p: SampleNormParams, ctx: GpuContext): { VEC4: boolean; SUBGROUP: boolean } {
  const subgroups = ctx.adapter.subgroupSize === SAMPLE_NORM_SUBGROUP && ctx.device.features.has('subgroups');
  return { VEC4: vec4Problem(p) === undefined, SUBGROUP: subgroups && subgroupProblem(p) === undefined };
}

function vec4Problem(p: SampleNormParams): string | undefined {
  if (p.serial !== 1) return 'it takes a segment an invocation (serial 1)';
  if (p.segmentLength % 4 !== 0) return `segments of ${p.segmentLength} elements are not whole vec4s`;
  if (p.affineStride !== 1 && p.affineStride % 4 !== 0) return `affine runs of ${p.affineStride} elements split a vec4`;
  return undefined;
}

/** SUBGROUP's needs beyond VEC4's: every segment's element j takes affine index j (LayerNorm's), and a segment fits HELD_VEC4S vec4s. */
function subgroupProblem(p: SampleNormParams): string | undefined {
  const vec4 = vec4Problem(p);
  if (vec4 !== undefined) return vec4;
  if (p.affineStride !== 1 || p.affineCount !== p.segmentLength) return `the affine index of an element is not its place in the segment (affine runs of ${p.affineStride}, ${p.affineCount} indices, segments of ${p.segmentLength}): the segments of a subgroup would not share their weights`;
  if (p.segmentLength > 4 * HELD_VEC4S) return `segments of ${p.segmentLength} elements are more than the ${4 * HELD_VEC4S} it holds in registers`;
  return undefined;
}

const elements = (p: SampleNormParams) => p.batch * p.sampleSize;
const segments = (p: SampleNormParams) => p.batch * (p.sampleSize / p.segmentLength);
/** The forward's and input gradient's invocations: a segment each (serial), or a workgroup each. */
const segmentInvocations = (p: SampleNormParams, wg: readonly number[]) => segments(p) * (p.serial ? 1 : wg[0]!);

/** y = (x − μ)·rstd·weight + bias over each segment; stats = (μ, rstd) a segment  (overwrites y, stats) */
export const sampleNormForward = defineKernel({
  name: 'sample_norm_forward',
  linear: true,
  source: forwardSource,
  libraries: [paramsSource, segmentSource],
  params: SAMPLE_NORM_PARAMS,
  bindings: {
    x: { type: 'f32', access: 'read', vec4: 'VEC4' },
    weight: { type: 'f32', access: 'read' },
    bias: { type: 'f32', access: 'read' },
    y: { type: 'f32', access: 'read_write', vec4: 'VEC4' },
    stats: { type: 'f32', access: 'read_write' },
  },
  defines: ['VEC4', 'SUBGROUP'],
  variantRequires: { VEC4: (p) => vec4Problem(p), SUBGROUP: (p) => subgroupProblem(p) },
  variantFeatures: { SUBGROUP: 'subgroups' },
  constants: { HELD_VEC4S },
  workgroupSize: [64],
  grid: (p, wg) => [segmentInvocations(p, wg)],
  lengths: (p) => ({ x: elements(p), weight: p.affineCount, bias: p.affineCount, y: elements(p), stats: 2 * segments(p) }),
});

/** dx = rstd·(g − mean(g) − x̂·mean(g·x̂)), g = dy·weight, over each segment  (overwrites dx) */
export const sampleNormBackwardInput = defineKernel({
  name: 'sample_norm_backward_input',
  linear: true,
  source: backwardInputSource,
  libraries: [paramsSource, segmentSource],
  params: SAMPLE_NORM_PARAMS,
  bindings: {
    x: { type: 'f32', access: 'read', vec4: 'VEC4' },
    dy: { type: 'f32', access: 'read', vec4: 'VEC4' },
    weight: { type: 'f32', access: 'read' },
    stats: { type: 'f32', access: 'read' },
    dx: { type: 'f32', access: 'read_write', vec4: 'VEC4' },
  },
  defines: ['VEC4', 'SUBGROUP'],
  variantRequires: { VEC4: (p) => vec4Problem(p), SUBGROUP: (p) => subgroupProblem(p) },
  variantFeatures: { SUBGROUP: 'subgroups' },
  constants: { HELD_VEC4S },
  workgroupSize: [64],
  grid: (p, wg) => [segmentInvocations(p, wg)],
  lengths: (p) => ({ x: elements(p), dy: elements(p), weight: p.affineCount, stats: 2 * segments(p), dx: elements(p) }),
});

/** dweight[a] = Σ dy·x̂, dbias[a] = Σ dy over the elements of affine index a  (overwrites dweight, dbias) */
export const sampleNormBackwardAffine = defineKernel({
  name: 'sample_norm_backward_affine',
  linear: true,
  source: backwardAffineSource,
  libraries: [paramsSource],
  params: SAMPLE_NORM_PARAMS,
  bindings: {
    x: { type: 'f32', access: 'read' },
    dy: { type: 'f32', access: 'read' },
    stats: { type: 'f32', access: 'read' },
    dweight: { type: 'f32', access: 'read_write' },
    dbias: { type: 'f32', access: 'read_write' },
  },
  workgroupSize: [64],
  // A workgroup (WG_X invocations) per affine index, a workgroup per 8 (across), or an invocation each (serial).
  grid: (p, wg) => {
    if (p.affineMode === AFFINE_MODE.serial) return [p.affineCount];
    if (p.affineMode === AFFINE_MODE.workgroup) return [p.affineCount * wg[0]!];
    if (wg[0] !== ACROSS_WORKGROUP) throw new Error(`kernel sample_norm_backward_affine: affineMode across needs a workgroup of ${ACROSS_WORKGROUP}, got ${wg[0]}`);
    return [Math.ceil(p.affineCount / 8) * wg[0]!];
  },
  lengths: (p) => ({ x: elements(p), dy: elements(p), stats: 2 * segments(p), dweight: p.affineCount, dbias: p.affineCount }),
});
