// conv2d_backward_weight: partial sums of dweight = ∂loss/∂weight of y = conv2d(x, weight);
// overwrites partial. conv2d_backward_weight_reduce adds the partial sums into dweight.
//   partial[s, co, k] = Σ over the output pixels p of split s of dy[b, co, oy, ox] · in(p, k), for
//   the taps k = (ci·kernelH + ky)·kernelW + kx, in(p, k) = x[b, ci, oy·stride − padding + ky,
//   ox·stride − padding + kx] (0 in the padding); p = (b·outHeight + oy)·outWidth + ox, and split s
//   covers the output rows (b, oy) r = b·outHeight + oy in [s·R, (s+1)·R), R = splitPixels / outWidth.
//   x [batch, inChannels, height, width], dy [batch, outChannels, outHeight, outWidth],
//   partial [splits, outChannels, inChannels, kernelH, kernelW]; NCHW.
//   Invocation (global_invocation_id.x) = task (s·⌈outChannels/OUT_TILE⌉ + c)·tapSlots + g: the
//   OUT_TILE output channels of tile c × the GROUP taps GROUP·g .. GROUP·g + GROUP − 1 (GROUP/3
//   triplets of 3 consecutive taps; for a 3×3 kernel, GROUP/9 whole input channels) × the pixels
//   of split s. It holds its OUT_TILE × GROUP sums in registers: per triplet, Q = OUT_TILE/4
//   mat3x4f (column i = tap, row e = channel 4q + e). tapSlots (a parameter) is the number of tap
//   groups, or with DY_SHARED that rounded up to a multiple of 8: a slot g past the last group is
//   idle (it loads its share of dy for the others, sums the last group's taps and stores nothing).
//   The register tile is a parameter: OUT_TILE (4, 8, 12 or 16), Q, GROUP (9 or 18) and the
//   functions that name the Q mat3x4f (tripletStep, quadSums) are generated for it and appended
//   (weightTileSource in src/kernels/conv2d.ts). The tile does not change any sum's order: two
//   tiles at the same split give the same bits. On lavapipe the tile is the cost of the
//   arithmetic: convblock2 of the seed CNN (16 → 32 channels, batch 128, 96 rows a split) took
//   28.1 ms with 16 channels × 18 taps (72 vec4 sums) and 20.4 ms with 16 × 9 (36), alternated in
//   one run, as loops without loads ran a third slower with 64 vec4 sums than with 8–32
//   (docs/speed-log.md, eighth and ninth sittings).
//   The pixels go four at a time (a quad: one output row, columns ox0 .. ox0 + 3, 0 past the
//   edge): per quad the dy values of the tile (Q mat4x4f: 4 channels × 4 pixels) and, per
//   triplet, the inputs (a mat3x4f: 3 taps × 4 pixels); each triplet's sums gain
//   transpose(dy) · inputs, 4 pixels summed per product. Reuse is in registers: each dy value
//   read feeds GROUP products, each input read OUT_TILE (×3 for the 3×3 windows).
//   The inputs of a triplet:
//   - 3×3 kernel, stride 1 (any padding): a triplet is a kernel row (ci, ky); the quad reads its
//     input row's 6 columns once and takes the three 4-pixel windows kx = 0, 1, 2;
//   - 1×1 kernel, stride 1, no padding: a triplet is 3 input channels at the quad's own pixels;
//   - any other kernel or stride: each tap on its own (0 in the padding and, with weight sums
//     never stored, for the taps past the last).
//   Sum order, per weight: per image of the split (its rows in it), the quads a column of quads
//   at a time (columns left to right, each top to bottom), each quad's 4 products summed (pixels
//   in order) and then added. Going down a column lets the 3×3 path slide its windows: the next
//   row's triplets (ci, ky) keep the rows ky = 1, 2 as ky = 0, 1 and load one input row per
//   channel, a third of the loads (convblock2 of the seed CNN 36–37 → 29–30 ms, convblock5–7
//   ~20 % less, alternated in one run). The 1×1 path has no windows to slide and takes the
//   segment's quads row by row instead (the same loop, its index mapped): going down the
//   columns it came back to each cache line of its dy and x planes a column later, and
//   convblock3 of the seed CNN took 14–17.6 ms against 9.5–12 row by row (alternated in one
//   run, default split).
//   No workgroup memory: the reuse is in registers, and each invocation streams its own quads (the
//   invocations of one split read the same dy, those of one task group adjacent inputs). Staging
//   the quads' dy per workgroup was measured no faster on lavapipe for 16 → 32 channels, and 2-4×
//   slower where a split has a single tap group (1 → 16, 32 → 10 channels).
//   Control flow in the sums is uniform but for one branch: a task beyond the end computes from
//   clamped addresses and is not stored; channels and taps beyond the edges are computed and not
//   stored, except a group's last 3 triplets where it has 3 or fewer (skipped; they would not be
//   stored).
//   Variants (the same values read, so the same bits): DY_VEC4 (DY_VEC2) reads a quad's dy as one
//   vec4 (two vec2s), for an outWidth that is a multiple of 4 (2): a quad then starts on a vector
//   and its vectors lie wholly inside or outside the row. X_VEC4 (X_VEC2) reads x as vec4s
//   (vec2s), for a width and padding that are multiples of 4 (2): the 3×3 windows and the 1×1
//   pixels of a quad then start on a vector. On lavapipe a load whose
//   address differs between invocations costs a bounds-checked scalar load per invocation and
//   component, and a vector load shares that per-invocation work: convblock2 of the seed CNN went
//   70–72 → 51–58 ms with both, alternated in one run.
//   Variant DY_SHARED (the device's 'subgroups'; tapSlots a multiple of 8, so 8 consecutive
//   invocations are tap-group slots of one split and channel tile and need the same dy): in a
//   subgroup of 8, each invocation loads 2 of the quad's 16 dy quads (channels 2l and 2l + 1 of
//   the tile, l its subgroup_invocation_id) and takes the others from the subgroup with
//   subgroupShuffle; with another subgroup size, a workgroup that is not whole subgroups of 8 or
//   tap-group slots that are not a multiple of 8, each loads its own, as without the variant.
//   The same values, so the same bits; on lavapipe, whose subgroups are its 8-wide SIMD vectors,
//   a shuffle is a register permute and a load a loop over the 8 lanes: convblock2 went 58–69 →
//   37–38 ms, alternated in one run. Where the layer's tap groups are not a multiple of 8 the tile
//   may pad them (WeightTile.shareDy): convblock4 of the seed CNN (10 groups in 16 slots, 16
//   channels) took 1.57 ms against 2.49 for the tuned tile without (8 channels), timed alone
//   (padding a 1×1 layer's 2 groups to 8 took convblock3 13.4–14.0 ms against 3.8: the tuner
//   decides). The control flow is uniform in a
//   subgroup (its invocations share the split, so the loops' bounds), which WGSL's static
//   analysis cannot see: hence the diagnostic filter.
//   Variant BIAS (a layer with a bias): the bias's gradient too, dbias[co] = Σ_p dy[b, co, oy, ox],
//   as partial sums biasPartial[s, co] over split s (the quads in the weights' order, each quad's 4
//   pixels summed in order and then added), which conv2d_backward_weight_reduce adds up as it does
//   the weights' (biasPartial [splits, outChannels]). Every invocation sums the dy it holds anyway (no
//   load more; 4 adds a channel and quad, a few % of the tile's arithmetic) and those of tap group 0
//   store: no pass of the layer's own over dy for its bias.

