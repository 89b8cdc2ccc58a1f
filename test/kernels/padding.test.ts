/**
 * Padding (src/kernels/padding.ts, src/reference/padding.ts): the reference against PyTorch's F.pad
 * (forward and backward, float64) and against central differences; the kernels against the
 * reference in every mode on awkward shapes and at a real size; the layers' arguments and shapes
 * as PyTorch takes and checks them.
 */
import { describe, expect, test } from 'vitest';
import { recordPass } from '../../src/gpu/context.js';
import { pad2dBackward, pad2dForward, PAD_MODE_DEFINES } from '../../src/kernels/padding.js';
import { Conv2d } from '../../src/layers/conv2d.js';
import { CircularPad2d, ConstantPad2d, Pad2d, ReflectionPad2d, ReplicationPad2d, ZeroPad2d } from '../../src/layers/padding.js';
import { pad2dBackwardRef, pad2dForwardRef, type Pad2dGeometry, type PadMode } from '../../src/reference/padding.js';
import { TOLERANCE, expectAllClose, f32, randomArray } from '../helpers/allclose.js';
import { FD, numericalGrad } from '../helpers/finite-differences.js';
import { gpuTest } from '../helpers/gpu.js';
import { hasTorch, runTorch, skipWithoutTorch } from '../helpers/torch.js';

const MODES: readonly PadMode[] = ['constant', 'reflect', 'replicate', 'circular'];
const outH = (g: Pad2dGeometry) => g.height + g.top + g.bottom;
const outW = (g: Pad2dGeometry) => g.width + g.left + g.right;

/** Awkward geometries for each mode: uneven sides, a side of 0, the largest each mode allows (reflect: size − 1; circular: the size), a 1-wide input (replicate, constant), cropping (constant). */
const GEOMETRIES: Record<PadMode, Omit<Pad2dGeometry, 'mode'>[]> = {
  constant: [
    { planes: 3, height: 5, width: 7, left: 1, right: 2, top: 3, bottom: 0, value: 0 },
    { planes: 2, height: 6, width: 4, left: -2, right: 1, top: 2, bottom: -3, value: -1.5 },
    { planes: 1, height: 1, width: 1, left: 4, right: 0, top: 0, bottom: 2, value: 0.25 },
  ],
  reflect: [
    { planes: 3, height: 5, width: 7, left: 1, right: 2, top: 3, bottom: 0 },
    { planes: 2, height: 5, width: 6, left: -1, right: 2, top: 1, bottom: -2 },
    { planes: 2, height: 4, width: 6, left: 5, right: 5, top: 3, bottom: 3 },
    { planes: 1, height: 2, width: 3, left: 0, right: 2, top: 1, bottom: 1 },
  ],
  replicate: [
    { planes: 3, height: 5, width: 7, left: 1, right: 2, top: 3, bottom: 0 },
    { planes: 2, height: 4, width: 5, left: 3, right: -2, top: -1, bottom: 2 },
    { planes: 2, height: 1, width: 1, left: 3, right: 2, top: 4, bottom: 1 },
    { planes: 1, height: 3, width: 2, left: 6, right: 0, top: 0, bottom: 7 },
  ],
  circular: [
    { planes: 3, height: 5, width: 7, left: 1, right: 2, top: 3, bottom: 0 },
    { planes: 1, height: 5, width: 6, left: -2, right: 3, top: 2, bottom: -1 },
    { planes: 2, height: 4, width: 3, left: 3, right: 3, top: 4, bottom: 4 },
    { planes: 1, height: 1, width: 2, left: 2, right: 1, top: 1, bottom: 0 },
  ],
};
const cases = MODES.flatMap((mode) => GEOMETRIES[mode].map((g) => ({ ...g, mode })));
const words = (g: Pad2dGeometry) => `${g.mode}, ${g.planes} planes of ${g.height}×${g.width}, (left, right, top, bottom) (${g.left}, ${g.right}, ${g.top}, ${g.bottom})`;

