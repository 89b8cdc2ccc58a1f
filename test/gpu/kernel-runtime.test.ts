/**
 * The typed kernel runtime: wiring mistakes are type errors and, at run time, named errors;
 * compile errors name the kernel and carry line:column; uniforms are packed from the declaration.
 */
import { describe, expect, test } from 'vitest';
import { recordPass } from '../../src/gpu/context.js';
import { defineKernel, packParams, withImpliedVariants, workgroupCounts } from '../../src/gpu/kernel.js';
import { KernelCompileError } from '../../src/gpu/errors.js';
import { denseForward } from '../../src/kernels/dense.js';
import { dropoutBackward } from '../../src/kernels/dropout.js';
import { batchnormBackwardReduce } from '../../src/kernels/batchnorm.js';
import { sgdUpdate } from '../../src/kernels/sgd.js';
import { tanhForward } from '../../src/kernels/tanh.js';
import { gpuTest } from '../helpers/gpu.js';

describe('derived from the declaration (no GPU)', () => {
  test('uniform packing: 4-byte scalars in declared order, rounded to 16 bytes', () => {
    const bytes = packParams(sgdUpdate, { count: 7, lr: 0.5 });
    expect(bytes.byteLength).toBe(16);
    const view = new DataView(bytes);
    expect(view.getUint32(0, true)).toBe(7);
    expect(view.getFloat32(4, true)).toBe(0.5);
  });

  test('packing rejects a fractional or negative u32', () => {
    expect(() => packParams(sgdUpdate, { count: 1.5, lr: 1 })).toThrow(/count.*u32/);
    expect(() => packParams(sgdUpdate, { count: -1, lr: 1 })).toThrow(/u32 range/);
  });

  test('dispatch size is ceil(grid / workgroup size)', () => {
    expect(workgroupCounts([65], [64])).toEqual([2, 1, 1]);
    expect(workgroupCounts([64], [64])).toEqual([1, 1, 1]);
    expect(workgroupCounts([10, 9], [8, 8])).toEqual([2, 2, 1]);
    // dense_forward's declared tile is 4 × 4 outputs: 16 × 25 tiles of a 64 × 100 output, 400 invocations.
    expect(workgroupCounts(denseForward.grid({ batch: 64, inFeatures: 2, outFeatures: 100 }, [64]), [64])).toEqual([7, 1, 1]);
  });

  test("a variant sets the variants it implies, in the text and in the variant set (a variant set alone still compiles)", () => {
    const def = defineKernel({
      name: 'implied',
      source: 'struct Params { n: u32, }\n#if WIDE\n// wide\n#endif\n#if PAIRED\n// paired\n#endif\n',
      params: { n: 'u32' },
      bindings: {},
      defines: ['WIDE', 'PAIRED'] as const,
      variantImplies: { PAIRED: ['WIDE'] },
      workgroupSize: [64],
      grid: (p) => [p.n],
      lengths: () => ({}),
    });
    expect(withImpliedVariants(def, { PAIRED: true })).toEqual({ PAIRED: true, WIDE: true });
    expect(withImpliedVariants(def, { PAIRED: false, WIDE: false })).toEqual({ PAIRED: false, WIDE: false });
    expect(def.sourceFor({ PAIRED: true })).toContain('// wide');
    expect(def.sourceFor({ WIDE: true })).not.toContain('// paired');
  });
});

describe('wiring mistakes', () => {
  gpuTest('are TypeScript errors, and named errors at run time', async (ctx) => {
    const dense = await ctx.compile(denseForward);
    const p = { batch: 2, inFeatures: 3, outFeatures: 4 };
    const x = ctx.tensor('x', [2, 3]);
    const w = ctx.tensor('w', [4, 3]);
    const y = ctx.tensor('y', [2, 4]);
    const labels = ctx.tensor('labels', [2, 4], { dtype: 'u32' });

    // @ts-expect-error — a missing binding does not type-check
    expect(() => dense.bind({ x, weight: w }, p)).toThrow(/binding 'y' is missing/);
    // @ts-expect-error — a u32 tensor where f32 is declared does not type-check
    expect(() => dense.bind({ x, weight: w, y: labels }, p)).toThrow(/binding 'y' expects f32/);
    // @ts-expect-error — a misspelled binding does not type-check
    expect(() => dense.bind({ x, weights: w, y }, p)).toThrow(/binding 'weight' is missing/);
    // @ts-expect-error — a missing parameter does not type-check
    expect(() => dense.bind({ x, weight: w, y }, { batch: 2, inFeatures: 3 })).toThrow();

    expect(() => dense.bind({ x, weight: x, y }, p)).toThrow(/binding 'weight' needs at least 12 elements.*x f32\[2×3\]/);
    expect(() => dense.bind({ x, weight: w, y: x }, p)).toThrow(/needs at least 8 elements/);
    const square = { batch: 3, inFeatures: 3, outFeatures: 3 };
    const s = ctx.tensor('s', [3, 3]);
    expect(() => dense.bind({ x: s, weight: s, y: s }, square)).toThrow(/same tensor/);
    expect(() => dense.bind({ x, weight: w, y }, p)).not.toThrow();
  });
});

