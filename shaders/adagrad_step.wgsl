// adagrad_step: PyTorch's torch.optim.Adagrad update of parameters, in place (param and its sum of
// squared gradients): a network's whole parameter arena in one dispatch (src/gpu/arena.ts), or one
// tensor:
//   g ← clip(grad) + weightDecay·param    (clip: variants CLIP_NORM, CLIP_VALUE; else none)
//   s ← s + g²                            (state_sum.addcmul_(g, g, value=1))
//   param ← param − clr·g / (√s + eps)    (clr = lr / (1 + (step − 1)·lr_decay): the host's hyper[0])
// One invocation per element. A non-finite gradient, sum or updated element is recorded in `health`
// (shaders/lib/health.wgsl) at its parameter's slot, slots[i / SLOT_BLOCK]: the divergence guard.

struct Params {
  length: u32,
  eps: f32,
  weightDecay: f32,
  clipValue: f32,
  decayAt: u32,
  groupLrs: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> hyper: array<f32>;
@group(0) @binding(2) var<storage, read> grad: array<f32>;
@group(0) @binding(3) var<storage, read_write> sum: array<f32>;
@group(0) @binding(4) var<storage, read_write> param: array<f32>;
@group(0) @binding(5) var<storage, read_write> health: array<u32>;
@group(0) @binding(6) var<storage, read> slots: array<u32>;

override WG_X: u32;

// decayedGradientOf(i), lrOf(i) and markElementNonFinite(i), and the constants SLOT_BLOCK, CLIP_AT, …:
// shaders/lib/optimizer_gradient.wgsl.

@compute @workgroup_size(WG_X)
fn adagrad_step(@builtin(global_invocation_id) gid3: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let gid = linearInvocation(gid3, nwg);
  let i = gid.x;
  if (i >= params.length) { return; }
  let lr = lrOf(i);
  let g = decayedGradientOf(i);
  let s = sum[i] + g * g;
  sum[i] = s;
  let updated = param[i] - lr * (g / (sqrt(s) + params.eps));
  param[i] = updated;
  if (!isFinite(updated) || !isFinite(s)) {
    markElementNonFinite(i);
  }
}
