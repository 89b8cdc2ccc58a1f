/**
 * dense_forward, dense_backward_input, dense_backward_weight against the float64 reference, at
 * every tile the tuner may choose (each must give the default tile's bits: the sums run in the
 * same order whatever the tile); the forward's BIAS and RELU variants against the plain kernel
 * and bias_add after it, and the input gradient's RELU_MASK against the plain one and
 * relu_backward after it, bit for bit; the weight gradient's ROW_SUMS (the bias's gradient from
 * the same kernel) at every tile: the weights' bits unchanged, the bias's gradient the f32 sum over
 * the batch in increasing order, bit for bit, and within float64's tolerance.
 */
import { describe, expect } from 'vitest';
import { recordPass } from '../../src/gpu/context.js';
import { biasAdd } from '../../src/kernels/bias.js';
import { reluBackward } from '../../src/kernels/relu.js';
import { compileDense, defaultDenseTile, denseKernel, denseSubgroupFits, type DenseKernelName, type DenseTile } from '../../src/kernels/dense.js';
import { denseBackwardInputRef, denseBackwardWeightRef, denseForwardRef } from '../../src/reference/dense.js';
import { biasBackwardRef } from '../../src/reference/bias.js';
import { candidateDenseTiles } from '../../src/tune/tuner.js';
import { TOLERANCE, expectAllClose, f32, randomArray } from '../helpers/allclose.js';
import { gpuTest } from '../helpers/gpu.js';

// Batch 1, one feature, sizes that are not multiples of the workgroup (64) or of any tile, one
// above the workgroup, and an MLP's first layer at batch 128 (sums of 784 and of 128 terms).
const SHAPES = [
  [1, 1, 1],
  [1, 2, 2],
  [3, 5, 7],
  [7, 65, 3],
  [2, 130, 67],
  [9, 11, 13],
  [128, 784, 128],
  // Shapes the SUBGROUP tiles take (in and out multiples of 4): rows and columns past whole
  // subgroups and tiles, a batch that ends within the weight gradient's round of 4 (37, 9, 3).
  [3, 4, 4],
  [9, 12, 20],
  [37, 64, 12],
  [130, 28, 64],
] as const;

const KERNELS: readonly DenseKernelName[] = ['dense_forward', 'dense_backward_input', 'dense_backward_weight'];

