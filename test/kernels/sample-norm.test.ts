/**
 * sample_norm_forward, sample_norm_backward_input and sample_norm_backward_affine (GroupNorm and
 * LayerNorm) against the float64 reference: segments shorter and longer than a workgroup, of one
 * element, a group of one channel, LayerNorm over one or several trailing dimensions, real sizes
 * (segments of 10,816 elements, affine sums over 86,528), and more segments than 65,535
 * workgroups (the folded grid). The SUBGROUP variant (LayerNorm of at most 64 features on an
 * adapter with subgroups of 8) against the reference too, and bit for bit against VEC4.
 */
import { describe, expect } from 'vitest';
import { recordPass } from '../../src/gpu/context.js';
import type { Dispatch, GpuContext } from '../../src/gpu/context.js';
import { AFFINE_MODE, sampleNormBackwardAffine, sampleNormBackwardInput, sampleNormForward, sampleNormVariant } from '../../src/kernels/sample-norm.js';
import { groupNormShape, layerNormShape, sampleNormBackwardRef, sampleNormForwardRef, type SampleNormShape } from '../../src/reference/sample-norm.js';
import { TOLERANCE, expectAllClose, f32, randomArray } from '../helpers/allclose.js';
import { gpuTest, withoutSubgroups } from '../helpers/gpu.js';

