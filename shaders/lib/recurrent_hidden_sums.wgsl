// The hidden side of a recurrent forward step (gru_forward_step, lstm_forward_step): W_hh · h_{t−1}
// + b_hh for unit j's gate rows. The kernel declares weightHh [gates·H, H] (array<vec4f> in variant
// VEC4), biasHh (variant BIAS), y (holding h_{t−1}) and gates [batch, seqLen, 4H], and appends
// shaders/lib/recurrent_step.wgsl.

#if VEC4
#else
// W_hh's row r times h_{t−1} (offset `prev` in y), summed over m in increasing order.
fn rowSum(r: u32, prev: u32) -> f32 {
  let H = params.hidden;
  var a = 0.0;
  for (var m = 0u; m < H; m++) {
    a += weightHh[r * H + m] * y[prev + m];
  }
  return a;
}
#endif

// Lane k < gates: W_hh's row k·H + j times h_{t−1} (offset `prev` in y; 0 at the first step),
// summed over m in increasing order, plus b_hh's (variant BIAS); lanes past `gates` 0. Variant
// VEC4 (H a multiple of 4) reads the rows and h_{t−1} four words at a time, adding the products
// one by one in that order (the same sums, to the bit, as the scalar loop); measured on lavapipe at
// batch 128, H 64 (exp/, rough: shared CPUs), the LSTM's 3.4–3.6 ms a step with a loop over m per
// gate, 1.5 with VEC4.
fn hiddenSums(j: u32, prev: u32, first: bool, gates: u32) -> vec4f {
  let H = params.hidden;
  var s = vec4f(0.0);
  if (!first) {
#if VEC4
    for (var q = 0u; q < H / 4u; q++) {
      let m = prev + 4u * q;
      let h = vec4f(y[m], y[m + 1u], y[m + 2u], y[m + 3u]);
      for (var k = 0u; k < gates; k++) {
        let w = weightHh[(k * H + j) * (H / 4u) + q];
        var a = s[k];
        a += w.x * h.x;
        a += w.y * h.y;
        a += w.z * h.z;
        a += w.w * h.w;
        s[k] = a;
      }
    }
#else
    for (var k = 0u; k < gates; k++) {
      s[k] = rowSum(k * H + j, prev);
    }
#endif
  }
#if BIAS
  for (var k = 0u; k < gates; k++) {
    s[k] += biasHh[k * H + j];
  }
#endif
  return s;
}

// Stores unit j's four gate values at `row` (gates [batch, seqLen, 4H]: value k at k·H + j).
fn storeGates(row: u32, j: u32, values: vec4f) {
  let H = params.hidden;
  let at = row * 4u * H + j;
  gates[at] = values[0];
  gates[at + H] = values[1];
  gates[at + 2u * H] = values[2];
  gates[at + 3u * H] = values[3];
}
