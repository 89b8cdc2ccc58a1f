// embedding_sort: an Embedding's ids as (row, position) keys sorted ascending (src/layers/embedding.ts),
// for its weight gradient (shaders/embedding_backward_weight.wgsl) and max_norm's renorm
// (shaders/embedding_renorm.wgsl): the positions of each row together, in ascending position order.
//   keys [count, 2]: (row, position) for the positions 0 … positions − 1 (batch · L of them); a key
//   past them, or an id that is no row (not a whole number in [0, numEmbeddings): NaN, ±inf,
//   negative, fractional, too large), has row NO_ROW (2³² − 1), after every row. No two keys are
//   equal (their positions differ), so the order is one, whatever the sort's steps: the same bits
//   every run, no atomics.
//   A bitonic sort of count keys (a power of two, a multiple of BLOCK), in three stages (`stage`):
//     0: the keys made from the ids, and each block of BLOCK keys sorted in workgroup memory (the
//        network's steps k = 2 … BLOCK), ascending and descending blocks alternating;
//     1: one compare-exchange step (k, j), j ≥ BLOCK, across blocks, in storage;
//     2: the steps j = BLOCK / 2 … 1 of merge k, each block in workgroup memory.
//   The host runs 0, then for k = 2·BLOCK … count: 1 for j = k / 2 … BLOCK, then 2 (15 dispatches
//   for 8,192 ids). One invocation per pair of keys (count / 2 of them).

struct Params {
  count: u32,
  positions: u32,
  numEmbeddings: u32,
  stage: u32,
  k: u32,
  j: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> ids: array<f32>;
@group(0) @binding(2) var<storage, read_write> keys: array<u32>;

override WG_X: u32;

// Keys one workgroup sorts in its memory: two per invocation (src/kernels/embedding.ts: SORT_BLOCK).
const BLOCK = 512u;
const NO_ROW = 0xffffffffu;

var<workgroup> block: array<vec2u, BLOCK>;

// Key a orders before key b: by row, then by position.
fn before(a: vec2u, b: vec2u) -> bool {
  return a.x < b.x || (a.x == b.x && a.y < b.y);
}

// Position p's key: (its row, p); NO_ROW for an id that is no row or a key past the positions.
fn keyOf(p: u32) -> vec2u {
  if (p >= params.positions) { return vec2u(NO_ROW, p); }
  let id = ids[p];
  // Tested on the bits first: WGSL lets a compiler assume floats are finite, so a NaN compare may fold.
  let finite = (bitcast<u32>(id) & 0x7f800000u) != 0x7f800000u;
  let valid = finite && id >= 0.0 && id < f32(params.numEmbeddings) && floor(id) == id;
  return vec2u(select(NO_ROW, u32(clamp(id, 0.0, f32(params.numEmbeddings - 1u))), valid), p);
}

// Step (k, j) of the network on the block in workgroup memory: invocation lid orders one pair.
fn localStep(lid: u32, base: u32, k: u32, j: u32) {
  let i = 2u * j * (lid / j) + lid % j;
  let a = block[i];
  let b = block[i + j];
  let ascending = ((base + i) & k) == 0u;
  if (before(b, a) == ascending) {
    block[i] = b;
    block[i + j] = a;
  }
  workgroupBarrier();
}

@compute @workgroup_size(WG_X)
fn embedding_sort(@builtin(global_invocation_id) gid3: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let gid = linearInvocation(gid3, nwg);
  if (params.stage == 1u) {
    let t = gid.x;
    let j = params.j;
    let i = 2u * j * (t / j) + t % j;
    if (i + j < params.count) {
      let a = vec2u(keys[2u * i], keys[2u * i + 1u]);
      let b = vec2u(keys[2u * (i + j)], keys[2u * (i + j) + 1u]);
      if (before(b, a) == ((i & params.k) == 0u)) {
        keys[2u * i] = b.x;
        keys[2u * i + 1u] = b.y;
        keys[2u * (i + j)] = a.x;
        keys[2u * (i + j) + 1u] = a.y;
      }
    }
  } else {
    // The workgroup's block. A workgroup past the keys (a folded grid's last row) touches no
    // storage, but takes every barrier: no early return before them.
    let lid = gid.x % WG_X;
    let base = (gid.x / WG_X) * BLOCK;
    let inRange = base < params.count;
    let half = BLOCK / 2u;
    if (params.stage == 0u) {
      block[lid] = keyOf(base + lid);
      block[lid + half] = keyOf(base + lid + half);
      workgroupBarrier();
      for (var k = 2u; k <= BLOCK; k = k << 1u) {
        for (var j = k >> 1u; j > 0u; j = j >> 1u) {
          localStep(lid, base, k, j);
        }
      }
    } else {
      if (inRange) {
        block[lid] = vec2u(keys[2u * (base + lid)], keys[2u * (base + lid) + 1u]);
        block[lid + half] = vec2u(keys[2u * (base + lid + half)], keys[2u * (base + lid + half) + 1u]);
      }
      workgroupBarrier();
      for (var j = half; j > 0u; j = j >> 1u) {
        localStep(lid, base, params.k, j);
      }
    }
    if (inRange) {
      keys[2u * (base + lid)] = block[lid].x;
      keys[2u * (base + lid) + 1u] = block[lid].y;
      keys[2u * (base + lid + half)] = block[lid + half].x;
      keys[2u * (base + lid + half) + 1u] = block[lid + half].y;
    }
  }
}
