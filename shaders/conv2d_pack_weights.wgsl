// conv2d_pack_weights: packed = a conv layer's weight [outChannels, inChannels, kernelH, kernelW]
// rearranged for conv2d_forward / conv2d_backward_input (src/kernels/conv-tile.ts); overwrites packed.
//   packed[(c·taps + t)·rowLength + o] = weight[(oBase + o)·oStride + c·cStride + tap(t)] for
//   o < outs, 0 for the padding o < rowLength; tap(t) = ky·kernelW + kx with ky = t / kernelW and
//   kx = t % kernelW, or kernelW − 1 − t % kernelW when flipX is 1 (the input gradient's tap order).
//   Forward: c = input channel, o = output channel (oStride = inChannels·taps, cStride = taps);
//   input gradient: c = output channel, o = input channel (oStride = taps, cStride = inChannels·taps).
//   Invocation = one element of packed.

struct Params {
  channels: u32,
  taps: u32,
  kernelW: u32,
  flipX: u32,
  outs: u32,
  rowLength: u32,
  oBase: u32,
  oStride: u32,
  cStride: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> weight: array<f32>;
@group(0) @binding(2) var<storage, read_write> packed: array<f32>;

override WG_X: u32;

@compute @workgroup_size(WG_X)
fn conv2d_pack_weights(@builtin(global_invocation_id) gid3: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let gid = linearInvocation(gid3, nwg);
  let i = gid.x;
  if (i >= params.channels * params.taps * params.rowLength) { return; }
  let o = i % params.rowLength;
  let t = i / params.rowLength % params.taps;
  let c = i / (params.rowLength * params.taps);
  var value = 0.0;
  if (o < params.outs) {
    let ky = t / params.kernelW;
    let column = t % params.kernelW;
    let kx = select(column, params.kernelW - 1u - column, params.flipX == 1u);
    value = weight[(params.oBase + o) * params.oStride + c * params.cStride + ky * params.kernelW + kx];
  }
  packed[i] = value;
}
