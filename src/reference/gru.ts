/**
 * CPU reference for PyTorch's nn.GRU (one layer, one direction, batch_first, zero initial state),
 * float64, plain loops from the maths (no shared code with the WGSL kernels). A sample is
 * [seqLen, inputSize]; the output is the sequence of hidden states [seqLen, hidden]. Weights in
 * PyTorch's layout and gate order r, z, n: W_ih [3H, in], W_hh [3H, H], b_ih, b_hh [3H].
 *   r = σ(W_ir x + b_ir + W_hr h + b_hr), z = σ(W_iz x + b_iz + W_hz h + b_hz)
 *   n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)),  h' = (1 − z) ⊙ n + z ⊙ h
 * Stacked layers and the reverse direction: src/reference/recurrent.ts, from this cell.
 */
import type { LstmShape as GruShape, LstmWeights as GruWeights } from './lstm.js';

export type { GruShape, GruWeights };

export interface GruForwardRef {
  /** h_t for every t: [batch, seqLen, hidden]. */
  readonly y: Float64Array;
  /** r, z, n and W_hn h + b_hn: [batch, seqLen, 4, hidden]. */
  readonly gates: Float64Array;
}

const sigmoid = (v: number) => 1 / (1 + Math.exp(-v));

export function gruForwardRef(x: ArrayLike<number>, w: GruWeights, s: GruShape): GruForwardRef {
  const { batch, seqLen, inputSize, hidden: H } = s;
  const y = new Float64Array(batch * seqLen * H);
  const gates = new Float64Array(batch * seqLen * 4 * H);
  for (let b = 0; b < batch; b++) {
    let h = new Float64Array(H);
    for (let t = 0; t < seqLen; t++) {
      const row = b * seqLen + t;
      const xs = new Float64Array(3 * H);
      const hs = new Float64Array(3 * H);
      for (let r = 0; r < 3 * H; r++) {
        let a = w.biasIh?.[r] ?? 0;
        for (let k = 0; k < inputSize; k++) a += w.weightIh[r * inputSize + k]! * x[row * inputSize + k]!;
        let c = w.biasHh?.[r] ?? 0;
        for (let m = 0; m < H; m++) c += w.weightHh[r * H + m]! * h[m]!;
        xs[r] = a;
        hs[r] = c;
      }
      const next = new Float64Array(H);
      for (let j = 0; j < H; j++) {
        const r = sigmoid(xs[j]! + hs[j]!);
        const z = sigmoid(xs[H + j]! + hs[H + j]!);
        const n = Math.tanh(xs[2 * H + j]! + r * hs[2 * H + j]!);
        next[j] = (1 - z) * n + z * h[j]!;
        [r, z, n, hs[2 * H + j]!].forEach((v, k) => (gates[(row * 4 + k) * H + j] = v));
        y[row * H + j] = next[j]!;
      }
      h = next;
    }
  }
  return { y, gates };
}

export interface GruGradsRef {
  readonly dx: Float64Array;
  readonly dweightIh: Float64Array;
  readonly dweightHh: Float64Array;
  readonly dbiasIh: Float64Array;
  readonly dbiasHh: Float64Array;
}

/** Backpropagation through time from dy = ∂loss/∂y [batch, seqLen, hidden]. */
export function gruBackwardRef(dy: ArrayLike<number>, x: ArrayLike<number>, w: GruWeights, s: GruShape, fwd: GruForwardRef = gruForwardRef(x, w, s)): GruGradsRef {
  const { batch, seqLen, inputSize, hidden: H } = s;
  const dx = new Float64Array(batch * seqLen * inputSize);
  const dweightIh = new Float64Array(3 * H * inputSize);
  const dweightHh = new Float64Array(3 * H * H);
  const dbiasIh = new Float64Array(3 * H);
  const dbiasHh = new Float64Array(3 * H);
  for (let b = 0; b < batch; b++) {
    let dhNext = new Float64Array(H);
    for (let t = seqLen - 1; t >= 0; t--) {
      const row = b * seqLen + t;
      const gate = (k: number, j: number) => fwd.gates[(row * 4 + k) * H + j]!;
      const hPrev = (m: number) => (t > 0 ? fwd.y[(row - 1) * H + m]! : 0);
      const dxs = new Float64Array(3 * H);
      const dhs = new Float64Array(3 * H);
      const dhPrev = new Float64Array(H);
      for (let j = 0; j < H; j++) {
        const [r, z, n, hn] = [gate(0, j), gate(1, j), gate(2, j), gate(3, j)];
        const dh = dy[row * H + j]! + dhNext[j]!;
        const dn = dh * (1 - z) * (1 - n * n);
        const dz = dh * (hPrev(j) - n) * z * (1 - z);
        const dr = dn * hn * r * (1 - r);
        [dxs[j], dxs[H + j], dxs[2 * H + j]] = [dr, dz, dn];
        [dhs[j], dhs[H + j], dhs[2 * H + j]] = [dr, dz, dn * r];
        dhPrev[j] = dh * z;
      }
      for (let r = 0; r < 3 * H; r++) {
        dbiasIh[r]! += dxs[r]!;
        dbiasHh[r]! += dhs[r]!;
        for (let k = 0; k < inputSize; k++) {
          dweightIh[r * inputSize + k]! += dxs[r]! * x[row * inputSize + k]!;
          dx[row * inputSize + k]! += dxs[r]! * w.weightIh[r * inputSize + k]!;
        }
        for (let m = 0; m < H; m++) {
          dweightHh[r * H + m]! += dhs[r]! * hPrev(m);
          dhPrev[m]! += dhs[r]! * w.weightHh[r * H + m]!;
        }
      }
      dhNext = dhPrev;
    }
  }
  return { dx, dweightIh, dweightHh, dbiasIh, dbiasHh };
}
