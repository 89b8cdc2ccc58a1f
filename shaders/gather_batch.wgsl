// gather_batch: one batch of network input from a float data set resident on the GPU (a
// TensorSplit: inputs used as they are, no normalisation or rotation); overwrites images and
// batchLabels.
//   inputs: [count, size] f32; labels: [count] u32 class indices; order: the epoch's permutation
//   of 0 … count − 1. Sample b of the batch is sample order[first + b]; the batch ends at the end
//   of the split. images[b, i] = inputs[order[first + b], i]; batchLabels[b] = labels[order[first + b]].
//   Variant TARGETS (regression): batchTargets[b, j] = targets[order[first + b], j], targetSize
//   values a sample, copied by the same invocations (four elements each of the inputs and of the
//   targets; the grid covers the longer); not with CROP_FLIP (a crop would leave the targets
//   behind: the Trainer refuses it), which leaves it out.
//   Variant CROP_FLIP (torchvision's RandomCrop(size = the sample's, padding) then
//   RandomHorizontalFlip(flipP) of a [C, H, W] sample, C = size / (H·W)): sample b draws the block
//   d = randomBlock(seed, stream, epoch, first + b) — top = randomBelow(d.x, 2·padding + 1), left =
//   randomBelow(d.y, 2·padding + 1), flipped where (d.z >> 8)·2⁻²⁴ < flipP — and
//   images[b, c, y, x] = inputs[sample, c, y + top − padding, x' + left − padding] with x' = W − 1 − x
//   if flipped, else x; fills[c], the padding's value of channel c, where that falls in the padding
//   (src/reference/augment.ts): fills holds one value a channel (C of them; one value for all is
//   C copies of it; a colour image's is its black, or its fill, after Normalize).
//   One invocation per four elements of the batch's input (a sample's elements are contiguous).
//   A split too large for one storage binding keeps its inputs in windows of whole samples, each a
//   tensor of its own (src/train/gpu-dataset.ts): one dispatch a window, each writing only the
//   batch's samples in [windowFirst, windowFirst + windowCount) (their inputs, labels and targets),
//   `inputs` holding sample windowFirst at 0. A split of one window: windowFirst 0, windowCount count.
//   Variant BYTES (a colour split: uint8 images [C, H, W], C = size / (height·width), height and
//   width bound with or without CROP_FLIP): `pixels` in place of `inputs`, four bytes to a u32
//   (little-endian), each sample of the window starting a word of its own, ⌈size / 4⌉ words a
//   sample; element i of a sample is table[c·256 + its byte], c = i / (height·width): the float32
//   the CPU made of that byte of that channel, copied, so the batch is the float split's to the bit.

struct Params {
  count: u32,
  first: u32,
  batch: u32,
  size: u32,
  targetSize: u32,
  height: u32,
  width: u32,
  padding: u32,
  flipP: f32,
  seed: u32,
  stream: u32,
  epoch: u32,
  windowFirst: u32,
  windowCount: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
#if BYTES
@group(0) @binding(9) var<storage, read> pixels: array<u32>;
@group(0) @binding(10) var<storage, read> table: array<f32>;
#else
@group(0) @binding(1) var<storage, read> inputs: array<f32>;
#endif
@group(0) @binding(2) var<storage, read> labels: array<u32>;
@group(0) @binding(3) var<storage, read> order: array<u32>;
@group(0) @binding(4) var<storage, read_write> images: array<f32>;
@group(0) @binding(5) var<storage, read_write> batchLabels: array<u32>;
#if CROP_FLIP
@group(0) @binding(8) var<storage, read> fills: array<f32>;
#elif TARGETS
@group(0) @binding(6) var<storage, read> targets: array<f32>;
@group(0) @binding(7) var<storage, read_write> batchTargets: array<f32>;
#endif

#if BYTES
// Element i of the window's sample `local`: its byte, looked up in its channel's table.
fn inputAt(local: u32, i: u32) -> f32 {
  let word = pixels[local * ((params.size + 3u) / 4u) + i / 4u];
  let byte = (word >> (8u * (i % 4u))) & 0xffu;
  return table[i / (params.height * params.width) * 256u + byte];
}
#else
fn inputAt(local: u32, i: u32) -> f32 {
  return inputs[local * params.size + i];
}
#endif

override WG_X: u32;

@compute @workgroup_size(WG_X)
fn gather_batch(@builtin(global_invocation_id) gid3: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let gid = linearInvocation(gid3, nwg);
  let samples = min(params.batch, params.count - min(params.first, params.count));
  let total = samples * params.size;
  let e0 = gid.x * 4u;
#if CROP_FLIP
  let area = params.height * params.width;
  let span = 2u * params.padding + 1u;
  // The sample's draws, made again only where the invocation's four elements cross into the next.
  var drawnFor = 0xffffffffu;
  var top = 0u;
  var left = 0u;
  var flipped = false;
  for (var e = e0; e < min(e0 + 4u, total); e++) {
    let b = e / params.size;
    let i = e % params.size;
    let sample = order[params.first + b];
    if (sample - params.windowFirst >= params.windowCount) { continue; }
    let local = sample - params.windowFirst;
    if (b != drawnFor) {
      let d = randomBlock(params.seed, params.stream, params.epoch, params.first + b);
      top = randomBelow(d.x, span);
      left = randomBelow(d.y, span);
      flipped = f32(d.z >> 8u) * exp2(-24.0) < params.flipP;
      drawnFor = b;
    }
    let c = i / area;
    let y = (i % area) / params.width;
    let x = i % params.width;
    // Coordinates in the padded image: inside the sample where both are in [padding, padding + extent).
    let py = y + top;
    let px = select(x, params.width - 1u - x, flipped) + left;
    var value = fills[c];
    if (py >= params.padding && py < params.padding + params.height && px >= params.padding && px < params.padding + params.width) {
      value = inputAt(local, c * area + (py - params.padding) * params.width + (px - params.padding));
    }
    images[e] = value;
    if (i == 0u) { batchLabels[b] = labels[sample]; }
  }
#else
  for (var e = e0; e < min(e0 + 4u, total); e++) {
    let b = e / params.size;
    let i = e % params.size;
    let sample = order[params.first + b];
    if (sample - params.windowFirst >= params.windowCount) { continue; }
    images[e] = inputAt(sample - params.windowFirst, i);
    if (i == 0u) { batchLabels[b] = labels[sample]; }
  }
#if TARGETS
  for (var e = e0; e < min(e0 + 4u, samples * params.targetSize); e++) {
    let b = e / params.targetSize;
    let sample = order[params.first + b];
    if (sample - params.windowFirst >= params.windowCount) { continue; }
    batchTargets[e] = targets[sample * params.targetSize + e % params.targetSize];
  }
#endif
#endif
}
