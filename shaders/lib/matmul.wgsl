// matmul: the register-tiled skeleton of the dense kernels (dense_forward, dense_backward_input,
// dense_backward_weight). C[m, n] = Σ_k A(m, k) · B(k, n) for an m × n output C, row-major and
// contiguous (C(m, n) at m·n_total + n); A(m, k) at m·aM + k·aK and B(k, n) at k·bK + n·bN, read
// through the kernel's loadA / loadB, C written through its storeC. One invocation computes a
// tile of TM × TN outputs (TM, TN: generated constants, src/kernels/dense.ts): per k it loads TM
// values of A and TN of B and makes TM·TN products. Invocation t takes the tile at rows
// TM·(t / ⌈n/TN⌉), columns TN·(t mod ⌈n/TN⌉). Each output is summed over k in increasing order,
// fma(a, b, sum), whatever the tile: every tile gives the same bits. Rows and columns past the
// edges load clamped addresses and are not stored.
// Variant ROW_SUMS (a kernel that declares it): each row of A summed over k too, Σ_k A(m, k) in
// increasing order, by the invocations of the first column of tiles (which load those values
// anyway: TM adds per k), and stored through the kernel's storeRowSum (dense_backward_weight: the
// bias's gradient, Σ_b dy[b, o]).

struct MatmulShape {
  m: u32,
  n: u32,
  k: u32,
  aM: u32,
  aK: u32,
  bK: u32,
  bN: u32,
}

fn matmulTile(t: u32, s: MatmulShape) {
  let tilesN = (s.n + TN - 1u) / TN;
  let m0 = t / tilesN * TM;
  let n0 = t % tilesN * TN;
  if (m0 >= s.m) { return; }
  var rowAt: array<u32, TM>;
  var colAt: array<u32, TN>;
  for (var i = 0u; i < TM; i++) { rowAt[i] = min(m0 + i, s.m - 1u) * s.aM; }
  for (var j = 0u; j < TN; j++) { colAt[j] = min(n0 + j, s.n - 1u) * s.bN; }
  var acc: array<array<f32, TN>, TM>;
#if ROW_SUMS
  var rowSum: array<f32, TM>;
#endif
  for (var k = 0u; k < s.k; k++) {
    var a: array<f32, TM>;
    var b: array<f32, TN>;
    for (var i = 0u; i < TM; i++) { a[i] = loadA(rowAt[i] + k * s.aK); }
    for (var j = 0u; j < TN; j++) { b[j] = loadB(k * s.bK + colAt[j]); }
#if ROW_SUMS
    for (var i = 0u; i < TM; i++) { rowSum[i] += a[i]; }
#endif
    for (var i = 0u; i < TM; i++) {
      for (var j = 0u; j < TN; j++) {
        acc[i][j] = fma(a[i], b[j], acc[i][j]);
      }
    }
  }
  for (var i = 0u; i < TM; i++) {
    for (var j = 0u; j < TN; j++) {
      if (m0 + i < s.m && n0 + j < s.n) { storeC((m0 + i) * s.n + n0 + j, acc[i][j]); }
    }
  }
#if ROW_SUMS
  if (n0 == 0u) {
    for (var i = 0u; i < TM; i++) {
      if (m0 + i < s.m) { storeRowSum(m0 + i, rowSum[i]); }
    }
  }
#endif
}
