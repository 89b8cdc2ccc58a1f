/**
 * The forward's whole-row tile (ConvTile.flat) for a first layer: few input channels (1–4: a
 * greyscale or colour image), stride 1, an input width that is a multiple of 4. An invocation owns
 * `rows` whole output rows of one image (a band) × `channels` output channels, and writes each
 * channel's band as vec4s along the flattened rows: the band's rows × outWidth elements are a
 * multiple of 4, and so are a plane's, so every vec4 lies inside the plane, and a vec4 may hold
 * the end of one row and the start of the next. The geometry and the spatial sizes are baked into
 * the generated text (which input value each of a vec4's four outputs reads is then a constant:
 * the band's input rows are loaded as whole vec4s once, and every operand is a component of one,
 * or 0 in the padding), so one pipeline serves the layers of one geometry and size.
 *
 * Each output is summed as the tiles of conv-tile.ts sum it — input channel, then ky, kx ascending,
 * one fma a term onto 0, the ReLU and the bias (variant BIAS) as there — so the output is theirs,
 * bit for bit. What it changes on lavapipe (the seed CNN's convblock1, 1 → 16 channels on 28 × 28,
 * output 26 × 26 at batch 128): the 4-column tiles of a 26-wide row compute 28 columns and store
 * them as vec2 pairs (26 is not a multiple of 4), and their row blocks of 4 or 8 compute 28 or 32
 * rows of 26; here nothing is computed that is not stored, and each store is a vec4 (a
 * bounds-checked access a lane, shared over 4 elements). Its STATS epilogue takes the moments of
 * a band (2 × 26 = 52 elements a channel; a tile's 16 or 32), so there are fewer to merge. The
 * tile's channels go four at a time in a loop, the four unrolled: with all 16 unrolled lavapipe's
 * first compile took 30 s. Alternated in one process, batch 128, with its ReLU and statistics:
 * 1.54 ms (min of 10) against 2.69 for the tuned 4 × 16 tile (docs/speed-log.md).
 */
import type { ConvTile } from './conv-tile.js';
import { SHARED_SUBGROUP, SUBGROUP_MOMENTS, WEIGHT_VEC4S } from './conv-tile.js';

/** The sizes a whole-row tile bakes in (a conv layer's parameters: conv2dParams). */
export interface FlatConvShape {
  readonly inChannels: number;
  readonly height: number;
  readonly width: number;
  readonly kernelH: number;
  readonly kernelW: number;
  readonly stride: number;
  readonly padding: number;
  readonly outHeight: number;
  readonly outWidth: number;
}

/** The most input channels a whole-row tile takes (its inputs are unrolled). */
export const FLAT_MAX_IN_CHANNELS = 4;

/**
 * The most unrolled products (vec4 outputs × 4 channels × input channels × taps) a whole-row tile
 * may generate: lavapipe's first compile (no shader cache) of convblock1's 2-row tile (468) took
 * 6.5 s, the 4-row one (936) 33 s, the tuned 4 × 16 tile of conv-tile.ts (576) 9.5 s.
 */
export const FLAT_MAX_PRODUCTS = 576;

/** Fma terms a statement (WGSL parsers limit nesting depth). */
const CHAIN = 16;

/** Why a whole-row tile cannot run a forward of shape `p`, or undefined. */
export function flatTileProblem(p: FlatConvShape, tile: ConvTile): string | undefined {
  const { rows: R, channels: K } = tile;
  if (!Number.isInteger(R) || R < 1 || !Number.isInteger(K) || K < 4 || K % 4 !== 0 || K > 64) return `rows ${R} and channels ${K}: rows a whole number, channels a multiple of 4 in 4..64`;
  if (p.stride !== 1) return `stride ${p.stride} (a whole-row tile needs stride 1)`;
  if (p.inChannels > FLAT_MAX_IN_CHANNELS) return `${p.inChannels} input channels (a whole-row tile takes at most ${FLAT_MAX_IN_CHANNELS})`;
  if (p.width % 4 !== 0) return `the input width ${p.width} is not a multiple of 4`;
  if ((p.outHeight * p.outWidth) % 4 !== 0) return `the output plane ${p.outHeight}×${p.outWidth} is not a multiple of 4 elements`;
  if ((R * p.outWidth) % 4 !== 0) return `${R} rows of ${p.outWidth} are not a multiple of 4 elements`;
  if (R > p.outHeight) return `${R} rows a band, more than the output's ${p.outHeight}`;
  // The tile's channels go four at a time (a loop): four are unrolled.
  const products = ((R * p.outWidth) / 4) * 4 * p.inChannels * p.kernelH * p.kernelW;
  if (products > FLAT_MAX_PRODUCTS) return `${products} unrolled products, more than ${FLAT_MAX_PRODUCTS}`;
  return undefined;
}

