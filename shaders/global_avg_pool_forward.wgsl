// global_avg_pool_forward: y[p] = (Σ_s x[p, s]) / area, s increasing; overwrites y.
//   x [planes, area] (planes = batch·channels), y [planes]. One invocation per plane.

struct Params {
  planes: u32,
  area: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

override WG_X: u32;

@compute @workgroup_size(WG_X)
fn global_avg_pool_forward(@builtin(global_invocation_id) gid3: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let gid = linearInvocation(gid3, nwg);
  let p = gid.x;
  if (p >= params.planes) { return; }
  var sum = 0.0;
  for (var s = 0u; s < params.area; s++) {
    sum += x[p * params.area + s];
  }
  y[p] = sum / f32(params.area);
}
