// conv2d_general_backward_weight: the weight gradient of conv2d_general_forward (any groups,
// dilation, stride and padding); overwrites dweight. Fixed-order sums: the same bits every run.
//   x [batch, inChannels, height, width], dy [batch, outChannels, outHeight, outWidth], dweight
//   [outChannels, inChannels / groups, kernelH, kernelW]; the geometry as the forward's.
//   dweight[co, c, ky, kx] = Σ over (n, oy, ox) of dy[n, co, oy, ox]·x[n, g·(inChannels /
//   groups) + c, oy·strideH − padTop + ky·dilationH, ox·strideW − padLeft + kx·dilationW] (taps
//   inside the input), g = co / (outChannels / groups).
//   One workgroup of WG_X invocations (a power of two) per weight element: invocation l sums the
//   (n, oy, ox) with index ≡ l mod WG_X in order, then a fixed tree adds the WG_X partial sums
//   (as bias_backward). The grid is linear (WG_X invocations an element, folded past 65,535
//   workgroups); a workgroup past the last element sums nothing and writes nothing, and every
//   invocation reaches the barriers.

struct Params {
  batch: u32,
  inChannels: u32,
  height: u32,
  width: u32,
  outChannels: u32,
  outHeight: u32,
  outWidth: u32,
  kernelH: u32,
  kernelW: u32,
  strideH: u32,
  strideW: u32,
  padTop: u32,
  padLeft: u32,
  dilationH: u32,
  dilationW: u32,
  groups: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read_write> dweight: array<f32>;

override WG_X: u32;

var<workgroup> partial: array<f32, WG_X>;

@compute @workgroup_size(WG_X)
fn conv2d_general_backward_weight(@builtin(global_invocation_id) gid3: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let gid = linearInvocation(gid3, nwg);
  // The workgroup's element and the invocation's place in it (a workgroup's invocations are WG_X consecutive gid.x).
  let e = gid.x / WG_X;
  let lid = gid.x % WG_X;
  let groupIn = params.inChannels / params.groups;
  let taps = params.kernelH * params.kernelW;
  let valid = e < params.outChannels * groupIn * taps;
  let kx = e % params.kernelW;
  let ky = (e / params.kernelW) % params.kernelH;
  let c = (e / taps) % groupIn;
  let co = e / (taps * groupIn);
  let g = co / (params.outChannels / params.groups);
  let H = i32(params.height);
  let W = i32(params.width);
  let outPlane = params.outHeight * params.outWidth;
  let inPlane = params.height * params.width;
  let count = select(0u, params.batch * outPlane, valid);
  var sum = 0.0;
  for (var j = lid; j < count; j += WG_X) {
    let n = j / outPlane;
    let r = j % outPlane;
    let oy = r / params.outWidth;
    let ox = r % params.outWidth;
    let iy = i32(oy * params.strideH + ky * params.dilationH) - i32(params.padTop);
    let ix = i32(ox * params.strideW + kx * params.dilationW) - i32(params.padLeft);
    if (iy < 0 || iy >= H || ix < 0 || ix >= W) { continue; }
    sum += dy[(n * params.outChannels + co) * outPlane + r] * x[(n * params.inChannels + g * groupIn + c) * inPlane + u32(iy) * params.width + u32(ix)];
  }
  partial[lid] = sum;
  workgroupBarrier();
  for (var stride = WG_X / 2u; stride > 0u; stride /= 2u) {
    if (lid < stride) {
      partial[lid] += partial[lid + stride];
    }
    workgroupBarrier();
  }
  if (lid == 0u && valid) {
    dweight[e] = partial[0];
  }
}
