// rrelu: PyTorch's RReLU in training, y = x if x > 0 else r·x, r drawn for each element from
// U(lower, upper); overwrites y. BACKWARD: its input gradient from the input, dx = dy if x > 0 else
// r·dy, the same r drawn again (overwrites dx). x ≤ 0 is PyTorch's condition: a NaN passes (slope 1).
// (Eval is LeakyReLU's kernel with the slope (lower + upper)/2: activation_forward.)
//   r(i) = lower + (upper − lower)·u, u = (w >> 8)·2⁻²⁴ ∈ [0, 1), w word i % 4 of the Philox block
//   i / 4 of (seed, stream, step) (shaders/lib/philox.wgsl's randomBlock; CPU: rreluSlopesRef in
//   src/reference/rrelu.ts). One invocation per block: elements 4·block … 4·block + 3.

struct Params {
  count: u32,
  lower: f32,
  upper: f32,
  seed: u32,
  stream: u32,
  step: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
#if BACKWARD
@group(0) @binding(3) var<storage, read> dy: array<f32>;
@group(0) @binding(4) var<storage, read_write> dx: array<f32>;
#else
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
#endif

override WG_X: u32;

@compute @workgroup_size(WG_X)
fn rrelu(@builtin(global_invocation_id) gid3: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let gid = linearInvocation(gid3, nwg);
  let block = gid.x;
  if (block * 4u >= params.count) { return; }
  let words = randomBlock(params.seed, params.stream, params.step, block);
  for (var e = 0u; e < 4u; e++) {
    let i = block * 4u + e;
    if (i >= params.count) { break; }
    let u = f32(words[e] >> 8u) * (1.0 / 16777216.0);
    let slope = select(1.0, params.lower + (params.upper - params.lower) * u, x[i] <= 0.0);
#if BACKWARD
    dx[i] = dy[i] * slope;
#else
    y[i] = x[i] * slope;
#endif
  }
}
