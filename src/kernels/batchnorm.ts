/**
 * BatchNorm2d with PyTorch's semantics: training normalises with the batch mean and biased
 * variance and updates the running statistics with the unbiased one; eval uses the running
 * statistics. Statistics travel between kernels as stats [2, channels] = (mean, 1/√(var + eps)).
 * Kernels: shaders/batchnorm_*.wgsl (batchnorm_dropout_forward: the training forward pass fused
 * with the block's dropout; the backward kernels' DROPOUT variant applies that dropout's gradient
 * first). CPU reference: src/reference/batchnorm.ts (and random.ts for dropout).
 */
import type { GpuContext } from '../gpu/context.js';
import { bindingPresent, defineKernel, withImpliedVariants, type BindingSpec } from '../gpu/kernel.js';
import statsSource from '../../shaders/batchnorm_stats.wgsl?raw';
import evalStatsSource from '../../shaders/batchnorm_eval_stats.wgsl?raw';
import forwardSource from '../../shaders/batchnorm_forward.wgsl?raw';
import backwardReduceSource from '../../shaders/batchnorm_backward_reduce.wgsl?raw';
import backwardInputSource from '../../shaders/batchnorm_backward_input.wgsl?raw';
import dropoutForwardSource from '../../shaders/batchnorm_dropout_forward.wgsl?raw';
import philoxSource from '../../shaders/lib/philox.wgsl?raw';
import maskSource from '../../shaders/lib/dropout_mask.wgsl?raw';
import drawSource from '../../shaders/lib/dropout_draw.wgsl?raw';
import { maskWords } from './dropout.js';
import healthSource from '../../shaders/lib/health.wgsl?raw';
import reluSource from '../../shaders/lib/relu.wgsl?raw';
import momentsSource from '../../shaders/lib/moments.wgsl?raw';
import statisticsSource from '../../shaders/lib/batchnorm_statistics.wgsl?raw';
import workgroupMomentsSource from '../../shaders/lib/workgroup_moments.wgsl?raw';
import statsMergeSource from '../../shaders/batchnorm_stats_merge.wgsl?raw';
import slotMomentsSource from '../../shaders/lib/moments_slots.wgsl?raw';
import sumsMergeSource from '../../shaders/batchnorm_sums_merge.wgsl?raw';
import momentsMergeSource from '../../shaders/batchnorm_moments_merge.wgsl?raw';
import mergeForwardSource from '../../shaders/batchnorm_merge_forward.wgsl?raw';

const shape = { batch: 'u32', channels: 'u32', area: 'u32' } as const;
type Shape = { readonly batch: number; readonly channels: number; readonly area: number };
const elements = (p: Shape) => p.batch * p.channels * p.area;

/**
 * Invocations of the per-channel reductions (one workgroup a channel). 64 rather than 256: on
 * lavapipe every barrier of the tree switches between all of a workgroup's SIMD fibers, and
 * 256 made the statistics of a 16 × 6 × 6 layer at batch 128 take 2.6 ms against 0.9.
 */
const REDUCE_WORKGROUP = 64;

/**
 * The kernels' variant for a shape: VEC4 (the big tensors read four elements at a time) where
 * the area is a multiple of 4, so no vec4 crosses a channel's plane.
 */
export const batchnormVariant = (p: Shape) => ({ VEC4: p.area % 4 === 0 });

/** What VEC4 needs: whole vec4s in every channel's plane (bind() refuses it otherwise). */
const vec4Requires = { VEC4: (p: Shape) => (p.area % 4 === 0 ? undefined : `area ${p.area} is not a multiple of 4`) };

/**
 * stats = (batch mean, 1/√(biased var + eps)); running statistics updated  (overwrites stats); a
 * running statistic that becomes non-finite is recorded in `health` at meanSlot / varSlot
 * (src/kernels/health.ts)
 */
export const batchnormStats = defineKernel({
  name: 'batchnorm_stats',
  source: statsSource,
  params: { ...shape, eps: 'f32', momentum: 'f32', meanSlot: 'u32', varSlot: 'u32' },
  bindings: {
    x: { type: 'f32', access: 'read', vec4: 'VEC4' },
    stats: { type: 'f32', access: 'read_write' },
    runningMean: { type: 'f32', access: 'read_write' },
    runningVar: { type: 'f32', access: 'read_write' },
    health: { type: 'u32', access: 'read_write' },
  },
  defines: ['VEC4'],
  variantRequires: vec4Requires,
  libraries: [momentsSource, workgroupMomentsSource, statisticsSource, healthSource],
  workgroupSize: [REDUCE_WORKGROUP],
  grid: (p, wg) => [p.channels * wg[0]],
  lengths: (p) => ({ x: elements(p), stats: 2 * p.channels, runningMean: p.channels, runningVar: p.channels, health: Math.max(p.meanSlot, p.varSlot) + 1 }),
});

