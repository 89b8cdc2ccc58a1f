// global_avg_pool_backward: dx[p, s] = dy[p] / area; overwrites dx.
//   dy [planes], dx [planes, area]. One invocation per element of dx.

struct Params {
  planes: u32,
  area: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read_write> dx: array<f32>;

override WG_X: u32;

@compute @workgroup_size(WG_X)
fn global_avg_pool_backward(@builtin(global_invocation_id) gid3: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let gid = linearInvocation(gid3, nwg);
  let i = gid.x;
  if (i >= params.planes * params.area) { return; }
  dx[i] = dy[i / params.area] / f32(params.area);
}
