// dropout_backward: dx = dy · mask (the mask dropout_forward wrote); overwrites dx. One
// invocation per four elements; variant VEC4 (length a multiple of 4): the four are one vec4.

struct Params {
  length: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
#if VEC4
@group(0) @binding(1) var<storage, read> dy: array<vec4f>;
@group(0) @binding(2) var<storage, read> mask: array<vec4f>;
@group(0) @binding(3) var<storage, read_write> dx: array<vec4f>;
#else
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> mask: array<f32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;
#endif

override WG_X: u32;

@compute @workgroup_size(WG_X)
fn dropout_backward(@builtin(global_invocation_id) gid3: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let gid = linearInvocation(gid3, nwg);
#if VEC4
  if (gid.x < params.length / 4u) {
    dx[gid.x] = dy[gid.x] * mask[gid.x];
  }
#else
  let i0 = gid.x * 4u;
  for (var i = i0; i < min(i0 + 4u, params.length); i++) {
    dx[i] = dy[i] * mask[i];
  }
#endif
}
