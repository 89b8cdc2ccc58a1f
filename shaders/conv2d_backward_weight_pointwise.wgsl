// conv2d_backward_weight_pointwise: partial sums of dweight = ∂loss/∂weight of y = conv2d(x,
// weight) for a 1×1 kernel, stride 1, no padding, dy shared in subgroups of 8; overwrites partial
// (conv2d_backward_weight_reduce adds the partial sums into dweight, as conv2d_backward_weight's).
//   partial[s, co, ci] = Σ over the output pixels p of split s of dy[b, co, oy, ox] · x[b, ci, oy, ox];
//   p = (b·outHeight + oy)·outWidth + ox, and split s covers the output rows (b, oy)
//   r = b·outHeight + oy in [s·R, (s+1)·R), R = splitPixels / outWidth.
//   x [batch, inChannels, height, width], dy [batch, outChannels, height, width] (the 1×1 output
//   plane is the input's), partial [splits, outChannels, inChannels]; NCHW.
//   Per image the sums are a GEMM, dW = dY · Xᵀ over the pixels, with no reuse along the pixels:
//   each dy and x value read feeds only the other operand's channels. On lavapipe a load costs a
//   bounds-checked scalar access per invocation and component whatever its address (the 8 lanes
//   of a subgroup reading one address pay 8 times), and here the loads, not the arithmetic, are
//   the time; so the 8 invocations of a subgroup split the work and share what they read.
//   Invocation (global_invocation_id.x) = task (s·⌈outChannels/OUT_TILE⌉ + c)·tapSlots + g, as
//   conv2d_backward_weight's with 4-tap groups: the OUT_TILE output channels of tile c × the 4
//   input channels 4g .. 4g + 3 (a 1×1 kernel's taps) × the pixels of split s. tapSlots (a
//   parameter) is ⌈inChannels/4⌉ rounded up to a multiple of 8, so the 8 invocations of a subgroup
//   are the slots g = 8j .. 8j + 7 of one split and channel tile; a slot past the last group loads
//   its share of dy for the others, sums channel inChannels − 1 and stores nothing.
//   It holds its OUT_TILE × 4 sums in registers: Q = OUT_TILE/4 mat4x4f (column i = input
//   channel 4g + i, row e = output channel 4q + e).
//   The pixels go four at a time (a quad: one row, columns ox0 .. ox0 + 3, 0 past its end), row by
//   row. Per quad an invocation loads its 4 input channels' quads (a mat4x4f, 4 channels × 4
//   pixels: addresses of its own) and dy quads of LOADS = ⌈OUT_TILE/8⌉ of the tile's channels
//   (channel 8k + l for lane l), and takes the tile's OUT_TILE dy quads from the subgroup by
//   subgroupBroadcast (sharedDy, generated); each mat4x4f of sums gains transpose(dy) · inputs,
//   4 pixels summed per product. A quad is then 4 + LOADS loads an invocation, where
//   conv2d_backward_weight's 1×1 path loads the tile's OUT_TILE dy quads in every invocation.
//   With another subgroup size, or a workgroup that is not whole subgroups of 8, each invocation
//   loads all OUT_TILE itself (ownDy): the same values. The host chooses this kernel only where
//   the adapter's subgroups are 8 invocations (WeightTile.pointwise).
//   Sum order, per weight: the quads of the split row by row, each quad's 4 products summed
//   (transpose(dy) · inputs, pixels in order) and then added: conv2d_backward_weight's 1×1 order
//   and expressions, so the same bits at the same split.
//   Variants (the same values read, so the same bits): X_VEC4 and DY_VEC4 (X_VEC2 and DY_VEC2)
//   read a quad as one vec4 (two vec2s), for a width that is a multiple of 4 (2). Variant BIAS:
//   the bias's gradient too, biasPartial[s, co] = Σ_p dy[b, co, oy, ox] over split s (each quad's
//   4 pixels summed in order, then added), from the tile's dy quads every invocation holds, stored
//   by slot 0 (biasPartial [splits, outChannels]).
//   Variant POOL (the max pool after the layer folded into its backward, as in
//   conv2d_backward_input_pointwise): dy is the max pool's gradient [batch, outChannels,
//   outHeight/2, outWidth/2] and argmax its choices (each window's element index into the layer's
//   output, as maxpool2x2_forward writes them), and a quad of dy is rebuilt from its 2 windows (a
//   vec2 of each) as maxpool2x2_backward writes it (dy[o] at argmax[o], 0 elsewhere): the same
//   values, so the same bits, with no full-size gradient written or read. It reads each channel's
//   quad as a vec2 of the pooled gradient and a vec2 of argmax (two loads where DY_VEC4 reads one;
//   measured level: the loads the subgroup shares are not this kernel's cost). Needs an output
//   width that is a multiple of 4, an even output height, and DY_VEC2 (the host sets it: dy read
//   as vec2s).
//   Variant NORM_MASK (no plan fusion uses it yet): x is a training
//   BatchNorm2d's input, and the layer's input is that batch norm's output after the Dropout
//   behind it, computed as each quad is loaded (normQuad) from affine [inChannels] (vec4s: mean,
//   invStd·gamma, beta, the dropout's scale, as batchnorm_dropout_forward's MASK_ONLY writes
//   them; an invocation's 4 channels' read once) and dropMask (its mask bits, the flat index of
//   x): the batch norm pass's expressions, so the same bits as reading its stored output.
//   Variant DY_SHARED (the device's 'subgroups') is the sharing; without it every invocation loads
//   the whole tile's dy, the same values (only the tests compile it so: conv2dWeightVariant sets
//   DY_SHARED for this kernel).

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
@group(0) @binding(5) var<storage, read> argmax: array<vec2u>;
#endif
#if NORM_MASK
@group(0) @binding(6) var<storage, read> affine: array<vec4f>;
@group(0) @binding(7) var<storage, read> dropMask: array<u32>;
#endif

