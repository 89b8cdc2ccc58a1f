/**
 * The one skeleton of the convolution GEMMs: conv2d_forward and conv2d_backward_input are both
 *
 *   out[b, o, Y, X] = Σ_c Σ_taps in[b, c, row(Y, tap), col(X, tap)] · W[c, tap, o]
 *
 * (forward: in = x, out = y, o = output channel, c = input channel; input gradient: in = dy,
 * out = dx, o = input channel, c = output channel, the kernel flipped). This file generates that
 * kernel body for a tile shape and a kernel geometry; shaders/conv2d_forward.wgsl and
 * shaders/conv2d_backward_input.wgsl declare the bindings and call it.
 *
 * An invocation owns ROWS output rows × 4 output columns × CHANNELS output channels of one image
 * (grid x: blocks of the output, grid y: channel tiles). Its sums are named locals (a{r}_{k}, a
 * vec4f of 4 columns), so they stay in registers: the generator unrolls everything but the loop
 * over c, the reduction channel. Per c it loads each input value the block's taps meet once (0
 * outside the image), reads the tile's weights as vec4s from the packed uniform array (with
 * W_SHARED, 8 vec4s gathered at once and shared by subgroupBroadcast: lavapipe gathers a uniform
 * load at any index that is not a constant, even one every invocation shares, docs/speed-log.md,
 * eighth sitting), and adds each tap's product onto its sum in tap order (fma chains). Sum order
 * per output: c ascending, then the taps in `tapOrder` (forward: ky, kx ascending; input
 * gradient: ky ascending, kx descending), the same order as the float64 reference's loops follow,
 * one fma at a time.
 *
 * Measured on lavapipe (Mesa 25.0.7, convblock2 of the seed CNN, batch 128): reading the weights
 * from a uniform array instead of staged workgroup memory or storage buffers, with the taps of a
 * channel unrolled, takes the forward from 65 ms to 32 ms, bit-identical.
 *
 * Vectors (variants IN_VEC4/IN_VEC2 and OUT_VEC4/OUT_VEC2, chosen by the layer's widths:
 * convVectors in src/kernels/conv2d.ts): with stride 1 and an input width a multiple of N (4 or 2),
 * the block's input columns of a row are read as whole vecN loads (every row and plane then
 * starts on a vecN: the binding is read as array<vecNf>), and with an output width a multiple of
 * N the sums are stored as vecNs. The body holds every variant in `#if` blocks, resolved with the
 * declaration's when the kernel is compiled. The same values reach the same sums in the same
 * order, so the results are the scalar kernel's bits. On lavapipe a storage access whose address
 * differs between invocations costs a bounds-checked scalar access per invocation and component,
 * and a vector access shares that per-invocation work over its components: convblock2's forward
 * (input 26 wide: vec2 loads, vec4 stores) went 44–46 → 37–40 ms, its input gradient (dy 24 wide:
 * vec4 loads, vec2 stores) 46–63 → 39–47 ms, each variant alternated with the scalar kernel in one
 * run (batch 128; the step-level figures are in docs/speed-log.md, from `npm run bench:profile`).
 *
 * Where the time goes (lavapipe, convblock2 at batch 128, timed alone, alternated in one run;
 * docs/speed-log.md, seventh and eighth sittings): with its input loads replaced by values the
 * compiler cannot fold (one per position, computed from the index), the forward takes 23.3–23.6
 * ms against 26.8–27.9 with the vec2 loads, and 23.4–24.0 with the inputs read as scalars from a
 * uniform array (timing only: a 64 KiB window). So the loads are about an eighth of its time;
 * the rest is the multiply-adds themselves at about half the FMA probe's rate (340 M of them:
 * 12.1 ms at the chains probe's 56 GFLOP/s): a tile's 64 vec4 sums, 36 inputs and 36 vec4
 * weights per input channel are far more than the CPU's vector registers, so most operands must
 * come from the stack. The order of the fma
 * statements does not change it (tap-major single fmas: the same time). The sixth sitting's
 * 14–15 ms without loads is not reproduced by this experiment. In the generated code (eighth
 * sitting) a channel's iteration is about 7,400 instructions for a SIMD vector of 8 invocations,
 * 4,608 of them the multiplies and adds (lavapipe has no fused multiply-add); loops of this
 * shape without loads run their arithmetic about a third slower with 64 vec4 sums than with 8–32.
 *
 * Geometry (kernel size, stride, padding) is baked into the generated text; the sizes, channel
 * counts and the packed row length stay parameters, so layers of one geometry and tile share a
 * pipeline (lavapipe JIT-compiles each pipeline at its first dispatch: seconds the first time on
 * a machine). The input gradient with stride > 1 tests every tap's divisibility per pixel (it
 * loads each (row, tap) pair on its own): correct for any stride, fast only for stride 1.
 */

/** Which GEMM: the forward convolution or its input gradient. */
export type ConvDirection = 'forward' | 'input';

