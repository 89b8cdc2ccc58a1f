/**
 * 2-D convolution (NCHW, weight [out, in, kH, kW] as PyTorch, an optional bias added by the
 * forward: variant BIAS): forward, input
 * gradient, weight gradient (split over the output pixels, then reduced in a fixed order).
 * Kernels: shaders/conv2d_forward.wgsl and conv2d_backward_input.wgsl (their body generated from
 * one skeleton, src/kernels/conv-tile.ts, for a tile shape and kernel geometry), fed by
 * conv2d_pack_weights.wgsl (conv2dPackMap's layout); conv2d_backward_weight.wgsl and
 * conv2d_backward_weight_reduce.wgsl; for 1×1, stride-1, unpadded layers
 * conv2d_backward_input_pointwise.wgsl and conv2d_backward_weight_pointwise.wgsl (their bodies
 * generated here). The packing and the reduction take any number of layers'
 * jobs, so that a network does each in one dispatch for all its conv layers.
 * CPU reference: src/reference/conv2d.ts.
 */
import type { Dispatch, GpuContext } from '../gpu/context.js';
import { MAX_UNIFORM_BYTES, defineKernel, type BindingsSpec, type KernelDef } from '../gpu/kernel.js';
import type { Tensor } from '../gpu/tensor.js';
import { createArena, elementOffset, wholeBuffer } from '../gpu/arena.js';
import forwardSource from '../../shaders/conv2d_forward.wgsl?raw';
import backwardInputSource from '../../shaders/conv2d_backward_input.wgsl?raw';
import packSource from '../../shaders/conv2d_pack_weights.wgsl?raw';
import backwardWeightSource from '../../shaders/conv2d_backward_weight.wgsl?raw';
import weightReduceSource from '../../shaders/conv2d_backward_weight_reduce.wgsl?raw';
import pointwiseWeightSource from '../../shaders/conv2d_backward_weight_pointwise.wgsl?raw';
import weightDySource from '../../shaders/lib/conv2d_weight_dy.wgsl?raw';
import pointwiseInputSource from '../../shaders/conv2d_backward_input_pointwise.wgsl?raw';
import wideWeightSource from '../../shaders/conv2d_backward_weight_wide.wgsl?raw';
import momentsSource from '../../shaders/lib/moments.wgsl?raw';
import maskSource from '../../shaders/lib/dropout_mask.wgsl?raw';
import { maskWords } from './dropout.js';
import reluSource from '../../shaders/lib/relu.wgsl?raw';
import { flatBands, flatTileProblem, flatTileSource } from './conv-flat.js';
import { convWideSource, wideGeneratedProducts, widePieces, wideProducts, type WidePlane, type WideRegion } from './conv-wide.js';
import { WIDE_WEIGHT_TRIPLETS, weightWideSource } from './conv-weight-wide.js';
import { CONV_VARIANTS, MAX_TILE_TAPS, SHARED_SUBGROUP, WEIGHT_VEC4S, convTileSource, convVariantFlags, type ConvDirection, type ConvTile, type ConvVariant, type ConvVectors, type VectorWidth } from './conv-tile.js';

export type { ConvDirection, ConvTile, ConvVectors } from './conv-tile.js';

/** The largest kernel supported (12×12). */
export const MAX_KERNEL_AREA = 144;

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
/** A conv layer's shape with its output size (conv2dParams). */
export type Conv2dParams = ConvParams;

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

// ---- forward and input gradient: one generated skeleton ----

const tiledParams = { ...convParams, channelBase: 'u32', channelCount: 'u32', rowVec4s: 'u32', statsSlots: 'u32' } as const;
export type ConvTiledParams = { readonly [K in keyof typeof tiledParams]: number };

/** The GEMM's sizes for a direction: channels summed over (c), produced (o), output plane. */
export function convGemm(p: ConvParams, direction: ConvDirection) {
  const taps = p.kernelH * p.kernelW;
  return direction === 'forward'
    ? { reduce: p.inChannels, produce: p.outChannels, rows: p.outHeight, cols: p.outWidth, taps }
    : { reduce: p.outChannels, produce: p.inChannels, rows: p.height, cols: p.width, taps };
}

/** A dispatch's share of the produced channels, with its own packed weights (≤ 64 KiB). */
export interface ConvSlice {
  readonly channelBase: number;
  readonly channelCount: number;
  /** Floats of the packed weights: reduce channels × taps × rowLength. */
  readonly packedLength: number;
  /** Produced channels per packed row: channelCount rounded up to whole tiles. */
  readonly rowLength: number;
}

/**
 * The slices of the produced channels for a tile: as few as keep each slice's packed weights
 * within a uniform binding (64 KiB). Throws, naming the layer's sizes, when even one tile's
 * channels do not fit (reduce channels × taps × tile channels > 16,384 floats).
 */
export function convSlices(p: ConvParams, direction: ConvDirection, tile: ConvTile): ConvSlice[] {
  const g = convGemm(p, direction);
  const maxFloats = MAX_UNIFORM_BYTES / 4;
  const perChannel = g.reduce * g.taps;
  const maxRow = Math.floor(maxFloats / perChannel / tile.channels) * tile.channels;
  if (maxRow < tile.channels) {
    throw new Error(
      `conv2d: ${g.reduce} channels × ${p.kernelH}×${p.kernelW} taps × ${tile.channels} tile channels of packed weights exceed ${MAX_UNIFORM_BYTES} bytes ` +
        `(a uniform binding): the ${direction === 'forward' ? 'forward' : 'input gradient'} supports ${direction === 'forward' ? 'input' : 'output'} channels × taps ` +
        (tile.channels === 4 ? `≤ ${maxFloats / 4} (with 4 tile channels, the fewest)` : `≤ ${Math.floor(maxFloats / tile.channels)} with ${tile.channels} tile channels (≤ ${maxFloats / 4} with 4, the fewest)`),
    );
  }
  const slices: ConvSlice[] = [];
  for (let base = 0; base < g.produce; base += maxRow) {
    const count = Math.min(maxRow, g.produce - base);
    const rowLength = Math.ceil(count / tile.channels) * tile.channels;
    slices.push({ channelBase: base, channelCount: count, rowLength, packedLength: perChannel * rowLength });
  }
  return slices;
}

/**
 * The tile used where none is tuned: 4 rows × 16 channels (fewer for few channels, big kernels, or
 * many channels summed: a tile's packed weights, reduce channels × taps × tile channels, must fit
 * a uniform binding), 64 invocations. The input gradient of a 1×1, stride-1, unpadded layer on a
 * software adapter with subgroups of 8 (lavapipe; `adapter`): its pointwise tile where it fits
 * (pointwiseInputTile; convblock3 of the seed CNN, 32 → 10 channels at batch 128: 2.3–2.6 ms
 * against 3.0–3.6 for the tuned 2 × 16 tile, the same bits).
 */
export function defaultConvTile(p: ConvParams, direction: ConvDirection, adapter?: { readonly software: boolean; readonly subgroupSize?: number }): ConvTile {
  if (direction === 'input' && adapter?.software && adapter.subgroupSize === 8 && pointwiseInputProblem(p) === undefined) return pointwiseInputTile(p);
  const g = convGemm(p, direction);
  const fitting = Math.max(4, Math.floor(MAX_UNIFORM_BYTES / 4 / (g.reduce * g.taps) / 4) * 4);
  let channels = Math.min(16, Math.ceil(g.produce / 4) * 4, fitting);
  let rows = Math.min(4, g.rows);
  while (rows * channels * g.taps > MAX_TILE_TAPS && rows > 1) rows--;
  while (rows * channels * g.taps > MAX_TILE_TAPS && channels > 4) channels -= 4;
  return { rows, channels, workgroup: 64 };
}

/**
 * Why a direction's kernel cannot read its input (write its output) as vecNs for a layer, or
 * undefined: loads need stride 1 and an input width that is a multiple of N; stores an output
 * width that is a multiple of N (see conv-tile.ts).
 */
export function convVectorProblem(p: ConvParams, direction: ConvDirection, which: 'input' | 'output', n: VectorWidth): string | undefined {
  const g = convGemm(p, direction);
  if (which === 'input') {
    const width = direction === 'forward' ? p.width : p.outWidth;
    if (n > 1 && p.stride !== 1) return `stride ${p.stride} (vector loads need stride 1)`;
    return width % n === 0 ? undefined : `the input width ${width} is not a multiple of ${n}`;
  }
  return g.cols % n === 0 ? undefined : `the output width ${g.cols} is not a multiple of ${n}`;
}

/** The widest vector loads and stores a layer allows for a direction: what bindConv2d binds. */
export function convVectors(p: ConvParams, direction: ConvDirection): ConvVectors {
  const widest = (which: 'input' | 'output') => ([4, 2] as const).find((n) => convVectorProblem(p, direction, which, n) === undefined) ?? 1;
  return { input: widest('input'), output: widest('output') };
}

const vectorRequires = (direction: ConvDirection) => ({
  IN_VEC4: (p: ConvTiledParams) => convVectorProblem(p, direction, 'input', 4),
  IN_VEC2: (p: ConvTiledParams) => convVectorProblem(p, direction, 'input', 2),
  OUT_VEC4: (p: ConvTiledParams) => convVectorProblem(p, direction, 'output', 4),
  OUT_VEC2: (p: ConvTiledParams) => convVectorProblem(p, direction, 'output', 2),
  STATS: (p: ConvTiledParams) => (direction !== 'forward' ? 'the input gradient has no statistics epilogue' : p.statsSlots < 1 ? 'statsSlots must be at least 1' : undefined),
  POOL: (p: ConvTiledParams) => (direction !== 'forward' ? 'the input gradient has no max-pool epilogue' : p.outHeight < 2 || p.outWidth < 2 ? `a 2×2 window does not fit the ${p.outHeight}×${p.outWidth} output` : undefined),
  BIAS: () => (direction !== 'forward' ? 'the input gradient has no bias epilogue' : undefined),
  RELU_MASK: () => (direction === 'forward' ? "the ReLU mask belongs to the input gradient (the forward's ReLU is the generator's relu)" : undefined),
  NORM_MASK: (): string | undefined => (direction !== 'forward' ? 'the batch norm and dropout on load belong to the forward' : undefined),
});

const forwardBindings = {
  x: { type: 'f32', access: 'read', vec4: 'IN_VEC4', vec2: 'IN_VEC2' },
  weight: { type: 'f32', access: 'uniform' },
  y: { type: 'f32', access: 'read_write', vec4: 'OUT_VEC4', vec2: 'OUT_VEC2' },
  moments: { type: 'f32', access: 'read_write', only: 'STATS' },
  argmax: { type: 'u32', access: 'read_write', only: 'POOL' },
  bias: { type: 'f32', access: 'read', only: 'BIAS' },
  affine: { type: 'f32', access: 'read', vec4: 'NORM_MASK', only: 'NORM_MASK' },
  dropMask: { type: 'u32', access: 'read', only: 'NORM_MASK' },
} as const;
const inputBindings = {
  dy: { type: 'f32', access: 'read', vec4: 'IN_VEC4', vec2: 'IN_VEC2' },
  weight: { type: 'f32', access: 'uniform' },
  dx: { type: 'f32', access: 'read_write', vec4: 'OUT_VEC4', vec2: 'OUT_VEC2' },
  reluOut: { type: 'f32', access: 'read', vec4: 'OUT_VEC4', vec2: 'OUT_VEC2', only: 'RELU_MASK' },
} as const;

/** A generated forward or input-gradient kernel (its bindings are the direction's). */
export type ConvTiledDef = KernelDef<typeof tiledParams, BindingsSpec, (typeof CONV_VARIANTS)[number]>;

/** The max-pool epilogue's output length: [batch, outChannels, ⌊outHeight / 2⌋, ⌊outWidth / 2⌋]. */
const pooledLength = (p: ConvParams) => p.batch * p.outChannels * Math.floor(p.outHeight / 2) * Math.floor(p.outWidth / 2);


/** The plane a row-wide tile bakes in for a layer and direction (see conv-wide.ts). */
export function widePlane(p: ConvParams, direction: ConvDirection): WidePlane {
  return direction === 'forward' ? { outH: p.outHeight, outW: p.outWidth, inH: p.height, inW: p.width } : { outH: p.height, outW: p.width, inH: p.outHeight, inW: p.outWidth };
}

