/**
 * activation_forward and activation_backward, every variant (LeakyReLU, the default, SiLU, GELU
 * exact and tanh, ELU and SELU's scaled form, Softplus, Mish, Hardswish, Hardsigmoid, Hardtanh and
 * ReLU6's bounds) against the float64 reference: awkward sizes around the workgroup, large |x|
 * (where an exponent would overflow and must still give a finite result), exact zeros and the
 * kinks (the side PyTorch's backward takes there), values where the result is tiny and cancels
 * (GELU and Mish far left, ELU near 0, Softplus far left: relative accuracy, not only absolute),
 * and a real size.
 */
import { describe, expect } from 'vitest';
import { recordPass } from '../../src/gpu/context.js';
import type { GpuContext } from '../../src/gpu/context.js';
import { activationBackward, activationDefines, activationForward, activationVec4, type ActivationVariant } from '../../src/kernels/activation.js';
import { activationBackwardRef, activationRef, leakyReluBackwardRef, leakyReluRef, siluBackwardRef, siluRef } from '../../src/reference/activation.js';
import { TOLERANCE, expectAllClose, f32, randomArray } from '../helpers/allclose.js';
import { gpuTest } from '../helpers/gpu.js';
import { float32Bits, fromFloat32Bits, hasTorch, runTorch, skipWithoutTorch, tailMismatch } from '../helpers/torch.js';

/**
 * The kernels' results (the layer's variant: VEC4 where the count is whole vec4s), after checking
 * that the scalar variant's are the same bits there (the same arithmetic element by element).
 */
async function run(ctx: GpuContext, x: ArrayLike<number>, dy: ArrayLike<number>, variant: ActivationVariant, a: number, b: number) {
  const count = x.length;
  const t = { x: ctx.tensor('x', [count], { data: x }), y: ctx.tensor('y', [count]), dy: ctx.tensor('dy', [count], { data: dy }), dx: ctx.tensor('dx', [count]) };
  const results: { y: Float32Array; dx: Float32Array }[] = [];
  for (const vec4 of new Set([false, activationVec4(count).VEC4])) {
    ctx.fill(t.y, NaN);
    ctx.fill(t.dx, NaN);
    const defines = { ...activationDefines(variant), VEC4: vec4 };
    const kernels = [
      (await ctx.compile(activationForward, defines)).bind({ x: t.x, y: t.y }, { count, a, b }),
      (await ctx.compile(activationBackward, defines)).bind({ dy: t.dy, x: t.x, dx: t.dx }, { count, a, b }),
    ];
    ctx.submit('activation test', (e) => recordPass(e, 'activation test', kernels));
    results.push({ y: Float32Array.from(await ctx.read(t.y)), dx: Float32Array.from(await ctx.read(t.dx)) });
  }
  if (results.length === 2) {
    expect(new Uint32Array(results[1]!.y.buffer), `${variant}: VEC4's y, the scalar variant's bits`).toEqual(new Uint32Array(results[0]!.y.buffer));
    expect(new Uint32Array(results[1]!.dx.buffer), `${variant}: VEC4's dx, the scalar variant's bits`).toEqual(new Uint32Array(results[0]!.dx.buffer));
  }
  return results.at(-1)!;
}

