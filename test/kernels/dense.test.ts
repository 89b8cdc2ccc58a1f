/** dense_forward, dense_backward_input, dense_backward_weight against the float64 reference. */
import { describe } from 'vitest';
import { recordPass } from '../../src/gpu/context.js';
import { denseBackwardInput, denseBackwardWeight, denseForward } from '../../src/kernels/dense.js';
import { denseBackwardInputRef, denseBackwardWeightRef, denseForwardRef } from '../../src/reference/dense.js';
import { TOLERANCE, expectAllClose, f32, randomArray } from '../helpers/allclose.js';
import { gpuTest } from '../helpers/gpu.js';

// Batch 1, one feature, sizes that are not multiples of the workgroup (64), and one above it.
const SHAPES = [
  [1, 1, 1],
  [1, 2, 2],
  [3, 5, 7],
  [7, 65, 3],
  [2, 130, 67],
] as const;

describe('dense kernels', () => {
  for (const [batch, inFeatures, outFeatures] of SHAPES) {
    gpuTest(`batch ${batch}, in ${inFeatures}, out ${outFeatures}`, async (ctx) => {
      const p = { batch, inFeatures, outFeatures };
      const x = f32(randomArray(batch * inFeatures, 11));
      const w = f32(randomArray(outFeatures * inFeatures, 12));
      const dy = f32(randomArray(batch * outFeatures, 13));
      const tx = ctx.tensor('x', [batch, inFeatures], { data: x });
      const tw = ctx.tensor('w', [outFeatures, inFeatures], { data: w });
      const tdy = ctx.tensor('dy', [batch, outFeatures], { data: dy });
      const ty = ctx.tensor('y', [batch, outFeatures]);
      const tdx = ctx.tensor('dx', [batch, inFeatures]);
      const tdw = ctx.tensor('dw', [outFeatures, inFeatures]);
      for (const t of [ty, tdx, tdw]) ctx.fill(t, NaN);
      const kernels = [
        (await ctx.compile(denseForward)).bind({ x: tx, weight: tw, y: ty }, p),
        (await ctx.compile(denseBackwardInput)).bind({ dy: tdy, weight: tw, dx: tdx }, p),
        (await ctx.compile(denseBackwardWeight)).bind({ dy: tdy, x: tx, dweight: tdw }, p),
      ];
      ctx.submit('dense test', (e) => recordPass(e, 'dense test', kernels));
      expectAllClose('dense_forward y', await ctx.read(ty), denseForwardRef(x, w, batch, inFeatures, outFeatures), TOLERANCE.forward);
      expectAllClose('dense_backward_input dx', await ctx.read(tdx), denseBackwardInputRef(dy, w, batch, inFeatures, outFeatures), TOLERANCE.gradient);
      expectAllClose('dense_backward_weight dW', await ctx.read(tdw), denseBackwardWeightRef(dy, x, batch, inFeatures, outFeatures), TOLERANCE.gradient);
    });
  }
});
