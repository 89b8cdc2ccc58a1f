/**
 * 2-D convolution of any geometry (PyTorch's Conv2d with groups, dilation, a stride and padding of
 * their own in each direction, padding='same'): forward (variant BIAS adds the bias), input
 * gradient, weight gradient — direct kernels, an invocation per four output or input columns
 * of a row and block of up to 4 channels, a workgroup per weight block, each sum in a fixed order. The tiled, tuned kernels of
 * src/kernels/conv2d.ts run every conv of groups 1, dilation 1 and one stride and padding for
 * both directions (Conv2d.tiled); these run the others, unfused and untuned. Variants, each with the
 * plain path's bits: DEPTHWISE (a depthwise conv of at most 3×3: DEPTHWISE_ROWS rows an invocation,
 * its taps in registers), SUBGROUP (subgroups of 8, blocks of 4 channels: the weights shared by
 * subgroupBroadcast), and the weight gradient's TAPS. A bias's gradient is bias_backward's
 * (src/kernels/bias.ts).
 * Kernels: shaders/conv2d_general_*.wgsl (their Params: shaders/lib/conv2d_general.wgsl). CPU reference:
 * src/reference/conv2d.ts.
 */
import type { GpuContext } from '../gpu/context.js';
import { defineKernel } from '../gpu/kernel.js';
import forwardSource from '../../shaders/conv2d_general_forward.wgsl?raw';
import backwardInputSource from '../../shaders/conv2d_general_backward_input.wgsl?raw';
import backwardWeightSource from '../../shaders/conv2d_general_backward_weight.wgsl?raw';
import generalSource from '../../shaders/lib/conv2d_general.wgsl?raw';
import blockSource from '../../shaders/lib/conv2d_general_block.wgsl?raw';

/**
 * A conv's geometry (src/reference/conv2d.ts's Conv2dGeometry, its output size included), and the
 * channels an invocation takes: outBlock output channels (the forward), inBlock input channels
 * (the gradients), 4 where a group has at least 4, else 1 (conv2dGeneralParams).
 */
const GENERAL_PARAMS = {
  batch: 'u32', inChannels: 'u32', height: 'u32', width: 'u32', outChannels: 'u32', outHeight: 'u32', outWidth: 'u32',
  kernelH: 'u32', kernelW: 'u32', strideH: 'u32', strideW: 'u32', padTop: 'u32', padLeft: 'u32', dilationH: 'u32', dilationW: 'u32', groups: 'u32',
  outBlock: 'u32', inBlock: 'u32', tapSplits: 'u32', rows: 'u32', planeAlign: 'u32',
} as const;
export type Conv2dGeneralParams = { readonly [K in keyof typeof GENERAL_PARAMS]: number };
export type Conv2dGeneralGeometry = Omit<Conv2dGeneralParams, 'outBlock' | 'inBlock' | 'tapSplits' | 'rows' | 'planeAlign'>;

/** The rows an invocation of the DEPTHWISE variants takes (the forward's output rows, the input gradient's input rows). */
export const DEPTHWISE_ROWS = 4;
/** The subgroup size the forward's SUBGROUP variant is written for (lavapipe's: one invocation a lane of its 8-wide vectors). */
export const SUBGROUP_LANES = 8;

/** Whether a geometry is the DEPTHWISE variants' (groups = inChannels = outChannels, a kernel of at most 3×3), or why not. */
const depthwiseProblem = (p: Conv2dGeneralGeometry): string | undefined =>
  !(p.groups === p.inChannels && p.groups === p.outChannels && p.kernelH <= 3 && p.kernelW <= 3)
    ? `DEPTHWISE takes groups = inChannels = outChannels and a kernel of at most 3×3, got ${p.inChannels} → ${p.outChannels} in ${p.groups} groups, ${p.kernelH}×${p.kernelW}`
    : p.width + p.padLeft + 2 * p.dilationW + p.strideW >= 2 ** 23
      ? `DEPTHWISE divides its columns by floats (exact below 2^23), got width ${p.width}, padLeft ${p.padLeft}, dilationW ${p.dilationW}, strideW ${p.strideW}`
      : undefined;

/**
 * The kernels' parameters for a geometry: blocks of 4 channels where a group has 4 or more (each
 * load serves four sums), the weight gradient's workgroups a weight block: one for every tap
 * of a kernel of at most 3×3 (its TAPS variant, conv2dGeneralWeightVariant), else one a tap; and
 * DEPTHWISE_ROWS rows an invocation of the forward and input gradient for a depthwise conv of at
 * most 3×3 (their DEPTHWISE variants, conv2dGeneralRowsVariant), else one; the forward's
 * invocations a block of 4 output channels in whole subgroups of 8 (planeAlign: its SUBGROUP
 * variant's, conv2dGeneralForwardVariant).
 */
