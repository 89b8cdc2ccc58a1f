/**
 * CPU reference for PyTorch's nn.MultiheadAttention used as self-attention (batch_first=True,
 * query = key = value = x, dropout 0), float64, plain loops from the maths (no shared code with the
 * WGSL kernels). A sample is [L, E]; H heads of d = E / H features each. Weights in PyTorch's
 * layout: in_proj_weight [3E, E] (the q, k, v blocks of E rows), in_proj_bias [3E],
 * out_proj.weight [E, E], out_proj.bias [E].
 *   [q, k, v] = x W_inᵀ + b_in;  per head h: S = q_h k_hᵀ / √d (−∞ above the diagonal when causal),
 *   P = softmax(S) over the last dimension, O_h = P v_h;  y = concat_h(O_h) W_outᵀ + b_out
 * Backward: dV = Pᵀ dO, dP = dO Vᵀ, dS = P ⊙ (dP − rowsum(dP ⊙ P)), dQ = dS K / √d, dK = dSᵀ Q / √d.
 * Training with dropout p: the attention weights are dropped out before P·v — O_h = (P ⊙ M) v_h with
 * a given mask M (0 or 1/(1 − p) per weight, [batch, H, L, L]) — so dV = (P ⊙ M)ᵀ dO and dP = (dO Vᵀ) ⊙ M.
 */

export interface AttentionShape {
  readonly batch: number;
  readonly seqLen: number;
  readonly embed: number;
  readonly heads: number;
  /** −∞ above the diagonal (PyTorch's is_causal, generate_square_subsequent_mask). */
  readonly causal: boolean;
}

export interface AttentionWeights {
  readonly inWeight: ArrayLike<number>;
  readonly outWeight: ArrayLike<number>;
  /** Absent: bias=False (neither in_proj_bias nor out_proj.bias). */
  readonly inBias?: ArrayLike<number>;
  readonly outBias?: ArrayLike<number>;
}

export interface AttentionForwardRef {
  /** The output [batch, L, E]. */
  readonly y: Float64Array;
  /** q, k, v [batch, L, 3E]. */
  readonly qkv: Float64Array;
  /** The attention weights P [batch, H, L, L]. */
  readonly probs: Float64Array;
  /** P ⊙ M, the weights P·v takes (P itself without a mask). */
  readonly dropped: Float64Array;
  /** The dropout mask M given to the forward, if any. */
  readonly mask?: ArrayLike<number>;
  /** The heads' outputs, concatenated [batch, L, E]. */
  readonly attn: Float64Array;
}

export interface AttentionGradsRef {
  readonly dx: Float64Array;
  readonly dinWeight: Float64Array;
  readonly dinBias: Float64Array;
  readonly doutWeight: Float64Array;
  readonly doutBias: Float64Array;
}

export function attentionForwardRef(x: ArrayLike<number>, w: AttentionWeights, s: AttentionShape, mask?: ArrayLike<number>): AttentionForwardRef {
  const { batch, seqLen: L, embed: E, heads: H, causal } = s;
  const d = E / H;
  const scale = 1 / Math.sqrt(d);
  const qkv = new Float64Array(batch * L * 3 * E);
  const probs = new Float64Array(batch * H * L * L);
  const dropped = new Float64Array(batch * H * L * L);
  const attn = new Float64Array(batch * L * E);
  const y = new Float64Array(batch * L * E);
  for (let r = 0; r < batch * L; r++) {
    for (let o = 0; o < 3 * E; o++) {
      let sum = w.inBias?.[o] ?? 0;
      for (let k = 0; k < E; k++) sum += w.inWeight[o * E + k]! * x[r * E + k]!;
      qkv[r * 3 * E + o] = sum;
    }
  }
  const q = (b: number, i: number, c: number) => qkv[(b * L + i) * 3 * E + c]!;
  for (let b = 0; b < batch; b++) {
    for (let h = 0; h < H; h++) {
      for (let i = 0; i < L; i++) {
        const scores = new Float64Array(L).fill(-Infinity);
        for (let j = 0; j < L; j++) {
          if (causal && j > i) continue;
          let dot = 0;
          for (let c = 0; c < d; c++) dot += q(b, i, h * d + c) * q(b, j, E + h * d + c);
          scores[j] = dot * scale;
        }
        const max = Math.max(...scores);
        let total = 0;
        const e = Float64Array.from(scores, (v) => Math.exp(v - max));
        for (const v of e) total += v;
        const row = ((b * H + h) * L + i) * L;
        for (let j = 0; j < L; j++) {
          probs[row + j] = e[j]! / total;
          dropped[row + j] = mask ? probs[row + j]! * mask[row + j]! : probs[row + j]!;
        }
        for (let c = 0; c < d; c++) {
          let sum = 0;
          for (let j = 0; j < L; j++) sum += dropped[row + j]! * q(b, j, 2 * E + h * d + c);
          attn[(b * L + i) * E + h * d + c] = sum;
        }
      }
    }
  }
  for (let r = 0; r < batch * L; r++) {
    for (let o = 0; o < E; o++) {
      let sum = w.outBias?.[o] ?? 0;
      for (let k = 0; k < E; k++) sum += w.outWeight[o * E + k]! * attn[r * E + k]!;
      y[r * E + o] = sum;
    }
  }
  return { y, qkv, probs, dropped, attn, ...(mask ? { mask } : {}) };
}