#if DY_SHARED
enable subgroups;
diagnostic(off, subgroup_uniformity);
#endif

struct Params {
  batch: u32,
  inChannels: u32,
  height: u32,
  width: u32,
  outChannels: u32,
  kernelH: u32,
  kernelW: u32,
  stride: u32,
  padding: u32,
  outHeight: u32,
  outWidth: u32,
  splitPixels: u32,
  tapSlots: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
#if X_VEC4
@group(0) @binding(1) var<storage, read> x: array<vec4f>;
#elif X_VEC2
@group(0) @binding(1) var<storage, read> x: array<vec2f>;
#else
@group(0) @binding(1) var<storage, read> x: array<f32>;
#endif
#if DY_VEC4
@group(0) @binding(2) var<storage, read> dy: array<vec4f>;
#elif DY_VEC2
@group(0) @binding(2) var<storage, read> dy: array<vec2f>;
#else
@group(0) @binding(2) var<storage, read> dy: array<f32>;
#endif
@group(0) @binding(3) var<storage, read_write> partial: array<f32>;
#if BIAS
@group(0) @binding(4) var<storage, read_write> biasPartial: array<f32>;
#endif
#if POOL
// The weight-gradient kernels' one declaration (src/kernels/conv2d.ts, weightKernelDeclaration)
// names the max pool's argmax for variant POOL; only conv2d_backward_weight_pointwise reads it
// (the host refuses POOL here).
@group(0) @binding(5) var<storage, read> argmax: array<vec2u>;
#endif
#if NORM_MASK
// The same declaration names the batch norm and dropout on load for variant NORM_MASK; only
// conv2d_backward_weight_pointwise reads them (the host refuses NORM_MASK here).
@group(0) @binding(6) var<storage, read> affine: array<vec4f>;
@group(0) @binding(7) var<storage, read> dropMask: array<u32>;
#endif

override WG_X: u32;
override WG_Y: u32;
override WG_Z: u32;

// OUT_TILE (output channels per invocation), Q = OUT_TILE / 4, GROUP (taps per invocation: 3 or
// 6 triplets, t0..t5 below), tripletStep (a triplet's sums gain transpose(d[q]) · r, 4 channels ×
// 3 taps, 4 pixels summed) and quadSums (the sums' q-th mat3x4f): generated per tile, appended.

// dyQuad (dy of output channel oc at a quad of a row): shaders/lib/conv2d_weight_dy.wgsl.

// 3×3 path: input row iy of plane `base` at the quad's 6 columns, as the windows kx = 0, 1, 2.
fn windows(base: u32, iy: i32, ix0: i32) -> mat3x4f {
  let inside = iy >= 0 && iy < i32(params.height);
  let at = base + u32(clamp(iy, 0, i32(params.height) - 1)) * params.width;
  var v: array<f32, 6>;
#if X_VEC4
  // ix0 and the row's start are multiples of 4: two vec4s, each wholly inside or outside the row
  // (a loop, as the other variants: SwiftShader's compiler did not finish the straight-line form).
  var quads: array<vec4f, 2>;
  for (var j = 0u; j < 2u; j++) {
    let ix = ix0 + 4 * i32(j);
    quads[j] = select(vec4f(0.0), x[(at + u32(clamp(ix, 0, i32(params.width) - 4))) / 4u], inside && ix >= 0 && ix < i32(params.width));
  }
  v = array<f32, 6>(quads[0].x, quads[0].y, quads[0].z, quads[0].w, quads[1].x, quads[1].y);
#elif X_VEC2
  // ix0 and the row's start are even: three vec2s, each wholly inside or outside the row.
  for (var j = 0u; j < 3u; j++) {
    let ix = ix0 + 2 * i32(j);
    let pair = select(vec2f(0.0), x[(at + u32(clamp(ix, 0, i32(params.width) - 2))) / 2u], inside && ix >= 0 && ix < i32(params.width));
    v[2u * j] = pair.x;
    v[2u * j + 1u] = pair.y;
  }
#else
  for (var j = 0u; j < 6u; j++) {
    let ix = ix0 + i32(j);
    v[j] = select(0.0, x[at + u32(clamp(ix, 0, i32(params.width) - 1))], inside && ix >= 0 && ix < i32(params.width));
  }
#endif
  return mat3x4f(vec4f(v[0], v[1], v[2], v[3]), vec4f(v[1], v[2], v[3], v[4]), vec4f(v[2], v[3], v[4], v[5]));
}

// 3×3 path, one input channel (plane `base`): the windows of input rows iy, iy + 1, iy + 2 (the
// channel's triplets ky = 0, 1, 2). A segment's first row (`first`) loads all three; a row below
// it slides (stride 1: its windows start one input row lower), keeping the previous row's
// ky = 1, 2 (`r1`, `r2`) as ky = 0, 1 and loading one.
fn slide(first: bool, r1: mat3x4f, r2: mat3x4f, base: u32, iy: i32, ix: i32) -> array<mat3x4f, 3> {
  var a = array<mat3x4f, 3>(r1, r2, mat3x4f());
  if (first) {
    a[0] = windows(base, iy, ix);
    a[1] = windows(base, iy + 1, ix);
  }
  a[2] = windows(base, iy + 2, ix);
  return a;
}

// Other path: the quad's inputs (top input row iy, left column ix) at taps t[i] = (plane
// offset, ky, kx); 0 in the padding.
fn taps(t: array<vec3u, 3>, iy: i32, ix: i32) -> mat3x4f {
  let s = i32(params.stride);
  var r: mat3x4f;
  for (var i = 0u; i < 3u; i++) {
    let y0 = iy + i32(t[i].y);
    let at = t[i].x + u32(clamp(y0, 0, i32(params.height) - 1)) * params.width;
    for (var j = 0u; j < 4u; j++) {
      let x0 = ix + i32(j) * s + i32(t[i].z);
      let inside = y0 >= 0 && y0 < i32(params.height) && x0 >= 0 && x0 < i32(params.width);
      let k = at + u32(clamp(x0, 0, i32(params.width) - 1));
#if X_VEC4
      r[i][j] = select(0.0, x[k / 4u][k % 4u], inside);
#elif X_VEC2
      r[i][j] = select(0.0, x[k / 2u][k % 2u], inside);
#else
      r[i][j] = select(0.0, x[k], inside);
#endif
    }
  }
  return r;
}

// 1×1 path (stride 1, no padding): the quad's inputs at 3 input channels (plane offsets t[i].x)
// and its own pixels, row offset `row` within the batch; 0 past the row's end.
fn pointwise(t: array<vec3u, 3>, row: u32, ox0: u32) -> mat3x4f {
  var r: mat3x4f;
  for (var i = 0u; i < 3u; i++) {
    let at = t[i].x + row + ox0;
#if X_VEC4
    r[i] = x[at / 4u];
#elif X_VEC2
    let more = ox0 + 2u < params.width;
    r[i] = vec4f(x[at / 2u], select(vec2f(0.0), x[at / 2u + select(0u, 1u, more)], more));
#else
    for (var j = 0u; j < 4u; j++) {
      r[i][j] = select(0.0, x[at + min(j, params.width - 1u - ox0)], ox0 + j < params.width);
    }
#endif
  }
  return r;
}

@compute @workgroup_size(WG_X, WG_Y, WG_Z)
#if DY_SHARED
fn conv2d_backward_weight(@builtin(global_invocation_id) gid: vec3u, @builtin(subgroup_invocation_id) lane: u32, @builtin(subgroup_size) subgroupSize: u32) {
#else
fn conv2d_backward_weight(@builtin(global_invocation_id) gid: vec3u) {
#endif
  let kH = params.kernelH;
  let kW = params.kernelW;
  let kArea = kH * kW;
  let taps3 = params.inChannels * kArea;
  let groups = (taps3 + GROUP - 1u) / GROUP;
  let tiles = (params.outChannels + OUT_TILE - 1u) / OUT_TILE;
  let rows = params.batch * params.outHeight;
  let rowsPerSplit = params.splitPixels / params.outWidth;
  // Tap-group slots of a split and channel tile: the groups, or with DY_SHARED as many more idle
  // slots as make a multiple of 8 (they load their share of dy, compute group groups − 1's sums
  // and store nothing).
  let slots = params.tapSlots;
  let tasks = (rows + rowsPerSplit - 1u) / rowsPerSplit * tiles * slots;
  let task = min(gid.x, tasks - 1u);
  let slot = task % slots;
  let g = min(slot, groups - 1u);
  let ocBase = task / slots % tiles * OUT_TILE;
  let split = task / (slots * tiles);
  let first = split * rowsPerSplit;
  let last = min(first + rowsPerSplit, rows);
  let fast = kH == 3u && kW == 3u && params.stride == 1u;
  let pointwise1x1 = kArea == 1u && params.stride == 1u && params.padding == 0u;
  let tripletCount = min(GROUP / 3u, (taps3 - g * GROUP + 2u) / 3u);
  let plane = params.height * params.width;
  let outArea = params.outHeight * params.outWidth;
  let s = i32(params.stride);
  let p = i32(params.padding);
  let quadsPerRow = (params.outWidth + 3u) / 4u;
  // Channels (fast path) and taps (other path) of the group, per triplet m:
  // plane offset within an image, ky, kx of its first tap (a tap past the last reads channel 0).
  var trip: array<array<vec3u, 3>, 6>;
  for (var m = 0u; m < GROUP / 3u; m++) {
    for (var i = 0u; i < 3u; i++) {
      let k = min(g * GROUP + m * 3u + i, taps3 - 1u);
      let ci = k / kArea;
      trip[m][i] = vec3u(ci * plane, k % kArea / kW, k % kW);
    }
  }

  var t0: array<mat3x4f, Q>;
  var t1: array<mat3x4f, Q>;
  var t2: array<mat3x4f, Q>;
  var t3: array<mat3x4f, Q>;
  var t4: array<mat3x4f, Q>;
  var t5: array<mat3x4f, Q>;
#if BIAS
  // Per channel e of quad q of the tile, its dy summed: bias[q][e].
  var bias: array<vec4f, Q>;
#endif
  // Per image in the split (a segment of its rows), the quads go down the rows one column of quads
  // at a time, so the 3×3 path slides its windows: a row below the last keeps two of its three
  // input rows (per channel) and loads one.
  for (var seg = first; seg < last; seg = min(last, (seg / params.outHeight + 1u) * params.outHeight)) {
    let segEnd = min(last, (seg / params.outHeight + 1u) * params.outHeight);
    for (var colStart = 0u; colStart < params.outWidth; colStart += 4u) {
      let ix = i32(colStart) * s - p;
      var r0: mat3x4f;
      var r1: mat3x4f;
      var r2: mat3x4f;
      var r3: mat3x4f;
      var r4: mat3x4f;
      var r5: mat3x4f;
      for (var down = seg; down < segEnd; down++) {
        // The quad: column colStart of row `down`, or for the 1×1 path the same index row by row.
        var row = down;
        var ox0 = colStart;
        if (pointwise1x1) {
          let i = colStart / 4u * (segEnd - seg) + (down - seg);
          row = seg + i / quadsPerRow;
          ox0 = i % quadsPerRow * 4u;
        }
        let b = row / params.outHeight;
        let oy = row % params.outHeight;
        let xImage = b * params.inChannels * plane;
        let dyRow = (b * params.outChannels) * outArea + oy * params.outWidth;
        let iy = i32(oy) * s - p;
        // dy of the tile at the quad: d[q] column e = channel ocBase + 4q + e (0 past the edges).
        var d: array<mat4x4f, Q>;
#if DY_SHARED
        if (subgroupSize == 8u && WG_X % 8u == 0u && slots % 8u == 0u) {
          // This invocation's two quads: channels 2·lane and 2·lane + 1 of the tile.
          let mine = array<vec4f, 2>(dyQuad(dyRow, ocBase + 2u * lane, ox0), dyQuad(dyRow, ocBase + 2u * lane + 1u, ox0));
          for (var q = 0u; q < Q; q++) {
            for (var e = 0u; e < 4u; e++) {
              let c = q * 4u + e;
              d[q][e] = select(subgroupShuffle(mine[1], c / 2u), subgroupShuffle(mine[0], c / 2u), c % 2u == 0u);
            }
          }
        } else {
          // Another subgroup size, or subgroups that would hold several tasks (the variant is
          // chosen where they do not): each invocation loads its own.
          for (var q = 0u; q < Q; q++) {
            for (var e = 0u; e < 4u; e++) {
              d[q][e] = dyQuad(dyRow, ocBase + q * 4u + e, ox0);
            }
          }
        }
#else
        for (var q = 0u; q < Q; q++) {
          for (var e = 0u; e < 4u; e++) {
            d[q][e] = dyQuad(dyRow, ocBase + q * 4u + e, ox0);
          }
        }
#endif
        if (fast) {
          // Triplets 0–2 are the group's first channel's rows ky = 0, 1, 2, and 3–5 its second's.
          let a = slide(down == seg, r1, r2, xImage + trip[0][0].x, iy, ix);
          r0 = a[0];
          r1 = a[1];
          r2 = a[2];
          // A group of one input channel (a 1-channel layer: convblock1) has 3 triplets: the other
          // 3 are neither loaded nor summed (5.5–7.7 → 4.1–4.6 ms at convblock1, batch 128).
          if (GROUP > 9u && tripletCount > 3u) {
            let b = slide(down == seg, r4, r5, xImage + trip[3][0].x, iy, ix);
            r3 = b[0];
            r4 = b[1];
            r5 = b[2];
          }
        } else if (pointwise1x1) {
          let row = xImage + oy * params.width;
          r0 = pointwise(trip[0], row, ox0);
          r1 = pointwise(trip[1], row, ox0);
          r2 = pointwise(trip[2], row, ox0);
          if (GROUP > 9u) {
            r3 = pointwise(trip[3], row, ox0);
            r4 = pointwise(trip[4], row, ox0);
            r5 = pointwise(trip[5], row, ox0);
          }
        } else {
          // One copy of the loads, in a loop over a count known only at run time (the shader
          // stays small to compile), through a private array.
          var xs: array<mat3x4f, 6>;
          for (var m = 0u; m < tripletCount; m++) {
            let off = vec3u(xImage, 0u, 0u);
            xs[m] = taps(array<vec3u, 3>(trip[m][0] + off, trip[m][1] + off, trip[m][2] + off), iy, ix);
          }
          r0 = xs[0];
          r1 = xs[1];
          r2 = xs[2];
          r3 = xs[3];
          r4 = xs[4];
          r5 = xs[5];
        }
#if BIAS
        for (var q = 0u; q < Q; q++) {
          for (var e = 0u; e < 4u; e++) {
            let v = d[q][e];
            bias[q][e] += ((v.x + v.y) + v.z) + v.w;
          }
        }
#endif
        t0 = tripletStep(t0, r0, d);
        t1 = tripletStep(t1, r1, d);
        t2 = tripletStep(t2, r2, d);
        if (GROUP > 9u && tripletCount > 3u) {
          t3 = tripletStep(t3, r3, d);
          t4 = tripletStep(t4, r4, d);
          t5 = tripletStep(t5, r5, d);
        }
      }
    }
  }
  if (gid.x >= tasks || slot >= groups) { return; }
  // The stores loop over counts known only at run time (the channels and taps inside), so they
  // stay loops, and pick the sums with selects rather than index a copy of them (both keep the
  // shader small to compile).
  let out = split * params.outChannels * taps3;
  let quadCount = min(Q, (params.outChannels - ocBase + 3u) / 4u);
#if BIAS
  if (g == 0u) {
    for (var q = 0u; q < quadCount; q++) {
      for (var e = 0u; e < 4u; e++) {
        let oc = ocBase + q * 4u + e;
        if (oc < params.outChannels) { biasPartial[split * params.outChannels + oc] = bias[q][e]; }
      }
    }
  }
#endif
  for (var m = 0u; m < tripletCount; m++) {
    var sums = t0;
    if (m == 1u) { sums = t1; }
    if (m == 2u) { sums = t2; }
    if (m == 3u) { sums = t3; }
    if (m == 4u) { sums = t4; }
    if (m == 5u) { sums = t5; }
    for (var q = 0u; q < quadCount; q++) {
      let a = quadSums(sums, q);
      for (var e = 0u; e < 4u; e++) {
        let oc = ocBase + q * 4u + e;
        if (oc < params.outChannels) {
          for (var i = 0u; i < 3u; i++) {
            let k = g * GROUP + m * 3u + i;
            if (k < taps3) { partial[out + oc * taps3 + k] = a[i][e]; }
          }
        }
      }
    }
  }
}