/** A register tile: ROWS output rows × 4 columns × CHANNELS output channels per invocation. */
export interface ConvTile {
  readonly rows: number;
  /** A multiple of 4. */
  readonly channels: number;
  /** Invocations per workgroup (along x). */
  readonly workgroup: number;
  /**
   * The forward's whole-row tile for a first layer (src/kernels/conv-flat.ts): `rows` whole output
   * rows × `channels` channels an invocation, stored as vec4s along the flattened rows.
   */
  readonly flat?: boolean;
  /**
   * The whole output row an invocation, not 4 columns (src/kernels/conv-wide.ts: the plane's sizes
   * baked in; stride 1, no max-pool epilogue). Absent (and not flat): 4 columns.
   */
  readonly wide?: boolean;
  /**
   * The input gradient of a 1×1, stride-1, unpadded layer on conv2d_backward_input_pointwise
   * (src/kernels/conv2d.ts, pointwiseInputTile): an invocation owns a quad of pixels and all the
   * slice's input channels (`channels`, the layer's rounded up to a multiple of 4; `rows` 1), not
   * this skeleton's block. The same sums in the same order, so the same bits.
   */
  readonly pointwise?: boolean;
  /**
   * The input gradient at stride 1 on a plane whose rows or columns are not whole blocks (the seed
   * CNN's convblock2: dx 26 × 26 in blocks of 4 × 4 covers 28 × 28): this tile on the plane's whole
   * blocks only, and the rows and columns left over on row-wide kernels generated for them
   * (conv-wide.ts with a region: the last rows across the plane, the last columns beside the
   * blocks), each its own dispatch, so that no lane computes past the plane. The same sums in the
   * same order, so the 4-column tile's bits (see conv2dEdgeParts in src/kernels/conv2d.ts).
   */
  readonly edges?: boolean;
}

export interface ConvGeometry {
  readonly kernelH: number;
  readonly kernelW: number;
  readonly stride: number;
  readonly padding: number;
}

export interface ConvTileSourceOptions extends ConvGeometry {
  readonly direction: ConvDirection;
  readonly tile: ConvTile;
  /** Apply the ReLU as the sums are stored (forward only): reluBits, max(·, 0) keeping a NaN (shaders/lib/relu.wgsl). */
  readonly relu?: boolean;
  /**
   * Store the 2×2 max pool of the sums instead of the sums (forward only, an even number of
   * rows a tile; variant POOL declares the argmax binding): see poolEpilogue.
   */
  readonly pool?: boolean;
  /**
   * Cover only the plane's whole blocks: ⌊rows / ROWS⌋ blocks of rows × ⌊columns / 4⌋ of columns
   * (ConvTile.edges: its other kernels take the rest), not the blocks rounded up.
   */
  readonly wholeBlocks?: boolean;
}

/** A vector width of the tile's storage accesses: 1 (scalars), 2 (vec2f) or 4 (vec4f). */
export type VectorWidth = 1 | 2 | 4;

/**
 * How the tile reads its input and writes its output: `input` consecutive input columns a load
 * (needs stride 1 and an input width that is a multiple of it), `output` consecutive output
 * columns a store (an output width that is a multiple of it).
 */
export interface ConvVectors {
  readonly input: VectorWidth;
  readonly output: VectorWidth;
}

/**
 * The variants (`#if` names) of the generated body and the kernels' declarations: the input read
 * as vec4s or vec2s, the output written as vec4s or vec2s (none set: scalars); W_SHARED, the
 * weights shared in subgroups; STATS (forward only), the partial moments of the stored output
 * per channel for a batch norm after it (see convTileSource); POOL (forward only, with the
 * generator's `pool`), the argmax binding of the max-pool epilogue (see poolEpilogue); BIAS
 * (forward only), the layer's bias added to the sums before any other epilogue (see biasEpilogue);
 * RELU_MASK (input gradient only), the ReLU before the layer: dx stored only where the layer's
 * input (that ReLU's output, binding reluOut, read like dx) is not ≤ 0 (positive or NaN, as
 * PyTorch's threshold_backward passes it: reluPasses), else 0 — relu_backward's select, so its
 * bits, without its pass.
 */
export const CONV_VARIANTS = ['IN_VEC4', 'IN_VEC2', 'OUT_VEC4', 'OUT_VEC2', 'W_SHARED', 'STATS', 'POOL', 'BIAS', 'RELU_MASK', 'NORM_MASK'] as const;
export type ConvVariant = (typeof CONV_VARIANTS)[number];

/**
 * The variant flags for a choice of vectors, and (W_SHARED) whether the weights are shared in
 * subgroups of 8: see convTileSource.
 */
