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
