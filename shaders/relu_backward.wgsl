// relu_backward: dx = dy except where the ReLU output y ≤ 0, there 0 (PyTorch's threshold_backward on
// the output: a NaN y passes dy; shaders/lib/relu.wgsl's reluPasses); overwrites dx. One invocation per four elements.

struct Params {
  length: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> y: array<f32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;

override WG_X: u32;

@compute @workgroup_size(WG_X)
fn relu_backward(@builtin(global_invocation_id) gid3: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let gid = linearInvocation(gid3, nwg);
  let i0 = gid.x * 4u;
  for (var i = i0; i < min(i0 + 4u, params.length); i++) {
    dx[i] = select(0.0, dy[i], reluPasses(y[i]));
  }
}
