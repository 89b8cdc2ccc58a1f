/** relu_forward and relu_backward against the float64 reference. */
import { describe } from 'vitest';
import { recordPass } from '../../src/gpu/context.js';
import { reluBackward, reluForward } from '../../src/kernels/relu.js';
import { reluBackwardRef, reluForwardRef } from '../../src/reference/relu.js';
import { TOLERANCE, expectAllClose, f32, randomArray } from '../helpers/allclose.js';
import { gpuTest } from '../helpers/gpu.js';

describe('relu kernels', () => {
  // One element; lengths around and between multiples of the 256-wide workgroup.
  for (const length of [1, 2, 255, 257, 1000]) {
    gpuTest(`${length} elements`, async (ctx) => {
      const x = f32(randomArray(length, length));
      // Exact zeros: the kink, where the backward pass (which reads the output) gives 0.
      for (let i = 0; i < length; i += 7) x[i] = 0;
      const dy = f32(randomArray(length, length + 1));
      const tx = ctx.tensor('x', [length], { data: x });
      const tdy = ctx.tensor('dy', [length], { data: dy });
      const ty = ctx.tensor('y', [length]);
      const tdx = ctx.tensor('dx', [length]);
      ctx.fill(ty, NaN);
      ctx.fill(tdx, NaN);
      const kernels = [
        (await ctx.compile(reluForward)).bind({ x: tx, y: ty }, { length }),
        (await ctx.compile(reluBackward)).bind({ dy: tdy, y: ty, dx: tdx }, { length }),
      ];
      ctx.submit('relu test', (e) => recordPass(e, 'relu test', kernels));
      const y = reluForwardRef(x);
      // A maximum and a select: copies, exact.
      expectAllClose('relu_forward y', await ctx.read(ty), y, TOLERANCE.exact);
      expectAllClose('relu_backward dx', await ctx.read(tdx), reluBackwardRef(dy, y), TOLERANCE.exact);
    });
  }
});
