/**
 * residual_add (src/kernels/residual.ts) in its variants, scalar and VEC4, against float64 sums
 * rounded to f32 (one f32 addition is correctly rounded: the GPU's must be the same bits).
 */
import { describe, expect } from 'vitest';
import { recordPass } from '../../src/gpu/context.js';
import { residualAdd, residualVariant } from '../../src/kernels/residual.js';
import { TOLERANCE, expectAllClose, f32, randomArray } from '../helpers/allclose.js';
import { gpuTest } from '../helpers/gpu.js';

describe('residual_add', () => {
  // One element; lengths off the four elements an invocation and the 256-wide workgroup; a block's output at batch 128.
  // VEC4 where the length is whole vec4s (4, 1024 + 4, a block's output), with and without.
  for (const [length, vec4] of [[1, false], [6, false], [1023, false], [1025, false], [4, true], [1028, true], [128 * 16 * 14 * 14, false], [128 * 16 * 14 * 14, true]] as const) {
    gpuTest(`${length} elements${vec4 ? ', VEC4' : ''}: the sum, the sum in place, the copy, the sum's ReLU`, async (ctx) => {
      expect(residualVariant(length).VEC4 || !vec4, 'VEC4 only for whole vec4s').toBe(true);
      const x = f32(randomArray(length, length, -3, 3));
      const other = f32(randomArray(length, length + 1, -3, 3));
      const tx = ctx.tensor('x', [length], { data: x });
      const tother = ctx.tensor('other', [length], { data: other });
      const [sum, copy, rectified] = [ctx.tensor('sum', [length]), ctx.tensor('copy', [length]), ctx.tensor('rectified', [length])];
      const accumulated = ctx.tensor('accumulated', [length], { data: x });
      ctx.fill(sum, NaN);
      ctx.fill(copy, NaN);
      ctx.fill(rectified, NaN);
      const kernels = [
        (await ctx.compile(residualAdd, { VEC4: vec4 })).bind({ x: tx, other: tother, y: sum }, { length }),
        (await ctx.compile(residualAdd, { ACCUMULATE: true, VEC4: vec4 })).bind({ x: accumulated, other: tother }, { length }),
        (await ctx.compile(residualAdd, { COPY: true, VEC4: vec4 })).bind({ x: tx, y: copy }, { length }),
        (await ctx.compile(residualAdd, { RELU: true, VEC4: vec4 })).bind({ x: tx, other: tother, y: rectified }, { length }),
      ];
      ctx.submit('residual_add test', (e) => recordPass(e, 'residual_add test', kernels));
      const want = Float64Array.from(x, (v, i) => Math.fround(v + other[i]!));
      if (length > 1) expect(want.some((v) => v < 0) && want.some((v) => v > 0), 'sums of both signs (the ReLU variant zeroes some)').toBe(true);
      expectAllClose('y = x + other', await ctx.read(sum), want, TOLERANCE.exact);
      expectAllClose('x += other', await ctx.read(accumulated), want, TOLERANCE.exact);
      expectAllClose('y = x', await ctx.read(copy), x, TOLERANCE.exact);
      expectAllClose('y = max(x + other, 0)', await ctx.read(rectified), want.map((v) => Math.max(v, 0)), TOLERANCE.exact);
    });
  }

  gpuTest('each variant binds only what it reads and writes', async (ctx) => {
    const t = (label: string) => ctx.tensor(label, [8]);
    await expect(ctx.compile(residualAdd, { VEC4: true }).then((k) => k.bind({ x: ctx.tensor('x6', [6]), other: ctx.tensor('o6', [6]), y: ctx.tensor('y6', [6]) }, { length: 6 }))).rejects.toThrow(/VEC4/);
    const copy = await ctx.compile(residualAdd, { COPY: true });
    expect(() => copy.bind({ x: t('x'), other: t('other'), y: t('y') }, { length: 8 })).toThrow(/other/);
    const accumulate = await ctx.compile(residualAdd, { ACCUMULATE: true });
    expect(() => accumulate.bind({ x: t('x'), other: t('other') } as never, { length: 8 })).not.toThrow();
    expect(() => accumulate.bind({ x: t('x'), other: t('other'), y: t('y') }, { length: 8 })).toThrow(/y/);
  });

  // PyTorch's relu keeps a NaN (max(·, 0) gave 0 on lavapipe): sums NaN (of both signs, and ∞ − ∞),
  // ±∞, −0 and ±1, against Math.max of the f32 sum (NaN to NaN), bit for bit.
  gpuTest("NaN and ±∞: the sum's ReLU keeps a NaN, as PyTorch's relu does", async (ctx) => {
    const x = new Float32Array(Uint32Array.from([0x7fc00000, 0xffc00000, 0x7f800000, 0xff800000, 0x7f800000, 0x80000000, 0x3f800000, 0xbf800000]).buffer);
    const other = f32([1, -1, 1, -1, -Infinity, -0, -2, 2]);
    const length = x.length;
    const [tx, tother, y] = [ctx.tensor('x', [length], { data: x }), ctx.tensor('other', [length], { data: other }), ctx.tensor('rectified', [length])];
    ctx.fill(y, NaN);
    const want = Array.from(x, (v, i) => Math.max(Math.fround(v + other[i]!), 0));
    expect(want.filter(Number.isNaN).length, 'NaN sums').toBe(3);
    for (const vec4 of [false, true]) {
      ctx.fill(y, NaN);
      const kernel = (await ctx.compile(residualAdd, { RELU: true, VEC4: vec4 })).bind({ x: tx, other: tother, y }, { length });
      ctx.submit('residual_add NaN test', (e) => recordPass(e, 'residual_add NaN test', [kernel]));
      expect(Array.from(await ctx.read(y)), `y = relu(x + other)${vec4 ? ', VEC4' : ''}`).toEqual(want);
    }
  });
});
