// glu: PyTorch's GLU(dim), y = a · σ(b), a the first half of the split dimension, b the second;
// overwrites y. BACKWARD: its input gradient from the input, ∂a = dy · σ(b), ∂b = dy · a · σ(b) · σ(−b)
// (σ(−b) for 1 − σ(b), which would cancel for large b); overwrites dx (both halves). Where σ(b) is
// subnormal (b < −87.34) the products with it are taken as PyTorch's float32 gives them (timesSigmoid,
// shaders/lib/sigmoid.wgsl): a = 3e38 at b = −88 gives y = 1.82, not 0; σ(−b) is 1 there.
//   x, dx [outer, 2·half, inner]; y, dy [outer, half, inner] (count = outer · half · inner).
//   One invocation per output element o = (s, j, k): a = x[s, j, k], b = x[s, half + j, k].

struct Params {
  count: u32,
  half: u32,
  inner: u32,
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
fn glu(@builtin(global_invocation_id) gid3: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let gid = linearInvocation(gid3, nwg);
  let o = gid.x;
  if (o >= params.count) { return; }
  let span = params.half * params.inner;
  let ia = (o / span) * 2u * span + o % span;
  let ib = ia + span;
  let a = x[ia];
  let b = x[ib];
#if BACKWARD
  if (sigmoidSubnormal(b)) {
    dx[ia] = timesSigmoid(dy[o], b);
    dx[ib] = dy[o] * timesSigmoid(a, b);
    return;
  }
  let s = sigmoid(b);
  dx[ia] = dy[o] * s;
  dx[ib] = dy[o] * a * s * sigmoid(-b);
#else
  y[o] = timesSigmoid(a, b);
#endif
}
