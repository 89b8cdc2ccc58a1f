// lstm_forward_step: one time step t (params.step) of PyTorch's nn.LSTM cell over a batch,
// batch_first, one layer, one direction, initial states h_{−1} = c_{−1} = 0. Gates in PyTorch's
// order i, f, g, o (rows k·H … k·H + H − 1 of the weights, k = 0 … 3):
//   pre = gx[b, t] + (W_hh · h_{t−1} + b_hh)      gx = x · W_ihᵀ + b_ih, for every t at once (dense_forward)
//   i = σ(pre_i), f = σ(pre_f), g = tanh(pre_g), o = σ(pre_o)
//   c_t = f ⊙ c_{t−1} + i ⊙ g,  h_t = o ⊙ tanh(c_t)
// Layout: gx, gates [batch, seqLen, 4H]; y, cell, hprev [batch, seqLen, H]; weightHh [4H, H].
// One invocation per (b, j), j a hidden unit: the four dot products of W_hh's rows k·H + j with
// h_{t−1} = y[b, t − 1] (written by the previous step's dispatch), each summed over m in increasing
// order, then b_hh added (variant BIAS), then gx. Overwrites y[b, t], cell[b, t], gates[b, t]
// (the activated gates i, f, g, o, for the backward) and hprev[b, t] = h_{t−1} (0 at t = 0: the
// weight gradient's operand, dW_hh = Σ_t dgatesᵀ · h_{t−1}). σ: shaders/lib/sigmoid.wgsl; tanh:
// shaders/lib/stable_math.wgsl's tanhAccurate.

struct Params {
  batch: u32,
  seqLen: u32,
  hidden: u32,
  step: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> gx: array<f32>;
@group(0) @binding(2) var<storage, read> weightHh: array<f32>;
#if BIAS
@group(0) @binding(3) var<storage, read> biasHh: array<f32>;
#endif
@group(0) @binding(4) var<storage, read_write> y: array<f32>;
@group(0) @binding(5) var<storage, read_write> cell: array<f32>;
@group(0) @binding(6) var<storage, read_write> gates: array<f32>;
@group(0) @binding(7) var<storage, read_write> hprev: array<f32>;

override WG_X: u32;

// Gate k's pre-activation for (b, j) at step t; `prev` the offset of h_{t−1} = y[b, t − 1] (t > 0).
fn preActivation(k: u32, j: u32, row: u32, prev: u32, t: u32) -> f32 {
  let H = params.hidden;
  let r = k * H + j;
  var s = 0.0;
  if (t > 0u) {
    for (var m = 0u; m < H; m++) {
      s += weightHh[r * H + m] * y[prev + m];
    }
  }
#if BIAS
  s += biasHh[r];
#endif
  return gx[row * 4u * H + r] + s;
}

@compute @workgroup_size(WG_X)
fn lstm_forward_step(@builtin(global_invocation_id) gid3: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let gid = linearInvocation(gid3, nwg);
  let H = params.hidden;
  if (gid.x >= params.batch * H) { return; }
  let b = gid.x / H;
  let j = gid.x % H;
  let t = params.step;
  let row = b * params.seqLen + t;
  let prev = (row - select(0u, 1u, t > 0u)) * H;
  let i = sigmoid(preActivation(0u, j, row, prev, t));
  let f = sigmoid(preActivation(1u, j, row, prev, t));
  let g = tanhAccurate(preActivation(2u, j, row, prev, t));
  let o = sigmoid(preActivation(3u, j, row, prev, t));
  var cPrev = 0.0;
  var hPrev = 0.0;
  if (t > 0u) {
    cPrev = cell[prev + j];
    hPrev = y[prev + j];
  }
  let c = f * cPrev + i * g;
  let gateAt = row * 4u * H + j;
  gates[gateAt] = i;
  gates[gateAt + H] = f;
  gates[gateAt + 2u * H] = g;
  gates[gateAt + 3u * H] = o;
  cell[row * H + j] = c;
  hprev[row * H + j] = hPrev;
  y[row * H + j] = o * tanhAccurate(c);
}