/**
 * Why a row-wide tile (ConvTile.wide) cannot run a layer's direction, or undefined: stride 1, at
 * most the plane's rows, and its products (vec4 sums × taps, the last piece of a row counted by its
 * width) within MAX_TILE_TAPS.
 */
export function wideTileProblem(p: ConvParams, direction: ConvDirection, tile: ConvTile): string | undefined {
  const g = convGemm(p, direction);
  if (p.stride !== 1) return `stride ${p.stride} (a row-wide tile needs stride 1)`;
  if (tile.rows > g.rows) return `${tile.rows} rows a tile, more than the plane's ${g.rows}`;
  const products = wideProducts(tile.rows, tile.channels, g.cols, g.taps);
  return products > MAX_TILE_TAPS ? `${tile.rows} rows × ${g.cols} columns × ${tile.channels} channels × ${g.taps} taps = ${products} unrolled vec4 products, more than ${MAX_TILE_TAPS}` : undefined;
}

function tiledDef(direction: ConvDirection, tile: ConvTile, body: string, pool = false, region?: WideRegion): ConvTiledDef {
  // A region's kernel (ConvTile.edges): a block of its rows an invocation.
  const blocks = (p: ConvTiledParams) => (region ? p.batch * Math.ceil(region.rowCount / tile.rows) : convBlocks(p, direction, tile));
  // A whole-row tile stores vec4s along the flattened rows: its own condition, not the row's width.
  const requires = vectorRequires(direction);
  const variantRequires = tile.flat ? { ...requires, OUT_VEC4: (p: ConvTiledParams) => flatTileProblem(p, tile) } : requires;
  // The batch norm and dropout on load: the 4-column tile's loads only.
  if (tile.flat || tile.wide) variantRequires.NORM_MASK = () => `a ${tile.flat ? 'whole-row' : 'row-wide'} tile has no batch norm and dropout on load (the 4-column tile has)`;
  const packed = () => WEIGHT_VEC4S * 4;
  const common = {
    params: tiledParams,
    defines: CONV_VARIANTS,
    variantRequires,
    variantFeatures: { W_SHARED: 'subgroups' as const },
    libraries: direction === 'forward' ? [momentsSource, reluSource, maskSource, body] : [reluSource, body],
    workgroupSize: [tile.workgroup, 1] as const,
    grid: (p: ConvTiledParams) => [blocks(p), Math.ceil(p.channelCount / tile.channels)] as const,
  };
  return direction === 'forward'
    ? defineKernel({ ...common, name: 'conv2d_forward', source: forwardSource, bindings: forwardBindings, lengths: (p) => ({ x: inputLength(p), weight: packed(), y: pool ? pooledLength(p) : outputLength(p), moments: p.outChannels * p.statsSlots * 3, argmax: pooledLength(p), bias: p.outChannels, affine: 4 * p.inChannels, dropMask: maskWords(inputLength(p)) }) })
    : defineKernel({ ...common, name: 'conv2d_backward_input', source: backwardInputSource, bindings: inputBindings, lengths: (p) => ({ dy: outputLength(p), weight: packed(), dx: inputLength(p), reluOut: inputLength(p) }) });
}

/**
 * The forward (`relu`: with the ReLU epilogue; `pool`: storing the 2×2 max pool of its output
 * and the argmax, compiled with variant POOL) or input-gradient kernel for a layer's geometry
 * and a tile, ready to compile (a pointwise tile's input gradient with `pool`: reading the max
 * pool's gradient and argmax, variant POOL; see conv2d_backward_input_pointwise.wgsl).
 */
export function conv2dKernel(p: ConvParams, direction: ConvDirection, tile: ConvTile, options: { relu?: boolean; pool?: boolean } = {}): ConvTiledDef {
  if (options.relu && direction !== 'forward') throw new Error('conv2d: the ReLU epilogue is a forward variant');
  if (tile.flat) {
    if (direction !== 'forward' || options.pool) throw new Error('conv2d: a whole-row tile is a forward without the max-pool epilogue');
    return tiledDef(direction, tile, flatTileSource({ ...p, tile, relu: options.relu }));
  }
  if (tile.wide) {
    const problem = wideTileProblem(p, direction, tile);
    if (problem) throw new Error(`conv2d: a row-wide tile cannot run this layer: ${problem}`);
    const body = convWideSource({ direction, tile, kernelH: p.kernelH, kernelW: p.kernelW, stride: p.stride, padding: p.padding, relu: options.relu, pool: options.pool }, widePlane(p, direction));
    return tiledDef(direction, tile, body, options.pool);
  }
  if (tile.pointwise) {
    if (direction !== 'input') throw new Error('conv2d: a pointwise tile runs the input gradient only (conv2d_backward_input_pointwise)');
    // `pool` here: dy is the max pool's gradient (the pool's backward folded in, variant POOL).
    return conv2dBackwardInputPointwiseKernel(p.outChannels, tile, options.pool === true);
  }
  if (tile.edges) return conv2dKernels(p, direction, tile, options)[0]!;
  const body = convTileSource({ direction, tile, kernelH: p.kernelH, kernelW: p.kernelW, stride: p.stride, padding: p.padding, relu: options.relu, pool: options.pool });
  return tiledDef(direction, tile, body, options.pool);
}

/**
 * The kernels a tile runs a layer's direction with, one dispatch each in this order: for
 * ConvTile.edges its parts (conv2dEdgeParts: the whole blocks, then the last columns and the
 * last rows), for any other tile conv2dKernel's one.
 */
export function conv2dKernels(p: ConvParams, direction: ConvDirection, tile: ConvTile, options: { relu?: boolean; pool?: boolean } = {}): ConvTiledDef[] {
  if (!tile.edges) return [conv2dKernel(p, direction, tile, options)];
  const problem = edgesTileProblem(p, direction, tile);
  if (problem) throw new Error(`conv2d: an edges tile cannot run this layer: ${problem}`);
  if (options.relu || options.pool) throw new Error('conv2d: an edges tile runs the input gradient, with no forward epilogue');
  const geometry = { direction, kernelH: p.kernelH, kernelW: p.kernelW, stride: p.stride, padding: p.padding };
  return conv2dEdgeParts(p, direction, tile).map(({ tile: t, region }) =>
    region ? tiledDef(direction, t, convWideSource({ ...geometry, tile: t }, widePlane(p, direction), region), false, region) : tiledDef(direction, tile, convTileSource({ ...geometry, tile: t, wholeBlocks: true })),
  );
}

/** A kernel of an edges tile (ConvTile.edges): its tile, and the region of the plane it covers (none: the plane's whole blocks). */
export interface ConvEdgePart {
  readonly tile: ConvTile;
  readonly region?: WideRegion;
  /** What it covers, for the dispatch's label. */
  readonly name: string;
}

/**
 * The parts of an edges tile R rows × 4 columns × K channels (ConvTile.edges) over a produced
 * plane of H × W: the 4-column tile on the plane's whole blocks (⌊H / R⌋·R rows × ⌊W / 4⌋·4
 * columns); where W is not a multiple of 4, the last W % 4 columns beside them, R rows × those
 * columns × K channels an invocation (a row-wide tile on that region); where H is not a multiple
 * of R, the last H % R rows across the whole plane, all of them × K_b channels an invocation (their
 * rows baked, so the taps on the padding rows are not generated; K_b 8 where K is a multiple of 8
 * and its products fit MAX_TILE_TAPS, else 4). Measured on lavapipe (convblock2's input gradient,
 * dx 26 × 26, batch 128, exp/ig26-split.ts alternated in one process): whole blocks 8.8 ms, the
 * last columns (24 rows × 2) 0.8–0.9 with R × K = 4 × 16, the last rows (2 × 26) 0.65 with K_b 8
 * against 0.75 with 4 and 0.74 with 16; the 4 × 16 tile alone 11.9. Each kernel sums its outputs
 * in the 4-column tile's order, so the bits are its (the same row-wide code as ConvTile.wide).
 */
export function conv2dEdgeParts(p: ConvParams, direction: ConvDirection, tile: ConvTile): ConvEdgePart[] {
  const g = convGemm(p, direction);
  const { rows: R, channels: K, workgroup } = tile;
  const rowsIn = Math.floor(g.rows / R) * R;
  const colsIn = Math.floor(g.cols / 4) * 4;
  const parts: ConvEdgePart[] = [{ tile: { rows: R, channels: K, workgroup }, name: 'whole blocks' }];
  if (colsIn < g.cols) parts.push({ tile: { rows: R, channels: K, workgroup, wide: true }, region: { row0: 0, rowCount: rowsIn, pieces: [[colsIn, g.cols - colsIn]] }, name: 'last columns' });
  if (rowsIn < g.rows) {
    const region: WideRegion = { row0: rowsIn, rowCount: g.rows - rowsIn, pieces: widePieces(g.cols) };
    const fits = (channels: number) => wideGeneratedProducts({ direction, kernelH: p.kernelH, kernelW: p.kernelW, stride: p.stride, padding: p.padding, tile: { rows: region.rowCount, channels, workgroup, wide: true } }, widePlane(p, direction), region) <= MAX_TILE_TAPS;
    const channels = K % 8 === 0 && fits(8) ? 8 : 4;
    parts.push({ tile: { rows: region.rowCount, channels, workgroup, wide: true }, region, name: 'last rows' });
  }
  return parts;
}

/**
 * Why an edges tile (ConvTile.edges) cannot run a layer's direction, or undefined: the input
 * gradient at stride 1, a 4-column tile that fits, a plane with whole blocks and rows or columns
 * left over, and the last rows' kernel within MAX_TILE_TAPS.
 */
export function edgesTileProblem(p: ConvParams, direction: ConvDirection, tile: ConvTile): string | undefined {
  if (direction !== 'input') return 'an edges tile is an input-gradient tile';
  if (p.stride !== 1) return `stride ${p.stride} (an edges tile needs stride 1)`;
  if (tile.flat || tile.wide || tile.pointwise) return 'an edges tile is a 4-column tile';
  const g = convGemm(p, direction);
  if (g.rows < tile.rows || g.cols < 4) return `a plane of ${g.rows} × ${g.cols} holds no whole block of ${tile.rows} × 4`;
  if (g.rows % tile.rows === 0 && g.cols % 4 === 0) return `a plane of ${g.rows} × ${g.cols} is whole blocks of ${tile.rows} × 4`;
  const last = conv2dEdgeParts(p, direction, tile).find((part) => part.name === 'last rows');
  if (last) {
    const products = wideGeneratedProducts({ direction, kernelH: p.kernelH, kernelW: p.kernelW, stride: p.stride, padding: p.padding, tile: last.tile }, widePlane(p, direction), last.region);
    if (products > MAX_TILE_TAPS) return `the last ${last.tile.rows} rows × ${g.cols} columns × 4 channels generate ${products} vec4 products, more than ${MAX_TILE_TAPS}`;
  }
  return undefined;
}

/**
 * The declarations as listed and checked (test/wgsl-declarations.test.ts holds the WGSL files
 * against them): each with the body generated for a 3×3 kernel, stride 1, padding 1, the default
 * 4-row × 16-channel tile. Layers bind the kernel generated for their own
 * geometry and tile (bindConv2d).
 */
const PROBE = conv2dParams({ batch: 1, inChannels: 16, height: 8, width: 8, outChannels: 16, kernelH: 3, kernelW: 3, stride: 1, padding: 1 });
const PROBE_TILE: ConvTile = { rows: 4, channels: 16, workgroup: 64 };
export const conv2dForward = conv2dKernel(PROBE, 'forward', PROBE_TILE);
export const conv2dBackwardInput = conv2dKernel(PROBE, 'input', PROBE_TILE);

// ---- the input gradient of a 1×1, stride-1, unpadded layer: conv2d_backward_input_pointwise ----

/** Why conv2d_backward_input_pointwise cannot run a layer, or undefined: a 1×1, stride-1, unpadded conv whose output × input channels (rounded up to 4) unroll within MAX_TILE_TAPS. */
export function pointwiseInputProblem(p: ConvParams): string | undefined {
  const geometry = pointwiseProblem(p);
  if (geometry) return geometry;
  const channels = pointwiseInputChannels(p);
  return p.outChannels * channels <= MAX_TILE_TAPS ? undefined : `${p.outChannels} output × ${channels} input channels unroll ${p.outChannels * channels} products, more than ${MAX_TILE_TAPS}`;
}

