/**
 * CPU reference for PyTorch's nn.LSTM and nn.GRU with num_layers ≥ 1 and bidirectional (batch_first,
 * zero initial states), float64, from the one-direction cells (src/reference/lstm.ts, gru.ts):
 *   - layer k's input is layer k − 1's output sequence (the sample's for k = 0);
 *   - the reverse direction is the cell run over the input's steps in reverse order (t = L − 1 … 0),
 *     its h_t put back at step t: here by reversing the sequence, running the cell, and reversing
 *     its output (and, backward, dy before and dx after);
 *   - a layer's output at step t is [forward h_t, reverse h_t] (size directions·H), PyTorch's `output`;
 *   - dropout between layers: layer k's output (k < num_layers − 1) times its mask (0 or 1/(1 − p)
 *     per element, drawn by the caller: src/reference/random.ts's dropoutMaskRef) before layer k + 1
 *     reads it, in training; the last layer's output is never dropped.
 * A layer's input gradient is the sum of its directions'.
 */
import { gruBackwardRef, gruForwardRef, type GruForwardRef } from './gru.js';
import { lstmBackwardRef, lstmForwardRef, type LstmForwardRef, type LstmShape, type LstmWeights } from './lstm.js';

export type RecurrentKind = 'LSTM' | 'GRU';

export interface RecurrentStackShape {
  readonly batch: number;
  readonly seqLen: number;
  readonly inputSize: number;
  readonly hidden: number;
  readonly numLayers: number;
  /** 1, or 2 (bidirectional). */
  readonly directions: number;
}

/** weights[k][d]: layer k's direction d (0 forward, 1 reverse), PyTorch's weight_ih_l{k}{_reverse}, …. */
export type RecurrentStackWeights = readonly (readonly LstmWeights[])[];

export interface RecurrentStackForward {
  /** The last layer's output [batch, seqLen, directions·H]. */
  readonly y: Float64Array;
  /** Per layer: its input (as read: dropped out), its output (before dropout), each direction's cell state as run (steps reversed for the reverse one). */
  readonly layers: readonly { readonly input: Float64Array; readonly inputSize: number; readonly output: Float64Array; readonly cells: readonly (LstmForwardRef | GruForwardRef)[] }[];
}

export interface RecurrentStackGrads {
  readonly dx: Float64Array;
  /** [k][d]: the gradients of weight_ih, weight_hh, bias_ih, bias_hh of layer k's direction d. */
  readonly weights: readonly (readonly { readonly dweightIh: Float64Array; readonly dweightHh: Float64Array; readonly dbiasIh: Float64Array; readonly dbiasHh: Float64Array }[])[];
}

/** The sequence [batch, seqLen, width] with its steps in reverse order. */
function reversed(a: ArrayLike<number>, batch: number, seqLen: number, width: number): Float64Array {
  const out = new Float64Array(batch * seqLen * width);
  for (let b = 0; b < batch; b++) {
    for (let t = 0; t < seqLen; t++) {
      const from = (b * seqLen + t) * width;
      const to = (b * seqLen + seqLen - 1 - t) * width;
      for (let k = 0; k < width; k++) out[to + k] = a[from + k]!;
    }
  }
  return out;
}

function checkShape(kind: RecurrentKind, w: RecurrentStackWeights, s: RecurrentStackShape): void {
  if (w.length !== s.numLayers || w.some((l) => l.length !== s.directions)) throw new Error(`${kind} reference: weights for ${s.numLayers} layers of ${s.directions} directions expected`);
}

