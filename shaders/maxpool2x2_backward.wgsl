// maxpool2x2_backward: dx[i] = dy[o] if element i is argmax[o] of its window o, else 0;
// overwrites dx (rows and columns outside every window get 0). Gathers rather than scatters, so
// no atomics: an invocation per four cells of 2×2 input elements, ⌈height/2⌉ × ⌈width/2⌉ cells
// a plane. A cell that is window o reads dy[o] and argmax[o] once and writes its four elements; a
// cell past the last window (an odd height or width) writes 0 to its elements inside the plane.
//   dy, argmax [planes, height/2, width/2] (floored); dx [planes, height, width].
//   Variant VEC4 (width a multiple of 8, height even: no cells past the windows): one invocation
//   per four windows of a row, dy and argmax read as vec4s and the cells' two rows written as two
//   vec4s each.
//   Variant VEC2 (width a multiple of 4, height even): an invocation per two pairs of windows of
//   a row, dy and argmax read as vec2s and each pair's cells' two rows written as two vec2s each.
//   Variant RELU (fusion rule relu-grad-in-maxpool: a ReLU before the pool): dx is the gradient
//   of the ReLU's input, dy[o] passed except where the pooled value y[o] ≤ 0 (a NaN passes it, reluPasses; the value at the
//   argmax is the ReLU's output there, and every other element's gradient is 0 either way);
//   y [planes, height/2, width/2], the pool's output.

struct Params {
  planes: u32,
  height: u32,
  width: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
#if VEC4
@group(0) @binding(1) var<storage, read> dy: array<vec4f>;
@group(0) @binding(2) var<storage, read> argmax: array<vec4u>;
@group(0) @binding(3) var<storage, read_write> dx: array<vec4f>;
#if RELU
@group(0) @binding(4) var<storage, read> y: array<vec4f>;
#endif
#elif VEC2
@group(0) @binding(1) var<storage, read> dy: array<vec2f>;
@group(0) @binding(2) var<storage, read> argmax: array<vec2u>;
@group(0) @binding(3) var<storage, read_write> dx: array<vec2f>;
#if RELU
@group(0) @binding(4) var<storage, read> y: array<vec2f>;
#endif
#else
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> argmax: array<u32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;
#if RELU
@group(0) @binding(4) var<storage, read> y: array<f32>;
#endif
#endif

override WG_X: u32;

@compute @workgroup_size(WG_X)
fn maxpool2x2_backward(@builtin(global_invocation_id) gid3: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let gid = linearInvocation(gid3, nwg);
#if VEC4
  // Windows o .. o + 3 of one row (outW a multiple of 4), their columns from top on.
  let outH = params.height / 2u;
  let outW = params.width / 2u;
  let o = gid.x * 4u;
  if (o >= params.planes * outH * outW) { return; }
  let plane = o / (outH * outW);
  let r = o % (outH * outW);
  let W = params.width;
  let top = (plane * params.height + (r / outW) * 2u) * W + (r % outW) * 2u;
#if RELU
  let g = select(vec4f(0.0), dy[gid.x], reluPasses4(y[gid.x]));
#else
  let g = dy[gid.x];
#endif
  let k = argmax[gid.x];
  // Element e of a row's 8 columns belongs to window e / 2.
  let gs = array<vec4f, 2>(vec4f(g.x, g.x, g.y, g.y), vec4f(g.z, g.z, g.w, g.w));
  let ks = array<vec4u, 2>(vec4u(k.x, k.x, k.y, k.y), vec4u(k.z, k.z, k.w, k.w));
  for (var row = 0u; row < 2u; row++) {
    for (var h = 0u; h < 2u; h++) {
      let first = top + row * W + 4u * h;
      dx[first / 4u] = select(vec4f(0.0), gs[h], ks[h] == vec4u(first) + vec4u(0u, 1u, 2u, 3u));
    }
  }
#elif VEC2
  // Pairs q = 2·gid.x, 2·gid.x + 1: windows 2q, 2q + 1 of one row (outW even), their columns
  // from top (even) on.
  let outH = params.height / 2u;
  let outW = params.width / 2u;
  let W = params.width;
  for (var j = 0u; j < 2u; j++) {
    let q = gid.x * 2u + j;
    let o = q * 2u;
    if (o >= params.planes * outH * outW) { return; }
    let plane = o / (outH * outW);
    let r = o % (outH * outW);
    let top = (plane * params.height + (r / outW) * 2u) * W + (r % outW) * 2u;
#if RELU
    let g = select(vec2f(0.0), dy[q], reluPasses2(y[q]));
#else
    let g = dy[q];
#endif
    let k = argmax[q];
    for (var row = 0u; row < 2u; row++) {
      let first = top + row * W;
      dx[first / 2u] = select(vec2f(0.0), vec2f(g.x), vec2u(k.x) == vec2u(first) + vec2u(0u, 1u));
      dx[first / 2u + 1u] = select(vec2f(0.0), vec2f(g.y), vec2u(k.y) == vec2u(first) + vec2u(2u, 3u));
    }
  }
#else
  let cellsH = (params.height + 1u) / 2u;
  let cellsW = (params.width + 1u) / 2u;
  let outH = params.height / 2u;
  let outW = params.width / 2u;
  let W = params.width;
  // Cells 4·gid.x .. 4·gid.x + 3.
  for (var j = 0u; j < 4u; j++) {
    let cell = gid.x * 4u + j;
    if (cell >= params.planes * cellsH * cellsW) { return; }
    let plane = cell / (cellsH * cellsW);
    let r = cell % (cellsH * cellsW);
    let cy = r / cellsW;
    let cx = r % cellsW;
    let top = (plane * params.height + 2u * cy) * W + 2u * cx;
    if (cy < outH && cx < outW) {
      let o = (plane * outH + cy) * outW + cx;
#if RELU
      let g = select(0.0, dy[o], reluPasses(y[o]));
#else
      let g = dy[o];
#endif
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
#endif
}
