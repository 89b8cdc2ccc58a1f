// PyTorch's ReLU and the mask of its backward, told by the bits: WGSL lets a compiler assume that
// floats are not NaN, so max(v, 0.0) of a NaN is implementation-defined (lavapipe gives 0) and a
// select on a comparison may be folded into a min or max (NVIDIA's Vulkan compiler did).
//
// reluBits(v): v, except +0 where v is negative (−0 … −∞, not a NaN). As i32, those bits are the
// ones up to −8388608 (0xff800000, −∞): −0 is the most negative i32; +0, the positives, +∞ and
// every NaN, the negative NaNs 0xff800001 … 0xffffffff too, lie above. So a NaN stays itself, as
// PyTorch's relu keeps it; on every other value it is max(v, 0.0) as lavapipe gives it, −0 to +0
// included (PyTorch 1.13's relu keeps −0: the one difference, a zero's sign).
fn reluBits(v: f32) -> f32 {
  return select(0.0, v, bitcast<i32>(v) > -8388608);
}

fn reluBits4(v: vec4f) -> vec4f {
  return select(vec4f(0.0), v, bitcast<vec4i>(v) > vec4i(-8388608));
}

// reluPasses(y): whether ReLU's backward passes dy at its output y. PyTorch's threshold_backward
// zeroes dy only where y ≤ 0, so a NaN y passes it: the bits 1 … 0x7fffffff (the positives, +∞
// and the positive NaNs; not +0) and those above 0xff800000 (the negative NaNs). On every other
// value it is y > 0.
fn reluPasses(y: f32) -> bool {
  let b = bitcast<u32>(y);
  return (b - 1u < 0x7fffffffu) | (b > 0xff800000u);
}

fn reluPasses2(y: vec2f) -> vec2<bool> {
  let b = bitcast<vec2u>(y);
  return (b - vec2u(1u) < vec2u(0x7fffffffu)) | (b > vec2u(0xff800000u));
}

fn reluPasses4(y: vec4f) -> vec4<bool> {
  let b = bitcast<vec4u>(y);
  return (b - vec4u(1u) < vec4u(0x7fffffffu)) | (b > vec4u(0xff800000u));
}