export function convVariantFlags(v: ConvVectors, sharedWeights = false, stats = false, pool = false, bias = false, reluMask = false, normMask = false): Record<ConvVariant, boolean> {
  return { IN_VEC4: v.input === 4, IN_VEC2: v.input === 2, OUT_VEC4: v.output === 4, OUT_VEC2: v.output === 2, W_SHARED: sharedWeights, STATS: stats, POOL: pool, BIAS: bias, RELU_MASK: reluMask, NORM_MASK: normMask };
}

/** Invocations of a subgroup that share the weights in variant W_SHARED. */
export const SHARED_SUBGROUP = 8;

/** Lines for each vector width, as one `#if` block over the variants `${prefix}_VEC4`, `${prefix}_VEC2`. */
function byWidth(prefix: 'IN' | 'OUT', lines: (width: VectorWidth) => string[]): string[] {
  return [`#if ${prefix}_VEC4`, ...lines(4), `#elif ${prefix}_VEC2`, ...lines(2), '#else', ...lines(1), '#endif'];
}

/** The packed weight array's declared vec4s: a whole uniform binding (64 KiB). */
export const WEIGHT_VEC4S = 4096;

/** Taps per fma chain (one statement). */
const CHAIN = 16;

/** The most unrolled multiply-adds (vec4 sums × taps) a tile may generate: keeps compile time bounded. */
export const MAX_TILE_TAPS = 576;

export function checkTile(tile: ConvTile, taps: number): void {
  const { rows, channels, workgroup } = tile;
  if (!Number.isInteger(rows) || rows < 1 || rows > 16) throw new Error(`conv tile: rows ${rows} must be a whole number in 1..16`);
  if (!Number.isInteger(channels) || channels < 4 || channels % 4 !== 0 || channels > 64) throw new Error(`conv tile: channels ${channels} must be a multiple of 4 in 4..64`);
  if (!Number.isInteger(workgroup) || workgroup < 1 || workgroup > 256) throw new Error(`conv tile: workgroup ${workgroup} must be a whole number in 1..256`);
  if (rows * channels * taps > MAX_TILE_TAPS) {
    throw new Error(`conv tile: ${rows} rows × ${channels} channels × ${taps} taps = ${rows * channels * taps} unrolled products, more than ${MAX_TILE_TAPS}`);
  }
}

/** The taps (ky, kx) in summation order. */
export function tapOrder(direction: ConvDirection, kernelH: number, kernelW: number): [number, number][] {
  const taps: [number, number][] = [];
  for (let ky = 0; ky < kernelH; ky++) {
    for (let i = 0; i < kernelW; i++) taps.push([ky, direction === 'forward' ? i : kernelW - 1 - i]);
  }
  return taps;
}

/**
 * Where the input value of output row r (of the block) and tap row ky lies, as WGSL: the block's
 * first output row is `oy0`. Returns a key (equal keys: the same input row for every invocation)
 * and the row position and validity expressions.
 */
function rowSource(o: ConvTileSourceOptions, r: number, ky: number, axis: 'y' | 'x'): { key: string; at: string; valid?: string; shift?: number } {
  const { stride, padding } = o;
  const start = axis === 'y' ? 'oy0' : 'ox0';
  if (o.direction === 'forward') {
    // in = out·stride − padding + tap
    const d = r * stride + ky;
    return { key: String(d), at: `i32(${start}) * ${stride} - ${padding} + ${d}`, shift: stride === 1 ? d - padding : undefined };
  }
  if (stride === 1) {
    // in = out + padding − tap
    const d = r - ky;
    return { key: String(d), at: `i32(${start}) + ${padding} + ${d}`, shift: padding + d };
  }
  // in = (out + padding − tap) / stride where divisible
  const num = `(i32(${start}) + ${r + padding - ky})`;
  return { key: `${r}_${ky}`, at: `${num} / ${stride}`, valid: `${num} >= 0 && ${num} % ${stride} == 0` };
}