describe('activation kernels: LeakyReLU and SiLU', () => {
  for (const count of [1, 63, 65, 1000, 128 * 16 * 26 * 26]) {
    for (const [name, silu, slope] of [['LeakyReLU 0.01', false, 0.01], ['LeakyReLU −0.5', false, -0.5], ['LeakyReLU 0', false, 0], ['SiLU', true, 0]] as const) {
      gpuTest(`${name}, ${count} elements`, async (ctx) => {
        const x = f32(randomArray(count, count + 3, -12, 12));
        if (count > 4) [x[0], x[1], x[2], x[3]] = [0, -0, -100, 100];
        const dy = f32(randomArray(count, count + 4));
        const gpu = await run(ctx, x, dy, silu ? 'SILU' : 'LEAKY_RELU', slope, 0);
        const s = Math.fround(slope);
        expectAllClose(`${name} y`, gpu.y, silu ? siluRef(x) : leakyReluRef(x, s), TOLERANCE.forward);
        expectAllClose(`${name} dx`, gpu.dx, silu ? siluBackwardRef(dy, x) : leakyReluBackwardRef(dy, x, s), TOLERANCE.gradient);
        if (count > 4) {
          // x = 0 and −0: LeakyReLU's slope side (dy · slope), SiLU's ½ dy; x = −100: no NaN.
          expect(gpu.dx[0]).toBeCloseTo(silu ? dy[0]! / 2 : dy[0]! * s, 6);
          expect(gpu.dx[1]).toBeCloseTo(silu ? dy[1]! / 2 : dy[1]! * s, 6);
          // x = 100: LeakyReLU passes dy, SiLU ≈ dy (σ = 1); its forward is x itself.
          expect(gpu.dx[3]).toBeCloseTo(dy[3]!, 5);
          expect(gpu.y[3]).toBeCloseTo(100, 4);
          expect(Number.isFinite(gpu.y[2]!) && Number.isFinite(gpu.dx[2]!)).toBe(true);
        }
      });
    }
  }

});

/** The SELU constants as PyTorch documents them. */
const SELU = [1.6732632423543772848170429916717, 1.0507009873554804934193349852946] as const;

