/**
 * PReLU (src/kernels/prelu.ts, preluRef / preluBackwardRef of src/reference/activation.ts): the
 * reference against central differences (input and slopes), the kernels against it on awkward
 * shapes and at a real size, the layer's arguments as PyTorch's.
 */
import { describe, expect, test } from 'vitest';
import { recordPass } from '../../src/gpu/context.js';
import { prelu, preluBackwardWeight, preluSplits, preluVariant } from '../../src/kernels/prelu.js';
import { PReLU } from '../../src/layers/activations.js';
import { planModel } from '../../src/plan/plan.js';
import { modelFileText, parseModelFile } from '../../src/models/model-file.js';
import { Sequential } from '../../src/layers/sequential.js';
import { Flatten } from '../../src/layers/flatten.js';
import { Linear } from '../../src/layers/linear.js';
import { preluBackwardRef, preluRef } from '../../src/reference/activation.js';
import { TOLERANCE, expectAllClose, f32, randomArray } from '../helpers/allclose.js';
import { FD, numericalGrad } from '../helpers/finite-differences.js';
import { gpuTest } from '../helpers/gpu.js';

// [batch, channels, area]: one slope for all (channels 1), a slope per channel of a map, per feature (area 1), maps of whole vec4s (VEC4), the seed CNN's 16 × 26 × 26 at batch 128.
// And more channels than a grid dimension's 65,535 workgroups (each workgroup then takes several),
// and one slope for a whole map at batch 128 (1.38 M elements: the splits' cap of 64).
const SHAPES = [[3, 1, 35], [2, 5, 7], [9, 6, 1], [1, 3, 1], [3, 5, 4], [2, 7, 12], [128, 16, 26 * 26], [2, 70_000, 1], [128, 1, 16 * 26 * 26]] as const;

describe('the PReLU reference', () => {
  test.each(SHAPES.slice(0, 4))('against central differences: batch %i, %i channels of %i', (batch, channels, area) => {
    const n = batch * channels * area;
    // Inputs away from 0 (the kink), of both signs.
    const x = randomArray(n, 1, -2, 2).map((v) => (Math.abs(v) < 0.05 ? v + 0.1 : v));
    const w = randomArray(channels, 2, -0.5, 0.8);
    const dy = randomArray(n, 3, -1, 1);
    const { dx, dweight } = preluBackwardRef(dy, x, w, channels, area);
    expectAllClose('dx', dx, numericalGrad((v) => preluRef(v, w, channels, area), x, dy), FD);
    expectAllClose('dweight', dweight, numericalGrad((v) => preluRef(x, v, channels, area), w, dy), FD);
  });
});

describe('prelu and prelu_backward_weight', () => {
  for (const [batch, channels, area] of SHAPES) {
    gpuTest(`batch ${batch}, ${channels} channels of ${area}`, async (ctx) => {
      const n = batch * channels * area;
      const x = f32(randomArray(n, n, -2, 2));
      x[0] = 0; // the kink: PyTorch's x > 0 side (y = w·0, dx = w·dy, no slope gradient)
      const w = f32(randomArray(channels, channels + 7, -0.5, 0.8));
      const dy = f32(randomArray(n, n + 1, -1, 1));
      const t = (label: string, data: Float64Array) => ctx.tensor(label, [data.length], { data });
      const [tx, tw, tdy] = [t('x', x), t('weight', w), t('dy', dy)];
      const splits = preluSplits(batch * area);
      const [y, dx, partial] = [ctx.tensor('y', [n]), ctx.tensor('dx', [n]), ctx.tensor('partial', [splits * channels])];
      for (const u of [y, dx, partial]) ctx.fill(u, NaN);
      const want = preluBackwardRef(dy, x, w, channels, area);
      // The layer's variant for the shape (VEC4 where the area is a multiple of 4) and the scalar one.
      for (const variant of new Set([preluVariant(area).VEC4, false])) {
        for (const u of [y, dx]) ctx.fill(u, NaN);
        const kernels = [
          (await ctx.compile(prelu, { VEC4: variant })).bind({ x: tx, weight: tw, v: tx, out: y }, { count: n, channels, area }),
          (await ctx.compile(prelu, { VEC4: variant })).bind({ x: tx, weight: tw, v: tdy, out: dx }, { count: n, channels, area }),
        ];
        ctx.submit('prelu test', (e) => recordPass(e, 'prelu test', kernels));
        // One f32 product an element: the same bits as float64's product rounded.
        expectAllClose(`y (VEC4 ${variant})`, await ctx.read(y), Float64Array.from(preluRef(x, w, channels, area), Math.fround), TOLERANCE.exact);
        expectAllClose(`dx (VEC4 ${variant})`, await ctx.read(dx), Float64Array.from(want.dx, Math.fround), TOLERANCE.exact);
      }
      const weightGradient = [(await ctx.compile(preluBackwardWeight)).bind({ x: tx, dy: tdy, partial }, { batch, channels, area, splits })];
      ctx.submit('prelu test', (e) => recordPass(e, 'prelu test', weightGradient));
      // The splits' partial sums (up to 16,384 products each) added in order, as the network's reduction does.
      const sums = await ctx.read(partial);
      const dweight = Float64Array.from({ length: channels }, (_, c) => Array.from({ length: splits }, (_, k) => sums[k * channels + c]!).reduce((a, b) => Math.fround(a + b), 0));
      expectAllClose('dweight', dweight, want.dweight, TOLERANCE.gradient);
    });
  }
});

describe('the PReLU layer', () => {
  test("PyTorch's arguments, its weight, its check of the channels", () => {
    const p = new PReLU(16, 0.1);
    expect([p.numParameters, p.init, p.parameterSpecs()]).toEqual([16, 0.1, [{ name: 'weight', shape: [16], init: { constant: 0.1 } }]]);
    expect(new PReLU().config()).toEqual({ num_parameters: 1, init: 0.25 });
    expect(new PReLU({ numParameters: 3 }).layout([3, 4, 5])).toEqual({ channels: 3, area: 20 });
    expect(new PReLU().layout([3, 4, 5])).toEqual({ channels: 1, area: 60 });
    expect(() => new PReLU(0)).toThrow('PReLU: num_parameters must be a whole number ≥ 1, got 0');
    expect(() => planModel(new Sequential(new Flatten(), new Linear({ outFeatures: 6 }), new PReLU(4)), { inputShape: [1, 4, 4], loss: 'mse' })).toThrow(
      "layer '2' (PReLU): num_parameters is 4, so the input needs 4 channels (its first dimension), got [6] (PyTorch: num_parameters 1, or the channels)",
    );
    const text = JSON.stringify({ input: [6], layers: [{ type: 'PReLU', num_parameters: 6, init: -0.5 }, { type: 'Linear', out_features: 2, bias: true }] });
    const { model, input } = parseModelFile(text, 'p.json');
    expect(JSON.parse(modelFileText(model, input)).layers).toEqual(JSON.parse(text).layers);
  });
});
