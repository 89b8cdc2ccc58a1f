// shuffle_permutation: the epoch's order of the training set; overwrites permutation.
//   Fisher–Yates, one invocation: permutation = 0, 1, …, count − 1; then for i = count − 1 down
//   to 1, j = ⌊word(i)·(i + 1)/2³²⌋ and swap permutation[i] and permutation[j], with
//   word(i) = randomWord(seed, stream, epoch, i) (shaders/lib/philox.wgsl). A few milliseconds
//   once per epoch; the same permutation as src/reference/random.ts: shufflePermutationRef.

struct Params {
  count: u32,
  seed: u32,
  stream: u32,
  epoch: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> permutation: array<u32>;

override WG_X: u32;

@compute @workgroup_size(WG_X)
fn shuffle_permutation(@builtin(global_invocation_id) gid: vec3u) {
  if (gid.x != 0u) { return; }
  for (var i = 0u; i < params.count; i++) {
    permutation[i] = i;
  }
  for (var i = params.count - 1u; i > 0u && i < params.count; i--) {
    let words = randomBlock(params.seed, params.stream, params.epoch, i / 4u);
    let j = randomBelow(words[i % 4u], i + 1u);
    let held = permutation[i];
    permutation[i] = permutation[j];
    permutation[j] = held;
  }
}
