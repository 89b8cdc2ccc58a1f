// Dropout draws (the forward kernels'; needs shaders/lib/philox.wgsl): element i is kept where its
// 32-bit draw u(i) = h(i)·2¹⁶ + l(i) ≥ threshold (= ⌊p·2³²⌋). h(i) is the 16-bit half i % 2 (low
// half first) of word (i / 2) % 4 of the primary Philox block i / 8, counter (i / 8, step, stream,
// 0); l(i) the same half of the secondary block, counter (i / 8, step, stream, 1). A block's eight
// h decide wherever h ≠ the threshold's high half (h above it: kept, below: dropped); only where one
// ties (2⁻¹⁶ of the elements) is the secondary block drawn, so the comparison is the whole 32-bit
// one at half the Philox rounds an element (a word each before). Measured (lavapipe, the seed CNN
// at batch 128, bench:profile, alternated): Philox was 2.9 ms of the six batchnorm-and-dropout
// passes' 6.5; with eight elements a block they take 5.24–5.31 ms against 6.49–6.82.
// CPU reference: src/reference/random.ts (dropoutBlockDraws, dropoutMaskRef).

// The eight kept bits (bit e for element 8·block + e) of Philox block `block`.
fn dropoutKeptByte(seed: u32, stream: u32, step: u32, block: u32, threshold: u32) -> u32 {
  let words = philox4x32(vec4u(block, step, stream, 0u), vec2u(seed, 0u));
  let high = vec4u(threshold >> 16u);
  // Elements 0, 2, 4, 6 are the words' low halves, 1, 3, 5, 7 their high halves.
  let even = words & vec4u(0xffffu);
  let odd = words >> vec4u(16u);
  var keptEven = even > high;
  var keptOdd = odd > high;
  let tieEven = even == high;
  let tieOdd = odd == high;
  if (any(tieEven) || any(tieOdd)) {
    let second = philox4x32(vec4u(block, step, stream, 1u), vec2u(seed, 0u));
    let low = vec4u(threshold & 0xffffu);
    keptEven = keptEven | (tieEven & ((second & vec4u(0xffffu)) >= low));
    keptOdd = keptOdd | (tieOdd & ((second >> vec4u(16u)) >= low));
  }
  let bits = select(vec4u(0u), vec4u(1u, 4u, 16u, 64u), keptEven) | select(vec4u(0u), vec4u(2u, 8u, 32u, 128u), keptOdd);
  return bits.x | bits.y | bits.z | bits.w;
}
