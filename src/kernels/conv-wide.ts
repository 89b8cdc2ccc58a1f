/**
 * The row-wide tile of the convolution GEMMs (a ConvTile with `wide`): the same kernel as
 * conv-tile.ts's skeleton (the same bindings, variants, weights and summation order), but an
 * invocation owns ROWS output rows × the whole output row × CHANNELS channels of one image, for
 * the small planes where 4-column tiles waste lanes: a 6-wide row in tiles of 4 columns computes
 * 8 (convblock6–7 of the seed CNN), a 10-wide one 12 (convblock4's forward, convblock5's input
 * gradient). A row's sums are pieces of 4 columns (vec4f) and a narrower last piece (vec2f for 6
 * and 10, f32 or vec3f for other widths), so no lane is spent past the row's end.
 *
 * The widths are baked into the text (each layer its own pipeline), so every column's validity is
 * known when the kernel is generated: a column in the padding is the constant 0, and a product
 * whose piece lies wholly in the padding is not generated. Where the tile holds the whole plane
 * (ROWS = the output's rows) the rows are baked too, and so are their validity: an input row in the
 * padding is neither loaded nor multiplied (the input gradient's full convolution at convblock5:
 * 24 of its 30 row taps are inside). Skipping a product of 0 keeps the bits: the sums start at
 * +0.0 and `a + 0·w` is `a` for a finite weight and any sum that is not −0.0, which a sum started
 * at +0.0 never is (round to nearest gives −0.0 only for −0.0 + −0.0). The other products are the
 * skeleton's, in its order (c ascending, then `tapOrder`, one fma each), so the stored values are
 * the 4-column tiles' bits; the STATS epilogue's partial moments are per invocation as there, over
 * other blocks of elements (as any other tile's are).
 *
 * Stride 1 only (the vector loads and the column arithmetic assume it); no POOL epilogue.
 */
import { SHARED_SUBGROUP, SUBGROUP_MOMENTS, WEIGHT_VEC4S, checkTile, tapOrder, weightLoads, type ConvTileSourceOptions, type VectorWidth } from './conv-tile.js';

/** Taps per fma chain (one statement), as the skeleton's. */
const CHAIN = 16;

/** The widths and heights a row-wide tile bakes in: the produced plane's and its input's. */
export interface WidePlane {
  /** Output rows and columns (forward: the conv's output; input gradient: dx). */
  readonly outH: number;
  readonly outW: number;
  /** Input rows and columns (forward: x; input gradient: dy). */
  readonly inH: number;
  readonly inW: number;
}

/** A row's pieces: [first column, width] of 4 columns each, the last one narrower where the row is not a multiple of 4. */
export function widePieces(width: number): [number, number][] {
  const pieces: [number, number][] = [];
  for (let j = 0; j < width; j += 4) pieces.push([j, Math.min(4, width - j)]);
  return pieces;
}

/**
 * A part of the produced plane that a generated tile covers (the edge kernels of ConvTile.edges,
 * src/kernels/conv2d.ts): rows row0 .. row0 + rowCount − 1 in blocks of the tile's rows, and in
 * each row only the columns of `pieces` ([first column, width], each at most 4 wide). Without a
 * region, a row-wide tile covers the whole plane, every row in widePieces.
 */
export interface WideRegion {
  readonly row0: number;
  readonly rowCount: number;
  readonly pieces: readonly (readonly [number, number])[];
}

/** The vec4-equivalents of a row-wide tile's sums × taps: what checkTile's budget bounds. */
export function wideProducts(rows: number, channels: number, width: number, taps: number): number {
  return Math.ceil((rows * channels * width * taps) / 4);
}

const vecType = (n: number) => (n === 1 ? 'f32' : `vec${n}f`);
const comp = 'xyzw';

/**
 * The WGSL of `fn convTile(gx: u32, gy: u32)` for a row-wide tile (ConvTile.wide), one plane's
 * sizes baked in; with `region`, the tile covers only that part of the plane (an invocation per
 * block of the region's rows; where one block holds all of them, their positions are baked as
 * the whole plane's are).
 */
