/**
 * Dense (fully connected) layer: y = x · Wᵀ (+ bias, then ReLU: dense_forward's variants BIAS,
 * RELU), W in PyTorch's [out, in] layout; the bias's gradient from the weight gradient's kernel
 * (dense_backward_weight's ROW_SUMS).
 * Kernels: shaders/dense_forward.wgsl, dense_backward_input.wgsl, dense_backward_weight.wgsl,
 * each an entry point over one register-tiled skeleton (shaders/lib/matmul.wgsl) whose tile
 * (outputs per invocation, workgroup size) is a parameter: `denseKernel`, the tuner's candidates
 * (src/tune/tuner.ts). Every tile sums in the same order, so all give the same bits.
 * CPU reference: src/reference/dense.ts.
 */
import { defineKernel, resolveDefines, type KernelDef } from '../gpu/kernel.js';
import forwardSource from '../../shaders/dense_forward.wgsl?raw';
import backwardInputSource from '../../shaders/dense_backward_input.wgsl?raw';
import backwardWeightSource from '../../shaders/dense_backward_weight.wgsl?raw';
import matmulSource from '../../shaders/lib/matmul.wgsl?raw';
import reluSource from '../../shaders/lib/relu.wgsl?raw';

const denseParams = { batch: 'u32', inFeatures: 'u32', outFeatures: 'u32' } as const;
export type DenseShape = { readonly batch: number; readonly inFeatures: number; readonly outFeatures: number };

/** The dense kernels, by name. */
export type DenseKernelName = 'dense_forward' | 'dense_backward_input' | 'dense_backward_weight';

/** A dense kernel's tile: `rows` × `cols` outputs per invocation (≤ MAX_DENSE_TILE each), `workgroup` invocations a workgroup. */
export interface DenseTile {
  readonly rows: number;
  readonly cols: number;
  readonly workgroup: number;
}

/** The largest rows or columns of a dense tile (the registers of a tile grow as their product). */
export const MAX_DENSE_TILE = 8;
/** Workgroup sizes the dense kernels compile for. */
export const DENSE_WORKGROUPS = [32, 64, 128, 256] as const;

/** The output a dense kernel computes, as the skeleton's m × n (its rows and columns), and its sum's length k. */
export function denseGemm(kernel: DenseKernelName, p: DenseShape): { m: number; n: number; k: number } {
  if (kernel === 'dense_forward') return { m: p.batch, n: p.outFeatures, k: p.inFeatures };
  if (kernel === 'dense_backward_input') return { m: p.batch, n: p.inFeatures, k: p.outFeatures };
  return { m: p.outFeatures, n: p.inFeatures, k: p.batch };
}

/** The tile used where none is tuned: 4 × 4 outputs (fewer where the output is narrower), 64 invocations. */
export function defaultDenseTile(kernel: DenseKernelName, p: DenseShape): DenseTile {
  const { m, n } = denseGemm(kernel, p);
  return { rows: Math.min(4, m), cols: Math.min(4, n), workgroup: 64 };
}

/** Whether a tile is one the dense kernels compile (whole sizes 1–MAX_DENSE_TILE, a listed workgroup). */
export function denseTileFits(t: DenseTile): boolean {
  const size = (v: number) => Number.isInteger(v) && v >= 1 && v <= MAX_DENSE_TILE;
  return size(t.rows) && size(t.cols) && (DENSE_WORKGROUPS as readonly number[]).includes(t.workgroup);
}

/**
 * The skeleton for a tile: shaders/lib/matmul.wgsl after its tile constants. Its ROW_SUMS blocks
 * stay only where the kernel declares that variant (`rowSums`: dense_backward_weight); the others
 * get the skeleton without them.
 */
export function matmulTileSource(tile: DenseTile, rowSums = false): string {
  if (!denseTileFits(tile)) {
    throw new Error(`dense: tile ${tile.rows}×${tile.cols}, workgroup ${tile.workgroup}: rows and cols must be whole numbers from 1 to ${MAX_DENSE_TILE}, the workgroup one of ${DENSE_WORKGROUPS.join(', ')}`);
  }
  return `const TM = ${tile.rows}u;\nconst TN = ${tile.cols}u;\n${rowSums ? matmulSource : resolveDefines(matmulSource, {})}`;
}

/** Invocations for a tile: one per tile of the output. */
function tileGrid(kernel: DenseKernelName, p: DenseShape, tile: DenseTile): [number] {
  const { m, n } = denseGemm(kernel, p);
  return [Math.ceil(m / tile.rows) * Math.ceil(n / tile.cols)];
}

