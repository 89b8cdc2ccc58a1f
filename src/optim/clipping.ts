/**
 * Gradient clipping before each optimizer step, as PyTorch's torch.nn.utils.clip_grad_norm_ and
 * clip_grad_value_ called on all of a model's parameters between backward() and step(): a
 * `Network` option (`clipGradNorm`, `clipGradValue`), recorded in checkpoints. The kernels:
 * shaders/grad_norm.wgsl and the CLIP_NORM / CLIP_VALUE variants of the optimizer steps
 * (src/kernels/optimizers.ts); the float64 reference: clipGradNormRef, clipGradValueRef.
 */

/** What the options ask: the total norm clipped to maxNorm, or every element to ±clipValue. */
export type Clipping = { readonly kind: 'norm'; readonly maxNorm: number; readonly normType: 1 | 2 | typeof Infinity } | { readonly kind: 'value'; readonly clipValue: number };

/** clip_grad_norm_'s arguments: a max_norm (the 2-norm), or max_norm with norm_type 1, 2 or ∞ ('inf'). */
export type ClipGradNorm = number | { readonly maxNorm: number; readonly normType?: number | 'inf' };

const finiteAtLeastZero = (field: string, value: unknown): number => {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new RangeError(`${field}: expected a finite number ≥ 0, got ${typeof value === 'number' ? String(value) : JSON.stringify(value)}`);
  }
  return value;
};

/** The clipping the options ask for (undefined: none), checked; both at once is refused (PyTorch's result would depend on which ran first). */
export function checkClipping(options: { readonly clipGradNorm?: ClipGradNorm; readonly clipGradValue?: number }): Clipping | undefined {
  const { clipGradNorm, clipGradValue } = options;
  if (clipGradNorm !== undefined && clipGradValue !== undefined) {
    throw new RangeError('clipGradNorm and clipGradValue: give one (clipping by value then by norm is not clipping by norm then by value)');
  }
  if (clipGradValue !== undefined) return { kind: 'value', clipValue: finiteAtLeastZero('clipGradValue', clipGradValue) };
  if (clipGradNorm === undefined) return undefined;
  if (typeof clipGradNorm === 'number') return { kind: 'norm', maxNorm: finiteAtLeastZero('clipGradNorm', clipGradNorm), normType: 2 };
  if (typeof clipGradNorm !== 'object' || clipGradNorm === null) {
    throw new TypeError(`clipGradNorm: expected a max norm or { maxNorm, normType }, got ${JSON.stringify(clipGradNorm)}`);
  }
  const unknown = Object.keys(clipGradNorm).filter((k) => k !== 'maxNorm' && k !== 'normType');
  if (unknown.length > 0) throw new RangeError(`clipGradNorm: unknown field ${unknown.map((k) => `'${k}'`).join(', ')} (expected maxNorm, normType)`);
  const maxNorm = finiteAtLeastZero('clipGradNorm.maxNorm', clipGradNorm.maxNorm);
  const type = clipGradNorm.normType ?? 2;
  const normType = type === 'inf' || type === Infinity ? Infinity : type === 1 || type === 2 ? type : undefined;
  if (normType === undefined) throw new RangeError(`clipGradNorm.normType: expected 1, 2 or 'inf' (Infinity), got ${typeof type === 'number' ? String(type) : JSON.stringify(type)}`);
  return { kind: 'norm', maxNorm, normType };
}

/** How a summary or a log line says it: `clip_grad_norm_ 1 (2-norm)`. */
export function describeClipping(clipping: Clipping): string {
  return clipping.kind === 'value' ? `clip_grad_value_ ${clipping.clipValue}` : `clip_grad_norm_ ${clipping.maxNorm} (${normName(clipping.normType)})`;
}

const normName = (normType: number) => (normType === Infinity ? '∞-norm' : `${normType}-norm`);

/** A checkpoint's record of the clipping (none: no keys). */
export function clippingMetadata(clipping: Clipping | undefined): Record<string, string> {
  if (clipping === undefined) return {};
  if (clipping.kind === 'value') return { clip_grad_value: String(clipping.clipValue) };
  return { clip_grad_norm: String(clipping.maxNorm), clip_grad_norm_type: clipping.normType === Infinity ? 'inf' : String(clipping.normType) };
}

/**
 * The clipping a checkpoint's metadata records, as `Network` options (none: {}); a record that
 * could not have been written is refused naming its key (the caller names the file).
 */
export function clippingFromMetadata(metadata: Readonly<Record<string, string>>): { clipGradNorm?: ClipGradNorm; clipGradValue?: number } {
  const number = (key: string) => {
    const text = metadata[key]!;
    const value = Number(text);
    if (text.trim() === '' || !Number.isFinite(value) || value < 0) throw new RangeError(`__metadata__.${key} is ${JSON.stringify(text)}, expected a finite number ≥ 0`);
    return value;
  };
  if (metadata.clip_grad_value !== undefined) {
    if (metadata.clip_grad_norm !== undefined) throw new RangeError('__metadata__ records both clip_grad_norm and clip_grad_value, expected one');
    if (metadata.clip_grad_norm_type !== undefined) throw new RangeError('__metadata__.clip_grad_norm_type is recorded with clip_grad_value (a norm type belongs to clip_grad_norm)');
    return { clipGradValue: number('clip_grad_value') };
  }
  if (metadata.clip_grad_norm === undefined) {
    if (metadata.clip_grad_norm_type !== undefined) throw new RangeError('__metadata__.clip_grad_norm_type is recorded without clip_grad_norm');
    return {};
  }
  const type = metadata.clip_grad_norm_type ?? '2';
  if (type !== '1' && type !== '2' && type !== 'inf') throw new RangeError(`__metadata__.clip_grad_norm_type is ${JSON.stringify(type)}, expected 1, 2 or inf`);
  return { clipGradNorm: { maxNorm: number('clip_grad_norm'), normType: type === 'inf' ? 'inf' : Number(type) } };
}
