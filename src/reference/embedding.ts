/**
 * CPU reference for PyTorch's F.embedding, written from its definition: each id picks a row of
 * the table; the table's gradient adds each position's output gradient into its id's row (the
 * padding row's stays 0). Plain loops in float64 (not the kernel's per-row gather).
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

/** dweight [numEmbeddings, dim]: dy [positions, dim] scattered into the ids' rows; the padding row (if any) 0. */
export function embeddingBackwardWeightRef(ids: ArrayLike<number>, dy: ArrayLike<number>, numEmbeddings: number, dim: number, paddingIdx?: number): Float64Array {
  const dweight = new Float64Array(numEmbeddings * dim);
  for (let p = 0; p < ids.length; p++) {
    const id = ids[p]!;
    if (id === paddingIdx) continue;
    for (let d = 0; d < dim; d++) dweight[id * dim + d] = dweight[id * dim + d]! + dy[p * dim + d]!;
  }
  return dweight;
}