export function convWideSource(o: ConvTileSourceOptions, plane: WidePlane, region?: WideRegion): string {
  return wideSource(o, plane, region).text;
}

/** The vec4-equivalents of the products a row-wide tile's text holds per reduced channel (those wholly in the padding are not generated): what a region's budget bounds. */
export function wideGeneratedProducts(o: ConvTileSourceOptions, plane: WidePlane, region?: WideRegion): number {
  return wideSource(o, plane, region).products;
}

function wideSource(o: ConvTileSourceOptions, plane: WidePlane, region: WideRegion | undefined): { text: string; products: number } {
  const { direction, tile } = o;
  const { rows: R, channels: K } = tile;
  const taps = tapOrder(direction, o.kernelH, o.kernelW);
  checkTile({ ...tile, rows: 1, channels: 4 }, taps.length);
  if (o.stride !== 1) throw new Error(`conv tile: a row-wide tile needs stride 1, not ${o.stride}`);
  if (o.pool) throw new Error('conv tile: a row-wide tile has no max-pool epilogue');
  if (region && direction === 'forward') throw new Error("conv tile: a region of the plane is the input gradient's (the forward's statistics count whole rows)");
  const rowCount = region?.rowCount ?? plane.outH;
  if (R > rowCount) throw new Error(`conv tile: ${R} rows a tile, more than the ${region ? "region's" : "plane's"} ${rowCount}`);
  const forward = direction === 'forward';
  const input = forward ? 'x' : 'dy';
  const output = forward ? 'y' : 'dx';
  const [inC, outC] = forward ? ['params.inChannels', 'params.outChannels'] : ['params.outChannels', 'params.inChannels'];
  const { outH, outW, inH, inW } = plane;
  const whole = R === rowCount;
  const row0 = region?.row0 ?? 0;
  const pieces = region?.pieces ?? widePieces(outW);
  // Input position of output position `at` (row or column) at tap index `k` (ky or kx), stride 1.
  const source = (at: number, k: number) => (forward ? at - o.padding + k : at + o.padding - k);
  const L: string[] = [];
  const covers = region ? ` (rows ${row0}..${row0 + rowCount - 1}, columns ${pieces.map(([j, n]) => (n === 1 ? j : `${j}..${j + n - 1}`)).join(', ')})` : '';
  L.push(`// Generated by src/kernels/conv-wide.ts: ${direction}, ${o.kernelH}×${o.kernelW} kernel, stride 1, padding ${o.padding}, tile ${R} rows × ${region ? pieces.reduce((n, [, w]) => n + w, 0) : outW} columns (${inH}×${inW} → ${outH}×${outW}${covers}) × ${K} channels${o.relu ? ', ReLU epilogue' : ''}.`);
  L.push(`const WEIGHT_VEC4S = ${WEIGHT_VEC4S}u;`);
  L.push(`const ROWS = ${R}u;`);
  L.push(`const CHANNELS = ${K}u;`);
  L.push(`const OUT_H = ${outH}u;`);
  L.push(`const OUT_W = ${outW}u;`);
  L.push(`const IN_W = ${inW}u;`);
  L.push('');
  L.push('fn convTile(gx: u32, gy: u32, lane: u32, subgroupSize: u32) {');
  L.push(region ? `  let blockRows = ${Math.ceil(rowCount / R)}u;` : '  let blockRows = (OUT_H + ROWS - 1u) / ROWS;');
  L.push('  let blocks = params.batch * blockRows;');
  L.push('  let blk = min(gx, blocks - 1u);');
  L.push('  let b = blk / blockRows;');
  L.push(whole ? `  let oy0 = ${row0}u;` : `  let oy0 = ${row0 ? `${row0}u + ` : ''}blk % blockRows * ROWS;`);
  L.push(`  let plane = ${inH * inW}u;`);
  L.push(`  let wTile = gy * ${K / 4}u;`);
  // Input rows the block meets: by their offset d from oy0 (input row oy0 + d), each once. With the
  // whole plane, the rows in the padding are dropped here.
  const rowIndex = new Map<number, number>();
  const rowLines: string[] = [];
  const rowOf = (r: number, ky: number): number | undefined => {
    // With the rows baked (whole), d is the input row itself; else an offset from oy0.
    const d = source(r, ky) + (whole ? row0 : 0);
    if (whole && (d < 0 || d >= inH)) return undefined;
    let i = rowIndex.get(d);
    if (i === undefined) {
      i = rowIndex.size;
      rowIndex.set(d, i);
      if (whole) rowLines.push(`  let ro${i} = ${d * inW}u;`);
      else {
        rowLines.push(`  let ry${i} = i32(oy0) + ${d};`);
        rowLines.push(`  let rv${i} = ry${i} >= 0 && ry${i} < ${inH};`);
        rowLines.push(`  let ro${i} = u32(clamp(ry${i}, 0, ${inH - 1})) * IN_W;`);
      }
    }
    return i;
  };
  // Per (r, tap): the input row index (undefined: none), per piece the input columns (undefined: padding).
  const uses = new Map<number, Set<number>>();
  const plan: { row: number | undefined; cols: (number | undefined)[][] }[][] = [];
  for (let r = 0; r < R; r++) {
    plan.push(
      taps.map(([ky, kx]) => {
        const row = rowOf(r, ky);
        const cols = pieces.map(([j0, n]) =>
          Array.from({ length: n }, (_, l) => {
            const c = source(j0 + l, kx);
            return c >= 0 && c < inW ? c : undefined;
          }),
        );
        if (row !== undefined) for (const c of cols.flat()) if (c !== undefined) (uses.get(row) ?? uses.set(row, new Set()).get(row)!).add(c);
        return { row, cols };
      }),
    );
  }
  L.push(...rowLines);
  // The loads of channel c: per input row, its columns the taps meet, as scalars or in vecNs.
  const loads = (N: VectorWidth) => {
    const lines: string[] = [];
    for (const [ri, cols] of uses) {
      const at = (col: string) => `base + ro${ri} + ${col}`;
      const guard = (value: string, zero: string) => (whole ? value : `select(${zero}, ${value}, rv${ri})`);
      const sorted = [...cols].sort((a, b) => a - b);
      if (N === 1) {
        for (const c of sorted) lines.push(`    let v${ri}_${c} = ${guard(`${input}[${at(`${c}u`)}]`, '0.0')};`);
        continue;
      }
      for (const g of new Set(sorted.map((c) => Math.floor(c / N)))) lines.push(`    let u${ri}_${g} = ${guard(`${input}[(${at(`${N * g}u`)}) / ${N}u]`, `vec${N}f(0.0)`)};`);
      for (const c of sorted) lines.push(`    let v${ri}_${c} = u${ri}_${Math.floor(c / N)}.${comp[c % N]};`);
    }
    return lines;
  };
  const sum = (r: number, k: number, p: number) => `a${r}_${k}_${p}`;
  let products = 0;
  for (let r = 0; r < R; r++) for (let k = 0; k < K; k++) pieces.forEach(([, n], p) => L.push(`  var ${sum(r, k, p)} = ${vecType(n)}(0.0);`));
  L.push(`  for (var c = 0u; c < ${inC}; c++) {`);
  L.push(`    let base = (b * ${inC} + c) * plane;`);
  L.push(`    let wRow = c * ${taps.length}u;`);
  const vectorLoads = inW % 4 === 0 ? 4 : inW % 2 === 0 ? 2 : 1;
  // The IN_VEC variants the host binds (convVectors: the widest the width allows); the others are
  // never bound with this body, and fall back to scalars if they were.
  L.push(...byWidthIn((N) => loads(N <= vectorLoads && vectorLoads % N === 0 ? N : 1)));
  L.push(...weightLoads(taps.length, K));
  for (let k = 0; k < K; k++) {
    const q = Math.floor(k / 4);
    const e = comp[k % 4];
    for (let r = 0; r < R; r++) {
      pieces.forEach(([, n], p) => {
        const terms: string[] = [];
        taps.forEach((_, t) => {
          const { row, cols } = plan[r]![t]!;
          const cs = cols[p]!;
          if (row === undefined || cs.every((c) => c === undefined)) return;
          const values = cs.map((c) => (c === undefined ? '0.0' : `v${row}_${c}`));
          products += n / 4;
          terms.push(n === 1 ? `${values[0]}, w${t}_${q}.${e}` : `${vecType(n)}(${values.join(', ')}), ${vecType(n)}(w${t}_${q}.${e})`);
        });
        for (let t0 = 0; t0 < terms.length; t0 += CHAIN) {
          let s = sum(r, k, p);
          for (const term of terms.slice(t0, t0 + CHAIN)) s = `fma(${term}, ${s})`;
          L.push(`    ${sum(r, k, p)} = ${s};`);
        }
      });
    }
  }
  L.push('  }');
  const value = (r: number, k: number, p: number) => {
    const n = pieces[p]![1];
    // reluBits (shaders/lib/relu.wgsl) at the piece's width.
    if (!o.relu) return sum(r, k, p);
    if (n === 1 || n === 4) return `reluBits${n === 1 ? '' : 4}(${sum(r, k, p)})`;
    return `select(vec${n}f(0.0), ${sum(r, k, p)}, bitcast<vec${n}i>(${sum(r, k, p)}) > vec${n}i(-8388608))`;
  };
  if (forward) {
    // BIAS: the skeleton's biasEpilogue, a piece at a time.
    L.push('#if BIAS', '  {', '    let biasBase = params.channelBase + gy * CHANNELS;', '    let biasLast = params.channelBase + params.channelCount - 1u;');
    for (let k = 0; k < K; k++) {
      L.push(`    let bias${k} = bias[min(biasBase + ${k}u, biasLast)];`);
      for (let r = 0; r < R; r++) pieces.forEach(([, n], p) => L.push(`    ${sum(r, k, p)} = ${sum(r, k, p)} + ${vecType(n)}(bias${k});`));
    }
    L.push('  }', '#endif');
    L.push(...wideStats(R, K, pieces, value));
  }
  L.push('  if (gx >= blocks) { return; }');
  L.push('  let outArea = OUT_H * OUT_W;');
  L.push('  let oBase = params.channelBase + gy * CHANNELS;');
  L.push('  let oEnd = params.channelBase + params.channelCount;');
  const store = (target: string, v: string, n: number) => {
    const zero = `${vecType(n)}(0.0)`;
    return forward
      ? [`    ${output}[${target}] = ${v};`]
      : ['#if RELU_MASK', `    ${output}[${target}] = select(${zero}, ${v}, reluPasses${n === 1 ? '' : n}(reluOut[${target}]));`, '#else', `    ${output}[${target}] = ${v};`, '#endif'];
  };
  for (let r = 0; r < R; r++) {
    for (let k = 0; k < K; k++) {
      L.push(`  if (oBase + ${k}u < oEnd${whole ? '' : ` && oy0 + ${r}u < ${region ? `${row0 + rowCount}u` : 'OUT_H'}`}) {`);
      L.push(`    let at = (b * ${outC} + oBase + ${k}u) * outArea + (oy0 + ${r}u) * OUT_W;`);
      L.push(
        ...byWidthOut((N) => {
          const lines: string[] = [];
          pieces.forEach(([j0, n], p) => {
            const v = value(r, k, p);
            // Stores of N columns where the row is a multiple of N (the variant's requirement), else scalars.
            const w = outW % N === 0 ? N : 1;
            if (w === n) return lines.push(...store(`(at + ${j0}u) / ${w}u`, v, n));
            lines.push(`    let s${p} = ${v};`);
            for (let l = 0; l < n; l += w) {
              const part = w === 1 ? `s${p}${n === 1 ? '' : `.${comp[l]}`}` : `s${p}.${comp.slice(l, l + w)}`;
              lines.push(...store(`(at + ${j0 + l}u) / ${w}u`, part, w));
            }
            return lines.length;
          });
          return lines.map((line) => `  ${line}`);
        }),
      );
      L.push('  }');
    }
  }
  L.push('}');
  if (forward) L.push(SUBGROUP_MOMENTS);
  return { text: L.join('\n'), products };
}