export function conv2dGeneralParams(g: Conv2dGeneralGeometry): Conv2dGeneralParams {
  const block = (channels: number) => (channels / g.groups >= 4 ? 4 : 1);
  return {
    ...g, outBlock: block(g.outChannels), inBlock: block(g.inChannels), tapSplits: g.kernelH <= 3 && g.kernelW <= 3 ? 1 : g.kernelH * g.kernelW,
    rows: depthwiseProblem(g) === undefined ? DEPTHWISE_ROWS : 1,
    planeAlign: block(g.outChannels) === 4 || block(g.inChannels) === 4 ? SUBGROUP_LANES : 1,
  };
}

/** The weight gradient's variant for its parameters: TAPS where a workgroup takes every tap (tapSplits 1). */
export const conv2dGeneralWeightVariant = (p: Conv2dGeneralParams) => ({ TAPS: p.tapSplits === 1 });

/** The forward's and input gradient's variant for their parameters: DEPTHWISE where an invocation takes DEPTHWISE_ROWS rows (the host chose it for the geometry). */
export const conv2dGeneralRowsVariant = (p: Conv2dGeneralParams) => ({ DEPTHWISE: p.rows === DEPTHWISE_ROWS && depthwiseProblem(p) === undefined });

/** What the DEPTHWISE variants need of their parameters. */
const depthwiseRequires = (p: Conv2dGeneralParams): string | undefined =>
  depthwiseProblem(p) ??
  (p.rows !== DEPTHWISE_ROWS ? `DEPTHWISE takes ${DEPTHWISE_ROWS} rows an invocation, got rows ${p.rows}` : p.planeAlign !== 1 ? `DEPTHWISE takes planeAlign 1, got ${p.planeAlign}` : undefined);

/** What the forward's SUBGROUP variant needs of its parameters: blocks of 4 output channels, a row an invocation, slots in whole subgroups. */
const subgroupRequires = (p: Conv2dGeneralParams): string | undefined =>
  p.outBlock === 4 && p.rows === 1 && p.planeAlign === SUBGROUP_LANES
    ? undefined
    : `SUBGROUP takes blocks of 4 output channels, a row an invocation and planeAlign ${SUBGROUP_LANES}, got outBlock ${p.outBlock}, rows ${p.rows}, planeAlign ${p.planeAlign}`;

/** What the input gradient's SUBGROUP variant needs of its parameters: blocks of 4 input channels, stride 1, a row an invocation, slots in whole subgroups. */
const inputSubgroupRequires = (p: Conv2dGeneralParams): string | undefined =>
  p.inBlock === 4 && p.strideH === 1 && p.strideW === 1 && p.rows === 1 && p.planeAlign === SUBGROUP_LANES
    ? undefined
    : `SUBGROUP takes blocks of 4 input channels, stride 1, a row an invocation and planeAlign ${SUBGROUP_LANES}, got inBlock ${p.inBlock}, stride ${p.strideH}×${p.strideW}, rows ${p.rows}, planeAlign ${p.planeAlign}`;

/** The input gradient's variant for its parameters on a device: DEPTHWISE as conv2dGeneralRowsVariant; SUBGROUP as the forward's, for blocks of 4 input channels at stride 1. */
export function conv2dGeneralInputVariant(ctx: GpuContext, p: Conv2dGeneralParams): { DEPTHWISE: boolean; SUBGROUP: boolean } {
  const subgroups = ctx.adapter.subgroupSize === SUBGROUP_LANES && ctx.device.features.has('subgroups');
  return { ...conv2dGeneralRowsVariant(p), SUBGROUP: subgroups && inputSubgroupRequires(p) === undefined };
}

/**
 * The forward's variant for its parameters on a device: DEPTHWISE as conv2dGeneralRowsVariant;
 * SUBGROUP where the adapter's subgroups have 8 invocations (and the device the feature) and a
 * block has 4 output channels.
 */
export function conv2dGeneralForwardVariant(ctx: GpuContext, p: Conv2dGeneralParams): { DEPTHWISE: boolean; SUBGROUP: boolean } {
  const subgroups = ctx.adapter.subgroupSize === SUBGROUP_LANES && ctx.device.features.has('subgroups');
  return { ...conv2dGeneralRowsVariant(p), SUBGROUP: subgroups && subgroupRequires(p) === undefined };
}

