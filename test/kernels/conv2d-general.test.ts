/**
 * conv2d_general_forward (and its BIAS variant), conv2d_general_backward_input and
 * conv2d_general_backward_weight — the direct kernels of any Conv2d geometry: groups, depthwise,
 * dilation, a stride and padding of their own in each direction, asymmetric ('same') padding, a
 * kernel over 12×12 — against the float64 reference, at awkward shapes, at real sizes (sums over
 * 100,000 products), and past 65,535 workgroups (the weight gradient's folded grid). A depthwise
 * conv of at most 3×3 runs the DEPTHWISE variants (DEPTHWISE_ROWS rows an invocation), checked
 * also against the plain path at a row an invocation (the same bits) and the plain path at their
 * rows. Blocks of 4 output channels run the forward's SUBGROUP variant on lavapipe (subgroups of
 * 8), blocks of 4 input channels at stride 1 the input gradient's, each checked against the plain
 * path compiled for the device described without subgroups of 8 (the same bits).
 */
import { describe, expect, test } from 'vitest';
import { GpuContext as Context, recordPass } from '../../src/gpu/context.js';
import type { GpuContext } from '../../src/gpu/context.js';
import { conv2dGeneralBackwardInput, conv2dGeneralBackwardWeight, conv2dGeneralForward, conv2dGeneralForwardVariant, conv2dGeneralInputVariant, conv2dGeneralParams, conv2dGeneralRowsVariant, conv2dGeneralWeightVariant, DEPTHWISE_ROWS, type Conv2dGeneralParams } from '../../src/kernels/conv2d-general.js';
import { conv2dBackwardInputRef, conv2dBackwardWeightRef, conv2dForwardRef, conv2dGeometry, type Conv2dGeometry } from '../../src/reference/conv2d.js';
import { biasAddRef } from '../../src/reference/bias.js';
import { expectAllClose, f32, randomArray } from '../helpers/allclose.js';
import { gpuTest } from '../helpers/gpu.js';

interface Case extends Conv2dGeometry {
  readonly name: string;
}

const base = { strideH: 1, strideW: 1, padTop: 0, padBottom: 0, padLeft: 0, padRight: 0, dilationH: 1, dilationW: 1, groups: 1 };