/** The WGSL of `fn convTile(gx: u32, gy: u32)` and its constants, for one variant. */
export function convTileSource(o: ConvTileSourceOptions): string {
  const { direction, tile } = o;
  const { rows: R, channels: K } = tile;
  const taps = tapOrder(direction, o.kernelH, o.kernelW);
  checkTile(tile, taps.length);
  const forward = direction === 'forward';
  if (o.pool && !forward) throw new Error('conv tile: the max-pool epilogue is a forward option');
  if (o.pool && R % 2 !== 0) throw new Error(`conv tile: the max-pool epilogue needs an even number of rows a tile, not ${R}`);
  // Vector loads read consecutive input columns: stride 1 only (other strides have no vector-load
  // variants, so binding one fails to compile).
  const vectorLoads = o.stride === 1;
  const input = forward ? 'x' : 'dy';
  const output = forward ? 'y' : 'dx';
  const [inC, inH, inW, outC, outH, outW] = forward
    ? ['params.inChannels', 'params.height', 'params.width', 'params.outChannels', 'params.outHeight', 'params.outWidth']
    : ['params.outChannels', 'params.outHeight', 'params.outWidth', 'params.inChannels', 'params.height', 'params.width'];
  const L: string[] = [];
  L.push(`// Generated by src/kernels/conv-tile.ts: ${direction}, ${o.kernelH}×${o.kernelW} kernel, stride ${o.stride}, padding ${o.padding}, tile ${R} rows × 4 columns × ${K} channels${o.relu ? ', ReLU epilogue' : ''}${o.pool ? ', 2×2 max-pool epilogue' : ''}${o.wholeBlocks ? ', whole blocks only' : ''}.`);
  // The packed weights are declared at the full 64 KiB, so that one pipeline serves every layer
  // of a geometry and tile (a packed row's length is the parameter rowVec4s).
  L.push(`const WEIGHT_VEC4S = ${WEIGHT_VEC4S}u;`);
  L.push(`const ROWS = ${R}u;`);
  L.push(`const CHANNELS = ${K}u;`);
  L.push('');
  L.push('fn convTile(gx: u32, gy: u32, lane: u32, subgroupSize: u32) {');
  L.push(o.wholeBlocks ? `  let quads = ${outW} / 4u;` : `  let quads = (${outW} + 3u) / 4u;`);
  L.push(o.wholeBlocks ? `  let blockRows = ${outH} / ROWS;` : `  let blockRows = (${outH} + ROWS - 1u) / ROWS;`);
  L.push('  let blocks = params.batch * blockRows * quads;');
  L.push('  let blk = min(gx, blocks - 1u);');
  L.push('  let b = blk / (blockRows * quads);');
  L.push('  let oy0 = (blk / quads) % blockRows * ROWS;');
  L.push('  let ox0 = blk % quads * 4u;');
  L.push(`  let inH = i32(${inH});`);
  L.push(`  let inW = i32(${inW});`);
  L.push(`  let plane = ${inH} * ${inW};`);
  L.push(`  let wTile = gy * ${K / 4}u;`);
  // Input rows and columns the block meets, each once: position, validity, clamped offset.
  // (ry, rv, ro: a row's position, validity and offset; cx, cv, co: a column's.)
  const rowLines: string[] = [];
  const colLines: string[] = [];
  /** Per column index: its position relative to ox0 (stride 1). */
  const colShift: number[] = [];
  const positions = (axis: 'y' | 'x') => {
    const keys = new Map<string, number>();
    const [at, valid, offset, limit, lines] = axis === 'y' ? ['ry', 'rv', 'ro', 'inH', rowLines] : ['cx', 'cv', 'co', 'inW', colLines];
    return (index: number, k: number) => {
      const s = rowSource(o, index, k, axis);
      let i = keys.get(s.key);
      if (i === undefined) {
        i = keys.size;
        keys.set(s.key, i);
        if (axis === 'x' && s.shift !== undefined) colShift[i] = s.shift;
        lines.push(`  let ${at}${i} = ${s.at};`);
        lines.push(`  let ${valid}${i} = ${s.valid ? `${s.valid} && ` : ''}${at}${i} >= 0 && ${at}${i} < ${limit};`);
        lines.push(`  let ${offset}${i} = u32(clamp(${at}${i}, 0, ${limit} - 1))${axis === 'y' ? ' * u32(inW)' : ''};`);
      }
      return i;
    };
  };
  const rowOf = positions('y');
  const colOf = positions('x');
  // For each (r, tap): the 4 columns' input (row index, col indices).
  const uses = new Map<string, [number, number]>();
  const plan: { row: number[]; cols: number[][] }[] = [];
  for (let r = 0; r < R; r++) {
    const row: number[] = [];
    const cols: number[][] = [];
    for (const [ky, kx] of taps) {
      const ri = rowOf(r, ky);
      row.push(ri);
      const c4: number[] = [];
      for (let j = 0; j < 4; j++) {
        const ci = colOf(j, kx);
        c4.push(ci);
        uses.set(`${ri}_${ci}`, [ri, ci]);
      }
      cols.push(c4);
    }
    plan.push({ row, cols });
  }
  L.push(...rowLines);
  // Vector loads (variants IN_VEC4, IN_VEC2): column ci (at ox0 + shift) is component
  // shift − N·g of the vecN at ox0 + N·g, g = ⌊shift / N⌋. With the input width a multiple of N, a
  // vecN lies wholly inside a row or wholly outside it, and every row and plane starts on one (ox0
  // is a multiple of 4).
  const group = (ci: number, N: number) => Math.floor(colShift[ci]! / N);
  const groupName = (g: number) => (g < 0 ? `m${-g}` : `p${g}`);
  const columns = (N: VectorWidth) => {
    if (N === 1) return colLines;
    const lines: string[] = [];
    for (const g of new Set([...uses.values()].map(([, ci]) => group(ci, N)))) {
      const n = groupName(g);
      lines.push(`  let gx${n} = i32(ox0) + ${N * g};`);
      lines.push(`  let gv${n} = gx${n} >= 0 && gx${n} < inW;`);
      lines.push(`  let go${n} = u32(clamp(gx${n}, 0, inW - ${N}));`);
    }
    return lines;
  };
  // A load's value; with NORM_MASK (forward only), the batch norm and dropout before the layer applied to it (normMask{N}).
  const loaded = (N: VectorWidth, at: string) => {
    const raw = `${input}[${N === 1 ? at : `(${at}) / ${N}u`}]`;
    return forward ? ['#if NORM_MASK', `normMask${N}(${raw}, ${at}, norm)`, '#else', raw, '#endif'] : [raw];
  };
  const loadLine = (N: VectorWidth, name: string, at: string, valid: string) => {
    const v = loaded(N, at);
    const line = (value: string) => `    let ${name} = select(${N === 1 ? '0.0' : `vec${N}f(0.0)`}, ${value}, ${valid});`;
    return v.length === 1 ? [line(v[0]!)] : [v[0]!, line(v[1]!), v[2]!, line(v[3]!), v[4]!];
  };
  const loads = (N: VectorWidth) => {
    if (N === 1) return [...uses].flatMap(([key, [ri, ci]]) => loadLine(1, `v${key}`, `base + ro${ri} + co${ci}`, `rv${ri} && cv${ci}`));
    const lines: string[] = [];
    const vecs = new Map<string, [number, number]>();
    for (const [ri, ci] of uses.values()) vecs.set(`${ri}_${groupName(group(ci, N))}`, [ri, group(ci, N)]);
    for (const [key, [ri, g]] of vecs) {
      const n = groupName(g);
      lines.push(...loadLine(N, `u${key}`, `base + ro${ri} + go${n}`, `rv${ri} && gv${n}`));
    }
    for (const [key, [ri, ci]] of uses) lines.push(`    let v${key} = u${ri}_${groupName(group(ci, N))}.${'xyzw'[colShift[ci]! - N * group(ci, N)]};`);
    return lines;
  };
  L.push(...(vectorLoads ? byWidth('IN', columns) : columns(1)));
  for (let r = 0; r < R; r++) for (let k = 0; k < K; k++) L.push(`  var a${r}_${k} = vec4f(0.0);`);
  L.push(`  for (var c = 0u; c < ${inC}; c++) {`);
  L.push(`    let base = (b * ${inC} + c) * plane;`);
  L.push(`    let wRow = c * ${taps.length}u;`);
  if (forward) L.push('#if NORM_MASK', '    let norm = affine[c];', '#endif');
  L.push(...(vectorLoads ? byWidth('IN', loads) : loads(1)));
  // The tile's weights of channel c: vec4 i = t·K/4 + q is taps t's channels 4q .. 4q + 3. Without
  // W_SHARED each is read at an address every invocation shares (a uniform load, which lavapipe
  // still gathers lane by lane); with it, in a subgroup of 8, invocation l reads vec4s l, l + 8, …
  // and every invocation takes vec4 i from invocation i % 8 (subgroupBroadcast): one gather of the
  // 8 invocations' own addresses and a register permute instead of a gather each.
  L.push(...weightLoads(taps.length, K));
  for (let k = 0; k < K; k++) {
    const q = Math.floor(k / 4);
    const e = 'xyzw'[k % 4];
    for (let r = 0; r < R; r++) {
      // fma chains of at most CHAIN taps a statement (WGSL parsers limit nesting depth).
      for (let t0 = 0; t0 < taps.length; t0 += CHAIN) {
        let sum = `a${r}_${k}`;
        for (let t = t0; t < Math.min(taps.length, t0 + CHAIN); t++) {
          const ri = plan[r]!.row[t]!;
          const cs = plan[r]!.cols[t]!;
          sum = `fma(vec4f(${cs.map((ci) => `v${ri}_${ci}`).join(', ')}), vec4f(w${t}_${q}.${e}), ${sum})`;
        }
        L.push(`    a${r}_${k} = ${sum};`);
      }
    }
  }
  L.push('  }');
  if (forward) L.push(...biasEpilogue(R, K), ...statsEpilogue(o, R, K));
  L.push('  if (gx >= blocks) { return; }');
  if (o.pool) L.push(...poolEpilogue(o, R, K));
  else {
    L.push(`  let outArea = ${outH} * ${outW};`);
    L.push('  let oBase = params.channelBase + gy * CHANNELS;');
    L.push('  let oEnd = params.channelBase + params.channelCount;');
    for (let r = 0; r < R; r++) {
      for (let k = 0; k < K; k++) {
        L.push(`  if (oBase + ${k}u < oEnd && oy0 + ${r}u < ${outH}) {`);
        L.push(`    let at = (b * ${outC} + oBase + ${k}u) * outArea + (oy0 + ${r}u) * ${outW} + ox0;`);
        // With the output width a multiple of the store's width, `at` is a multiple of it, and a
        // vec4 store's columns are all inside the row, a vec2 store's .xy too.
        const sum = o.relu ? `reluBits4(a${r}_${k})` : `a${r}_${k}`;
        // A store; in the input gradient's RELU_MASK, of the value where the ReLU's output there is not ≤ 0 (reluPasses).
        const store = (target: string, value: string, zero: string) =>
          forward
            ? [`    ${output}[${target}] = ${value};`]
            : ['#if RELU_MASK', `    ${output}[${target}] = select(${zero}, ${value}, reluPasses${zero.startsWith('vec') ? zero[3] : ''}(reluOut[${target}]));`, '#else', `    ${output}[${target}] = ${value};`, '#endif'];
        L.push(...byWidth('OUT', (N) => {
          if (N === 4) return store('at / 4u', sum, 'vec4f(0.0)');
          if (N === 2) return [`    let s = ${sum};`, ...store('at / 2u', 's.xy', 'vec2f(0.0)'), `    if (ox0 + 2u < ${outW}) {`, ...store('at / 2u + 1u', 's.zw', 'vec2f(0.0)'), '    }'];
          const value = o.relu ? `reluBits(a${r}_${k}[j])` : `a${r}_${k}[j]`;
          return [`    for (var j = 0u; j < 4u; j++) { if (ox0 + j < ${outW}) {`, ...store('at + j', value, '0.0'), '    } }'];
        }));
        L.push('  }');
      }
    }
  }
  L.push('}');
  if (o.pool) L.push(POOL_FUNCTIONS);
  if (forward) L.push(SUBGROUP_MOMENTS, NORM_MASK_FUNCTIONS);
  return L.join('\n');
}

