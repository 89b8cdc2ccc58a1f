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

#if SUBGROUP
// W_hh's row r, words 4q … 4q + 3 (the first `terms`; the others 0).
fn weightRow4(r: u32, q: u32, terms: u32) -> vec4f {
  let H = params.hidden;
#if VEC4
  return weightHh[r * (H / 4u) + q];
#else
  var w = vec4f(0.0);
  for (var c = 0u; c < terms; c++) {
    w[c] = weightHh[r * H + 4u * q + c];
  }
  return w;
#endif
}

// acc[k] + Σ_{c < terms} w[k][c] · h[c] for gate k < gates, the terms added one by one in
// increasing c (as hiddenSums adds them).
fn addRound(acc: vec4f, w: array<vec4f, 4>, h: vec4f, terms: u32, gates: u32) -> vec4f {
  var s = acc;
  for (var k = 0u; k < gates; k++) {
    var a = s[k];
    for (var c = 0u; c < terms; c++) {
      a += w[k][c] * h[c];
    }
    s[k] = a;
  }
  return s;
}

// One round of hiddenSums8: words 4q … 4q + terms − 1 of h_{t−1} (this lane's sample's, offset
// `prev` in y) loaded, the 8 lanes' shared by subgroupBroadcast, times unit j's gate rows.
fn hiddenRound(sums: array<vec4f, 8>, j: u32, prev: u32, q: u32, terms: u32, gates: u32) -> array<vec4f, 8> {
  let H = params.hidden;
  var hv = vec4f(0.0);
  for (var c = 0u; c < terms; c++) {
    hv[c] = y[prev + 4u * q + c];
  }
  var w: array<vec4f, 4>;
  for (var k = 0u; k < gates; k++) {
    w[k] = weightRow4(k * H + j, q, terms);
  }
  var s = sums;
  s[0] = addRound(s[0], w, subgroupBroadcast(hv, 0u), terms, gates);
  s[1] = addRound(s[1], w, subgroupBroadcast(hv, 1u), terms, gates);
  s[2] = addRound(s[2], w, subgroupBroadcast(hv, 2u), terms, gates);
  s[3] = addRound(s[3], w, subgroupBroadcast(hv, 3u), terms, gates);
  s[4] = addRound(s[4], w, subgroupBroadcast(hv, 4u), terms, gates);
  s[5] = addRound(s[5], w, subgroupBroadcast(hv, 5u), terms, gates);
  s[6] = addRound(s[6], w, subgroupBroadcast(hv, 6u), terms, gates);
  s[7] = addRound(s[7], w, subgroupBroadcast(hv, 7u), terms, gates);
  return s;
}

// hiddenSums for unit j (below H) of the subgroup's 8 samples, element i sample 8g + i's: the
// same sums, to the bit — each over m in increasing order, then b_hh — but h_{t−1} loaded once a
// subgroup (`prev`: this lane's own sample's, in y) and shared by subgroupBroadcast, where
// hiddenSums has every lane of a sample load it (an address the lanes share, lavapipe's dearest
// load). Rounds of 4 words; the last takes H % 4 where H is not a multiple of 4.
fn hiddenSums8(j: u32, prev: u32, first: bool, gates: u32) -> array<vec4f, 8> {
  let H = params.hidden;
  var s: array<vec4f, 8>;
  if (!first) {
    for (var q = 0u; q < H / 4u; q++) {
      s = hiddenRound(s, j, prev, q, 4u, gates);
    }
    if (H % 4u != 0u) {
      s = hiddenRound(s, j, prev, H / 4u, H % 4u, gates);
    }
  }
#if BIAS
  for (var i = 0u; i < 8u; i++) {
    for (var k = 0u; k < gates; k++) {
      s[i][k] += biasHh[k * H + j];
    }
  }
#endif
  return s;
}
#endif