/**
 * batchnorm_stats from partial moments instead of x: moments [channels, slots, 3] (count, mean,
 * M2 per slot), written by the conv forward's STATS epilogue (fusion rule
 * batchnorm-stats-epilogue)  (overwrites stats; running statistics and health as batchnormStats)
 */
export const batchnormStatsMerge = defineKernel({
  name: 'batchnorm_stats_merge',
  source: statsMergeSource,
  params: { channels: 'u32', slots: 'u32', eps: 'f32', momentum: 'f32', meanSlot: 'u32', varSlot: 'u32' },
  bindings: {
    moments: { type: 'f32', access: 'read' },
    stats: { type: 'f32', access: 'read_write' },
    runningMean: { type: 'f32', access: 'read_write' },
    runningVar: { type: 'f32', access: 'read_write' },
    health: { type: 'u32', access: 'read_write' },
  },
  libraries: [momentsSource, slotMomentsSource, workgroupMomentsSource, statisticsSource, healthSource],
  workgroupSize: [REDUCE_WORKGROUP],
  grid: (p, wg) => [p.channels * wg[0]],
  lengths: (p) => ({ moments: p.channels * p.slots * 3, stats: 2 * p.channels, runningMean: p.channels, runningVar: p.channels, health: Math.max(p.meanSlot, p.varSlot) + 1 }),
});

/**
 * batchnormStatsMerge and then batchnormForward in one dispatch, a workgroup a channel (software
 * adapters): stats and the running statistics as batchnormStatsMerge, y as batchnormForward
 * (variant RELU: with its RELU), bit for bit  (overwrites stats and y). Variant DROPOUT: y and
 * mask as batchnormDropoutForward instead (threshold, scale, seed, stream, step as there; unused
 * without it)  (overwrites mask too). Variant MASK_ONLY (implies DROPOUT): the mask, and affine
 * as batchnormDropoutForward's MASK_ONLY writes it, for the 1×1 conv after the dropout that
 * applies both as it loads x (its NORM_MASK); no x, no y  (overwrites stats, mask and affine).
 */
export const batchnormMergeForward = defineKernel({
  name: 'batchnorm_merge_forward',
  source: mergeForwardSource,
  params: { ...shape, slots: 'u32', eps: 'f32', momentum: 'f32', meanSlot: 'u32', varSlot: 'u32', threshold: 'u32', scale: 'f32', seed: 'u32', stream: 'u32', step: 'u32' },
  bindings: {
    moments: { type: 'f32', access: 'read' },
    stats: { type: 'f32', access: 'read_write' },
    runningMean: { type: 'f32', access: 'read_write' },
    runningVar: { type: 'f32', access: 'read_write' },
    health: { type: 'u32', access: 'read_write' },
    x: { type: 'f32', access: 'read', vec4: 'VEC4', unless: 'MASK_ONLY' },
    gamma: { type: 'f32', access: 'read' },
    beta: { type: 'f32', access: 'read' },
    mask: { type: 'u32', access: 'read_write', only: 'DROPOUT' },
    y: { type: 'f32', access: 'read_write', vec4: 'VEC4', unless: 'MASK_ONLY' },
    affine: { type: 'f32', access: 'read_write', vec4: 'MASK_ONLY', only: 'MASK_ONLY' },
  },
  defines: ['VEC4', 'DROPOUT', 'RELU', 'MASK_ONLY'],
  variantRequires: vec4Requires,
  // The mask is the dropout's: MASK_ONLY draws and stores it.
  variantImplies: { MASK_ONLY: ['DROPOUT'] },
  libraries: [momentsSource, slotMomentsSource, workgroupMomentsSource, statisticsSource, healthSource, philoxSource, drawSource, maskSource, reluSource],
  workgroupSize: [REDUCE_WORKGROUP],
  grid: (p, wg) => [p.channels * wg[0]],
  lengths: (p) => ({
    moments: p.channels * p.slots * 3,
    stats: 2 * p.channels,
    runningMean: p.channels,
    runningVar: p.channels,
    health: Math.max(p.meanSlot, p.varSlot) + 1,
    x: elements(p),
    gamma: p.channels,
    beta: p.channels,
    mask: maskWords(elements(p)),
    y: elements(p),
    affine: 4 * p.channels,
  }),
});