/**
 * The tile's weights of channel c (the body of the loop over c): vec4 w{t}_{q} is tap t's channels
 * 4q .. 4q + 3 of the tile. Without W_SHARED each is read at an address every invocation shares (a
 * uniform load, which lavapipe still gathers lane by lane); with it, in a subgroup of 8,
 * invocation l reads vec4s l, l + 8, … and every invocation takes vec4 i from invocation i % 8
 * (subgroupBroadcast): one gather of the 8 invocations' own addresses and a register permute
 * instead of a gather each.
 */
export function weightLoads(tapCount: number, K: number): string[] {
  const Q4 = K / 4;
  const count = tapCount * Q4;
  const direct = (indent: string, decl: string) => {
    const lines: string[] = [];
    for (let t = 0; t < tapCount; t++) {
      for (let q = 0; q < Q4; q++) lines.push(`${indent}${decl}w${t}_${q} = weight[(wRow + ${t}u) * params.rowVec4s + wTile + ${q}u];`);
    }
    return lines;
  };
  const shared: string[] = [];
  for (let t = 0; t < tapCount; t++) for (let q = 0; q < Q4; q++) shared.push(`    var w${t}_${q}: vec4f;`);
  // Only where the workgroup is whole subgroups of 8, so that all 8 invocations are there.
  shared.push(`    if (subgroupSize == ${SHARED_SUBGROUP}u && WG_X % ${SHARED_SUBGROUP}u == 0u) {`);
  for (let j = 0; j * SHARED_SUBGROUP < count; j++) {
    shared.push(`      let i${j} = min(lane + ${j * SHARED_SUBGROUP}u, ${count - 1}u);`);
    shared.push(`      let m${j} = weight[(wRow + i${j} / ${Q4}u) * params.rowVec4s + wTile + i${j} % ${Q4}u];`);
  }
  for (let t = 0; t < tapCount; t++) {
    for (let q = 0; q < Q4; q++) {
      const i = t * Q4 + q;
      shared.push(`      w${t}_${q} = subgroupBroadcast(m${Math.floor(i / SHARED_SUBGROUP)}, ${i % SHARED_SUBGROUP}u);`);
    }
  }
  shared.push('    } else {', ...direct('      ', ''), '    }');
  return ['#if W_SHARED', ...shared, '#else', ...direct('    ', 'let '), '#endif'];
}

