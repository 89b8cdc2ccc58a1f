/**
 * The attention core of PyTorch's nn.MultiheadAttention used as self-attention (batch_first; the
 * layer: src/layers/attention.ts): per head h of d = embed / heads features, P = softmax(q_h k_hᵀ /
 * √d) (causal: −∞ above the diagonal) and O_h = P v_h, forward and backward. The input and output
 * projections are the dense kernels' (src/kernels/dense.ts) on the [batch · seqLen, features] views.
 * Every sum in a fixed order, no atomics. Layout: qkv, dqkv [batch, seqLen, 3·embed]; probs
 * [batch, heads, seqLen, seqLen]; attn, dattn [batch, seqLen, embed].
 * The five are compiled per head size d (`attentionKernels(d)`: HEAD_DIM, a constant of the WGSL,
 * so a row's d features sit in registers), one invocation an output row of a [batch, heads] plane
 * (for the kernels that accumulate features, a chunk of 16 of them), a plane's rows padded to whole
 * subgroups of 8. Variants (`attentionVariant`): VEC4 where d is a multiple of 4 (the [·, embed]
 * tensors read and written as vec4s); SUBGROUP on an adapter with subgroups of 8 (lavapipe's):
 * the 8 rows of a subgroup take the keys (or queries) 8 at a time, each invocation loads one of
 * their rows and subgroupBroadcast shares it, where the plain path has every invocation load each
 * row itself. Every variant sums in the same order as the plain path: the same bits.
 * Kernels: shaders/attention_scores.wgsl, attention_values.wgsl, attention_backward_values.wgsl,
 * attention_backward_scores.wgsl, attention_backward_qk.wgsl; their Params and index splits:
 * shaders/lib/attention_index.wgsl. CPU reference: src/reference/attention.ts.
 */
import type { GpuContext } from '../gpu/context.js';
import { defineKernel, type BindingsSpec, type KernelDef, type KernelSpec } from '../gpu/kernel.js';
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

/** The subgroup size the SUBGROUP variant is written for (lavapipe's: one invocation a lane of its 8-wide vectors). */
export const ATTENTION_SUBGROUP = 8;
/** Features an invocation of the accumulating kernels holds, in vec4s (CHUNK_VEC4S in shaders/lib/attention_index.wgsl). */
const CHUNK_VEC4S = 4;
/** The head size the declarations are listed at (the layer compiles its own: attentionKernels). */
const PROBE_HEAD_DIM = 16;

type Defines = 'VEC4' | 'SUBGROUP' | 'DROPOUT';
const headDim = (p: AttentionParams) => p.embed / p.heads;
const rowSlots = (p: AttentionParams) => Math.ceil(p.seqLen / ATTENTION_SUBGROUP) * ATTENTION_SUBGROUP;
const featureChunks = (d: number) => Math.ceil(Math.ceil(d / 4) / CHUNK_VEC4S);

/** Invocations: a plane's rows in whole subgroups, per (b, h) and (`chunked`) per chunk of features. */
const rowGrid = (chunked: boolean) => (p: AttentionParams): [number] => [p.batch * p.heads * rowSlots(p) * (chunked ? featureChunks(headDim(p)) : 1)];

const shared = {
  linear: true,
  params: attentionParams,
  workgroupSize: [64],
  variantFeatures: { SUBGROUP: 'subgroups' },
  variantRequires: { VEC4: (p: AttentionParams) => (headDim(p) % 4 === 0 ? undefined : `a head size (embed / heads = ${headDim(p)}) that is a multiple of 4`) },
  constants: { CHUNK_VEC4S },
} as const;

type Spec<B extends BindingsSpec> = Omit<KernelSpec<typeof attentionParams, B, Defines>, 'libraries'>;

/** A kernel for head size d: its source with `const HEAD_DIM = du;` and the index library appended; bound only with embed / heads = d. */
function forHead<B extends BindingsSpec>(spec: Spec<B>, d: number): KernelDef<typeof attentionParams, B, Defines> {
  const head = `const HEAD_DIM = ${d}u;\nconst HEAD_VEC4S = ${Math.ceil(d / 4)}u;`;
  return defineKernel({
    ...spec,
    libraries: [indexSource, head],
    grid: (p, wg) => {
      if (headDim(p) !== d) throw new Error(`kernel ${spec.name}: compiled for heads of ${d} features, bound with embed ${p.embed} / heads ${p.heads}`);
      return spec.grid(p, wg);
    },
  });
}

/** probs[b, h, i, ·] = softmax_j(q_i · k_j · scale), 0 at masked keys; one invocation a query row  (overwrites probs) */
const scoresSpec = {
  ...shared,
  name: 'attention_scores',
  source: scoresSource,
  bindings: {
    qkv: { type: 'f32', access: 'read', vec4: 'VEC4' },
    probs: { type: 'f32', access: 'read_write' },
  },
  defines: ['VEC4', 'SUBGROUP'],
  grid: rowGrid(false),
  lengths: (p: AttentionParams) => ({ qkv: sizes(p).qkv, probs: sizes(p).probs }),
} as const satisfies Spec<BindingsSpec>;