export function recurrentStackForwardRef(kind: RecurrentKind, x: ArrayLike<number>, w: RecurrentStackWeights, s: RecurrentStackShape, masks?: readonly (ArrayLike<number> | undefined)[]): RecurrentStackForward {
  checkShape(kind, w, s);
  const { batch, seqLen, hidden: H, directions: D } = s;
  const layers: RecurrentStackForward['layers'][number][] = [];
  let input = Float64Array.from(x);
  let inputSize = s.inputSize;
  let output = new Float64Array(0);
  for (let k = 0; k < s.numLayers; k++) {
    output = new Float64Array(batch * seqLen * D * H);
    const cells: (LstmForwardRef | GruForwardRef)[] = [];
    for (let d = 0; d < D; d++) {
      const shape: LstmShape = { batch, seqLen, inputSize, hidden: H };
      const xs = d === 0 ? input : reversed(input, batch, seqLen, inputSize);
      const cell = kind === 'LSTM' ? lstmForwardRef(xs, w[k]![d]!, shape) : gruForwardRef(xs, w[k]![d]!, shape);
      cells.push(cell);
      const y = d === 0 ? cell.y : reversed(cell.y, batch, seqLen, H);
      for (let row = 0; row < batch * seqLen; row++) for (let j = 0; j < H; j++) output[(row * D + d) * H + j] = y[row * H + j]!;
    }
    layers.push({ input, inputSize, output, cells });
    const mask = k < s.numLayers - 1 ? masks?.[k] : undefined;
    if (mask && mask.length !== output.length) throw new Error(`${kind} reference: layer ${k}'s dropout mask has ${mask.length} elements, expected ${output.length}`);
    input = mask ? Float64Array.from(output, (v, i) => v * mask[i]!) : output;
    inputSize = D * H;
  }
  return { y: output, layers };
}

/** Backpropagation through time and through the layers from dy = ∂loss/∂y [batch, seqLen, directions·H]. */
export function recurrentStackBackwardRef(
  kind: RecurrentKind,
  dy: ArrayLike<number>,
  x: ArrayLike<number>,
  w: RecurrentStackWeights,
  s: RecurrentStackShape,
  masks?: readonly (ArrayLike<number> | undefined)[],
  fwd: RecurrentStackForward = recurrentStackForwardRef(kind, x, w, s, masks),
): RecurrentStackGrads {
  const { batch, seqLen, hidden: H, directions: D } = s;
  const weights: RecurrentStackGrads['weights'][number][] = [];
  let d = Float64Array.from(dy);
  let dInput = new Float64Array(0);
  for (let k = s.numLayers - 1; k >= 0; k--) {
    const { input, inputSize, cells } = fwd.layers[k]!;
    const shape: LstmShape = { batch, seqLen, inputSize, hidden: H };
    dInput = new Float64Array(batch * seqLen * inputSize);
    const layer = [];
    for (let dir = 0; dir < D; dir++) {
      // This direction's part of the output gradient, in the order its cell ran.
      const mine = new Float64Array(batch * seqLen * H);
      for (let row = 0; row < batch * seqLen; row++) for (let j = 0; j < H; j++) mine[row * H + j] = d[(row * D + dir) * H + j]!;
      const dys = dir === 0 ? mine : reversed(mine, batch, seqLen, H);
      const xs = dir === 0 ? input : reversed(input, batch, seqLen, inputSize);
      const weightsKd = w[k]![dir]!;
      let g: { dx: Float64Array; dweightIh: Float64Array; dweightHh: Float64Array; dbiasIh: Float64Array; dbiasHh: Float64Array };
      if (kind === 'LSTM') {
        const l = lstmBackwardRef(dys, xs, weightsKd, shape, cells[dir] as LstmForwardRef);
        g = { ...l, dbiasIh: l.dbias, dbiasHh: Float64Array.from(l.dbias) };
      } else {
        g = gruBackwardRef(dys, xs, weightsKd, shape, cells[dir] as GruForwardRef);
      }
      const dx = dir === 0 ? g.dx : reversed(g.dx, batch, seqLen, inputSize);
      for (let i = 0; i < dInput.length; i++) dInput[i]! += dx[i]!;
      layer.push({ dweightIh: g.dweightIh, dweightHh: g.dweightHh, dbiasIh: g.dbiasIh, dbiasHh: g.dbiasHh });
    }
    weights[k] = layer;
    // Through the dropout between layer k − 1 and layer k.
    const mask = k > 0 ? masks?.[k - 1] : undefined;
    d = mask ? Float64Array.from(dInput, (v, i) => v * mask[i]!) : dInput;
  }
  return { dx: dInput, weights };
}

/** PyTorch's parameter name of layer k's direction d: `weight_ih_l0`, `bias_hh_l1_reverse`, …. */
export function recurrentParameterName(which: 'weight_ih' | 'weight_hh' | 'bias_ih' | 'bias_hh', layer: number, direction: number): string {
  return `${which}_l${layer}${direction === 1 ? '_reverse' : ''}`;
}
