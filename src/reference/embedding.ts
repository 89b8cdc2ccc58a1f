/**
 * CPU reference for PyTorch's F.embedding, written from its definition: each id picks a row of
 * the table; the table's gradient adds each position's output gradient into its id's row (the
 * padding row's stays 0); max_norm's renorm of the rows the ids name. Plain loops in float64 (not
 * the kernels' sort and per-row gather).
 */

/** y [positions, dim]: row ids[p] of weight [numEmbeddings, dim] (throws on an id that is no row). */
export function embeddingForwardRef(ids: ArrayLike<number>, weight: ArrayLike<number>, numEmbeddings: number, dim: number): Float64Array {
  const y = new Float64Array(ids.length * dim);
  for (let p = 0; p < ids.length; p++) {
    const id = ids[p]!;
    if (!Number.isInteger(id) || id < 0 || id >= numEmbeddings) throw new RangeError(`embedding reference: id ${id} at position ${p} is not a row of ${numEmbeddings}`);
    for (let d = 0; d < dim; d++) y[p * dim + d] = weight[id * dim + d]!;
  }
  return y;
}

/**
 * dweight [numEmbeddings, dim]: dy [positions, dim] scattered into the ids' rows; the padding row
 * (if any) 0. `scaleGradByFreq` (PyTorch's scale_grad_by_freq): each position's dy scaled by
 * 1 / (the number of positions, over the whole batch, whose id is its row) as it is added, as
 * PyTorch's embedding_dense_backward does.
 */
export function embeddingBackwardWeightRef(ids: ArrayLike<number>, dy: ArrayLike<number>, numEmbeddings: number, dim: number, paddingIdx?: number, scaleGradByFreq = false): Float64Array {
  const counts = new Float64Array(numEmbeddings);
  if (scaleGradByFreq) for (let p = 0; p < ids.length; p++) counts[ids[p]!]!++;
  const dweight = new Float64Array(numEmbeddings * dim);
  for (let p = 0; p < ids.length; p++) {
    const id = ids[p]!;
    if (id === paddingIdx) continue;
    const scale = scaleGradByFreq ? 1 / counts[id]! : 1;
    for (let d = 0; d < dim; d++) dweight[id * dim + d] = dweight[id * dim + d]! + dy[p * dim + d]! * scale;
  }
  return dweight;
}

/**
 * PyTorch's embedding_renorm_ (F.embedding's max_norm): a copy of weight in which each row that
 * some id names (each once, the padding row too) whose norm exceeds maxNorm is scaled by
 * maxNorm / (norm + 1e-7). The norm is the normType-norm: (Σ |w|^p)^(1/p), max |w| for p = ∞.
 */
export function embeddingRenormRef(ids: ArrayLike<number>, weight: ArrayLike<number>, numEmbeddings: number, dim: number, maxNorm: number, normType = 2): Float64Array {
  const out = Float64Array.from(weight);
  const rows = [...new Set(Array.from(ids))].sort((a, b) => a - b);
  for (const r of rows) {
    if (!Number.isInteger(r) || r < 0 || r >= numEmbeddings) throw new RangeError(`embedding renorm reference: id ${r} is not a row of ${numEmbeddings}`);
    const row = out.subarray(r * dim, (r + 1) * dim);
    let norm = 0;
    if (normType === Infinity) for (const w of row) norm = Math.max(norm, Math.abs(w));
    else {
      for (const w of row) norm += Math.abs(w) ** normType;
      norm **= 1 / normType;
    }
    if (norm > maxNorm) {
      const scale = maxNorm / (norm + 1e-7);
      for (let d = 0; d < dim; d++) row[d] = row[d]! * scale;
    }
  }
  return out;
}
