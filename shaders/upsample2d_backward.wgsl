// upsample2d_backward: the input gradient of upsample2d_forward (every mode); overwrites dx.
// Gathered, not scattered: no atomics, each element's sum in one order.
//   dy [planes, outH, outW], dx [planes, height, width]. Input element (iy, ix) takes
//   wy(oy)·wx(ox)·dy[oy, ox] from each output whose taps include it (wy: the weight of the tap at
//   iy, both weights where both taps are it; likewise wx), rows then columns in increasing order.
//   An axis's outputs that may tap input i are found from the scale, with a margin of two either
//   side (f32 rounding), and each is tested with the forward's own taps (shaders/lib/upsample_taps.wgsl).
//   One invocation per input element.

struct Params {
  planes: u32,
  height: u32,
  width: u32,
  outH: u32,
  outW: u32,
  scaleH: f32,
  scaleW: f32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read_write> dx: array<f32>;

override WG_X: u32;

/** The first and last output positions whose taps may include input i (a superset: each is tested). */
fn candidates(i: u32, scale: f32, count: u32) -> vec2u {
  // Every mode's source position s(o) grows with o: o·scale, (o + ½)·scale or (o + ½)·scale − ½.
  // The outputs tapping i have s(o) in (i − 1, i + 1), so o lies in [(i − 1)/scale − 1,
  // (i + 1.5)/scale + ½]; two more either side for f32 rounding.
  if (scale <= 0.0) { return vec2u(0u, count - 1u); }
  let first = max(floor((f32(i) - 1.0) / scale) - 2.0, 0.0);
  let last = min(ceil((f32(i) + 1.5) / scale + 0.5) + 2.0, f32(count - 1u));
  return vec2u(u32(first), u32(max(last, 0.0)));
}

/** The weight output o gives input i along an axis, and whether its taps reach i at all (y: 1 or 0). */
fn weightAt(o: u32, i: u32, scale: f32, n: u32) -> vec2f {
  let t = tapsOf(o, scale, n);
  let hit = t.i0 == i || t.i1 == i;
  return vec2f(select(0.0, t.w0, t.i0 == i) + select(0.0, t.w1, t.i1 == i), select(0.0, 1.0, hit));
}

@compute @workgroup_size(WG_X)
fn upsample2d_backward(@builtin(global_invocation_id) gid3: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let gid = linearInvocation(gid3, nwg);
  let area = params.height * params.width;
  let i = gid.x;
  if (i >= params.planes * area) { return; }
  let plane = i / area;
  let iy = (i % area) / params.width;
  let ix = i % params.width;
  let rows = candidates(iy, params.scaleH, params.outH);
  let columns = candidates(ix, params.scaleW, params.outW);
  let base = plane * params.outH * params.outW;
  var sum = 0.0;
  for (var oy = rows.x; oy <= rows.y; oy++) {
    let wy = weightAt(oy, iy, params.scaleH, params.height);
    if (wy.y == 0.0) { continue; }
    for (var ox = columns.x; ox <= columns.y; ox++) {
      let wx = weightAt(ox, ix, params.scaleW, params.width);
      if (wx.y == 0.0) { continue; }
      sum += wy.x * wx.x * dy[base + oy * params.outW + ox];
    }
  }
  dx[i] = sum;
}
