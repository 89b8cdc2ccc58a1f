/**
 * sample_norm_forward, sample_norm_backward_input and sample_norm_backward_affine (GroupNorm and
 * LayerNorm) against the float64 reference: segments shorter and longer than a workgroup, of one
 * element, a group of one channel, LayerNorm over one or several trailing dimensions, real sizes
 * (segments of 10,816 elements, affine sums over 86,528), and more segments than 65,535
 * workgroups (the folded grid).
 */
import { describe, expect } from 'vitest';
import { recordPass } from '../../src/gpu/context.js';
import type { GpuContext } from '../../src/gpu/context.js';
import { sampleNormBackwardAffine, sampleNormBackwardInput, sampleNormForward, sampleNormVariant } from '../../src/kernels/sample-norm.js';
import { groupNormShape, layerNormShape, sampleNormBackwardRef, sampleNormForwardRef, type SampleNormShape } from '../../src/reference/sample-norm.js';
import { expectAllClose, f32, randomArray } from '../helpers/allclose.js';
import { gpuTest } from '../helpers/gpu.js';

/** Within `relative` of the tensor's largest |value| (f32 sums over a segment or a channel, of either sign). */
function expectNear(label: string, got: ArrayLike<number>, want: ArrayLike<number>, relative = 1e-5): void {
  let scale = 0;
  for (let i = 0; i < want.length; i++) scale = Math.max(scale, Math.abs(want[i]!));
  expect(scale, `${label}: a reference of zeros checks nothing`).toBeGreaterThan(0);
  expectAllClose(label, got, want, { atol: relative * scale, rtol: 0 });
}

/** Every way of taking a segment (an invocation, four elements at a time where it can, a workgroup), each against the reference. */
async function check(ctx: GpuContext, name: string, s: SampleNormShape, seed: number): Promise<void> {
  for (const serial of [1, 0]) {
    // The affine gradients an invocation an index where runs are single elements (LayerNorm's), else a workgroup.
    const affineSerial = s.affineStride === 1 ? serial : 0;
    const p = { ...s, serial, affineSerial };
    for (const vec4 of new Set([false, sampleNormVariant(p).VEC4])) {
      await checkOne(ctx, `${name}${serial ? (vec4 ? ' (serial, VEC4)' : ' (serial)') : ' (a workgroup a segment)'}`, p, seed, vec4);
    }
  }
}

async function checkOne(ctx: GpuContext, name: string, s: SampleNormShape & { serial: number; affineSerial: number }, seed: number, vec4: boolean): Promise<void> {
  const n = s.batch * s.sampleSize;
  const segments = n / s.segmentLength;
  // Inputs off zero (a mean to subtract) and spread (a variance to divide by).
  const x = f32(randomArray(n, seed, -2, 5));
  const w = f32(randomArray(s.affineCount, seed + 1, 0.5, 1.5));
  const b = f32(randomArray(s.affineCount, seed + 2));
  const dy = f32(randomArray(n, seed + 3));
  const scope = ctx.scoped(() => ({
    x: ctx.tensor('x', [n], { data: x }),
    w: ctx.tensor('weight', [s.affineCount], { data: w }),
    b: ctx.tensor('bias', [s.affineCount], { data: b }),
    dy: ctx.tensor('dy', [n], { data: dy }),
    y: ctx.tensor('y', [n]),
    stats: ctx.tensor('stats', [2 * segments]),
    dx: ctx.tensor('dx', [n]),
    dw: ctx.tensor('dweight', [s.affineCount]),
    db: ctx.tensor('dbias', [s.affineCount]),
  }));
  const t = scope.value;
  try {
    for (const out of [t.y, t.stats, t.dx, t.dw, t.db]) ctx.fill(out, NaN);
    const dispatches = [
      (await ctx.compile(sampleNormForward, { VEC4: vec4 })).bind({ x: t.x, weight: t.w, bias: t.b, y: t.y, stats: t.stats }, s),
      (await ctx.compile(sampleNormBackwardAffine)).bind({ x: t.x, dy: t.dy, stats: t.stats, dweight: t.dw, dbias: t.db }, s),
      (await ctx.compile(sampleNormBackwardInput, { VEC4: vec4 })).bind({ x: t.x, dy: t.dy, weight: t.w, stats: t.stats, dx: t.dx }, s),
    ];
    ctx.submit('sample_norm test', (e) => recordPass(e, 'sample_norm test', dispatches));
    const ref = sampleNormForwardRef(x, w, b, s);
    const grads = sampleNormBackwardRef(dy, x, w, s);
    const stats = await ctx.read(t.stats);
    expectNear(`${name}: y`, await ctx.read(t.y), ref.y);
    expectNear(`${name}: mean`, stats.filter((_, i) => i % 2 === 0), ref.mean);
    expectNear(`${name}: rstd`, stats.filter((_, i) => i % 2 === 1), ref.rstd);
    expectNear(`${name}: dx`, await ctx.read(t.dx), grads.dx);
    expectNear(`${name}: dweight`, await ctx.read(t.dw), grads.dweight);
    expectNear(`${name}: dbias`, await ctx.read(t.db), grads.dbias);
  } finally {
    scope.destroy();
  }
}

