// mnist_batch: one batch of network input from the data set resident on the GPU; overwrites
// images and batchLabels.
//   pixels: the split's uint8 images, four to a u32 (little-endian), [count, rows, cols];
//   labels: the uint8 labels, four to a u32; order: the epoch's permutation of 0 … count − 1.
//   Sample b of the batch is image order[first + b]; the batch ends at the end of the split.
//   With augment = 1 the image is rotated about its centre by an angle uniform in
//   [−maxDegrees, maxDegrees] (u = (word >> 8)·2⁻²⁴ with word = randomWord(seed, stream, epoch,
//   first + b)), nearest neighbour, PIL's convention (as torchvision's RandomRotation on a PIL
//   image): output pixel (x, y) samples the input at ⌊R·(x + ½ − cx, y + ½ − cy) + (cx, cy)⌋,
//   cx = cols/2, cy = rows/2, and takes `fill` outside the image. Then
//   images[b, 0, y, x] = (pixel/255 − mean)/deviation.
//   One invocation per image row: invocation b·rows + y writes row y of sample b, drawing the
//   sample's angle once for the row (one per pixel, the batch's 100,352 draws took 2.0–2.8 ms of
//   a step at batch 128 on lavapipe; 0.7–1.0 ms so, bench:profile alternated).

struct Params {
  count: u32,
  first: u32,
  batch: u32,
  rows: u32,
  cols: u32,
  augment: u32,
  maxDegrees: f32,
  fill: u32,
  mean: f32,
  deviation: f32,
  seed: u32,
  stream: u32,
  epoch: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> pixels: array<u32>;
@group(0) @binding(2) var<storage, read> labels: array<u32>;
@group(0) @binding(3) var<storage, read> order: array<u32>;
@group(0) @binding(4) var<storage, read_write> images: array<f32>;
@group(0) @binding(5) var<storage, read_write> batchLabels: array<u32>;

override WG_X: u32;

fn pixelAt(index: u32) -> u32 {
  return (pixels[index / 4u] >> ((index % 4u) * 8u)) & 0xffu;
}

fn labelAt(index: u32) -> u32 {
  return (labels[index / 4u] >> ((index % 4u) * 8u)) & 0xffu;
}

@compute @workgroup_size(WG_X)
fn mnist_batch(@builtin(global_invocation_id) gid3: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let gid = linearInvocation(gid3, nwg);
  let area = params.rows * params.cols;
  let b = gid.x / params.rows;
  let y = gid.x % params.rows;
  if (b >= params.batch || params.first + b >= params.count) { return; }
  let image = order[params.first + b];
  let rowOut = b * area + y * params.cols;
  if (params.augment == 1u) {
    let position = params.first + b;
    let word = randomBlock(params.seed, params.stream, params.epoch, position / 4u)[position % 4u];
    let u = f32(word >> 8u) * exp2(-24.0);
    let theta = radians(-params.maxDegrees + 2.0 * params.maxDegrees * u);
    let cx = f32(params.cols) * 0.5;
    let cy = f32(params.rows) * 0.5;
    let dy = f32(y) + 0.5 - cy;
    let cosTheta = cos(theta);
    let sinTheta = sin(theta);
    for (var x = 0u; x < params.cols; x++) {
      let dx = f32(x) + 0.5 - cx;
      let sx = floor(cosTheta * dx - sinTheta * dy + cx);
      let sy = floor(sinTheta * dx + cosTheta * dy + cy);
      var value = params.fill;
      if (sx >= 0.0 && sy >= 0.0 && sx < f32(params.cols) && sy < f32(params.rows)) {
        value = pixelAt(image * area + u32(sy) * params.cols + u32(sx));
      }
      images[rowOut + x] = (f32(value) / 255.0 - params.mean) / params.deviation;
    }
  } else {
    for (var x = 0u; x < params.cols; x++) {
      images[rowOut + x] = (f32(pixelAt(image * area + y * params.cols + x)) / 255.0 - params.mean) / params.deviation;
    }
  }
  if (y == 0u) {
    batchLabels[b] = labelAt(image);
  }
}
