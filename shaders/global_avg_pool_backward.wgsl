// global_avg_pool_backward: dx[p, s] = dy[p] / area; overwrites dx.
//   dy [planes], dx [planes, area]. An invocation writes `spread` consecutive elements of dx, all
//   of one plane (spread divides area): 1 on a GPU (an invocation an element), area on a CPU
//   adapter (an invocation a plane), whose vector unit divides integers a lane at a time — the
//   per-element i / area made this pass 0.35 ms for the seed CNN's 73,728 elements on lavapipe.
//   The same value either way (dy[p] / f32(area)), so the same bits.

struct Params {
  planes: u32,
  area: u32,
  spread: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read_write> dx: array<f32>;

override WG_X: u32;

@compute @workgroup_size(WG_X)
fn global_avg_pool_backward(@builtin(global_invocation_id) gid3: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let gid = linearInvocation(gid3, nwg);
  let first = gid.x * params.spread;
  if (first >= params.planes * params.area) { return; }
  let value = dy[first / params.area] / f32(params.area);
  for (var s = 0u; s < params.spread; s++) {
    dx[first + s] = value;
  }
}