/** Planes of at least this many elements take batchnormMergeForward (batchnormMergeForwardFits says why). */
const MERGE_FORWARD_AREA = 256;

/**
 * Whether a batch norm whose statistics a conv summed takes batchnormMergeForward (one dispatch)
 * rather than batchnormStatsMerge and the forward: on a software adapter (a workgroup a channel
 * keeps a CPU's threads busy; a GPU wants the merge's slot groups and the forward's invocation a
 * word), with planes of MERGE_FORWARD_AREA elements or more, and where the device binds its 9
 * storage buffers (10 with the dropout; WebGPU's default is 8, lavapipe gives 16). Lavapipe, the
 * seed CNN at batch 128, alternated in one process: convblock1 and 2 (planes of 676 and 576)
 * 4.76 / 4.97 ms (min / median) against 5.17 / 5.41 in four dispatches; convblocks 4–7 (planes
 * of 100, 64, 36, 36) 1.60 / 1.74 against 1.55 / 1.58, where the words two planes share are a
 * large part of a plane (their draws are made twice) and the walk's barriers cost more than it does.
 */
export function batchnormMergeForwardFits(p: { readonly area: number }, adapter: { readonly software: boolean }, limits: { readonly maxStorageBuffersPerShaderStage: number }, dropout: boolean, maskOnly = false): boolean {
  const storage = (Object.values(batchnormMergeForward.bindings) as BindingSpec[]).filter((b) => bindingPresent(b, withImpliedVariants(batchnormMergeForward, { DROPOUT: dropout, MASK_ONLY: maskOnly }))).length;
  return adapter.software && p.area >= MERGE_FORWARD_AREA && limits.maxStorageBuffersPerShaderStage >= storage;
}

/**
 * On a GPU, the partial moments of batchnormStatsMerge merged first in groups: merged[c, g] =
 * the moments of channel c's slots g·⌈slots/groups⌉ …  (overwrites merged), for
 * batchnormStatsMerge with slots = groups.
 */
export const batchnormMomentsMerge = defineKernel({
  name: 'batchnorm_moments_merge',
  source: momentsMergeSource,
  params: { channels: 'u32', slots: 'u32', groups: 'u32' },
  bindings: {
    moments: { type: 'f32', access: 'read' },
    merged: { type: 'f32', access: 'read_write' },
  },
  libraries: [momentsSource, workgroupMomentsSource],
  workgroupSize: [REDUCE_WORKGROUP],
  grid: (p, wg) => [p.channels * wg[0], p.groups],
  lengths: (p) => ({ moments: p.channels * p.slots * 3, merged: p.channels * p.groups * 3 }),
});

/**
 * Slot groups for batchnormMomentsMerge on a GPU: about REDUCE_GROUPS_TARGET workgroups in all,
 * each over at least REDUCE_WORKGROUP slots (a slot an invocation). 1 on a CPU adapter (no first
 * merge: batchnormStatsMerge alone, a workgroup a channel).
 */
export function batchnormMergeGroups(p: { readonly slots: number; readonly channels: number }, adapter: { readonly software: boolean }): number {
  return gpuGroups(p.channels, Math.floor(p.slots / REDUCE_WORKGROUP), adapter);
}

/** stats = (running mean, 1/√(running var + eps))  (overwrites stats) */
export const batchnormEvalStats = defineKernel({
  name: 'batchnorm_eval_stats',
  source: evalStatsSource,
  params: { channels: 'u32', eps: 'f32' },
  bindings: {
    runningMean: { type: 'f32', access: 'read' },
    runningVar: { type: 'f32', access: 'read' },
    stats: { type: 'f32', access: 'read_write' },
  },
  workgroupSize: [64],
  grid: (p) => [p.channels],
  lengths: (p) => ({ runningMean: p.channels, runningVar: p.channels, stats: 2 * p.channels }),
});

/** y = (x − mean)·invStd·γ + β  (overwrites y) */
export const batchnormForward = defineKernel({
  name: 'batchnorm_forward',
  source: forwardSource,
  libraries: [reluSource],
  params: shape,
  defines: ['VEC4', 'RELU'],
  variantRequires: vec4Requires,
  bindings: {
    x: { type: 'f32', access: 'read', vec4: 'VEC4' },
    stats: { type: 'f32', access: 'read' },
    gamma: { type: 'f32', access: 'read' },
    beta: { type: 'f32', access: 'read' },
    y: { type: 'f32', access: 'read_write', vec4: 'VEC4' },
  },
  workgroupSize: [64, 1, 1],
  grid: (p) => [Math.ceil(p.area / 4), p.channels, p.batch],
  lengths: (p) => ({ x: elements(p), stats: 2 * p.channels, gamma: p.channels, beta: p.channels, y: elements(p) }),
});

