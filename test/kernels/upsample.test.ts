/**
 * Upsampling (src/kernels/upsample.ts, src/reference/upsample.ts): the reference against PyTorch's
 * F.interpolate (forward and backward, float64) and against central differences; the kernels
 * against the reference with its taps in float32, as the kernels and PyTorch's float32 kernels
 * compute them, on awkward shapes and at a real size; the layers' arguments as PyTorch takes them.
 */
import { describe, expect, test } from 'vitest';
import { recordPass } from '../../src/gpu/context.js';
import { upsample2dBackward, upsample2dForward, upsampleVariant } from '../../src/kernels/upsample.js';
import { Upsample, UpsamplingBilinear2d, UpsamplingNearest2d } from '../../src/layers/upsample.js';
import { upsample2dBackwardRef, upsample2dForwardRef, upsampleScale, type Upsample2dGeometry } from '../../src/reference/upsample.js';
import { TOLERANCE, expectAllClose, f32, randomArray } from '../helpers/allclose.js';
import { FD, numericalGrad } from '../helpers/finite-differences.js';
import { gpuTest } from '../helpers/gpu.js';
import { hasTorch, runTorch, skipWithoutTorch } from '../helpers/torch.js';

type Case = Omit<Upsample2dGeometry, 'outH' | 'outW'> & { readonly size?: readonly [number, number] };
/** The output size as F.interpolate gives it: the size, or ⌊input · scale_factor⌋. */
const sized = (c: Case): Upsample2dGeometry => {
  const [outH, outW] = c.size ?? [Math.floor(c.height * c.scaleFactor![0]), Math.floor(c.width * c.scaleFactor![1])];
  return { ...c, outH, outW, scaleFactor: c.size ? undefined : c.scaleFactor };
};
// Each mode: factors of 2 and 3, uneven factors (1.5, 2.7), shrinking (0.6), sizes whose ratio is
// no binary fraction (5 → 7, 4 → 10), a 1-wide input and output (align_corners' 0 scale).
const CASES: Case[] = (['nearest', 'nearest-exact', 'bilinear'] as const).flatMap((mode) =>
  (mode === 'bilinear' ? [false, true] : [false]).flatMap((alignCorners) => [
    { planes: 3, height: 4, width: 5, mode, alignCorners, scaleFactor: [2, 3] as const },
    { planes: 2, height: 5, width: 6, mode, alignCorners, scaleFactor: [1.5, 2.7] as const },
    { planes: 2, height: 7, width: 5, mode, alignCorners, scaleFactor: [0.6, 1] as const },
    { planes: 1, height: 5, width: 4, mode, alignCorners, size: [7, 10] as const },
    { planes: 2, height: 1, width: 3, mode, alignCorners, size: [3, 1] as const },
    // Large factors (an input element tapped by many outputs: the gradient's candidate range).
    { planes: 1, height: 2, width: 3, mode, alignCorners, scaleFactor: [8, 21.5] as const },
    // PyTorch's special cases: an axis kept (factor 1.05 on 10) is copied, nearest's exact
    // doubling (2 at 2.3) takes o >> 1; positions in float32 (46 from 14, 19 from 16 at 1.3).
    { planes: 1, height: 2, width: 10, mode, alignCorners, scaleFactor: [2.3, 1.05] as const },
    { planes: 1, height: 14, width: 16, mode, alignCorners, size: [46, 21] as const },
    { planes: 1, height: 16, width: 31, mode, alignCorners, scaleFactor: [1.3, 2.3] as const },
  ]),
);
const geometries = CASES.map(sized);
const words = (g: Upsample2dGeometry) => `${g.mode}${g.mode === 'bilinear' ? ` align_corners ${g.alignCorners}` : ''}, ${g.planes} × ${g.height}×${g.width} → ${g.outH}×${g.outW}${g.scaleFactor ? ` (scale_factor ${g.scaleFactor.join(', ')})` : ''}`;