/** The input channels a pointwise input-gradient invocation sums for: the layer's, rounded up to a multiple of 4. */
const pointwiseInputChannels = (p: Pick<ConvParams, 'inChannels'>) => Math.ceil(p.inChannels / 4) * 4;

/**
 * The pointwise input-gradient tile of a 1×1, stride-1, unpadded layer (ConvTile.pointwise): all
 * its input channels (rounded up to a multiple of 4) an invocation, one quad of pixels (rows 1),
 * workgroups of 64. Its packed weights are one slice of one tile (the channels × output channels
 * fit MAX_TILE_TAPS, far below a uniform binding), so that every weight's index is a constant.
 */
export function pointwiseInputTile(p: ConvParams): ConvTile {
  return { rows: 1, channels: pointwiseInputChannels(p), workgroup: 64, pointwise: true };
}

/** Whether a pointwise input-gradient tile runs a layer: the layer's geometry and channels (pointwiseInputProblem), and the tile pointwiseInputTile's but for its workgroup. */
export function pointwiseInputFits(p: ConvParams, t: ConvTile): boolean {
  return t.pointwise === true && pointwiseInputProblem(p) === undefined && t.rows === 1 && t.channels === pointwiseInputChannels(p) && Number.isInteger(t.workgroup) && t.workgroup >= 1 && t.workgroup <= 256;
}

/** Pixels of a pointwise layer's plane that a vector of `n` takes: the plane must be a multiple of n. */
function pointwiseVectorProblem(p: ConvParams, n: VectorWidth): string | undefined {
  const plane = p.height * p.width;
  return plane % n === 0 ? undefined : `the plane's ${plane} pixels are not a multiple of ${n}`;
}

/** The widest vectors of the pointwise input gradient for a layer: its quads' dy loads and dx stores, along the plane. */
export function pointwiseInputVectors(p: ConvParams): ConvVectors {
  const n = ([4, 2] as const).find((w) => pointwiseVectorProblem(p, w) === undefined) ?? 1;
  return { input: n, output: n };
}

/**
 * The WGSL of conv2d_backward_input_pointwise's body for a layer's output channels and a tile's
 * input channels, appended to its template: `pointwiseInput(gx)`, every weight at a constant index
 * (output channel c, input channel k: packed vec4 c·channels/4 + ⌊k/4⌋, component k % 4), each
 * input channel's sum one fma chain over the output channels ascending.
 */
export function pointwiseInputBody(outChannels: number, channels: number): string {
  if (!(Number.isInteger(outChannels) && outChannels >= 1 && channels >= 4 && channels % 4 === 0 && outChannels * channels <= MAX_TILE_TAPS)) {
    throw new Error(`conv2d_backward_input_pointwise: ${outChannels} output × ${channels} input channels (channels a multiple of 4, their product at most ${MAX_TILE_TAPS})`);
  }
  const L: string[] = [
    `// Generated by src/kernels/conv2d.ts (pointwiseInputBody): ${outChannels} output channels, ${channels} input channels.`,
    `const WEIGHT_VEC4S = ${WEIGHT_VEC4S}u;`,
    `const OUT_CHANNELS = ${outChannels}u;`,
    `const CHANNELS = ${channels}u;`,
    '',
  ];
  const quad: string[] = [
    'fn pointwiseInput(gx: u32) {',
    '  let plane = params.height * params.width;',
    '  let quads = (plane + 3u) / 4u;',
    '  let blocks = params.batch * quads;',
    '  let blk = min(gx, blocks - 1u);',
    '  let b = blk / quads;',
    '  let p0 = blk % quads * 4u;',
    '  let dyAt = b * OUT_CHANNELS * plane + p0;',
  ];
  for (let c = 0; c < outChannels; c++) quad.push(`  let d${c} = loadQuad(dyAt + ${c}u * plane, p0, plane);`);
  quad.push('  if (gx >= blocks) { return; }');
  quad.push('  let dxAt = (b * params.inChannels + params.channelBase) * plane + p0;');
  // Input channel k's sum over the output channels of quad `d` (d0, d1, …), one fma chain.
  const sum = (d: string, k: number) => {
    let s = 'vec4f(0.0)';
    for (let c = 0; c < outChannels; c++) s = `fma(${d}${c}, vec4f(weight[${(c * channels) / 4 + Math.floor(k / 4)}u].${'xyzw'[k % 4]}), ${s})`;
    return s;
  };
  for (let k = 0; k < channels; k++) quad.push(`  if (${k}u < params.channelCount) {`, `    storeQuad(dxAt + ${k}u * plane, p0, plane, ${sum('d', k)});`, '  }');
  quad.push('}');
  // Variant POOL: an octet (two quads, 4 windows of a row) an invocation, dy rebuilt from the max
  // pool's gradient and argmax as maxpool2x2_backward writes it; each quad's sums as above.
  const octet: string[] = [
    'fn pointwiseInput(gx: u32) {',
    '  let plane = params.height * params.width;',
    '  let halfW = params.width / 2u;',
    '  let windows = (params.height / 2u) * halfW;',
    '  let octets = plane / 8u;',
    '  let blocks = params.batch * octets;',
    '  let blk = min(gx, blocks - 1u);',
    '  let b = blk / octets;',
    '  let p0 = blk % octets * 8u;',
    '  let row = p0 / params.width;',
    '  // The octet\'s 4 windows (a vec4 of the pooled gradient and of argmax) and its first element in the full dy.',
    '  let gAt = (b * OUT_CHANNELS * windows + (row / 2u) * halfW + p0 % params.width / 2u) / 4u;',
    '  let first = vec4u(b * OUT_CHANNELS * plane + p0) + vec4u(0u, 1u, 2u, 3u);',
  ];
  for (let c = 0; c < outChannels; c++) {
    octet.push(
      `  let g${c} = dy[gAt + ${c}u * windows / 4u];`,
      `  let k${c} = argmax[gAt + ${c}u * windows / 4u];`,
      `  let a${c} = select(vec4f(0.0), g${c}.xxyy, k${c}.xxyy == first + ${c}u * plane);`,
      `  let b${c} = select(vec4f(0.0), g${c}.zzww, k${c}.zzww == first + (${c}u * plane + 4u));`,
    );
  }
  octet.push('  if (gx >= blocks) { return; }');
  octet.push('  let dxAt = (b * params.inChannels + params.channelBase) * plane + p0;');
  for (let k = 0; k < channels; k++) {
    octet.push(`  if (${k}u < params.channelCount) {`, `    storeQuad(dxAt + ${k}u * plane, p0, plane, ${sum('a', k)});`, `    storeQuad(dxAt + ${k}u * plane + 4u, p0 + 4u, plane, ${sum('b', k)});`, '  }');
  }
  octet.push('}');
  return [...L, '#if POOL', ...octet, '#else', ...quad, '#endif'].join('\n');
}

/**
 * Why a layer's output cannot be read as the 2×2 max pool's gradient by the pointwise kernels
 * (variant POOL of both: the pool's backward folded in), or undefined: whole windows, the input
 * gradient's octets of a row and the weight gradient's quads (a width that is a multiple of 8,
 * an even height: maxpool2x2_backward's VEC4). The layer must be pointwise (pointwiseProblem).
 */
export function pooledGradientProblem(p: Pick<ConvParams, 'outHeight' | 'outWidth'>): string | undefined {
  if (p.outWidth % 8 !== 0) return `the output width ${p.outWidth} is not a multiple of 8`;
  return p.outHeight % 2 === 0 ? undefined : `the output height ${p.outHeight} is odd`;
}

/** The pointwise input gradient's variants' requirements: vectors along the plane; no forward epilogue, no shared weights; POOL only where compiled for it. */
const pointwiseRequires = (pooled: boolean): Record<ConvVariant, (p: ConvTiledParams) => string | undefined> => ({
  IN_VEC4: (p) => pointwiseVectorProblem(p, 4),
  IN_VEC2: (p) => pointwiseVectorProblem(p, 2),
  OUT_VEC4: (p) => pointwiseVectorProblem(p, 4),
  OUT_VEC2: (p) => pointwiseVectorProblem(p, 2),
  W_SHARED: () => 'the pointwise input gradient reads its weights at constant indices (nothing to share)',
  STATS: () => 'the input gradient has no statistics epilogue',
  POOL: (p) => (pooled ? pooledGradientProblem(p) : 'compiled for the full gradient (conv2dBackwardInputPointwiseKernel with pooled: the max pool\'s)'),
  BIAS: () => 'the input gradient has no bias epilogue',
  RELU_MASK: () => undefined,
  NORM_MASK: () => 'the batch norm and dropout on load belong to the forward',
});

/** The pointwise input gradient's bindings: the tiled kernel's, and (variant POOL) the max pool's argmax. */
const pointwiseInputBindings = { ...inputBindings, argmax: { type: 'u32', access: 'read', vec4: 'POOL', only: 'POOL' } } as const;

/**
 * The line that tells a kernel compiled for the max pool's gradient (`pooled`) from the other: its
 * grid or buffer lengths differ, and the context caches pipelines (and the declaration they bind
 * with) by WGSL text, so the two forms' texts must differ.
 */
const pooledLine = (pooled: boolean) => (pooled ? "// Compiled for the max pool's gradient (variant POOL).\n" : '');

function pointwiseInputDef(outChannels: number, channels: number, workgroup: number, pooled: boolean): ConvTiledDef {
  const body = pooledLine(pooled) + pointwiseInputBody(outChannels, channels);
  const check = (p: ConvTiledParams) => {
    const problem = pointwiseProblem(p);
    if (problem) throw new Error(`conv2d_backward_input_pointwise: ${problem}`);
    if (p.outChannels !== outChannels || p.rowVec4s !== channels / 4 || p.channelCount > channels) {
      throw new Error(`conv2d_backward_input_pointwise: compiled for ${outChannels} output channels and ${channels} input channels a packed row, bound with ${p.outChannels}, ${4 * p.rowVec4s} (${p.channelCount} channels)`);
    }
  };
  return defineKernel({
    name: 'conv2d_backward_input_pointwise',
    source: pointwiseInputSource,
    params: tiledParams,
    bindings: pointwiseInputBindings,
    defines: CONV_VARIANTS,
    variantRequires: pointwiseRequires(pooled),
    variantFeatures: { W_SHARED: 'subgroups' as const },
    // The max pool's gradient is read and dx stored as vec4s (an octet's two quads).
    variantImplies: { POOL: ['IN_VEC4', 'OUT_VEC4'] as const },
    libraries: [reluSource, body],
    workgroupSize: [workgroup, 1] as const,
    // A quad an invocation; with the max pool's gradient (variant POOL), an octet.
    grid: (p: ConvTiledParams) => {
      check(p);
      return [p.batch * (pooled ? (p.height * p.width) / 8 : Math.ceil((p.height * p.width) / 4)), 1] as const;
    },
    lengths: (p) => ({ dy: pooled ? pooledLength(p) : outputLength(p), weight: WEIGHT_VEC4S * 4, dx: inputLength(p), reluOut: inputLength(p), argmax: pooledLength(p) }),
  });
}

const pointwiseInputKernels = new Map<string, ConvTiledDef>();
/**
 * conv2d_backward_input_pointwise for a layer's output channels and a pointwise tile (its channels
 * and workgroup); `pooled`: reading the max pool's gradient (compile it with POOL, IN_VEC4 and
 * OUT_VEC4: convVariant with `pool`).
 */
export function conv2dBackwardInputPointwiseKernel(outChannels: number, tile: ConvTile, pooled = false): ConvTiledDef {
  const key = `${outChannels}x${tile.channels} wg${tile.workgroup}${pooled ? ' pooled' : ''}`;
  let def = pointwiseInputKernels.get(key);
  if (!def) pointwiseInputKernels.set(key, (def = pointwiseInputDef(outChannels, tile.channels, tile.workgroup, pooled)));
  return def;
}

/**
 * dx = ∂loss/∂x of a 1×1, stride-1, unpadded conv, an invocation a quad of pixels × all input
 * channels, every weight at a constant index (see its WGSL); variant RELU_MASK as
 * conv2d_backward_input's  (overwrites dx)
 * The declaration as listed and checked, for 10 output × 32 input channels (the seed CNN's
 * convblock3) at workgroup 64; layers bind their own (conv2dBackwardInputPointwiseKernel).
 */