const CASES: Case[] = [
  { ...base, name: 'groups 2, stride 2×1, padding 1×0, a 3×2 kernel', batch: 3, inChannels: 4, height: 7, width: 9, outChannels: 6, kernelH: 3, kernelW: 2, strideH: 2, padTop: 1, padBottom: 1, groups: 2 },
  { ...base, name: 'depthwise ×2, dilation 2, padding 2', batch: 2, inChannels: 5, height: 11, width: 10, outChannels: 10, kernelH: 3, kernelW: 3, padTop: 2, padBottom: 2, padLeft: 2, padRight: 2, dilationH: 2, dilationW: 2, groups: 5 },
  { ...base, name: "'same' padding of an even 4×2 kernel (one more zero at the bottom and right)", batch: 2, inChannels: 3, height: 6, width: 5, outChannels: 5, kernelH: 4, kernelW: 2, padTop: 1, padBottom: 2, padLeft: 0, padRight: 1 },
  { ...base, name: 'dilation 3×2 with stride 3×2 (taps skipped over, some inputs read by no output)', batch: 2, inChannels: 2, height: 13, width: 12, outChannels: 3, kernelH: 2, kernelW: 3, strideH: 3, strideW: 2, dilationH: 3, dilationW: 2 },
  { ...base, name: 'a 1×1 kernel in 3 groups of one output channel', batch: 4, inChannels: 6, height: 3, width: 5, outChannels: 3, kernelH: 1, kernelW: 1, groups: 3 },
  { ...base, name: 'a 13×13 kernel (over the tiled kernels\' 12×12)', batch: 2, inChannels: 2, height: 15, width: 14, outChannels: 3, kernelH: 13, kernelW: 13, padTop: 1, padBottom: 1, padLeft: 1, padRight: 1 },
  // Blocks of 4 channels an invocation where a group has 4 or more: 6 inputs and 5 outputs a group, a short block each.
  { ...base, name: 'groups 2 of 6 → 5 channels (a block of 4 and a short one each way), stride 2×3, dilation 2×1, padding 2×1', batch: 2, inChannels: 12, height: 9, width: 11, outChannels: 10, kernelH: 3, kernelW: 2, strideH: 2, strideW: 3, padTop: 2, padBottom: 2, padLeft: 1, padRight: 1, dilationH: 2, groups: 2 },
  { ...base, name: 'groups 2 of 5 → 6 channels at stride 1 (a block of 4 and a short one each way), dilation 1×2, padding 2 top, 0 bottom, 1 left, 3 right', batch: 2, inChannels: 10, height: 7, width: 9, outChannels: 12, kernelH: 2, kernelW: 3, padTop: 2, padLeft: 1, padRight: 3, dilationW: 2, groups: 2 },
  { ...base, name: 'groups 2 of 4 → 3 channels, 3×3, stride 2×1, dilation 2×1, padding 1 top, 2 bottom, 2 left, 1 right, odd 10×11 (the weight gradient\'s window of columns over a block of 4)', batch: 2, inChannels: 8, height: 10, width: 11, outChannels: 6, kernelH: 3, kernelW: 3, strideH: 2, padTop: 1, padBottom: 2, padLeft: 2, padRight: 1, dilationH: 2, groups: 2 },
  { ...base, name: 'groups 1 of 9 → 7 channels, kernel columns wholly in the padding (tap kx reads no column)', batch: 2, inChannels: 9, height: 4, width: 3, outChannels: 7, kernelH: 2, kernelW: 3, padLeft: 4, padRight: 4, strideW: 2, dilationW: 3 },
  { ...base, name: 'padding wider than the kernel (outputs of padding alone)', batch: 1, inChannels: 2, height: 3, width: 3, outChannels: 2, kernelH: 2, kernelW: 2, padTop: 3, padBottom: 3, padLeft: 2, padRight: 2, groups: 2 },
  // Depthwise (groups = inChannels = outChannels, at most 3×3: the DEPTHWISE variants): heights
  // not a multiple of DEPTHWISE_ROWS, odd widths, a short last quad, strides, dilations, asymmetric padding.
  { ...base, name: 'depthwise 3×3, stride 2, padding 1, odd 13×11 (the last block of rows short)', batch: 2, inChannels: 3, height: 13, width: 11, outChannels: 3, kernelH: 3, kernelW: 3, strideH: 2, strideW: 2, padTop: 1, padBottom: 1, padLeft: 1, padRight: 1, groups: 3 },
  { ...base, name: 'depthwise 3×2, dilation 2×1, stride 1×2, padding 2 top, 1 bottom, 0 left, 1 right', batch: 2, inChannels: 4, height: 10, width: 9, outChannels: 4, kernelH: 3, kernelW: 2, strideW: 2, padTop: 2, padBottom: 1, padRight: 1, dilationH: 2, groups: 4 },
  { ...base, name: 'depthwise 2×3, dilation 1×2, stride 3×1, no padding (input rows read by no output)', batch: 1, inChannels: 2, height: 14, width: 10, outChannels: 2, kernelH: 2, kernelW: 3, strideH: 3, dilationW: 2, groups: 2 },
  { ...base, name: 'depthwise 3×3, dilation 2, stride 2, padding 2 (stride and dilation at once)', batch: 2, inChannels: 3, height: 11, width: 12, outChannels: 3, kernelH: 3, kernelW: 3, strideH: 2, strideW: 2, dilationH: 2, dilationW: 2, padTop: 2, padBottom: 2, padLeft: 2, padRight: 2, groups: 3 },
  { ...base, name: 'depthwise 3×3, dilation 2×1, stride 2×1, padding 2 top, 0 bottom, 1 left, 2 right, odd 9×9 (the weight gradient\'s window of columns)', batch: 3, inChannels: 2, height: 9, width: 9, outChannels: 2, kernelH: 3, kernelW: 3, strideH: 2, padTop: 2, padLeft: 1, padRight: 2, dilationH: 2, groups: 2 },
  { ...base, name: 'depthwise 3×3, padding 1, 7×8 (whole quads: the last one\'s taps past the right edge, in the padding)', batch: 2, inChannels: 3, height: 7, width: 8, outChannels: 3, kernelH: 3, kernelW: 3, padTop: 1, padBottom: 1, padLeft: 1, padRight: 1, groups: 3 },
  { ...base, name: 'depthwise 1×1, 3 rows (fewer than a block)', batch: 3, inChannels: 5, height: 3, width: 7, outChannels: 5, kernelH: 1, kernelW: 1, groups: 5 },
];

