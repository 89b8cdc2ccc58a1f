/**
 * Dense (fully connected) layer: y = x · Wᵀ (+ bias, then ReLU: dense_forward's variants BIAS,
 * RELU), W in PyTorch's [out, in] layout; the bias's gradient from the weight gradient's kernel
 * (dense_backward_weight's ROW_SUMS).
 * Kernels: shaders/dense_forward.wgsl, dense_backward_input.wgsl, dense_backward_weight.wgsl,
 * each an entry point over one register-tiled skeleton (shaders/lib/matmul.wgsl) whose tile
 * (outputs per invocation, workgroup size) is a parameter: `denseKernel`, the tuner's candidates
 * (src/tune/tuner.ts). Every tile sums in the same order, so all give the same bits.
 * Variant SUBGROUP (`DenseTile.subgroup`; an adapter with subgroups of 8, as lavapipe's): the 8
 * invocations of a subgroup take 8 rows of the output between them, each its own 4 or 8 columns;
 * each loads one vec4 of A a round and the subgroup shares them by subgroupBroadcast, where the
 * plain skeleton has every invocation load its rows' values itself (`matmulSubgroupSource`).
 * CPU reference: src/reference/dense.ts.
 */
import type { CompiledKernel, GpuContext } from '../gpu/context.js';
import { defineKernel, resolveDefines, type AnyKernelDef, type KernelDef } from '../gpu/kernel.js';
import forwardSource from '../../shaders/dense_forward.wgsl?raw';
import backwardInputSource from '../../shaders/dense_backward_input.wgsl?raw';
import backwardWeightSource from '../../shaders/dense_backward_weight.wgsl?raw';
import matmulSource from '../../shaders/lib/matmul.wgsl?raw';
import reluSource from '../../shaders/lib/relu.wgsl?raw';

const denseParams = { batch: 'u32', inFeatures: 'u32', outFeatures: 'u32' } as const;
export type DenseShape = { readonly batch: number; readonly inFeatures: number; readonly outFeatures: number };

/** The dense kernels, by name. */
export type DenseKernelName = 'dense_forward' | 'dense_backward_input' | 'dense_backward_weight';

/**
 * A dense kernel's tile: `rows` × `cols` outputs per invocation (≤ MAX_DENSE_TILE each), `workgroup`
 * invocations a workgroup; `subgroup`: the SUBGROUP variant, 8 rows shared by a subgroup of 8
 * invocations, `cols` (4 or 8) each (rows is then 8, the subgroup's).
 */
export interface DenseTile {
  readonly rows: number;
  readonly cols: number;
  readonly workgroup: number;
  readonly subgroup?: boolean;
}

/** The subgroup size the SUBGROUP variant is written for (lavapipe's: one invocation a lane of its 8-wide vectors). */
export const DENSE_SUBGROUP = 8;

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

/**
 * The tile used where none is tuned: with subgroups of 8 where the shape fits them
 * (`denseSubgroupFits`), 8 rows × 4 columns an invocation, the subgroup sharing the rows (about
 * twice the plain skeleton's speed on lavapipe); else 4 × 4 outputs (fewer where the output is
 * narrower); 64 invocations.
 */
export function defaultDenseTile(kernel: DenseKernelName, p: DenseShape, subgroupSize?: number): DenseTile {
  if (denseSubgroupFits(kernel, p, subgroupSize)) return { rows: DENSE_SUBGROUP, cols: 4, workgroup: 64, subgroup: true };
  const { m, n } = denseGemm(kernel, p);
  return { rows: Math.min(4, m), cols: Math.min(4, n), workgroup: 64 };
}

/**
 * Whether the SUBGROUP variant takes this shape on an adapter whose subgroups have this size: 8
 * lanes, and the vec4 reads' lengths: the forward's inFeatures (its sums' length, along which x
 * and W are read) a multiple of 4; the gradients' inFeatures and outFeatures both (dy, W and x
 * read along their rows). Any batch.
 */
export function denseSubgroupFits(kernel: DenseKernelName, p: DenseShape, subgroupSize: number | undefined): boolean {
  if (subgroupSize !== DENSE_SUBGROUP) return false;
  return kernel === 'dense_forward' ? p.inFeatures % 4 === 0 : p.inFeatures % 4 === 0 && p.outFeatures % 4 === 0;
}