/** attn[b, i, e] = Σ_j probs[b, h, i, j] · v[b, j, e]; one invocation a row's chunk of features  (overwrites attn) */
const valuesSpec = {
  ...shared,
  name: 'attention_values',
  source: valuesSource,
  bindings: {
    probs: { type: 'f32', access: 'read' },
    qkv: { type: 'f32', access: 'read', vec4: 'VEC4' },
    attn: { type: 'f32', access: 'read_write', vec4: 'VEC4' },
  },
  defines: ['VEC4', 'SUBGROUP'],
  grid: rowGrid(true),
  lengths: (p: AttentionParams) => ({ probs: sizes(p).probs, qkv: sizes(p).qkv, attn: sizes(p).rows }),
} as const satisfies Spec<BindingsSpec>;

/** dv[b, j, e] = Σ_i probs[b, h, i, j] · dattn[b, i, e]; one invocation a key's chunk of features  (overwrites dqkv's v part) */
const backwardValuesSpec = {
  ...shared,
  name: 'attention_backward_values',
  source: backwardValuesSource,
  bindings: {
    probs: { type: 'f32', access: 'read' },
    dattn: { type: 'f32', access: 'read', vec4: 'VEC4' },
    dqkv: { type: 'f32', access: 'read_write', vec4: 'VEC4' },
  },
  defines: ['VEC4', 'SUBGROUP'],
  grid: rowGrid(true),
  lengths: (p: AttentionParams) => ({ probs: sizes(p).probs, dattn: sizes(p).rows, dqkv: sizes(p).qkv }),
} as const satisfies Spec<BindingsSpec>;

/**
 * probs = P ⊙ (dO vᵀ − rowsum(dO ⊙ O)) · scale, in place: dS · scale; variant DROPOUT: with
 * `dropped` = P ⊙ M, (dropped ⊙ dO vᵀ − P ⊙ rowsum(dO ⊙ O)) · scale; one invocation a query row  (overwrites probs)
 */
const backwardScoresSpec = {
  ...shared,
  name: 'attention_backward_scores',
  source: backwardScoresSource,
  bindings: {
    qkv: { type: 'f32', access: 'read', vec4: 'VEC4' },
    attn: { type: 'f32', access: 'read', vec4: 'VEC4' },
    dattn: { type: 'f32', access: 'read', vec4: 'VEC4' },
    dropped: { type: 'f32', access: 'read', only: 'DROPOUT' },
    probs: { type: 'f32', access: 'read_write' },
  },
  defines: ['DROPOUT', 'VEC4', 'SUBGROUP'],
  grid: rowGrid(false),
  lengths: (p: AttentionParams) => ({ qkv: sizes(p).qkv, attn: sizes(p).rows, dattn: sizes(p).rows, dropped: sizes(p).probs, probs: sizes(p).probs }),
} as const satisfies Spec<BindingsSpec>;

/** dq = dS k · scale, dk = dSᵀ q · scale, from probs = dS · scale; one invocation a token's chunk of features  (overwrites dqkv's q and k parts) */
const backwardQkSpec = {
  ...shared,
  name: 'attention_backward_qk',
  source: backwardQkSource,
  bindings: {
    probs: { type: 'f32', access: 'read' },
    qkv: { type: 'f32', access: 'read', vec4: 'VEC4' },
    dqkv: { type: 'f32', access: 'read_write', vec4: 'VEC4' },
  },
  defines: ['VEC4', 'SUBGROUP'],
  grid: rowGrid(true),
  lengths: (p: AttentionParams) => ({ probs: sizes(p).probs, qkv: sizes(p).qkv, dqkv: sizes(p).qkv }),
} as const satisfies Spec<BindingsSpec>;

function kernelsFor(d: number) {
  return {
    scores: forHead(scoresSpec, d),
    values: forHead(valuesSpec, d),
    backwardValues: forHead(backwardValuesSpec, d),
    backwardScores: forHead(backwardScoresSpec, d),
    backwardQk: forHead(backwardQkSpec, d),
  };
}
const byHead = new Map<number, ReturnType<typeof kernelsFor>>();

/** The five kernels compiled for heads of d features (cached per d). */
export function attentionKernels(d: number): ReturnType<typeof kernelsFor> {
  if (!Number.isInteger(d) || d < 1) throw new Error(`attention kernels: a head size must be a whole number of features, got ${d}`);
  let k = byHead.get(d);
  if (!k) byHead.set(d, (k = kernelsFor(d)));
  return k;
}

/** The variant for a head size on a device: VEC4 where d is a multiple of 4, SUBGROUP where the adapter's subgroups have 8 invocations (and the device the feature). */
export function attentionVariant(ctx: GpuContext, d: number): { VEC4: boolean; SUBGROUP: boolean } {
  return { VEC4: d % 4 === 0, SUBGROUP: ctx.adapter.subgroupSize === ATTENTION_SUBGROUP && ctx.device.features.has('subgroups') };
}

const probe = attentionKernels(PROBE_HEAD_DIM);
export const attentionScores = probe.scores;
export const attentionValues = probe.values;
export const attentionBackwardValues = probe.backwardValues;
export const attentionBackwardScores = probe.backwardScores;
export const attentionBackwardQk = probe.backwardQk;