describe('the padding reference', () => {
  test.each(cases)('against central differences: %o', (g) => {
    const x = randomArray(g.planes * g.height * g.width, 7, -2, 2);
    const dy = randomArray(g.planes * outH(g) * outW(g), 8, -1, 1);
    expectAllClose(words(g), pad2dBackwardRef(dy, g), numericalGrad((v) => pad2dForwardRef(v, g), x, dy), FD);
  });

  test('against PyTorch\'s F.pad, forward and backward (float64)', (ctx) => {
    skipWithoutTorch(ctx);
    const spec = cases.map((g, i) => ({ g, x: Array.from(randomArray(g.planes * g.height * g.width, 20 + i, -2, 2)), dy: Array.from(randomArray(g.planes * outH(g) * outW(g), 40 + i, -1, 1)) }));
    const torch = runTorch<{ y: number[]; dx: number[] }[]>(
      `
import json, sys, torch
import torch.nn.functional as F
out = []
for c in json.load(sys.stdin):
    g = c['g']
    x = torch.tensor(c['x'], dtype=torch.float64).reshape(1, g['planes'], g['height'], g['width']).requires_grad_()
    pads = (g['left'], g['right'], g['top'], g['bottom'])
    y = F.pad(x, pads, mode=g['mode'], value=g.get('value', 0)) if g['mode'] == 'constant' else F.pad(x, pads, mode=g['mode'])
    y.backward(torch.tensor(c['dy'], dtype=torch.float64).reshape(y.shape))
    out.append({'y': y.detach().flatten().tolist(), 'dx': x.grad.flatten().tolist()})
print(json.dumps(out))
`,
      spec,
    );
    spec.forEach(({ g, x, dy }, i) => {
      expect(Array.from(pad2dForwardRef(x, g)), `forward, ${words(g)}`).toEqual(torch[i]!.y);
      expectAllClose(`backward, ${words(g)}`, pad2dBackwardRef(dy, g), torch[i]!.dx, { atol: 1e-14, rtol: 1e-14 });
    });
  });
  if (!hasTorch) test.skip('PyTorch is not installed here: the comparison with F.pad skipped', () => {});
});

describe('pad2d_forward and pad2d_backward', () => {
  // The awkward shapes, and a real size: convblock1's output of the seed CNN at batch 128, reflected by 1.
  const real: Pad2dGeometry = { planes: 128 * 16, height: 26, width: 26, left: 1, right: 1, top: 1, bottom: 1, mode: 'reflect' };
  for (const g of [...cases, real, { ...real, mode: 'replicate' as const }, { ...real, mode: 'circular' as const }]) {
    gpuTest(words(g), async (ctx) => {
      const [inputs, outputs] = [g.planes * g.height * g.width, g.planes * outH(g) * outW(g)];
      const x = f32(randomArray(inputs, inputs + 3, -2, 2));
      const dy = f32(randomArray(outputs, outputs + 5, -1, 1));
      const [tx, tdy] = [ctx.tensor('x', [inputs], { data: x }), ctx.tensor('dy', [outputs], { data: dy })];
      const [y, dx] = [ctx.tensor('y', [outputs]), ctx.tensor('dx', [inputs])];
      ctx.fill(y, NaN);
      ctx.fill(dx, NaN);
      const variant = g.mode === 'constant' ? {} : { [PAD_MODE_DEFINES[g.mode]]: true };
      const params = { planes: g.planes, height: g.height, width: g.width, outH: outH(g), outW: outW(g), top: g.top, left: g.left, value: g.value ?? 0 };
      const kernels = [(await ctx.compile(pad2dForward, variant)).bind({ x: tx, y }, params), (await ctx.compile(pad2dBackward, variant)).bind({ dy: tdy, dx }, params)];
      ctx.submit('padding test', (e) => recordPass(e, 'padding test', kernels));
      // The forward copies (or writes the constant, itself an f32): the same bits.
      expectAllClose('y', await ctx.read(y), pad2dForwardRef(x, g), TOLERANCE.exact);
      // The backward sums up to (pad + 1)² gradients an element (replicate's corners) in f32.
      expectAllClose('dx', await ctx.read(dx), pad2dBackwardRef(dy, g), TOLERANCE.forward);
    });
  }
});

