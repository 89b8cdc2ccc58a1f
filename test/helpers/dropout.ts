/**
 * Dropout masks in tests: how many of a mask's draws tie the threshold's high half (decided by the
 * secondary Philox block, shaders/lib/dropout_draw.wgsl), and where two masks keep different
 * elements (indices, not a whole-array diff: the real shapes hold millions of elements).
 */
import { dropoutBlockDraws, dropoutThreshold } from '../../src/reference/random.js';

/** The elements of a mask whose draw's high half equals the threshold's, split by kept and dropped. */
export function dropoutTies(length: number, p: number, seed: number, stream: number, step: number): { kept: number; dropped: number } {
  const threshold = dropoutThreshold(p);
  let [kept, dropped] = [0, 0];
  for (let block = 0; block * 8 < length; block++) {
    const draws = dropoutBlockDraws(seed, stream, step, block);
    for (let e = 0; e < 8 && block * 8 + e < length; e++) {
      if (draws[e]! >>> 16 !== threshold >>> 16) continue;
      if (draws[e]! >= threshold) kept++;
      else dropped++;
    }
  }
  return { kept, dropped };
}

/** The first `limit` indices where one mask keeps an element and the other drops it. */
export function mismatches(got: ArrayLike<number>, want: ArrayLike<number>, limit = 10): number[] {
  if (got.length !== want.length) throw new RangeError(`masks of ${got.length} and ${want.length} elements`);
  const at: number[] = [];
  for (let i = 0; i < got.length && at.length < limit; i++) if ((got[i] !== 0) !== (want[i] !== 0)) at.push(i);
  return at;
}