describe('dense kernels', () => {
  for (const [batch, inFeatures, outFeatures] of SHAPES) {
    gpuTest(`batch ${batch}, in ${inFeatures}, out ${outFeatures}: every candidate tile`, async (ctx) => {
      const p = { batch, inFeatures, outFeatures };
      const x = f32(randomArray(batch * inFeatures, 11));
      const w = f32(randomArray(outFeatures * inFeatures, 12));
      const dy = f32(randomArray(batch * outFeatures, 13));
      const tx = ctx.tensor('x', [batch, inFeatures], { data: x });
      const tw = ctx.tensor('w', [outFeatures, inFeatures], { data: w });
      const tdy = ctx.tensor('dy', [batch, outFeatures], { data: dy });
      const expected = {
        dense_forward: denseForwardRef(x, w, batch, inFeatures, outFeatures),
        dense_backward_input: denseBackwardInputRef(dy, w, batch, inFeatures, outFeatures),
        dense_backward_weight: denseBackwardWeightRef(dy, x, batch, inFeatures, outFeatures),
      };
      // A float32 sum of k products is off by up to about ε·Σ|products| (2⁻²⁴ · k/4 for these
      // uniform inputs in [−1, 1]; 1.2e-5 is seen for k = 784). The base tolerances hold the
      // short sums (k ≤ 256); the long ones get twice that bound.
      const tolerance = (kernel: DenseKernelName) => {
        const base = kernel === 'dense_forward' ? TOLERANCE.forward : TOLERANCE.gradient;
        const k = kernel === 'dense_forward' ? inFeatures : kernel === 'dense_backward_input' ? outFeatures : batch;
        return k <= 256 ? base : { atol: Math.max(base.atol, 2 * 2 ** -24 * (k / 4)), rtol: base.rtol };
      };
      for (const kernel of KERNELS) {
        // The tuner's candidates (with the adapter's subgroups), and two workgroup sizes it does not try.
        const subgroups = ctx.adapter.subgroupSize;
        const d = defaultDenseTile(kernel, p, subgroups);
        const tiles: DenseTile[] = [...candidateDenseTiles(kernel, p, subgroups), { ...d, workgroup: 32 }, { ...d, workgroup: 256 }];
        expect(tiles.length, `${kernel}: candidates`).toBeGreaterThan(2);
        // On an adapter with subgroups of 8 (lavapipe) the shapes that fit them run the SUBGROUP tiles, the default among them.
        expect(tiles.some((t) => t.subgroup), `${kernel}: subgroup tiles`).toBe(denseSubgroupFits(kernel, p, subgroups));
        expect(d.subgroup === true, `${kernel}: the default a subgroup tile`).toBe(denseSubgroupFits(kernel, p, subgroups));
        let first: number[] | undefined;
        for (const tile of tiles) {
          const out = ctx.tensor('out', [expected[kernel].length]);
          ctx.fill(out, NaN);
          const bound =
            kernel === 'dense_forward'
              ? (await compileDense(ctx, kernel, tile)).bind({ x: tx, weight: tw, y: out }, p)
              : kernel === 'dense_backward_input'
                ? (await compileDense(ctx, kernel, tile)).bind({ dy: tdy, weight: tw, dx: out }, p)
                : (await compileDense(ctx, kernel, tile)).bind({ dy: tdy, x: tx, dweight: out }, p);
          ctx.submit('dense test', (e) => recordPass(e, 'dense test', [bound]));
          const got = await ctx.read(out);
          const label = `${kernel}, tile ${tile.rows}×${tile.cols} wg${tile.workgroup}${tile.subgroup ? ' subgroup' : ''}`;
          expectAllClose(label, got, expected[kernel], tolerance(kernel));
          if (first === undefined) first = Array.from(got);
          else expect(Array.from(got), `${label}: the default tile's bits`).toEqual(first);
        }
      }
    });
  }

  for (const [batch, inFeatures, outFeatures] of SHAPES) {
    gpuTest(`batch ${batch}, in ${inFeatures}, out ${outFeatures}: the forward's bias and ReLU epilogues, and the input gradient's ReLU mask, equal their separate passes bit for bit`, async (ctx) => {
      const p = { batch, inFeatures, outFeatures };
      const length = batch * outFeatures;
      const tx = ctx.tensor('x', [batch, inFeatures], { data: f32(randomArray(batch * inFeatures, 21)) });
      const tw = ctx.tensor('w', [outFeatures, inFeatures], { data: f32(randomArray(outFeatures * inFeatures, 22, -0.2, 0.2)) });
      // Biases as large as the sums, of both signs: the ReLU's decisions move with them.
      const tb = ctx.tensor('bias', [outFeatures], { data: f32(randomArray(outFeatures, 23, -1, 1)) });
      const d = defaultDenseTile('dense_forward', p);
      const subgroupTile: DenseTile = { rows: 8, cols: 4, workgroup: 64, subgroup: true };
      const fits = (kernel: DenseKernelName) => denseSubgroupFits(kernel, p, ctx.adapter.subgroupSize);
      for (const tile of [d, { rows: 2, cols: 3, workgroup: 32 }, ...(fits('dense_forward') ? [subgroupTile] : [])]) {
        for (const relu of [false, true]) {
          const [plain, want, got, reluOnly] = [ctx.tensor('plain', [length]), ctx.tensor('then bias_add', [length]), ctx.tensor('BIAS', [length]), ctx.tensor('RELU', [length])];
          for (const t of [want, got, reluOnly]) ctx.fill(t, NaN);
          const kernel = (defines: Record<string, boolean> = {}) => compileDense(ctx, 'dense_forward', tile, defines);
          const list = [
            (await kernel()).bind({ x: tx, weight: tw, y: plain }, p),
            (await kernel()).bind({ x: tx, weight: tw, y: want }, p),
            (await ctx.compile(biasAdd, { RELU: relu })).bind({ bias: tb, y: want }, { batch, channels: outFeatures, area: 1 }),
            (await kernel({ BIAS: true, RELU: relu })).bind({ x: tx, weight: tw, y: got, bias: tb }, p),
            (await kernel({ RELU: true })).bind({ x: tx, weight: tw, y: reluOnly }, p),
          ];
          ctx.submit('dense epilogue test', (e) => recordPass(e, 'dense epilogue test', list));
          const [gotPlain, gotWant, gotBias, gotRelu] = await ctx.readMany([plain, want, got, reluOnly]);
          const label = `tile ${tile.rows}×${tile.cols}${tile.subgroup ? ' subgroup' : ''}${relu ? ', ReLU' : ''}`;
          expect(Array.from(gotBias!), `${label}: BIAS against dense_forward then bias_add`).toEqual(Array.from(gotWant!));
          expect(Array.from(gotRelu!), `${label}: RELU without a bias`).toEqual(Array.from(gotPlain!, (v) => Math.max(v, 0)));
          if (length >= 6) expect(Array.from(gotBias!).some((v, i) => v !== (relu ? Math.max(gotPlain![i]!, 0) : gotPlain![i]!)), `${label}: the bias changed the output`).toBe(true);
        }
        // The input gradient's RELU_MASK (a ReLU before the layer: x is its output, a third of it
        // exactly 0, some of it negative) against the plain input gradient, then relu_backward.
        const inputs = batch * inFeatures;
        const tdy = ctx.tensor('dy', [length], { data: f32(randomArray(length, 24)) });
        const reluOut = ctx.tensor('relu output', [inputs], { data: f32(Array.from(randomArray(inputs, 25, -0.5, 1), (v, i) => (i % 3 === 0 ? 0 : v))) });
        const [plainDx, wantDx, gotDx] = [ctx.tensor('dx', [inputs]), ctx.tensor('dx, then relu_backward', [inputs]), ctx.tensor('dx (RELU_MASK)', [inputs])];
        ctx.fill(gotDx, NaN);
        // (A subgroup tile only where the input gradient takes it too: its outFeatures a multiple of 4 as well.)
        if (tile.subgroup && !fits('dense_backward_input')) continue;
        const backward = (defines: Record<string, boolean> = {}) => compileDense(ctx, 'dense_backward_input', tile, defines);
        const list = [
          (await backward()).bind({ dy: tdy, weight: tw, dx: plainDx }, p),
          (await ctx.compile(reluBackward)).bind({ dy: plainDx, y: reluOut, dx: wantDx }, { length: inputs }),
          (await backward({ RELU_MASK: true })).bind({ dy: tdy, weight: tw, dx: gotDx, reluOut }, p),
        ];
        ctx.submit('dense relu mask test', (e) => recordPass(e, 'dense relu mask test', list));
        const [got, want] = await ctx.readMany([gotDx, wantDx]);
        expect(Array.from(got!), `tile ${tile.rows}×${tile.cols}: RELU_MASK against dense_backward_input then relu_backward`).toEqual(Array.from(want!));
        if (inputs >= 3) expect(Array.from(want!).filter((v) => v === 0).length, 'the mask blocks some gradient').toBeGreaterThan(0);
      }
    });
  }

  for (const [batch, inFeatures, outFeatures] of SHAPES) {
    gpuTest(`batch ${batch}, in ${inFeatures}, out ${outFeatures}: the weight gradient's ROW_SUMS is the bias's gradient, every tile`, async (ctx) => {
      const p = { batch, inFeatures, outFeatures };
      const dy = f32(randomArray(batch * outFeatures, 31));
      const tx = ctx.tensor('x', [batch, inFeatures], { data: f32(randomArray(batch * inFeatures, 32)) });
      const tdy = ctx.tensor('dy', [batch, outFeatures], { data: dy });
      // The kernel's order: dbias[o] = (((0 + dy[0, o]) + dy[1, o]) + …) in f32.
      const sequential = new Float32Array(outFeatures);
      for (let o = 0; o < outFeatures; o++) {
        let sum = 0;
        for (let b = 0; b < batch; b++) sum = Math.fround(sum + dy[b * outFeatures + o]!);
        sequential[o] = sum;
      }
      const d = defaultDenseTile('dense_backward_weight', p, ctx.adapter.subgroupSize);
      for (const tile of [...candidateDenseTiles('dense_backward_weight', p, ctx.adapter.subgroupSize), { ...d, workgroup: 32 }, { rows: 3, cols: 5, workgroup: 64 }]) {
        const kernel = (defines: Record<string, boolean> = {}) => compileDense(ctx, 'dense_backward_weight', tile, defines);
        const [plain, dweight, dbias] = [ctx.tensor('dW', [outFeatures * inFeatures]), ctx.tensor('dW (ROW_SUMS)', [outFeatures * inFeatures]), ctx.tensor('dbias', [outFeatures])];
        for (const t of [plain, dweight, dbias]) ctx.fill(t, NaN);
        const list = [
          (await kernel()).bind({ dy: tdy, x: tx, dweight: plain }, p),
          (await kernel({ ROW_SUMS: true })).bind({ dy: tdy, x: tx, dweight, dbias }, p),
        ];
        ctx.submit('dense bias gradient test', (e) => recordPass(e, 'dense bias gradient test', list));
        const [gotPlain, gotWeight, gotBias] = await ctx.readMany([plain, dweight, dbias]);
        const label = `tile ${tile.rows}×${tile.cols} wg${tile.workgroup}${tile.subgroup ? ' subgroup' : ''}`;
        expect(Array.from(gotWeight!), `${label}: the weights' gradient as without ROW_SUMS`).toEqual(Array.from(gotPlain!));
        expect(Array.from(gotBias!), `${label}: the bias's gradient, summed over the batch in order`).toEqual(Array.from(sequential));
        expectAllClose(`${label}: the bias's gradient against float64`, gotBias!, biasBackwardRef(dy, batch, outFeatures, 1), TOLERANCE.gradient);
      }
    });
  }

  // NaN (both signs), ±∞ and ±0 in x: the forward's RELU (and BIAS with it, and bias_add's RELU)
  // keep a NaN as PyTorch's relu does (max(·, 0) would have given 0 on lavapipe); the input
  // gradient's RELU_MASK passes dy where the ReLU's output is NaN, as PyTorch's threshold_backward
  // (dy where not y ≤ 0) does. Against the plain kernels and those rules in JS, bit for bit.
  gpuTest('NaN and ±∞: the RELU epilogue and bias_add RELU keep a NaN, RELU_MASK passes dy at a NaN', async (ctx) => {
    const [batch, inFeatures, outFeatures] = [3, 5, 8];
    const p = { batch, inFeatures, outFeatures };
    const length = batch * outFeatures;
    const inputs = batch * inFeatures;
    const specials = new Float32Array(new Uint32Array([0x7fc00000, 0xffc00000, 0x7f800000, 0xff800000, 0x80000000, 0]).buffer);
    // Row 0 holds a NaN, row 1 a +∞ and a −∞ (every sum NaN or ±∞), row 2 only finite numbers.
    const xData = Float32Array.from(randomArray(inputs, 26));
    [xData[1], xData[inFeatures + 1], xData[inFeatures + 3]] = [specials[1]!, Infinity, -Infinity];
    const tx = ctx.tensor('x', [batch, inFeatures], { data: xData });
    const tw = ctx.tensor('w', [outFeatures, inFeatures], { data: f32(randomArray(outFeatures * inFeatures, 27, -0.2, 0.2)) });
    const biasData = f32(randomArray(outFeatures, 28, -1, 1));
    const tb = ctx.tensor('bias', [outFeatures], { data: biasData });
    const tdy = ctx.tensor('dy', [length], { data: f32(randomArray(length, 29)) });
    const reluData = Float32Array.from(randomArray(inputs, 30, -0.5, 1));
    specials.forEach((v, k) => (reluData[2 * k] = v));
    const reluOut = ctx.tensor('relu output', [inputs], { data: reluData });
    const d = defaultDenseTile('dense_forward', p);
    for (const tile of [d, { rows: 2, cols: 3, workgroup: 32 }]) {
      const [plain, relu, biasRelu, added] = [ctx.tensor('plain', [length]), ctx.tensor('RELU', [length]), ctx.tensor('BIAS, RELU', [length]), ctx.tensor('plain, then bias_add RELU', [length])];
      const [plainDx, gotDx] = [ctx.tensor('dx', [inputs]), ctx.tensor('dx (RELU_MASK)', [inputs])];
      for (const t of [relu, biasRelu, added, gotDx]) ctx.fill(t, NaN);
      const kernel = (defines: Record<string, boolean> = {}) => compileDense(ctx, 'dense_forward', tile, defines);
      const backward = (defines: Record<string, boolean> = {}) => compileDense(ctx, 'dense_backward_input', tile, defines);
      const list = [
        (await kernel()).bind({ x: tx, weight: tw, y: plain }, p),
        (await kernel()).bind({ x: tx, weight: tw, y: added }, p),
        (await ctx.compile(biasAdd, { RELU: true })).bind({ bias: tb, y: added }, { batch, channels: outFeatures, area: 1 }),
        (await kernel({ RELU: true })).bind({ x: tx, weight: tw, y: relu }, p),
        (await kernel({ BIAS: true, RELU: true })).bind({ x: tx, weight: tw, y: biasRelu, bias: tb }, p),
        (await backward()).bind({ dy: tdy, weight: tw, dx: plainDx }, p),
        (await backward({ RELU_MASK: true })).bind({ dy: tdy, weight: tw, dx: gotDx, reluOut }, p),
      ];
      ctx.submit('dense NaN test', (e) => recordPass(e, 'dense NaN test', list));
      const [gotPlain, gotRelu, gotBiasRelu, gotAdded, gotPlainDx, gotMasked] = await ctx.readMany([plain, relu, biasRelu, added, plainDx, gotDx]);
      const label = `tile ${tile.rows}×${tile.cols}`;
      const sums = Array.from(gotPlain!);
      expect(sums.slice(0, 2 * outFeatures).every((v) => !Number.isFinite(v)) && sums.some(Number.isNaN), `${label}: rows 0 and 1 not finite, a NaN among them`).toBe(true);
      expect(Array.from(gotRelu!), `${label}: RELU`).toEqual(sums.map((v) => Math.max(v, 0)));
      const withBias = sums.map((v, i) => Math.max(Math.fround(v + biasData[i % outFeatures]!), 0));
      expect(Array.from(gotBiasRelu!), `${label}: BIAS and RELU`).toEqual(withBias);
      expect(Array.from(gotAdded!), `${label}: bias_add RELU`).toEqual(withBias);
      expect(Array.from(gotMasked!), `${label}: RELU_MASK`).toEqual(Array.from(gotPlainDx!, (g, i) => (reluData[i]! <= 0 ? 0 : g)));
    }
  });

  // The tests above run the SUBGROUP tiles only where the adapter has subgroups of 8: said here, not passed silently elsewhere.
  gpuTest('the SUBGROUP tiles (subgroups of 8): the default where the shape takes them, the plain tile\'s bits at a batch ending within a round', async (ctx, t) => {
    if (ctx.adapter.subgroupSize !== 8) return t.skip(`skipped: this adapter's subgroups are ${ctx.adapter.subgroupSize ?? 'of varying size'}, not 8; the SUBGROUP variant runs on subgroups of 8 only (lavapipe's), so no test here runs it`);
    const p = { batch: 37, inFeatures: 64, outFeatures: 12 };
    const [tx, tw, tdy] = [['x', p.batch * p.inFeatures, 31], ['w', p.outFeatures * p.inFeatures, 32], ['dy', p.batch * p.outFeatures, 33]].map(([label, n, seed]) => ctx.tensor(label as string, [n as number], { data: f32(randomArray(n as number, seed as number)) }));
    for (const kernel of KERNELS) {
      expect(defaultDenseTile(kernel, p, 8), kernel).toEqual({ rows: 8, cols: 4, workgroup: 64, subgroup: true });
      const outputs: number[][] = [];
      for (const tile of [{ rows: 4, cols: 4, workgroup: 64 }, { rows: 8, cols: 4, workgroup: 64, subgroup: true }, { rows: 8, cols: 8, workgroup: 32, subgroup: true }]) {
        const { m, n } = { dense_forward: { m: p.batch, n: p.outFeatures }, dense_backward_input: { m: p.batch, n: p.inFeatures }, dense_backward_weight: { m: p.outFeatures, n: p.inFeatures } }[kernel];
        const out = ctx.tensor('out', [m * n]);
        ctx.fill(out, NaN);
        const compiled = await compileDense(ctx, kernel, tile);
        const bound = kernel === 'dense_forward' ? compiled.bind({ x: tx!, weight: tw!, y: out } as never, p) : kernel === 'dense_backward_input' ? compiled.bind({ dy: tdy!, weight: tw!, dx: out } as never, p) : compiled.bind({ dy: tdy!, x: tx!, dweight: out } as never, p);
        ctx.submit('dense subgroup test', (e) => recordPass(e, 'dense subgroup test', [bound]));
        outputs.push(Array.from(await ctx.read(out)));
      }
      expect(outputs[0]!.every(Number.isFinite), kernel).toBe(true);
      expect(outputs[1], `${kernel}: 8 × 4 subgroup`).toEqual(outputs[0]);
      expect(outputs[2], `${kernel}: 8 × 8 subgroup, workgroup 32`).toEqual(outputs[0]);
    }
  });

  gpuTest('a tile outside the kernels is refused, naming the limits', async () => {
    expect(() => denseKernel('dense_forward', { rows: 9, cols: 1, workgroup: 64 })).toThrow(/is not one the dense kernels compile \(rows and cols 1–8/);
    expect(() => denseKernel('dense_forward', { rows: 2, cols: 2, workgroup: 48 })).toThrow(/a workgroup of 32, 64, 128, 256/);
    expect(() => denseKernel('dense_forward', { rows: 4, cols: 4, workgroup: 64, subgroup: true })).toThrow(/a subgroup tile 8 × 4 or 8 × 8/);
    expect(() => denseKernel('dense_forward', { rows: 8, cols: 12, workgroup: 64, subgroup: true })).toThrow(/a subgroup tile 8 × 4 or 8 × 8/);
  });
});
