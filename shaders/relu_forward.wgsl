// relu_forward: y = max(x, 0), a NaN kept as PyTorch keeps it (shaders/lib/relu.wgsl's reluBits); overwrites y. One invocation per four elements.

struct Params {
  length: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

override WG_X: u32;

@compute @workgroup_size(WG_X)
fn relu_forward(@builtin(global_invocation_id) gid3: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let gid = linearInvocation(gid3, nwg);
  let i0 = gid.x * 4u;
  for (var i = i0; i < min(i0 + 4u, params.length); i++) {
    y[i] = reluBits(x[i]);
  }
}
