// An output position's input taps along one axis, as PyTorch's CPU upsampling kernels compute them
// (upsample2d_forward's comment), for upsample2d_forward and upsample2d_backward: the variant
// (NEAREST, NEAREST_EXACT, ALIGN_CORNERS, or bilinear) is the kernel's.

/** An output position's two input taps along an axis of n elements, and their weights (nearest: one tap, weight 1). */
struct Taps {
  i0: u32,
  i1: u32,
  w0: f32,
  w1: f32,
}

/** Bilinear taps at source position s ≥ 0: ⌊s⌋ and the next (none past the last element), weights 1 − (s − ⌊s⌋) and s − ⌊s⌋. */
fn linearTaps(s: f32, n: u32) -> Taps {
  let i0 = min(u32(s), n - 1u);
  let i1 = select(i0 + 1u, i0, i0 == n - 1u);
  let w1 = s - f32(i0);
  return Taps(i0, i1, 1.0 - w1, w1);
}

fn tapsOf(o: u32, scale: f32, n: u32) -> Taps {
#if NEAREST
  let i = min(u32(floor(f32(o) * scale)), n - 1u);
  return Taps(i, i, 1.0, 0.0);
#elif NEAREST_EXACT
  let i = min(u32(floor((f32(o) + 0.5) * scale)), n - 1u);
  return Taps(i, i, 1.0, 0.0);
#elif ALIGN_CORNERS
  return linearTaps(f32(o) * scale, n);
#else
  return linearTaps(max((f32(o) + 0.5) * scale - 0.5, 0.0), n);
#endif
}
