// pad2d_backward: the input gradient of pad2d_forward (every mode); overwrites dx. Gathered, not
// scattered: no atomics, and each element's sum in one order.
//   dy [planes, outH, outW], dx [planes, height, width]. Input element (iy, ix) is read by the
//   outputs whose rows are in the row spans of iy and whose columns are in the column spans of ix
//   (spansOf: up to three spans an axis, in increasing output order); dx is the sum of their dy,
//   visited row-major.
//   One invocation per input element.

struct Params {
  planes: u32,
  height: u32,
  width: u32,
  outH: u32,
  outW: u32,
  top: i32,
  left: i32,
  value: f32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read_write> dx: array<f32>;

override WG_X: u32;

/** [first, last] of output positions, clipped to [0, count − 1] (empty: first > last). */
fn span(first: i32, last: i32, count: i32) -> vec2i {
  return vec2i(max(first, 0), min(last, count - 1));
}

/**
 * The output positions along an axis (n inputs, `pad` before them, `count` outputs) that read
 * input position i, as up to three spans in increasing order (an empty span: first > last).
 */
fn spansOf(i: i32, n: i32, pad: i32, count: i32) -> array<vec2i, 3> {
  let padAfter = count - n - pad;
  let none = vec2i(1, 0);
  let o = i + pad;
#if REFLECT
  // The mirror images before (k = −i, i ≥ 1) and after (k = 2(n − 1) − i, i ≤ n − 2) the input.
  var before = none;
  var after = none;
  if (i >= 1) { before = span(pad - i, pad - i, count); }
  if (i <= n - 2) { after = span(pad + 2 * (n - 1) - i, pad + 2 * (n - 1) - i, count); }
  return array<vec2i, 3>(before, span(o, o, count), after);
#elif REPLICATE
  // The first element takes every output before the input, the last every output after it.
  let first = select(o, 0, i == 0);
  let last = select(o, count - 1, i == n - 1);
  return array<vec2i, 3>(span(first, last, count), none, none);
#elif CIRCULAR
  // Wrapped around the kept part, m long (a cropped element is read by no output).
  let kept = max(-pad, 0);
  let m = n - kept - max(-padAfter, 0);
  if (i < kept || i >= kept + m) { return array<vec2i, 3>(none, none, none); }
  return array<vec2i, 3>(span(o - m, o - m, count), span(o, o, count), span(o + m, o + m, count));
#else
  return array<vec2i, 3>(span(o, o, count), none, none);
#endif
}

@compute @workgroup_size(WG_X)
fn pad2d_backward(@builtin(global_invocation_id) gid3: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let gid = linearInvocation(gid3, nwg);
  let area = params.height * params.width;
  let i = gid.x;
  if (i >= params.planes * area) { return; }
  let plane = i / area;
  let iy = i32((i % area) / params.width);
  let ix = i32(i % params.width);
  var rows = spansOf(iy, i32(params.height), params.top, i32(params.outH));
  var columns = spansOf(ix, i32(params.width), params.left, i32(params.outW));
  let base = plane * params.outH * params.outW;
  var sum = 0.0;
  for (var a = 0u; a < 3u; a++) {
    for (var oy = rows[a].x; oy <= rows[a].y; oy++) {
      for (var b = 0u; b < 3u; b++) {
        for (var ox = columns[b].x; ox <= columns[b].y; ox++) {
          sum += dy[base + u32(oy) * params.outW + u32(ox)];
        }
      }
    }
  }
  dx[i] = sum;
}
