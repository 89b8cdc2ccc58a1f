/**
 * Counter-based random numbers, bit-exact with the WGSL kernels: Philox4x32-10 (Random123) in u32
 * arithmetic, and the draws made from it (dropout masks, the epoch shuffle, rotation angles).
 * Every draw is a pure function of (seed, stream, step, index), so no generator state is kept.
 */

const PHILOX_M0 = 0xd2511f53;
const PHILOX_M1 = 0xcd9e8d57;
const PHILOX_W0 = 0x9e3779b9;
const PHILOX_W1 = 0xbb67ae85;
const TWO_POW_32 = 4294967296;

/** The largest seed: seeds are Philox keys, u32. */
export const MAX_SEED = TWO_POW_32 - 1;

/** A seed given by a caller, checked: a whole number from 0 to MAX_SEED, else an error naming `name`. */
export function checkSeed(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > MAX_SEED) {
    throw new RangeError(`${name} must be a whole number from 0 to ${MAX_SEED}, got ${JSON.stringify(value)}`);
  }
  return value;
}

/** Stream ids; the dropout of block k uses stream `dropout + k`. */
export const RANDOM_STREAM = { shuffle: 1, rotation: 2, cropFlip: 3, dropout: 16 } as const;

/** The high 32 bits of the exact 64-bit product of two u32, from their 16-bit halves. */
function mulhi32(a: number, b: number): number {
  const aLo = a & 0xffff;
  const aHi = a >>> 16;
  const bLo = b & 0xffff;
  const bHi = b >>> 16;
  const loHi = aLo * bHi;
  const hiLo = aHi * bLo;
  const carry = ((aLo * bLo) >>> 16) + (loHi & 0xffff) + (hiLo & 0xffff);
  return (aHi * bHi + (loHi >>> 16) + (hiLo >>> 16) + (carry >>> 16)) >>> 0;
}

/**
 * Philox4x32-10. A round: (hi0, lo0) = M0 · c0, (hi1, lo1) = M1 · c2,
 * c ← [hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0]; the key gains the Weyl increments between rounds.
 */
export function philox4x32(
  counter: readonly [number, number, number, number],
  key: readonly [number, number],
): [number, number, number, number] {
  let [c0, c1, c2, c3] = counter.map((v) => v >>> 0) as [number, number, number, number];
  let [k0, k1] = [key[0] >>> 0, key[1] >>> 0];
  for (let round = 0; round < 10; round++) {
    if (round > 0) {
      k0 = (k0 + PHILOX_W0) >>> 0;
      k1 = (k1 + PHILOX_W1) >>> 0;
    }
    const hi0 = mulhi32(PHILOX_M0, c0);
    const lo0 = Math.imul(PHILOX_M0, c0) >>> 0;
    const hi1 = mulhi32(PHILOX_M1, c2);
    const lo1 = Math.imul(PHILOX_M1, c2) >>> 0;
    [c0, c1, c2, c3] = [(hi1 ^ c1 ^ k0) >>> 0, lo1, (hi0 ^ c3 ^ k1) >>> 0, lo0];
  }
  return [c0, c1, c2, c3];
}

/** Word `index & 3` of philox4x32([⌊index/4⌋, step, stream, 0], [seed, 0]); all arguments u32. */
export function randomWord(seed: number, stream: number, step: number, index: number): number {
  return philox4x32([index >>> 2, step, stream, 0], [seed, 0])[index & 3]!;
}

/** floor(word · n / 2³²): a number in [0, n) from a random word (WGSL's randomBelow). */
export function randomBelowRef(word: number, n: number): number {
  return mulhi32(word >>> 0, n >>> 0);
}

/** A dropout draw below ⌊p · 2³²⌋ (clamped to [0, 2³² − 1]) drops its element. */
export function dropoutThreshold(p: number): number {
  return Math.min(Math.max(Math.floor(p * TWO_POW_32), 0), TWO_POW_32 - 1);
}

/**
 * The dropout draws of block `block`, elements 8·block … 8·block + 7: element 8·block + e draws the
 * 32-bit number h · 2¹⁶ + l, h the 16-bit half e & 1 (low half first) of word e >> 1 of the primary
 * Philox block philox4x32([block, step, stream, 0], [seed, 0]), l the same half of the secondary
 * block (the counter's last word 1). Eight elements a block, so a kernel draws half the Philox
 * blocks of one word an element: it compares h with the threshold's high half and draws the
 * secondary block only where they tie (2⁻¹⁶ of the elements), which decides as the whole 32-bit
 * comparison does (shaders/lib/dropout_draw.wgsl). All arguments u32.
 */
export function dropoutBlockDraws(seed: number, stream: number, step: number, block: number): number[] {
  const primary = philox4x32([block, step, stream, 0], [seed, 0]);
  const secondary = philox4x32([block, step, stream, 1], [seed, 0]);
  return Array.from({ length: 8 }, (_, e) => {
    const shift = (e & 1) * 16;
    const half = (words: number[]) => (words[e >>> 1]! >>> shift) & 0xffff;
    return half(primary) * 65536 + half(secondary);
  });
}