export const conv2dBackwardInputPointwise = conv2dBackwardInputPointwiseKernel(10, { rows: 1, channels: 32, workgroup: 64, pointwise: true });

/** The map's source for a packed element that is 0 (a tile's padding channels). */
export const PACK_ZERO = 0xffffffff;

/**
 * packed = conv layers' weights rearranged for a direction's slice, any number of jobs in one
 * dispatch, by a map of (packed index, weight index or PACK_ZERO) pairs (conv2dPackMap; see
 * conv2d_pack_weights.wgsl)  (overwrites the mapped elements of packed)
 */
export const conv2dPackWeights = defineKernel({
  name: 'conv2d_pack_weights',
  linear: true,
  source: packSource,
  params: { count: 'u32' },
  constants: { PACK_ZERO },
  bindings: {
    weight: { type: 'f32', access: 'read' },
    packed: { type: 'f32', access: 'read_write' },
    map: { type: 'u32', access: 'read' },
  },
  workgroupSize: [64],
  grid: (p) => [p.count],
  // The map's indices are checked against the jobs' tensors when it is made (conv2dPackMap).
  lengths: (p) => ({ weight: 1, packed: 1, map: 2 * p.count }),
});

/** One repacking: a layer's weight (in `weight`'s buffer) into one slice's packed tensor (in `packed`'s). */
export interface ConvPackJob {
  readonly weight: Tensor;
  readonly packed: Tensor;
  readonly params: ReturnType<typeof conv2dPackParams>;
}

/** One reduction: a layer's partial sums [splits, length] (in `partial`'s buffer) into its weight gradient (in `dweight`'s). */
export interface ConvReduceJob {
  readonly partial: Tensor;
  readonly dweight: Tensor;
  readonly length: number;
  readonly splits: number;
}

/** Throws unless every job's `key` tensor lies in one buffer (the jobs of one dispatch bind whole buffers). */
function checkOneBuffer<J>(jobs: readonly J[], key: (job: J) => Tensor, what: string): void {
  const stray = jobs.find((j) => key(j).buffer !== key(jobs[0]!).buffer);
  if (stray) throw new Error(`conv2d: the jobs of one dispatch take their ${what} from one buffer (an arena): ${key(stray)} is not in the buffer of ${key(jobs[0]!)}`);
}

/**
 * The packed layout, the one place it is written down: for each job (a layer's direction and
 * slice, q = conv2dPackParams), packed element (c·taps + t)·rowLength + o of the slice is
 * weight element (oBase + o)·oStride + c·cStride + tap(t) for o < outs, and 0 (PACK_ZERO) for the
 * padding o < rowLength, where tap(t) = ky·kernelW + kx, ky = t / kernelW, kx = t % kernelW, or
 * kernelW − 1 − t % kernelW where flipX is 1 (the input gradient's tap order). Forward: c = input
 * channel, o = output channel (oStride = inChannels·taps, cStride = taps); input gradient: c =
 * output channel, o = input channel (oStride = taps, cStride = inChannels·taps). The map holds
 * (packed index, weight index) pairs, indices into the whole buffers the jobs' tensors lie in;
 * each job's ranges are checked against its tensors.
 */
export function conv2dPackMap(jobs: readonly ConvPackJob[]): Uint32Array {
  if (jobs.length === 0) throw new Error('conv2d: a packing dispatch needs at least one job');
  checkOneBuffer(jobs, (j) => j.weight, 'weights');
  checkOneBuffer(jobs, (j) => j.packed, 'packed tensors');
  const map = new Uint32Array(packMapLength(jobs));
  let n = 0;
  jobs.forEach((job, k) => {
    const q = job.params;
    const count = q.channels * q.taps * q.rowLength;
    const reads = (q.oBase + q.outs - 1) * q.oStride + (q.channels - 1) * q.cStride + q.taps;
    if (count > job.packed.length) throw new Error(`conv2d: packing job ${k} writes ${count} elements, ${job.packed} holds ${job.packed.length}`);
    if (reads > job.weight.length) throw new Error(`conv2d: packing job ${k} reads ${reads} elements of the weight, ${job.weight} holds ${job.weight.length}`);
    const [from, to] = [elementOffset(job.weight), elementOffset(job.packed)];
    for (let c = 0; c < q.channels; c++) {
      for (let t = 0; t < q.taps; t++) {
        const ky = Math.floor(t / q.kernelW);
        const column = t % q.kernelW;
        const kx = q.flipX === 1 ? q.kernelW - 1 - column : column;
        for (let o = 0; o < q.rowLength; o++) {
          map[n++] = to + (c * q.taps + t) * q.rowLength + o;
          map[n++] = o < q.outs ? from + (q.oBase + o) * q.oStride + c * q.cStride + ky * q.kernelW + kx : PACK_ZERO;
        }
      }
    }
  });
  return map;
}

/** Elements of the packing map of `jobs`: a (packed, weight) index pair per packed element. */
const packMapLength = (jobs: readonly Pick<ConvPackJob, 'params'>[]) => 2 * jobs.reduce((sum, j) => sum + j.params.channels * j.params.taps * j.params.rowLength, 0);

/** Bytes of the packing map of `jobs` (the tensor bindConvPacking makes; 0 for none). */
export const conv2dPackMapBytes = (jobs: readonly Pick<ConvPackJob, 'params'>[]) => 4 * packMapLength(jobs);

/**
 * Binds conv2d_pack_weights for `jobs` (their weights in one buffer, their packed tensors in
 * another): one dispatch, with its map (a tensor the dispatch owns).
 */
export async function bindConvPacking(ctx: GpuContext, jobs: readonly ConvPackJob[], label: string) {
  const map = conv2dPackMap(jobs);
  const mapTensor = ctx.tensor(`${label} map`, [map.length], { dtype: 'u32', data: map });
  const kernel = await ctx.compile(conv2dPackWeights);
  return kernel.bind({ weight: wholeBuffer(jobs[0]!.weight, `${label} weights`), packed: wholeBuffer(jobs[0]!.packed, `${label} packed`), map: mapTensor }, { count: map.length / 2 }, label).owning(mapTensor);
}

/** The packing jobs of a layer's direction: one per slice of `packed`, from `weight`. */
export function conv2dPackJobs(p: ConvParams, packed: ConvPacked, weight: Tensor): ConvPackJob[] {
  return packed.slices.map((slice, i) => ({ weight, packed: packed.tensor(i), params: conv2dPackParams(p, packed.direction, slice) }));
}

/** A packing job's parameters for a layer, direction and slice (the layout they give: conv2dPackMap). */
export function conv2dPackParams(p: ConvParams, direction: ConvDirection, slice: ConvSlice) {
  const taps = p.kernelH * p.kernelW;
  const forward = direction === 'forward';
  return {
    channels: forward ? p.inChannels : p.outChannels,
    taps,
    kernelW: p.kernelW,
    flipX: forward ? 0 : 1,
    outs: slice.channelCount,
    rowLength: slice.rowLength,
    oBase: slice.channelBase,
    oStride: forward ? p.inChannels * taps : taps,
    cStride: forward ? taps : p.inChannels * taps,
  };
}

/** A layer's packed weights for one direction and tile: one uniform tensor per slice. */
export interface ConvPacked {
  readonly direction: ConvDirection;
  readonly tile: ConvTile;
  readonly slices: readonly ConvSlice[];
  /** Slice i's packed tensor. */
  tensor(i: number): Tensor;
}

/**
 * Allocates the packed weights of a layer for a direction and tile (sizes do not depend on the
 * batch): a whole uniform binding (64 KiB) a slice, the slices in one buffer of their own (one
 * packing dispatch binds them all), or, with `allocate`, what it gives (a network's arena member,
 * which exists once the arena is built: ArenaBuilder.add).
 */
export function allocateConvPacked(
  ctx: GpuContext,
  label: string,
  p: ConvParams,
  direction: ConvDirection,
  tile: ConvTile,
  allocate?: (label: string, shape: readonly number[]) => () => Tensor,
): ConvPacked {
  const slices = convSlices(p, direction, tile);
  // Each a whole uniform binding (the kernels declare it so: one pipeline for every layer of a geometry).
  // The slices' tensors in one buffer (an arena of their own, or `allocate`'s), as one packing dispatch binds them.
  const shape = [WEIGHT_VEC4S * 4];
  const names = slices.map((_, i) => `${label} packed weights${slices.length > 1 ? ` ${i + 1}/${slices.length}` : ''}`);
  if (allocate) {
    const tensors = names.map((name) => allocate(name, shape));
    return { direction, tile, slices, tensor: (i) => tensors[i]!() };
  }
  const own = slices.length === 1 ? [ctx.tensor(names[0]!, shape, { uniform: true })] : createArena(ctx, `${label} packed weights`, names.map((name) => ({ label: name, shape })), { uniform: true }).members;
  return { direction, tile, slices, tensor: (i) => own[i]! };
}

/**
 * A forward tile the max-pool epilogue can run (whole 2×2 windows: an even number of rows): the
 * tile itself, else one row fewer (2 for a single row), with its channels cut where the unrolled
 * products would pass MAX_TILE_TAPS.
 */
export function poolTile(tile: ConvTile, taps: number): ConvTile {
  // A row-wide tile has no max-pool epilogue: the 4-column tile of its rows and channels.
  if (tile.wide) return poolTile({ rows: tile.rows, channels: Math.max(4, Math.min(tile.channels, Math.floor(MAX_TILE_TAPS / (tile.rows * taps) / 4) * 4)), workgroup: tile.workgroup }, taps);
  if (tile.rows % 2 === 0) return tile;
  const rows = tile.rows > 1 ? tile.rows - 1 : 2;
  return { ...tile, rows, channels: Math.max(4, Math.min(tile.channels, Math.floor(MAX_TILE_TAPS / (rows * taps) / 4) * 4)) };
}

/**
 * Invocations along x of a direction's tiled kernel: blocks of rows × 4 columns of each image; for
 * a whole-row tile (ConvTile.flat) bands of whole rows; for a row-wide tile (ConvTile.wide) blocks
 * of rows, each the whole row.
 */
export function convBlocks(p: ConvParams, direction: ConvDirection, tile: ConvTile): number {
  const g = convGemm(p, direction);
  if (tile.flat) return p.batch * flatBands(g.rows, tile.rows);
  // An edges tile's whole blocks (its other kernels take the rest: conv2dEdgeParts).
  if (tile.edges) return p.batch * Math.floor(g.rows / tile.rows) * Math.floor(g.cols / 4);
  return p.batch * Math.ceil(g.rows / tile.rows) * (tile.wide ? 1 : Math.ceil(g.cols / 4));
}

/** Why a whole-row tile cannot run a (direction, shape), or undefined (see src/kernels/conv-flat.ts). */
export function convFlatProblem(p: ConvParams, direction: ConvDirection, tile: ConvTile): string | undefined {
  if (direction !== 'forward') return 'a whole-row tile is a forward tile';
  return flatTileProblem(p, tile);
}

/** Whether a tile's kernels share their weights in subgroups (W_SHARED): 8-invocation subgroups that fill the workgroups. */
export function convSharesWeights(ctx: GpuContext, tile: ConvTile): boolean {
  return ctx.adapter.subgroupSize === SHARED_SUBGROUP && tile.workgroup % SHARED_SUBGROUP === 0;
}

/**
 * The partial moments per channel that the forward's STATS epilogue writes for a layer at
 * parameters `p` and a tile: one per invocation along x (the blocks, rounded up to whole
 * workgroups), or one per subgroup of 8 where the weights are shared (convSharesWeights).
 */
export function convStatsSlots(p: ConvParams, tile: ConvTile, sharedWeights: boolean): number {
  const blocks = convBlocks(p, 'forward', tile);
  const invocations = Math.ceil(blocks / tile.workgroup) * tile.workgroup;
  return sharedWeights ? invocations / SHARED_SUBGROUP : invocations;
}

/**
 * The variant bindConv2d compiles for a layer, direction and tile: the widest vectors the widths
 * allow (or `vectors`), weights shared in subgroups where they fill the workgroups (or
 * `sharedWeights`), STATS where statistics are written, POOL where the output is max-pooled
 * (scalar stores), BIAS where a bias is added, RELU_MASK where a ReLU's gradient is applied. The
 * tuner compiles and times the same variant ahead (src/tune/tuner.ts, ConvUse).
 */
