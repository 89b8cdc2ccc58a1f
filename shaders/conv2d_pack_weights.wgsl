// conv2d_pack_weights: conv layers' weights [outChannels, inChannels, kernelH, kernelW] rearranged
// for conv2d_forward / conv2d_backward_input (src/kernels/conv-tile.ts), any number of (layer,
// direction, slice) jobs in one dispatch; overwrites each job's packed elements.
//   Job j (a record of PACK_RECORD u32s in jobs, from conv2dPackJobTable in src/kernels/conv2d.ts):
//   packed[packedAt + (c·taps + t)·rowLength + o] = weight[weightAt + (oBase + o)·oStride +
//   c·cStride + tap(t)] for o < outs, 0 for the padding o < rowLength; tap(t) = ky·kernelW + kx
//   with ky = t / kernelW and kx = t % kernelW, or kernelW − 1 − t % kernelW when flipX is 1 (the
//   input gradient's tap order).
//   Forward: c = input channel, o = output channel (oStride = inChannels·taps, cStride = taps);
//   input gradient: c = output channel, o = input channel (oStride = taps, cStride = inChannels·taps).
//   weight and packed are whole buffers (a network's parameter arena and its packed-weight arena,
//   whose members the jobs name by their first element, weightAt and packedAt).
//   Invocation i = one packed element: of the last job whose first invocation (`first`, the
//   element counts of the jobs before it summed) is ≤ i. A network packs every conv layer's
//   weights so, before its forward pass: the seed CNN's 15 packings took a dispatch each, which
//   lavapipe charges ~30–50 µs before any work.

struct Params {
  jobs: u32,
  invocations: u32,
}

const PACK_RECORD = 12u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> weight: array<f32>;
@group(0) @binding(2) var<storage, read_write> packed: array<f32>;
@group(0) @binding(3) var<storage, read> jobs: array<u32>;

override WG_X: u32;

@compute @workgroup_size(WG_X)
fn conv2d_pack_weights(@builtin(global_invocation_id) gid3: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let gid = linearInvocation(gid3, nwg);
  let i = gid.x;
  if (i >= params.invocations) { return; }
  var r = 0u;
  for (var j = 1u; j < params.jobs; j++) {
    if (jobs[j * PACK_RECORD + 11u] <= i) { r = j * PACK_RECORD; }
  }
  let channels = jobs[r];
  let taps = jobs[r + 1u];
  let kernelW = jobs[r + 2u];
  let flipX = jobs[r + 3u];
  let outs = jobs[r + 4u];
  let rowLength = jobs[r + 5u];
  let oBase = jobs[r + 6u];
  let oStride = jobs[r + 7u];
  let cStride = jobs[r + 8u];
  let weightAt = jobs[r + 9u];
  let packedAt = jobs[r + 10u];
  let e = i - jobs[r + 11u];
  let o = e % rowLength;
  let t = e / rowLength % taps;
  let c = e / (rowLength * taps);
  var value = 0.0;
  if (o < outs) {
    let ky = t / kernelW;
    let column = t % kernelW;
    let kx = select(column, kernelW - 1u - column, flipX == 1u);
    value = weight[weightAt + (oBase + o) * oStride + c * cStride + ky * kernelW + kx];
  }
  packed[packedAt + e] = value;
}
