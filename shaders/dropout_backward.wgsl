// dropout_backward: dx = dy · mask (the mask dropout_forward wrote); overwrites dx.

struct Params {
  length: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> mask: array<f32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;

override WG_X: u32;

@compute @workgroup_size(WG_X)
fn dropout_backward(@builtin(global_invocation_id) gid: vec3u) {
  let i = gid.x;
  if (i >= params.length) { return; }
  dx[i] = dy[i] * mask[i];
}
