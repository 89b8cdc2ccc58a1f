/**
 * CPU reference for log_softmax followed by the negative log-likelihood loss (mean over the
 * batch), float64, and the accuracy count. Logits are [batch, classes]; labels are class indices.
 */

function labelAt(labels: ArrayLike<number>, b: number, classes: number): number {
  const label = labels[b]!;
  if (!Number.isInteger(label) || label < 0 || label >= classes) throw new RangeError(`nll: label ${label} of sample ${b} is not a class in [0, ${classes})`);
  return label;
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
 * and sample b's share batch/W·((1 − ε)·w[y_b]·(−logp[b, y_b]) + ε/classes·Σ_c w[c]·(−logp[b, c])).
 */
export function nllSampleLossesRef(logp: ArrayLike<number>, labels: ArrayLike<number>, batch: number, classes: number, smoothing = 0, weights?: ArrayLike<number>): Float64Array {
  const w = (c: number) => (weights ? weights[c]! : 1);
  let total = 0;
  for (let b = 0; b < batch; b++) total += w(labelAt(labels, b, classes));
  const out = new Float64Array(batch);
  for (let b = 0; b < batch; b++) {
    let uniform = 0;
    for (let c = 0; c < classes; c++) uniform -= w(c) * logp[b * classes + c]!;
    const label = labelAt(labels, b, classes);
    out[b] = (batch / total) * ((1 - smoothing) * w(label) * -logp[b * classes + label]! + (smoothing * uniform) / classes);
  }
  return out;
}

/** The mean NLL (PyTorch's weighted mean with `weights`), with label smoothing ε: the mean of nllSampleLossesRef. */
export function nllLossRef(logp: ArrayLike<number>, labels: ArrayLike<number>, batch: number, classes: number, smoothing = 0, weights?: ArrayLike<number>): number {
  return nllSampleLossesRef(logp, labels, batch, classes, smoothing, weights).reduce((a, b) => a + b, 0) / batch;
}

/**
 * ∂loss/∂logits[b, c] = (softmax[b, c] − t[b, c]) / batch for the mean loss, t = (1 − ε)·[c = label_b] + ε / classes;
 * with `weights`, ((1 − ε)·w[y_b]·(softmax[b, c] − [c = y_b]) + ε/classes·(softmax[b, c]·Σ_k w[k] − w[c])) / Σ_b w[y_b].
 */
export function logSoftmaxNllBackwardRef(logits: ArrayLike<number>, labels: ArrayLike<number>, batch: number, classes: number, smoothing = 0, weights?: ArrayLike<number>): Float64Array {
  const logp = logSoftmaxRef(logits, batch, classes);
  const w = (c: number) => (weights ? weights[c]! : 1);
  let total = 0;
  for (let b = 0; b < batch; b++) total += w(labelAt(labels, b, classes));
  let allWeights = 0;
  for (let c = 0; c < classes; c++) allWeights += w(c);
  const d = new Float64Array(batch * classes);
  for (let b = 0; b < batch; b++) {
    const label = labelAt(labels, b, classes);
    for (let c = 0; c < classes; c++) {
      const p = Math.exp(logp[b * classes + c]!);
      d[b * classes + c] = ((1 - smoothing) * w(label) * (p - (c === label ? 1 : 0)) + (smoothing / classes) * (p * allWeights - w(c))) / total;
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

/** How many rows have their first maximum at the label. */
export function countCorrectRef(logits: ArrayLike<number>, labels: ArrayLike<number>, batch: number, classes: number): number {
  let correct = 0;
  for (let b = 0; b < batch; b++) {
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

/** ∂(mean NLL)/∂logp: −1/batch at each sample's label, 0 elsewhere; with `weights`, −w[label] / Σ_b w[label_b]. */
export function nllBackwardRef(labels: ArrayLike<number>, batch: number, classes: number, weights?: ArrayLike<number>): Float64Array {
  const w = (c: number) => (weights ? weights[c]! : 1);
  let total = 0;
  for (let b = 0; b < batch; b++) total += w(labelAt(labels, b, classes));
  const d = new Float64Array(batch * classes);
  for (let b = 0; b < batch; b++) d[b * classes + labels[b]!] = -w(labels[b]!) / total;
  return d;
}