/** The declarations' own tile (as listed and checked; layers bind `denseKernel` for their tile). */
const PROBE_TILE: DenseTile = { rows: 4, cols: 4, workgroup: 64 };

/** y[b, o] = Σ_i x[b, i] · W[o, i]; variant BIAS: + bias[o]; variant RELU: max(·, 0)  (overwrites y) */
export const denseForward = defineKernel({
  name: 'dense_forward',
  linear: true,
  source: forwardSource,
  params: denseParams,
  bindings: {
    x: { type: 'f32', access: 'read' },
    weight: { type: 'f32', access: 'read' },
    y: { type: 'f32', access: 'read_write' },
    bias: { type: 'f32', access: 'read', only: 'BIAS' },
  },
  defines: ['BIAS', 'RELU'],
  libraries: [reluSource, matmulTileSource(PROBE_TILE)],
  workgroupSize: [PROBE_TILE.workgroup],
  grid: (p) => tileGrid('dense_forward', p, PROBE_TILE),
  lengths: (p) => ({ x: p.batch * p.inFeatures, weight: p.outFeatures * p.inFeatures, y: p.batch * p.outFeatures, bias: p.outFeatures }),
});

/** dx[b, i] = Σ_o dy[b, o] · W[o, i]; variant RELU_MASK: 0 where reluOut[b, i] ≤ 0 (a ReLU before the layer)  (overwrites dx) */
export const denseBackwardInput = defineKernel({
  name: 'dense_backward_input',
  linear: true,
  source: backwardInputSource,
  params: denseParams,
  bindings: {
    dy: { type: 'f32', access: 'read' },
    weight: { type: 'f32', access: 'read' },
    dx: { type: 'f32', access: 'read_write' },
    reluOut: { type: 'f32', access: 'read', only: 'RELU_MASK' },
  },
  defines: ['RELU_MASK'],
  libraries: [reluSource, matmulTileSource(PROBE_TILE)],
  workgroupSize: [PROBE_TILE.workgroup],
  grid: (p) => tileGrid('dense_backward_input', p, PROBE_TILE),
  lengths: (p) => ({ dy: p.batch * p.outFeatures, weight: p.outFeatures * p.inFeatures, dx: p.batch * p.inFeatures, reluOut: p.batch * p.inFeatures }),
});

/** dW[o, i] = Σ_b dy[b, o] · x[b, i]; variant ROW_SUMS: dbias[o] = Σ_b dy[b, o] (a layer with a bias)  (overwrites dW, dbias) */
export const denseBackwardWeight = defineKernel({
  name: 'dense_backward_weight',
  linear: true,
  source: backwardWeightSource,
  params: denseParams,
  bindings: {
    dy: { type: 'f32', access: 'read' },
    x: { type: 'f32', access: 'read' },
    dweight: { type: 'f32', access: 'read_write' },
    dbias: { type: 'f32', access: 'read_write', only: 'ROW_SUMS' },
  },
  defines: ['ROW_SUMS'],
  libraries: [matmulTileSource(PROBE_TILE, true)],
  workgroupSize: [PROBE_TILE.workgroup],
  grid: (p) => tileGrid('dense_backward_weight', p, PROBE_TILE),
  lengths: (p) => ({ dy: p.batch * p.outFeatures, x: p.batch * p.inFeatures, dweight: p.outFeatures * p.inFeatures, dbias: p.outFeatures }),
});

const declared = { dense_forward: denseForward, dense_backward_input: denseBackwardInput, dense_backward_weight: denseBackwardWeight } as const;
type DenseDef = (typeof declared)[DenseKernelName];
const generated = new Map<string, DenseDef>();

/** A dense kernel for a tile (the declaration with the skeleton generated for it), ready to compile. */
export function denseKernel<K extends DenseKernelName>(kernel: K, tile: DenseTile): (typeof declared)[K] {
  const key = `${kernel} ${tile.rows}x${tile.cols} ${tile.workgroup}`;
  let def = generated.get(key);
  if (!def) {
    const base = declared[kernel] as KernelDef<typeof denseParams, DenseDef['bindings']>;
    def = defineKernel({ ...base, libraries: [...(kernel === 'dense_backward_weight' ? [] : [reluSource]), matmulTileSource(tile, kernel === 'dense_backward_weight')], workgroupSize: [tile.workgroup], grid: (p) => tileGrid(kernel, p, tile) }) as DenseDef;
    generated.set(key, def);
  }
  return def as (typeof declared)[K];
}
