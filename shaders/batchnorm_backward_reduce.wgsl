// batchnorm_backward_reduce: the per-channel sums of the BatchNorm2d backward pass; overwrites
// dgamma and dbeta:  dbeta[c] = Σ dy,  dgamma[c] = Σ dy·x̂  with x̂ = (x − mean)·invStd,
// over batch × area. x, dy [batch, channels, area]; stats [2, channels] from batchnorm_stats.
// One workgroup of WG_X invocations (a power of two) per channel; per-invocation sums, four
// elements (a quad) at a time into four running sums of each, added ((x + y) + (z + w)), then a
// fixed-order tree reduction. An invocation takes the quads batchnorm_stats's does (a plane of
// WG_X quads or more walked by LANES invocations, smaller ones side by side). In the big planes'
// walk each plane's terms are summed apart and then added to the invocation's sums: an
// invocation's 288 quads at convblock2 summed in one run were 5.7e-5 off in a dbeta of -0.0497
// (73,728 terms), past the test's bound; per plane (18, then 16 sums), within it.
// Variant VEC4 (area a multiple of 4) reads the four as one vec4; it sums the same terms in the
// same order, so both agree bit for bit. dy is 0 past the area, so the
// missing elements add nothing. Variant DROPOUT (a Dropout after the batch norm, its backward fused
// in): dy is the gradient at the dropout's output, and each element's dy is first multiplied by
// its mask value (mask bits as dropout_forward draws them, shaders/lib/dropout_mask.wgsl; 0 or
// dropoutScale), which is the dropout_backward pass without the tensor it wrote.
// Variant APPLY: the workgroup then also writes its channel's input gradient, as
// batchnorm_backward_input does (the same expression, so the same bits, with reluInput as there),
// walking the channel's quads again once the sums are known: one dispatch instead of two, and
// on a CPU adapter the second walk finds the channel's dy and x in cache (a workgroup a channel
// keeps a CPU's few threads busy; a GPU wants batchnorm_backward_input's invocation a mask word).
// Variant IN_PLACE (with APPLY): the input gradient is written over dy (dy read_write, no dx
// binding). Safe: the second walk reads each element's dy and writes its dx in the same
// invocation, and no invocation reads dy after the sums' barrier but for its own elements. The
// network then keeps the batch norm's output and input gradients in one slot, so the other slot
// need only hold the layers' around it (src/plan/network.ts).
// groups > 1 (a GPU; not with APPLY): workgroup (c, g) sums only samples g·⌈batch/groups⌉ … of
// channel c, into dbeta[c·groups + g] and dgamma[c·groups + g] (partial sums, added per channel
// by batchnorm_sums_merge): channels × groups workgroups, where a workgroup a channel left a GPU's
// multiprocessors idle (an H200 at batch 1024: the seed CNN's six reductions 3.3 ms of an 11.9 ms
// step). groups = 1 is the kernel without it, bit for bit.
// Variant SUBGROUP (implies VEC4 and DROPOUT; the device's 'subgroups'): the big planes' walks take
// the mask words from the subgroup. There the 8 invocations of a row (a subgroup, where the
// adapter's subgroups are 8 invocations and the workgroup whole subgroups of 8) take a plane's 32
// consecutive elements an iteration, mostly one mask word, which each of them loaded: on lavapipe
// a load is a loop over the 8 lanes whatever the addresses. Instead lane l loads the word its row
// reaches l iterations on, once every 8 iterations (7 where the plane starts inside a word, as
// 26 × 26 planes do: then the 32 elements straddle two words, the first lanes on one and the rest
// on the next), and each iteration takes its own by subgroupShuffle. The loops run the same
// iterations in all 8 lanes (a lane past the plane's last quad adds nothing), so that the
// shuffles are in uniform control flow. The same bits shifted the same way, summed in the same
// order: the same results as without it, bit for bit. With another subgroup size, or a workgroup
// that is not whole subgroups of 8, the walks load as without it; small planes always do. The
// seed CNN at batch 128 (DROPOUT APPLY IN_PLACE, alternated in one process, minimum of 30):
// convblock1 2.29 → 2.14 ms, convblock2 3.78 → 3.54 (without any mask load 2.04 and 3.43).

#if SUBGROUP
enable subgroups;
diagnostic(off, subgroup_uniformity);
#endif