describe('the upsampling reference', () => {
  test.each(geometries.map((g) => [words(g), g] as const))('against central differences: %s', (_, g) => {
    const x = randomArray(g.planes * g.height * g.width, 3, -2, 2);
    const dy = randomArray(g.planes * g.outH * g.outW, 4, -1, 1);
    expectAllClose(words(g), upsample2dBackwardRef(dy, g), numericalGrad((v) => upsample2dForwardRef(v, g), x, dy), FD);
  });

  test("against PyTorch's F.interpolate, forward and backward (float64)", (ctx) => {
    skipWithoutTorch(ctx);
    const spec = geometries.map((g, i) => ({ g, x: Array.from(randomArray(g.planes * g.height * g.width, 10 + i, -2, 2)), dy: Array.from(randomArray(g.planes * g.outH * g.outW, 50 + i, -1, 1)) }));
    const torch = runTorch<{ y: number[]; dx: number[]; shape: number[] }[]>(
      `
import json, sys, torch
import torch.nn.functional as F
out = []
for c in json.load(sys.stdin):
    g = c['g']
    x = torch.tensor(c['x'], dtype=torch.float64).reshape(1, g['planes'], g['height'], g['width']).requires_grad_()
    align = g['alignCorners'] if g['mode'] == 'bilinear' else None
    if g.get('scaleFactor'):
        y = F.interpolate(x, scale_factor=tuple(g['scaleFactor']), mode=g['mode'], align_corners=align)
    else:
        y = F.interpolate(x, size=(g['outH'], g['outW']), mode=g['mode'], align_corners=align)
    y.backward(torch.tensor(c['dy'], dtype=torch.float64).reshape(y.shape))
    out.append({'y': y.detach().flatten().tolist(), 'dx': x.grad.flatten().tolist(), 'shape': list(y.shape[2:])})
print(json.dumps(out))
`,
      spec,
    );
    spec.forEach(({ g, x, dy }, i) => {
      expect(torch[i]!.shape, `output size, ${words(g)}`).toEqual([g.outH, g.outW]);
      expectAllClose(`forward, ${words(g)}`, upsample2dForwardRef(x, g), torch[i]!.y, { atol: 1e-14, rtol: 1e-14 });
      expectAllClose(`backward, ${words(g)}`, upsample2dBackwardRef(dy, g), torch[i]!.dx, { atol: 1e-14, rtol: 1e-14 });
    });
  });
  if (!hasTorch) test.skip('PyTorch is not installed here: the comparison with F.interpolate skipped', () => {});

  test('the source scales, as PyTorch computes them (1 / scale_factor, else the sizes\' ratio; align_corners: (in − 1)/(out − 1))', () => {
    expect(upsampleScale(5, 13, 'bilinear', false, 2.7, false)).toBe(1 / 2.7);
    expect(upsampleScale(5, 13, 'bilinear', false, 2.7, true)).toBe(Math.fround(1 / 2.7));
    // The nearest modes' in float32 in every dtype (compute_scales_value<float>), as PyTorch's.
    expect(upsampleScale(5, 7, 'nearest', false, undefined, false)).toBe(Math.fround(5 / 7));
    // PyTorch's special cases: an axis kept is copied, nearest's exact doubling is o >> 1.
    expect([upsampleScale(10, 10, 'nearest', false, 1.05, false), upsampleScale(10, 10, 'bilinear', false, 1.09, false), upsampleScale(2, 4, 'nearest', false, 2.3, false)]).toEqual([1, 1, 0.5]);
    expect(upsampleScale(10, 10, 'nearest-exact', false, 1.05, false)).toBe(Math.fround(1 / 1.05));
    expect(upsampleScale(5, 13, 'bilinear', true, 2.7, false)).toBe(4 / 12);
    expect(upsampleScale(1, 1, 'bilinear', true, undefined, false)).toBe(0);
  });
});

