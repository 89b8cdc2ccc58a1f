// maxpool2x2_backward: dx[i] = dy[o] if element i is argmax[o] of its window o, else 0;
// overwrites dx (rows and columns outside every window get 0). Gathers rather than scatters, so
// no atomics: one invocation per cell of 2×2 input elements, ⌈height/2⌉ × ⌈width/2⌉ cells a
// plane. A cell that is window o reads dy[o] and argmax[o] once and writes its four elements; a
// cell past the last window (an odd height or width) writes 0 to its elements inside the plane.
//   dy, argmax [planes, height/2, width/2] (floored); dx [planes, height, width].

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
fn maxpool2x2_backward(@builtin(global_invocation_id) gid3: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let gid = linearInvocation(gid3, nwg);
  let cellsH = (params.height + 1u) / 2u;
  let cellsW = (params.width + 1u) / 2u;
  let cell = gid.x;
  if (cell >= params.planes * cellsH * cellsW) { return; }
  let plane = cell / (cellsH * cellsW);
  let r = cell % (cellsH * cellsW);
  let cy = r / cellsW;
  let cx = r % cellsW;
  let outH = params.height / 2u;
  let outW = params.width / 2u;
  let W = params.width;
  let top = (plane * params.height + 2u * cy) * W + 2u * cx;
  if (cy < outH && cx < outW) {
    let o = (plane * outH + cy) * outW + cx;
    let g = dy[o];
    let k = argmax[o];
    dx[top] = select(0.0, g, k == top);
    dx[top + 1u] = select(0.0, g, k == top + 1u);
    dx[top + W] = select(0.0, g, k == top + W);
    dx[top + W + 1u] = select(0.0, g, k == top + W + 1u);
  } else {
    let rows = min(2u, params.height - 2u * cy);
    let cols = min(2u, W - 2u * cx);
    for (var yy = 0u; yy < rows; yy++) {
      for (var xx = 0u; xx < cols; xx++) {
        dx[top + yy * W + xx] = 0.0;
      }
    }
  }
}