export function convVariant(
  ctx: GpuContext,
  p: ConvParams,
  direction: ConvDirection,
  tile: ConvTile,
  options: { readonly vectors?: ConvVectors; readonly sharedWeights?: boolean; readonly stats?: boolean; readonly pool?: boolean; readonly bias?: boolean; readonly reluMask?: boolean; readonly normMask?: boolean } = {},
): Record<ConvVariant, boolean> {
  // The pointwise input gradient: vectors along the plane, its weights never shared; reading the
  // max pool's gradient (`pool`), vec4s (its octets).
  if (tile.pointwise) return convVariantFlags(options.pool ? { input: 4, output: 4 } : (options.vectors ?? pointwiseInputVectors(p)), false, false, options.pool ?? false, false, options.reluMask ?? false);
  // A whole-row tile reads and writes vec4s (its conditions: convFlatProblem).
  const vectors = options.vectors ?? (tile.flat ? { input: 4 as const, output: 4 as const } : convVectors(p, direction));
  // The max-pool epilogue stores its pooled values one at a time.
  return convVariantFlags(options.pool ? { ...vectors, output: 1 } : vectors, options.sharedWeights ?? convSharesWeights(ctx, tile), options.stats ?? false, options.pool ?? false, options.bias ?? false, options.reluMask ?? false, options.normMask ?? false);
}

/**
 * Binds one direction of a layer at parameters `p`: the pack of `weight` into the slices' uniform
 * tensors (one dispatch; none with `pack: false`, where the caller packs, as a network packs every
 * layer at once: conv2dPackJobs), then the tiled kernel per slice. Forward: input = x, output = y;
 * input gradient: input = dy, output = dx. `stats` (forward only): a tensor of at least
 * outChannels × convStatsSlots × 3 floats that the STATS epilogue fills with the output's partial
 * moments. `argmax` (forward only, not with `stats`; a tile of even rows): the output is the 2×2
 * max pool of the convolution ([batch, outChannels, ⌊outHeight / 2⌋, ⌊outWidth / 2⌋]) and argmax
 * its choices, as maxpool2x2_forward writes them (the fusion rule maxpool-epilogue). `bias`
 * (forward only; [outChannels]): added to every output before the ReLU, statistics or max pool
 * (variant BIAS). `reluOutput` (input gradient only; the layer's input x, the output of a ReLU
 * before it): dx stored only where it is positive, the ReLU's gradient (variant RELU_MASK).
 * `argmax` with a pointwise tile's input gradient: `input` is the gradient of the 2×2 max pool
 * after the layer and argmax its choices (as the forward's max-pool epilogue writes them), the
 * pool's backward folded in (variant POOL; pooledGradientProblem says which layers). `norm`
 * (forward only, a 4-column tile): `input` is a training batch norm's input, and the layer
 * convolves that batch norm's output after the dropout behind it, computed as it is loaded from
 * norm.affine and norm.mask (as batchnorm_dropout_forward's or batchnorm_merge_forward's
 * MASK_ONLY writes them; variant NORM_MASK).
 */
export async function bindConv2d(
  ctx: GpuContext,
  p: ConvParams,
  packed: ConvPacked,
  tensors: {
    readonly input: Tensor;
    readonly weight: Tensor;
    readonly output: Tensor;
    readonly stats?: Tensor;
    readonly argmax?: Tensor<'u32'>;
    readonly bias?: Tensor;
    readonly reluOutput?: Tensor;
    readonly norm?: { readonly affine: Tensor; readonly mask: Tensor<'u32'> };
  },
  options: { readonly relu?: boolean; readonly label?: string; readonly vectors?: ConvVectors; readonly sharedWeights?: boolean; readonly pack?: boolean } = {},
): Promise<Dispatch[]> {
  const { direction, tile } = packed;
  if (tile.pointwise && (direction !== 'input' || tensors.stats || tensors.bias || options.relu)) {
    throw new Error('conv2d: a pointwise tile runs the input gradient only (conv2d_backward_input_pointwise), with no forward epilogue');
  }
  if (direction === 'input' && tensors.argmax && !tile.pointwise) throw new Error("conv2d: only a pointwise tile's input gradient reads the max pool's gradient (argmax)");
  // Weights shared in subgroups (W_SHARED) where they are 8 invocations and fill the workgroups
  // (never in the pointwise input gradient, whose weights are read at constant indices).
  const sharedWeights = tile.pointwise ? false : (options.sharedWeights ?? convSharesWeights(ctx, tile));
  const stats = tensors.stats;
  if (stats && direction !== 'forward') throw new Error('conv2d: statistics (the STATS epilogue) belong to the forward');
  // The epilogue's subgroup merge takes 8 consecutive invocations to be (part of) a subgroup.
  if (stats && sharedWeights && !convSharesWeights(ctx, tile)) {
    throw new Error(`conv2d: statistics with shared weights need subgroups of 8 filling the workgroups (subgroup size ${ctx.adapter.subgroupSize ?? 'varying'}, workgroup ${tile.workgroup})`);
  }
  const pool = tensors.argmax !== undefined;
  if (pool && direction === 'forward' && stats) throw new Error('conv2d: the max-pool epilogue belongs to a forward without statistics');
  const bias = tensors.bias;
  if (bias && direction !== 'forward') throw new Error('conv2d: the bias (the BIAS epilogue) belongs to the forward');
  const reluOut = tensors.reluOutput;
  if (reluOut && direction !== 'input') throw new Error("conv2d: the ReLU mask (RELU_MASK) belongs to the input gradient");
  const norm = tensors.norm;
  if (norm && direction !== 'forward') throw new Error('conv2d: the batch norm and dropout on load (NORM_MASK) belong to the forward');
  const variant = convVariant(ctx, p, direction, tile, { vectors: options.vectors, sharedWeights, stats: stats !== undefined, pool, bias: bias !== undefined, reluMask: reluOut !== undefined, normMask: norm !== undefined });
  const statsSlots = stats ? convStatsSlots(p, tile, sharedWeights) : 0;
  const label = options.label ?? (direction === 'forward' ? 'conv2d forward' : 'conv2d input gradient');
  const list: Dispatch[] = [];
  if (options.pack !== false) list.push(await bindConvPacking(ctx, conv2dPackJobs(p, packed, tensors.weight), `${label} weight packing`));
  // An edges tile: a kernel per part of the plane (conv2dEdgeParts), on the same packed weights (its parts' channels divide the tile's).
  const defs = conv2dKernels(p, direction, tile, { relu: options.relu, pool });
  const partNames = tile.edges ? conv2dEdgeParts(p, direction, tile).map((part) => `, ${part.name}`) : [''];
  for (const [i, slice] of packed.slices.entries()) {
    const part = packed.slices.length > 1 ? ` (channels ${slice.channelBase}..${slice.channelBase + slice.channelCount - 1})` : '';
    const kernels = await Promise.all(defs.map((def) => ctx.compile(def, variant)));
    const bindings: Record<string, Tensor<'f32'> | Tensor<'u32'>> = direction === 'forward'
      ? { x: tensors.input, weight: packed.tensor(i), y: tensors.output, ...(stats ? { moments: stats } : {}), ...(tensors.argmax ? { argmax: tensors.argmax } : {}), ...(bias ? { bias } : {}), ...(norm ? { affine: norm.affine, dropMask: norm.mask } : {}) }
      : { dy: tensors.input, weight: packed.tensor(i), dx: tensors.output, ...(reluOut ? { reluOut } : {}), ...(tensors.argmax ? { argmax: tensors.argmax } : {}) };
    kernels.forEach((kernel, k) => list.push(kernel.bind(bindings, { ...p, channelBase: slice.channelBase, channelCount: slice.channelCount, rowVec4s: slice.rowLength / 4, statsSlots }, `${label}${part}${partNames[k]}`)));
  }
  return list;
}

const weightParams = { ...convParams, splitPixels: 'u32', tapSlots: 'u32' } as const;
type WeightParams = { readonly [K in keyof typeof weightParams]: number };

/**
 * The weight gradient's tunable shape. An invocation sums `channels` output channels × `taps` taps
 * (its register tile: `channels` × `taps` / 4 vec4 sums) over the `rows` output rows of one
 * split (the chunk of pixels it streams; fewer rows, more splits: more parallel invocations and
 * more partial sums to reduce), in workgroups of `workgroup`. The split changes the summation
 * order, so its results differ from another split's in the last bits; the register tile does not
 * (two tiles at one split give the same bits).
 */
export interface WeightTile {
  readonly rows: number;
  /** Output channels an invocation sums: one of WEIGHT_CHANNELS. */
  readonly channels: number;
  /** Taps an invocation sums: one of WEIGHT_TAPS (with a 3×3 kernel, 1 or 2 input channels). */
  readonly taps: number;
  readonly workgroup: number;
  /**
   * Share dy in subgroups of 8 (variant DY_SHARED, where the adapter's subgroups are 8
   * invocations) even where the layer's tap groups are not a multiple of 8, by padding them to
   * one: the idle invocations load their share of dy and store nothing. A layer whose tap groups
   * are a multiple of 8 shares dy without it. The same bits either way; the tuner tries it.
   */
  readonly shareDy?: boolean;
  /**
   * A 1×1, stride-1, unpadded layer on conv2d_backward_weight_pointwise (where the adapter's
   * subgroups are 8 invocations): an invocation sums `channels` output channels × 4 input
   * channels (`taps` POINTWISE_TAPS), the 8 of a subgroup sharing dy by subgroupBroadcast.
   * The same sums in the same order as conv2d_backward_weight at the same split, so the same bits.
   */
  readonly pointwise?: boolean;
  /**
   * A 3×3, stride-1 layer on conv2d_backward_weight_wide (where the adapter's subgroups are 8
   * invocations), generated for the layer's shape: the output row in pieces of 4 columns and a
   * narrower last one, and `taps` / 3 kernel rows (ci, ky) an invocation (WIDE_WEIGHT_TAPS: 9, or
   * 12 to fit a 10-channel layer's 30 kernel rows in 8 slots); its tap-group slots padded to a
   * multiple of 8, dy shared in subgroups. The same sums in the same order as
   * conv2d_backward_weight at the same split, so the same bits (see conv-weight-wide.ts).
   */
  readonly wide?: boolean;
}

/** Taps an invocation of the row-wide weight gradient sums (3 per kernel row). */
export const WIDE_WEIGHT_TAPS = WIDE_WEIGHT_TRIPLETS.map((t) => 3 * t);

/** Why the row-wide weight gradient cannot run a layer (its geometry), or undefined. */
export function wideWeightProblem(p: ConvParams): string | undefined {
  return p.kernelH === 3 && p.kernelW === 3 && p.stride === 1 ? undefined : `a ${p.kernelH}×${p.kernelW} kernel, stride ${p.stride} (it takes 3×3, stride 1)`;
}

/** Whether a layer and adapter can run row-wide weight-gradient tiles: a 3×3, stride-1 conv and subgroups of 8. */
export const wideWeightFits = (p: ConvParams, subgroupSize: number | undefined) => subgroupSize === 8 && wideWeightProblem(p) === undefined;

/** Taps (input channels) an invocation of the pointwise weight gradient sums. */
export const POINTWISE_TAPS = 4;

/** Why the pointwise weight gradient cannot run a layer (its geometry), or undefined. */
export function pointwiseProblem(p: ConvParams): string | undefined {
  return p.kernelH === 1 && p.kernelW === 1 && p.stride === 1 && p.padding === 0 ? undefined : `a ${p.kernelH}×${p.kernelW} kernel, stride ${p.stride}, padding ${p.padding} (it takes 1×1, stride 1, padding 0)`;
}

/** Whether a layer and adapter can run pointwise weight-gradient tiles: a 1×1, stride-1, unpadded conv and subgroups of 8. */
export const pointwiseWeightFits = (p: ConvParams, subgroupSize: number | undefined) => subgroupSize === 8 && pointwiseProblem(p) === undefined;

/** The register tiles' output channels and taps the weight gradient generates. */
export const WEIGHT_CHANNELS = [4, 8, 12, 16] as const;
export const WEIGHT_TAPS = [9, 18] as const;

/** Invocations the weight gradient aims for (every split × channel tile × tap group is one). */
const WEIGHT_TASKS = 512;