/** The first index where two results' bits differ, -1 where none. */
const firstDiffering = (a: ArrayLike<number>, b: ArrayLike<number>) => Array.from(a).findIndex((v, i) => !Object.is(v, b[i]));

/** The test's device described as an adapter without subgroups of 8: the forward's plain path. */
const withoutSubgroups = (ctx: GpuContext): GpuContext => new Context(ctx.device, { ...ctx.adapter, subgroupSize: undefined }, { zeroedBuffers: false, poisonEmpty: true });

/** The kernels' parameters for a reference geometry. */
function paramsOf(g: Conv2dGeometry): Conv2dGeneralParams {
  const { outHeight, outWidth } = conv2dGeometry(g);
  return conv2dGeneralParams({
    batch: g.batch, inChannels: g.inChannels, height: g.height, width: g.width, outChannels: g.outChannels, outHeight, outWidth, kernelH: g.kernelH, kernelW: g.kernelW,
    strideH: g.strideH, strideW: g.strideW, padTop: g.padTop, padLeft: g.padLeft, dilationH: g.dilationH, dilationW: g.dilationW, groups: g.groups,
  });
}

/**
 * Each value within `relative` of the largest |value| of its tensor (f32 sums of products of
 * either sign: the rounding scales with the sums' terms, which cancel; a wrong index or a missed
 * group moves values by their own size). Names the worst element.
 */
function expectNear(label: string, got: ArrayLike<number>, want: ArrayLike<number>, relative = 1e-5): void {
  let scale = 0;
  for (let i = 0; i < want.length; i++) scale = Math.max(scale, Math.abs(want[i]!));
  expect(scale, `${label}: a reference of zeros checks nothing`).toBeGreaterThan(0);
  expectAllClose(label, got, want, { atol: relative * scale, rtol: 0 });
}

