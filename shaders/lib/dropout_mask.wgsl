// Dropout masks kept as bits: bit i % 32 of word i / 32 is 1 where element i (the flat index of
// the tensor) is kept. A mask is 1/32 of its tensor's bytes: drawn once by the forward pass, and
// read by the backward pass (dropout_backward, or a batch norm's backward with the dropout after
// it fused in). A kept element's mask value is scale = 1/(1 − p), a dropped one's 0, so y = x ·
// mask and dx = dy · mask are the products the f32 mask values gave.
// The draws: shaders/lib/dropout_draw.wgsl. CPU reference: src/reference/random.ts (dropoutMaskRef),
// src/kernels/dropout.ts (maskFromBits).

// The mask values (0 or scale) of four elements from their four bits (bit e for element e).
fn maskQuad(bits: u32, scale: f32) -> vec4f {
  return select(vec4f(0.0), vec4f(scale), (vec4u(bits) & vec4u(1u, 2u, 4u, 8u)) != vec4u(0u));
}

// The mask value (0 or scale) of bit `bit` of a mask word.
fn maskAt(word: u32, bit: u32, scale: f32) -> f32 {
  return select(0.0, scale, ((word >> bit) & 1u) != 0u);
}

// Mask word `word` of a tensor of `length` elements with the bits past the length cleared (the
// forward kernels draw whole Philox blocks, so bits past the end would be set at random).
fn maskWordWithin(bits: u32, word: u32, length: u32) -> u32 {
  let valid = length - word * 32u;
  return select(bits & ((1u << valid) - 1u), bits, valid >= 32u);
}