describe('compile errors', () => {
  gpuTest('name the kernel and give line:column', async (ctx) => {
    const broken = defineKernel({
      name: 'broken_kernel',
      source: `struct Params { count: u32, }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
override WG_X: u32;
@compute @workgroup_size(WG_X)
fn broken_kernel(@builtin(global_invocation_id) gid: vec3u) {
  out[gid.x] = undefined_name;
}
`,
      params: { count: 'u32' },
      bindings: { out: { type: 'f32', access: 'read_write' } },
      workgroupSize: [64],
      grid: (p) => [p.count],
      lengths: (p) => ({ out: p.count }),
    });
    const error = await ctx.compile(broken).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(KernelCompileError);
    expect((error as Error).message).toMatch(/broken_kernel/);
    expect((error as Error).message).toMatch(/broken_kernel\.wgsl:7:\d+/);
    expect((error as Error).message).toMatch(/undefined_name/);
  });
});

describe('device errors', () => {
  test('an uncaptured validation error is reported and thrown from the next read, not swallowed', async (t) => {
    const { createNodeContext } = await import('../../src/node/device.js');
    const { NoAdapterError } = await import('../../src/gpu/errors.js');
    const reported: string[] = [];
    const ctx = await createNodeContext({ announce: false, onError: (e) => reported.push(e.message) }).catch((e: unknown) => {
      if (e instanceof NoAdapterError && !process.env.CI) return undefined;
      throw e;
    });
    if (!ctx) {
      t.skip('skipped: no WebGPU adapter on this machine (CI is unset)');
      return;
    }
    try {
      const tensor = ctx.tensor('t', [4]);
      // Copying past the end of a buffer is a validation error outside any error scope.
      ctx.submit('invalid copy', (e) => e.copyBufferToBuffer(tensor.buffer, 0, tensor.buffer, 8, 16));
      await expect(ctx.read(tensor)).rejects.toThrow(/uncaptured WebGPU error/);
      expect(reported.join('\n')).toMatch(/uncaptured WebGPU error/);
    } finally {
      ctx.destroy();
    }
  });
});

describe('tensor scopes', () => {
  gpuTest('collect exactly the tensors created inside, for destroying together', async (ctx) => {
    const outside = ctx.tensor('outside', [4]);
    const scope = ctx.scoped(() => {
      const a = ctx.tensor('a', [3]);
      const inner = ctx.scoped(() => ctx.tensor('inner', [2]));
      return { a, inner };
    });
    const after = ctx.tensor('after', [1]);
    // A nested scope lists its own, and the outer one owns them too: a network's layers count their
    // tensors in scopes of their own, and a page session that holds the network frees them all.
    expect(scope.tensors.map((t) => t.label)).toEqual(['a', 'inner']);
    const inner = scope.value.inner;
    expect(inner.tensors.map((t) => t.label)).toEqual(['inner']);
    scope.destroy();
    inner.destroy(); // destroying a buffer twice is allowed
    // What lies outside the scope still works.
    ctx.write(outside, [1, 2, 3, 4]);
    expect([...(await ctx.read(outside))]).toEqual([1, 2, 3, 4]);
    expect(after.length).toBe(1);
  });
});

