/**
 * 2-D convolution (bias-free, NCHW, weight [out, in, kH, kW] as PyTorch): forward, input
 * gradient, weight gradient (split over the output pixels, then reduced in a fixed order).
 * Kernels: shaders/conv2d_forward.wgsl, conv2d_backward_input.wgsl, conv2d_backward_weight.wgsl,
 * conv2d_backward_weight_reduce.wgsl; the first two share shaders/lib/conv_tile.wgsl. CPU reference:
 * src/reference/conv2d.ts.
 */
import { defineKernel } from '../gpu/kernel.js';
import forwardSource from '../../shaders/conv2d_forward.wgsl?raw';
import backwardInputSource from '../../shaders/conv2d_backward_input.wgsl?raw';
import backwardWeightSource from '../../shaders/conv2d_backward_weight.wgsl?raw';
import weightReduceSource from '../../shaders/conv2d_backward_weight_reduce.wgsl?raw';
import tileSource from '../../shaders/lib/conv_tile.wgsl?raw';

/**
 * Forward and input gradient: one invocation accumulates a block of BLOCK_ROWS rows × 4 columns
 * of its output × BLOCK_CHANNELS channels (the grid counts blocks, and channel tiles).
 */
const BLOCK_ROWS = 4;
const BLOCK_CHANNELS = 16;
/** vec4s of weights staged in workgroup memory: WEIGHT_TILE / (BLOCK_CHANNELS / 4) taps at a time. */
const WEIGHT_TILE = 576;
/** The largest kernel supported (12×12); the kernels stage taps in chunks of any kernel size. */
const MAX_KERNEL_AREA = 144;
/** Weight gradient: one invocation accumulates WEIGHT_CHANNELS output channels × WEIGHT_GROUP taps. */
const WEIGHT_CHANNELS = 16;
const WEIGHT_GROUP = 18;

export interface Conv2dShape {
  readonly batch: number;
  readonly inChannels: number;
  readonly height: number;
  readonly width: number;
  readonly outChannels: number;
  readonly kernelH: number;
  readonly kernelW: number;
  readonly stride: number;
  readonly padding: number;
}

const convParams = {
  batch: 'u32',
  inChannels: 'u32',
  height: 'u32',
  width: 'u32',
  outChannels: 'u32',
  kernelH: 'u32',
  kernelW: 'u32',
  stride: 'u32',
  padding: 'u32',
  outHeight: 'u32',
  outWidth: 'u32',
} as const;

type ConvParams = { readonly [K in keyof typeof convParams]: number };

/** The kernels' parameters for a shape: its output size added, the shape checked. */
export function conv2dParams(shape: Conv2dShape): ConvParams {
  const { height, width, kernelH, kernelW, stride, padding } = shape;
  const outHeight = Math.floor((height + 2 * padding - kernelH) / stride) + 1;
  const outWidth = Math.floor((width + 2 * padding - kernelW) / stride) + 1;
  if (!(stride >= 1) || !(kernelH >= 1) || !(kernelW >= 1) || padding < 0) {
    throw new Error(`conv2d: stride ${stride}, kernel ${kernelH}×${kernelW}, padding ${padding}: stride and kernel must be ≥ 1, padding ≥ 0`);
  }
  if (outHeight < 1 || outWidth < 1) {
    throw new Error(`conv2d: a ${kernelH}×${kernelW} kernel with padding ${padding} does not fit a ${height}×${width} input`);
  }
  if (kernelH * kernelW > MAX_KERNEL_AREA) {
    throw new Error(`conv2d: kernel area ${kernelH * kernelW} exceeds ${MAX_KERNEL_AREA} (12×12), the largest supported`);
  }
  return { ...shape, outHeight, outWidth };
}

const inputLength = (p: ConvParams) => p.batch * p.inChannels * p.height * p.width;
const outputLength = (p: ConvParams) => p.batch * p.outChannels * p.outHeight * p.outWidth;
const weightLength = (p: ConvParams) => p.outChannels * p.inChannels * p.kernelH * p.kernelW;

/** y = conv2d(x, weight); variant RELU: y = max(conv2d(x, weight), 0)  (overwrites y) */
export const conv2dForward = defineKernel({
  name: 'conv2d_forward',
  source: forwardSource,
  libraries: [tileSource],
  params: convParams,
  bindings: {
    x: { type: 'f32', access: 'read' },
    weight: { type: 'f32', access: 'read' },
    y: { type: 'f32', access: 'read_write' },
  },
  constants: { ROWS: BLOCK_ROWS, OUT_TILE: BLOCK_CHANNELS, WEIGHT_TILE },
  workgroupSize: [64, 1],
  grid: (p) => [p.batch * Math.ceil(p.outHeight / BLOCK_ROWS) * Math.ceil(p.outWidth / 4), Math.ceil(p.outChannels / BLOCK_CHANNELS)],
  lengths: (p) => ({ x: inputLength(p), weight: weightLength(p), y: outputLength(p) }),
  defines: ['RELU'],
});

