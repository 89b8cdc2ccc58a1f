// conv_tile: the register tile shared by conv2d_forward and conv2d_backward_input (both a GEMM
// over kernel taps, three taps a step, 4 pixels × Q·4 channels of sums per row in registers).
// The including shader declares `const Q` (channels per invocation / 4).

// a[e] += Σ_i r[i] · w[e][i]: 4 pixels × 4 channels, 3 taps (i increasing).
fn quad3(a: mat4x4f, r: mat3x4f, w: mat4x3f) -> mat4x4f {
  return mat4x4f(
    fma(r[2], vec4f(w[0].z), fma(r[1], vec4f(w[0].y), fma(r[0], vec4f(w[0].x), a[0]))),
    fma(r[2], vec4f(w[1].z), fma(r[1], vec4f(w[1].y), fma(r[0], vec4f(w[1].x), a[1]))),
    fma(r[2], vec4f(w[2].z), fma(r[1], vec4f(w[2].y), fma(r[0], vec4f(w[2].x), a[2]))),
    fma(r[2], vec4f(w[3].z), fma(r[1], vec4f(w[3].y), fma(r[0], vec4f(w[3].x), a[3]))),
  );
}

// One row of sums: 4 pixels × 4·Q channels, one step of 3 taps.
fn rowStep(a: array<mat4x4f, Q>, r: mat3x4f, w: array<mat4x3f, Q>) -> array<mat4x4f, Q> {
  return array<mat4x4f, Q>(
    quad3(a[0], r, w[0]),
    quad3(a[1], r, w[1]),
    quad3(a[2], r, w[2]),
    quad3(a[3], r, w[3]),
  );
}
