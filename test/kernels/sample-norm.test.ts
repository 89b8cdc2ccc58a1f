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
import { AFFINE_MODE, sampleNormBackwardAffine, sampleNormBackwardInput, sampleNormForward, sampleNormVariant } from '../../src/kernels/sample-norm.js';
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
    // The affine gradients where runs are single elements (LayerNorm's): an invocation an index and
    // 8 indices a workgroup beside the serial forward, a workgroup an index beside the other; else a workgroup an index.
    const affineModes = s.affineStride !== 1 ? [AFFINE_MODE.workgroup] : serial ? [AFFINE_MODE.serial, AFFINE_MODE.across] : [AFFINE_MODE.workgroup];
    for (const affineMode of affineModes) {
      const p = { ...s, serial, affineMode };
      for (const vec4 of new Set([false, sampleNormVariant(p).VEC4])) {
        const affine = Object.entries(AFFINE_MODE).find(([, v]) => v === affineMode)![0];
        await checkOne(ctx, `${name}${serial ? (vec4 ? ' (serial, VEC4)' : ' (serial)') : ' (a workgroup a segment)'}, affine ${affine}`, p, seed, vec4);
      }
    }
  }
}

/** dweight and dbias with the lanes across indices (AFFINE_MODE.across) and a workgroup an index: the same bits. */
async function expectAcrossBits(ctx: GpuContext, s: SampleNormShape, seed: number): Promise<void> {
  const n = s.batch * s.sampleSize;
  const segments = n / s.segmentLength;
  const stats = Float32Array.from(randomArray(2 * segments, seed + 4, 0.2, 2));
  const scope = ctx.scoped(() => ({
    x: ctx.tensor('x', [n], { data: f32(randomArray(n, seed, -2, 5)) }),
    dy: ctx.tensor('dy', [n], { data: f32(randomArray(n, seed + 3)) }),
    stats: ctx.tensor('stats', [2 * segments], { data: stats }),
    outs: [0, 1].map(() => ({ dw: ctx.tensor('dweight', [s.affineCount]), db: ctx.tensor('dbias', [s.affineCount]) })),
  }));
  const t = scope.value;
  try {
    const kernel = await ctx.compile(sampleNormBackwardAffine);
    const modes = [AFFINE_MODE.workgroup, AFFINE_MODE.across];
    const dispatches = modes.map((affineMode, i) => {
      ctx.fill(t.outs[i]!.dw, NaN);
      ctx.fill(t.outs[i]!.db, NaN);
      return kernel.bind({ x: t.x, dy: t.dy, stats: t.stats, dweight: t.outs[i]!.dw, dbias: t.outs[i]!.db }, { ...s, serial: 1, affineMode });
    });
    ctx.submit('sample_norm affine modes test', (e) => recordPass(e, 'sample_norm affine modes test', dispatches));
    const [dwWorkgroup, dwAcross, dbWorkgroup, dbAcross] = await Promise.all([t.outs[0]!.dw, t.outs[1]!.dw, t.outs[0]!.db, t.outs[1]!.db].map((x) => ctx.read(x)));
    expect(Array.from(dwAcross!), 'dweight across').toEqual(Array.from(dwWorkgroup!));
    expect(Array.from(dbAcross!), 'dbias across').toEqual(Array.from(dbWorkgroup!));
    expect(dwAcross!.every(Number.isFinite), 'dweight across written').toBe(true);
  } finally {
    scope.destroy();
  }
}

async function checkOne(ctx: GpuContext, name: string, s: SampleNormShape & { serial: number; affineMode: number }, seed: number, vec4: boolean): Promise<void> {
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
  // The Transformer example's LayerNorm(64) over [28, 64] at batch 128 (64 indices: 8 workgroups across), LayerNorm(26) (26: the last workgroup part empty), LayerNorm(3).
  gpuTest('affine gradients with the lanes across indices: the bits of a workgroup an index', async (ctx) => {
    await expectAcrossBits(ctx, layerNormShape(128, 28 * 64, 64, 1e-5), 100);
    await expectAcrossBits(ctx, layerNormShape(9, 5 * 26, 26, 1e-5), 110);
    await expectAcrossBits(ctx, layerNormShape(2, 3, 3, 1e-5), 120);
  }, 120_000);
  gpuTest('real size: LayerNorm(64) over [28, 64], batch 128 (the Transformer example)', (ctx) => check(ctx, 'LayerNorm(64) at batch 128', layerNormShape(128, 28 * 64, 64, 1e-5), 130), 120_000);
  // 2 samples of [35,000, 2] normalised over the last 2: 70,000 segments, a workgroup each. eps
  // 0.01: two close values have a variance far below eps 1e-5, and x − μ's f32 rounding (2e-7 at
  // |x| ~ 5, in any f32 engine) times rstd up to 1/√eps = 316 would be 7e-5; rstd ≤ 10 here.
  gpuTest('70,000 segments (the grid folded past 65,535 workgroups)', (ctx) => check(ctx, 'LayerNorm(2) folded', layerNormShape(2, 70_000, 2, 0.01), 90), 120_000);
});
