// maxpool2x2_forward: MaxPool2d(2, stride 2), floor mode; overwrites y and argmax.
//   x [planes, height, width] (planes = batch·channels), y [planes, height/2, width/2] (floored).
//   argmax[o] = flat index into x of the element y[o] came from.
//   Tie rule (PyTorch's): the window is scanned row-major — top-left, top-right, bottom-left,
//   bottom-right — and a later element replaces the maximum only if it is greater, so the first
//   of equal maxima wins; a NaN replaces anything, so NaN propagates.
//   Variant VEC4 (width a multiple of 8, height even): one invocation per four outputs of a row,
//   x read as vec4s (the windows' top and bottom rows, two vec4s each) and y and argmax written
//   as vec4s; each window compared in the same order, so the same results. On lavapipe a load or
//   store costs a loop over the SIMD lanes whatever its width: the seed CNN's pool1 (128 × 10 ×
//   24 × 24) went 2.2–3.2 → 0.9–1.3 ms a pass, forward and backward alike, at batch 128
//   (bench:profile, alternated).
//   Variant VEC2 (width a multiple of 4, height even: the small ResNet's 28 × 28 planes, whose
//   rows of 14 windows are no whole vec4s): an invocation takes two pairs of windows of a row, x
//   read as vec2s (each pair's top and bottom rows, two vec2s each) and y and argmax written as
//   vec2s; each window compared in the same order, so the same results.
//   Otherwise an invocation takes four consecutive outputs.

struct Params {
  planes: u32,
  height: u32,
  width: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
#if VEC4
@group(0) @binding(1) var<storage, read> x: array<vec4f>;
@group(0) @binding(2) var<storage, read_write> y: array<vec4f>;
@group(0) @binding(3) var<storage, read_write> argmax: array<vec4u>;
#elif VEC2
@group(0) @binding(1) var<storage, read> x: array<vec2f>;
@group(0) @binding(2) var<storage, read_write> y: array<vec2f>;
@group(0) @binding(3) var<storage, read_write> argmax: array<vec2u>;
#else
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<storage, read_write> argmax: array<u32>;
#endif

override WG_X: u32;

fn isNan(v: f32) -> bool {
  return (bitcast<u32>(v) & 0x7fffffffu) > 0x7f800000u;
}

fn isNan2(v: vec2f) -> vec2<bool> {
  return (bitcast<vec2u>(v) & vec2u(0x7fffffffu)) > vec2u(0x7f800000u);
}

fn isNan4(v: vec4f) -> vec4<bool> {
  return (bitcast<vec4u>(v) & vec4u(0x7fffffffu)) > vec4u(0x7f800000u);
}

@compute @workgroup_size(WG_X)
fn maxpool2x2_forward(@builtin(global_invocation_id) gid3: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let gid = linearInvocation(gid3, nwg);
  let outH = params.height / 2u;
  let outW = params.width / 2u;
#if VEC4
  // Outputs o .. o + 3 of one row (outW a multiple of 4); their windows' columns start at top.
  let o = gid.x * 4u;
  if (o >= params.planes * outH * outW) { return; }
  let plane = o / (outH * outW);
  let r = o % (outH * outW);
  let top = (plane * params.height + (r / outW) * 2u) * params.width + (r % outW) * 2u;
  let a = x[top / 4u];
  let b = x[top / 4u + 1u];
  let c = x[(top + params.width) / 4u];
  let d = x[(top + params.width) / 4u + 1u];
  // Window j's top-left, top-right, bottom-left and bottom-right, as component j.
  let starts = vec4u(top) + vec4u(0u, 2u, 4u, 6u);
  var value = vec4f(a.x, a.z, b.x, b.z);
  var best = starts;
  let others = array<vec4f, 3>(vec4f(a.y, a.w, b.y, b.w), vec4f(c.x, c.z, d.x, d.z), vec4f(c.y, c.w, d.y, d.w));
  let offsets = array<u32, 3>(1u, params.width, params.width + 1u);
  for (var k = 0u; k < 3u; k++) {
    let v = others[k];
    let replace = (v > value) | isNan4(v);
    value = select(value, v, replace);
    best = select(best, starts + offsets[k], replace);
  }
  y[gid.x] = value;
  argmax[gid.x] = best;
#elif VEC2
  // Pairs q = 2·gid.x, 2·gid.x + 1: outputs 2q, 2q + 1 of one row (outW even); their windows'
  // columns start at top (even).
  for (var j = 0u; j < 2u; j++) {
    let q = gid.x * 2u + j;
    let o = q * 2u;
    if (o >= params.planes * outH * outW) { return; }
    let plane = o / (outH * outW);
    let r = o % (outH * outW);
    let top = (plane * params.height + (r / outW) * 2u) * params.width + (r % outW) * 2u;
    let a = x[top / 2u];
    let b = x[top / 2u + 1u];
    let c = x[(top + params.width) / 2u];
    let d = x[(top + params.width) / 2u + 1u];
    // Window j's top-left, top-right, bottom-left and bottom-right, as component j.
    let starts = vec2u(top) + vec2u(0u, 2u);
    var value = vec2f(a.x, b.x);
    var best = starts;
    let others = array<vec2f, 3>(vec2f(a.y, b.y), vec2f(c.x, d.x), vec2f(c.y, d.y));
    let offsets = array<u32, 3>(1u, params.width, params.width + 1u);
    for (var k = 0u; k < 3u; k++) {
      let v = others[k];
      let replace = (v > value) | isNan2(v);
      value = select(value, v, replace);
      best = select(best, starts + offsets[k], replace);
    }
    y[q] = value;
    argmax[q] = best;
  }
#else
  // Outputs 4·gid.x .. 4·gid.x + 3.
  for (var j = 0u; j < 4u; j++) {
    let o = gid.x * 4u + j;
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
#endif
}