/**
 * n = (x − mean)·invStd·γ + β, then inverted dropout: mask bit = kept, y = n · (kept ? 1/(1 − p) : 0)
 * (overwrites mask and y). The masks are dropout_forward's (same Philox word per element).
 * Variant MASK_ONLY: only the mask, and affine[c] = (mean, invStd·γ, β, scale) per channel for a
 * 1×1 conv after the dropout that computes y as it loads it (conv2d_forward's and
 * conv2d_backward_weight_pointwise's NORM_MASK)  (overwrites mask and affine; no x, no y).
 */
export const batchnormDropoutForward = defineKernel({
  name: 'batchnorm_dropout_forward',
  linear: true,
  source: dropoutForwardSource,
  libraries: [philoxSource, drawSource, maskSource],
  params: { ...shape, threshold: 'u32', scale: 'f32', seed: 'u32', stream: 'u32', step: 'u32' },
  defines: ['VEC4', 'MASK_ONLY'],
  variantRequires: vec4Requires,
  bindings: {
    x: { type: 'f32', access: 'read', vec4: 'VEC4', unless: 'MASK_ONLY' },
    stats: { type: 'f32', access: 'read' },
    gamma: { type: 'f32', access: 'read' },
    beta: { type: 'f32', access: 'read' },
    mask: { type: 'u32', access: 'read_write' },
    y: { type: 'f32', access: 'read_write', vec4: 'VEC4', unless: 'MASK_ONLY' },
    affine: { type: 'f32', access: 'read_write', vec4: 'MASK_ONLY', only: 'MASK_ONLY' },
  },
  workgroupSize: [64],
  // MASK_ONLY: at least an invocation a channel (its affine).
  grid: (p) => [Math.max(maskWords(elements(p)), p.channels)],
  lengths: (p) => ({ x: elements(p), stats: 2 * p.channels, gamma: p.channels, beta: p.channels, mask: maskWords(elements(p)), y: elements(p), affine: 4 * p.channels }),
});

/**
 * dβ = Σ dy, dγ = Σ dy·x̂ per channel  (overwrites dgamma, dbeta). Variant DROPOUT: dy is a
 * following Dropout's output gradient, taken times its mask (bits; 0 or dropoutScale) first.
 * Variant APPLY: also dx, as batchnormBackwardInput writes it (the same bits; reluInput as there),
 * in the same dispatch, a workgroup a channel  (overwrites dx too); with IN_PLACE as well, dx is
 * written over dy (no dx binding; dy is read_write)  (overwrites dy). groups > 1 (not with
 * APPLY): dgamma and dbeta are [channels, groups] partial sums, each over ⌈batch/groups⌉ samples,
 * for batchnormSumsMerge; 1 is the whole sum. Variant SUBGROUP (implies VEC4 and DROPOUT; the
 * device's 'subgroups'): the mask words shared in subgroups of 8, the same bits
 * (batchnormReduceSubgroup says where).
 */
export const batchnormBackwardReduce = defineKernel({
  name: 'batchnorm_backward_reduce',
  source: backwardReduceSource,
  libraries: [maskSource, reluSource],
  params: { ...shape, dropoutScale: 'f32', reluInput: 'u32', groups: 'u32' },
  defines: ['VEC4', 'DROPOUT', 'APPLY', 'IN_PLACE', 'SUBGROUP'],
  variantRequires: vec4Requires,
  variantFeatures: { SUBGROUP: 'subgroups' },
  variantImplies: { SUBGROUP: ['VEC4', 'DROPOUT'] },
  bindings: {
    dy: { type: 'f32', access: 'read', vec4: 'VEC4', writtenIn: 'IN_PLACE' },
    x: { type: 'f32', access: 'read', vec4: 'VEC4' },
    stats: { type: 'f32', access: 'read' },
    dgamma: { type: 'f32', access: 'read_write' },
    dbeta: { type: 'f32', access: 'read_write' },
    mask: { type: 'u32', access: 'read', only: 'DROPOUT' },
    gamma: { type: 'f32', access: 'read', only: 'APPLY' },
    dx: { type: 'f32', access: 'read_write', vec4: 'VEC4', only: 'APPLY', unless: 'IN_PLACE' },
  },
  workgroupSize: [REDUCE_WORKGROUP],
  grid: (p, wg) => [p.channels * wg[0], p.groups],
  lengths: (p) => ({ dy: elements(p), x: elements(p), stats: 2 * p.channels, dgamma: p.channels * p.groups, dbeta: p.channels * p.groups, mask: maskWords(elements(p)), gamma: p.channels, dx: elements(p) }),
});

