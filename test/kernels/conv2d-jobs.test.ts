/**
 * conv2d_pack_weights and conv2d_backward_weight_reduce over maps of several jobs: several layers'
 * weights packed, and several layers' partial sums reduced, in one dispatch each, over arena
 * members (as a network binds them), each job's elements exactly what the layout gives and nothing
 * else in the arenas touched; and the maps' checks (no GPU). That the layout is the one the conv
 * kernels read is held by test/kernels/conv2d.test.ts (bindConv2d packs, then convolves).
 */
import { describe, expect, test } from 'vitest';
import { createArena } from '../../src/gpu/arena.js';
import { recordPass, type GpuContext } from '../../src/gpu/context.js';
import {
  bindConvPacking,
  bindConvReduction,
  PACK_ZERO,
  conv2dPackMap,
  conv2dPackJobs,
  conv2dPackParams,
  conv2dParams,
  conv2dReduceMap,
  conv2dReduceWidth,
  convSlices,
  defaultConvTile,
  type ConvDirection,
  type ConvPackJob,
  type ConvPacked,
  type ConvTile,
} from '../../src/kernels/conv2d.js';
import { Tensor } from '../../src/gpu/tensor.js';
import { randomArray } from '../helpers/allclose.js';
import { gpuTest } from '../helpers/gpu.js';

/** The packed layout, from the formula in conv2d_pack_weights.wgsl (float64 index arithmetic). */
function packRef(weight: Float32Array, q: ReturnType<typeof conv2dPackParams>): Float32Array {
  const out = new Float32Array(q.channels * q.taps * q.rowLength);
  for (let c = 0; c < q.channels; c++) {
    for (let t = 0; t < q.taps; t++) {
      for (let o = 0; o < q.rowLength; o++) {
        const ky = Math.floor(t / q.kernelW);
        const column = t % q.kernelW;
        const kx = q.flipX === 1 ? q.kernelW - 1 - column : column;
        out[(c * q.taps + t) * q.rowLength + o] = o < q.outs ? weight[(q.oBase + o) * q.oStride + c * q.cStride + ky * q.kernelW + kx]! : 0;
      }
    }
  }
  return out;
}

// Three layers: a 3×3, a 1×1 and a 2×3 kernel; 64 → 40 channels takes several uniform slices
// with a 16-channel tile (64 × 9 × 16 floats = 36 KiB a tile: 1 tile a slice, 3 slices).
const LAYERS = [
  conv2dParams({ batch: 1, inChannels: 64, height: 5, width: 5, outChannels: 40, kernelH: 3, kernelW: 3, stride: 1, padding: 1 }),
  conv2dParams({ batch: 1, inChannels: 7, height: 4, width: 4, outChannels: 10, kernelH: 1, kernelW: 1, stride: 1, padding: 0 }),
  conv2dParams({ batch: 1, inChannels: 3, height: 6, width: 7, outChannels: 5, kernelH: 2, kernelW: 3, stride: 2, padding: 1 }),
];
const TILE: ConvTile = { rows: 1, channels: 16, workgroup: 64 };