/** Tap groups of the weight gradient (invocations of one split and channel tile). */
const weightTapGroups = (p: ConvParams, taps: number) => Math.ceil((p.inChannels * p.kernelH * p.kernelW) / taps);

/** Tap groups × channel tiles of the weight gradient: its invocations per split (without idle slots). */
const weightTasksPerSplit = (p: ConvParams, t: Pick<WeightTile, 'channels' | 'taps'>) => weightTapGroups(p, t.taps) * Math.ceil(p.outChannels / t.channels);

/**
 * Tap-group slots of the weight gradient per split and channel tile (its parameter tapSlots): the
 * tap groups, rounded up to a multiple of 8 where the tile shares dy in subgroups (DY_SHARED).
 */
export function conv2dWeightTapSlots(p: ConvParams, tile: Pick<WeightTile, 'taps' | 'shareDy' | 'pointwise' | 'wide'>, subgroupSize?: number): number {
  const groups = weightTapGroups(p, tile.taps);
  return tile.pointwise || conv2dWeightVariant(p, tile, subgroupSize).DY_SHARED ? Math.ceil(groups / 8) * 8 : groups;
}

/** The weight gradient's parameters for a layer and tile: the split's pixels and the tap-group slots. */
export function conv2dWeightParams(p: ConvParams, tile: Pick<WeightTile, 'rows' | 'taps' | 'shareDy' | 'pointwise' | 'wide'>, subgroupSize?: number): WeightParams {
  return { ...p, splitPixels: tile.rows * p.outWidth, tapSlots: conv2dWeightTapSlots(p, tile, subgroupSize) };
}

/**
 * The default register tile: 16 output channels (or the fewest multiple of 4 that holds them all,
 * 12 for 10), and 9 taps for a 3×3 kernel (one input channel: 36 vec4 sums; 18 taps, 72 sums,
 * took convblock2 of the seed CNN 28 ms against 20 on lavapipe), else 18.
 */
function defaultWeightRegisters(p: ConvParams): Pick<WeightTile, 'channels' | 'taps'> {
  return { channels: Math.min(16, Math.ceil(p.outChannels / 4) * 4), taps: p.kernelH * p.kernelW === 9 ? 9 : 18 };
}

/**
 * Output pixels each split of the weight gradient sums: whole output rows, about `target` pixels
 * when given, else as many rows as make about WEIGHT_TASKS invocations in all with the register
 * tile `registers` (default: the default tile's).
 */
export function conv2dSplitPixels(p: ConvParams, target?: number, registers: Pick<WeightTile, 'channels' | 'taps'> = defaultWeightRegisters(p)): number {
  const rows = p.batch * p.outHeight;
  const splits = Math.max(1, Math.ceil(WEIGHT_TASKS / weightTasksPerSplit(p, registers)));
  const rowsPerSplit = target === undefined ? Math.ceil(rows / splits) : Math.max(1, Math.floor(target / p.outWidth));
  return Math.min(rowsPerSplit, rows) * p.outWidth;
}

/**
 * Invocations the weight gradient aims for on a hardware GPU. WEIGHT_TASKS (512) suits a CPU
 * adapter's threads; on a GPU it is 8 workgroups of 64: on an H200 (132 multiprocessors)
 * convblock2's weight gradient took 19.2 ms of a 32.2 ms step at batch 1024 that way
 * (docs/speed-log.md, eighteenth sitting).
 */
export const GPU_WEIGHT_TASKS = [8_192, 32_768] as const;

/**
 * The most partial sums (floats) the GPU's splits may write for a layer: 4 MB, so that the shared
 * workspace the reduction binds whole holds thirty conv layers' within a binding's 128 MiB (the seed
 * CNN's: 29.4 MB at batch 128 with these tiles, 4.6 with the CPU's). A deeper network caps every
 * layer's splits to fit its device's binding (partialSplitsCap in src/plan/network.ts).
 */
export const GPU_MAX_PARTIAL_FLOATS = 1 << 20;

/**
 * The register tile `d` with fewer rows a split, for GPU_WEIGHT_TASKS invocations (splits ×
 * tap-group slots × channel tiles), the splits capped by GPU_MAX_PARTIAL_FLOATS; each tile has
 * more splits than the one before it (convblock2 of the seed CNN: 220 splits at batch 128 and 226
 * at 1024, where 8,192 invocations would take 256: the cap, 227 splits of 4,608 weights, in whole
 * rows; the second aim is capped alike, so one tile). Empty where `d` already has as many.
 */
export function gpuWeightTiles(p: ConvParams, d: WeightTile, subgroupSize?: number): WeightTile[] {
  const perSplit = conv2dWeightTapSlots(p, d, subgroupSize) * Math.ceil(p.outChannels / d.channels);
  const totalRows = p.batch * p.outHeight;
  const maxSplits = Math.max(1, Math.floor(GPU_MAX_PARTIAL_FLOATS / weightLength(p)));
  const out: WeightTile[] = [];
  for (const tasks of GPU_WEIGHT_TASKS) {
    const splits = Math.min(maxSplits, Math.ceil(tasks / perSplit));
    const rows = Math.max(1, Math.ceil(totalRows / splits));
    // Only tiles of more splits than the last (the cap can make a larger aim no better).
    if (rows < (out.at(-1) ?? d).rows) out.push({ ...d, rows });
  }
  return out;
}

/**
 * The pointwise weight-gradient tile for a 1×1, stride-1, unpadded layer (see WeightTile.pointwise):
 * the default's output channels (16, or the fewest multiple of 4 that holds them), about
 * WEIGHT_TASKS invocations, workgroups of 64.
 */
export function pointwiseWeightTile(p: ConvParams): WeightTile {
  const registers = { channels: defaultWeightRegisters(p).channels, taps: POINTWISE_TAPS };
  return { rows: conv2dSplitPixels(p, undefined, registers) / p.outWidth, ...registers, workgroup: 64, pointwise: true };
}

/** Output columns up to which the row-wide weight gradient is a software adapter's default (and tried by the tuner): the small planes. */
export const WIDE_WEIGHT_MAX_COLUMNS = 16;

/**
 * The row-wide weight-gradient tile for a 3×3, stride-1 layer (see WeightTile.wide): the default's
 * output channels, 9 or 12 taps, whichever leaves the fewer kernel rows idle in whole subgroups of
 * 8 slots (12 at 10 input channels: 30 rows in 32, where 9 puts them in 48; 9 at 16: 48 in 48),
 * about WEIGHT_TASKS invocations, workgroups of 64.
 */
export function wideWeightTile(p: ConvParams): WeightTile {
  const channels = defaultWeightRegisters(p).channels;
  const idle = (taps: number) => (Math.ceil(Math.ceil((3 * p.inChannels) / (taps / 3)) / 8) * 8 * taps) / 3 - 3 * p.inChannels;
  const taps = idle(12) < idle(9) ? 12 : 9;
  return { rows: conv2dSplitPixels(p, undefined, { channels, taps }) / p.outWidth, channels, taps, workgroup: 64, wide: true };
}

/**
 * The weight gradient's default tile for a shape (see WeightTile): about WEIGHT_TASKS invocations;
 * on a hardware GPU (`adapter.software` false), the first of gpuWeightTiles; on a software adapter
 * with subgroups of 8 (lavapipe), a 1×1, stride-1, unpadded layer's pointwise tile (convblock3 of
 * the seed CNN, 32 → 10 channels at batch 128: 2.2–2.6 ms against 4.3–4.4 for the 1×1 path of
 * conv2d_backward_weight, the same bits); a 3×3, stride-1 layer of at most WIDE_WEIGHT_MAX_COLUMNS
 * output columns there, its row-wide tile (the seed CNN's convblock4–7 at batch 128, each against its
 * tuned tile of conv2d_backward_weight at the same split, the same bits: 1.10 ms against 1.58–1.62,
 * 0.72–0.81 against 0.79–0.86, 0.56–0.58 against 0.71, 0.61 against 0.79; exp script, minima of 7
 * rounds alternated in one process).
 */
export function defaultWeightTile(p: ConvParams, adapter?: { readonly software: boolean; readonly subgroupSize?: number }): WeightTile {
  const registers = defaultWeightRegisters(p);
  const cpu: WeightTile = { rows: conv2dSplitPixels(p, undefined, registers) / p.outWidth, ...registers, workgroup: 64 };
  if (adapter?.software && pointwiseWeightFits(p, adapter.subgroupSize)) return pointwiseWeightTile(p);
  if (adapter?.software && wideWeightFits(p, adapter.subgroupSize) && p.outWidth <= WIDE_WEIGHT_MAX_COLUMNS) return wideWeightTile(p);
  return adapter && !adapter.software ? (gpuWeightTiles(p, cpu, adapter.subgroupSize)[0] ?? cpu) : cpu;
}

/**
 * `t` with at most `maxSplits` splits at shape `p` (the rows of a split raised to fit), or `t`
 * itself where it has no more: see LayerBuild.maxPartialSplits. The sums change order, not terms.
 */
export function weightTileWithin(p: ConvParams, t: WeightTile, maxSplits: number | undefined): WeightTile {
  const totalRows = p.batch * p.outHeight;
  if (maxSplits === undefined || Math.ceil(totalRows / t.rows) <= maxSplits) return t;
  if (!Number.isInteger(maxSplits) || maxSplits < 1) throw new RangeError(`conv2d weight gradient: maxSplits ${maxSplits} must be a whole number ≥ 1`);
  return { ...t, rows: Math.ceil(totalRows / maxSplits) };
}

/** Workgroup sizes the weight gradient compiles for. */
export const WEIGHT_WORKGROUPS = [32, 64, 128, 256] as const;

/** Whether a weight-gradient tile can run a shape on an adapter with subgroups of `subgroupSize` (see WeightTile; a pointwise tile needs 8). */
export function weightTileFits(p: ConvParams, t: WeightTile, subgroupSize?: number): boolean {
  return (
    (WEIGHT_CHANNELS as readonly number[]).includes(t.channels) &&
    (t.pointwise === true ? t.taps === POINTWISE_TAPS && pointwiseWeightFits(p, subgroupSize) && !t.wide : t.pointwise === undefined || t.pointwise === false) &&
    (t.wide === true ? WIDE_WEIGHT_TAPS.includes(t.taps) && wideWeightFits(p, subgroupSize) : t.wide === undefined || t.wide === false) &&
    (t.pointwise === true || t.wide === true || (WEIGHT_TAPS as readonly number[]).includes(t.taps)) &&
    Number.isInteger(t.rows) &&
    t.rows >= 1 &&
    t.rows <= p.batch * p.outHeight &&
    (WEIGHT_WORKGROUPS as readonly number[]).includes(t.workgroup) &&
    (t.shareDy === undefined || typeof t.shareDy === 'boolean')
  );
}

/** Describes a weight-gradient tile for tables and messages. */
export function describeWeightTile(t: WeightTile): string {
  if (t.pointwise) return `1×1 ${t.channels}ch×${t.taps} in-channels a lane, ${t.rows} rows a split, wg${t.workgroup}, dy shared`;
  if (t.wide) return `row-wide ${t.channels}ch×${t.taps} taps, ${t.rows} rows a split, wg${t.workgroup}, dy shared`;
  return `${t.channels}ch×${t.taps} taps, ${t.rows} rows a split, wg${t.workgroup}${t.shareDy ? ', dy shared' : ''}`;
}

/**
 * The WGSL of a register tile, appended to conv2d_backward_weight.wgsl: OUT_TILE, Q, GROUP, and
 * the functions that name the Q mat3x4f of a triplet's sums (WGSL has no loops over a tuple's
 * members that stay in registers, so they are spelled out).
 */
export function weightTileSource(channels: number, taps: number): string {
  const q = channels / 4;
  const each = (f: (i: number) => string) => Array.from({ length: q }, (_, i) => f(i));
  return [
    `// Generated by src/kernels/conv2d.ts (weightTileSource): ${channels} output channels × ${taps} taps.`,
    `const OUT_TILE = ${channels}u;`,
    `const Q = ${q}u;`,
    `const GROUP = ${taps}u;`,
    '',
    'fn tripletStep(a: array<mat3x4f, Q>, r: mat3x4f, d: array<mat4x4f, Q>) -> array<mat3x4f, Q> {',
    `  return array<mat3x4f, Q>(${each((i) => `a[${i}] + transpose(d[${i}]) * r`).join(', ')});`,
    '}',
    '',
    'fn quadSums(sums: array<mat3x4f, Q>, q: u32) -> mat3x4f {',
    '  var a = sums[0];',
    ...each((i) => `  if (q == ${i}u) { a = sums[${i}]; }`).slice(1),
    '  return a;',
    '}',
    '',
  ].join('\n');
}

