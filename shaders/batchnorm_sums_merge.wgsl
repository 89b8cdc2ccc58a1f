// batchnorm_sums_merge: the per-channel sums of the BatchNorm2d backward pass from the partial
// sums batchnorm_backward_reduce wrote with groups > 1; overwrites dgamma and dbeta:
//   dbeta[c] = Σ_g partialBeta[c·groups + g],  dgamma[c] = Σ_g partialGamma[c·groups + g],
// g = 0, 1, … in order (the same bits in every run). One invocation a channel.

struct Params {
  channels: u32,
  groups: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> partialGamma: array<f32>;
@group(0) @binding(2) var<storage, read> partialBeta: array<f32>;
@group(0) @binding(3) var<storage, read_write> dgamma: array<f32>;
@group(0) @binding(4) var<storage, read_write> dbeta: array<f32>;

override WG_X: u32;

@compute @workgroup_size(WG_X)
fn batchnorm_sums_merge(@builtin(global_invocation_id) gid: vec3u) {
  let c = gid.x;
  if (c >= params.channels) { return; }
  var sumGamma = 0.0;
  var sumBeta = 0.0;
  for (var g = 0u; g < params.groups; g++) {
    sumGamma += partialGamma[c * params.groups + g];
    sumBeta += partialBeta[c * params.groups + g];
  }
  dgamma[c] = sumGamma;
  dbeta[c] = sumBeta;
}
