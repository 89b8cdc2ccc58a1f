/**
 * CPU reference for PyTorch's nn.LSTM (one layer, one direction, batch_first, zero initial
 * states), float64, plain loops from the maths (no shared code with the WGSL kernels). A sample is
 * [seqLen, inputSize]; the output is the sequence of hidden states [seqLen, hidden]. Weights in
 * PyTorch's layout and gate order i, f, g, o: W_ih [4H, in], W_hh [4H, H], b_ih, b_hh [4H].
 *   i = σ(W_ii x + b_ii + W_hi h + b_hi), f = σ(…f…), g = tanh(…g…), o = σ(…o…)
 *   c' = f c + i g,  h' = o tanh(c')
 * Stacked layers and the reverse direction: src/reference/recurrent.ts, from this cell.
 */

export interface LstmShape {
  readonly batch: number;
  readonly seqLen: number;
  readonly inputSize: number;
  readonly hidden: number;
}

export interface LstmWeights {
  readonly weightIh: ArrayLike<number>;
  readonly weightHh: ArrayLike<number>;
  /** Absent: bias=False. */
  readonly biasIh?: ArrayLike<number>;
  readonly biasHh?: ArrayLike<number>;
}

export interface LstmForwardRef {
  /** h_t for every t: [batch, seqLen, hidden]. */
  readonly y: Float64Array;
  /** c_t: [batch, seqLen, hidden]. */
  readonly cell: Float64Array;
  /** The activated gates i, f, g, o: [batch, seqLen, 4, hidden]. */
  readonly gates: Float64Array;
}

const sigmoid = (v: number) => 1 / (1 + Math.exp(-v));

export function lstmForwardRef(x: ArrayLike<number>, w: LstmWeights, s: LstmShape): LstmForwardRef {
  const { batch, seqLen, inputSize, hidden: H } = s;
  const y = new Float64Array(batch * seqLen * H);
  const cell = new Float64Array(batch * seqLen * H);
  const gates = new Float64Array(batch * seqLen * 4 * H);
  for (let b = 0; b < batch; b++) {
    const h = new Float64Array(H);
    const c = new Float64Array(H);
    for (let t = 0; t < seqLen; t++) {
      const row = b * seqLen + t;
      const pre = new Float64Array(4 * H);
      for (let r = 0; r < 4 * H; r++) {
        let sum = (w.biasIh?.[r] ?? 0) + (w.biasHh?.[r] ?? 0);
        for (let k = 0; k < inputSize; k++) sum += w.weightIh[r * inputSize + k]! * x[row * inputSize + k]!;
        for (let m = 0; m < H; m++) sum += w.weightHh[r * H + m]! * h[m]!;
        pre[r] = sum;
      }
      for (let j = 0; j < H; j++) {
        const i = sigmoid(pre[j]!);
        const f = sigmoid(pre[H + j]!);
        const g = Math.tanh(pre[2 * H + j]!);
        const o = sigmoid(pre[3 * H + j]!);
        c[j] = f * c[j]! + i * g;
        h[j] = o * Math.tanh(c[j]!);
        [i, f, g, o].forEach((v, k) => (gates[(row * 4 + k) * H + j] = v));
        cell[row * H + j] = c[j]!;
        y[row * H + j] = h[j]!;
      }
    }
  }
  return { y, cell, gates };
}

export interface LstmGradsRef {
  readonly dx: Float64Array;
  readonly dweightIh: Float64Array;
  readonly dweightHh: Float64Array;
  /** ∂b_ih = ∂b_hh (both biases enter every gate's sum the same way). */
  readonly dbias: Float64Array;
}

/** Backpropagation through time from dy = ∂loss/∂y [batch, seqLen, hidden]. */
export function lstmBackwardRef(dy: ArrayLike<number>, x: ArrayLike<number>, w: LstmWeights, s: LstmShape, fwd: LstmForwardRef = lstmForwardRef(x, w, s)): LstmGradsRef {
  const { batch, seqLen, inputSize, hidden: H } = s;
  const dx = new Float64Array(batch * seqLen * inputSize);
  const dweightIh = new Float64Array(4 * H * inputSize);
  const dweightHh = new Float64Array(4 * H * H);
  const dbias = new Float64Array(4 * H);
  for (let b = 0; b < batch; b++) {
    const dhNext = new Float64Array(H);
    const dcNext = new Float64Array(H);
    for (let t = seqLen - 1; t >= 0; t--) {
      const row = b * seqLen + t;
      const gate = (k: number, j: number) => fwd.gates[(row * 4 + k) * H + j]!;
      const dpre = new Float64Array(4 * H);
      for (let j = 0; j < H; j++) {
        const [i, f, g, o] = [gate(0, j), gate(1, j), gate(2, j), gate(3, j)];
        const c = fwd.cell[row * H + j]!;
        const cPrev = t > 0 ? fwd.cell[(row - 1) * H + j]! : 0;
        const dh = dy[row * H + j]! + dhNext[j]!;
        const tc = Math.tanh(c);
        const dc = dh * o * (1 - tc * tc) + dcNext[j]!;
        dpre[j] = dc * g * i * (1 - i);
        dpre[H + j] = dc * cPrev * f * (1 - f);
        dpre[2 * H + j] = dc * i * (1 - g * g);
        dpre[3 * H + j] = dh * tc * o * (1 - o);
        dcNext[j] = dc * f;
      }
      dhNext.fill(0);
      for (let r = 0; r < 4 * H; r++) {
        const d = dpre[r]!;
        dbias[r]! += d;
        for (let k = 0; k < inputSize; k++) {
          dweightIh[r * inputSize + k]! += d * x[row * inputSize + k]!;
          dx[row * inputSize + k]! += d * w.weightIh[r * inputSize + k]!;
        }
        for (let m = 0; m < H; m++) {
          if (t > 0) dweightHh[r * H + m]! += d * fwd.y[(row - 1) * H + m]!;
          dhNext[m]! += d * w.weightHh[r * H + m]!;
        }
      }
    }
  }
  return { dx, dweightIh, dweightHh, dbias };
}