override WG_X: u32;
override WG_Y: u32;
override WG_Z: u32;

// OUT_TILE, Q = OUT_TILE / 4, LOADS = ⌈OUT_TILE / 8⌉ and sharedDy (the tile's dy quads from the
// subgroup): generated per tile, appended (pointwiseTileSource in src/kernels/conv2d.ts).

// dyQuad (dy of output channel oc at a quad of a row): shaders/lib/conv2d_weight_dy.wgsl.

// x at the quad: `at` is the quad's first element (its channel's plane, row and column ox0); 0
// past the row's end.
fn xQuad(at: u32, ox0: u32) -> vec4f {
#if X_VEC4
  return x[at / 4u];
#elif X_VEC2
  let more = ox0 + 2u < params.width;
  return vec4f(x[at / 2u], select(vec2f(0.0), x[at / 2u + select(0u, 1u, more)], more));
#else
  var r: vec4f;
  for (var j = 0u; j < 4u; j++) {
    r[j] = select(0.0, x[at + min(j, params.width - 1u - ox0)], ox0 + j < params.width);
  }
  return r;
#endif
}

// The quad of xQuad with the batch norm and dropout before the layer applied (variant NORM_MASK;
// `a` the channel's affine): n = (x − mean)·factor + shift times the element's mask value (0 or
// scale); 0 past the row's end, as xQuad.
fn normQuad(v: vec4f, at: u32, ox0: u32, a: vec4f) -> vec4f {
#if NORM_MASK
#if X_VEC4
  return ((v - a.x) * a.y + a.z) * maskQuad(dropMask[at / 32u] >> (at % 32u), a.w);
#else
  var r: vec4f;
  for (var j = 0u; j < 4u; j++) {
    let e = at + min(j, params.width - 1u - ox0);
    r[j] = select(0.0, ((v[j] - a.x) * a.y + a.z) * maskAt(dropMask[e / 32u], e % 32u, a.w), ox0 + j < params.width);
  }
  return r;
#endif
#else
  return v;
#endif
}

// dy of output channel oc at the quad, as dyQuad: `dyRow` as dyQuad's, `windowRow` the windows of
// its row pair (POOL: element (b·outChannels)·windows + ⌊oy/2⌋·outWidth/2 of the pooled gradient).
fn quadOf(dyRow: u32, windowRow: u32, oc: u32, ox0: u32) -> vec4f {
#if POOL
  // Windows ox0/2 and ox0/2 + 1 of the row pair: one vec2 of the pooled gradient and of argmax;
  // each element gets its window's gradient where it is the window's argmax (its index in the
  // full dy), else 0; 0 for a channel past the last.
  let c = min(oc, params.outChannels - 1u);
  let area = params.outHeight * params.outWidth;
  let at = (windowRow + c * (area / 4u) + ox0 / 2u) / 2u;
  let g = dy[at];
  let k = argmax[at];
  let first = vec4u(dyRow + c * area + ox0) + vec4u(0u, 1u, 2u, 3u);
  return select(vec4f(0.0), select(vec4f(0.0), g.xxyy, k.xxyy == first), oc < params.outChannels);
#else
  return dyQuad(dyRow, oc, ox0);
#endif
}

// Every dy quad of the tile loaded by this invocation itself: d[q] column e = channel ocBase + 4q + e.
fn ownDy(dyRow: u32, windowRow: u32, ocBase: u32, ox0: u32) -> array<mat4x4f, Q> {
  var d: array<mat4x4f, Q>;
  for (var q = 0u; q < Q; q++) {
    for (var e = 0u; e < 4u; e++) {
      d[q][e] = quadOf(dyRow, windowRow, ocBase + q * 4u + e, ox0);
    }
  }
  return d;
}

