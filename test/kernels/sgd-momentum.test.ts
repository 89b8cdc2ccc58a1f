/** sgd_momentum against the float64 reference, over two consecutive steps. */
import { describe } from 'vitest';
import { recordPass } from '../../src/gpu/context.js';
import { sgdMomentum } from '../../src/kernels/sgd-momentum.js';
import { sgdMomentumRef } from '../../src/reference/sgd-momentum.js';
import { TOLERANCE, expectAllClose, f32, randomArray } from '../helpers/allclose.js';
import { gpuTest } from '../helpers/gpu.js';

describe('sgd_momentum', () => {
  // One parameter; lengths around multiples of the 256-wide workgroup; momentum 0 (plain SGD).
  for (const [length, lr, momentum] of [
    [1, 0.1, 0.9],
    [255, 0.01, 0.9],
    [257, 0.5, 0],
    [1000, 0.05, 0.5],
  ] as const) {
    gpuTest(`${length} parameters, lr ${lr}, momentum ${momentum}`, async (ctx) => {
      const param0 = f32(randomArray(length, length));
      const grad1 = f32(randomArray(length, length + 1));
      const grad2 = f32(randomArray(length, length + 2));
      const tparam = ctx.tensor('param', [length], { data: param0 });
      const tvelocity = ctx.tensor('velocity', [length]); // zero, as PyTorch starts
      const tgrad = ctx.tensor('grad', [length], { data: grad1 });
      const k = (await ctx.compile(sgdMomentum)).bind({ grad: tgrad, velocity: tvelocity, param: tparam }, { length, lr, momentum });
      const [lr32, momentum32] = [Math.fround(lr), Math.fround(momentum)];

      ctx.submit('sgd momentum step 1', (e) => recordPass(e, 'sgd momentum step 1', [k]));
      const step1 = sgdMomentumRef(param0, grad1, new Float64Array(length), lr32, momentum32);
      expectAllClose('step 1 velocity', await ctx.read(tvelocity), step1.velocity, TOLERANCE.forward);
      expectAllClose('step 1 param', await ctx.read(tparam), step1.param, TOLERANCE.forward);

      ctx.write(tgrad, grad2);
      ctx.submit('sgd momentum step 2', (e) => recordPass(e, 'sgd momentum step 2', [k]));
      const step2 = sgdMomentumRef(step1.param, grad2, step1.velocity, lr32, momentum32);
      expectAllClose('step 2 velocity', await ctx.read(tvelocity), step2.velocity, TOLERANCE.forward);
      expectAllClose('step 2 param', await ctx.read(tparam), step2.param, TOLERANCE.forward);
    });
  }
});