/**
 * dγ[c] = Σ_g partialGamma[c, g], dβ[c] = Σ_g partialBeta[c, g], g in order  (overwrites dgamma,
 * dbeta): the partial sums of batchnormBackwardReduce with groups > 1 added per channel.
 */
export const batchnormSumsMerge = defineKernel({
  name: 'batchnorm_sums_merge',
  source: sumsMergeSource,
  params: { channels: 'u32', groups: 'u32' },
  bindings: {
    partialGamma: { type: 'f32', access: 'read' },
    partialBeta: { type: 'f32', access: 'read' },
    dgamma: { type: 'f32', access: 'read_write' },
    dbeta: { type: 'f32', access: 'read_write' },
  },
  workgroupSize: [64],
  grid: (p) => [p.channels],
  lengths: (p) => ({ partialGamma: p.channels * p.groups, partialBeta: p.channels * p.groups, dgamma: p.channels, dbeta: p.channels }),
});

/**
 * Sample groups for batchnormBackwardReduce's sums on a GPU: about REDUCE_GROUPS_TARGET
 * workgroups in all (channels × groups), each over at least two samples. A CPU adapter's few
 * threads are kept busy by the channels alone: 1 there.
 */
export function batchnormReduceGroups(p: { readonly batch: number; readonly channels: number }, adapter: { readonly software: boolean }): number {
  return gpuGroups(p.channels, Math.floor(p.batch / 2), adapter);
}

/**
 * Whether batchnormBackwardReduce with the dropout fused in takes its variant SUBGROUP: where the
 * adapter's subgroups are 8 invocations (lavapipe's SIMD vectors; the device has 'subgroups'), the
 * planes are whole vec4s and big enough for the walk that shares the mask words (a plane of a
 * workgroup's quads or more). On lavapipe the seed CNN's convblock1 and convblock2 (batch 128).
 */
export function batchnormReduceSubgroup(p: { readonly area: number }, ctx: GpuContext): boolean {
  return ctx.adapter.subgroupSize === REDUCE_SUBGROUP && ctx.device.features.has('subgroups') && p.area % 4 === 0 && p.area / 4 >= REDUCE_WORKGROUP;
}

/** The subgroup size batchnormBackwardReduce's SUBGROUP is written for. */
const REDUCE_SUBGROUP = 8;

/** Workgroups a GPU's batch-norm reductions aim at (batchnormReduceGroups, batchnormMergeGroups): a few per multiprocessor of a large GPU. */
const REDUCE_GROUPS_TARGET = 512;

/** Groups a channel for about REDUCE_GROUPS_TARGET workgroups, at most `most` (at least 1); 1 on a CPU adapter. */
function gpuGroups(channels: number, most: number, adapter: { readonly software: boolean }): number {
  return adapter.software ? 1 : Math.max(1, Math.min(Math.ceil(REDUCE_GROUPS_TARGET / channels), most));
}

/**
 * dx of training-mode batch norm, from dγ and dβ  (overwrites dx). reluInput = 1: x is a ReLU's
 * output and dx is also zeroed where x ≤ 0, giving the gradient at the ReLU's input. Variant
 * DROPOUT: as batchnormBackwardReduce's.
 */
export const batchnormBackwardInput = defineKernel({
  name: 'batchnorm_backward_input',
  linear: true,
  source: backwardInputSource,
  libraries: [maskSource, reluSource],
  params: { ...shape, reluInput: 'u32', dropoutScale: 'f32' },
  defines: ['VEC4', 'DROPOUT'],
  variantRequires: vec4Requires,
  bindings: {
    dy: { type: 'f32', access: 'read', vec4: 'VEC4' },
    x: { type: 'f32', access: 'read', vec4: 'VEC4' },
    stats: { type: 'f32', access: 'read' },
    gamma: { type: 'f32', access: 'read' },
    dgamma: { type: 'f32', access: 'read' },
    dbeta: { type: 'f32', access: 'read' },
    dx: { type: 'f32', access: 'read_write', vec4: 'VEC4' },
    mask: { type: 'u32', access: 'read', only: 'DROPOUT' },
  },
  workgroupSize: [64],
  grid: (p) => [maskWords(elements(p))],
  lengths: (p) => ({
    dy: elements(p),
    x: elements(p),
    stats: 2 * p.channels,
    gamma: p.channels,
    dgamma: p.channels,
    dbeta: p.channels,
    dx: elements(p),
    mask: maskWords(elements(p)),
  }),
});