describe('upsample2d_forward and upsample2d_backward', () => {
  // The awkward shapes, and a real size: 16 channels of 14 × 14 at batch 128, doubled.
  const real: Upsample2dGeometry = { planes: 128 * 16, height: 14, width: 14, outH: 28, outW: 28, mode: 'bilinear', alignCorners: false, scaleFactor: [2, 2] };
  for (const g of [...geometries, real, { ...real, mode: 'nearest' as const }, { ...real, alignCorners: true }]) {
    gpuTest(words(g), async (ctx) => {
      const [inputs, outputs] = [g.planes * g.height * g.width, g.planes * g.outH * g.outW];
      const x = f32(randomArray(inputs, inputs + 1, -2, 2));
      const dy = f32(randomArray(outputs, outputs + 2, -1, 1));
      const [tx, tdy] = [ctx.tensor('x', [inputs], { data: x }), ctx.tensor('dy', [outputs], { data: dy })];
      const [y, dx] = [ctx.tensor('y', [outputs]), ctx.tensor('dx', [inputs])];
      ctx.fill(y, NaN);
      ctx.fill(dx, NaN);
      const at32 = { ...g, float32: true };
      const scale = (axis: 0 | 1) => upsampleScale(axis ? g.width : g.height, axis ? g.outW : g.outH, g.mode, g.alignCorners, g.scaleFactor?.[axis], true);
      const params = { planes: g.planes, height: g.height, width: g.width, outH: g.outH, outW: g.outW, scaleH: scale(0), scaleW: scale(1) };
      const variant = upsampleVariant(g.mode, g.alignCorners);
      const kernels = [(await ctx.compile(upsample2dForward, variant)).bind({ x: tx, y }, params), (await ctx.compile(upsample2dBackward, variant)).bind({ dy: tdy, dx }, params)];
      ctx.submit('upsample test', (e) => recordPass(e, 'upsample test', kernels));
      // The same taps and weights as float32's: the nearest modes copy (the same bits), bilinear rounds a few products.
      expectAllClose('y', await ctx.read(y), upsample2dForwardRef(x, at32), g.mode === 'bilinear' ? TOLERANCE.forward : TOLERANCE.exact);
      expectAllClose('dx', await ctx.read(dx), upsample2dBackwardRef(dy, at32), TOLERANCE.forward);
    });
  }
});

