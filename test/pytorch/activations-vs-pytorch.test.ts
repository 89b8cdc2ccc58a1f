/**
 * The float64 references of the activations whose backward reads their input against PyTorch's own
 * float64 forward and backward at the points a random input never hits: exact zeros, each kink
 * (the side PyTorch's backward takes there), the thresholds, far out on both sides, and tiny
 * values. Skipped, saying so, where PyTorch is not installed.
 */
import { describe, expect, test } from 'vitest';
import { runTorch, skipWithoutTorch } from '../helpers/torch.js';
import { activationBackwardRef, activationRef, type ActivationRefKind } from '../../src/reference/activation.js';


const TORCH = `
import json, sys, torch
import torch.nn as nn
spec = json.load(sys.stdin)
out = []
for case in spec['cases']:
    layer = eval(case['torch'])
    x = torch.tensor(spec['x'], dtype=torch.float64, requires_grad=True)
    y = layer(x)
    y.backward(torch.ones_like(y))
    out.append({'y': y.tolist(), 'dx': x.grad.tolist()})
print(json.dumps(out))
`;

const cases: { torch: string; kind: ActivationRefKind; a: number; b: number }[] = [
  { torch: 'nn.LeakyReLU(0.2)', kind: 'LEAKY_RELU', a: 0.2, b: 0 },
  { torch: 'nn.SiLU()', kind: 'SILU', a: 0, b: 0 },
  { torch: 'nn.GELU()', kind: 'GELU', a: 0, b: 0 },
  { torch: "nn.GELU(approximate='tanh')", kind: 'GELU_TANH', a: 0, b: 0 },
  { torch: 'nn.ELU(0.7)', kind: 'ELU', a: 0.7, b: 1 },
  { torch: 'nn.SELU()', kind: 'ELU', a: 1.6732632423543772848170429916717, b: 1.0507009873554804934193349852946 },
  { torch: 'nn.Softplus(2, 3)', kind: 'SOFTPLUS', a: 2, b: 3 },
  { torch: 'nn.Mish()', kind: 'MISH', a: 0, b: 0 },
  { torch: 'nn.Hardswish()', kind: 'HARDSWISH', a: 0, b: 0 },
  { torch: 'nn.Hardsigmoid()', kind: 'HARDSIGMOID', a: 0, b: 0 },
  { torch: 'nn.Hardtanh(-0.5, 2)', kind: 'HARDTANH', a: -0.5, b: 2 },
  { torch: 'nn.ReLU6()', kind: 'HARDTANH', a: 0, b: 6 },
  { torch: 'nn.CELU(0.7)', kind: 'CELU', a: 0.7, b: 0 },
  { torch: 'nn.CELU(-1.5)', kind: 'CELU', a: -1.5, b: 0 },
  { torch: 'nn.LogSigmoid()', kind: 'LOGSIGMOID', a: 0, b: 0 },
  { torch: 'nn.Softsign()', kind: 'SOFTSIGN', a: 0, b: 0 },
  { torch: 'nn.Softshrink(0.5)', kind: 'SOFTSHRINK', a: 0.5, b: 0 },
  { torch: 'nn.Softshrink(3)', kind: 'SOFTSHRINK', a: 3, b: 0 },
  { torch: 'nn.Hardshrink(2)', kind: 'HARDSHRINK', a: 2, b: 0 },
  { torch: 'nn.Hardshrink(-1)', kind: 'HARDSHRINK', a: -1, b: 0 },
  { torch: 'nn.Threshold(1.5, -2)', kind: 'THRESHOLD', a: 1.5, b: -2 },
  { torch: 'nn.Threshold(0, 0)', kind: 'THRESHOLD', a: 0, b: 0 },
  { torch: 'nn.Tanhshrink()', kind: 'TANHSHRINK', a: 0, b: 0 },
];

describe('activation references against PyTorch (float64) at zeros, kinks, thresholds and extremes', () => {
  test('forward and backward, every activation', (ctx) => {
    skipWithoutTorch(ctx);
    const x = [0, -0, -3, 3, -0.5, 2, 6, 1.5, 1e-9, -1e-9, 0.3, -0.3, -2.9, 2.9, -7, 7, -25, 25, -40, 40, -700, 700, NaN];
    const torch = runTorch<{ y: number[]; dx: number[] }[]>(TORCH, { x, cases });
    cases.forEach((c, k) => {
      const y = activationRef(c.kind, x, c.a, c.b);
      const dx = activationBackwardRef(c.kind, x.map(() => 1), x, c.a, c.b);
      x.forEach((v, i) => {
        // Hardswish at ±3: torch 1.13's backward gives −0.5 at −3, and 1.5 or 1 at 3 depending on
        // the element's place in its vector; PyTorch ≥ 2.7 (pytorch/pytorch#148049) gives 0 and 1,
        // the sides of the defining pieces, which the reference takes (asserted below).
        if (c.kind === 'HARDSWISH' && Math.abs(v) === 3) return;
        // Softshrink of NaN: torch 1.13 gives 0 (pytorch/pytorch#138385); the fix (#138421) gives
        // NaN, as the reference does (asserted below).
        if (c.kind === 'SOFTSHRINK' && Number.isNaN(v)) return;
        // NaN where PyTorch gives NaN (a NaN input: NaN out, and the backward's side).
        const close = (ours: number, theirs: number) => (Number.isNaN(theirs) ? Number.isNaN(ours) : Math.abs(ours - theirs) <= 1e-13 * Math.max(1, Math.abs(theirs)));
        expect(close(y[i]!, torch[k]!.y[i]!), `${c.torch} at x = ${v}: y ${y[i]} against ${torch[k]!.y[i]}`).toBe(true);
        expect(close(dx[i]!, torch[k]!.dx[i]!), `${c.torch} at x = ${v}: dx ${dx[i]} against ${torch[k]!.dx[i]}`).toBe(true);
      });
    });
    expect(Array.from(activationBackwardRef('HARDSWISH', [1, 1], [-3, 3]))).toEqual([0, 1]);
    expect(activationRef('SOFTSHRINK', [NaN], 0.5)[0]).toBeNaN();
  });
});
