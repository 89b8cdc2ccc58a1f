// permute: torchvision.ops.Permute over the sample dimensions (src/layers/permute.ts); overwrites
// y. The batch dimension stays first. A sample of rank 2–4 is taken as rank 4 (leading sizes 1):
//   y[n, i0, i1, i2, i3] = x[n · perSample + i0·stride0 + i1·stride1 + i2·stride2 + i3·stride3]
//   `size0 … size3` the output sample's shape, `stride0 … stride3` the step in x's sample of each
//   output dimension (the input's row-major stride of the dimension it came from). Its gradient is
//   the inverse permutation, run the same way.
//   One invocation per output element.

struct Params {
  count: u32,
  size0: u32,
  size1: u32,
  size2: u32,
  size3: u32,
  stride0: u32,
  stride1: u32,
  stride2: u32,
  stride3: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

override WG_X: u32;

@compute @workgroup_size(WG_X)
fn permute(@builtin(global_invocation_id) gid3: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let gid = linearInvocation(gid3, nwg);
  let o = gid.x;
  if (o >= params.count) { return; }
  let perSample = params.size0 * params.size1 * params.size2 * params.size3;
  let n = o / perSample;
  var rest = o % perSample;
  let i3 = rest % params.size3;
  rest = rest / params.size3;
  let i2 = rest % params.size2;
  rest = rest / params.size2;
  let i1 = rest % params.size1;
  let i0 = rest / params.size1;
  y[o] = x[n * perSample + i0 * params.stride0 + i1 * params.stride1 + i2 * params.stride2 + i3 * params.stride3];
}