/**
 * Variant BIAS of the forward (a Conv2d with bias): bias[channel] added to each of the tile's sums
 * once the loop has summed them, before the ReLU, the statistics, the max pool or the store: the
 * same f32 addition as bias_add's after the bias-free kernel, so the same bits, without that pass
 * over the output. A tile channel past the slice's last reads the last one's bias (its sums are
 * never stored).
 */
function biasEpilogue(R: number, K: number): string[] {
  const L: string[] = ['#if BIAS', '  {', '    let biasBase = params.channelBase + gy * CHANNELS;', '    let biasLast = params.channelBase + params.channelCount - 1u;'];
  for (let k = 0; k < K; k++) {
    L.push(`    let bias${k} = vec4f(bias[min(biasBase + ${k}u, biasLast)]);`);
    for (let r = 0; r < R; r++) L.push(`    a${r}_${k} = a${r}_${k} + bias${k};`);
  }
  L.push('  }', '#endif');
  return L;
}

/**
 * The forward's max-pool epilogue (generator option `pool`, fusion rule maxpool-epilogue): for
 * MaxPool2d(2, stride 2, floor mode) after the conv, each 2×2 window of the tile's sums (after
 * the ReLU epilogue, if any) is reduced as maxpool2x2_forward reduces it (top-left, top-right,
 * bottom-left, bottom-right; a later value replaces the maximum only if greater, or if NaN) and
 * stored in y [batch, outChannels, outHeight / 2, outWidth / 2], with argmax (the flat index into
 * the conv's output [batch, outChannels, outHeight, outWidth] that the value came from): the same
 * values and argmax as the conv and then the pool, without the conv's output. A tile's rows are
 * even and its 4 columns start at a multiple of 4, so its windows are whole: rows r, r + 1 and
 * columns 0–1, 2–3. A window past the output's last whole pair of rows or columns is dropped
 * (floor mode).
 */