/** A kept element's mask value: 1/(1 − p), and 0 for p = 1 (PyTorch's Dropout(1) zeroes its input). */
export function dropoutScale(p: number): number {
  return p === 1 ? 0 : 1 / (1 - p);
}

/** mask[i] = the dropout draw of element i (dropoutBlockDraws) ≥ threshold(p) ? dropoutScale(p) : 0, for 0 ≤ p ≤ 1. */
/** Dropout2d's mask of `length` elements, `area` a channel: each channel's draw (as element k of dropoutMaskRef) for all its elements. */
export function channelDropoutMaskRef(length: number, area: number, p: number, seed: number, stream: number, step: number): Float64Array {
  const channels = dropoutMaskRef(Math.ceil(length / area), p, seed, stream, step);
  return Float64Array.from({ length }, (_, i) => channels[Math.floor(i / area)]!);
}

export function dropoutMaskRef(length: number, p: number, seed: number, stream: number, step: number): Float64Array {
  if (!(p >= 0 && p <= 1)) throw new RangeError(`dropout: p = ${p} is outside [0, 1]`);
  const threshold = dropoutThreshold(p);
  const scale = dropoutScale(p);
  const mask = new Float64Array(length);
  for (let block = 0; block * 8 < length; block++) {
    const draws = dropoutBlockDraws(seed, stream, step, block);
    for (let e = 0; e < 8 && block * 8 + e < length; e++) mask[block * 8 + e] = draws[e]! >= threshold ? scale : 0;
  }
  return mask;
}

export function dropoutForwardRef(x: ArrayLike<number>, mask: ArrayLike<number>): Float64Array {
  return Float64Array.from(x, (v, i) => v * mask[i]!);
}

export function dropoutBackwardRef(dy: ArrayLike<number>, mask: ArrayLike<number>): Float64Array {
  return Float64Array.from(dy, (g, i) => g * mask[i]!);
}

/** SELU's negative saturation −λα, PyTorch's alpha dropout constant (its `alpha` 1.7580993408473766, negated). */
const ALPHA_DROPPED = -1.7580993408473766;

/**
 * AlphaDropout's forward given a dropout mask (non-zero: kept), PyTorch's formula: kept a·x + b,
 * dropped a·α' + b, a = ((1 − p)(1 + p·α'²))^−½, b = −a·α'·p; zeros where p = 1 (PyTorch's special case).
 */
export function alphaDropoutForwardRef(x: ArrayLike<number>, mask: ArrayLike<number>, p: number): Float64Array {
  if (p === 1) return new Float64Array(x.length);
  const a = ((1 - p) * (1 + p * ALPHA_DROPPED * ALPHA_DROPPED)) ** -0.5;
  const b = -a * ALPHA_DROPPED * p;
  return Float64Array.from(x, (v, i) => (mask[i] !== 0 ? a * v + b : a * ALPHA_DROPPED + b));
}

/** AlphaDropout's input gradient: a·dy where kept, 0 where dropped (and everywhere where p = 1). */
export function alphaDropoutBackwardRef(dy: ArrayLike<number>, mask: ArrayLike<number>, p: number): Float64Array {
  if (p === 1) return new Float64Array(dy.length);
  const a = ((1 - p) * (1 + p * ALPHA_DROPPED * ALPHA_DROPPED)) ** -0.5;
  return Float64Array.from(dy, (g, i) => (mask[i] !== 0 ? a * g : 0));
}

/**
 * Fisher–Yates over [0, n): for i = n − 1 down to 1, j = ⌊word · (i + 1) / 2³²⌋ with
 * word = randomWord(seed, shuffle, epoch, i); swap perm[i], perm[j]. Exact in float64 for n ≤ 2²¹.
 */
export function shufflePermutationRef(n: number, seed: number, epoch: number): Uint32Array {
  if (n > 2 ** 21) throw new RangeError(`shuffle: n = ${n} is above 2^21, where word · (i + 1) stops being exact`);
  const perm = Uint32Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i >= 1; i--) {
    const j = Math.floor((randomWord(seed, RANDOM_STREAM.shuffle, epoch, i) * (i + 1)) / TWO_POW_32);
    [perm[i], perm[j]] = [perm[j]!, perm[i]!];
  }
  return perm;
}

/** Degrees in [−max, max): u = (word >>> 8) · 2⁻²⁴, angle = −max + 2 · max · u. */
export function rotationAngleRef(seed: number, step: number, sampleIndex: number, maxDegrees: number): number {
  const u = (randomWord(seed, RANDOM_STREAM.rotation, step, sampleIndex) >>> 8) * 2 ** -24;
  return -maxDegrees + 2 * maxDegrees * u;
}
