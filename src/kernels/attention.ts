/**
 * The attention core of PyTorch's nn.MultiheadAttention used as self-attention (batch_first; the
 * layer: src/layers/attention.ts): per head h of d = embed / heads features, P = softmax(q_h k_hᵀ /
 * √d) (causal: −∞ above the diagonal) and O_h = P v_h, forward and backward. The input and output
 * projections are the dense kernels' (src/kernels/dense.ts) on the [batch · seqLen, features] views.
 * Every sum in a fixed order, no atomics. Layout: qkv, dqkv [batch, seqLen, 3·embed]; probs
 * [batch, heads, seqLen, seqLen]; attn, dattn [batch, seqLen, embed].
 * Kernels: shaders/attention_scores.wgsl, attention_values.wgsl, attention_backward_values.wgsl,
 * attention_backward_scores.wgsl, attention_backward_qk.wgsl; their Params and index splits:
 * shaders/lib/attention_index.wgsl. CPU reference: src/reference/attention.ts.
 */
import { defineKernel } from '../gpu/kernel.js';
import scoresSource from '../../shaders/attention_scores.wgsl?raw';
import valuesSource from '../../shaders/attention_values.wgsl?raw';
import backwardValuesSource from '../../shaders/attention_backward_values.wgsl?raw';
import backwardScoresSource from '../../shaders/attention_backward_scores.wgsl?raw';
import backwardQkSource from '../../shaders/attention_backward_qk.wgsl?raw';
import indexSource from '../../shaders/lib/attention_index.wgsl?raw';

const attentionParams = { batch: 'u32', seqLen: 'u32', embed: 'u32', heads: 'u32', causal: 'u32', scale: 'f32' } as const;
/** causal: 1 for −∞ above the diagonal, else 0; scale: 1/√(embed / heads). */
export type AttentionParams = { readonly batch: number; readonly seqLen: number; readonly embed: number; readonly heads: number; readonly causal: number; readonly scale: number };

const sizes = (p: AttentionParams) => ({ qkv: p.batch * p.seqLen * 3 * p.embed, probs: p.batch * p.heads * p.seqLen * p.seqLen, rows: p.batch * p.seqLen * p.embed });

/** probs[b, h, i, ·] = softmax_j(q_i · k_j · scale), 0 at masked keys; one invocation a query row  (overwrites probs) */
export const attentionScores = defineKernel({
  name: 'attention_scores',
  linear: true,
  source: scoresSource,
  libraries: [indexSource],
  params: attentionParams,
  bindings: {
    qkv: { type: 'f32', access: 'read' },
    probs: { type: 'f32', access: 'read_write' },
  },
  workgroupSize: [64],
  grid: (p) => [p.batch * p.heads * p.seqLen],
  lengths: (p) => ({ qkv: sizes(p).qkv, probs: sizes(p).probs }),
});

/** attn[b, i, e] = Σ_j probs[b, h, i, j] · v[b, j, e]  (overwrites attn) */
export const attentionValues = defineKernel({
  name: 'attention_values',
  linear: true,
  source: valuesSource,
  libraries: [indexSource],
  params: attentionParams,
  bindings: {
    probs: { type: 'f32', access: 'read' },
    qkv: { type: 'f32', access: 'read' },
    attn: { type: 'f32', access: 'read_write' },
  },
  workgroupSize: [64],
  grid: (p) => [p.batch * p.seqLen * p.embed],
  lengths: (p) => ({ probs: sizes(p).probs, qkv: sizes(p).qkv, attn: sizes(p).rows }),
});

/** dv[b, j, e] = Σ_i probs[b, h, i, j] · dattn[b, i, e]  (overwrites dqkv's v part) */
export const attentionBackwardValues = defineKernel({
  name: 'attention_backward_values',
  linear: true,
  source: backwardValuesSource,
  libraries: [indexSource],
  params: attentionParams,
  bindings: {
    probs: { type: 'f32', access: 'read' },
    dattn: { type: 'f32', access: 'read' },
    dqkv: { type: 'f32', access: 'read_write' },
  },
  workgroupSize: [64],
  grid: (p) => [p.batch * p.seqLen * p.embed],
  lengths: (p) => ({ probs: sizes(p).probs, dattn: sizes(p).rows, dqkv: sizes(p).qkv }),
});

/**
 * probs = P ⊙ (dO vᵀ − rowsum(dO ⊙ O)) · scale, in place: dS · scale; variant DROPOUT: with
 * `dropped` = P ⊙ M, (dropped ⊙ dO vᵀ − P ⊙ rowsum(dO ⊙ O)) · scale  (overwrites probs)
 */
export const attentionBackwardScores = defineKernel({
  name: 'attention_backward_scores',
  linear: true,
  source: backwardScoresSource,
  libraries: [indexSource],
  params: attentionParams,
  bindings: {
    qkv: { type: 'f32', access: 'read' },
    attn: { type: 'f32', access: 'read' },
    dattn: { type: 'f32', access: 'read' },
    dropped: { type: 'f32', access: 'read', only: 'DROPOUT' },
    probs: { type: 'f32', access: 'read_write' },
  },
  defines: ['DROPOUT'],
  workgroupSize: [64],
  grid: (p) => [p.batch * p.heads * p.seqLen],
  lengths: (p) => ({ qkv: sizes(p).qkv, attn: sizes(p).rows, dattn: sizes(p).rows, dropped: sizes(p).probs, probs: sizes(p).probs }),
});

/** dq = dS k · scale, dk = dSᵀ q · scale, from probs = dS · scale  (overwrites dqkv's q and k parts) */
export const attentionBackwardQk = defineKernel({
  name: 'attention_backward_qk',
  linear: true,
  source: backwardQkSource,
  libraries: [indexSource],
  params: attentionParams,
  bindings: {
    probs: { type: 'f32', access: 'read' },
    qkv: { type: 'f32', access: 'read' },
    dqkv: { type: 'f32', access: 'read_write' },
  },
  workgroupSize: [64],
  grid: (p) => [p.batch * p.seqLen * p.embed],
  lengths: (p) => ({ probs: sizes(p).probs, qkv: sizes(p).qkv, dqkv: sizes(p).qkv }),
});