describe('the upsampling layers', () => {
  test("PyTorch's arguments: size or scale_factor, mode, align_corners; the named forms", () => {
    const u = new Upsample({ scaleFactor: 2, mode: 'bilinear' });
    expect([u.scaleFactor, u.mode, u.alignCorners, u.outputShape([3, 5, 7])]).toEqual([[2, 2], 'bilinear', false, [3, 10, 14]]);
    expect(new Upsample(null, [1.5, 2.7], 'nearest').outputShape([1, 5, 6])).toEqual([1, 7, 16]);
    expect(new Upsample([7, 9]).outputShape([2, 3, 3])).toEqual([2, 7, 9]);
    expect(new Upsample({ scaleFactor: 2 }).config()).toEqual({ scale_factor: 2, mode: 'nearest' });
    expect(new Upsample({ size: [4, 6], mode: 'bilinear', alignCorners: true }).config()).toEqual({ size: [4, 6], mode: 'bilinear', align_corners: true });
    const nearest = new UpsamplingNearest2d({ scaleFactor: 2 });
    expect([nearest.type, nearest.mode, nearest.config()]).toEqual(['UpsamplingNearest2d', 'nearest', { scale_factor: 2 }]);
    const bilinear = new UpsamplingBilinear2d(null, 3);
    expect([bilinear.type, bilinear.mode, bilinear.alignCorners, bilinear.config()]).toEqual(['UpsamplingBilinear2d', 'bilinear', true, { scale_factor: 3 }]);
    // recompute_scale_factor: the sizes' ratio as the source scale (5 → 13 at 2.7: 5/13, not 1/2.7).
    const recomputed = new Upsample({ scaleFactor: 2.7, mode: 'bilinear', recomputeScaleFactor: true });
    expect(recomputed.scales([1, 5, 5], [1, 13, 13], false)).toEqual([5 / 13, 5 / 13]);
    expect(new Upsample({ scaleFactor: 2.7, mode: 'bilinear' }).scales([1, 5, 5], [1, 13, 13], false)).toEqual([1 / 2.7, 1 / 2.7]);
  });

  test("[C, L] samples: 'linear' (bilinear on [C, 1, L]), the nearest modes, one size or factor; each mode on its own rank", () => {
    expect(new Upsample({ scaleFactor: 2.5, mode: 'linear' }).outputShape([3, 7])).toEqual([3, 17]);
    expect(new Upsample([9]).outputShape([2, 4])).toEqual([2, 9]);
    expect(new Upsample({ scaleFactor: 2, mode: 'linear', alignCorners: true }).config()).toEqual({ scale_factor: 2, mode: 'linear', align_corners: true });
    expect(() => new Upsample({ scaleFactor: 2, mode: 'bilinear' }).outputShape([3, 7])).toThrow("mode 'bilinear' takes [C, H, W]; a [C, L] input takes 'linear' (input [3, 7])");
    expect(() => new Upsample({ scaleFactor: 2, mode: 'linear' }).outputShape([3, 7, 7])).toThrow("mode 'linear' takes [C, L]; a [C, H, W] input takes 'bilinear'");
    expect(() => new Upsample({ size: [4, 5] }).outputShape([3, 7])).toThrow('a [C, L] input takes one size, not (height, width) (input [3, 7])');
    // The height of the [C, 1, L] view is copied: a scale of 1 there.
    expect(new Upsample({ scaleFactor: 1.7, mode: 'linear' }).scales([2, 5], [2, 8], true)).toEqual([1, Math.fround(1 / 1.7)]);
  });

  test('bad arguments are refused as PyTorch refuses them, naming what was expected', () => {
    expect(() => new Upsample({ mode: 'nearest' })).toThrow('Upsample: give size or scale_factor (PyTorch: either size or scale_factor should be defined)');
    expect(() => new Upsample({ size: 4, scaleFactor: 2 })).toThrow('only one of size or scale_factor should be defined');
    expect(() => new Upsample({ scaleFactor: 2, mode: 'nearest', alignCorners: true })).toThrow("Upsample: align_corners applies to modes 'bilinear' and 'linear' only");
    expect(() => new Upsample({ scaleFactor: 2, mode: 'bicubic' as never })).toThrow("Upsample: mode must be 'nearest', 'nearest-exact', 'bilinear' or 'linear' ('bicubic' is not supported here), got \"bicubic\"");
    expect(() => new Upsample({ scaleFactor: 2, mode: 'area' as never })).toThrow("('area' is AdaptiveAvgPool2d(size))");
    expect(() => new Upsample({ scaleFactor: -2 })).toThrow('Upsample: scale_factor must be a finite number > 0 or (height, width), got -2');
    expect(() => new Upsample({ size: 2.5 })).toThrow('Upsample: size must be a whole number ≥ 1 or (height, width), got 2.5');
    expect(() => new Upsample({ size: 4, recomputeScaleFactor: true })).toThrow('recompute_scale_factor applies with scale_factor only');
    expect(() => new Upsample({ scaleFactor: 0.1 }).outputShape([1, 5, 5])).toThrow('scale_factor [0.1,0.1] leaves no output of a 5×5 input');
    expect(() => new Upsample({ scale_factor: 2 } as never)).toThrow("Upsample: unknown option 'scale_factor' (PyTorch's scale_factor is scaleFactor here)");
    expect(() => new Upsample({ scaleFactor: Infinity })).toThrow('Upsample: scale_factor must be a finite number > 0 or (height, width), got Infinity');
    // The named forms say their own names, and take (size, scale_factor) only.
    expect(() => new UpsamplingBilinear2d(2, 2)).toThrow('UpsamplingBilinear2d: give size or scale_factor');
    expect(() => new UpsamplingNearest2d()).toThrow('UpsamplingNearest2d: give size or scale_factor');
    expect(() => new (UpsamplingBilinear2d as unknown as new (...a: unknown[]) => object)(null, 2, 'nearest')).toThrow("UpsamplingBilinear2d: 3 arguments; expected (size, scale_factor) or an options object (the mode is 'bilinear' with align_corners)");
  });
});
