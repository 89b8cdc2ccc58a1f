/**
 * CPU reference for log_softmax followed by the negative log-likelihood loss (mean over the
 * batch), float64, and the accuracy count. Logits are [batch, classes]; labels are class indices.
 */

function labelAt(labels: ArrayLike<number>, b: number, classes: number): number {
  const label = labels[b]!;
  if (!Number.isInteger(label) || label < 0 || label >= classes) throw new RangeError(`nll: label ${label} of sample ${b} is not a class in [0, ${classes})`);
  return label;
}

/** Whether sample b's label is the ignore index (PyTorch's ignore_index; undefined: none is). */
const ignoredAt = (labels: ArrayLike<number>, b: number, ignoreIndex: number | undefined) => ignoreIndex !== undefined && labels[b] === ignoreIndex;

/** W = Σ_b w[y_b] over the samples not ignored (their count without weights). */
function countedWeight(labels: ArrayLike<number>, batch: number, classes: number, w: (c: number) => number, ignoreIndex: number | undefined): number {
  let total = 0;
  for (let b = 0; b < batch; b++) if (!ignoredAt(labels, b, ignoreIndex)) total += w(labelAt(labels, b, classes));
  return total;
}

/** logp[b, c] = logits[b, c] − log Σ_k exp(logits[b, k]), shifted by the row's maximum. */
export function logSoftmaxRef(logits: ArrayLike<number>, batch: number, classes: number): Float64Array {
  const logp = new Float64Array(batch * classes);
  for (let b = 0; b < batch; b++) {
    let max = -Infinity;
    for (let c = 0; c < classes; c++) max = Math.max(max, logits[b * classes + c]!);
    let sum = 0;
    for (let c = 0; c < classes; c++) sum += Math.exp(logits[b * classes + c]! - max);
    const logSum = max + Math.log(sum);
    for (let c = 0; c < classes; c++) logp[b * classes + c] = logits[b * classes + c]! - logSum;
  }
  return logp;
}

/**
 * Each sample's share of the mean loss, times batch (the mean of the shares is the loss):
 * ℓ_b = −logp[b, label_b], or with label smoothing ε (PyTorch's CrossEntropyLoss(label_smoothing))
 * (1 − ε)·(−logp[b, label_b]) + ε·mean_c(−logp[b, c]). With per-class `weights` w (PyTorch's
 * weight=, written from torch's cross_entropy_loss_label_smoothing and nll_loss): the loss is
 * (1 − ε)·Σ_b w[y_b]·(−logp[b, y_b]) / W + ε/classes·Σ_b Σ_c w[c]·(−logp[b, c]) / W, W = Σ_b w[y_b],
 * and sample b's share (1 − ε)·(batch/W·w[y_b])·(−logp[b, y_b]) + ε/classes·(batch/W·Σ_c w[c]·(−logp[b, c])):
 * each term scaled by 1/W on its own, so that W = 0 gives PyTorch's NaN (its NLL term 0/0), not ±inf.
 * With `ignoreIndex` (PyTorch's ignore_index), a sample whose label is it adds to neither term nor
 * to W (to the count without weights); its share is 0 (nllLossRef's mean of a batch with every
 * sample ignored is NaN, PyTorch's mean of nothing).
 */
export function nllSampleLossesRef(logp: ArrayLike<number>, labels: ArrayLike<number>, batch: number, classes: number, smoothing = 0, weights?: ArrayLike<number>, ignoreIndex?: number): Float64Array {
  const w = (c: number) => (weights ? weights[c]! : 1);
  const scale = batch / countedWeight(labels, batch, classes, w, ignoreIndex);
  const out = new Float64Array(batch);
  for (let b = 0; b < batch; b++) {
    if (ignoredAt(labels, b, ignoreIndex)) {
      out[b] = 0;
      continue;
    }
    const label = labelAt(labels, b, classes);
    const nll = (1 - smoothing) * (scale * w(label)) * -logp[b * classes + label]!;
    let uniform = 0;
    for (let c = 0; c < classes; c++) uniform -= w(c) * logp[b * classes + c]!;
    out[b] = smoothing > 0 ? nll + (smoothing * (scale * uniform)) / classes : nll;
  }
  return out;
}

/**
 * The mean NLL (PyTorch's weighted mean with `weights`, over the samples not ignored), with label
 * smoothing ε: the mean of nllSampleLossesRef; NaN when every sample is ignored (PyTorch's 0/0).
 */
export function nllLossRef(logp: ArrayLike<number>, labels: ArrayLike<number>, batch: number, classes: number, smoothing = 0, weights?: ArrayLike<number>, ignoreIndex?: number): number {
  if (Array.from({ length: batch }, (_, b) => ignoredAt(labels, b, ignoreIndex)).every(Boolean)) return NaN;
  return nllSampleLossesRef(logp, labels, batch, classes, smoothing, weights, ignoreIndex).reduce((a, b) => a + b, 0) / batch;
}

/**
 * ∂loss/∂logits[b, c] = (softmax[b, c] − t[b, c]) / batch for the mean loss, t = (1 − ε)·[c = label_b] + ε / classes;
 * with `weights`, ((1 − ε)·w[y_b]·(softmax[b, c] − [c = y_b]) + ε/classes·(softmax[b, c]·Σ_k w[k] − w[c])) / W,
 * W = Σ_b w[y_b]; NaN where W = 0, as PyTorch's (its NLL term's w[y_b]/W is 0/0). A sample whose label is `ignoreIndex` has gradient 0,
 * and the others' W (the batch without weights) counts only the samples not ignored.
 */