/** The three kernels (the forward with and without its bias) on one geometry, against float64. */
async function check(ctx: GpuContext, c: Case, seed: number): Promise<void> {
  const p = paramsOf(c);
  const g = conv2dGeometry(c);
  const lengths = { x: c.batch * c.inChannels * c.height * c.width, y: c.batch * c.outChannels * g.outHeight * g.outWidth, w: c.outChannels * (c.inChannels / c.groups) * c.kernelH * c.kernelW };
  const x = f32(randomArray(lengths.x, seed));
  const w = f32(randomArray(lengths.w, seed + 1));
  const b = f32(randomArray(c.outChannels, seed + 2));
  const dy = f32(randomArray(lengths.y, seed + 3));
  const scope = ctx.scoped(() => ({
    x: ctx.tensor('x', [lengths.x], { data: x }),
    w: ctx.tensor('weight', [lengths.w], { data: w }),
    b: ctx.tensor('bias', [c.outChannels], { data: b }),
    dy: ctx.tensor('dy', [lengths.y], { data: dy }),
    y: ctx.tensor('y', [lengths.y]),
    yBias: ctx.tensor('y (BIAS)', [lengths.y]),
    dx: ctx.tensor('dx', [lengths.x]),
    dw: ctx.tensor('dweight', [lengths.w]),
    dwPerTap: ctx.tensor('dweight (a workgroup a tap)', [lengths.w]),
    yPlain: ctx.tensor('y (plain, a row an invocation)', [lengths.y]),
    dxPlain: ctx.tensor('dx (plain, a row an invocation)', [lengths.x]),
    yPlainRows: ctx.tensor('y (plain, DEPTHWISE_ROWS rows)', [lengths.y]),
    yNoSubgroups: ctx.tensor('y (without subgroups of 8)', [lengths.y]),
    dxNoSubgroups: ctx.tensor('dx (without subgroups of 8)', [lengths.x]),
    dxPlainRows: ctx.tensor('dx (plain, DEPTHWISE_ROWS rows)', [lengths.x]),
  }));
  const t = scope.value;
  try {
    for (const out of [t.y, t.yBias, t.dx, t.dw, t.dwPerTap, t.yPlain, t.dxPlain, t.yPlainRows, t.dxPlainRows, t.yNoSubgroups, t.dxNoSubgroups]) ctx.fill(out, NaN);
    const rows = conv2dGeneralRowsVariant(p);
    const forward = conv2dGeneralForwardVariant(ctx, p);
    const input = conv2dGeneralInputVariant(ctx, p);
    const plain = withoutSubgroups(ctx);
    const dispatches = [
      (await ctx.compile(conv2dGeneralForward, forward)).bind({ x: t.x, weight: t.w, y: t.y }, p),
      (await ctx.compile(conv2dGeneralForward, { BIAS: true, ...forward })).bind({ x: t.x, weight: t.w, y: t.yBias, bias: t.b }, p),
      (await plain.compile(conv2dGeneralForward, conv2dGeneralForwardVariant(plain, p))).bind({ x: t.x, weight: t.w, y: t.yNoSubgroups }, p),
      (await ctx.compile(conv2dGeneralBackwardInput, input)).bind({ dy: t.dy, weight: t.w, dx: t.dx }, p),
      (await plain.compile(conv2dGeneralBackwardInput, conv2dGeneralInputVariant(plain, p))).bind({ dy: t.dy, weight: t.w, dx: t.dxNoSubgroups }, p),
      (await ctx.compile(conv2dGeneralBackwardWeight, conv2dGeneralWeightVariant(p))).bind({ x: t.x, dy: t.dy, dweight: t.dw }, p),
    ];
    // The plain path where DEPTHWISE took the conv: at a row an invocation (the other convs' way) and at DEPTHWISE's rows.
    if (rows.DEPTHWISE) {
      const single = { ...p, rows: 1 };
      dispatches.push(
        (await ctx.compile(conv2dGeneralForward)).bind({ x: t.x, weight: t.w, y: t.yPlain }, single),
        (await ctx.compile(conv2dGeneralBackwardInput)).bind({ dy: t.dy, weight: t.w, dx: t.dxPlain }, single),
        (await ctx.compile(conv2dGeneralForward)).bind({ x: t.x, weight: t.w, y: t.yPlainRows }, p),
        (await ctx.compile(conv2dGeneralBackwardInput)).bind({ dy: t.dy, weight: t.w, dx: t.dxPlainRows }, p),
      );
    }
    // The weight gradient's other variant: a workgroup a tap (the only one past 3×3), where TAPS took them all.
    const perTap = { ...p, tapSplits: c.kernelH * c.kernelW };
    if (p.tapSplits === 1) dispatches.push((await ctx.compile(conv2dGeneralBackwardWeight, { TAPS: false })).bind({ x: t.x, dy: t.dy, dweight: t.dwPerTap }, perTap));
    ctx.submit('conv2d_general test', (e) => recordPass(e, 'conv2d_general test', dispatches));
    const y = conv2dForwardRef(x, w, c);
    const yGot = await ctx.read(t.y);
    expectNear(`${c.name}: y${forward.SUBGROUP ? ' (SUBGROUP)' : ''}`, yGot, y);
    // The plain path where SUBGROUP took the forward: the same sums, the same bits.
    expect(firstDiffering(yGot, await ctx.read(t.yNoSubgroups)), `${c.name}: y, the adapter's path against the plain one without subgroups`).toBe(-1);
    expectNear(`${c.name}: y (BIAS)`, await ctx.read(t.yBias), biasAddRef(y, b, c.batch, c.outChannels, g.outHeight * g.outWidth));
    const dx = conv2dBackwardInputRef(dy, w, c);
    const dxGot = await ctx.read(t.dx);
    expectNear(`${c.name}: dx${input.SUBGROUP ? ' (SUBGROUP)' : ''}`, dxGot, dx);
    expect(firstDiffering(dxGot, await ctx.read(t.dxNoSubgroups)), `${c.name}: dx, the adapter's path against the plain one without subgroups`).toBe(-1);
    if (rows.DEPTHWISE) {
      // DEPTHWISE sums each output in the plain path's order: the same bits.
      expect(firstDiffering(yGot, await ctx.read(t.yPlain)), `${c.name}: y, DEPTHWISE against the plain path`).toBe(-1);
      expect(firstDiffering(dxGot, await ctx.read(t.dxPlain)), `${c.name}: dx, DEPTHWISE against the plain path`).toBe(-1);
      expectNear(`${c.name}: y (plain, ${DEPTHWISE_ROWS} rows)`, await ctx.read(t.yPlainRows), y);
      expectNear(`${c.name}: dx (plain, ${DEPTHWISE_ROWS} rows)`, await ctx.read(t.dxPlainRows), dx);
    }
    const dweight = conv2dBackwardWeightRef(dy, x, c);
    expectNear(`${c.name}: dweight${p.tapSplits === 1 ? ' (TAPS)' : ''}`, await ctx.read(t.dw), dweight);
    if (p.tapSplits === 1) expectNear(`${c.name}: dweight (a workgroup a tap)`, await ctx.read(t.dwPerTap), dweight);
  } finally {
    scope.destroy();
  }
}