/** Whether a tile is one the dense kernels compile (whole sizes 1–MAX_DENSE_TILE, a listed workgroup; a subgroup tile 8 × 4 or 8 × 8 in whole subgroups). */
export function denseTileFits(t: DenseTile): boolean {
  const size = (v: number) => Number.isInteger(v) && v >= 1 && v <= MAX_DENSE_TILE;
  const workgroup = (DENSE_WORKGROUPS as readonly number[]).includes(t.workgroup);
  if (t.subgroup) return t.rows === DENSE_SUBGROUP && (t.cols === 4 || t.cols === 8) && workgroup && t.workgroup % DENSE_SUBGROUP === 0;
  return t.subgroup === undefined && size(t.rows) && size(t.cols) && workgroup;
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

/**
 * The SUBGROUP variant's skeleton for a kernel and tile (8 rows, 4·V columns an invocation):
 * matmulSubgroupTile(t, s), C = A · B as shaders/lib/matmul.wgsl's MatmulShape gives them, read
 * through the kernel's loadA4 / loadB4 (vec4 indices) and written through storeC (and
 * storeRowSum). Invocations 8g … 8g + 7 are subgroup g (the lanes of lavapipe's 8-wide vectors,
 * in order): they share the output rows m0 … m0 + 7 and take 8 consecutive column blocks of
 * 4·V. A round covers 4 steps of k: each lane loads one vec4 of A — a row's 4 values along k
 * (forward, input gradient: A(m, k) at m·aM + k) or 4 rows' values at one k (weight gradient:
 * A(m, k) at k·aK + m, lane l the k0 + l/2 row's columns m0 + 4·(l % 2)) — and the 8 vec4s are
 * shared by subgroupBroadcast (lavapipe pays for an address the lanes share as for 8 of their
 * own); B is read as vec4s along n (B(k, n) at k·bK + n: the gradients) or along k (B(k, n) at
 * n·bN + k: the forward's W, one vec4 a column). Each output is summed over k in increasing order,
 * fma(a, b, sum), as the plain skeleton does: the same bits. The weight gradient's sums (the
 * batch) may end within a round: that round's steps past it are skipped, and its loads clamped.
 */
export function matmulSubgroupSource(kernel: DenseKernelName, tile: DenseTile): string {
  const V = tile.cols / 4;
  const aAlongM = kernel === 'dense_backward_weight';
  const bAlongK = kernel === 'dense_forward';
  const rowSums = kernel === 'dense_backward_weight';
  const lines: string[] = [];
  // The value A(m0 + i, k0 + q), from the broadcast vec4s a0 … a7.
  const a = (i: number, q: number) => (aAlongM ? `a${2 * q + (i >> 2)}[${i % 4}]` : `a${i}[${q}]`);
  // B(k0 + q, n0 + 4j … n0 + 4j + 3) as a vec4.
  const b = (q: number, j: number) => (bAlongK ? `vec4f(bw[${4 * j}][${q}], bw[${4 * j + 1}][${q}], bw[${4 * j + 2}][${q}], bw[${4 * j + 3}][${q}])` : `bv[${q}][${j}]`);
  const round = (indent: string, guarded: boolean) => {
    const out: string[] = [];
    out.push(aAlongM ? `let av = loadA4((min(k0 + lane / 2u, s.k - 1u) * s.aK + aCol) / 4u);` : `let av = loadA4(aRow + k0 / 4u);`);
    if (bAlongK) out.push(`var bw: array<vec4f, ${4 * V}>;`, `for (var c = 0u; c < ${4 * V}u; c++) { bw[c] = loadB4(bAt[c] + k0 / 4u); }`);
    else out.push(`var bv: array<array<vec4f, ${V}>, 4>;`, `for (var q = 0u; q < 4u; q++) {`, `  let kq = min(k0 + q, s.k - 1u) * s.bK;`, `  for (var j = 0u; j < ${V}u; j++) { bv[q][j] = loadB4((kq + bCol[j]) / 4u); }`, `}`);
    for (let l = 0; l < DENSE_SUBGROUP; l++) out.push(`let a${l} = subgroupBroadcast(av, ${l}u);`);
    for (let q = 0; q < 4; q++) {
      const pad = guarded ? '  ' : '';
      if (guarded) out.push(`if (${q}u < kLeft) {`);
      for (let i = 0; i < DENSE_SUBGROUP; i++) {
        if (rowSums) out.push(`${pad}rowSum[${i}] += ${a(i, q)};`);
        for (let j = 0; j < V; j++) out.push(`${pad}acc[${i}][${j}] = fma(vec4f(${a(i, q)}), ${b(q, j)}, acc[${i}][${j}]);`);
      }
      if (guarded) out.push('}');
    }
    return out.map((line) => indent + line);
  };
  lines.push(
    `// (generated by src/kernels/dense.ts, matmulSubgroupSource: ${kernel}, 8 × ${tile.cols} outputs an invocation)`,
    'fn matmulSubgroupTile(t: u32, s: MatmulShape) {',
    `  let tilesN = (s.n + ${4 * V - 1}u) / ${4 * V}u;`,
    '  let groupsN = (tilesN + 7u) / 8u;',
    '  let g = t / 8u;',
    '  let lane = t % 8u;',
    '  let m0 = g / groupsN * 8u;',
    '  // The whole subgroup returns together (one g).',
    '  if (m0 >= s.m) { return; }',
    '  let nt = g % groupsN * 8u + lane;',
    `  let n0 = min(nt, tilesN - 1u) * ${4 * V}u;`,
    aAlongM ? '  let aCol = min(m0 + lane % 2u * 4u, s.m - 4u);' : '  let aRow = min(m0 + lane, s.m - 1u) * s.aM / 4u;',
  );
  if (bAlongK) lines.push(`  var bAt: array<u32, ${4 * V}>;`, `  for (var c = 0u; c < ${4 * V}u; c++) { bAt[c] = min(n0 + c, s.n - 1u) * s.bN / 4u; }`);
  else lines.push(`  var bCol: array<u32, ${V}>;`, `  for (var j = 0u; j < ${V}u; j++) { bCol[j] = min(n0 + 4u * j, s.n - 4u); }`);
  lines.push(`  var acc: array<array<vec4f, ${V}>, 8>;`);
  if (rowSums) lines.push('#if ROW_SUMS', '  var rowSum: array<f32, 8>;', '#endif');
  const body = (indent: string, guarded: boolean) => {
    const r = round(indent, guarded);
    // The row sums only in the ROW_SUMS variant.
    return rowSums ? r.flatMap((line) => (line.trimStart().startsWith('rowSum') ? ['#if ROW_SUMS', line, '#endif'] : [line])) : r;
  };
  if (aAlongM) {
    lines.push('  let kWhole = s.k / 4u * 4u;', '  for (var k0 = 0u; k0 < kWhole; k0 += 4u) {', ...body('    ', false), '  }');
    lines.push('  if (kWhole < s.k) {', '    let k0 = kWhole;', '    let kLeft = s.k - kWhole;', ...body('    ', true), '  }');
  } else {
    lines.push('  for (var k0 = 0u; k0 < s.k; k0 += 4u) {', ...body('    ', false), '  }');
  }
  lines.push(
    '  if (nt < tilesN) {',
    '    for (var i = 0u; i < 8u; i++) {',
    `      for (var j = 0u; j < ${V}u; j++) {`,
    '        for (var c = 0u; c < 4u; c++) {',
    '          let col = n0 + 4u * j + c;',
    '          if (m0 + i < s.m && col < s.n) { storeC((m0 + i) * s.n + col, acc[i][j][c]); }',
    '        }',
    '      }',
    '    }',
    '  }',
  );
  if (rowSums) lines.push('#if ROW_SUMS', '  if (nt == 0u) {', '    for (var i = 0u; i < 8u; i++) {', '      if (m0 + i < s.m) { storeRowSum(m0 + i, rowSum[i]); }', '    }', '  }', '#endif');
  lines.push('}');
  return lines.join('\n');
}

/** Invocations for a tile: one per tile of the output (a subgroup tile: whole subgroups of 8 per 8 rows). */
function tileGrid(kernel: DenseKernelName, p: DenseShape, tile: DenseTile): [number] {
  const { m, n } = denseGemm(kernel, p);
  if (tile.subgroup) return [Math.ceil(m / DENSE_SUBGROUP) * Math.ceil(Math.ceil(n / tile.cols) / DENSE_SUBGROUP) * DENSE_SUBGROUP];
  return [Math.ceil(m / tile.rows) * Math.ceil(n / tile.cols)];
}

/** The declarations' own tile (as listed and checked; layers bind `denseKernel` for their tile). */
const PROBE_TILE: DenseTile = { rows: 4, cols: 4, workgroup: 64 };

/**
 * A tile's skeletons: the plain one (for a subgroup tile, at its 8 × cols), and the SUBGROUP
 * variant's inside `#if SUBGROUP` (for a plain tile, at 8 × 4: the declarations' variant). The
 * variant compiled must be the tile's (`compileDense`): its grid is the tile's.
 */
function skeletons(kernel: DenseKernelName, tile: DenseTile): string[] {
  const plain = matmulTileSource(tile.subgroup ? { rows: tile.rows, cols: tile.cols, workgroup: tile.workgroup } : tile, kernel === 'dense_backward_weight');
  const sg = matmulSubgroupSource(kernel, tile.subgroup ? tile : { rows: DENSE_SUBGROUP, cols: 4, workgroup: tile.workgroup, subgroup: true });
  return [plain, `#if SUBGROUP\n${sg}\n#endif`];
}

/** What the SUBGROUP variant needs of the shape (denseSubgroupFits, said): the vec4 reads' lengths. */
const subgroupProblem = (kernel: DenseKernelName) => (p: DenseShape) =>
  denseSubgroupFits(kernel, p, DENSE_SUBGROUP) ? undefined : kernel === 'dense_forward' ? `inFeatures (${p.inFeatures}) a multiple of 4` : `inFeatures (${p.inFeatures}) and outFeatures (${p.outFeatures}) multiples of 4`;

/** y[b, o] = Σ_i x[b, i] · W[o, i]; variant BIAS: + bias[o]; variant RELU: max(·, 0)  (overwrites y) */
export const denseForward = defineKernel({
  name: 'dense_forward',
  linear: true,
  source: forwardSource,
  params: denseParams,
  bindings: {
    x: { type: 'f32', access: 'read', vec4: 'SUBGROUP' },
    weight: { type: 'f32', access: 'read', vec4: 'SUBGROUP' },
    y: { type: 'f32', access: 'read_write' },
    bias: { type: 'f32', access: 'read', only: 'BIAS' },
  },
  defines: ['BIAS', 'RELU', 'SUBGROUP'],
  variantFeatures: { SUBGROUP: 'subgroups' },
  variantRequires: { SUBGROUP: subgroupProblem('dense_forward') },
  libraries: [reluSource, ...skeletons('dense_forward', PROBE_TILE)],
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
    dy: { type: 'f32', access: 'read', vec4: 'SUBGROUP' },
    weight: { type: 'f32', access: 'read', vec4: 'SUBGROUP' },
    dx: { type: 'f32', access: 'read_write' },
    reluOut: { type: 'f32', access: 'read', only: 'RELU_MASK' },
  },
  defines: ['RELU_MASK', 'SUBGROUP'],
  variantFeatures: { SUBGROUP: 'subgroups' },
  variantRequires: { SUBGROUP: subgroupProblem('dense_backward_input') },
  libraries: [reluSource, ...skeletons('dense_backward_input', PROBE_TILE)],
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
    dy: { type: 'f32', access: 'read', vec4: 'SUBGROUP' },
    x: { type: 'f32', access: 'read', vec4: 'SUBGROUP' },
    dweight: { type: 'f32', access: 'read_write' },
    dbias: { type: 'f32', access: 'read_write', only: 'ROW_SUMS' },
  },
  defines: ['ROW_SUMS', 'SUBGROUP'],
  variantFeatures: { SUBGROUP: 'subgroups' },
  variantRequires: { SUBGROUP: subgroupProblem('dense_backward_weight') },
  libraries: [...skeletons('dense_backward_weight', PROBE_TILE)],
  workgroupSize: [PROBE_TILE.workgroup],
  grid: (p) => tileGrid('dense_backward_weight', p, PROBE_TILE),
  lengths: (p) => ({ dy: p.batch * p.outFeatures, x: p.batch * p.inFeatures, dweight: p.outFeatures * p.inFeatures, dbias: p.outFeatures }),
});