/** Bands of a whole-row tile: invocations per image along x. */
export const flatBands = (outHeight: number, rows: number) => Math.ceil(outHeight / rows);

/**
 * The WGSL of `fn convTile(gx, gy, lane, subgroupSize)` for a whole-row tile: the body that
 * shaders/conv2d_forward.wgsl calls, with its variants IN_VEC4 and OUT_VEC4 set (x and y bound as
 * vec4s), W_SHARED, STATS and BIAS as the tiles have them (no POOL).
 */
export function flatTileSource(o: FlatConvShape & { readonly tile: ConvTile; readonly relu?: boolean }): string {
  const { tile, inChannels: C, height: H, width: W, kernelH: KH, kernelW: KW, padding: P, outHeight: OH, outWidth: OW } = o;
  const problem = flatTileProblem(o, tile);
  if (problem) throw new Error(`conv whole-row tile: ${problem}`);
  const { rows: R, channels: K } = tile;
  const taps: [number, number][] = [];
  for (let ky = 0; ky < KH; ky++) for (let kx = 0; kx < KW; kx++) taps.push([ky, kx]);
  const inRows = R + KH - 1;
  const vecsPerRow = W / 4;
  const chunks = (R * OW) / 4;
  const Q4 = K / 4;
  const L: string[] = [];
  L.push(`// Generated by src/kernels/conv-flat.ts: forward, whole-row tile, ${C} input channels of ${H}×${W}, ${KH}×${KW} kernel, padding ${P}, ${R} output rows of ${OW} × ${K} channels${o.relu ? ', ReLU epilogue' : ''}.`);
  L.push(`const WEIGHT_VEC4S = ${WEIGHT_VEC4S}u;`);
  L.push(`const ROWS = ${R}u;`);
  L.push(`const CHANNELS = ${K}u;`);
  L.push('');
  L.push('fn convTile(gx: u32, gy: u32, lane: u32, subgroupSize: u32) {');
  L.push(`  let bands = ${flatBands(OH, R)}u;`);
  L.push('  let blocks = params.batch * bands;');
  L.push('  let blk = min(gx, blocks - 1u);');
  L.push('  let b = blk / bands;');
  L.push('  let oy0 = blk % bands * ROWS;');
  L.push(`  let wTile = gy * ${Q4}u;`);
  // The band's input rows, whole, per input channel: x{c}_{i}_{g} is vec4 g of input row oy0 − P + i.
  for (let i = 0; i < inRows; i++) {
    L.push(`  let ry${i} = i32(oy0) + ${i - P};`);
    L.push(`  let rv${i} = ry${i} >= 0 && ry${i} < ${H};`);
    L.push(`  let ro${i} = u32(clamp(ry${i}, 0, ${H - 1})) * ${W / 4}u;`);
  }
  for (let c = 0; c < C; c++) {
    L.push(`  let base${c} = (b * ${C}u + ${c}u) * ${(H * W) / 4}u;`);
    for (let i = 0; i < inRows; i++) {
      for (let g = 0; g < vecsPerRow; g++) L.push(`  let x${c}_${i}_${g} = select(vec4f(0.0), x[base${c} + ro${i} + ${g}u], rv${i});`);
    }
  }
  L.push('  let outArea = params.outHeight * params.outWidth;');
  L.push('  let oEnd = params.channelBase + params.channelCount;');
  // Elements of the band inside the output (none past the last block); a vec4 is wholly inside or outside.
  L.push(`  let bandElements = select(0u, min(ROWS, ${OH}u - oy0) * ${OW}u, gx < blocks);`);
  L.push('#if BIAS', '  let biasLast = params.channelBase + params.channelCount - 1u;', '#endif');
  L.push(
    '#if STATS',
    '#if W_SHARED',
    `  let slot = gx / ${SHARED_SUBGROUP}u;`,
    `  let writer = (lane & ${SHARED_SUBGROUP - 1}u) == 0u;`,
    '#else',
    '  let slot = gx;',
    '  let writer = true;',
    '#endif',
    '#endif',
  );
  // The tile's channels four at a time, a loop (the four unrolled): one copy of the products keeps
  // the shader quick to compile (lavapipe's first compile of all 16 channels unrolled took 30 s).
  L.push(`  for (var q = 0u; q < ${Q4}u; q++) {`);
  L.push('    let oBase = params.channelBase + gy * CHANNELS + 4u * q;');
  // The weights of the four channels: vec4 (c·taps + t)·rowVec4s + wTile + q is input channel c's
  // tap t for output channels 4q .. 4q + 3 of the tile (conv2dPackMap's layout), shared in
  // subgroups of 8 as the tiles share them (W_SHARED: lane l loads vec4s l, l + 8, …;
  // subgroupBroadcast hands them round).
  const count = C * taps.length;
  const at = (i: string) => `(${i}) * params.rowVec4s + wTile + q`;
  const shared: string[] = [];
  for (let i = 0; i < count; i++) shared.push(`    var w${i}: vec4f;`);
  shared.push(`    if (subgroupSize == ${SHARED_SUBGROUP}u && WG_X % ${SHARED_SUBGROUP}u == 0u) {`);
  for (let j = 0; j * SHARED_SUBGROUP < count; j++) shared.push(`      let m${j} = weight[${at(`min(lane + ${j * SHARED_SUBGROUP}u, ${count - 1}u)`)}];`);
  for (let i = 0; i < count; i++) shared.push(`      w${i} = subgroupBroadcast(m${Math.floor(i / SHARED_SUBGROUP)}, ${i % SHARED_SUBGROUP}u);`);
  shared.push('    } else {');
  for (let i = 0; i < count; i++) shared.push(`      w${i} = weight[${at(`${i}u`)}];`);
  shared.push('    }');
  const direct: string[] = [];
  for (let i = 0; i < count; i++) direct.push(`    let w${i} = weight[${at(`${i}u`)}];`);
  L.push('#if W_SHARED', ...shared, '#else', ...direct, '#endif');
  // The input that output element e of the band (row ⌊e / OW⌋, column e % OW) reads at tap (ky, kx) of channel c.
  const input = (c: number, e: number, ky: number, kx: number) => {
    const r = Math.floor(e / OW);
    const ix = (e % OW) - P + kx;
    if (ix < 0 || ix >= W) return '0.0';
    return `x${c}_${r + ky}_${Math.floor(ix / 4)}.${'xyzw'[ix % 4]}`;
  };
  for (let k = 0; k < 4; k++) {
    const e = 'xyzw'[k];
    L.push('    {');
    for (let n = 0; n < chunks; n++) {
      L.push(`      var s${n} = vec4f(0.0);`);
      const terms: string[] = [];
      for (let c = 0; c < C; c++) {
        for (let t = 0; t < taps.length; t++) {
          const [ky, kx] = taps[t]!;
          const v = [0, 1, 2, 3].map((j) => input(c, 4 * n + j, ky, kx));
          terms.push(`vec4f(${v.join(', ')}), vec4f(w${c * taps.length + t}.${e})`);
        }
      }
      for (let t0 = 0; t0 < terms.length; t0 += CHAIN) {
        let sum = `s${n}`;
        for (const term of terms.slice(t0, t0 + CHAIN)) sum = `fma(${term}, ${sum})`;
        L.push(`      s${n} = ${sum};`);
      }
      L.push('#if BIAS', `      s${n} = s${n} + vec4f(bias[min(oBase + ${k}u, biasLast)]);`, '#endif');
      if (o.relu) L.push(`      s${n} = reluBits4(s${n});`);
    }
    L.push(`      let stored = oBase + ${k}u < oEnd;`);
    L.push(`      let plane = ((b * params.outChannels + oBase + ${k}u) * outArea + oy0 * ${OW}u) / 4u;`);
    for (let n = 0; n < chunks; n++) L.push(`      if (stored && ${4 * n}u < bandElements) { y[plane + ${n}u] = s${n}; }`);
    // STATS: the band's moments of this channel (mean, then M2 about it), merged in subgroups as the tiles merge theirs.
    L.push('#if STATS');
    const inside = (n: number) => `${4 * n}u < bandElements`;
    L.push(`      let mean = (${Array.from({ length: chunks }, (_, n) => `select(0.0, (s${n}.x + s${n}.y) + (s${n}.z + s${n}.w), ${inside(n)})`).join(' + ')}) / f32(max(bandElements, 1u));`);
    for (let n = 0; n < chunks; n++) L.push(`      let d${n} = select(vec4f(0.0), s${n} - mean, ${inside(n)});`);
    L.push(`      var m = Moments(bandElements, mean, ${Array.from({ length: chunks }, (_, n) => `dot(d${n}, d${n})`).join(' + ')});`);
    L.push('#if W_SHARED', '      m = subgroupMoments(m);', '#endif');
    L.push('      if (writer && stored) {');
    L.push(`        let at = ((oBase + ${k}u) * params.statsSlots + slot) * 3u;`);
    L.push('        moments[at] = f32(m.n);', '        moments[at + 1u] = m.mean;', '        moments[at + 2u] = m.m2;');
    L.push('      }');
    L.push('#endif');
    L.push('    }');
  }
  L.push('  }');
  L.push('}');
  L.push(SUBGROUP_MOMENTS);
  return L.join('\n');
}
