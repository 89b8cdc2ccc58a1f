// The weight-gradient kernels' read of dy (conv2d_backward_weight, conv2d_backward_weight_pointwise:
// both declare params, dy and the variants DY_VEC4 / DY_VEC2 alike).

// dy of output channel oc at the quad (columns ox0 .. ox0 + 3 of the output row at dyRow within
// the image's first plane): 0 for a channel past the last and for columns past the row's end.
fn dyQuad(dyRow: u32, oc: u32, ox0: u32) -> vec4f {
  let at = dyRow + min(oc, params.outChannels - 1u) * params.outHeight * params.outWidth + ox0;
#if DY_VEC4
  return select(vec4f(0.0), dy[at / 4u], oc < params.outChannels);
#elif DY_VEC2
  // The second pair is past the row in the last quad of a row of 4k + 2.
  let more = ox0 + 2u < params.outWidth;
  let pairs = vec4f(dy[at / 2u], select(vec2f(0.0), dy[at / 2u + select(0u, 1u, more)], more));
  return select(vec4f(0.0), pairs, oc < params.outChannels);
#else
  var r: vec4f;
  for (var j = 0u; j < 4u; j++) {
    r[j] = select(0.0, dy[at + min(j, params.outWidth - 1u - ox0)], oc < params.outChannels && ox0 + j < params.outWidth);
  }
  return r;
#endif
}