@compute @workgroup_size(WG_X, WG_Y, WG_Z)
#if DY_SHARED
fn conv2d_backward_weight_pointwise(@builtin(global_invocation_id) gid: vec3u, @builtin(subgroup_invocation_id) lane: u32, @builtin(subgroup_size) subgroupSize: u32) {
#else
fn conv2d_backward_weight_pointwise(@builtin(global_invocation_id) gid: vec3u) {
#endif
  let tiles = (params.outChannels + OUT_TILE - 1u) / OUT_TILE;
  let rows = params.batch * params.outHeight;
  let rowsPerSplit = params.splitPixels / params.outWidth;
  let slots = params.tapSlots;
  let tasks = (rows + rowsPerSplit - 1u) / rowsPerSplit * tiles * slots;
  let task = min(gid.x, tasks - 1u);
  let slot = task % slots;
  let ocBase = task / slots % tiles * OUT_TILE;
  let split = task / (slots * tiles);
  let first = split * rowsPerSplit;
  let last = min(first + rowsPerSplit, rows);
  let plane = params.height * params.width;
  let outArea = params.outHeight * params.outWidth;
#if DY_SHARED
  let sharing = subgroupSize == 8u && WG_X % 8u == 0u && slots % 8u == 0u;
#endif
  // The plane offsets of the slot's 4 input channels within an image (past the last: the last).
  var channel: array<u32, 4>;
  // Their affine (NORM_MASK; unused otherwise).
  var norm: array<vec4f, 4>;
  for (var i = 0u; i < 4u; i++) {
    channel[i] = min(slot * 4u + i, params.inChannels - 1u) * plane;
#if NORM_MASK
    norm[i] = affine[min(slot * 4u + i, params.inChannels - 1u)];
#endif
  }

  var sums: array<mat4x4f, Q>;
#if BIAS
  // Per channel e of quad q of the tile, its dy summed: bias[q][e].
  var bias: array<vec4f, Q>;
#endif
  for (var row = first; row < last; row++) {
    let b = row / params.outHeight;
    let oy = row % params.outHeight;
    let xRow = b * params.inChannels * plane + oy * params.width;
    let dyRow = b * params.outChannels * outArea + oy * params.outWidth;
    let windowRow = b * params.outChannels * (outArea / 4u) + oy / 2u * (params.outWidth / 2u);
    for (var ox0 = 0u; ox0 < params.outWidth; ox0 += 4u) {
#if DY_SHARED
      var mine: array<vec4f, LOADS>;
      for (var k = 0u; k < LOADS; k++) {
        mine[k] = quadOf(dyRow, windowRow, ocBase + 8u * k + lane, ox0);
      }
      var d: array<mat4x4f, Q>;
      if (sharing) {
        d = sharedDy(mine);
      } else {
        d = ownDy(dyRow, windowRow, ocBase, ox0);
      }
#else
      let d = ownDy(dyRow, windowRow, ocBase, ox0);
#endif
      var r: mat4x4f;
      for (var i = 0u; i < 4u; i++) {
        let at = xRow + channel[i] + ox0;
        r[i] = normQuad(xQuad(at, ox0), at, ox0, norm[i]);
      }
      for (var q = 0u; q < Q; q++) {
        sums[q] = sums[q] + transpose(d[q]) * r;
      }
#if BIAS
      for (var q = 0u; q < Q; q++) {
        for (var e = 0u; e < 4u; e++) {
          let v = d[q][e];
          bias[q][e] += ((v.x + v.y) + v.z) + v.w;
        }
      }
#endif
    }
  }
  if (gid.x >= tasks) { return; }
  let out = split * params.outChannels * params.inChannels;
#if BIAS
  if (slot == 0u) {
    for (var q = 0u; q < Q; q++) {
      for (var e = 0u; e < 4u; e++) {
        let oc = ocBase + q * 4u + e;
        if (oc < params.outChannels) { biasPartial[split * params.outChannels + oc] = bias[q][e]; }
      }
    }
  }
#endif
  if (slot * 4u >= params.inChannels) { return; }
  for (var q = 0u; q < Q; q++) {
    for (var e = 0u; e < 4u; e++) {
      let oc = ocBase + q * 4u + e;
      if (oc < params.outChannels) {
        for (var i = 0u; i < 4u; i++) {
          let ci = slot * 4u + i;
          if (ci < params.inChannels) { partial[out + oc * params.inChannels + ci] = sums[q][i][e]; }
        }
      }
    }
  }
}
