// conv2d_backward_weight_reduce: weight gradients from their partial sums, any number of conv
// layers in one dispatch, by a map the host computes; overwrites the mapped elements of dweight.
//   Weight i (i < count) has the record map[4i .. 4i + 3] = (target, source, stride, splits):
//   dweight[target] = Σ_{s < splits} partial[source + s·stride], s increasing. For weight e of a
//   layer: target = its gradient's first element + e, source = its partial sums' first element
//   + e, stride = the layer's weight count (partial [splits, weights] from
//   conv2d_backward_weight). conv2dReduceMap in src/kernels/conv2d.ts makes the map; partial and
//   dweight are whole buffers (a network's partial-sum arena and its gradient arena).
//   Invocation = one weight. Variant VEC4 (every job's length and offsets multiples of 4:
//   conv2dReduceWidth): partial and dweight read as vec4s, the map's records and indices in vec4s,
//   an invocation 4 consecutive weights, each summed in the same order, so the same bits.
//   A network reduces every conv layer's partial sums so, after its
//   backward pass: one dispatch instead of one a layer (lavapipe charges ~30–50 µs a dispatch
//   before any work).

struct Params {
  count: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
#if VEC4
@group(0) @binding(1) var<storage, read> partial: array<vec4f>;
@group(0) @binding(2) var<storage, read_write> dweight: array<vec4f>;
#else
@group(0) @binding(1) var<storage, read> partial: array<f32>;
@group(0) @binding(2) var<storage, read_write> dweight: array<f32>;
#endif
@group(0) @binding(3) var<storage, read> map: array<u32>;

override WG_X: u32;

@compute @workgroup_size(WG_X)
fn conv2d_backward_weight_reduce(@builtin(global_invocation_id) gid3: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let gid = linearInvocation(gid3, nwg);
  let i = gid.x;
  if (i >= params.count) { return; }
  let source = map[4u * i + 1u];
  let stride = map[4u * i + 2u];
  let splits = map[4u * i + 3u];
#if VEC4
  var sum = vec4f(0.0);
#else
  var sum = 0.0;
#endif
  for (var s = 0u; s < splits; s++) {
    sum += partial[source + s * stride];
  }
  dweight[map[4u * i]] = sum;
}