const inputs = (p: Conv2dGeneralParams) => p.batch * p.inChannels * p.height * p.width;
const outputs = (p: Conv2dGeneralParams) => p.batch * p.outChannels * p.outHeight * p.outWidth;
const weights = (p: Conv2dGeneralParams) => p.outChannels * (p.inChannels / p.groups) * p.kernelH * p.kernelW;
/** Channel blocks: a group's channels in blocks of `block`, the last one short. */
const blocks = (p: Conv2dGeneralParams, channels: number, block: number) => p.groups * Math.ceil(channels / p.groups / block);

/** y = Σ x·weight over each output's taps in its group (BIAS: + bias)  (overwrites y); bound with conv2dGeneralForwardVariant(ctx, p) */
export const conv2dGeneralForward = defineKernel({
  name: 'conv2d_general_forward',
  linear: true,
  source: forwardSource,
  libraries: [generalSource, blockSource],
  params: GENERAL_PARAMS,
  bindings: {
    x: { type: 'f32', access: 'read' },
    weight: { type: 'f32', access: 'read' },
    y: { type: 'f32', access: 'read_write' },
    bias: { type: 'f32', access: 'read', only: 'BIAS' },
  },
  defines: ['BIAS', 'DEPTHWISE', 'SUBGROUP'],
  variantRequires: { DEPTHWISE: depthwiseRequires, SUBGROUP: subgroupRequires },
  variantFeatures: { SUBGROUP: 'subgroups' },
  constants: { DEPTHWISE_ROWS, SUBGROUP_LANES },
  workgroupSize: [64],
  // One invocation per four output columns of `rows` rows and block of output channels, a block's in multiples of planeAlign.
  grid: (p) => [p.batch * blocks(p, p.outChannels, p.outBlock) * Math.ceil((Math.ceil(p.outHeight / p.rows) * Math.ceil(p.outWidth / 4)) / p.planeAlign) * p.planeAlign],
  lengths: (p) => ({ x: inputs(p), weight: weights(p), y: outputs(p), bias: p.outChannels }),
});

/** dx = Σ dy·weight over the outputs each input element is a tap of  (overwrites dx); bound with conv2dGeneralInputVariant(ctx, p) */
export const conv2dGeneralBackwardInput = defineKernel({
  name: 'conv2d_general_backward_input',
  linear: true,
  source: backwardInputSource,
  libraries: [generalSource, blockSource],
  params: GENERAL_PARAMS,
  bindings: {
    dy: { type: 'f32', access: 'read' },
    weight: { type: 'f32', access: 'read' },
    dx: { type: 'f32', access: 'read_write' },
  },
  defines: ['DEPTHWISE', 'SUBGROUP'],
  variantRequires: { DEPTHWISE: depthwiseRequires, SUBGROUP: inputSubgroupRequires },
  variantFeatures: { SUBGROUP: 'subgroups' },
  constants: { DEPTHWISE_ROWS, SUBGROUP_LANES },
  workgroupSize: [64],
  // One invocation per four input columns of `rows` rows (strideW apart: a row's columns of each remainder in quads) and block of input channels, a block's in multiples of planeAlign.
  grid: (p) => [p.batch * blocks(p, p.inChannels, p.inBlock) * Math.ceil((Math.ceil(p.height / p.rows) * p.strideW * Math.ceil(Math.ceil(p.width / p.strideW) / 4)) / p.planeAlign) * p.planeAlign],
  lengths: (p) => ({ dy: outputs(p), weight: weights(p), dx: inputs(p) }),
});

/** dweight = Σ over samples and output pixels of dy·x at each tap  (overwrites dweight); bound with conv2dGeneralWeightVariant(p), whose TAPS the parameters' tapSplits chose */
export const conv2dGeneralBackwardWeight = defineKernel({
  name: 'conv2d_general_backward_weight',
  linear: true,
  source: backwardWeightSource,
  libraries: [generalSource],
  params: GENERAL_PARAMS,
  bindings: {
    x: { type: 'f32', access: 'read' },
    dy: { type: 'f32', access: 'read' },
    dweight: { type: 'f32', access: 'read_write' },
  },
  defines: ['TAPS'],
  variantRequires: {
    TAPS: (p) => (p.kernelH <= 3 && p.kernelW <= 3 && p.tapSplits === 1 ? undefined : `TAPS takes a kernel of at most 3×3 in one workgroup a weight block (tapSplits 1), got ${p.kernelH}×${p.kernelW}, tapSplits ${p.tapSplits}`),
  },
  workgroupSize: [64],
  // One workgroup (WG_X invocations) per output channel, block of input channels and tap (TAPS: every tap).
  grid: (p, wg) => [p.outChannels * Math.ceil(p.inChannels / p.groups / p.inBlock) * p.tapSplits * wg[0]!],
  lengths: (p) => ({ x: inputs(p), dy: outputs(p), dweight: weights(p) }),
});