describe('conv2d_general kernels against the float64 reference', () => {
  CASES.forEach((c, i) => gpuTest(c.name, (ctx) => check(ctx, c, 100 + 10 * i)));

  // Real sizes: a depthwise 3×3 over 32 channels of 26×26 and a 4-group conv 16 → 32 at batch 128:
  // each weight gradient a sum over 86,528 (73,728) products, each input gradient over 9 (36).
  gpuTest('real size: depthwise 3×3, 32 channels of 26×26, padding 1, batch 128', (ctx) =>
    check(ctx, { ...base, name: 'depthwise at batch 128', batch: 128, inChannels: 32, height: 26, width: 26, outChannels: 32, kernelH: 3, kernelW: 3, padTop: 1, padBottom: 1, padLeft: 1, padRight: 1, groups: 32 }, 7), 120_000);
  gpuTest('real size: 16 → 32 channels in 4 groups, 3×3 dilation 2, 28×28, batch 128', (ctx) =>
    check(ctx, { ...base, name: 'grouped at batch 128', batch: 128, inChannels: 16, height: 28, width: 28, outChannels: 32, kernelH: 3, kernelW: 3, dilationH: 2, dilationW: 2, groups: 4 }, 8), 120_000);

  // Blocks of 4 channels both ways at stride 1: the SUBGROUP forward and input gradient, the weight gradient's window over a block of 4.
  gpuTest('real size: 16 → 16 channels in 2 groups, 3×3 padding 1, 14×14, batch 128', (ctx) =>
    check(ctx, { ...base, name: 'grouped at stride 1, batch 128', batch: 128, inChannels: 16, height: 14, width: 14, outChannels: 16, kernelH: 3, kernelW: 3, padTop: 1, padBottom: 1, padLeft: 1, padRight: 1, groups: 2 }, 10), 120_000);

  // 2,500 × 3 × 3 × 3 = 67,500 weight elements, a workgroup each (3 input channels: blocks of one):
  // the grid folds into 2-D, and workgroups past the last element sum and write nothing.
  gpuTest('a weight gradient of 67,500 elements (67,500 workgroups: the grid folded past 65,535)', (ctx) =>
    check(ctx, { ...base, name: 'folded grid', batch: 1, inChannels: 3, height: 4, width: 5, outChannels: 2500, kernelH: 3, kernelW: 3, padTop: 2, padBottom: 2, padLeft: 2, padRight: 2, dilationH: 2, dilationW: 2 }, 9), 120_000);
  gpuTest('blocks of 4 channels take SUBGROUP on lavapipe (subgroups of 8; the input gradient at stride 1), never without subgroups of 8', (ctx) => {
    const params = CASES.map(paramsOf);
    const outBlocked = params.filter((p) => p.outBlock === 4);
    const inBlocked = params.filter((p) => p.inBlock === 4 && p.strideH === 1 && p.strideW === 1);
    expect([outBlocked.length, inBlocked.length]).toEqual([4, 1]);
    if (ctx.adapter.subgroupSize === 8) {
      for (const p of outBlocked) expect(conv2dGeneralForwardVariant(ctx, p).SUBGROUP).toBe(true);
      for (const p of inBlocked) expect(conv2dGeneralInputVariant(ctx, p).SUBGROUP).toBe(true);
    }
    for (const p of params) expect([conv2dGeneralForwardVariant(withoutSubgroups(ctx), p).SUBGROUP, conv2dGeneralInputVariant(withoutSubgroups(ctx), p).SUBGROUP]).toEqual([false, false]);
    return Promise.resolve();
  });
  test('the depthwise cases of at most 3×3 take the DEPTHWISE variants, the others not', () => {
    const taken = CASES.filter((c) => conv2dGeneralRowsVariant(paramsOf(c)).DEPTHWISE).map((c) => c.name);
    // 'depthwise ×2' has two outputs a channel (a plain path's conv); the 2×2 padding-wide case is depthwise.
    // A row past 2^23 columns (DEPTHWISE divides columns by floats): the plain path.
    const wide = { batch: 1, inChannels: 2, height: 1, width: 2 ** 23, outChannels: 2, outHeight: 1, outWidth: 2 ** 22, kernelH: 1, kernelW: 3, strideH: 1, strideW: 2, padTop: 0, padLeft: 1, dilationH: 1, dilationW: 1, groups: 2 };
    expect([conv2dGeneralParams(wide).rows, conv2dGeneralParams({ ...wide, width: 2 ** 22, outWidth: 2 ** 21 }).rows]).toEqual([1, DEPTHWISE_ROWS]);
    expect(taken).toEqual(CASES.filter((c) => (c.name.startsWith('depthwise ') && !c.name.startsWith('depthwise ×2')) || c.name.startsWith('padding wider')).map((c) => c.name));
  });
  test('the folded case dispatches past 65,535 workgroups', () => {
    const p = conv2dGeneralParams({ batch: 1, inChannels: 3, height: 4, width: 5, outChannels: 2500, outHeight: 4, outWidth: 5, kernelH: 3, kernelW: 3, strideH: 1, strideW: 1, padTop: 2, padLeft: 2, dilationH: 2, dilationW: 2, groups: 1 });
    // A workgroup a tap (the variant past 3×3): 2,500 × 3 × 9; with TAPS (3×3: tapSplits 1) one a weight block.
    expect(conv2dGeneralBackwardWeight.grid({ ...p, tapSplits: 9 }, [64])[0] / 64).toBe(67_500);
    expect([p.tapSplits, conv2dGeneralBackwardWeight.grid(p, [64])[0] / 64]).toEqual([1, 7_500]);
  });
});
