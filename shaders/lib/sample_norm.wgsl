// The sample norm kernels' parameters (sample_norm_forward, sample_norm_backward_input,
// sample_norm_backward_affine; one declaration for the three: src/kernels/sample-norm.ts, which
// says what each field means).

struct Params {
  batch: u32,
  sampleSize: u32,
  segmentLength: u32,
  affineStride: u32,
  affineCount: u32,
  eps: f32,
  serial: u32,
  affineMode: u32,
}

// affineMode's values (sample_norm_backward_affine; src/kernels/sample-norm.ts's AFFINE_MODE).
const AFFINE_WORKGROUP = 0u;
const AFFINE_SERIAL = 1u;
const AFFINE_ACROSS = 2u;