export function logSoftmaxNllBackwardRef(logits: ArrayLike<number>, labels: ArrayLike<number>, batch: number, classes: number, smoothing = 0, weights?: ArrayLike<number>, ignoreIndex?: number): Float64Array {
  const logp = logSoftmaxRef(logits, batch, classes);
  const w = (c: number) => (weights ? weights[c]! : 1);
  const total = countedWeight(labels, batch, classes, w, ignoreIndex);
  let allWeights = 0;
  for (let c = 0; c < classes; c++) allWeights += w(c);
  const d = new Float64Array(batch * classes);
  for (let b = 0; b < batch; b++) {
    if (ignoredAt(labels, b, ignoreIndex)) continue;
    const label = labelAt(labels, b, classes);
    for (let c = 0; c < classes; c++) {
      const p = Math.exp(logp[b * classes + c]!);
      d[b * classes + c] = total === 0 ? NaN : ((1 - smoothing) * w(label) * (p - (c === label ? 1 : 0)) + (smoothing / classes) * (p * allWeights - w(c))) / total;
    }
  }
  return d;
}

/** Index of the first maximum. */
export function argmaxRef(row: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i]! > row[best]!) best = i;
  return best;
}

/** How many rows have their first maximum at the label (a row whose label is `ignoreIndex` counts as neither). */
export function countCorrectRef(logits: ArrayLike<number>, labels: ArrayLike<number>, batch: number, classes: number, ignoreIndex?: number): number {
  let correct = 0;
  for (let b = 0; b < batch; b++) {
    if (ignoredAt(labels, b, ignoreIndex)) continue;
    const row = Float64Array.from({ length: classes }, (_, c) => logits[b * classes + c]!);
    if (argmaxRef(row) === labelAt(labels, b, classes)) correct++;
  }
  return correct;
}

/** LogSoftmax's backward from its output y: dx_j = dy_j − exp(y_j) · Σ_k dy_k, per row. */
export function logSoftmaxBackwardRef(dy: ArrayLike<number>, y: ArrayLike<number>, batch: number, classes: number): Float64Array {
  const dx = new Float64Array(batch * classes);
  for (let b = 0; b < batch; b++) {
    let sum = 0;
    for (let j = 0; j < classes; j++) sum += dy[b * classes + j]!;
    for (let j = 0; j < classes; j++) dx[b * classes + j] = dy[b * classes + j]! - Math.exp(y[b * classes + j]!) * sum;
  }
  return dx;
}

/** Softmax per row: exp(x_j − max) / Σ_k exp(x_k − max). */
export function softmaxRef(logits: ArrayLike<number>, batch: number, classes: number): Float64Array {
  return logSoftmaxRef(logits, batch, classes).map(Math.exp);
}

/** Softmax's input gradient from its output y: dx_j = y_j · (dy_j − Σ_k dy_k · y_k). */
export function softmaxBackwardRef(dy: ArrayLike<number>, y: ArrayLike<number>, batch: number, classes: number): Float64Array {
  const dx = new Float64Array(batch * classes);
  for (let b = 0; b < batch; b++) {
    let sum = 0;
    for (let j = 0; j < classes; j++) sum += dy[b * classes + j]! * y[b * classes + j]!;
    for (let j = 0; j < classes; j++) dx[b * classes + j] = y[b * classes + j]! * (dy[b * classes + j]! - sum);
  }
  return dx;
}

/** Softmin per row (PyTorch's Softmin): softmax of −x, exp(min − x_j) / Σ_k exp(min − x_k). */
export function softminRef(x: ArrayLike<number>, batch: number, classes: number): Float64Array {
  const y = new Float64Array(batch * classes);
  for (let b = 0; b < batch; b++) {
    let min = Infinity;
    for (let c = 0; c < classes; c++) min = Math.min(min, x[b * classes + c]!);
    let sum = 0;
    for (let c = 0; c < classes; c++) sum += Math.exp(min - x[b * classes + c]!);
    for (let c = 0; c < classes; c++) y[b * classes + c] = Math.exp(min - x[b * classes + c]!) / sum;
  }
  return y;
}

/** Softmin's input gradient from its output y: ∂y_j/∂x_i = −y_j(δ_ij − y_i), so dx_i = −y_i · (dy_i − Σ_k dy_k · y_k). */
export function softminBackwardRef(dy: ArrayLike<number>, y: ArrayLike<number>, batch: number, classes: number): Float64Array {
  const dx = new Float64Array(batch * classes);
  for (let b = 0; b < batch; b++) {
    let sum = 0;
    for (let k = 0; k < classes; k++) sum += dy[b * classes + k]! * y[b * classes + k]!;
    for (let i = 0; i < classes; i++) dx[b * classes + i] = -y[b * classes + i]! * (dy[b * classes + i]! - sum);
  }
  return dx;
}

/** ∂(mean NLL)/∂logp: −1/batch at each sample's label, 0 elsewhere; with `weights`, −w[label] / Σ_b w[label_b]; 0 for a sample whose label is `ignoreIndex`, the sums over the others. */
export function nllBackwardRef(labels: ArrayLike<number>, batch: number, classes: number, weights?: ArrayLike<number>, ignoreIndex?: number): Float64Array {
  const w = (c: number) => (weights ? weights[c]! : 1);
  const total = countedWeight(labels, batch, classes, w, ignoreIndex);
  const d = new Float64Array(batch * classes);
  for (let b = 0; b < batch; b++) if (!ignoredAt(labels, b, ignoreIndex)) d[b * classes + labels[b]!] = -w(labels[b]!) / total;
  return d;
}
