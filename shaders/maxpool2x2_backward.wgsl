// maxpool2x2_backward: dx[i] = dy[o] if element i is argmax[o] of its window o, else 0;
// overwrites dx (rows and columns outside every window get 0). Gathers rather than scatters:
// one invocation per input element, so no atomics.
//   dy, argmax [planes, height/2, width/2]; dx [planes, height, width].

struct Params {
  planes: u32,
  height: u32,
  width: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> argmax: array<u32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;

override WG_X: u32;

@compute @workgroup_size(WG_X)
fn maxpool2x2_backward(@builtin(global_invocation_id) gid: vec3u) {
  let i = gid.x;
  if (i >= params.planes * params.height * params.width) { return; }
  let outH = params.height / 2u;
  let outW = params.width / 2u;
  let plane = i / (params.height * params.width);
  let r = i % (params.height * params.width);
  let oy = (r / params.width) / 2u;
  let ox = (r % params.width) / 2u;
  var g = 0.0;
  if (oy < outH && ox < outW) {
    let o = (plane * outH + oy) * outW + ox;
    g = select(0.0, dy[o], argmax[o] == i);
  }
  dx[i] = g;
}