function poolEpilogue(o: ConvTileSourceOptions, R: number, K: number): string[] {
  const [outC, outH, outW] = ['params.outChannels', 'params.outHeight', 'params.outWidth'];
  const L: string[] = [];
  L.push(`  let poolH = ${outH} / 2u;`);
  L.push(`  let poolW = ${outW} / 2u;`);
  L.push('  let oBase = params.channelBase + gy * CHANNELS;');
  L.push('  let oEnd = params.channelBase + params.channelCount;');
  for (let r = 0; r < R; r += 2) {
    for (let k = 0; k < K; k++) {
      const v = (row: number) => (o.relu ? `reluBits4(a${row}_${k})` : `a${row}_${k}`);
      L.push(`  if (oBase + ${k}u < oEnd && oy0 + ${r + 1}u < ${outH}) {`);
      L.push(`    let plane = b * ${outC} + oBase + ${k}u;`);
      L.push(`    let top = (plane * ${outH} + oy0 + ${r}u) * ${outW} + ox0;`);
      L.push(`    let at = (plane * poolH + (oy0 + ${r}u) / 2u) * poolW + ox0 / 2u;`);
      L.push(`    let t = ${v(r)};`);
      L.push(`    let u = ${v(r + 1)};`);
      L.push(`    if (ox0 + 1u < ${outW}) {`);
      L.push(`      let w0 = poolWindow(vec4f(t.x, t.y, u.x, u.y), top, ${outW});`);
      L.push(`      y[at] = w0.value;`);
      L.push(`      argmax[at] = w0.index;`);
      L.push('    }');
      L.push(`    if (ox0 + 3u < ${outW}) {`);
      L.push(`      let w1 = poolWindow(vec4f(t.z, t.w, u.z, u.w), top + 2u, ${outW});`);
      L.push(`      y[at + 1u] = w1.value;`);
      L.push(`      argmax[at + 1u] = w1.index;`);
      L.push('    }');
      L.push('  }');
    }
  }
  return L;
}

/** The max-pool epilogue's window: its four values in scan order, its top-left's flat index. */
const POOL_FUNCTIONS = [
  'struct PoolWindow { value: f32, index: u32 }',
  '',
  'fn poolWindow(v: vec4f, topLeft: u32, width: u32) -> PoolWindow {',
  '  var best = PoolWindow(v.x, topLeft);',
  '  let at = vec3u(topLeft + 1u, topLeft + width, topLeft + width + 1u);',
  '  for (var k = 0u; k < 3u; k++) {',
  '    let value = v[k + 1u];',
  '    if (value > best.value || (bitcast<u32>(value) & 0x7fffffffu) > 0x7f800000u) { best = PoolWindow(value, at[k]); }',
  '  }',
  '  return best;',
  '}',
].join('\n');

/**
 * Variant STATS of the forward (the fusion rule batchnorm-stats-epilogue): per channel, the
 * moments (count, mean, M2: shaders/lib/moments.wgsl) of the values the invocation stores (after
 * the ReLU epilogue), written as partial moments [channel, slot, 3] for batchnorm_stats_merge,
 * so that the batch norm after the conv need not read its input for its statistics. Mean first,
 * then M2 = Σ (v − mean)² over the block's elements inside the output (an invocation past the
 * last block: none, count 0). With W_SHARED (subgroups of 8, which the host enables only where
 * the adapter's subgroups are 8 invocations and the workgroup whole subgroups), the 8
 * invocations' moments are merged with subgroupShuffleXor (distance 1, 2, 4, each invocation
 * its own moments first) and slot gx / 8 is written by the first of the 8, whose sum is
 * ((0 1)(2 3))((4 5)(6 7)) in that order: the invocations that feed it were the lower of their
 * pairs at every level before, so the other invocations' differently rounded sums never reach
 * it. This takes consecutive invocations to be a subgroup, as the shuffles of
 * conv2d_backward_weight's DY_SHARED do. Without W_SHARED, each invocation writes slot gx.
 * (convStatsSlots in src/kernels/conv2d.ts gives the slots per channel.)
 */
