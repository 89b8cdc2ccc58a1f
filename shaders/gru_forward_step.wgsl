// gru_forward_step: one time step t (params.step) of one direction of one layer of PyTorch's
// nn.GRU over a batch, batch_first, initial state zero. The forward direction (params.reverse 0)
// runs t = 0 … seqLen − 1, the reverse one t = seqLen − 1 … 0, its "previous" step t + 1 (written
// h_{t−1} below either way). Gates in PyTorch's order r, z, n
// (rows k·H … k·H + H − 1 of the weights, k = 0 … 2):
//   hh = W_hh · h_{t−1} + b_hh                  gx = x · W_ihᵀ + b_ih, for every t at once (dense_forward)
//   r = σ(gx_r + hh_r), z = σ(gx_z + hh_z), n = tanh(gx_n + r ⊙ hh_n)
//   h_t = (1 − z) ⊙ n + z ⊙ h_{t−1}
// Layout (this direction's own): gx [batch, seqLen, 3H]; gates [batch, seqLen, 4H] (r, z, n and
// hh_n, for the backward); hprev [batch, seqLen, H]; and y [batch, seqLen, directions, H] (the
// directions' h_t side by side, this one's at params.reverse); weightHh [3H, H]. One invocation per
// (b, j), j a hidden unit: the three dot products of W_hh's rows k·H + j with h_{t−1} = y[b, t ∓ 1, reverse] (written by the previous
// step's dispatch), each summed over m in increasing order, then b_hh added (variant BIAS).
// Overwrites y[b, t, reverse], gates[b, t] and hprev[b, t] = h_{t−1} (0 at the first step). σ: shaders/lib/sigmoid.wgsl;
// tanh: shaders/lib/stable_math.wgsl's tanhAccurate.

struct Params {
  batch: u32,
  seqLen: u32,
  hidden: u32,
  step: u32,
  directions: u32,
  reverse: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> gx: array<f32>;
#if VEC4
@group(0) @binding(2) var<storage, read> weightHh: array<vec4f>;
#else
@group(0) @binding(2) var<storage, read> weightHh: array<f32>;
#endif
#if BIAS
@group(0) @binding(3) var<storage, read> biasHh: array<f32>;
#endif
@group(0) @binding(4) var<storage, read_write> y: array<f32>;
@group(0) @binding(5) var<storage, read_write> gates: array<f32>;
@group(0) @binding(6) var<storage, read_write> hprev: array<f32>;

override WG_X: u32;

#if VEC4
#else
// W_hh's row r times h_{t−1} (offset `prev` in y), summed over m in increasing order.
fn rowSum(r: u32, prev: u32) -> f32 {
  let H = params.hidden;
  var a = 0.0;
  for (var m = 0u; m < H; m++) {
    a += weightHh[r * H + m] * y[prev + m];
  }
  return a;
}
#endif

// W_hh's rows k·H + j (k = r, z, n) times h_{t−1} (offset `prev` in y; 0 at the first step), each
// summed over m in increasing order, plus b_hh's (variant BIAS). Variant VEC4 (H a multiple of 4)
// reads the rows and h_{t−1} four words at a time, adding the products one by one in that order
// (the same sums, to the bit, as the scalar loop; faster on lavapipe, as lstm_forward_step's).
fn hiddenSums(j: u32, prev: u32, first: bool) -> vec3f {
  let H = params.hidden;
  var s = vec3f(0.0);
  if (!first) {
#if VEC4
    for (var q = 0u; q < H / 4u; q++) {
      let m = prev + 4u * q;
      let h = vec4f(y[m], y[m + 1u], y[m + 2u], y[m + 3u]);
      for (var k = 0u; k < 3u; k++) {
        let w = weightHh[(k * H + j) * (H / 4u) + q];
        var a = s[k];
        a += w.x * h.x;
        a += w.y * h.y;
        a += w.z * h.z;
        a += w.w * h.w;
        s[k] = a;
      }
    }
#else
    s = vec3f(rowSum(j, prev), rowSum(H + j, prev), rowSum(2u * H + j, prev));
#endif
  }
#if BIAS
  for (var k = 0u; k < 3u; k++) {
    s[k] += biasHh[k * H + j];
  }
#endif
  return s;
}

@compute @workgroup_size(WG_X)
fn gru_forward_step(@builtin(global_invocation_id) gid3: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let gid = linearInvocation(gid3, nwg);
  let H = params.hidden;
  if (gid.x >= params.batch * H) { return; }
  let b = gid.x / H;
  let j = gid.x % H;
  let t = params.step;
  let row = b * params.seqLen + t;
  let reverse = params.reverse != 0u;
  let first = select(t == 0u, t + 1u == params.seqLen, reverse);
  // The previous step's row (this row itself at the first step, unread there).
  let prevRow = select(select(row - 1u, row + 1u, reverse), row, first);
  let prev = (prevRow * params.directions + params.reverse) * H;
  let inputAt = row * 3u * H + j;
  let hs = hiddenSums(j, prev, first);
  let r = sigmoid(gx[inputAt] + hs[0]);
  let z = sigmoid(gx[inputAt + H] + hs[1]);
  let hn = hs[2];
  let n = tanhAccurate(gx[inputAt + 2u * H] + r * hn);
  var hPrev = 0.0;
  if (!first) {
    hPrev = y[prev + j];
  }
  let gateAt = row * 4u * H + j;
  gates[gateAt] = r;
  gates[gateAt + H] = z;
  gates[gateAt + 2u * H] = n;
  gates[gateAt + 3u * H] = hn;
  hprev[row * H + j] = hPrev;
  y[(row * params.directions + params.reverse) * H + j] = (1.0 - z) * n + z * hPrev;
}