/** The gradients from dy = ∂loss/∂y [batch, L, E] (with the forward's dropout mask, if it had one: pass that forward). */
export function attentionBackwardRef(dy: ArrayLike<number>, x: ArrayLike<number>, w: AttentionWeights, s: AttentionShape, fwd: AttentionForwardRef = attentionForwardRef(x, w, s)): AttentionGradsRef {
  const { batch, seqLen: L, embed: E, heads: H } = s;
  const d = E / H;
  const scale = 1 / Math.sqrt(d);
  const rows = batch * L;
  // The output projection.
  const doutWeight = new Float64Array(E * E);
  const doutBias = new Float64Array(E);
  const dattn = new Float64Array(rows * E);
  for (let r = 0; r < rows; r++) {
    for (let o = 0; o < E; o++) {
      const g = dy[r * E + o]!;
      doutBias[o]! += g;
      for (let k = 0; k < E; k++) {
        doutWeight[o * E + k]! += g * fwd.attn[r * E + k]!;
        dattn[r * E + k]! += g * w.outWeight[o * E + k]!;
      }
    }
  }
  // The heads.
  const dqkv = new Float64Array(rows * 3 * E);
  const at = (b: number, i: number, c: number) => (b * L + i) * 3 * E + c;
  for (let b = 0; b < batch; b++) {
    for (let h = 0; h < H; h++) {
      const at2 = (i: number, j: number) => ((b * H + h) * L + i) * L + j;
      const P = (i: number, j: number) => fwd.probs[at2(i, j)]!;
      const M = (i: number, j: number) => (fwd.mask ? fwd.mask[at2(i, j)]! : 1);
      const dS = new Float64Array(L * L);
      for (let i = 0; i < L; i++) {
        const dP = new Float64Array(L);
        for (let j = 0; j < L; j++) {
          let sum = 0;
          for (let c = 0; c < d; c++) {
            const g = dattn[(b * L + i) * E + h * d + c]!;
            sum += g * fwd.qkv[at(b, j, 2 * E + h * d + c)]!;
            // dV = (P ⊙ M)ᵀ dO
            dqkv[at(b, j, 2 * E + h * d + c)]! += P(i, j) * M(i, j) * g;
          }
          dP[j] = sum * M(i, j);
        }
        let rowSum = 0;
        for (let j = 0; j < L; j++) rowSum += dP[j]! * P(i, j);
        for (let j = 0; j < L; j++) dS[i * L + j] = P(i, j) * (dP[j]! - rowSum);
      }
      for (let i = 0; i < L; i++) {
        for (let j = 0; j < L; j++) {
          const g = dS[i * L + j]! * scale;
          for (let c = 0; c < d; c++) {
            dqkv[at(b, i, h * d + c)]! += g * fwd.qkv[at(b, j, E + h * d + c)]!;
            dqkv[at(b, j, E + h * d + c)]! += g * fwd.qkv[at(b, i, h * d + c)]!;
          }
        }
      }
    }
  }
  // The input projection.
  const dinWeight = new Float64Array(3 * E * E);
  const dinBias = new Float64Array(3 * E);
  const dx = new Float64Array(rows * E);
  for (let r = 0; r < rows; r++) {
    for (let o = 0; o < 3 * E; o++) {
      const g = dqkv[r * 3 * E + o]!;
      dinBias[o]! += g;
      for (let k = 0; k < E; k++) {
        dinWeight[o * E + k]! += g * x[r * E + k]!;
        dx[r * E + k]! += g * w.inWeight[o * E + k]!;
      }
    }
  }
  return { dx, dinWeight, dinBias, doutWeight, doutBias };
}
