// bandwidth_probe: the adapter's memory bandwidth, the denominator of element-wise utilisation.
//   A grid-stride loop: invocation g handles elements g, g + G, g + 2G, … (G = invocations in the
//   grid) and overwrites y[i] = x[i] · scale. Per element 4 bytes are read and 4 written.

struct Params {
  count: u32,
  scale: f32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

override WG_X: u32;

@compute @workgroup_size(WG_X)
fn bandwidth_probe(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let stride = groups.x * WG_X;
  for (var i = gid.x; i < params.count; i += stride) {
    y[i] = x[i] * params.scale;
  }
}
