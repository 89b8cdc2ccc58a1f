// The carry of a recurrent backward step (gru_backward_step, lstm_backward_step): the next step's
// pre-activation gradients through W_hh into four units j0 … j0 + 3. The kernel declares weightHh
// [gates·H, H] (array<vec4f> in variant VEC4) and appends shaders/lib/recurrent_step.wgsl.

// carry + d · W_hh[k, j0 … j0 + 3], lane by lane (units past H read unit H − 1's weight, unused):
// variant VEC4 (H a multiple of 4) reads the row's four words as one vec4.
fn addCarry(carry: vec4f, d: f32, k: u32, j0: u32) -> vec4f {
  let H = params.hidden;
  var c = carry;
#if VEC4
  let w = weightHh[k * (H / 4u) + j0 / 4u];
  c.x += d * w.x;
  c.y += d * w.y;
  c.z += d * w.z;
  c.w += d * w.w;
#else
  for (var u = 0u; u < 4u; u++) {
    c[u] += d * weightHh[k * H + min(j0 + u, H - 1u)];
  }
#endif
  return c;
}
