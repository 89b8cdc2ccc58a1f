// sigmoid_backward: dx = dy · y · (1 − y), element-wise on rows of `features`, overwrites dx.
//   y is the forward output. One invocation per element.
//   Variant SPREADSHEET_DERIVATIVE copies the 2-2-2 spreadsheet's slip: every unit of a row uses
//   the derivative of the row's first unit, y[row, 0] · (1 − y[row, 0]) (SPEC.md §1).

struct Params {
  count: u32,
  features: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> y: array<f32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;

override WG_X: u32;

@compute @workgroup_size(WG_X)
fn sigmoid_backward(@builtin(global_invocation_id) gid3: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let gid = linearInvocation(gid3, nwg);
  let i = gid.x;
  if (i >= params.count) { return; }
#if SPREADSHEET_DERIVATIVE
  let a = y[(i / params.features) * params.features];
#else
  let a = y[i];
#endif
  dx[i] = dy[i] * a * (1.0 - a);
}