const weightKernels = new Map<string, typeof conv2dBackwardWeight>();
/**
 * conv2d_backward_weight for a tile's registers and workgroup size (the declaration's own: 16
 * channels × 18 taps, 64); a pointwise tile's conv2d_backward_weight_pointwise; a row-wide tile's
 * conv2d_backward_weight_wide, generated for the layer `p` (which it then needs). `pooled` (a
 * pointwise tile only): the form that reads the max pool's gradient (compile it with POOL:
 * conv2dWeightVariant with `pool`).
 */
export function conv2dBackwardWeightKernel(tile: Pick<WeightTile, 'channels' | 'taps' | 'workgroup' | 'pointwise' | 'wide'>, p?: ConvParams, pooled = false): typeof conv2dBackwardWeight {
  const { channels, taps, workgroup, pointwise } = tile;
  if (pooled && !pointwise) throw new Error("conv2d: only a pointwise tile's weight gradient reads the max pool's gradient");
  if (tile.wide) {
    if (!p) throw new Error('conv2d_backward_weight_wide: a row-wide tile is generated for a layer: pass its parameters');
    const problem = wideWeightProblem(p);
    if (problem) throw new Error(`conv2d_backward_weight_wide: ${problem}`);
    if (!(WEIGHT_WORKGROUPS as readonly number[]).includes(workgroup)) throw new Error(`conv2d_backward_weight_wide: workgroup ${workgroup}, expected one of ${WEIGHT_WORKGROUPS.join(', ')}`);
    if (!WIDE_WEIGHT_TAPS.includes(taps)) throw new Error(`conv2d_backward_weight_wide: ${taps} taps a tile, expected one of ${WIDE_WEIGHT_TAPS.join(', ')}`);
    const plane: ConvParams = { batch: 1, inChannels: p.inChannels, height: p.height, width: p.width, outChannels: p.outChannels, kernelH: 3, kernelW: 3, stride: 1, padding: p.padding, outHeight: p.outHeight, outWidth: p.outWidth };
    const key = `wide ${channels}x${taps} wg${workgroup} ${p.inChannels}x${p.height}x${p.width} p${p.padding}`;
    let def = weightKernels.get(key);
    if (!def) {
      def = wideWeightDef(plane, channels, taps, workgroup);
      weightKernels.set(key, def);
    }
    return def;
  }
  if (!(WEIGHT_WORKGROUPS as readonly number[]).includes(workgroup)) throw new Error(`conv2d_backward_weight: workgroup ${workgroup}, expected one of ${WEIGHT_WORKGROUPS.join(', ')}`);
  if (!(WEIGHT_CHANNELS as readonly number[]).includes(channels)) throw new Error(`conv2d_backward_weight: ${channels} channels a tile, expected one of ${WEIGHT_CHANNELS.join(', ')}`);
  if (pointwise ? taps !== POINTWISE_TAPS : !(WEIGHT_TAPS as readonly number[]).includes(taps)) {
    throw new Error(`conv2d_backward_weight: ${taps} taps a tile, expected ${pointwise ? `${POINTWISE_TAPS} (a pointwise tile)` : `one of ${WEIGHT_TAPS.join(', ')}`}`);
  }
  const key = `${pointwise ? 'pointwise ' : ''}${channels}x${taps} wg${workgroup}${pooled ? ' pooled' : ''}`;
  let def = weightKernels.get(key);
  if (!def) {
    def = pointwise ? pointwiseWeightDef(channels, workgroup, pooled) : weightDef(channels, taps, workgroup);
    weightKernels.set(key, def);
  }
  return def;
}

/** Splits of the weight gradient (partial sums to reduce); a split is whole output rows. */
export function conv2dWeightSplits(p: Pick<WeightParams, 'batch' | 'outHeight' | 'outWidth' | 'splitPixels'>): number {
  if (!(p.splitPixels >= p.outWidth) || p.splitPixels % p.outWidth !== 0) {
    throw new Error(`conv2d: splitPixels ${p.splitPixels} must be whole output rows of ${p.outWidth} pixels (see conv2dSplitPixels)`);
  }
  return Math.ceil((p.batch * p.outHeight * p.outWidth) / p.splitPixels);
}

/**
 * The weight gradient's variants: x and dy read as vec4s or vec2s, dy shared in subgroups of 8
 * (DY_SHARED: the device's 'subgroups'), and the bias's gradient as partial sums beside the
 * weights' (BIAS; see its WGSL).
 */
export const WEIGHT_VARIANTS = ['X_VEC4', 'X_VEC2', 'DY_VEC4', 'DY_VEC2', 'DY_SHARED', 'BIAS', 'POOL', 'NORM_MASK'] as const;
export type WeightVariant = (typeof WEIGHT_VARIANTS)[number];

/** Why a weight-gradient variant cannot run a layer's parameters, or undefined. */
function weightVariantProblem(p: WeightParams, variant: WeightVariant): string | undefined {
  if (variant === 'BIAS') return undefined;
  if (variant === 'POOL') return "only conv2d_backward_weight_pointwise reads the max pool's gradient";
  if (variant === 'NORM_MASK') return 'only conv2d_backward_weight_pointwise applies the batch norm and dropout on load';
  if (variant === 'DY_SHARED') {
    return p.tapSlots % 8 === 0 ? undefined : `its ${p.tapSlots} tap-group slots are not a multiple of 8 (a subgroup's invocations must share a split and channel tile)`;
  }
  return vectorProblem(p, variant);
}

/** Why a layer's widths or padding do not allow a weight-gradient vector variant, or undefined. */
function vectorProblem(p: ConvParams, variant: Exclude<WeightVariant, 'BIAS' | 'DY_SHARED' | 'POOL' | 'NORM_MASK'>): string | undefined {
  const n = variant.endsWith('4') ? 4 : 2;
  if (variant.startsWith('X_')) {
    if (p.width % n !== 0) return `the input width ${p.width} is not a multiple of ${n}`;
    return p.padding % n === 0 ? undefined : `the padding ${p.padding} is not a multiple of ${n}`;
  }
  return p.outWidth % n === 0 ? undefined : `the output width ${p.outWidth} is not a multiple of ${n}`;
}

/**
 * The weight-gradient variant a layer binds: the widest dy vectors its output width allows, the
 * widest x vectors where they are read whole (the 3×3 stride-1 windows, the 1×1 stride-1 pixels;
 * the other taps' loads take one component each, measured no faster), dy shared in subgroups
 * where the device's subgroups are 8 invocations (`subgroupSize`, AdapterDescription) and the
 * layer's tap groups are a multiple of 8 or the tile pads them (`shareDy`), and the bias's
 * partial sums where the layer has a bias (`bias`). A pointwise tile always shares dy (its kernel's
 * DY_SHARED; see WeightTile.pointwise); with `pool` (a pointwise tile only) it reads the max pool's
 * gradient (POOL, dy as vec2s: bind conv2dBackwardWeightKernel's pooled kernel). Bind it with
 * conv2dWeightParams's parameters.
 */
export function conv2dWeightVariant(p: ConvParams, tile: Pick<WeightTile, 'taps' | 'shareDy' | 'pointwise' | 'wide'>, subgroupSize?: number, bias = false, pool = false, normMask = false): Record<WeightVariant, boolean> {
  if (pool && !tile.pointwise) throw new Error("conv2d: only a pointwise tile's weight gradient reads the max pool's gradient (POOL)");
  if (normMask && !tile.pointwise) throw new Error("conv2d: only a pointwise tile's weight gradient applies the batch norm and dropout on load (NORM_MASK)");
  if (tile.wide) {
    // The padding is baked into a row-wide tile's loads: the widths alone decide its vectors.
    const [x4, dy4] = [p.width % 4 === 0, p.outWidth % 4 === 0];
    return { X_VEC4: x4, X_VEC2: !x4 && p.width % 2 === 0, DY_VEC4: dy4, DY_VEC2: !dy4 && p.outWidth % 2 === 0, DY_SHARED: subgroupSize === 8, BIAS: bias, POOL: false, NORM_MASK: false };
  }
  const fits = (v: Exclude<WeightVariant, 'BIAS' | 'DY_SHARED' | 'POOL' | 'NORM_MASK'>) => vectorProblem(p, v) === undefined;
  const shared = tile.pointwise === true || (subgroupSize === 8 && (weightTapGroups(p, tile.taps) % 8 === 0 || tile.shareDy === true));
  const whole = p.stride === 1 && ((p.kernelH === 3 && p.kernelW === 3) || (p.kernelH === 1 && p.kernelW === 1 && p.padding === 0));
  const x4 = whole && fits('X_VEC4');
  // The max pool's gradient (`pool`, a pointwise tile's POOL) is read as vec2s.
  const dy4 = !pool && fits('DY_VEC4');
  return { X_VEC4: x4, X_VEC2: whole && !x4 && fits('X_VEC2'), DY_VEC4: dy4, DY_VEC2: pool || (!dy4 && fits('DY_VEC2')), DY_SHARED: shared, BIAS: bias, POOL: pool, NORM_MASK: normMask };
}

/** A weight gradient's tapSlots parameter, checked: at least the layer's tap groups for `taps`. */
function tapSlotsOf(p: WeightParams, taps: number): number {
  const groups = weightTapGroups(p, taps);
  if (!Number.isInteger(p.tapSlots) || p.tapSlots < groups) throw new Error(`conv2d_backward_weight: tapSlots ${p.tapSlots}, expected at least the layer's ${groups} tap groups of ${taps} (see conv2dWeightParams)`);
  return p.tapSlots;
}

/** The pointwise kernel's tapSlots parameter, checked: the layer a 1×1, stride-1, unpadded conv, and slots for its 4-channel groups. */
function pointwiseSlotsOf(p: WeightParams): number {
  const problem = pointwiseProblem(p);
  if (problem) throw new Error(`conv2d_backward_weight_pointwise: ${problem}`);
  return tapSlotsOf(p, POINTWISE_TAPS);
}

/**
 * What every weight-gradient kernel declares alike (conv2d_backward_weight, its pointwise and
 * row-wide forms): the parameters, bindings, variants (each's condition from `problem`) and buffer
 * lengths; a kernel adds its name, template, generated body, workgroup and grid.
 */
function weightKernelDeclaration(problem: (p: WeightParams, variant: WeightVariant) => string | undefined, pooled = false) {
  return {
    params: weightParams,
    bindings: {
      x: { type: 'f32', access: 'read', vec4: 'X_VEC4', vec2: 'X_VEC2' },
      dy: { type: 'f32', access: 'read', vec4: 'DY_VEC4', vec2: 'DY_VEC2' },
      partial: { type: 'f32', access: 'read_write' },
      biasPartial: { type: 'f32', access: 'read_write', only: 'BIAS' },
      // The max pool's choices (variant POOL, conv2d_backward_weight_pointwise's only: the others refuse it).
      argmax: { type: 'u32', access: 'read', vec2: 'POOL', only: 'POOL' },
      // The batch norm and dropout before the layer (variant NORM_MASK, conv2d_backward_weight_pointwise's only).
      affine: { type: 'f32', access: 'read', vec4: 'NORM_MASK', only: 'NORM_MASK' },
      dropMask: { type: 'u32', access: 'read', only: 'NORM_MASK' },
    },
    defines: WEIGHT_VARIANTS,
    variantRequires: Object.fromEntries(WEIGHT_VARIANTS.map((v) => [v, (p: WeightParams) => problem(p, v)])) as Record<WeightVariant, (p: WeightParams) => string | undefined>,
    variantFeatures: { DY_SHARED: 'subgroups' },
    // The max pool's gradient is read as vec2s (conv2dWeightVariant sets DY_VEC2 with it).
    variantImplies: { POOL: ['DY_VEC2'] },
    // `pooled` (a kernel compiled for POOL): dy is the max pool's gradient.
    lengths: (p: WeightParams) => ({ x: inputLength(p), dy: pooled ? pooledLength(p) : outputLength(p), partial: conv2dWeightSplits(p) * weightLength(p), biasPartial: conv2dWeightSplits(p) * p.outChannels, argmax: pooledLength(p), affine: 4 * p.inChannels, dropMask: maskWords(inputLength(p)) }),
  } as const;
}