describe('the padding layers', () => {
  test("PyTorch's arguments: one number or (left, right, top, bottom), positional or as options", () => {
    expect(new ZeroPad2d(2).padding).toEqual([2, 2, 2, 2]);
    expect(new ReflectionPad2d([1, 2, 3, 4]).padding).toEqual([1, 2, 3, 4]);
    expect(new ReplicationPad2d({ padding: [0, 1, 0, 1] }).padding).toEqual([0, 1, 0, 1]);
    const constant = new ConstantPad2d([1, -1, 0, 2], 3.5);
    expect([constant.padding, constant.value, constant.mode]).toEqual([[1, -1, 0, 2], 3.5, 'constant']);
    expect(new ConstantPad2d({ padding: 1, value: -2 }).value).toBe(-2);
    expect(new CircularPad2d(1).mode).toBe('circular');
    expect(new ZeroPad2d([1, 1, 1, 1]).config()).toEqual({ padding: 1 });
    expect(new ConstantPad2d([1, 2, 0, 0], 0.5).config()).toEqual({ padding: [1, 2, 0, 0], value: 0.5 });
    expect(new ZeroPad2d(1).type).toBe('ZeroPad2d');
  });

  test('bad arguments are refused, naming the layer and what was expected', () => {
    expect(() => new ReflectionPad2d([1, 2] as never)).toThrow("ReflectionPad2d: padding must be a whole number or four, (left, right, top, bottom) as PyTorch's, got [1,2]");
    expect(() => new ZeroPad2d(1.5)).toThrow('ZeroPad2d: padding must be a whole number or four');
    // A negative count crops, in every mode (PyTorch's F.pad).
    expect(new ReplicationPad2d([1, -1, 0, 0]).outputShape([1, 3, 4])).toEqual([1, 3, 4]);
    expect(() => new Pad2d('mirror' as never, 1)).toThrow("Pad2d: mode must be 'constant', 'reflect', 'replicate' or 'circular', got \"mirror\"");
    // ±∞ as PyTorch takes it (−∞ before a max pool); NaN refused, named.
    expect(new ConstantPad2d(1, -Infinity).value).toBe(-Infinity);
    expect(() => new ConstantPad2d(1 as never)).toThrow('ConstantPad2d: expected (padding, value) or an options object, got 1 argument');
    expect(() => new ConstantPad2d({ padding: 1 } as never)).toThrow("ConstantPad2d: value is required (PyTorch's ConstantPad2d(padding, value))");
    expect(() => new ConstantPad2d(1, NaN)).toThrow('ConstantPad2d: value must be a float32 number (±inf allowed), got NaN');
    expect(() => new ZeroPad2d({ padding: 1, value: 2 } as never)).toThrow("ZeroPad2d: unknown option 'value'; the options are padding");
  });

  test("the output shape, and PyTorch's limits on a reflection and a circular wrap", () => {
    expect(new ReflectionPad2d([1, 2, 3, 4]).outputShape([3, 5, 6])).toEqual([3, 12, 9]);
    expect(new ConstantPad2d([-1, -1, 0, -2], 0).outputShape([3, 5, 6])).toEqual([3, 3, 4]);
    expect(new ReflectionPad2d([3, 0, 0, 0]).outputShape([1, 1, 4])).toEqual([1, 1, 7]);
    expect(() => new ReflectionPad2d([4, 0, 0, 0]).outputShape([1, 9, 4])).toThrow('reflect padding of 4 needs a width of more than 4 (a mirror image reads 4 elements past the edge); the input is [1, 9, 4]');
    expect(() => new ReflectionPad2d([0, 0, 0, 1]).outputShape([2, 1, 4])).toThrow('reflect padding of 1 needs a height of more than 1');
    expect(new CircularPad2d(3).outputShape([1, 3, 3])).toEqual([1, 9, 9]);
    expect(() => new CircularPad2d([0, 0, 4, 0]).outputShape([1, 3, 5])).toThrow('circular padding of 4 needs a height of at least 4 (it would wrap around more than once)');
    expect(() => new ZeroPad2d(-3).outputShape([1, 6, 6])).toThrow('padding (-3, -3, -3, -3) crops the [1, 6, 6] input to nothing');
    expect(() => new ZeroPad2d(1).outputShape([10])).toThrow('expects an input of shape [C, H, W], got [10]');
  });

  test("Conv2d's padding_mode: its padding as a layer of its own (F.pad before the conv), the conv's kernels with no zeros", () => {
    const conv = new Conv2d({ outChannels: 4, kernelSize: 3, padding: [1, 2], paddingMode: 'reflect' });
    expect(conv.paddingLayer?.padding).toEqual([2, 2, 1, 1]);
    expect([conv.paddingLayer?.mode, conv.paddingLayer?.ofConv, conv.pads, conv.zeroPads]).toEqual(['reflect', true, { top: 1, bottom: 1, left: 2, right: 2 }, { top: 0, bottom: 0, left: 0, right: 0 }]);
    // 'same' of an even kernel: the odd row and column at the bottom and right, as PyTorch's _reversed_padding_repeated_twice.
    expect(new Conv2d({ outChannels: 4, kernelSize: [2, 4], padding: 'same', paddingMode: 'circular' }).paddingLayer?.padding).toEqual([1, 2, 0, 1]);
    expect(new Conv2d({ outChannels: 4, kernelSize: 3, paddingMode: 'replicate' }).paddingLayer).toBeUndefined();
    expect(new Conv2d({ outChannels: 4, kernelSize: 3, padding: 1, paddingMode: 'replicate' }).config()).toMatchObject({ padding: 1, padding_mode: 'replicate' });
    // A kernel that does not fit is named with the conv's own input and padding, not the padded node's.
    expect(() => new Conv2d({ outChannels: 2, kernelSize: 5, padding: 1, paddingMode: 'replicate' }).outputShape([1, 2, 2])).toThrow(
      "a 5×5 kernel (a span of 5×5) does not fit a 2×2 input padded by 1 in padding_mode 'replicate' (4×4; input [1, 2, 2])",
    );
    expect(new Conv2d({ outChannels: 4, kernelSize: 3, padding: 1 }).config()).not.toHaveProperty('padding_mode');
    // A mode other than 'zeros' with a symmetric padding runs on the tiled kernels (the padding is a pass of its own).
    expect(new Conv2d({ outChannels: 4, kernelSize: 3, padding: [1, 2], paddingMode: 'reflect' }).tiled).toBe(true);
    expect(() => new Conv2d({ outChannels: 6, kernelSize: 3, paddingMode: 'mirror' as never })).toThrow(`Conv2d: padding_mode must be one of PyTorch's ('zeros', 'reflect', 'replicate', 'circular'), got "mirror"`);
  });
});