describe('bound bytes', () => {
  gpuTest('count the elements the parameters need, not the whole tensors', async (ctx) => {
    const grad = ctx.tensor('grad', [10]);
    const param = ctx.tensor('param', [10]);
    const k = (await ctx.compile(sgdUpdate)).bind({ grad, param }, { count: 7, lr: 0.1 });
    expect(k.bytes).toBe(2 * 7 * 4);
    k.update({ lr: 0.2 });
    expect(k.bytes).toBe(56);
  });

  gpuTest('bind a vec4 variant only to lengths that are whole vec4s', async (ctx) => {
    const [dy, dx] = ['dy', 'dx'].map((name) => ctx.tensor(name, [12]));
    const mask = ctx.tensor('mask', [1], { dtype: 'u32' });
    const vec4 = await ctx.compile(dropoutBackward, { VEC4: true });
    expect(() => vec4.bind({ dy: dy!, mask, dx: dx! }, { length: 10, scale: 2 })).toThrow(/binding 'dy' is read as vec4s in variant VEC4, which needs a multiple of 4 elements.*got 10/);
    expect(() => vec4.bind({ dy: dy!, mask, dx: dx! }, { length: 12, scale: 2 })).not.toThrow();
    expect(() => ctx.compile(dropoutBackward, { WIDE: true } as never)).toThrow(/unknown variant 'WIDE'/);
  });

  gpuTest("take a variant's own binding exactly when that variant is compiled", async (ctx) => {
    const p = { batch: 1, channels: 2, area: 4, dropoutScale: 2, reluInput: 0, groups: 1 };
    const t = (name: string, n: number) => ctx.tensor(name, [n]);
    const common = { dy: t('dy', 8), x: t('x', 8), stats: t('stats', 4), dgamma: t('dgamma', 2), dbeta: t('dbeta', 2) };
    const mask = ctx.tensor('mask', [1], { dtype: 'u32' });
    const plain = await ctx.compile(batchnormBackwardReduce);
    expect(() => plain.bind({ ...common, mask }, p)).toThrow(/binding 'mask' exists only in variant DROPOUT, which this kernel was not compiled with/);
    expect(plain.bind(common, p).bytes, 'no mask bytes without DROPOUT').toBe(4 * (8 + 8 + 4 + 2 + 2));
    const dropout = await ctx.compile(batchnormBackwardReduce, { DROPOUT: true });
    expect(() => dropout.bind(common, p)).toThrow(/binding 'mask' is missing \(expected a u32 tensor\)/);
    expect(dropout.bind({ ...common, mask }, p).bytes).toBe(4 * (8 + 8 + 4 + 2 + 2 + 1));
  });

  gpuTest('leave out a binding in its `unless` variant, and refuse a tensor bound beside one written in place', async (ctx) => {
    const p = { batch: 1, channels: 2, area: 4, dropoutScale: 1, reluInput: 0, groups: 1 };
    const t = (name: string, n: number) => ctx.tensor(name, [n]);
    const common = { dy: t('dy', 8), x: t('x', 8), stats: t('stats', 4), dgamma: t('dgamma', 2), dbeta: t('dbeta', 2), gamma: t('gamma', 2) };
    const dx = t('dx', 8);
    const apply = await ctx.compile(batchnormBackwardReduce, { APPLY: true });
    expect(apply.bind({ ...common, dx }, p).bytes).toBe(4 * (8 + 8 + 4 + 2 + 2 + 2 + 8));
    // dy and x the same tensor: allowed where both are read, not where dy is written in place.
    expect(() => apply.bind({ ...common, x: common.dy, dx }, p)).not.toThrow();
    const inPlace = await ctx.compile(batchnormBackwardReduce, { APPLY: true, IN_PLACE: true });
    expect(() => inPlace.bind({ ...common, dx }, p)).toThrow(/binding 'dx' is left out in variant IN_PLACE, which this kernel was compiled with/);
    expect(inPlace.bind(common, p).bytes, 'no dx bytes in place').toBe(4 * (8 + 8 + 4 + 2 + 2 + 2));
    expect(() => inPlace.bind({ ...common, x: common.dy }, p)).toThrow(/bindings 'dy' and 'x' are the same tensor .*, and one is written/);
  });
});

describe('a linear kernel longer than the device allows in one dimension', () => {
  test('folds its workgroups into 2-D', () => {
    expect(workgroupCounts([256 * 70_000], [256], 65_535)).toEqual([65_535, 2, 1]);
    expect(workgroupCounts([256 * 70_000], [256])).toEqual([70_000, 1, 1]);
    expect(workgroupCounts([1000], [256], 65_535)).toEqual([4, 1, 1]);
  });
  gpuTest('computes every element of a 16.8 M-element tanh, the last ones included', async (ctx) => {
    const limit = ctx.device.limits.maxComputeWorkgroupsPerDimension;
    const count = limit * tanhForward.workgroupSize[0]! + 1000;
    const x = ctx.tensor('x', [count], { data: Float32Array.from({ length: count }, (_, i) => ((i % 1000) - 500) / 250) });
    const y = ctx.tensor('y', [count]);
    try {
      ctx.fill(y, NaN);
      const k = (await ctx.compile(tanhForward)).bind({ x, y }, { count });
      expect(k.workgroups[1]).toBe(2);
      ctx.submit('big tanh', (e) => recordPass(e, 'big tanh', [k]));
      const out = await ctx.read(y);
      for (const i of [0, 1, limit * 256 - 1, limit * 256, count - 1]) expect(out[i], `element ${i}`).toBeCloseTo(Math.tanh(((i % 1000) - 500) / 250), 6);
      expect(out.every((v) => Number.isFinite(v))).toBe(true);
    } finally {
      x.buffer.destroy();
      y.buffer.destroy();
    }
  });
});
