/**
 * Permute (src/kernels/permute.ts, src/reference/permute.ts, src/layers/permute.ts): the reference
 * against torch.permute; the kernel against the reference (the same bits: copies) for every
 * permutation of rank 2, 3 and 4 samples on awkward shapes and at a real size, each undone by its
 * inverse (the backward); the layer's arguments, torchvision's form with the batch, and its checks.
 */
import { describe, expect, test } from 'vitest';
import { recordPass, type GpuContext } from '../../src/gpu/context.js';
import { inversePermutation, permute, permuteParams } from '../../src/kernels/permute.js';
import { Permute } from '../../src/layers/permute.js';
import { permuteRef } from '../../src/reference/permute.js';
import { TOLERANCE, expectAllClose, randomArray } from '../helpers/allclose.js';
import { gpuTest } from '../helpers/gpu.js';
import { hasTorch, runTorch, skipWithoutTorch } from '../helpers/torch.js';

/** Every permutation of 0 … n − 1. */
const permutations = (n: number): number[][] => (n === 1 ? [[0]] : permutations(n - 1).flatMap((p) => Array.from({ length: n }, (_, i) => [...p.slice(0, i), n - 1, ...p.slice(i)])));

// [batch, ...sample]: one sample, sizes of 1, sizes off the workgroup.
const SHAPES: readonly (readonly [number, ...number[]])[] = [[3, 5, 7], [1, 1, 9], [2, 3, 4, 5], [1, 1, 6, 1], [2, 2, 3, 5, 3], [128, 64, 64]];

describe('the permute reference', () => {
  test('against torch.permute (the batch dimension kept first)', (ctx) => {
    skipWithoutTorch(ctx);
    const cases = SHAPES.slice(0, 5).flatMap(([batch, ...shape], i) => permutations(shape.length).map((dims) => ({ batch, shape, dims, x: Array.from(randomArray(batch * shape.reduce((a, b) => a * b, 1), i + 1)) })));
    const torch = runTorch<number[][]>(
      `
import json, sys, torch
out = []
for c in json.load(sys.stdin):
    x = torch.tensor(c['x'], dtype=torch.float64).reshape([c['batch']] + c['shape'])
    out.append(torch.permute(x, [0] + [d + 1 for d in c['dims']]).flatten().tolist())
print(json.dumps(out))
`,
      cases,
    );
    cases.forEach(({ batch, shape, dims, x }, i) => expect(Array.from(permuteRef(x, batch, shape, dims)), `[${shape}] by [${dims}]`).toEqual(torch[i]));
  });
  if (!hasTorch) test.skip('PyTorch is not installed here: the comparison skipped', () => {});
});

async function runPermute(ctx: GpuContext, x: Float64Array, shape: readonly number[], dims: readonly number[], batch: number): Promise<Float32Array> {
  const [tx, ty] = [ctx.tensor('x', [x.length], { data: x }), ctx.tensor('y', [x.length])];
  ctx.fill(ty, NaN);
  const k = (await ctx.compile(permute)).bind({ x: tx, y: ty }, permuteParams(shape, dims, batch));
  ctx.submit('permute test', (e) => recordPass(e, 'permute test', [k]));
  const y = (await ctx.read(ty)) as Float32Array;
  tx.buffer.destroy();
  ty.buffer.destroy();
  return y;
}

describe('the permute kernel', () => {
  for (const [batch, ...shape] of SHAPES) {
    gpuTest(`every permutation of [${batch}, ${shape.join(', ')}], and back by its inverse`, async (ctx) => {
      const x = Float64Array.from(randomArray(batch * shape.reduce((a, b) => a * b, 1), shape.length + batch), Math.fround);
      for (const dims of permutations(shape.length)) {
        const y = await runPermute(ctx, x, shape, dims, batch);
        expectAllClose(`[${shape}] by [${dims}]`, y, permuteRef(x, batch, shape, dims), TOLERANCE.exact);
        const back = await runPermute(ctx, Float64Array.from(y), dims.map((d) => shape[d]!), inversePermutation(dims), batch);
        expectAllClose(`[${dims.map((d) => shape[d]!)}] by the inverse [${inversePermutation(dims)}]`, back, x, TOLERANCE.exact);
      }
    }, 60_000);
  }
});

describe('the Permute layer', () => {
  test("dims over the sample's dimensions (the batch kept first), or torchvision's with the batch as 0", () => {
    expect(new Permute([1, 0]).outputShape([64, 16])).toEqual([16, 64]);
    expect(new Permute({ dims: [2, 0, 1] }).outputShape([3, 4, 5])).toEqual([5, 3, 4]);
    expect(new Permute([0, 2, 3, 1]).outputShape([3, 4, 5])).toEqual([4, 5, 3]);
    expect(new Permute([0, 2, 3, 1]).sampleDims(3)).toEqual([1, 2, 0]);
    expect(new Permute([-1, 0]).outputShape([2, 7])).toEqual([7, 2]);
    expect(new Permute([1, 0]).config()).toEqual({ dims: [1, 0] });
    expect(() => new Permute([1, 0]).outputShape([2, 3, 4])).toThrow("dims [1,0] has 2 entries; the input's samples have 3 dimensions");
    expect(() => new Permute([1, 0, 0]).outputShape([2, 3, 4])).toThrow('dims [1,0,0] is not a permutation of 0 … 2');
    expect(() => new Permute([1, 0, 2]).outputShape([2, 3])).toThrow('dims [1,0,2] moves the batch dimension (0): it stays first here');
    expect(() => new Permute([0]).outputShape([2])).toThrow('Permute: dims must be a list of at least two whole numbers');
    expect(() => new Permute([1, 0]).outputShape([8])).toThrow('expects samples of 2 to 4 dimensions, got [8]');
    expect(() => new Permute([0, 1, 2, 3, 4]).outputShape([1, 2, 3, 4, 5])).toThrow('expects samples of 2 to 4 dimensions');
    expect(() => new (Permute as unknown as new (...a: unknown[]) => object)(1, 0)).toThrow('Permute: expected one argument (dims, a list) or an options object, got 2');
  });
});