/** partial[s] = the weight gradient summed over split s of the output pixels, for a register tile and workgroup size. */
function weightDef(channels: number, taps: number, workgroup: number) {
  return defineKernel({
    name: 'conv2d_backward_weight',
    source: backwardWeightSource,
    libraries: [weightDySource, weightTileSource(channels, taps)],
    ...weightKernelDeclaration(weightVariantProblem),
    workgroupSize: [workgroup, 1, 1],
    grid: (p) => [conv2dWeightSplits(p) * Math.ceil(p.outChannels / channels) * tapSlotsOf(p, taps)],
  });
}

/**
 * The WGSL of a pointwise tile, appended to conv2d_backward_weight_pointwise.wgsl: OUT_TILE, Q,
 * LOADS and sharedDy, the tile's Q mat4x4f of dy quads from the LOADS each invocation of a
 * subgroup of 8 loads (channel 8k + lane: subgroupBroadcast takes a constant lane, so each
 * channel's is spelled out).
 */
export function pointwiseTileSource(channels: number): string {
  const q = channels / 4;
  const loads = Math.ceil(channels / 8);
  const quad = (i: number) => `mat4x4f(${[0, 1, 2, 3].map((e) => `subgroupBroadcast(mine[${Math.floor((4 * i + e) / 8)}], ${(4 * i + e) % 8}u)`).join(', ')})`;
  return [
    `// Generated by src/kernels/conv2d.ts (pointwiseTileSource): ${channels} output channels.`,
    `const OUT_TILE = ${channels}u;`,
    `const Q = ${q}u;`,
    `const LOADS = ${loads}u;`,
    '',
    '#if DY_SHARED',
    'fn sharedDy(mine: array<vec4f, LOADS>) -> array<mat4x4f, Q> {',
    `  return array<mat4x4f, Q>(${Array.from({ length: q }, (_, i) => quad(i)).join(', ')});`,
    '}',
    '#endif',
    '',
  ].join('\n');
}

/** Why the pointwise weight gradient cannot read a layer's output as the max pool's gradient (variant POOL: quads of whole windows), or undefined. */
function pointwisePoolProblem(p: WeightParams): string | undefined {
  if (p.outWidth % 4 !== 0) return `the output width ${p.outWidth} is not a multiple of 4`;
  return p.outHeight % 2 === 0 ? undefined : `the output height ${p.outHeight} is odd`;
}

/**
 * partial[s] = the 1×1 weight gradient summed over split s, dy shared in subgroups of 8 (see its
 * WGSL), for a tile's output channels and workgroup size; `pooled`: dy the max pool's gradient
 * (compiled with POOL; the other form refuses it).
 */
function pointwiseWeightDef(channels: number, workgroup: number, pooled = false) {
  const problem = (p: WeightParams, v: WeightVariant) =>
    v === 'NORM_MASK' ? undefined : v !== 'POOL' ? weightVariantProblem(p, v) : pooled ? pointwisePoolProblem(p) : "compiled for the full gradient (conv2dBackwardWeightKernel with pooled: the max pool's)";
  return defineKernel({
    name: 'conv2d_backward_weight_pointwise',
    source: pointwiseWeightSource,
    libraries: [weightDySource, maskSource, pooledLine(pooled) + pointwiseTileSource(channels)],
    ...weightKernelDeclaration(problem, pooled),
    workgroupSize: [workgroup, 1, 1],
    grid: (p) => [conv2dWeightSplits(p) * Math.ceil(p.outChannels / channels) * pointwiseSlotsOf(p)],
  });
}

/** Why a row-wide weight-gradient variant cannot run a layer's parameters (the widths only: the padding is baked in), or undefined. */
function wideVariantProblem(p: WeightParams, variant: WeightVariant): string | undefined {
  if (variant === 'BIAS' || variant === 'DY_SHARED' || variant === 'POOL' || variant === 'NORM_MASK') return weightVariantProblem(p, variant);
  const n = variant.endsWith('4') ? 4 : 2;
  const width = variant.startsWith('X_') ? p.width : p.outWidth;
  return width % n === 0 ? undefined : `the ${variant.startsWith('X_') ? 'input' : 'output'} width ${width} is not a multiple of ${n}`;
}

/** The shape a row-wide weight gradient was generated for, against the parameters bound: a reason they differ, or undefined. */
function widePlaneProblem(p: WeightParams, plane: ConvParams): string | undefined {
  const keys = ['inChannels', 'height', 'width', 'outHeight', 'outWidth', 'padding', 'kernelH', 'kernelW', 'stride'] as const;
  const off = keys.filter((k) => p[k] !== plane[k]);
  return off.length === 0 ? undefined : `generated for ${off.map((k) => `${k} ${plane[k]}`).join(', ')}, bound with ${off.map((k) => `${k} ${p[k]}`).join(', ')}`;
}

/** partial[s] = the weight gradient summed over split s, for a row-wide tile (WeightTile.wide) at one layer shape (see conv-weight-wide.ts). */
function wideWeightDef(plane: ConvParams, channels: number, taps: number, workgroup: number) {
  const slots = (p: WeightParams) => {
    const problem = widePlaneProblem(p, plane);
    if (problem) throw new Error(`conv2d_backward_weight_wide: ${problem}`);
    return tapSlotsOf(p, taps);
  };
  return defineKernel({
    name: 'conv2d_backward_weight_wide',
    source: wideWeightSource,
    libraries: [weightWideSource(plane, channels, taps / 3)],
    ...weightKernelDeclaration(wideVariantProblem),
    workgroupSize: [workgroup, 1, 1],
    grid: (p) => [conv2dWeightSplits(p) * Math.ceil(p.outChannels / channels) * slots(p)],
  });
}

/**
 * partial[s] = the weight gradient summed over split s of the output pixels; variant BIAS:
 * biasPartial[s] = dy summed over split s per channel, the bias's gradient  (overwrites partial,
 * biasPartial)
 * The declaration as listed and checked, with the 16-channel × 18-tap register tile at workgroup
 * 64; layers bind their tile's (conv2dBackwardWeightKernel).
 */
export const conv2dBackwardWeight = weightDef(16, 18, 64);

/**
 * partial[s] = the 1×1 weight gradient summed over split s of the output pixels, dy shared in
 * subgroups of 8; variant BIAS: biasPartial[s] too, as conv2d_backward_weight's  (overwrites
 * partial, biasPartial)
 * The declaration as listed and checked, with 12 output channels at workgroup 64; layers bind
 * their pointwise tile's (conv2dBackwardWeightKernel).
 */
export const conv2dBackwardWeightPointwise = pointwiseWeightDef(12, 64);

/**
 * partial[s] = the weight gradient of a 3×3, stride-1 layer summed over split s, generated for the
 * layer's shape (row-wide pieces, kernel rows a lane; see conv-weight-wide.ts); variant BIAS:
 * biasPartial[s] too, as conv2d_backward_weight's  (overwrites partial, biasPartial)
 * The declaration as listed and checked, for a 10 → 16-channel layer on a 12×12 plane (the seed
 * CNN's convblock4) with 16 channels × 12 taps at workgroup 64; layers bind their tile's and
 * shape's (conv2dBackwardWeightKernel).
 */
export const conv2dBackwardWeightWide = wideWeightDef(conv2dParams({ batch: 1, inChannels: 10, height: 12, width: 12, outChannels: 16, kernelH: 3, kernelW: 3, stride: 1, padding: 0 }), 16, 12, 64);

/**
 * dweight = Σ_s partial[s], for any number of conv layers in one dispatch, by a map of (target,
 * source, stride, splits) records, one a weight (conv2dReduceMap; see
 * conv2d_backward_weight_reduce.wgsl)  (overwrites the mapped elements of dweight)
 */
export const conv2dBackwardWeightReduce = defineKernel({
  name: 'conv2d_backward_weight_reduce',
  linear: true,
  source: weightReduceSource,
  params: { count: 'u32' },
  defines: ['VEC4'],
  bindings: {
    partial: { type: 'f32', access: 'read', vec4: 'VEC4' },
    dweight: { type: 'f32', access: 'read_write', vec4: 'VEC4' },
    map: { type: 'u32', access: 'read' },
  },
  workgroupSize: [64],
  grid: (p) => [p.count],
  // The map's indices are checked against the jobs' tensors when it is made (conv2dReduceMap),
  // its width too (conv2dReduceWidth): nothing to ask of the whole buffers here.
  lengths: (p) => ({ partial: 0, dweight: 0, map: 4 * p.count }),
});

/**
 * The elements a record of the reduction's map covers for `jobs`: 4 (variant VEC4) where every
 * job's length and both its offsets are multiples of 4 (arena members start on whole blocks), else 1.
 */
export function conv2dReduceWidth(jobs: readonly ConvReduceJob[]): 1 | 4 {
  return jobs.every((j) => j.length % 4 === 0 && elementOffset(j.partial) % 4 === 0 && elementOffset(j.dweight) % 4 === 0) ? 4 : 1;
}

/**
 * The map of conv2d_backward_weight_reduce: per weight of each job (per 4 consecutive weights
 * with `width` 4, its variant VEC4, in units of vec4s), (target, source, stride, splits) as
 * indices into the whole buffers the jobs' tensors lie in; each job's ranges checked against its
 * tensors.
 */
export function conv2dReduceMap(jobs: readonly ConvReduceJob[], width: 1 | 4 = 1): Uint32Array {
  if (jobs.length === 0) throw new Error('conv2d: a reduction dispatch needs at least one job');
  checkOneBuffer(jobs, (j) => j.partial, 'partial sums');
  checkOneBuffer(jobs, (j) => j.dweight, 'weight gradients');
  if (width === 4 && conv2dReduceWidth(jobs) !== 4) throw new Error('conv2d: a reduction map of vec4s needs every job\'s length and offsets to be multiples of 4');
  const map = new Uint32Array(reduceMapLength(jobs, width));
  let n = 0;
  jobs.forEach((job, k) => {
    if (!(job.splits >= 1 && job.length >= 1)) throw new Error(`conv2d: reduction job ${k}: ${job.splits} splits of ${job.length} elements`);
    if (job.splits * job.length > job.partial.length) throw new Error(`conv2d: reduction job ${k} reads ${job.splits} × ${job.length} partial sums, ${job.partial} holds ${job.partial.length}`);
    if (job.length > job.dweight.length) throw new Error(`conv2d: reduction job ${k} writes ${job.length} elements, ${job.dweight} holds ${job.dweight.length}`);
    const [from, to, length] = [elementOffset(job.partial) / width, elementOffset(job.dweight) / width, job.length / width];
    for (let e = 0; e < length; e++) map.set([to + e, from + e, length, job.splits], 4 * n++);
  });
  return map;
}

/** Elements of the reduction map of `jobs`: (gradient, partial sum, length, splits) per `width` weights. */
const reduceMapLength = (jobs: readonly Pick<ConvReduceJob, 'length'>[], width: 1 | 4) => (4 * jobs.reduce((sum, j) => sum + j.length, 0)) / width;

/** Bytes of the reduction map bindConvReduction makes for `jobs` (0 for none). */
export const conv2dReduceMapBytes = (jobs: readonly ConvReduceJob[]) => 4 * reduceMapLength(jobs, jobs.length > 0 ? conv2dReduceWidth(jobs) : 1);

/**
 * Binds conv2d_backward_weight_reduce for `jobs` (their partial sums in one buffer, their weight
 * gradients in another): one dispatch, with its map (a tensor the dispatch owns).
 */
export async function bindConvReduction(ctx: GpuContext, jobs: readonly ConvReduceJob[], label: string) {
  const width = conv2dReduceWidth(jobs);
  const map = conv2dReduceMap(jobs, width);
  const mapTensor = ctx.tensor(`${label} map`, [map.length], { dtype: 'u32', data: map });
  const kernel = await ctx.compile(conv2dBackwardWeightReduce, { VEC4: width === 4 });
  return kernel.bind({ partial: wholeBuffer(jobs[0]!.partial, `${label} partial sums`), dweight: wholeBuffer(jobs[0]!.dweight, `${label} gradients`), map: mapTensor }, { count: map.length / 4 }, label).owning(mapTensor);
}
