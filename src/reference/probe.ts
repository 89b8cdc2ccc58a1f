/** CPU reference for the fma_peak probe, float64. */

/** `chains` vec4 chains (8 unless given) of `iterations` rounds per invocation, every lane summed. */
export function fmaPeakRef(count: number, iterations: number, multiplier: number, addend: number, chains = 8): Float64Array {
  const out = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    let sum = 0;
    for (let lane = 0; lane < 4 * chains; lane++) {
      let x = i * 0.001 + lane * 0.001;
      for (let r = 0; r < iterations; r++) x = x * multiplier + addend;
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