struct Params {
  batch: u32,
  channels: u32,
  area: u32,
  dropoutScale: f32,
  reluInput: u32,
  groups: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
#if IN_PLACE
#if VEC4
@group(0) @binding(1) var<storage, read_write> dy: array<vec4f>;
#else
@group(0) @binding(1) var<storage, read_write> dy: array<f32>;
#endif
#elif VEC4
@group(0) @binding(1) var<storage, read> dy: array<vec4f>;
#else
@group(0) @binding(1) var<storage, read> dy: array<f32>;
#endif
#if VEC4
@group(0) @binding(2) var<storage, read> x: array<vec4f>;
#else
@group(0) @binding(2) var<storage, read> x: array<f32>;
#endif
@group(0) @binding(3) var<storage, read> stats: array<f32>;
@group(0) @binding(4) var<storage, read_write> dgamma: array<f32>;
@group(0) @binding(5) var<storage, read_write> dbeta: array<f32>;
#if DROPOUT
@group(0) @binding(6) var<storage, read> mask: array<u32>;
#endif
#if APPLY
@group(0) @binding(7) var<storage, read> gamma: array<f32>;
#if IN_PLACE
#elif VEC4
@group(0) @binding(8) var<storage, read_write> dx: array<vec4f>;
#else
@group(0) @binding(8) var<storage, read_write> dx: array<f32>;
#endif
#endif

override WG_X: u32;
/** Invocations that walk one plane together (batchnorm_stats.wgsl says why). */
const LANES = 8u;

var<workgroup> partial: array<vec2f, WG_X>;

// dy and x at elements base + s .. base + s + 3 of a plane (s a multiple of 4): 0 past its area.
// (Two functions, not one taking a storage pointer: that needs unrestricted_pointer_parameters.)
fn dy4(base: u32, s: u32) -> vec4f {
#if VEC4
#if DROPOUT
  let i = base + s;
  return dy[i / 4u] * maskQuad(mask[i / 32u] >> (i % 32u), params.dropoutScale);
#else
  return dy[(base + s) / 4u];
#endif
#else
  var r = vec4f(0.0);
  for (var e = 0u; e < 4u; e++) {
    if (s + e < params.area) {
      let i = base + s + e;
#if DROPOUT
      r[e] = dy[i] * maskAt(mask[i / 32u], i % 32u, params.dropoutScale);
#else
      r[e] = dy[i];
#endif
    }
  }
  return r;
#endif
}

#if SUBGROUP
// SUBGROUP: dy at elements base + s .. base + s + 3 of a plane times their mask values, from the
// mask word already shifted to their first element's bit (as dy4 shifts it).
fn dy4Bits(base: u32, s: u32, bits: u32) -> vec4f {
  return dy[(base + s) / 4u] * maskQuad(bits, params.dropoutScale);
}

// SUBGROUP: a row's walk over the plane at `base`, as the mask words' part of it. Lane `lane`
// takes quads lane, lane + 8, …; at iteration k the row's quads are elements base + 32k …
// base + 32k + 31, this lane's in word base / 32 + k + up.
struct MaskWalk {
  // The plane's first and last word.
  first: u32,
  last: u32,
  // This lane's quads' first bit in their word, and 1 where they lie in the next word of the row's 32.
  shift: u32,
  up: u32,
  // Iterations a lane's word serves: 8, or 7 where the row's 32 elements straddle two words.
  block: u32,
  // The word this lane loaded (for the row's next `block` iterations), and how many of them are done.
  words: u32,
  slot: u32,
}

fn maskWalk(base: u32, lane: u32) -> MaskWalk {
  let offset = base % 32u;
  let block = select(7u, 8u, offset == 0u);
  return MaskWalk(base / 32u, (base + params.area - 1u) / 32u, (offset + 4u * lane) % 32u, (offset + 4u * lane) / 32u, block, 0u, block);
}

// The mask bits of this lane's quad at iteration k (lane + 8k), shifted to its first element: every
// `block` iterations each lane loads the word the row reaches `lane` iterations on, and each
// iteration takes its own by subgroupShuffle. Every lane of the row calls it at every k, in order.
fn walkBits(walk: ptr<function, MaskWalk>, lane: u32, k: u32) -> u32 {
  if ((*walk).slot == (*walk).block) {
    (*walk).words = mask[min((*walk).first + k + lane, (*walk).last)];
    (*walk).slot = 0u;
  }
  let bits = subgroupShuffle((*walk).words, (*walk).slot + (*walk).up) >> (*walk).shift;
  (*walk).slot += 1u;
  return bits;
}
#endif

fn x4(base: u32, s: u32) -> vec4f {
#if VEC4
  return x[(base + s) / 4u];
#else
  var r = vec4f(0.0);
  for (var e = 0u; e < 4u; e++) {
    if (s + e < params.area) { r[e] = x[base + s + e]; }
  }
  return r;
#endif
}

@compute @workgroup_size(WG_X)
#if SUBGROUP
fn batchnorm_backward_reduce(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32, @builtin(subgroup_invocation_id) lane: u32, @builtin(subgroup_size) subgroupSize: u32) {
  let rowsShare = subgroupSize == 8u && WG_X % 8u == 0u;
#else
fn batchnorm_backward_reduce(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
#endif
  let c = wid.x;
  let mean = stats[c];
  let invStd = stats[params.channels + c];
  let quads = (params.area + 3u) / 4u;
  // This workgroup's samples: all of them where groups = 1.
  let perGroup = (params.batch + params.groups - 1u) / params.groups;
  let first = wid.y * perGroup;
  let end = min(params.batch, first + perGroup);
  var sumG = vec4f(0.0);
  var sumGx = vec4f(0.0);
#if SUBGROUP
  if (quads >= WG_X && rowsShare) {
    // A row a subgroup (lane its subgroup_invocation_id): the rows and planes below, with the mask words shared.
    let iterations = (quads + 7u) / 8u;
    for (var b = first + lid / 8u; b < end; b += WG_X / 8u) {
      let base = (b * params.channels + c) * params.area;
      var walk = maskWalk(base, lane);
      var planeG = vec4f(0.0);
      var planeGx = vec4f(0.0);
      for (var k = 0u; k < iterations; k++) {
        let bits = walkBits(&walk, lane, k);
        let q = lane + 8u * k;
        if (q < quads) {
          let g = dy4Bits(base, 4u * q, bits);
          planeG += g;
          planeGx += g * (x4(base, 4u * q) - mean) * invStd;
        }
      }
      sumG += planeG;
      sumGx += planeGx;
    }
  } else if (quads >= WG_X) {
#else
  if (quads >= WG_X) {
#endif
    let lanes = min(LANES, WG_X);
    let rowsOfLanes = WG_X / lanes;
    for (var b = first + lid / lanes; b < end; b += rowsOfLanes) {
      let base = (b * params.channels + c) * params.area;
      var planeG = vec4f(0.0);
      var planeGx = vec4f(0.0);
      for (var q = lid % lanes; q < quads; q += lanes) {
        let g = dy4(base, 4u * q);
        planeG += g;
        planeGx += g * (x4(base, 4u * q) - mean) * invStd;
      }
      sumG += planeG;
      sumGx += planeGx;
    }
  } else {
    let planes = WG_X / quads;
    let q = lid % quads;
    for (var b = first + lid / quads; b < end && lid < planes * quads; b += planes) {
      let base = (b * params.channels + c) * params.area;
      let g = dy4(base, 4u * q);
      sumG += g;
      sumGx += g * (x4(base, 4u * q) - mean) * invStd;
    }
  }
  let sums = vec2f((sumG.x + sumG.y) + (sumG.z + sumG.w), (sumGx.x + sumGx.y) + (sumGx.z + sumGx.w));
  partial[lid] = sums;
  workgroupBarrier();
  for (var stride = WG_X / 2u; stride > 0u; stride /= 2u) {
    if (lid < stride) {
      partial[lid] += partial[lid + stride];
    }
    workgroupBarrier();
  }
  if (lid == 0u) {
    dbeta[c * params.groups + wid.y] = partial[0].x;
    dgamma[c * params.groups + wid.y] = partial[0].y;
  }
#if APPLY
  // Every invocation reads the sums (the tree's last barrier is behind them) and walks its quads again.
  let db = partial[0].x;
  let dg = partial[0].y;
  let m = f32(params.batch * params.area);
  let scale = gamma[c] * invStd / m;
#if SUBGROUP
  if (quads >= WG_X && rowsShare) {
    let iterations = (quads + 7u) / 8u;
    for (var b = lid / 8u; b < params.batch; b += WG_X / 8u) {
      let base = (b * params.channels + c) * params.area;
      var walk = maskWalk(base, lane);
      for (var k = 0u; k < iterations; k++) {
        let bits = walkBits(&walk, lane, k);
        let q = lane + 8u * k;
        if (q < quads) {
          applyQuad(base, 4u * q, dy4Bits(base, 4u * q, bits), mean, invStd, scale, m, db, dg);
        }
      }
    }
  } else if (quads >= WG_X) {
#else
  if (quads >= WG_X) {
#endif
    let lanes = min(LANES, WG_X);
    let rowsOfLanes = WG_X / lanes;
    for (var b = lid / lanes; b < params.batch; b += rowsOfLanes) {
      let base = (b * params.channels + c) * params.area;
      for (var q = lid % lanes; q < quads; q += lanes) {
        applyQuad(base, 4u * q, dy4(base, 4u * q), mean, invStd, scale, m, db, dg);
      }
    }
  } else {
    let planes = WG_X / quads;
    let q = lid % quads;
    for (var b = lid / quads; b < params.batch && lid < planes * quads; b += planes) {
      let base = (b * params.channels + c) * params.area;
      applyQuad(base, 4u * q, dy4(base, 4u * q), mean, invStd, scale, m, db, dg);
    }
  }
#endif
}

#if APPLY
// dx at elements base + s .. base + s + 3 of a plane (those inside its area), from their dy (dy4's):
// batchnorm_backward_input's scale·(M·dy − Σdy − x̂·Σ(dy·x̂)), 0 where x ≤ 0 under a ReLU.
fn applyQuad(base: u32, s: u32, dys: vec4f, mean: f32, invStd: f32, scale: f32, m: f32, db: f32, dg: f32) {
  let xs = x4(base, s);
  let g = scale * (m * dys - db - (xs - mean) * invStd * dg);
  let v = select(g, vec4f(0.0), vec4<bool>(params.reluInput == 1u) & !reluPasses4(xs));
#if VEC4
#if IN_PLACE
  dy[(base + s) / 4u] = v;
#else
  dx[(base + s) / 4u] = v;
#endif
#else
  for (var e = 0u; e < 4u; e++) {
#if IN_PLACE
    if (s + e < params.area) { dy[base + s + e] = v[e]; }
#else
    if (s + e < params.area) { dx[base + s + e] = v[e]; }
#endif
  }
#endif
}
#endif