const declared = { dense_forward: denseForward, dense_backward_input: denseBackwardInput, dense_backward_weight: denseBackwardWeight } as const;
type DenseDef = (typeof declared)[DenseKernelName];
const generated = new Map<string, DenseDef>();

/**
 * A dense kernel for a tile (the declaration with the skeletons generated for it), ready to
 * compile with the tile's variant: `compileDense`, which sets SUBGROUP as the tile says.
 */
export function denseKernel<K extends DenseKernelName>(kernel: K, tile: DenseTile): (typeof declared)[K] {
  const key = `${kernel} ${tile.rows}x${tile.cols} ${tile.workgroup}${tile.subgroup ? ' subgroup' : ''}`;
  let def = generated.get(key);
  if (!def) {
    if (!denseTileFits(tile)) throw new Error(`dense: tile ${JSON.stringify(tile)} is not one the dense kernels compile (rows and cols 1–${MAX_DENSE_TILE}, a workgroup of ${DENSE_WORKGROUPS.join(', ')}; a subgroup tile 8 × 4 or 8 × 8)`);
    const base = declared[kernel] as KernelDef<typeof denseParams, DenseDef['bindings']>;
    def = defineKernel({ ...base, libraries: [...(kernel === 'dense_backward_weight' ? [] : [reluSource]), ...skeletons(kernel, tile)], workgroupSize: [tile.workgroup], grid: (p) => tileGrid(kernel, p, tile) }) as DenseDef;
    generated.set(key, def);
  }
  return def as (typeof declared)[K];
}

/** A dense kernel compiled for a tile: its skeleton, and the SUBGROUP variant where the tile is a subgroup one (the other variants as given). */
export function compileDense<K extends DenseKernelName>(ctx: GpuContext, kernel: K, tile: DenseTile, defines: Readonly<Record<string, boolean>> = {}): Promise<CompiledKernel<(typeof declared)[K]['params'], (typeof declared)[K]['bindings']>> {
  return ctx.compile(denseKernel(kernel, tile) as AnyKernelDef, { ...defines, SUBGROUP: tile.subgroup === true }) as never;
}