function byWidthIn(lines: (width: VectorWidth) => string[]): string[] {
  return ['#if IN_VEC4', ...lines(4), '#elif IN_VEC2', ...lines(2), '#else', ...lines(1), '#endif'];
}

function byWidthOut(lines: (width: VectorWidth) => string[]): string[] {
  return ['#if OUT_VEC4', ...lines(4), '#elif OUT_VEC2', ...lines(2), '#else', ...lines(1), '#endif'];
}

/**
 * The STATS epilogue of a row-wide tile: the skeleton's statsEpilogue (mean first, then M2; merged
 * in subgroups of 8 with W_SHARED), over the invocation's rows inside the plane and whole rows.
 */
function wideStats(R: number, K: number, pieces: readonly (readonly [number, number])[], value: (r: number, k: number, p: number) => string): string[] {
  const L: string[] = ['#if STATS'];
  L.push('  let statRows = select(0u, min(ROWS, OUT_H - oy0), gx < blocks);');
  L.push('  let statCount = statRows * OUT_W;');
  L.push('#if W_SHARED', `  let statSlot = gx / ${SHARED_SUBGROUP}u;`, `  let statWriter = (lane & ${SHARED_SUBGROUP - 1}u) == 0u;`, '#else', '  let statSlot = gx;', '  let statWriter = true;', '#endif');
  const hsum = (v: string, n: number) => (n === 4 ? `((${v}.x + ${v}.y) + (${v}.z + ${v}.w))` : n === 3 ? `((${v}.x + ${v}.y) + ${v}.z)` : n === 2 ? `(${v}.x + ${v}.y)` : v);
  const dot = (v: string, n: number) => (n === 1 ? `${v} * ${v}` : `dot(${v}, ${v})`);
  for (let k = 0; k < K; k++) {
    L.push('  {');
    for (let r = 0; r < R; r++) {
      L.push(`    let in${r} = ${r}u < statRows;`);
      pieces.forEach(([, n], p) => L.push(`    let q${r}_${p} = select(${vecType(n)}(0.0), ${value(r, k, p)}, in${r});`));
    }
    const terms = Array.from({ length: R }, (_, r) => pieces.map(([, n], p) => hsum(`q${r}_${p}`, n)).join(' + '));
    L.push(`    let mean = (${terms.join(' + ')}) / f32(max(statCount, 1u));`);
    for (let r = 0; r < R; r++) pieces.forEach(([, n], p) => L.push(`    let d${r}_${p} = select(${vecType(n)}(0.0), q${r}_${p} - mean, in${r});`));
    L.push(`    var m = Moments(statCount, mean, ${Array.from({ length: R }, (_, r) => pieces.map(([, n], p) => dot(`d${r}_${p}`, n)).join(' + ')).join(' + ')});`);
    L.push('#if W_SHARED', '    m = subgroupMoments(m);', '#endif');
    L.push(`    if (statWriter && params.channelBase + gy * CHANNELS + ${k}u < params.channelBase + params.channelCount) {`);
    L.push(`      let at = ((params.channelBase + gy * CHANNELS + ${k}u) * params.statsSlots + statSlot) * 3u;`);
    L.push('      moments[at] = f32(m.n);', '      moments[at + 1u] = m.mean;', '      moments[at + 2u] = m.m2;');
    L.push('    }', '  }');
  }
  L.push('#endif');
  return L;
}
