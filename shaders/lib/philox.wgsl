// Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", Random123):
// a counter-based generator, so any element's random word is computed where it is needed, in any
// order, with the same result. WGSL has no 64-bit product: mulhilo builds it from 16-bit halves.
// CPU reference: src/reference/random.ts (checked against Random123's known-answer vectors).

// (high, low) 32-bit words of the 64-bit product a·b.
fn mulhilo(a: u32, b: u32) -> vec2u {
  let aLo = a & 0xffffu;
  let aHi = a >> 16u;
  let bLo = b & 0xffffu;
  let bHi = b >> 16u;
  let loLo = aLo * bLo;
  let hiLo = aHi * bLo;
  let loHi = aLo * bHi;
  let cross = (loLo >> 16u) + (hiLo & 0xffffu) + loHi;
  let hi = aHi * bHi + (hiLo >> 16u) + (cross >> 16u);
  return vec2u(hi, a * b);
}

fn philox4x32(counter: vec4u, seedKey: vec2u) -> vec4u {
  var c = counter;
  var k = seedKey;
  for (var round = 0u; round < 10u; round++) {
    let p0 = mulhilo(0xD2511F53u, c.x);
    let p1 = mulhilo(0xCD9E8D57u, c.z);
    c = vec4u(p1.x ^ c.y ^ k.x, p1.y, p0.x ^ c.w ^ k.y, p0.y);
    k += vec2u(0x9E3779B9u, 0xBB67AE85u);
  }
  return c;
}

// The four random words of counter block index / 4 for (seed, stream, step): word index & 3 is
// the word for element `index` (src/reference/random.ts: randomWord).
fn randomBlock(seed: u32, stream: u32, step: u32, block: u32) -> vec4u {
  return philox4x32(vec4u(block, step, stream, 0u), vec2u(seed, 0u));
}

// floor(word · n / 2³²): a number in [0, n) from a random word.
fn randomBelow(word: u32, n: u32) -> u32 {
  return mulhilo(word, n).x;
}
