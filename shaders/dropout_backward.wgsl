// dropout_backward: dx = dy · mask (the mask bits dropout_forward drew: scale = 1/(1 − p) where
// kept, 0 where dropped; shaders/lib/dropout_mask.wgsl); overwrites dx. One invocation per four
// elements; variant VEC4 (length a multiple of 4): the four are one vec4, their bits one nibble.

struct Params {
  length: u32,
  scale: f32,
}

@group(0) @binding(0) var<uniform> params: Params;
#if VEC4
@group(0) @binding(1) var<storage, read> dy: array<vec4f>;
#else
@group(0) @binding(1) var<storage, read> dy: array<f32>;
#endif
@group(0) @binding(2) var<storage, read> mask: array<u32>;
#if VEC4
@group(0) @binding(3) var<storage, read_write> dx: array<vec4f>;
#else
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;
#endif

override WG_X: u32;

@compute @workgroup_size(WG_X)
fn dropout_backward(@builtin(global_invocation_id) gid3: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let gid = linearInvocation(gid3, nwg);
  let quad = gid.x;
#if VEC4
  if (quad < params.length / 4u) {
    dx[quad] = dy[quad] * maskQuad(mask[quad / 8u] >> (4u * (quad % 8u)), params.scale);
  }
#else
  let i0 = quad * 4u;
  if (i0 >= params.length) { return; }
  let word = mask[quad / 8u];
  for (var i = i0; i < min(i0 + 4u, params.length); i++) {
    dx[i] = dy[i] * maskAt(word, i % 32u, params.scale);
  }
#endif
}