describe('activation kernels: GELU, ELU, SELU, Softplus, Mish, Hardswish, Hardsigmoid, Hardtanh, CELU, LogSigmoid, Softsign, Softshrink, Hardshrink, Threshold', () => {
  const cases: { name: string; variant: ActivationVariant; a: number; b: number; kinks: number[] }[] = [
    { name: 'GELU', variant: 'GELU', a: 0, b: 0, kinks: [] },
    { name: "GELU approximate='tanh'", variant: 'GELU_TANH', a: 0, b: 0, kinks: [] },
    { name: 'ELU alpha 1', variant: 'ELU', a: 1, b: 1, kinks: [0] },
    { name: 'ELU alpha 0.3', variant: 'ELU', a: 0.3, b: 1, kinks: [0] },
    { name: 'SELU', variant: 'ELU', a: SELU[0], b: SELU[1], kinks: [0] },
    { name: 'Softplus', variant: 'SOFTPLUS', a: 1, b: 20, kinks: [20] },
    { name: 'Softplus beta 2, threshold 5', variant: 'SOFTPLUS', a: 2, b: 5, kinks: [2.5] },
    { name: 'Softplus beta −1.5, threshold ∞', variant: 'SOFTPLUS', a: -1.5, b: Infinity, kinks: [] },
    { name: 'Mish', variant: 'MISH', a: 0, b: 0, kinks: [] },
    { name: 'Hardswish', variant: 'HARDSWISH', a: 0, b: 0, kinks: [-3, 3] },
    { name: 'Hardsigmoid', variant: 'HARDSIGMOID', a: 0, b: 0, kinks: [-3, 3] },
    { name: 'Hardtanh', variant: 'HARDTANH', a: -1, b: 1, kinks: [-1, 1] },
    { name: 'ReLU6 (Hardtanh 0, 6)', variant: 'HARDTANH', a: 0, b: 6, kinks: [0, 6] },
    { name: 'Hardtanh −∞, 2', variant: 'HARDTANH', a: -Infinity, b: 2, kinks: [2] },
    { name: 'CELU alpha 1', variant: 'CELU', a: 1, b: 0, kinks: [0] },
    { name: 'CELU alpha 0.4', variant: 'CELU', a: 0.4, b: 0, kinks: [0] },
    { name: 'LogSigmoid', variant: 'LOGSIGMOID', a: 0, b: 0, kinks: [] },
    { name: 'Softsign', variant: 'SOFTSIGN', a: 0, b: 0, kinks: [] },
    { name: 'Softshrink 0.5', variant: 'SOFTSHRINK', a: 0.5, b: 0, kinks: [-0.5, 0.5] },
    { name: 'Hardshrink 2', variant: 'HARDSHRINK', a: 2, b: 0, kinks: [-2, 2] },
    { name: 'Threshold 1.5, −2', variant: 'THRESHOLD', a: 1.5, b: -2, kinks: [1.5] },
    // Not kinks: the ends of the series that Tanhshrink takes near 0, and the float32 just below them.
    { name: 'Tanhshrink', variant: 'TANHSHRINK', a: 0, b: 0, kinks: [0.75, -0.75, Math.fround(0.75) - 2 ** -24, 0.3] },
  ];
  for (const c of cases) {
    for (const count of [65, 128 * 16 * 26 * 26]) {
      gpuTest(`${c.name}, ${count} elements`, async (ctx) => {
        const x = f32(randomArray(count, count + 7, -8, 8));
        // Exact zeros, the kinks, far out on both sides, and where results cancel (tiny or near 0).
        const special = [0, -0, ...c.kinks, -100, 100, -1e30, 1e30, -15, -9, 1e-4, -1e-4, 1e-7, -1e-7, -30, 30, -1e38, 3e38];
        special.forEach((v, i) => (x[i] = Math.fround(v)));
        const dy = f32(randomArray(count, count + 8));
        const [a, b] = [Math.fround(c.a), Math.fround(c.b)];
        const gpu = await run(ctx, x, dy, c.variant, a, b);
        const y = activationRef(c.variant, x, a, b);
        const dx = activationBackwardRef(c.variant, dy, x, a, b);
        expectAllClose(`${c.name} y`, gpu.y, y, TOLERANCE.forward);
        expectAllClose(`${c.name} dx`, gpu.dx, dx, TOLERANCE.gradient);
        // Relative accuracy where the results are small (not only within the absolute tolerance):
        // a few float32 roundings of the result itself.
        for (let i = 0; i < special.length; i++) {
          const tol = 1e-5 * Math.abs(y[i]!) + 1e-37;
          expect(Math.abs(gpu.y[i]! - y[i]!), `${c.name} y at x = ${x[i]}: ${gpu.y[i]} against ${y[i]}`).toBeLessThanOrEqual(tol);
          expect(Math.abs(gpu.dx[i]! - dx[i]!), `${c.name} dx at x = ${x[i]}: ${gpu.dx[i]} against ${dx[i]}`).toBeLessThanOrEqual(1e-5 * Math.abs(dx[i]!) + 1e-37);
        }
      });
    }
  }

  gpuTest('Tanhshrink keeps its relative accuracy near 0, where x − tanh x cancels (1e-6 of |x|³/3 at 1e-6), and across the series\' end at 0.75', async (ctx) => {
    // |x| from 1e-6 to 4, log-spaced, both signs: relative error against float64 (the reference's
    // own series below 0.5), forward and the derivative tanh²x.
    const n = 4001;
    const x = f32(Array.from({ length: n }, (_, i) => (i % 2 ? -1 : 1) * 10 ** (-6 + (6.6 * i) / (n - 1))));
    const gpu = await run(ctx, x, new Float32Array(n).fill(1), 'TANHSHRINK', 0, 0);
    const y = activationRef('TANHSHRINK', x);
    const dx = activationBackwardRef('TANHSHRINK', new Float64Array(n).fill(1), x);
    let [worstY, worstDx] = [0, 0];
    for (let i = 0; i < n; i++) {
      worstY = Math.max(worstY, Math.abs(gpu.y[i]! - y[i]!) / Math.abs(y[i]!));
      worstDx = Math.max(worstDx, Math.abs(gpu.dx[i]! - dx[i]!) / Math.abs(dx[i]!));
    }
    // float32's own rounding is 6e-8; x − tanh x just past 0.75 multiplies tanh's few ulp by up to 5.5.
    expect(worstY, 'the largest relative error of y').toBeLessThan(2e-6);
    expect(worstDx, 'the largest relative error of dx').toBeLessThan(2e-6);
  });

  gpuTest("a NaN input: NaN out, as PyTorch's; the derivative PyTorch's backward takes there", async (ctx) => {
    for (const c of cases) {
      const x = new Float32Array([NaN, 1, -1]);
      const gpu = await run(ctx, x, [1, 1, 1], c.variant, Math.fround(c.a), Math.fround(c.b));
      expect(gpu.y[0], `${c.name} y`).toBeNaN();
      // The float64 reference follows PyTorch's comparisons (NaN takes the side its condition's false branch gives).
      const expected = activationBackwardRef(c.variant, [1], [NaN], Math.fround(c.a), Math.fround(c.b))[0]!;
      if (Number.isNaN(expected)) expect(gpu.dx[0], `${c.name} dx`).toBeNaN();
      else expect(gpu.dx[0], `${c.name} dx`).toBe(Math.fround(expected));
    }
    const leaky = await run(ctx, new Float32Array([NaN]), [1], 'LEAKY_RELU', Math.fround(0.2), 0);
    expect([Number.isNaN(leaky.y[0]!), leaky.dx[0]]).toEqual([true, Math.fround(0.2)]);
  });
});

