// The carry of a recurrent backward step (gru_backward_step, lstm_backward_step): the next step's
// pre-activation gradients through W_hh into four units j0 … j0 + 3. The kernel declares weightHh
// [gates·H, H] (array<vec4f> in variant VEC4) and, in variant SUBGROUP, nextGradient(at) (a word of
// the next step's hidden-side gradients), and appends shaders/lib/recurrent_step.wgsl.

// W_hh's row k, words j0 … j0 + 3 (units past H read unit H − 1's weight, unused): variant VEC4
// (H a multiple of 4) reads them as one vec4.
fn weightWords(k: u32, j0: u32) -> vec4f {
  let H = params.hidden;
#if VEC4
  return weightHh[k * (H / 4u) + j0 / 4u];
#else
  var w = vec4f(0.0);
  for (var u = 0u; u < 4u; u++) {
    w[u] = weightHh[k * H + min(j0 + u, H - 1u)];
  }
  return w;
#endif
}

// carry + d · w, lane by lane.
fn addCarryWords(carry: vec4f, d: f32, w: vec4f) -> vec4f {
  var c = carry;
  c.x += d * w.x;
  c.y += d * w.y;
  c.z += d * w.z;
  c.w += d * w.w;
  return c;
}

// carry + d · W_hh[k, j0 … j0 + 3], lane by lane.
fn addCarry(carry: vec4f, d: f32, k: u32, j0: u32) -> vec4f {
  return addCarryWords(carry, d, weightWords(k, j0));
}

#if SUBGROUP
// carry + Σ_{t < terms} d[t] · w[t], the terms in increasing t.
fn carryRound(carry: vec4f, d: vec4f, w: array<vec4f, 4>, terms: u32) -> vec4f {
  var c = carry;
  for (var t = 0u; t < terms; t++) {
    c = addCarryWords(c, d[t], w[t]);
  }
  return c;
}

// One round of carries8: rows r0 … r0 + terms − 1 of the next step's gradients (this lane's
// sample's, from `next`, through the kernel's nextGradient) loaded, the 8 lanes' shared by
// subgroupBroadcast, times W_hh's words j0 … j0 + 3 of those rows.
fn carryRound8(carries: array<vec4f, 8>, j0: u32, next: u32, r0: u32, terms: u32) -> array<vec4f, 8> {
  var dv = vec4f(0.0);
  var w: array<vec4f, 4>;
  for (var t = 0u; t < terms; t++) {
    dv[t] = nextGradient(next + r0 + t);
    w[t] = weightWords(r0 + t, j0);
  }
  var c = carries;
  c[0] = carryRound(c[0], subgroupBroadcast(dv, 0u), w, terms);
  c[1] = carryRound(c[1], subgroupBroadcast(dv, 1u), w, terms);
  c[2] = carryRound(c[2], subgroupBroadcast(dv, 2u), w, terms);
  c[3] = carryRound(c[3], subgroupBroadcast(dv, 3u), w, terms);
  c[4] = carryRound(c[4], subgroupBroadcast(dv, 4u), w, terms);
  c[5] = carryRound(c[5], subgroupBroadcast(dv, 5u), w, terms);
  c[6] = carryRound(c[6], subgroupBroadcast(dv, 6u), w, terms);
  c[7] = carryRound(c[7], subgroupBroadcast(dv, 7u), w, terms);
  return c;
}

// The carries Σ_r next[r] · W_hh[r, j] over the `rows` rows (r increasing) into units j0 … j0 + 3
// of the subgroup's 8 samples, element i sample 8g + i's: the same sums, to the bit, as addCarry
// over r, but each row's gradient loaded once a subgroup (`next`: this lane's own sample's offset)
// and shared by subgroupBroadcast, where the plain path has every lane of a sample load it (an
// address the lanes share). Rounds of 4 rows; the last takes rows % 4.
fn carries8(j0: u32, next: u32, rows: u32) -> array<vec4f, 8> {
  var c: array<vec4f, 8>;
  for (var r0 = 0u; r0 + 4u <= rows; r0 += 4u) {
    c = carryRound8(c, j0, next, r0, 4u);
  }
  if (rows % 4u != 0u) {
    c = carryRound8(c, j0, next, rows - rows % 4u, rows % 4u);
  }
  return c;
}
#endif
