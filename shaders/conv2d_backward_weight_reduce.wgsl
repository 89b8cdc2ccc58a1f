// conv2d_backward_weight_reduce: dweight[i] = Σ_s partial[s, i], s increasing, for any number of
// conv layers' weight gradients in one dispatch; overwrites each job's dweight elements.
//   Job j (a record of REDUCE_RECORD u32s in jobs, from conv2dReduceJobTable in
//   src/kernels/conv2d.ts): length (elements of the weight), splits, partialAt, dweightAt, first:
//   dweight[dweightAt + i] = Σ_{s < splits} partial[partialAt + s·length + i] for i < length,
//   partial [splits, length] from conv2d_backward_weight.
//   partial and dweight are whole buffers (a network's partial-sum arena and its gradient arena,
//   whose members the jobs name by their first element).
//   Invocation = one weight: of the last job whose first invocation (`first`, the lengths of the
//   jobs before it summed) is at or before it. A network reduces every conv layer's partial sums
//   so, after its backward pass: one dispatch instead of one a layer (lavapipe charges ~30–50 µs
//   a dispatch before any work).

struct Params {
  jobs: u32,
  invocations: u32,
}

const REDUCE_RECORD = 5u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> partial: array<f32>;
@group(0) @binding(2) var<storage, read_write> dweight: array<f32>;
@group(0) @binding(3) var<storage, read> jobs: array<u32>;

override WG_X: u32;

@compute @workgroup_size(WG_X)
fn conv2d_backward_weight_reduce(@builtin(global_invocation_id) gid3: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let gid = linearInvocation(gid3, nwg);
  let g = gid.x;
  if (g >= params.invocations) { return; }
  var r = 0u;
  for (var j = 1u; j < params.jobs; j++) {
    if (jobs[j * REDUCE_RECORD + 4u] <= g) { r = j * REDUCE_RECORD; }
  }
  let length = jobs[r];
  let splits = jobs[r + 1u];
  let partialAt = jobs[r + 2u];
  let i = g - jobs[r + 4u];
  var sum = 0.0;
  for (var s = 0u; s < splits; s++) {
    sum += partial[partialAt + s * length + i];
  }
  dweight[jobs[r + 3u] + i] = sum;
}