/** Below x = −87.34, where e^x is subnormal: lavapipe's exp flushes it; PyTorch's float32 rounds it to whole 2^−149. */
const SUBNORMAL_TAIL = [-87.34, -87.5, -88, -88.3, -88.5, -88.7, -88.72283172607422, -88.72283935546875, -88.73, -89, -90, -91, -91.5, -92, -95, -100, -103.9, -104, -110, -1e30];

describe("activation kernels where e^x is a float32 subnormal: PyTorch 1.13's float32", () => {
  // SiLU v/(1 + e^−v) and Mish v·tanh(log1p(e^v)) there are −5e-37 at −88 (normal: not 0); Softplus
  // with β below 1 divides the subnormal log1p(e^βx) by β. `unit`: one 2^−149 of the subnormal
  // factor PyTorch rounds, in the result (x for SiLU's and Mish's, 1/β for Softplus's).
  const cases = [
    { torch: 'nn.SiLU()', variant: 'SILU', a: 0, b: 0, scale: 1, unit: (v: number) => Math.abs(v) },
    { torch: 'nn.Mish()', variant: 'MISH', a: 0, b: 0, scale: 1, unit: (v: number) => Math.abs(v) },
    { torch: 'nn.Softplus()', variant: 'SOFTPLUS', a: 1, b: 20, scale: 1, unit: () => 1 },
    { torch: 'nn.Softplus(0.01, 20)', variant: 'SOFTPLUS', a: 0.01, b: 20, scale: 100, unit: () => 100 },
  ] as const;
  gpuTest('forward and backward (dy = 1) at x from −87.34 to −1e30, to 4 ulp and one 2^−149 of the rounded factor', async (ctx, t) => {
    skipWithoutTorch(t);
    const torch = runTorch<{ y: number[]; dx: number[] }[]>(
      `
import json, sys, torch
import torch.nn as nn
spec = json.load(sys.stdin)
out = []
for c in spec['cases']:
    x = torch.tensor(c['x'], dtype=torch.int32).view(torch.float32).requires_grad_()
    y = eval(c['torch'])(x)
    y.backward(torch.ones_like(y))
    out.append({'y': y.detach().view(torch.int32).tolist(), 'dx': x.grad.view(torch.int32).tolist()})
print(json.dumps(out))
`,
      { cases: cases.map((c) => ({ torch: c.torch, x: float32Bits(SUBNORMAL_TAIL.map((v) => v * c.scale)) })) },
    );
    let compared = 0;
    for (const [k, c] of cases.entries()) {
      const x = Float32Array.from(SUBNORMAL_TAIL, (v) => v * c.scale);
      const gpu = await run(ctx, x, new Float32Array(x.length).fill(1), c.variant, Math.fround(c.a), Math.fround(c.b));
      const [y, dx] = [fromFloat32Bits(torch[k]!.y), fromFloat32Bits(torch[k]!.dx)];
      x.forEach((v, i) => {
        const unit = c.unit(v) * 2 ** -149;
        expect(tailMismatch(gpu.y[i]!, y[i]!, unit), `${c.torch} y at x = ${v}`).toBeUndefined();
        expect(tailMismatch(gpu.dx[i]!, dx[i]!, unit), `${c.torch} dx at x = ${v}`).toBeUndefined();
        compared += Number(Math.abs(y[i]!) >= 2 ** -126) + Number(Math.abs(dx[i]!) >= 2 ** -126);
      });
    }
    // Normal results of PyTorch's compared (not only its zeros and subnormals).
    expect(compared).toBeGreaterThan(40);
  });
  if (!hasTorch) gpuTest('PyTorch is not installed here: the tail comparison skipped', async (_ctx, t) => t.skip());
});
