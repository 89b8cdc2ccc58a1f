// conv2d_backward_weight_reduce: dweight[i] = Σ_s partial[s, i], s increasing; overwrites dweight.
//   partial [splits, length] from conv2d_backward_weight; one invocation per weight.

struct Params {
  length: u32,
  splits: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> partial: array<f32>;
@group(0) @binding(2) var<storage, read_write> dweight: array<f32>;

override WG_X: u32;

@compute @workgroup_size(WG_X)
fn conv2d_backward_weight_reduce(@builtin(global_invocation_id) gid3: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let gid = linearInvocation(gid3, nwg);
  let i = gid.x;
  if (i >= params.length) { return; }
  var sum = 0.0;
  for (var s = 0u; s < params.splits; s++) {
    sum += partial[s * params.length + i];
  }
  dweight[i] = sum;
}
