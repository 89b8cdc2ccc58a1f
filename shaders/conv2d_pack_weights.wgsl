// conv2d_pack_weights: conv layers' weights rearranged for conv2d_forward / conv2d_backward_input
// (src/kernels/conv-tile.ts), any number of (layer, direction, slice) jobs in one dispatch, by a
// map the host computes once; overwrites the mapped elements of packed.
//   packed[map[2i]] = weight[map[2i + 1]], or 0 where map[2i + 1] is PACK_ZERO (a tile's padding
//   channels), for i < count. The layout (which weight goes where) is conv2dPackMap's, in
//   src/kernels/conv2d.ts; weight and packed are whole buffers (a network's parameter arena and
//   its packed-weight arena), the map's indices elements of them.
//   Invocation = one packed element. A network packs every conv layer's weights so, before its
//   forward pass: the seed CNN's 15 packings took a dispatch each (lavapipe charges ~30–50 µs a
//   dispatch before any work), and a job table read per invocation (a lookup and 12 fields, each
//   a gather on lavapipe) took 0.66 ms of GPU time where the map takes 0.26–0.33.

struct Params {
  count: u32,
}

const PACK_ZERO = 4294967295u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> weight: array<f32>;
@group(0) @binding(2) var<storage, read_write> packed: array<f32>;
@group(0) @binding(3) var<storage, read> map: array<u32>;

override WG_X: u32;

@compute @workgroup_size(WG_X)
fn conv2d_pack_weights(@builtin(global_invocation_id) gid3: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let gid = linearInvocation(gid3, nwg);
  let i = gid.x;
  if (i >= params.count) { return; }
  let source = map[2u * i + 1u];
  var value = 0.0;
  if (source != PACK_ZERO) { value = weight[source]; }
  packed[map[2u * i]] = value;
}
