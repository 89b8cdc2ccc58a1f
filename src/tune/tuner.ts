/**
 * The autotuner: for every tunable kernel in a model's plan (each Conv2d's forward, input gradient
 * and weight gradient, each Linear's forward, input gradient and weight gradient, at the plan's
 * batch), times candidate tiles on the adapter in use and keeps the fastest. A conv forward or
 * input-gradient candidate, and any dense one, must produce exactly the default tile's output (the
 * generated kernels sum in the same order whatever the tile, so any difference is a defect, and it
 * is rejected). A weight-gradient candidate (rows per split, workgroup size) sums
 * in another order: it must be as close to the float64 reference (src/reference/conv2d.ts) as
 * 1e-5 of the result's largest value (the full-size check's bound), or as the default is. Choices
 * are cached in a `TuningStore` keyed by adapter identity, the kernel source's hash and the shape:
 * `--tune cached` (default) tunes only what is missing, `full` tunes everything again, `off` uses
 * the default tiles.
 *
 * Timing: GPU timestamps where the adapter has them (src/bench/profile.ts), median of 3 runs
 * after a warm-up; candidates are tried in a fixed order, and the 3 fastest are timed three times
 * more, in turn with the default, and judged by their fastest turns; a challenger must beat the
 * default's by 5 % (pickFastest). A run with a fixed cache is reproducible.
 */
import type { Dispatch, GpuContext } from '../gpu/context.js';
import { profileDispatches } from '../bench/profile.js';
import forwardSource from '../../shaders/conv2d_forward.wgsl?raw';
import backwardInputSource from '../../shaders/conv2d_backward_input.wgsl?raw';
import backwardWeightSource from '../../shaders/conv2d_backward_weight.wgsl?raw';
import weightReduceSource from '../../shaders/conv2d_backward_weight_reduce.wgsl?raw';
import pointwiseWeightSource from '../../shaders/conv2d_backward_weight_pointwise.wgsl?raw';
import weightDySource from '../../shaders/lib/conv2d_weight_dy.wgsl?raw';
import pointwiseInputSource from '../../shaders/conv2d_backward_input_pointwise.wgsl?raw';
import wideWeightSource from '../../shaders/conv2d_backward_weight_wide.wgsl?raw';
import {
  allocateConvPacked,
  bindConv2d,
  conv2dBackwardWeightKernel,
  conv2dWeightParams,
  conv2dWeightTapSlots,
  conv2dWeightVariant,
  bindConvReduction,
  conv2dWeightSplits,
  conv2dKernels,
  edgesTileProblem,
  convFlatProblem,
  convGemm,
  convSharesWeights,
  convSlices,
  convStatsSlots,
  convVariant,
  defaultConvTile,
  wideTileProblem,
  poolTile,
  defaultWeightTile,
  gpuWeightTiles,
  weightTileFits,
  weightTileWithin,
  conv2dSplitPixels,
  type Conv2dParams,
  type ConvDirection,
  type ConvTile,
  type WeightTile,
  describeWeightTile,
  weightTileSource,
  pointwiseTileSource,
  pointwiseWeightFits,
  pointwiseWeightTile,
  WIDE_WEIGHT_MAX_COLUMNS,
  wideWeightFits,
  wideWeightTile,
  POINTWISE_TAPS,
  pointwiseInputBody,
  pointwiseInputFits,
  pointwiseInputProblem,
  pointwiseInputTile,
} from '../kernels/conv2d.js';
import { checkTile, convTileSource } from '../kernels/conv-tile.js';
import { flatTileSource } from '../kernels/conv-flat.js';
import { convWideSource } from '../kernels/conv-wide.js';
import { weightWideSource } from '../kernels/conv-weight-wide.js';
import { DENSE_SUBGROUP, compileDense, defaultDenseTile, denseGemm, denseKernel, denseSubgroupFits, denseTileFits, type DenseKernelName, type DenseShape, type DenseTile } from '../kernels/dense.js';
import { Linear } from '../layers/linear.js';
import { conv2dBackwardWeightRef } from '../reference/conv2d.js';
import { Conv2d } from '../layers/conv2d.js';
import { ConvTranspose2d } from '../layers/conv-transpose2d.js';
import { OneD } from '../layers/one-d.js';
import { checkOptions, type ConvKernelName, type TileChooser, type TiledKernelName } from '../layers/layer.js';
import type { Module } from '../layers/sequential.js';
import { PLAN_OPTION_KEYS, planModel, planOptionsOf, type PlanOptions } from '../plan/plan.js';
import { partialSplitsCap } from '../plan/network.js';

export type TuneMode = 'off' | 'cached' | 'full';
export const TUNE_MODES: readonly TuneMode[] = ['off', 'cached', 'full'];

export type TiledKernel = TiledKernelName;

/**
 * A tiled kernel a plan binds: its shape, the layers that share it, and its variant: the ReLU
 * epilogue, and (a training forward) the batch norm's statistics epilogue (STATS), which costs
 * some tiles far more than others.
 */
export type TiledUse = ConvUse | DenseUse;
/**
 * A conv kernel of a plan at a shape, and the variant its layers bind: `relu` (the forward's ReLU
 * epilogue), `stats` (the forward's batch-norm statistics), `pool` (the forward's max pool),
 * `bias` (the forward's BIAS, the weight gradient's bias sums), `reluMask` (the input gradient's
 * RELU_MASK).
 */
export type ConvUse = {
  readonly kernel: ConvKernelName;
  readonly params: Conv2dParams;
  readonly layers: string[];
  readonly relu: boolean;
  readonly stats: boolean;
  readonly pool: boolean;
  readonly bias: boolean;
  readonly reluMask: boolean;
};
export type DenseUse = { readonly kernel: DenseKernelName; readonly params: DenseShape; readonly layers: string[]; readonly relu: false; readonly stats: false; readonly pool: false; readonly bias: false; readonly reluMask: false };
const isDenseUse = (use: TiledUse): use is DenseUse => isDenseKernel(use.kernel);

/** Whether a kernel is one of the dense (Linear) ones. */
export const isDenseKernel = (kernel: TiledKernel): kernel is DenseKernelName => kernel.startsWith('dense_');

/** One tuned (kernel, shape): the tile chosen and what it measured. */
export type TuneEntry = TuneMeasures &
  (
    | { readonly kernel: 'conv2d_forward' | 'conv2d_backward_input'; readonly params: Conv2dParams; readonly tile: ConvTile }
    | {
        readonly kernel: 'conv2d_backward_weight';
        readonly params: Conv2dParams;
        readonly tile: WeightTile;
        /**
         * The tile that runs, where it is not `tile`: more rows a split, so that the network's
         * shared workspace holds every layer's partial sums in one binding (partialSplitsCap in
         * src/plan/network.ts; weightTileWithin). Deep nets with a GPU's many-split tiles.
         */
        readonly runsWith?: WeightTile;
      }
    | { readonly kernel: DenseKernelName; readonly params: DenseShape; readonly tile: DenseTile }
  );

interface TuneMeasures {
  /** The layer paths that share this (kernel, shape). */
  readonly layers: readonly string[];
  /** Median GPU ms of the chosen tile, and of the default tile. */
  readonly ms: number;
  readonly defaultMs: number;
  readonly gflops: number;
  /** Candidates timed (0: taken from the cache). */
  readonly tried: number;
  readonly rejected: number;
  readonly cached: boolean;
}

