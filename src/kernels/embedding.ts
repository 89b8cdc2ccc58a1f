/**
 * Token embeddings (PyTorch's nn.Embedding, src/layers/embedding.ts): a row of the table per id,
 * and the table's gradient gathered per row in a fixed order (no atomics: the same bits every
 * run). Ids arrive as f32 whole numbers; one outside [0, numEmbeddings) reads nothing and gives a
 * NaN row. The gradient and max_norm's renorm find each row's positions in the ids sorted as
 * (row, position) keys (embedding_sort: a bitonic sort, `sortDispatches` below). Kernels:
 * shaders/embedding_forward.wgsl, embedding_sort.wgsl, embedding_backward_weight.wgsl,
 * embedding_renorm.wgsl. CPU reference: src/reference/embedding.ts.
 */
import { defineKernel } from '../gpu/kernel.js';
import forwardSource from '../../shaders/embedding_forward.wgsl?raw';
import sortSource from '../../shaders/embedding_sort.wgsl?raw';
import backwardWeightSource from '../../shaders/embedding_backward_weight.wgsl?raw';
import renormSource from '../../shaders/embedding_renorm.wgsl?raw';

/** The padding parameter of a layer without padding_idx (no row is r = 2³² − 1). */
export const NO_PADDING = 0xffffffff;

/** Keys one workgroup of embedding_sort sorts in its memory (two per invocation). */
export const SORT_BLOCK = 512;

/** Keys sorted for `positions` ids: a power of two, at least SORT_BLOCK (the keys past the ids sort last). */
export const sortedKeys = (positions: number) => Math.max(SORT_BLOCK, 2 ** Math.ceil(Math.log2(Math.max(1, positions))));

/** y[p, d] = weight[ids[p], d]; NaN where ids[p] is no row  (overwrites y) */
export const embeddingForward = defineKernel({
  name: 'embedding_forward',
  linear: true,
  source: forwardSource,
  params: { count: 'u32', dim: 'u32', numEmbeddings: 'u32' },
  bindings: {
    ids: { type: 'f32', access: 'read' },
    weight: { type: 'f32', access: 'read' },
    y: { type: 'f32', access: 'read_write' },
  },
  workgroupSize: [64],
  grid: (p) => [p.count],
  lengths: (p) => ({ ids: p.count / p.dim, weight: p.numEmbeddings * p.dim, y: p.count }),
});

/**
 * keys [count, 2] = the (row, position) pairs of ids [positions] sorted ascending, an id that is
 * no row (and each key past the ids) as row 2³² − 1: one stage of a bitonic sort (stage 0: keys
 * made and blocks sorted; 1: step (k, j) across blocks; 2: merge k's steps within blocks)
 */
export const embeddingSort = defineKernel({
  name: 'embedding_sort',
  linear: true,
  source: sortSource,
  params: { count: 'u32', positions: 'u32', numEmbeddings: 'u32', stage: 'u32', k: 'u32', j: 'u32' },
  bindings: {
    ids: { type: 'f32', access: 'read' },
    keys: { type: 'u32', access: 'read_write' },
  },
  constants: { BLOCK: SORT_BLOCK },
  workgroupSize: [SORT_BLOCK / 2],
  grid: (p) => [p.count / 2],
  lengths: (p) => ({ ids: p.positions, keys: 2 * p.count }),
});

/** The stages' parameters that sort `positions` ids (embeddingSort): stage 0, then for each merge k past a block its steps across blocks and its finish within them. */
export function sortStages(positions: number): { stage: number; k: number; j: number; count: number }[] {
  const count = sortedKeys(positions);
  const stages = [{ stage: 0, k: 0, j: 0, count }];
  for (let k = 2 * SORT_BLOCK; k <= count; k *= 2) {
    for (let j = k / 2; j >= SORT_BLOCK; j /= 2) stages.push({ stage: 1, k, j, count });
    stages.push({ stage: 2, k, j: 0, count });
  }
  return stages;
}

/**
 * dweight[r, :] = Σ_{p: ids[p] = r} dy[p, :] in ascending p (the rows' positions from the sorted
 * keys); 0 for the padding row and rows no id names; SCALE_BY_FREQ: divided by the row's count
 * (overwrites dweight: stage 0 zeroes it, stage 1 writes the rows the ids name; `weightGradientStages`)
 */
export const embeddingBackwardWeight = defineKernel({
  name: 'embedding_backward_weight',
  linear: true,
  source: backwardWeightSource,
  params: { count: 'u32', positions: 'u32', dim: 'u32', numEmbeddings: 'u32', padding: 'u32', stage: 'u32' },
  bindings: {
    keys: { type: 'u32', access: 'read' },
    dy: { type: 'f32', access: 'read' },
    dweight: { type: 'f32', access: 'read_write' },
  },
  defines: ['SCALE_BY_FREQ'],
  workgroupSize: [64],
  grid: (p) => [p.stage === 0 ? p.numEmbeddings * p.dim : p.positions * p.dim],
  lengths: (p) => ({ keys: 2 * p.count, dy: p.positions * p.dim, dweight: p.numEmbeddings * p.dim }),
});

/**
 * Each row the sorted keys name, once: scaled by maxNorm / (norm + 1e-7) where its norm exceeds
 * maxNorm (PyTorch's embedding_renorm_): the 2-norm, or L1, INF, POWER (p = normType)  (updates weight)
 */
export const embeddingRenorm = defineKernel({
  name: 'embedding_renorm',
  linear: true,
  source: renormSource,
  params: { count: 'u32', dim: 'u32', numEmbeddings: 'u32', maxNorm: 'f32', normType: 'f32' },
  bindings: {
    keys: { type: 'u32', access: 'read' },
    weight: { type: 'f32', access: 'read_write' },
  },
  defines: ['L1', 'INF', 'POWER'],
  workgroupSize: [64],
  grid: (p) => [p.count],
  lengths: (p) => ({ keys: 2 * p.count, weight: p.numEmbeddings * p.dim }),
});