describe('job tables (no GPU)', () => {
  const buffer = (size: number) => ({ size }) as unknown as GPUBuffer;
  const weights = buffer(4096);
  const packedBuffer = buffer(65536 * 2);
  const member = (b: GPUBuffer, length: number, at: number) => new Tensor(b, [length], 'f32', `m${at}`, false, at * 4);

  test('the map: each job from its members\' first elements, padding channels from PACK_ZERO', () => {
    const p = LAYERS[1]!;
    const slice = convSlices(p, 'forward', TILE)[0]!;
    const q = conv2dPackParams(p, 'forward', slice);
    const jobs: ConvPackJob[] = [
      { weight: member(weights, 70, 256), packed: member(packedBuffer, 16384, 0), params: q },
      { weight: member(weights, 70, 512), packed: member(packedBuffer, 16384, 16384), params: { ...q, flipX: 1 } },
    ];
    const map = conv2dPackMap(jobs);
    // 7 input channels × 1 tap × 16 (10 output channels and 6 of padding) per job.
    const count = q.channels * q.taps * q.rowLength;
    expect(count).toBe(7 * 16);
    expect(map.length).toBe(2 * 2 * count);
    // Job 0, channel 0, output 3: weight [3, 0] = element 3 · 7 of its member.
    expect([map[2 * 3], map[2 * 3 + 1]]).toEqual([3, 256 + 3 * 7]);
    // Job 0, output 12 (padding): 0.
    expect(map[2 * 12 + 1]).toBe(PACK_ZERO);
    // Job 1, channel 2, output 5: packed element 2 · 16 + 5 of its member, weight [5, 2].
    const at = count + 2 * 16 + 5;
    expect([map[2 * at], map[2 * at + 1]]).toEqual([16384 + 2 * 16 + 5, 512 + 5 * 7 + 2]);
    const r = conv2dReduceMap([{ partial: member(weights, 30, 256), dweight: member(packedBuffer, 10, 1024), length: 10, splits: 3 }]);
    expect(Array.from(r.subarray(4 * 7, 4 * 8))).toEqual([1024 + 7, 256 + 7, 10, 3]);
    // In vec4s (variant VEC4): a record a 4 weights, every index a quarter.
    const aligned = [{ partial: member(weights, 36, 256), dweight: member(packedBuffer, 12, 1024), length: 12, splits: 3 }];
    expect(conv2dReduceWidth(aligned)).toBe(4);
    const r4 = conv2dReduceMap(aligned, 4);
    expect(r4.length).toBe(4 * 3);
    expect(Array.from(r4.subarray(4 * 2, 4 * 3))).toEqual([256 + 2, 64 + 2, 3, 3]);
    // A length or an offset not a multiple of 4: a weight a record.
    expect(conv2dReduceWidth([{ ...aligned[0]!, length: 10 }])).toBe(1);
    expect(conv2dReduceWidth([{ ...aligned[0]!, partial: member(weights, 36, 258) }])).toBe(1);
    expect(() => conv2dReduceMap([{ ...aligned[0]!, length: 10 }], 4)).toThrow(/multiples of 4/);
  });

  test('refused: jobs in two buffers, a packed slice past its tensor, a weight too short, no jobs', () => {
    const p = LAYERS[0]!;
    const slice = convSlices(p, 'forward', TILE)[0]!;
    const q = conv2dPackParams(p, 'forward', slice);
    const weight = member(weights, 64 * 40 * 9, 0);
    const ok = { weight, packed: member(packedBuffer, 16384, 0), params: q };
    expect(() => conv2dPackMap([ok, { ...ok, packed: member(buffer(65536), 16384, 0) }])).toThrow(/take their packed tensors from one buffer/);
    expect(() => conv2dPackMap([{ ...ok, packed: member(packedBuffer, 100, 0) }])).toThrow(/packing job 0 writes 9216 elements, m0 f32\[100\] holds 100/);
    expect(() => conv2dPackMap([{ ...ok, weight: member(weights, 500, 0) }])).toThrow(/packing job 0 reads \d+ elements of the weight/);
    expect(() => conv2dPackMap([])).toThrow(/at least one job/);
    const partial = member(weights, 30, 0);
    const dweight = member(packedBuffer, 10, 0);
    expect(conv2dReduceMap([{ partial, dweight, length: 10, splits: 3 }]).length).toBe(4 * 10);
    expect(() => conv2dReduceMap([{ partial, dweight, length: 10, splits: 4 }])).toThrow(/reads 4 × 10 partial sums, m0 f32\[30\] holds 30/);
    expect(() => conv2dReduceMap([{ partial, dweight: member(packedBuffer, 9, 0), length: 10, splits: 3 }])).toThrow(/writes 10 elements/);
    expect(() => conv2dReduceMap([{ partial, dweight, length: 10, splits: 0 }])).toThrow(/0 splits of 10 elements/);
  });
});

