// The attention kernels' parameters and index splits (attention_scores, attention_values,
// attention_backward_values, attention_backward_scores, attention_backward_qk; one declaration
// of the parameters for the five: src/kernels/attention.ts). Layout: qkv [batch, seqLen, 3·embed]
// (q, k, v from 0, embed, 2·embed); probs [batch, heads, seqLen, seqLen]; head h holds features
// h·d … h·d + d − 1, d = embed / heads. The kernels guard their own bounds.

struct Params {
  batch: u32,
  seqLen: u32,
  embed: u32,
  heads: u32,
  causal: u32,
  scale: f32,
}

// qkvAt's parts.
const QUERY = 0u;
const KEY = 1u;
const VALUE = 2u;

// A query row (b, h, i) of probs: the invocation x = (b·heads + h)·seqLen + i.
struct QueryRow {
  b: u32,
  h: u32,
  i: u32,
}

fn queryRowOf(x: u32) -> QueryRow {
  let L = params.seqLen;
  return QueryRow(x / (L * params.heads), (x / L) % params.heads, x % L);
}

// An element (b, t, e) of a [batch, seqLen, embed] tensor, and its head h: the invocation
// x = (b·seqLen + t)·embed + e.
struct Element {
  b: u32,
  t: u32,
  e: u32,
  h: u32,
}

fn elementOf(x: u32) -> Element {
  let E = params.embed;
  let e = x % E;
  return Element(x / (E * params.seqLen), (x / E) % params.seqLen, e, e / (E / params.heads));
}

// The offset in qkv of token t's QUERY, KEY or VALUE part in sample b (its feature 0).
fn qkvAt(b: u32, t: u32, part: u32) -> u32 {
  return (b * params.seqLen + t) * 3u * params.embed + part * params.embed;
}

// The offset in probs of head h's [seqLen, seqLen] plane in sample b.
fn probsPlaneAt(b: u32, h: u32) -> u32 {
  return (b * params.heads + h) * params.seqLen * params.seqLen;
}

// The keys query i sees: j < keyEnd(i) (i + 1 when causal, else every key).
fn keyEnd(i: u32) -> u32 {
  return select(params.seqLen, i + 1u, params.causal != 0u);
}

// The queries that see key j: i ≥ queryStart(j) (j when causal, else every query).
fn queryStart(j: u32) -> u32 {
  return select(0u, j, params.causal != 0u);
}

// The row kernels' invocations (attention_scores, attention_values and the backward three): a
// plane's rows padded to whole subgroups of 8, rowSlots() = seqLen rounded up to 8, so that
// invocations 8g … 8g + 7 (a subgroup of 8 where the SUBGROUP variant runs) share one plane (b, h)
// and one chunk of features, rows r0 … r0 + 7. Invocation x = ((b·heads + h)·chunks + chunk)·rowSlots() + r;
// chunk c holds the head's features 4·CHUNK_VEC4S·c … (the kernels that accumulate a row of features;
// 1 chunk for the others). A row r ≥ seqLen takes part in the subgroup's loads but writes nothing.
const CHUNK_VEC4S = 4u;

fn rowSlots() -> u32 {
  return (params.seqLen + 7u) / 8u * 8u;
}

struct PlaneRow {
  b: u32,
  h: u32,
  chunk: u32,
  r: u32,
  // The subgroup's first row (r rounded down to 8).
  first: u32,
}

fn planeRowOf(x: u32, chunks: u32) -> PlaneRow {
  let slots = rowSlots();
  let r = x % slots;
  let plane = x / slots / chunks;
  return PlaneRow(plane / params.heads, plane % params.heads, x / slots % chunks, r, r / 8u * 8u);
}

// The feature chunks of a head of HEAD_DIM features (HEAD_VEC4S vec4s; the kernel's generated constants).
fn featureChunks() -> u32 {
  return (HEAD_VEC4S + CHUNK_VEC4S - 1u) / CHUNK_VEC4S;
}

// dot + a · b over features 4t … 4t + 3 (below HEAD_DIM), in increasing order (the scores' q · k, the scores gradient's dO · v).
fn dotStep(dot: f32, a: vec4f, b: vec4f, t: u32) -> f32 {
  var sum = dot;
  for (var c = 0u; c < 4u; c++) {
    if (4u * t + c < HEAD_DIM) { sum += a[c] * b[c]; }
  }
  return sum;
}
