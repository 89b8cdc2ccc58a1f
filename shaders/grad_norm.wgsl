// grad_norm: the total norm of a network's gradients and PyTorch's clip coefficient
// (torch.nn.utils.clip_grad_norm_), in two dispatches of this one source:
//   the partial pass: workgroup w reduces x[w·CHUNK .. (w + 1)·CHUNK) (the gradient arena, whose
//     padding between members is zero) to y[w]: Σ x² (the 2-norm), Σ |x| (variant L1) or max |x|
//     (variant INF);
//   the finishing pass (finish = 1): one workgroup combines the partials x[0 .. length) the same way and writes
//     y[at] = min(maxNorm / (norm + 1e-6), 1), the factor every gradient is multiplied by (PyTorch's
//     clip_coef_clamped), and y[at + 1] = norm, the total norm of the gradients before clipping
//     (what clip_grad_norm_ returns), where norm = √Σ, Σ or max.
// Invocation k of a workgroup takes elements k, k + WG_X, … of its range, then a fixed-order tree
// reduction: the same gradients give the same bits. A non-finite gradient makes the norm
// non-finite (max |x| is taken on the bits, where NaN sorts above +∞), as in PyTorch; the
// optimizer's step records the gradient itself in the divergence guard.

struct Params {
  length: u32,
  maxNorm: f32,
  finish: u32,
  at: u32,
  fold: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

// Elements one workgroup of the partial pass reduces (src/kernels/optimizers.ts: GRAD_NORM_CHUNK).
const CHUNK = 4096u;

override WG_X: u32;

var<workgroup> partial: array<f32, WG_X>;

// |v| as bits: non-negative floats (and +∞, then NaN above it) order as their u32 patterns.
fn magnitudeBits(v: f32) -> u32 {
  return bitcast<u32>(v) & 0x7fffffffu;
}

fn combine(a: f32, b: f32) -> f32 {
#if INF
  return bitcast<f32>(max(bitcast<u32>(a), bitcast<u32>(b)));
#else
  return a + b;
#endif
}

// A gradient's share of the norm.
fn term(v: f32) -> f32 {
#if INF
  return bitcast<f32>(magnitudeBits(v));
#elif L1
  return bitcast<f32>(magnitudeBits(v));
#else
  return v * v;
#endif
}

// The norm from the combined terms.
fn totalNorm(combined: f32) -> f32 {
#if INF
  return combined;
#elif L1
  return combined;
#else
  return sqrt(combined);
#endif
}

@compute @workgroup_size(WG_X)
fn grad_norm(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let finish = params.finish != 0u;
  // The workgroup's chunk: past the device's workgroups per dimension the chunks continue on the
  // next row (params.fold a row), the workgroups past the last chunk idle.
  let w = wid.x + wid.y * nwg.x;
  if (!finish && w * CHUNK >= params.length) { return; }
  let first = select(w * CHUNK, 0u, finish);
  let end = select(min(first + CHUNK, params.length), params.length, finish);
  var acc = 0.0;
  for (var i = first + lid; i < end; i += WG_X) {
    acc = combine(acc, select(term(x[i]), x[i], finish));
  }
  partial[lid] = acc;
  workgroupBarrier();
  for (var stride = WG_X / 2u; stride > 0u; stride = stride / 2u) {
    if (lid < stride) {
      partial[lid] = combine(partial[lid], partial[lid + stride]);
    }
    workgroupBarrier();
  }
  if (lid == 0u) {
    if (finish) {
      let norm = totalNorm(partial[0]);
      // clamp(coef, max = 1) as PyTorch's: a NaN norm gives a NaN factor, told by its bits (a
      // GPU's compiler may turn the clamp into min(coef, 1), which drops a NaN: NVIDIA's did).
      let coef = params.maxNorm / (norm + 1e-6);
      y[params.at] = select(select(coef, 1.0, coef >= 1.0), norm, magnitudeBits(norm) > 0x7f800000u);
      y[params.at + 1u] = norm;
    } else {
      y[w] = partial[0];
    }
  }
}