type Variant = { readonly VEC4: boolean; readonly SUBGROUP: boolean };
const variantName = (v: Variant) => (v.SUBGROUP ? 'VEC4, SUBGROUP' : v.VEC4 ? 'VEC4' : '');

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
      const chosen = sampleNormVariant(p, ctx);
      const variants: Variant[] = [{ VEC4: false, SUBGROUP: false }, ...(chosen.VEC4 ? [{ VEC4: true, SUBGROUP: false }] : []), ...(chosen.SUBGROUP ? [chosen] : [])];
      for (const variant of variants) {
        const affine = Object.entries(AFFINE_MODE).find(([, v]) => v === affineMode)![0];
        const how = serial ? ` (serial${variant.VEC4 ? `, ${variantName(variant)}` : ''})` : ' (a workgroup a segment)';
        await checkOne(ctx, `${name}${how}, affine ${affine}`, p, seed, variant);
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

async function checkOne(ctx: GpuContext, name: string, s: SampleNormShape & { serial: number; affineMode: number }, seed: number, variant: Variant): Promise<void> {
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
      (await ctx.compile(sampleNormForward, variant)).bind({ x: t.x, weight: t.w, bias: t.b, y: t.y, stats: t.stats }, s),
      (await ctx.compile(sampleNormBackwardAffine)).bind({ x: t.x, dy: t.dy, stats: t.stats, dweight: t.dw, dbias: t.db }, s),
      (await ctx.compile(sampleNormBackwardInput, variant)).bind({ x: t.x, dy: t.dy, weight: t.w, stats: t.stats, dx: t.dx }, s),
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

/**
 * The forward's y and stats and the input gradient's dx with SUBGROUP (on this device) and without
 * (VEC4, on the device described without subgroups of 8): the same bits, every element written.
 */
async function expectSubgroupBits(ctx: GpuContext, s: SampleNormShape, seed: number): Promise<void> {
  const p = { ...s, serial: 1, affineMode: AFFINE_MODE.serial };
  const plain = withoutSubgroups(ctx);
  expect(sampleNormVariant(p, plain), 'without subgroups').toEqual({ VEC4: true, SUBGROUP: false });
  expect(sampleNormVariant(p, ctx), 'with subgroups of 8').toEqual({ VEC4: true, SUBGROUP: true });
  const n = s.batch * s.sampleSize;
  const segments = n / s.segmentLength;
  const scope = ctx.scoped(() => ({
    x: ctx.tensor('x', [n], { data: f32(randomArray(n, seed, -2, 5)) }),
    w: ctx.tensor('weight', [s.affineCount], { data: f32(randomArray(s.affineCount, seed + 1, 0.5, 1.5)) }),
    b: ctx.tensor('bias', [s.affineCount], { data: f32(randomArray(s.affineCount, seed + 2)) }),
    dy: ctx.tensor('dy', [n], { data: f32(randomArray(n, seed + 3)) }),
    outs: [0, 1].map(() => ({ y: ctx.tensor('y', [n]), stats: ctx.tensor('stats', [2 * segments]), dx: ctx.tensor('dx', [n]) })),
  }));
  const t = scope.value;
  try {
    const dispatches: Dispatch[] = [];
    for (const [i, c] of [plain, ctx].entries()) {
      const o = t.outs[i]!;
      for (const out of [o.y, o.stats, o.dx]) ctx.fill(out, NaN);
      const variant = sampleNormVariant(p, c);
      dispatches.push(
        (await c.compile(sampleNormForward, variant)).bind({ x: t.x, weight: t.w, bias: t.b, y: o.y, stats: o.stats }, p),
        (await c.compile(sampleNormBackwardInput, variant)).bind({ x: t.x, dy: t.dy, weight: t.w, stats: o.stats, dx: o.dx }, p),
      );
    }
    ctx.submit('sample_norm SUBGROUP bits test', (e) => recordPass(e, 'sample_norm SUBGROUP bits test', dispatches));
    const [y0, s0, dx0, y1, s1, dx1] = await Promise.all(t.outs.flatMap((o) => [o.y, o.stats, o.dx]).map((x) => ctx.read(x)));
    for (const [label, want, got] of [['y', y0!, y1!], ['stats', s0!, s1!], ['dx', dx0!, dx1!]] as const) {
      expect(want.every(Number.isFinite), `${label} (VEC4) written`).toBe(true);
      expectAllClose(`${label}: SUBGROUP against VEC4`, got, want, TOLERANCE.exact);
    }
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
  // SUBGROUP: LayerNorm(36) (two blocks of 8 vec4s, the second of one), LayerNorm(4) (one vec4), 15 segments (the last subgroup and workgroup part empty).
  gpuTest('LayerNorm(36) of [5, 36] and LayerNorm(4) of [3, 4], batch 3: SUBGROUP where it runs', async (ctx) => {
    await check(ctx, 'LayerNorm(36)', layerNormShape(3, 180, 36, 1e-5), 140);
    await check(ctx, 'LayerNorm(4)', layerNormShape(3, 12, 4, 1e-5), 150);
  });
  gpuTest('LayerNorm(68): more than SUBGROUP holds, VEC4 only', async (ctx) => {
    const p = { ...layerNormShape(2, 136, 68, 1e-5), serial: 1, affineMode: AFFINE_MODE.serial };
    expect(sampleNormVariant(p, ctx)).toEqual({ VEC4: true, SUBGROUP: false });
    return check(ctx, 'LayerNorm(68)', p, 160);
  });
  gpuTest('SUBGROUP against VEC4: the same bits (LayerNorm(64) over [28, 64] at batch 128, LayerNorm(36), (12), (4))', async (ctx, t) => {
    if (ctx.adapter.subgroupSize !== 8 || !ctx.device.features.has('subgroups')) return t.skip('the adapter has no subgroups of 8: SUBGROUP does not run here');
    await expectSubgroupBits(ctx, layerNormShape(128, 28 * 64, 64, 1e-5), 170);
    await expectSubgroupBits(ctx, layerNormShape(3, 180, 36, 1e-5), 180);
    await expectSubgroupBits(ctx, layerNormShape(5, 36, 12, 1e-5), 190);
    await expectSubgroupBits(ctx, layerNormShape(7, 12, 4, 1e-5), 200);
  }, 120_000);
  gpuTest('real size: LayerNorm(64) over [28, 64], batch 128 (the Transformer example)', (ctx) => check(ctx, 'LayerNorm(64) at batch 128', layerNormShape(128, 28 * 64, 64, 1e-5), 130), 120_000);
  // 2 samples of [35,000, 2] normalised over the last 2: 70,000 segments, a workgroup each. eps
  // 0.01: two close values have a variance far below eps 1e-5, and x − μ's f32 rounding (2e-7 at
  // |x| ~ 5, in any f32 engine) times rstd up to 1/√eps = 316 would be 7e-5; rstd ≤ 10 here.
  gpuTest('70,000 segments (the grid folded past 65,535 workgroups)', (ctx) => check(ctx, 'LayerNorm(2) folded', layerNormShape(2, 70_000, 2, 0.01), 90), 120_000);
});