describe('sample_norm kernels against the float64 reference', () => {
  gpuTest('GroupNorm(2) of 6 channels of 5×7, batch 3 (segments of 105: a workgroup and a part)', (ctx) => check(ctx, 'GroupNorm(2, 6)', groupNormShape(3, 6, 35, 2, 1e-5), 10));
  gpuTest('GroupNorm(6) of 6 channels (a group a channel, InstanceNorm in effect), 3×3 planes', (ctx) => check(ctx, 'GroupNorm(6, 6)', groupNormShape(2, 6, 9, 6, 1e-5), 20));
  gpuTest('GroupNorm(1) of [5] features (a layer norm over them), batch 7', (ctx) => check(ctx, 'GroupNorm(1, 5)', groupNormShape(7, 5, 1, 1, 1e-3), 30));
  gpuTest('LayerNorm(10) of [3, 10] samples: three segments a sample, affine per element', (ctx) => check(ctx, 'LayerNorm(10)', layerNormShape(4, 30, 10, 1e-5), 40));
  gpuTest('LayerNorm([4, 5, 5]) over whole samples, batch 2', (ctx) => check(ctx, 'LayerNorm([4, 5, 5])', layerNormShape(2, 100, 100, 1e-5), 50));
  // VEC4 (a segment an invocation, four elements at a time): runs of 4 and 8 elements a channel, and LayerNorm(12)'s consecutive weights.
  gpuTest('GroupNorm(2) of 4 channels of 2×2 and GroupNorm(3) of 6 channels of 2×4, batch 3', async (ctx) => {
    await check(ctx, 'GroupNorm(2, 4)', groupNormShape(3, 4, 4, 2, 1e-5), 64);
    await check(ctx, 'GroupNorm(3, 6)', groupNormShape(3, 6, 8, 3, 1e-5), 66);
  });
  gpuTest('LayerNorm(12) of [3, 12] samples, batch 2', (ctx) => check(ctx, 'LayerNorm(12)', layerNormShape(2, 36, 12, 1e-5), 68));
  gpuTest('LayerNorm(2): two-element segments, a large eps', (ctx) => check(ctx, 'LayerNorm(2)', layerNormShape(3, 8, 2, 0.5), 60));
  gpuTest('real size: GroupNorm(4) and LayerNorm([16, 26, 26]) of 16 channels of 26×26, batch 128', async (ctx) => {
    await check(ctx, 'GroupNorm(4, 16) at batch 128', groupNormShape(128, 16, 676, 4, 1e-5), 70);
    await check(ctx, 'LayerNorm([16, 26, 26]) at batch 128', layerNormShape(128, 10_816, 10_816, 1e-5), 80);
  }, 120_000);
  // 2 samples of [35,000, 2] normalised over the last 2: 70,000 segments, a workgroup each. eps
  // 0.01: two close values have a variance far below eps 1e-5, and x − μ's f32 rounding (2e-7 at
  // |x| ~ 5, in any f32 engine) times rstd up to 1/√eps = 316 would be 7e-5; rstd ≤ 10 here.
  gpuTest('70,000 segments (the grid folded past 65,535 workgroups)', (ctx) => check(ctx, 'LayerNorm(2) folded', layerNormShape(2, 70_000, 2, 0.01), 90), 120_000);
});
