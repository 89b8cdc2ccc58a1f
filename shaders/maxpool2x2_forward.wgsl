// maxpool2x2_forward: MaxPool2d(2, stride 2), floor mode; overwrites y and argmax.
//   x [planes, height, width] (planes = batch·channels), y [planes, height/2, width/2] (floored).
//   argmax[o] = flat index into x of the element y[o] came from.
//   Tie rule (PyTorch's): the window is scanned row-major — top-left, top-right, bottom-left,
//   bottom-right — and a later element replaces the maximum only if it is greater, so the first
//   of equal maxima wins; a NaN replaces anything, so NaN propagates. One invocation per output.

struct Params {
  planes: u32,
  height: u32,
  width: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<storage, read_write> argmax: array<u32>;

override WG_X: u32;

fn isNan(v: f32) -> bool {
  return (bitcast<u32>(v) & 0x7fffffffu) > 0x7f800000u;
}

@compute @workgroup_size(WG_X)
fn maxpool2x2_forward(@builtin(global_invocation_id) gid3: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let gid = linearInvocation(gid3, nwg);
  let outH = params.height / 2u;
  let outW = params.width / 2u;
  let o = gid.x;
  if (o >= params.planes * outH * outW) { return; }
  let plane = o / (outH * outW);
  let r = o % (outH * outW);
  let top = (plane * params.height + (r / outW) * 2u) * params.width + (r % outW) * 2u;
  var best = top;
  var value = x[top];
  let others = array<u32, 3>(top + 1u, top + params.width, top + params.width + 1u);
  for (var k = 0u; k < 3u; k++) {
    let v = x[others[k]];
    if (v > value || isNan(v)) {
      value = v;
      best = others[k];
    }
  }
  y[o] = value;
  argmax[o] = best;
}
