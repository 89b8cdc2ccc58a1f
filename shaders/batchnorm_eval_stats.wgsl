// batchnorm_eval_stats: eval-mode statistics of BatchNorm2d from the running statistics;
// overwrites stats: stats[0, c] = running_mean[c], stats[1, c] = 1/√(running_var[c] + eps).
// One invocation per channel.

struct Params {
  channels: u32,
  eps: f32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> runningMean: array<f32>;
@group(0) @binding(2) var<storage, read> runningVar: array<f32>;
@group(0) @binding(3) var<storage, read_write> stats: array<f32>;

override WG_X: u32;

@compute @workgroup_size(WG_X)
fn batchnorm_eval_stats(@builtin(global_invocation_id) gid: vec3u) {
  let c = gid.x;
  if (c >= params.channels) { return; }
  stats[c] = runningMean[c];
  stats[params.channels + c] = 1.0 / sqrt(runningVar[c] + params.eps);
}