function statsEpilogue(o: ConvTileSourceOptions, R: number, K: number): string[] {
  const [outH, outW] = ['params.outHeight', 'params.outWidth'];
  const L: string[] = ['#if STATS'];
  L.push(`  let statRows = select(0u, min(ROWS, ${outH} - oy0), gx < blocks);`);
  L.push(`  let statCols = min(4u, ${outW} - ox0);`);
  L.push('  let statCount = statRows * statCols;');
  L.push('  let statInRow = vec4u(0u, 1u, 2u, 3u) < vec4u(statCols);');
  for (let r = 0; r < R; r++) L.push(`  let statIn${r} = statInRow & vec4<bool>(${r}u < statRows);`);
  L.push('#if W_SHARED', `  let statSlot = gx / ${SHARED_SUBGROUP}u;`, `  let statWriter = (lane & ${SHARED_SUBGROUP - 1}u) == 0u;`, '#else', '  let statSlot = gx;', '  let statWriter = true;', '#endif');
  for (let k = 0; k < K; k++) {
    const v = (r: number) => (o.relu ? `reluBits4(a${r}_${k})` : `a${r}_${k}`);
    L.push('  {');
    for (let r = 0; r < R; r++) L.push(`    let q${r} = select(vec4f(0.0), ${v(r)}, statIn${r});`);
    const sum = Array.from({ length: R }, (_, r) => `((q${r}.x + q${r}.y) + (q${r}.z + q${r}.w))`).join(' + ');
    L.push(`    let mean = (${sum}) / f32(max(statCount, 1u));`);
    for (let r = 0; r < R; r++) L.push(`    let d${r} = select(vec4f(0.0), q${r} - mean, statIn${r});`);
    L.push(`    var m = Moments(statCount, mean, ${Array.from({ length: R }, (_, r) => `dot(d${r}, d${r})`).join(' + ')});`);
    L.push('#if W_SHARED', '    m = subgroupMoments(m);', '#endif');
    L.push(`    if (statWriter && params.channelBase + gy * CHANNELS + ${k}u < params.channelBase + params.channelCount) {`);
    L.push(`      let at = ((params.channelBase + gy * CHANNELS + ${k}u) * params.statsSlots + statSlot) * 3u;`);
    L.push('      moments[at] = f32(m.n);', '      moments[at + 1u] = m.mean;', '      moments[at + 2u] = m.m2;');
    L.push('    }', '  }');
  }
  L.push('#endif');
  return L;
}

/**
 * The subgroup merge of STATS (see statsEpilogue), a function of the generated body: merges the
 * moments of SHARED_SUBGROUP (8) consecutive invocations in a fixed order.
 */
export const SUBGROUP_MOMENTS = [
  '#if STATS',
  '#if W_SHARED',
  'fn subgroupMoments(mine: Moments) -> Moments {',
  '  var m = mine;',
  `  for (var distance = 1u; distance < ${SHARED_SUBGROUP}u; distance *= 2u) {`,
  '    m = mergeMoments(m, Moments(subgroupShuffleXor(m.n, distance), subgroupShuffleXor(m.mean, distance), subgroupShuffleXor(m.m2, distance)));',
  '  }',
  '  return m;',
  '}',
  '#endif',
  '#endif',
].join('\n');

/**
 * Variant NORM_MASK of the forward (for a fusion of a batch norm and dropout into the 1×1 conv after
 * them; no plan rule uses it yet): the layer's
 * input x is a training BatchNorm2d's input, and what the layer convolves is that batch norm's
 * output after the Dropout that follows it, computed as each value is loaded:
 * ((x − mean)·factor + shift) · (kept ? scale : 0), with affine[c] = (mean, factor = invStd·gamma,
 * shift = beta, scale) as batchnorm_dropout_forward's MASK_ONLY pass writes them and the kept bit
 * of the element's flat index in dropMask: batchnorm_dropout_forward's expressions on the same
 * values, so the same bits as its stored output, which is then never written. `at` is the
 * load's first element (a multiple of N: whole vecNs along a row).
 */
export const NORM_MASK_FUNCTIONS = [
  '#if NORM_MASK',
  'fn normMask4(v: vec4f, at: u32, a: vec4f) -> vec4f {',
  '  return ((v - a.x) * a.y + a.z) * maskQuad(dropMask[at / 32u] >> (at % 32u), a.w);',
  '}',
  '',
  'fn normMask2(v: vec2f, at: u32, a: vec4f) -> vec2f {',
  '  return ((v - a.x) * a.y + a.z) * maskQuad(dropMask[at / 32u] >> (at % 32u), a.w).xy;',
  '}',
  '',
  'fn normMask1(v: f32, at: u32, a: vec4f) -> f32 {',
  '  return ((v - a.x) * a.y + a.z) * maskAt(dropMask[at / 32u], at % 32u, a.w);',
  '}',
  '#endif',
].join('\n');