/** Where tuning choices persist (Node: a JSON file under the user's cache directory; browser: IndexedDB). */
export interface TuningStore {
  readonly location: string;
  load(): Promise<Record<string, StoredChoice>>;
  save(entries: Record<string, StoredChoice>): Promise<void>;
}

export interface StoredChoice {
  readonly tile: ConvTile | WeightTile | DenseTile;
  readonly ms: number;
  readonly defaultMs: number;
}

/** FNV-1a, 32 bits, as 8 hex digits: the kernel source's identity in cache keys. */
export function fnv1a(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, '0');
}

/**
 * WGSL as the compiler sees it: without comments, whitespace runs as one space. What the cache keys
 * hash, so that a comment edited in a template keeps the choices tuned for its code (a tuning of
 * the seed CNN is ~30 s on lavapipe, and a retune on a busy machine can pick worse tiles).
 */
export function wgslCode(source: string): string {
  return source
    .replace(/\/\*[\s\S]*?\*\//g, ' ')
    .replace(/\/\/[^\n]*/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

/** The generated source's identity: the template and the generator's output for a fixed probe variant (code only). */
export const KERNEL_SOURCE_HASH = fnv1a(wgslCode(
  [forwardSource, backwardInputSource, backwardWeightSource, weightReduceSource, weightDySource, pointwiseWeightSource, pointwiseTileSource(12), pointwiseInputSource, pointwiseInputBody(10, 32), ...(['forward', 'input'] as const).map((direction) =>
    convTileSource({ direction, tile: { rows: 2, channels: 8, workgroup: 64 }, kernelH: 3, kernelW: 3, stride: 1, padding: 1, relu: direction === 'forward' }),
  ), convTileSource({ direction: 'forward', tile: { rows: 2, channels: 8, workgroup: 64 }, kernelH: 3, kernelW: 3, stride: 1, padding: 1, pool: true }), weightTileSource(12, 9),
  flatTileSource({ tile: { rows: 2, channels: 8, workgroup: 64, flat: true }, inChannels: 2, height: 8, width: 8, kernelH: 3, kernelW: 3, stride: 1, padding: 1, outHeight: 8, outWidth: 8, relu: true }),
  ...(['forward', 'input'] as const).map((direction) =>
    convWideSource({ direction, tile: { rows: 2, channels: 8, workgroup: 64, wide: true }, kernelH: 3, kernelW: 3, stride: 1, padding: 1, relu: direction === 'forward' }, { outH: 6, outW: 6, inH: 6, inW: 6 }),
  ), wideWeightSource, weightWideSource({ inChannels: 10, height: 6, width: 6, outHeight: 6, outWidth: 6, padding: 1 }, 12, 4)].join('\n'),
));

/** The dense kernels' identity: their entry points and the skeleton (code only). */
export const DENSE_SOURCE_HASH = fnv1a(wgslCode(
  (['dense_forward', 'dense_backward_input', 'dense_backward_weight'] as const).flatMap((k) => [denseKernel(k, { rows: 2, cols: 4, workgroup: 64 }).sourceFor(), denseKernel(k, { rows: 8, cols: 8, workgroup: 64, subgroup: true }).sourceFor({ SUBGROUP: true })]).join('\n'),
));

export function adapterKey(ctx: GpuContext): string {
  const a = ctx.adapter;
  return [a.vendor, a.architecture, a.device, a.description].join('/');
}

const shapeKey = (p: Conv2dParams | DenseShape) =>
  'inFeatures' in p
    ? `b${p.batch} ${p.inFeatures}->${p.outFeatures}`
    : `b${p.batch} ${p.inChannels}x${p.height}x${p.width}->${p.outChannels}x${p.outHeight}x${p.outWidth} k${p.kernelH}x${p.kernelW} s${p.stride} p${p.padding}`;

/**
 * The cache's key of a (kernel, shape) on this adapter: `stats`, a forward timed with its
 * statistics epilogue; `pool`, with its max-pool epilogue; `bias`, with its bias (forward, weight
 * gradient); `reluMask`, an input gradient with the ReLU mask.
 */
export function cacheKey(ctx: GpuContext, kernel: TiledKernel, p: Conv2dParams | DenseShape, stats = false, pool = false, bias = false, reluMask = false): string {
  const variant = `${stats ? '+stats' : ''}${pool ? '+pool' : ''}${bias ? '+bias' : ''}${reluMask ? '+relumask' : ''}`;
  return `${adapterKey(ctx)}|${kernel}${variant}|${isDenseKernel(kernel) ? DENSE_SOURCE_HASH : KERNEL_SOURCE_HASH}|${shapeKey(p)}`;
}

/** A use's cache key (cacheKey with its variant). */
const useKey = (ctx: GpuContext, k: TiledUse) => cacheKey(ctx, k.kernel, k.params, k.stats, k.pool, k.bias, k.reluMask);

const directionOf = (kernel: ConvKernelName): ConvDirection => (kernel === 'conv2d_forward' ? 'forward' : 'input');

/** Whether a (stored) tile can run a kernel at a shape on an adapter with subgroups of this size (a SUBGROUP dense tile: denseSubgroupFits). */
function fitsKernel(use: TiledUse, t: ConvTile | WeightTile | DenseTile, subgroupSize: number | undefined): boolean {
  if (typeof t !== 'object' || t === null) return false;
  if (isDenseUse(use)) return 'cols' in t && denseTileFits(t) && (!t.subgroup || denseSubgroupFits(use.kernel, use.params, subgroupSize));
  if (!('channels' in t)) return false;
  if (use.kernel === 'conv2d_backward_weight') return 'taps' in t && weightTileFits(use.params, t, subgroupSize);
  // A forward with the max-pool epilogue runs whole windows: an even number of rows (and neither a whole-row nor a row-wide tile).
  return !('taps' in t) && tileFits(use.params, directionOf(use.kernel), t) && (!use.pool || (t.rows % 2 === 0 && !t.flat && !t.wide && !t.edges));
}

/** Multiply-adds ×2 of a kernel at a shape. */
export function flopsOf(use: TiledUse): number {
  if (isDenseUse(use)) {
    const { m, n, k } = denseGemm(use.kernel, use.params);
    return 2 * m * n * k;
  }
  const p = use.params;
  return 2 * p.batch * p.outChannels * p.outHeight * p.outWidth * p.inChannels * p.kernelH * p.kernelW;
}

/**
 * The (kernel, shape) pairs of a model's plan at a batch: every Conv2d's and Linear's forward, its
 * weight gradient where it is trained, and its input gradient where one flows; and the dense
 * kernels a layer runs for its own ends (Layer.denseUses: an LSTM's, a GRU's, an attention's).
 */
export function tiledKernelsOf(model: Module, options: PlanOptions & { batch: number; training?: boolean }): TiledUse[] {
  const plan = planModel(model, planOptionsOf(options));
  const firstTrained = plan.scheduled.findIndex((n) => n.parameters.length > 0);
  const found = new Map<string, TiledUse>();
  // A kernel use with no epilogue, shared by the layers of its shape.
  const addPlain = (kernels: readonly (DenseKernelName | ConvKernelName)[], params: TiledUse['params'], path: string) => {
    for (const kernel of kernels) {
      const key = `${kernel}|${shapeKey(params)}`;
      const entry = found.get(key) ?? ({ kernel, params, layers: [], relu: false, stats: false, pool: false, bias: false, reluMask: false } as TiledUse);
      entry.layers.push(path);
      found.set(key, entry);
    }
  };
  plan.scheduled.forEach((planNode, i) => {
    // A 1-D layer runs its 2-D counterpart on the [C, 1, L] view (a Conv1d: a Conv2d's kernels, tuned alike).
    const node = OneD.view(planNode);
    // A layer that runs dense kernels for its own ends (an LSTM's projections, an attention's).
    const trains = options.training !== false && firstTrained >= 0;
    const uses = node.layer.denseUses(node.inShape, options.batch, { training: trains && i >= firstTrained, inputGradient: trains && i > firstTrained });
    if (uses.length > 0) {
      for (const use of uses) addPlain([use.kernel], use.params, node.path);
      return;
    }
    // A Linear, or a conv that is one in effect (Conv2d.runsAsDense: the layer runs the dense kernels).
    const dense =
      node.layer instanceof Linear ? node.layer.outFeatures : node.layer instanceof Conv2d && node.layer.runsAsDense(node.inShape, node.flags.statsEpilogue) ? node.layer.outChannels : undefined;
    if (dense !== undefined) {
      // A Linear over leading dimensions ([L, in]) runs batch · L rows (lowerDense's rowsPerSample).
      const rows = node.layer instanceof Linear ? node.inShape.slice(0, -1).reduce((a, v) => a * v, 1) : 1;
      const params: DenseShape = { batch: options.batch * rows, inFeatures: node.layer instanceof Linear ? node.inShape[node.inShape.length - 1]! : node.inShape[0]!, outFeatures: dense };
      const kernels: DenseKernelName[] = ['dense_forward'];
      if (options.training !== false && i >= firstTrained && firstTrained >= 0) kernels.push('dense_backward_weight');
      if (options.training !== false && i > firstTrained && firstTrained >= 0) kernels.push('dense_backward_input');
      addPlain(kernels, params, node.path);
      return;
    }
    // A ConvTranspose2d on the tiled kernels (ConvTranspose2d.tiled) runs its conv's with their
    // roles turned round: its forward the conv's input gradient (in eval too), its input gradient
    // the conv's forward, no epilogue either way.
    if (node.layer instanceof ConvTranspose2d && node.layer.tiled) {
      const params = node.layer.tiledParams(node.inShape, options.batch);
      const kernels: ConvKernelName[] = ['conv2d_backward_input'];
      if (options.training !== false && i > firstTrained && firstTrained >= 0) kernels.push('conv2d_forward');
      if (options.training !== false && i >= firstTrained && firstTrained >= 0) kernels.push('conv2d_backward_weight');
      addPlain(kernels, params, node.path);
      return;
    }
    // A conv of another geometry (Conv2d.tiled false) runs the direct kernels: nothing to tune.
    if (!(node.layer instanceof Conv2d) || !node.layer.tiled) return;
    const params = node.layer.params(node.inShape, options.batch);
    const kernels: TiledKernel[] = ['conv2d_forward'];
    if (options.training !== false && i > firstTrained && firstTrained >= 0) kernels.push('conv2d_backward_input');
    if (options.training !== false && i >= firstTrained && firstTrained >= 0) kernels.push('conv2d_backward_weight');
    // The variant the layer binds (the ReLU epilogue, and in training the
    // statistics of a batch norm after it): the one timed, so its pipeline is the one compiled
    // (and in the driver's shader cache) before the run starts. The epilogue changes which tile is
    // fastest: convblock1 of the seed CNN (1 → 16 channels), timed with it, 3.34 ms with the 1 × 16
    // tile chosen without it and 2.42 with 8 × 8; convblock7 4 × 16 1.51, 2 × 8 1.11
    // (docs/speed-log.md, eleventh sitting). The layer binds one forward tile for both modes: the
    // training one decides.
    const relu = node.flags.reluEpilogue === true;
    const stats = node.flags.statsEpilogue === true && options.training !== false;
    // The max pool stored by the forward (maxpool-epilogue), in both modes: tiles of even rows.
    const pool = node.flags.poolEpilogue === true;
    // The bias (the forward adds it, the weight gradient sums its gradient) and the ReLU before
    // the layer (relu-grad-in-input-gradient: its input gradient stores dx only where that ReLU's
    // output is positive): timed with them too.
    const bias = node.layer.bias;
    const reluMask = node.flags.reluInput === true;
    for (const kernel of kernels) {
      const key = `${kernel}|${shapeKey(params)}`;
      const forward = kernel === 'conv2d_forward';
      const entry = (found.get(key) as ConvUse | undefined) ?? { kernel: kernel as ConvKernelName, params, layers: [], relu: forward && relu, stats: false, pool: false, bias: false, reluMask: false };
      entry.layers.push(node.path);
      // Layers of one shape share a tile: timed with the epilogue if any of them has it (with the
      // max pool's where one has each: its tiles of even rows serve the statistics too, and a
      // kernel has one or the other).
      const withPool = entry.pool || (forward && pool);
      found.set(key, {
        ...entry,
        stats: !withPool && (entry.stats || (forward && stats)),
        pool: withPool,
        bias: entry.bias || (kernel !== 'conv2d_backward_input' && bias),
        reluMask: entry.reluMask || (kernel === 'conv2d_backward_input' && reluMask),
      });
    }
  });
  return [...found.values()];
}

/**
 * The tiles tried after the default, in order: those that won somewhere in sweeps over the seed
 * CNN's convs on lavapipe (rows 1–8 × channels 8–32 × workgroups 32–128; the workgroup size moved
 * times by under 10 %, so it stays 64; 4 × 8 and 2 × 32 never won and were dropped). Each
 * candidate costs a compile: lavapipe JIT-compiles a pipeline at its first dispatch, 0.2 s from its
 * shader cache, seconds the first time on a machine.
 */
const PREFERRED: readonly Omit<ConvTile, 'workgroup'>[] = [
  { rows: 4, channels: 16 },
  { rows: 2, channels: 16 },
  { rows: 8, channels: 8 },
  { rows: 6, channels: 8 },
  { rows: 2, channels: 8 },
  // For larger kernels (5×5 and up), where the tiles above unroll too much:
  { rows: 1, channels: 16 },
  { rows: 4, channels: 4 },
  { rows: 1, channels: 8 },
];

/** At most this many tiles are timed per (kernel, shape), the default included. */
export const MAX_CANDIDATES = 7;

/**
 * Below this many ms the default tile is kept untried: nothing to win that pays for a compile.
 * On a CPU adapter (convblock6's forward of the seed CNN, 0.95 ms with its statistics epilogue,
 * took 0.66 with the 1 × 16 tile: 0.3 ms a step, some 3 s of a 20-epoch run, for about 1.5 s of
 * lavapipe's compiles). On a hardware GPU a step is a few ms, so a 0.1 ms kernel is a few per cent
 * of it, and the defaults are shaped for a CPU's two threads: on an H200 at batch 128 every
 * forward and most input gradients kept them as "under 0.5 ms" (0.07–0.2 ms each, 1 % of the
 * probe), while the one input gradient tuned there, convblock2's, went from 0.92 ms to 0.26 with
 * 2 × 8 (docs/speed-log.md, eighteenth sitting). There the bar is 0.05 ms (not yet measured on a
 * GPU: the tuning may take longer, and a run's tuning budget bounds it).
 */
export function notWorthMs(adapter: { readonly software: boolean }): number {
  return adapter.software ? 0.5 : 0.05;
}

/** Whether a tile can run a (direction, shape): a valid tile, within the unroll budget, and whose packed weights fit. */
export function tileFits(p: Conv2dParams, direction: ConvDirection, t: ConvTile): boolean {
  if (t.flat !== undefined && typeof t.flat !== 'boolean') return false;
  if (t.edges !== undefined && typeof t.edges !== 'boolean') return false;
  if (t.pointwise !== undefined && t.pointwise !== false) return direction === 'input' && !t.flat && !t.wide && !t.edges && pointwiseInputFits(p, t);
  try {
    if (t.wide !== undefined && typeof t.wide !== 'boolean') return false;
    if (t.flat && t.wide) return false;
    if (t.flat) {
      if (convFlatProblem(p, direction, t) !== undefined || !(t.workgroup >= 1 && t.workgroup <= 256 && Number.isInteger(t.workgroup))) return false;
      convSlices(p, direction, t);
      return true;
    }
    if (t.wide) {
      checkTile({ ...t, rows: 1, channels: 4 }, p.kernelH * p.kernelW);
      if (!(Number.isInteger(t.channels) && t.channels >= 4 && t.channels % 4 === 0) || wideTileProblem(p, direction, t) !== undefined) return false;
    } else checkTile(t, p.kernelH * p.kernelW);
    if (t.edges && edgesTileProblem(p, direction, t) !== undefined) return false;
    convSlices(p, direction, t);
    return true;
  } catch {
    return false;
  }
}

/**
 * Whole-row tiles (ConvTile.flat, src/kernels/conv-flat.ts) a forward may try: a first layer's
 * (1–4 input channels, stride 1, input width a multiple of 4), the fewest rows whose elements are
 * a multiple of 4, up to 16 channels, at workgroups 64 and 32. The seed CNN's convblock1 (1 → 16,
 * 28 × 28, batch 128), with its ReLU and statistics, alternated in one process on lavapipe: 2 rows
 * × 16 channels 1.54 ms (min of 10) against 2.69 for the tuned 4 × 16 tile, the same output bits.
 */
export function flatCandidates(p: Conv2dParams, direction: ConvDirection): ConvTile[] {
  if (direction !== 'forward') return [];
  const rows = [1, 2, 4].find((r) => (r * p.outWidth) % 4 === 0);
  if (rows === undefined) return [];
  const channels = Math.min(16, Math.ceil(p.outChannels / 4) * 4);
  return [64, 32].map((workgroup): ConvTile => ({ rows, channels, workgroup, flat: true })).filter((t) => tileFits(p, direction, t));
}

/** Whether the tiles generated for a layer's sizes (pointwise, whole-row, row-wide) are offered: a software adapter with subgroups of 8 (lavapipe). */
export function generatedTilesMeasured(adapter: { readonly software: boolean; readonly subgroupSize?: number } | undefined): boolean {
  return adapter?.software === true && adapter.subgroupSize === 8;
}

/** Produced columns up to which a layer's row-wide tiles (ConvTile.wide) are tried: the small planes. */
export const WIDE_MAX_COLUMNS = 16;

/**
 * Candidate tiles for a (kernel, shape), in the order they are tried: the default first. On a
 * software adapter with subgroups of 8 (`adapter`: lavapipe, where they were measured) also the
 * tiles generated for a layer's sizes: the input gradient of a 1×1, stride-1, unpadded layer's
 * pointwise tile (pointwiseInputTile; its default there); an input gradient's default tile on its
 * plane's whole blocks with the rows and columns left over on edge kernels (ConvTile.edges, where
 * the plane is not whole blocks: convblock2's dx of 26 × 26, 10.2 ms against 11.8 for its 4 × 16
 * tile alone, alternated); the whole-row tiles where they fit (a
 * first layer's forward: flatCandidates); for a small plane (stride 1, rows of at most
 * WIDE_MAX_COLUMNS), row-wide tiles (2 rows × 8 channels, the whole plane × 4 channels, half of it
 * × 8 channels: at batch 128 the seed CNN's convblock4–7 chose among these, e.g. convblock7's
 * forward 0.27 ms against 0.49 for its tuned 4-column tile, convblock5's input gradient 0.63
 * against 0.92). Then the 4-column PREFERRED. (The generated tiles have plain paths and are tested
 * on a device described without subgroups; on Chromium's SwiftShader a page's tuning lost its
 * device among them, thirty-sixth sitting, so other adapters are not offered them.)
 */
export function candidateTiles(p: Conv2dParams, direction: ConvDirection, adapter?: { readonly software: boolean; readonly subgroupSize?: number }): ConvTile[] {
  const g = convGemm(p, direction);
  const out: ConvTile[] = [defaultConvTile(p, direction, adapter)];
  const fits = (t: ConvTile) => tileFits(p, direction, t);
  if (generatedTilesMeasured(adapter)) {
    if (direction === 'input' && pointwiseInputProblem(p) === undefined && !out[0]!.pointwise) out.push(pointwiseInputTile(p));
    // The default's 4-column tile on its whole blocks, the rest of the plane on edge kernels (an input gradient whose plane is not whole blocks).
    const edges: ConvTile = { ...out[0]!, edges: true };
    if (!out[0]!.pointwise && edgesTileProblem(p, direction, edges) === undefined && fits(edges)) out.push(edges);
    out.push(...flatCandidates(p, direction));
  }
  if (generatedTilesMeasured(adapter) && p.stride === 1 && g.cols <= WIDE_MAX_COLUMNS) {
    for (const [rows, channels] of [[2, 8], [g.rows, 4], [Math.ceil(g.rows / 2), 8]] as const) {
      const t: ConvTile = { rows: Math.min(rows, g.rows), channels: Math.min(channels, Math.max(4, Math.ceil(g.produce / 4) * 4)), workgroup: 64, wide: true };
      if (fits(t) && !out.some((o) => o.wide && o.rows === t.rows && o.channels === t.channels)) out.push(t);
    }
  }
  const channelCap = Math.max(4, Math.ceil(g.produce / 4) * 4);
  for (const { rows, channels } of PREFERRED) {
    const t = { rows, channels, workgroup: 64 };
    if (rows > Math.max(1, g.rows) || channels > channelCap) continue;
    if (fits(t) && !out.some((o) => !o.pointwise && !o.flat && !o.wide && o.rows === rows && o.channels === channels && o.workgroup === 64)) out.push(t);
  }
  return out.slice(0, MAX_CANDIDATES);
}

/**
 * Weight-gradient candidates after the default: dy shared in subgroups with the tap groups padded
 * (where the adapter's subgroups are 8 invocations, the groups are not a multiple of 8 and padding
 * at most doubles them: convblock4 of the seed CNN, 10 groups in 16 slots, 1.57 ms against 2.49
 * for the best tile without; convblock3, 2 in 8, 13.4 against 3.8); rows per split ×2; the other
 * tap count (9 ↔ 18, where the layer has more than 9 taps) and 8 output channels (16 where the
 * default has 8 or fewer), each at its own default split; rows ×½; workgroup 128; rows ×4. On
 * lavapipe the register tile decided most (convblock2 of the seed CNN: 16 channels × 18 taps
 * 28 ms, × 9 taps 20 ms); rows ×2 gained 10–15 % at convblock2 with the old 16 × 18 tile; the
 * workgroup size mattered less, and differently per shape. On a hardware GPU (`hardware`) the
 * default's register tile at GPU_WEIGHT_TASKS invocations comes first (gpuWeightTiles, the first
 * of them the GPU's default tile), then the CPU adapters' default: its few splits leave most of a
 * GPU idle. A 1×1, stride-1, unpadded layer on an adapter with subgroups of 8 tries the pointwise
 * kernel's tiles first (the default on a software adapter; convblock3 of the seed CNN 2.2–2.6 ms
 * against 4.3–4.4 for the other kernel's tuned tile), then the others. A software adapter with
 * subgroups of 8 tries a small plane's row-wide tiles first (conv2d_backward_weight_wide: the seed
 * CNN's convblock4–7, 0.56–1.10 ms against 0.71–1.62 for their tuned tiles of the other kernel,
 * the same bits).
 */
export function candidateWeightTiles(p: Conv2dParams, subgroupSize?: number, hardware = false): WeightTile[] {
  const d = defaultWeightTile(p);
  const out: WeightTile[] = [];
  const add = (t: WeightTile) => {
    const same = (o: WeightTile) => o.rows === t.rows && o.channels === t.channels && o.taps === t.taps && o.workgroup === t.workgroup && !o.shareDy === !t.shareDy && !o.pointwise === !t.pointwise && !o.wide === !t.wide;
    if (weightTileFits(p, t, subgroupSize) && !out.some(same)) out.push(t);
  };
  // On a GPU the default is the first of gpuWeightTiles; the CPU adapters' default follows them.
  if (hardware) for (const t of gpuWeightTiles(p, d, subgroupSize)) add(t);
  // A 1×1, stride-1, unpadded layer with subgroups of 8: the pointwise tile (a software adapter's
  // default), its rows ×2 and ×½ and the other channel count.
  if (pointwiseWeightFits(p, subgroupSize)) {
    const w = pointwiseWeightTile(p);
    const rows = (f: number) => Math.max(1, Math.min(p.batch * p.outHeight, Math.round(w.rows * f)));
    add(w);
    add({ ...w, rows: rows(2) });
    add({ ...w, rows: rows(0.5) });
    add({ ...w, channels: w.channels > 8 ? 8 : 16, rows: conv2dSplitPixels(p, undefined, { channels: w.channels > 8 ? 8 : 16, taps: POINTWISE_TAPS }) / p.outWidth });
  }
  // A small plane (3×3, stride 1, at most WIDE_WEIGHT_MAX_COLUMNS columns) on a software adapter
  // with subgroups of 8: the row-wide tile (the default there), its rows ×2, ×4 and ×½, and the
  // other tap count (not measured on a GPU: not offered there).
  if (!hardware && wideWeightFits(p, subgroupSize) && p.outWidth <= WIDE_WEIGHT_MAX_COLUMNS) {
    const w = wideWeightTile(p);
    const rows = (f: number) => Math.max(1, Math.min(p.batch * p.outHeight, Math.round(w.rows * f)));
    add(w);
    add({ ...w, rows: rows(2) });
    add({ ...w, rows: rows(4) });
    add({ ...w, rows: rows(0.5) });
    const taps = w.taps === 9 ? 12 : 9;
    add({ ...w, taps, rows: conv2dSplitPixels(p, undefined, { channels: w.channels, taps }) / p.outWidth });
  }
  add(d);
  const [groups, padded] = [conv2dWeightTapSlots(p, d, subgroupSize), conv2dWeightTapSlots(p, { ...d, shareDy: true }, subgroupSize)];
  if (padded > groups && padded <= 2 * groups) add({ ...d, shareDy: true });
  const rows = (f: number) => Math.max(1, Math.min(p.batch * p.outHeight, Math.round(d.rows * f)));
  const registers = (channels: number, taps: number): WeightTile => ({ rows: conv2dSplitPixels(p, undefined, { channels, taps }) / p.outWidth, channels, taps, workgroup: 64 });
  add({ ...d, rows: rows(2) });
  if (p.inChannels * p.kernelH * p.kernelW > 9) add(registers(d.channels, d.taps === 9 ? 18 : 9));
  add(registers(d.channels > 8 ? 8 : 16, d.taps));
  add({ ...d, rows: rows(0.5) });
  add({ ...d, workgroup: 128 });
  add({ ...d, rows: rows(4) });
  return out.slice(0, MAX_CANDIDATES);
}

export interface TuneOptions extends PlanOptions {
  readonly batch: number;
  readonly mode: TuneMode;
  readonly store: TuningStore;
  /** Forward only (evaluation): no input-gradient kernels. */
  readonly training?: boolean;
  /**
   * Seconds of tuning after which no kernel starts: those not yet tuned keep their default tiles
   * for this run, uncached, so a later run tunes them (the biggest kernels, by FLOP, go first).
   * The kernel in progress finishes, so a run may go over by one kernel's tuning, and every run
   * makes progress. Absent: no limit.
   */
  readonly budgetSeconds?: number;
  readonly onProgress?: (done: number, total: number, label: string) => void;
}

export interface TuneResult {
  readonly entries: readonly TuneEntry[];
  readonly tiles: TileChooser;
  /** Seconds spent timing (0 when everything came from the cache). */
  readonly seconds: number;
  /** Kernels the budget left untuned: they run their default tiles, uncached (a later run tunes them). */
  readonly deferred: readonly TiledUse[];
}

/** Tunes (or looks up) every tiled kernel of a model's plan; returns the choices and a chooser for Network. */
export async function tuneModel(ctx: GpuContext, model: Module, options: TuneOptions): Promise<TuneResult> {
  checkOptions('tuneModel', options, [...PLAN_OPTION_KEYS, 'batch', 'mode', 'store', 'training', 'budgetSeconds', 'onProgress']);
  const kernels = tiledKernelsOf(model, options);
  const chosen = new Map<string, ConvTile | WeightTile | DenseTile>();
  const chooser = ((kernel: TiledKernel, params: Conv2dParams | DenseShape) => chosen.get(`${kernel}|${shapeKey(params)}`)) as TileChooser;
  if (options.mode === 'off') {
    return { entries: [], tiles: (() => undefined) as TileChooser, seconds: 0, deferred: [] };
  }
  const stored = await options.store.load();
  const found = new Map<TiledUse, TuneEntry>();
  const deferred: TiledUse[] = [];
  const started = performance.now();
  // A cached tile is used only if it still fits the shape (a hand-edited cache is not trusted).
  const cached = (k: TiledUse) => {
    const hit = stored[useKey(ctx, k)];
    return hit && options.mode === 'cached' && fitsKernel(k, hit.tile, ctx.adapter.subgroupSize) ? hit : undefined;
  };
  for (const k of kernels) {
    const hit = cached(k);
    if (!hit) continue;
    chosen.set(`${k.kernel}|${shapeKey(k.params)}`, hit.tile);
    found.set(k, { kernel: k.kernel, layers: k.layers, params: k.params, tile: hit.tile, ms: hit.ms, defaultMs: hit.defaultMs, gflops: flopsOf(k) / hit.ms / 1e6, tried: 0, rejected: 0, cached: true } as TuneEntry);
  }
  // The rest, biggest first: where a budget stops tuning, the kernels left are the cheap ones.
  const todo = kernels.filter((k) => !found.has(k)).sort((a, b) => flopsOf(b) - flopsOf(a));
  // Past it, no kernel starts; the one in progress finishes (so each run makes progress).
  const deadline = options.budgetSeconds === undefined ? Infinity : started + options.budgetSeconds * 1000;
  for (const [i, k] of todo.entries()) {
    const key = useKey(ctx, k);
    const flops = flopsOf(k);
    if (performance.now() >= deadline) {
      deferred.push(...todo.slice(i));
      break;
    }
    options.onProgress?.(i, todo.length, `${k.kernel} ${k.layers.join(', ')}`);
    const result = isDenseUse(k)
      ? await tuneDense(ctx, k.kernel, k.params)
      : k.kernel === 'conv2d_backward_weight'
        ? await tuneWeight(ctx, k.params, k.bias)
        : await tuneOne(ctx, directionOf(k.kernel), k.params, { relu: k.relu, stats: k.stats, pool: k.pool, bias: k.bias, reluMask: k.reluMask });
    stored[key] = { tile: result.tile, ms: result.ms, defaultMs: result.defaultMs };
    // Saved as each kernel is tuned: a run cut short (a time limit, Ctrl-C, a lost device)
    // keeps every choice made so far, and the next run tunes only the rest.
    await options.store.save(stored);
    chosen.set(`${k.kernel}|${shapeKey(k.params)}`, result.tile);
    found.set(k, { kernel: k.kernel, layers: k.layers, params: k.params, ...result, gflops: flops / result.ms / 1e6, cached: false } as TuneEntry);
  }
  options.onProgress?.(todo.length, todo.length, 'done');
  // In the plan's order; a weight tile as the network will run it, where its cap on the splits
  // (one per model and device) raises the rows a split.
  const cap = splitsCapOf(model, options, ctx.device.limits);
  const entries = kernels.flatMap((k): TuneEntry[] => {
    const e = found.get(k);
    if (!e) return [];
    if (e.kernel !== 'conv2d_backward_weight') return [e];
    const runs = weightTileWithin(e.params, e.tile, cap);
    return [runs === e.tile ? e : { ...e, runsWith: runs }];
  });
  return { entries, tiles: chooser, seconds: (performance.now() - started) / 1000, deferred };
}

/**
 * The network's cap on a layer's weight-gradient splits (partialSplitsCap), or undefined where the
 * model's parameters do not fit one binding: the network refuses that model itself, naming why.
 */
function splitsCapOf(model: Module, options: PlanOptions, limits: Parameters<typeof partialSplitsCap>[1]): number | undefined {
  try {
    return partialSplitsCap(planModel(model, planOptionsOf(options)), limits);
  } catch {
    return undefined;
  }
}

/** What tuning one kernel found. */
interface Tuned<T> {
  readonly tile: T;
  readonly ms: number;
  readonly defaultMs: number;
  readonly tried: number;
  readonly rejected: number;
}

/** Fixed pseudo-random data (a sine hash): a choice must not depend on the run. */
const tuningData = (n: number, salt: number) => Float32Array.from({ length: n }, (_, i) => Math.sin((i + salt) * 12.9898) * 0.5);

/** Challengers timed again after the first pass, besides the default, and how many more times each (see pickFastest). */
export const FINALISTS = 3;
export const FINAL_ROUNDS = 3;
/**
 * Below this many ms (the default's first timing) the finalists are not timed again: a wrong pick
 * there costs the step little, and the extra turns cost the tuning seconds. (It was 3 ms while
 * every turn read the output back; the finals' turns no longer do, so 1 ms: `tune --batch 128
 * --full` 24.2 s, against 22.4 before and 32.7 with the read-backs.)
 */
export const FINALS_WORTH_MS = 1;
/**
 * How much faster than the default (in the fastest of their turns) a challenger must be to replace
 * it. On lavapipe convblock2's forward tiles 4 × 16, 2 × 8, 1 × 16 and 8 × 8, alternated 21 times
 * in one run (before the polling fix of src/node/dawn-polling.ts, which halved every kernel's
 * time), had medians of 22.7–26.4 ms and minima of 18.7–20.0: they are level within this
 * machine's noise, and a pick among them by a few per cent is a coin toss that moves with each
 * retune.
 */
export const MARGIN = 0.05;

/**
 * Times `candidates` in order with `measure` (one tile run: its GPU ms, and its output where
 * `check` is set), the default first and alone: when it takes under `minMs` (the adapter's
 * notWorthMs) nothing else compiles. Of the candidates whose output `accepts` (given the
 * default's output), the FINALISTS fastest are then timed FINAL_ROUNDS more times together with
 * the default, in turn (default, a, b, c, default, a, b, c, …; their outputs are not read back
 * again), where the default took
 * FINALS_WORTH_MS or more. The challenger whose fastest turn is the fastest replaces the default
 * only where that turn is at least MARGIN below the default's fastest; below FINALS_WORTH_MS, the
 * fastest single timing does, where it is MARGIN below the default's.
 * Why turns, and why the fastest: a kernel's GPU time on a CPU adapter only grows when the
 * machine is busy (another tenant takes a core, and lavapipe's fixed halves wait for it), so each
 * tile's fastest turn is its own cost, and more turns only bring it closer. One pass alone judged
 * each candidate by one turn: on a machine whose bandwidth swung 2× within an hour, convblock2's
 * forward, tuned twice an hour apart, kept its default 4 × 16 at 33.4 ms the first time; the
 * second time that default read 46.6 ms in its turn and 2 × 8 won at 37.1 ms. The medians of 3
 * turns of 2 finalists (the ninth to the fifteenth sitting) left this machine's cache with
 * convblock2's input gradient at 4 × 16 (16.2 ms) where 2 × 8 takes 12.6–13.5: with a busy core
 * beside the tuner (a busy loop in bursts of 50–400 ms, 100–800 ms apart), five fresh tunings of
 * the seed CNN's convblock1–2 picked 2 × 8 three times, 2 × 16 (16.9 ms) and 4 × 16 (15.0) once
 * each; with 3 finalists, 3 more turns and the fastest turn, 2 × 8 four times and 1 × 16 (13.7)
 * once.
 * `prepare`, when given, is called once with the other candidates before they are timed (where
 * the default is worth tuning): it compiles their kernels together, which the driver does on
 * several threads, instead of one at a time between timings.
 */
export async function pickFastest<T>(
  candidates: readonly T[],
  measure: (tile: T, check: boolean) => Promise<{ ms: number; values?: Float32Array }>,
  accepts: (values: Float32Array, defaults: Float32Array) => boolean,
  prepare?: (tiles: readonly T[]) => Promise<unknown>,
  minMs = notWorthMs({ software: true }),
): Promise<Tuned<T>> {
  const defaultTile = candidates[0] as T;
  const first = await measure(defaultTile, true);
  const byDefault = { tile: defaultTile, ms: [first.ms] };
  const challengers: { tile: T; ms: number[] }[] = [];
  let tried = 1;
  let rejected = 0;
  if (first.ms >= minMs) {
    if (candidates.length > 1) await prepare?.(candidates.slice(1));
    for (const tile of candidates.slice(1)) {
      const { ms, values } = await measure(tile, true);
      tried++;
      if (!accepts(values!, first.values!)) rejected++;
      else challengers.push({ tile, ms: [ms] });
    }
  }
  // A stable sort: equal timings keep the candidates' order, so the choice stays deterministic.
  const ranked = [...challengers].sort((a, b) => a.ms[0]! - b.ms[0]!);
  let best = byDefault;
  if (first.ms < FINALS_WORTH_MS) {
    if (ranked.length > 0 && ranked[0]!.ms[0]! < (1 - MARGIN) * first.ms) best = ranked[0]!;
  } else if (ranked.length > 0) {
    const finalists = [byDefault, ...ranked.slice(0, FINALISTS)];
    for (let round = 0; round < FINAL_ROUNDS; round++) {
      for (const f of finalists) f.ms.push((await measure(f.tile, false)).ms);
    }
    const challenger = finalists.slice(1).reduce((a, b) => (fastest(b.ms) < fastest(a.ms) ? b : a));
    if (fastest(challenger.ms) < (1 - MARGIN) * fastest(byDefault.ms)) best = challenger;
  }
  return { tile: best.tile, ms: fastest(best.ms), defaultMs: fastest(byDefault.ms), tried, rejected };
}

const fastest = (xs: readonly number[]) => Math.min(...xs);

/** Times the candidates of one (direction, shape); the fastest whose output equals the default tile's. */
async function tuneOne(ctx: GpuContext, direction: ConvDirection, p: Conv2dParams, variant: { relu: boolean; stats: boolean; pool: boolean; bias: boolean; reluMask: boolean }): Promise<Tuned<ConvTile>> {
  const { relu, stats, pool, bias, reluMask } = variant;
  const scope = ctx.scoped(() => {
    const inLength = direction === 'forward' ? p.batch * p.inChannels * p.height * p.width : p.batch * p.outChannels * p.outHeight * p.outWidth;
    const pooledLength = p.batch * p.outChannels * Math.floor(p.outHeight / 2) * Math.floor(p.outWidth / 2);
    const outLength = pool ? pooledLength : direction === 'forward' ? p.batch * p.outChannels * p.outHeight * p.outWidth : p.batch * p.inChannels * p.height * p.width;
    const weightLength = p.outChannels * p.inChannels * p.kernelH * p.kernelW;
    return {
      input: ctx.tensor('tuning input', [inLength], { data: tuningData(inLength, 1) }),
      weight: ctx.tensor('tuning weight', [weightLength], { data: tuningData(weightLength, 2) }),
      output: ctx.tensor('tuning output', [outLength]),
      argmax: pool ? ctx.tensor('tuning argmax', [pooledLength], { dtype: 'u32' }) : undefined,
      bias: bias ? ctx.tensor('tuning bias', [p.outChannels], { data: tuningData(p.outChannels, 3) }) : undefined,
      // The ReLU's output the input gradient masks with: as long as dx, about half of it positive.
      reluOutput: reluMask ? ctx.tensor('tuning ReLU output', [outLength], { data: tuningData(outLength, 4) }) : undefined,
    };
  });
  const { input, weight, output, argmax, bias: biasTensor, reluOutput } = scope.value;
  try {
    const measure = async (tile: ConvTile, check: boolean) => {
      const run = ctx.scoped(() => ({
        packed: allocateConvPacked(ctx, 'tuning', p, direction, tile),
        moments: stats ? ctx.tensor('tuning moments', [p.outChannels * convStatsSlots(p, tile, convSharesWeights(ctx, tile)) * 3]) : undefined,
      }));
      let list: Dispatch[] = [];
      try {
        list = await bindConv2d(ctx, p, run.value.packed, { input, weight, output, stats: run.value.moments, argmax, bias: biasTensor, reluOutput }, { relu });
        if (check) ctx.fill(output, Number.NaN);
        const profile = await profileDispatches(ctx, list, { repeats: 4 });
        // Every dispatch but the packing (the first): a tile's kernels, per weight slice and (ConvTile.edges) per part of the plane; each a median of the 4 repeats.
        const ms = profile.dispatches.slice(1).reduce((sum, d) => sum + d.ms, 0);
        return { ms, values: check ? await ctx.read(output) : undefined };
      } finally {
        for (const d of list) d.destroy?.();
        run.destroy();
      }
    };
    // The kernels bindConv2d compiles for a tile (with the statistics epilogue where the layer has it), all at once.
    const prepare = (tiles: readonly ConvTile[]) =>
      Promise.all(tiles.flatMap((t) => conv2dKernels(p, direction, t, { relu, pool }).map((def) => ctx.compile(def, convVariant(ctx, p, direction, t, { stats, pool, bias, reluMask })))));
    // With the max-pool epilogue, each candidate as the layer would run it (poolTile: even rows), once.
    // With the max-pool epilogue, no whole-row tile (it stores the conv's output itself); a row-wide one becomes a 4-column tile (poolTile).
    const candidates = candidateTiles(p, direction, ctx.adapter).filter((t) => !(pool && t.flat)).map((t) => (pool ? poolTile(t, p.kernelH * p.kernelW) : t));
    const distinct = candidates.filter((t, i) => candidates.findIndex((u) => u.rows === t.rows && u.channels === t.channels && u.workgroup === t.workgroup && !u.flat === !t.flat && !u.wide === !t.wide && !u.pointwise === !t.pointwise && !u.edges === !t.edges) === i);
    return await pickFastest(distinct, measure, sameBits, prepare, notWorthMs(ctx.adapter));
  } finally {
    scope.destroy();
  }
}

/**
 * Dense candidates after the default, in order: outputs per invocation (rows × cols). On lavapipe
 * the MLP and LeNet-5 Linears chose 8 × 8, 8 × 4 or 4 × 8 (`webgpu-backprop tune --model
 * examples/mlp.json`): each load feeding more products paid most. A tile wider than the output
 * is skipped.
 */
const DENSE_PREFERRED: readonly Omit<DenseTile, 'workgroup'>[] = [
  { rows: 4, cols: 4 },
  { rows: 8, cols: 4 },
  { rows: 4, cols: 8 },
  { rows: 8, cols: 8 },
  { rows: 2, cols: 4 },
  { rows: 4, cols: 2 },
  { rows: 2, cols: 2 },
  { rows: 1, cols: 4 },
  { rows: 4, cols: 1 },
];

/**
 * Candidate tiles for a dense kernel at a shape, in the order they are tried: the default first;
 * with subgroups of 8 where the shape fits them, the subgroup tiles (8 × 4, 8 × 8) before the
 * plain ones.
 */
export function candidateDenseTiles(kernel: DenseKernelName, p: DenseShape, subgroupSize?: number): DenseTile[] {
  const { m, n } = denseGemm(kernel, p);
  const out: DenseTile[] = [defaultDenseTile(kernel, p, subgroupSize)];
  if (denseSubgroupFits(kernel, p, subgroupSize)) {
    for (const cols of [4, 8]) if (!out.some((o) => o.subgroup && o.cols === cols)) out.push({ rows: DENSE_SUBGROUP, cols, workgroup: 64, subgroup: true });
  }
  for (const { rows, cols } of DENSE_PREFERRED) {
    const t = { rows, cols, workgroup: 64 };
    if (rows > Math.max(1, m) || cols > Math.max(1, n)) continue;
    if (!out.some((o) => !o.subgroup && o.rows === rows && o.cols === cols && o.workgroup === 64)) out.push(t);
  }
  return out.slice(0, MAX_CANDIDATES);
}

/** Times the candidates of one dense (kernel, shape); the fastest whose output equals the default tile's, bit for bit. */
async function tuneDense(ctx: GpuContext, kernel: DenseKernelName, p: DenseShape): Promise<Tuned<DenseTile>> {
  const { batch, inFeatures, outFeatures } = p;
  const scope = ctx.scoped(() => ({
    x: ctx.tensor('tuning input', [batch * inFeatures], { data: tuningData(batch * inFeatures, 1) }),
    weight: ctx.tensor('tuning weight', [outFeatures * inFeatures], { data: tuningData(outFeatures * inFeatures, 2) }),
    dy: ctx.tensor('tuning output gradient', [batch * outFeatures], { data: tuningData(batch * outFeatures, 3) }),
    out: ctx.tensor('tuning output', [Math.max(batch * outFeatures, batch * inFeatures, outFeatures * inFeatures)]),
  }));
  const { x, weight, dy, out } = scope.value;
  try {
    const measure = async (tile: DenseTile, check: boolean) => {
      const bound =
        kernel === 'dense_forward'
          ? (await compileDense(ctx, kernel, tile)).bind({ x, weight, y: out }, p, 'tuning dense')
          : kernel === 'dense_backward_input'
            ? (await compileDense(ctx, kernel, tile)).bind({ dy, weight, dx: out }, p, 'tuning dense')
            : (await compileDense(ctx, kernel, tile)).bind({ dy, x, dweight: out }, p, 'tuning dense');
      if (check) ctx.fill(out, Number.NaN);
      const profile = await profileDispatches(ctx, [bound], { repeats: 4 }).finally(() => bound.destroy());
      return { ms: profile.dispatches[0]!.ms, values: check ? await ctx.read(out) : undefined };
    };
    return await pickFastest(candidateDenseTiles(kernel, p, ctx.adapter.subgroupSize), measure, sameBits, (tiles) => Promise.all(tiles.map((t) => compileDense(ctx, kernel, t))), notWorthMs(ctx.adapter));
  } finally {
    scope.destroy();
  }
}

/** Relative to the result's largest value, how far a weight-gradient candidate may be from float64 (the full-size check's bound). */
const WEIGHT_TOLERANCE = 1e-5;

/**
 * Times the weight-gradient candidates of one shape (the kernel and its reduce, summed); the
 * fastest whose result is as close to float64 as WEIGHT_TOLERANCE of its scale, or as the
 * default's (the default is the fallback).
 */
async function tuneWeight(ctx: GpuContext, p: Conv2dParams, bias: boolean): Promise<Tuned<WeightTile>> {
  const candidates = candidateWeightTiles(p, ctx.adapter.subgroupSize, !ctx.adapter.software);
  const weightLength = p.outChannels * p.inChannels * p.kernelH * p.kernelW;
  const maxSplits = Math.max(...candidates.map((t) => conv2dWeightSplits({ ...p, splitPixels: t.rows * p.outWidth })));
  const inLength = p.batch * p.inChannels * p.height * p.width;
  const outLength = p.batch * p.outChannels * p.outHeight * p.outWidth;
  const xData = tuningData(inLength, 1);
  const dyData = tuningData(outLength, 2);
  const scope = ctx.scoped(() => {
    return {
      x: ctx.tensor('tuning input', [inLength], { data: xData }),
      dy: ctx.tensor('tuning output gradient', [outLength], { data: dyData }),
      partial: ctx.tensor('tuning partial sums', [maxSplits * weightLength]),
      dweight: ctx.tensor('tuning weight gradient', [weightLength]),
      // With a bias, the kernel's variant that sums its gradient too (not reduced here: a few floats a split).
      biasPartial: bias ? ctx.tensor('tuning bias partial sums', [maxSplits * p.outChannels]) : undefined,
    };
  });
  const { x, dy, partial, dweight, biasPartial } = scope.value;
  try {
    const measure = async (tile: WeightTile, check: boolean) => {
      const q = conv2dWeightParams(p, tile, ctx.adapter.subgroupSize);
      const list = [
        (await ctx.compile(conv2dBackwardWeightKernel(tile, p), conv2dWeightVariant(q, tile, ctx.adapter.subgroupSize, bias))).bind({ x, dy, partial, ...(biasPartial ? { biasPartial } : {}) }, q, 'tuning weight gradient'),
        await bindConvReduction(ctx, [{ partial, dweight, length: weightLength, splits: conv2dWeightSplits(q) }], 'tuning weight gradient reduce'),
      ];
      if (check) ctx.fill(dweight, Number.NaN);
      const profile = await profileDispatches(ctx, list, { repeats: 4 }).finally(() => list.forEach((d) => d.destroy()));
      return { ms: profile.dispatches.reduce((sum, d) => sum + d.ms, 0), values: check ? await ctx.read(dweight) : undefined };
    };
    // The float64 result the candidates must match, and the bound, from the first candidate
    // judged (computed once, seconds for the largest convs; never when the default is too quick
    // to tune). The bound: 1e-5 of the scale, or the default's own error where that is larger (on
    // this data, sums of 73,728 products that cancel, the default is 2.6e-5 of the scale off at
    // convblock2): no candidate is less accurate than the kernel the tests hold.
    let judge: { reference: Float64Array; bound: number } | undefined;
    const accepts = (values: Float32Array, defaults: Float32Array) => {
      if (!judge) {
        const reference = conv2dBackwardWeightRef(dyData, xData, p);
        const largest = reference.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
        judge = { reference, bound: Math.max(WEIGHT_TOLERANCE * largest, maxError(defaults, reference)) };
      }
      return maxError(values, judge.reference) <= judge.bound;
    };
    const prepare = (tiles: readonly WeightTile[]) =>
      Promise.all(tiles.map((t) => ctx.compile(conv2dBackwardWeightKernel(t, p), conv2dWeightVariant(p, t, ctx.adapter.subgroupSize, bias))));
    return await pickFastest(candidates, measure, accepts, prepare, notWorthMs(ctx.adapter));
  } finally {
    scope.destroy();
  }
}

/** The largest |a − b|; NaN (an element not written) counts as infinitely far. */
function maxError(a: Float32Array, b: Float64Array): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    if (!(d <= worst)) worst = Number.isNaN(d) ? Infinity : d;
  }
  return worst;
}

function sameBits(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  const x = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const y = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}

/** Milliseconds with two decimals, or two significant digits below 0.1 ms (a GPU's kernels: 0.0043). */
export function formatMs(ms: number): string {
  return ms >= 0.1 || ms === 0 || !Number.isFinite(ms) ? ms.toFixed(2) : ms.toPrecision(2);
}

/** The tuning table: kernel, layers, shape, tile, ms, GFLOP/s, share of the FMA probe. */
export function formatTuneTable(entries: readonly TuneEntry[], fmaGflops?: number): string {
  const shape = (e: TuneEntry) =>
    'inFeatures' in e.params
      ? `${e.params.inFeatures}→${e.params.outFeatures}`
      : `${e.params.inChannels}→${e.params.outChannels} ${e.params.height}×${e.params.width} k${e.params.kernelH}×${e.params.kernelW}`;
  const tile = (e: TuneEntry) =>
    'cols' in e.tile
      ? `${e.tile.rows}×${e.tile.cols} outputs wg${e.tile.workgroup}${e.tile.subgroup ? ' subgroup' : ''}`
      : e.kernel === 'conv2d_backward_weight'
        ? describeWeightTile(e.tile) + (e.runsWith ? ` (runs ${e.runsWith.rows} rows a split: the workspace's cap)` : '')
        : e.tile.flat
          ? `${e.tile.rows} whole rows×${e.tile.channels}ch wg${e.tile.workgroup}`
          : e.tile.pointwise
            ? `1×1 quad×${e.tile.channels}ch wg${e.tile.workgroup}`
            : `${e.tile.rows}r×${e.tile.wide ? 'row' : '4c'}×${e.tile.channels}ch wg${e.tile.workgroup}`;
  const rows = entries.map((e) => [
    e.kernel,
    e.layers.join(', '),
    shape(e),
    tile(e),
    formatMs(e.ms),
    formatMs(e.defaultMs),
    Number.isFinite(e.gflops) ? e.gflops.toFixed(1) : '—',
    fmaGflops && Number.isFinite(e.gflops) ? `${((100 * e.gflops) / fmaGflops).toFixed(0)} %` : '',
    e.cached ? 'cached' : `${e.tried} tried${e.rejected ? `, ${e.rejected} rejected` : ''}`,
  ]);
  const head = ['kernel', 'layers', 'shape', 'tile', 'ms', 'default ms', 'GFLOP/s', 'of FMA probe', 'source'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(head), ...rows.map(line)].join('\n');
}
