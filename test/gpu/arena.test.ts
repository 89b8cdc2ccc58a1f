/**
 * Arenas (src/gpu/arena.ts): members on whole blocks, each bound, written and read as its own
 * range of the shared buffer; overlapping bindings where one is written are refused.
 */
import { describe, expect, test } from 'vitest';
import { ARENA_BLOCK, ArenaBuilder, arenaLayout, createArena } from '../../src/gpu/arena.js';
import { recordPass } from '../../src/gpu/context.js';
import { sgdUpdate } from '../../src/kernels/sgd.js';
import { gpuTest } from '../helpers/gpu.js';

describe('arenaLayout (no GPU)', () => {
  test('members start on whole blocks, one after another; each block names its member', () => {
    const { offsets, length, memberOfBlock } = arenaLayout([144, 256, 4608, 1]);
    expect(offsets).toEqual([0, 256, 512, 512 + 4608]);
    expect(length).toBe(512 + 4608 + 256);
    expect(Array.from(memberOfBlock)).toEqual([0, 1, ...new Array(18).fill(2), 3]);
    // 256 f32 is the largest storage offset alignment an adapter may ask for.
    expect(ARENA_BLOCK * 4).toBe(1024);
    for (const o of offsets) expect((o * 4) % 256).toBe(0);
  });

  test('an empty member is refused', () => {
    expect(() => arenaLayout([3, 0])).toThrow(/arena member 1: length 0/);
    expect(arenaLayout([]).length).toBe(0);
  });
});

describe('arena members on the GPU', () => {
  gpuTest('are written, read and bound as their own ranges; the neighbours and the padding stay as they were', async (ctx) => {
    const lengths = [300, 5, 1029];
    const values = createArena(ctx, 'values', lengths.map((n, k) => ({ label: `v${k}`, shape: [n] })));
    const grads = createArena(ctx, 'grads', lengths.map((n, k) => ({ label: `g${k}`, shape: [n] })));
    const data = lengths.map((n, k) => Float32Array.from({ length: n }, (_, i) => k * 1000 + i));
    values.members.forEach((m, k) => ctx.write(m, data[k]!));
    grads.members.forEach((m, k) => ctx.write(m, new Float32Array(lengths[k]!).fill(1)));
    for (const [k, m] of values.members.entries()) expect(Array.from(await ctx.read(m))).toEqual(Array.from(data[k]!));

    // param −= 2 · grad over member 1 only, bound as members (a range each).
    const update = (await ctx.compile(sgdUpdate)).bind({ grad: grads.members[1]!, param: values.members[1]! }, { count: 5, lr: 2 });
    ctx.submit('update', (e) => recordPass(e, 'update', [update]));
    const all = await ctx.read(values.all);
    const { offsets } = values.layout;
    expect(Array.from(all.subarray(offsets[1]!, offsets[1]! + 5))).toEqual([998, 999, 1000, 1001, 1002]);
    expect(Array.from(all.subarray(offsets[0]!, offsets[0]! + 300))).toEqual(Array.from(data[0]!));
    expect(Array.from(all.subarray(offsets[2]!, offsets[2]! + 1029))).toEqual(Array.from(data[2]!));
    expect(Array.from(all.subarray(offsets[1]! + 5, offsets[2]!)).every((x) => x === 0)).toBe(true);

    // Two members of one arena may be bound together, one written: they do not overlap.
    const kernel = await ctx.compile(sgdUpdate);
    expect(() => kernel.bind({ grad: values.members[0]!, param: values.members[2]! }, { count: 300, lr: 1 })).not.toThrow();
    // The whole arena and a member of it overlap: refused where one is written.
    expect(() => kernel.bind({ grad: values.members[0]!, param: values.all }, { count: 300, lr: 1 })).toThrow(/bindings 'grad' and 'param' overlap in one buffer \(v0 f32\[300\] and values f32\[\d+\]\), and one is written/);
  });
});

describe('ArenaBuilder', () => {
  test('a member is a function: asked for before the arena is allocated, it says so', () => {
    const builder = new ArenaBuilder('shared');
    const m = builder.add('conv packed weights', [16384]);
    expect(() => m()).toThrow(/conv packed weights: the arena 'shared' is not allocated yet/);
  });

  gpuTest('allocates the members asked for in one buffer, uniform where asked; none asked, no buffer; no members after build', async (ctx) => {
    const builder = new ArenaBuilder('packed', { uniform: true });
    const a = builder.add('a', [16384]);
    const b = builder.add('b', [3, 5]);
    const arena = builder.build(ctx)!;
    expect(a().buffer).toBe(b().buffer);
    expect(a().uniform && b().uniform).toBe(true);
    expect([a().byteOffset, b().byteOffset]).toEqual([0, 16384 * 4]);
    expect(b().shape).toEqual([3, 5]);
    expect(arena.all.length).toBe(16384 + ARENA_BLOCK);
    expect(() => builder.add('c', [1])).toThrow(/c: the arena 'packed' is allocated already/);
    expect(new ArenaBuilder('empty').build(ctx)).toBeUndefined();
  });
});