/** dx = ∂loss/∂x  (overwrites dx) */
export const conv2dBackwardInput = defineKernel({
  name: 'conv2d_backward_input',
  source: backwardInputSource,
  libraries: [tileSource],
  params: convParams,
  bindings: {
    dy: { type: 'f32', access: 'read' },
    weight: { type: 'f32', access: 'read' },
    dx: { type: 'f32', access: 'read_write' },
  },
  constants: { ROWS: BLOCK_ROWS, IN_TILE: BLOCK_CHANNELS, WEIGHT_TILE },
  workgroupSize: [64, 1],
  grid: (p) => [p.batch * Math.ceil(p.height / BLOCK_ROWS) * Math.ceil(p.width / 4), Math.ceil(p.inChannels / BLOCK_CHANNELS)],
  lengths: (p) => ({ dy: outputLength(p), weight: weightLength(p), dx: inputLength(p) }),
});

const weightParams = { ...convParams, splitPixels: 'u32' } as const;
type WeightParams = { readonly [K in keyof typeof weightParams]: number };

/** Invocations the weight gradient aims for (every split × channel tile × tap group is one). */
const WEIGHT_TASKS = 512;

/** Tap groups × channel tiles of the weight gradient: its invocations per split. */
const weightTasksPerSplit = (p: ConvParams) =>
  Math.ceil((p.inChannels * p.kernelH * p.kernelW) / WEIGHT_GROUP) * Math.ceil(p.outChannels / WEIGHT_CHANNELS);

/**
 * Output pixels each split of the weight gradient sums: whole output rows, about `target` pixels
 * when given, else as many rows as make about WEIGHT_TASKS invocations in all.
 */
export function conv2dSplitPixels(p: ConvParams, target?: number): number {
  const rows = p.batch * p.outHeight;
  const splits = Math.max(1, Math.ceil(WEIGHT_TASKS / weightTasksPerSplit(p)));
  const rowsPerSplit = target === undefined ? Math.ceil(rows / splits) : Math.max(1, Math.floor(target / p.outWidth));
  return Math.min(rowsPerSplit, rows) * p.outWidth;
}

/** Splits of the weight gradient (partial sums to reduce); a split is whole output rows. */
export function conv2dWeightSplits(p: WeightParams): number {
  if (!(p.splitPixels >= p.outWidth) || p.splitPixels % p.outWidth !== 0) {
    throw new Error(`conv2d: splitPixels ${p.splitPixels} must be whole output rows of ${p.outWidth} pixels (see conv2dSplitPixels)`);
  }
  return Math.ceil((p.batch * p.outHeight * p.outWidth) / p.splitPixels);
}

/** partial[s] = the weight gradient summed over split s of the output pixels  (overwrites partial) */
export const conv2dBackwardWeight = defineKernel({
  name: 'conv2d_backward_weight',
  source: backwardWeightSource,
  params: weightParams,
  bindings: {
    x: { type: 'f32', access: 'read' },
    dy: { type: 'f32', access: 'read' },
    partial: { type: 'f32', access: 'read_write' },
  },
  constants: { OUT_TILE: WEIGHT_CHANNELS, GROUP: WEIGHT_GROUP },
  workgroupSize: [64, 1, 1],
  grid: (p) => [conv2dWeightSplits(p) * weightTasksPerSplit(p)],
  lengths: (p) => ({ x: inputLength(p), dy: outputLength(p), partial: conv2dWeightSplits(p) * weightLength(p) }),
});

/** dweight = Σ_s partial[s]  (overwrites dweight) */
export const conv2dBackwardWeightReduce = defineKernel({
  name: 'conv2d_backward_weight_reduce',
  linear: true,
  source: weightReduceSource,
  params: { length: 'u32', splits: 'u32' },
  bindings: {
    partial: { type: 'f32', access: 'read' },
    dweight: { type: 'f32', access: 'read_write' },
  },
  workgroupSize: [64],
  grid: (p) => [p.length],
  lengths: (p) => ({ partial: p.splits * p.length, dweight: p.length }),
});
