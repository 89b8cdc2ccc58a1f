/**
 * Token embeddings (PyTorch's nn.Embedding, src/layers/embedding.ts): a row of the table per id,
 * and the table's gradient gathered per row in a fixed order (no atomics: the same bits every
 * run). Ids arrive as f32 whole numbers; one outside [0, numEmbeddings) reads nothing and gives a
 * NaN row. Kernels: shaders/embedding_forward.wgsl, embedding_backward_weight.wgsl. CPU
 * reference: src/reference/embedding.ts.
 */
import { defineKernel } from '../gpu/kernel.js';
import forwardSource from '../../shaders/embedding_forward.wgsl?raw';
import backwardWeightSource from '../../shaders/embedding_backward_weight.wgsl?raw';

/** The padding parameter of a layer without padding_idx (no row is r = 2³² − 1). */
export const NO_PADDING = 0xffffffff;

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

/** dweight[r, :] = Σ_{p: ids[p] = r} dy[p, :] in ascending p; 0 for the padding row  (overwrites dweight) */
export const embeddingBackwardWeight = defineKernel({
  name: 'embedding_backward_weight',
  linear: true,
  source: backwardWeightSource,
  params: { positions: 'u32', dim: 'u32', numEmbeddings: 'u32', padding: 'u32' },
  bindings: {
    ids: { type: 'f32', access: 'read' },
    dy: { type: 'f32', access: 'read' },
    dweight: { type: 'f32', access: 'read_write' },
  },
  workgroupSize: [64],
  grid: (p) => [p.numEmbeddings],
  lengths: (p) => ({ ids: p.positions, dy: p.positions * p.dim, dweight: p.numEmbeddings * p.dim }),
});
