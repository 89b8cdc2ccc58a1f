// linear: the invocation index of a kernel declared `linear` (a 1-D grid). A grid longer than the
// device's workgroups per dimension (65,535) is dispatched folded into 2-D, and the index unfolds
// here: gid.x = gid3.x + gid3.y · (workgroups in x · WG_X); y and z are 0.
fn linearInvocation(gid3: vec3u, nwg: vec3u) -> vec3u {
  return vec3u(gid3.x + gid3.y * nwg.x * WG_X, 0u, 0u);
}
