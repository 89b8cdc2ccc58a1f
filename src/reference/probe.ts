/** CPU reference for the fma_peak probe, float64. */

/**
 * `chains` vec4 chains (8 unless given) of `iterations` rounds per invocation, every lane summed.
 * A round is x ← x·m + a, or with `products` (fma_peak's PRODUCTS) v_t ← v_t·m + a for
 * t = 0 … 7 and then x ← x + v_t·p_kt in order, p_kt = 1/2 + k/128 + t/1024 for chain k, where
 * v_t starts as chain 0's x (the same lane of the vec4) + t/100.
 */
export function fmaPeakRef(count: number, iterations: number, multiplier: number, addend: number, chains = 8, products = false): Float64Array {
  const out = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    let sum = 0;
    for (let lane = 0; lane < 4 * chains; lane++) {
      let x = i * 0.001 + lane * 0.001;
      const k = Math.floor(lane / 4);
      const v = Array.from({ length: 8 }, (_, t) => i * 0.001 + (lane % 4) * 0.001 + Math.fround(t / 100));
      for (let r = 0; r < iterations; r++) {
        if (products) {
          for (let t = 0; t < 8; t++) v[t] = v[t]! * multiplier + addend;
          for (let t = 0; t < 8; t++) x += v[t]! * (0.5 + k / 128 + t / 1024);
        } else {
          x = x * multiplier + addend;
        }
      }
      sum += x;
    }
    out[i] = sum;
  }
  return out;
}

/** CPU reference for the bandwidth_probe kernel: y = x · scale. */
export function bandwidthProbeRef(x: ArrayLike<number>, scale: number): Float64Array {
  return Float64Array.from(x, (v) => v * scale);
}