describe('one dispatch for several layers', () => {
  gpuTest("packs every layer's forward and input-gradient slices: the formula's values, the rest of the arena untouched", async (ctx) => {
    const values = createArena(ctx, 'parameters', LAYERS.map((p, k) => ({ label: `w${k}`, shape: [p.outChannels, p.inChannels, p.kernelH, p.kernelW] })));
    const data = LAYERS.map((p, k) => Float32Array.from(randomArray(p.outChannels * p.inChannels * p.kernelH * p.kernelW, 30 + k, -1, 1)));
    values.members.forEach((m, k) => ctx.write(m, data[k]!));
    const wanted: { p: (typeof LAYERS)[number]; direction: ConvDirection; k: number }[] = LAYERS.flatMap((p, k) => (['forward', 'input'] as const).map((direction) => ({ p, direction, k })));
    const slices = wanted.flatMap((w) => convSlices(w.p, w.direction, w.direction === 'input' ? defaultConvTile(w.p, 'input') : TILE).map((slice, i) => ({ ...w, slice, i })));
    expect(slices.length, 'slices: the 64 → 40 forward takes several').toBeGreaterThan(wanted.length);
    const packedArena = createArena(ctx, 'packed', slices.map((_, n) => ({ label: `packed ${n}`, shape: [16384] })), { uniform: true });
    ctx.fill(packedArena.all, Number.NaN);
    const byLayer = wanted.map((w) => {
      const own = slices.map((s, n) => ({ s, n })).filter(({ s }) => s.p === w.p && s.direction === w.direction);
      const packed: ConvPacked = { direction: w.direction, tile: TILE, slices: own.map(({ s }) => s.slice), tensor: (i) => packedArena.members[own[i]!.n]! };
      return conv2dPackJobs(w.p, packed, values.members[w.k]!);
    });
    const dispatch = await bindConvPacking(ctx, byLayer.flat(), 'pack all');
    ctx.submit('pack all', (e) => recordPass(e, 'pack all', [dispatch]));
    const all = await ctx.read(packedArena.all);
    slices.forEach((s, n) => {
      const q = conv2dPackParams(s.p, s.direction, s.slice);
      const expected = packRef(data[s.k]!, q);
      const at = packedArena.layout.offsets[n]!;
      expect(Array.from(all.subarray(at, at + expected.length)), `slice ${n} (${s.direction}, layer ${s.k})`).toEqual(Array.from(expected));
      // Past the job's elements (the rest of the 64 KiB binding): never written.
      expect(all.subarray(at + expected.length, at + 16384).every(Number.isNaN), `slice ${n}: past its elements`).toBe(true);
    });
    dispatch.destroy();
  });

  /**
   * Three layers' partial sums reduced in one dispatch against the sums in split order (f32), and
   * a gradient arena with a member between them that no job names (a batch norm's, in a network).
   */
  const reduceAll = async (ctx: GpuContext, shapes: readonly { length: number; splits: number }[], width: 1 | 4) => {
    const partials = createArena(ctx, 'partials', shapes.map((s, k) => ({ label: `p${k}`, shape: [s.splits * s.length] })));
    const grads = createArena(ctx, 'grads', [...shapes.map((s, k) => ({ label: `g${k}`, shape: [s.length] })), { label: 'other', shape: [40] }]);
    ctx.fill(grads.all, -7);
    const data = shapes.map((s, k) => Float32Array.from(randomArray(s.splits * s.length, 50 + k, -3, 3)));
    partials.members.forEach((m, k) => ctx.write(m, data[k]!));
    const order = [2, 0, 1];
    const jobs = order.map((k) => ({ partial: partials.members[k]!, dweight: grads.members[k]!, length: shapes[k]!.length, splits: shapes[k]!.splits }));
    expect(conv2dReduceWidth(jobs), 'the map\'s width').toBe(width);
    const dispatch = await bindConvReduction(ctx, jobs, 'reduce all');
    ctx.submit('reduce all', (e) => recordPass(e, 'reduce all', [dispatch]));
    for (const [k, s] of shapes.entries()) {
      const expected = new Float32Array(s.length);
      for (let i = 0; i < s.length; i++) {
        let sum = 0;
        for (let j = 0; j < s.splits; j++) sum = Math.fround(sum + data[k]![j * s.length + i]!);
        expected[i] = sum;
      }
      expect(Array.from(await ctx.read(grads.members[k]!)), `layer ${k}`).toEqual(Array.from(expected));
    }
    expect(Array.from(await ctx.read(grads.members[3]!)).every((x) => x === -7), 'the member no job names').toBe(true);
    dispatch.destroy();
  };

  gpuTest("reduces every layer's partial sums in split order, exactly; the other gradients untouched", async (ctx) => {
    // 3, 1 and 7 splits; lengths of 5 and 1029 weights: a weight an invocation.
    await reduceAll(ctx, [{ length: 300, splits: 3 }, { length: 5, splits: 1 }, { length: 1029, splits: 7 }], 1);
  });

  gpuTest('with every length a multiple of 4, four weights an invocation (VEC4): the same sums, bit for bit', async (ctx) => {
    // The arenas start members on whole blocks, so the offsets are multiples of 4 too.
    await reduceAll(ctx, [{ length: 300, splits: 3 }, { length: 8, splits: 1 }, { length: 1028, splits: 7 }], 4);
  });
});
