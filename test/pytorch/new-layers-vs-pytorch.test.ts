/**
 * The float64 references of Tanhshrink (near 0, where PyTorch's own x − tanh x cancels), Softmin,
 * GLU, RReLU and the alpha dropouts against PyTorch 1.13 in float64, forward and backward:
 * Softmin and GLU (every dim of [N, C, H, W], [N, C, L] and [N, F]) directly; RReLU in eval
 * directly, in training given the slopes the engine drew (PyTorch's own backward,
 * rrelu_with_noise_backward, with them as its noise; its forward x·noise); AlphaDropout and
 * FeatureAlphaDropout the identity in eval, in training ATen's formula (x·(noise·a) + b,
 * b = (noise − 1)·α·a + α·a·p) given the engine's mask; and PyTorch's own draws' statistics beside
 * the engine's (the dropped fraction, the mean and variance kept). Skipped, saying so, without PyTorch.
 */
import { describe, expect, test } from 'vitest';
import { runTorch, skipWithoutTorch } from '../helpers/torch.js';
import { activationRef } from '../../src/reference/activation.js';
import { softminBackwardRef, softminRef } from '../../src/reference/nll.js';
import { gluBackwardRef, gluRef } from '../../src/reference/glu.js';
import { leakyReluBackwardRef, leakyReluRef } from '../../src/reference/activation.js';
import { rreluBackwardRef, rreluRef, rreluSlopesRef } from '../../src/reference/rrelu.js';
import { alphaDropoutBackwardRef, alphaDropoutForwardRef, channelDropoutMaskRef, dropoutMaskRef } from '../../src/reference/random.js';
import { randomArray, scaledError } from '../helpers/allclose.js';


const measured: Record<string, number> = {};
const record = (name: string, error: number) => {
  measured[name] = Math.max(measured[name] ?? 0, error);
  return error;
};

const GRAD_SCRIPT = `
import json, sys, torch
import torch.nn as nn
import torch.nn.functional as F
spec = json.load(sys.stdin)
out = []
for case in spec['cases']:
    x = torch.tensor(case['x'], dtype=torch.float64).reshape(case['shape']).requires_grad_(True)
    layer = eval(case['torch'])
    y = layer(x)
    dy = torch.tensor(case['dy'], dtype=torch.float64).reshape(y.shape)
    y.backward(dy)
    out.append({'y': y.flatten().tolist(), 'dx': x.grad.flatten().tolist(), 'shape': list(y.shape)})
print(json.dumps(out))
`;

describe('Tanhshrink, Softmin and GLU against PyTorch (float64)', () => {
  test('Tanhshrink near 0: the reference keeps its relative accuracy where PyTorch\'s float64 x − tanh x cancels', (ctx) => {
    skipWithoutTorch(ctx);
    // PyTorch's torch.tanh in float64 and the difference: exact to 1e-16 absolute, so relative to
    // x³/3 its error grows as x falls; above 1e-2 the two agree to 1e-10 relative, and at 1e-4 the
    // reference stays on the series while PyTorch has lost half its digits.
    const x = [1e-2, -3e-2, 0.1, -0.4, 0.49, 0.51, 0.75, -1, 2, -8, 30];
    const [torch] = runTorch<{ y: number[]; dx: number[] }[]>(GRAD_SCRIPT, { cases: [{ torch: 'nn.Tanhshrink()', x, shape: [x.length], dy: x.map(() => 1) }] });
    const y = activationRef('TANHSHRINK', x);
    x.forEach((v, i) => expect(Math.abs(y[i]! - torch!.y[i]!) / Math.abs(torch!.y[i]!), `x = ${v}`).toBeLessThan(1e-10));
    record('Tanhshrink y (relative)', Math.max(...x.map((_, i) => Math.abs(y[i]! - torch!.y[i]!) / Math.abs(torch!.y[i]!))));
    // At 1e-6: x³/3 = 3.3e-19 exactly enough in the series; x − tanh x in float64 keeps about 1e-16/3.3e-19 — nothing.
    expect(activationRef('TANHSHRINK', [1e-6])[0]! / (1e-18 / 3)).toBeCloseTo(1, 10);
  });

  test('Softmin over [N, classes] and GLU over every dim of [N, C, H, W], [N, C, L], [N, F]: forward and backward', (ctx) => {
    skipWithoutTorch(ctx);
    const cases: { torch: string; shape: number[]; dim?: number; softmin?: boolean; x: number[]; dy: number[] }[] = [];
    const add = (torch: string, shape: number[], outShape: number[], extra: { dim?: number; softmin?: boolean }) => {
      const n = shape.reduce((a, b) => a * b, 1);
      cases.push({ torch, shape, ...extra, x: Array.from(randomArray(n, n + cases.length, -4, 4)), dy: Array.from(randomArray(outShape.reduce((a, b) => a * b, 1), n + 50 + cases.length)) });
    };
    add('nn.Softmin(dim=1)', [3, 7], [3, 7], { softmin: true });
    add('nn.Softmin(dim=-1)', [2, 1], [2, 1], { softmin: true });
    for (const shape of [[2, 4, 6, 2], [3, 6, 4], [4, 8]]) {
      for (let d = 1; d < shape.length; d++) {
        for (const dim of [d, d - shape.length]) add(`nn.GLU(dim=${dim})`, shape, shape.map((s, i) => (i === d ? s / 2 : s)), { dim });
      }
    }
    add('nn.GLU()', [2, 4, 6, 2], [2, 4, 6, 1], { dim: -1 });
    const torch = runTorch<{ y: number[]; dx: number[]; shape: number[] }[]>(GRAD_SCRIPT, { cases });
    cases.forEach((c, k) => {
      let y: Float64Array;
      let dx: Float64Array;
      if (c.softmin) {
        const [batch, classes] = c.shape as [number, number];
        y = softminRef(c.x, batch, classes);
        dx = softminBackwardRef(c.dy, y, batch, classes);
      } else {
        const axis = (c.dim! < 0 ? c.dim! + c.shape.length : c.dim!);
        const shape = { outer: c.shape.slice(0, axis).reduce((a, b) => a * b, 1), size: c.shape[axis]!, inner: c.shape.slice(axis + 1).reduce((a, b) => a * b, 1) };
        y = gluRef(c.x, shape);
        dx = gluBackwardRef(c.dy, c.x, shape);
      }
      const name = c.softmin ? 'Softmin' : 'GLU';
      expect(record(`${name} y`, scaledError(y, torch[k]!.y)), `${c.torch} on [${c.shape}] y`).toBeLessThan(1e-14);
      expect(record(`${name} dx`, scaledError(dx, torch[k]!.dx)), `${c.torch} on [${c.shape}] dx`).toBeLessThan(1e-14);
    });
  });
});

describe('RReLU against PyTorch (float64)', () => {
  test('eval: leaky_relu with (lower + upper)/2, forward and backward, at 0 and both sides', (ctx) => {
    skipWithoutTorch(ctx);
    const x = [0, -0, -3, 3, -1e-9, 1e-9, ...Array.from(randomArray(40, 71, -5, 5))];
    const dy = Array.from(randomArray(x.length, 72));
    const [torch] = runTorch<{ y: number[]; dx: number[] }[]>(GRAD_SCRIPT, { cases: [{ torch: 'nn.RReLU(0.1, 0.3).eval()', x, shape: [x.length], dy }] });
    expect(record('RReLU eval y', scaledError(leakyReluRef(x, 0.2), torch!.y))).toBeLessThan(1e-15);
    // The reference's network step takes the slope as (lower + upper)/2 of the layer's arguments.
    expect(record('RReLU eval dx', scaledError(leakyReluBackwardRef(dy, x, (0.1 + 0.3) / 2), torch!.dx))).toBeLessThan(1e-15);
  });

  test("training: given the engine's drawn slopes, PyTorch's rrelu_with_noise_backward (its noise: the slope where x ≤ 0, else 1) and forward x·noise; its own draws' statistics", (ctx) => {
    skipWithoutTorch(ctx);
    const n = 20000;
    const x = Array.from(randomArray(n, 73, -3, 3));
    x[0] = 0;
    const dy = Array.from(randomArray(n, 74));
    const [lower, upper] = [0.125, 1 / 3];
    const slopes = rreluSlopesRef(n, lower, upper, 5, 17, 2);
    const torch = runTorch<{ y: number[]; dx: number[]; slopeMean: number; slopeVar: number; slopeMin: number; slopeMax: number }>(
      `
import json, sys, torch
spec = json.load(sys.stdin)
x = torch.tensor(spec['x'], dtype=torch.float64)
dy = torch.tensor(spec['dy'], dtype=torch.float64)
r = torch.tensor(spec['slopes'], dtype=torch.float64)
noise = torch.where(x <= 0, r, torch.ones_like(x))
dx = torch.ops.aten.rrelu_with_noise_backward(dy, x, noise, spec['lower'], spec['upper'], True, False)
# PyTorch's own training draw: its noise, where x <= 0, is its slope.
xt = -torch.rand(200000, dtype=torch.float64) - 0.01
own = torch.nn.functional.rrelu(xt, spec['lower'], spec['upper'], training=True) / xt
print(json.dumps({'y': (x * noise).tolist(), 'dx': dx.tolist(), 'slopeMean': own.mean().item(), 'slopeVar': own.var().item(), 'slopeMin': own.min().item(), 'slopeMax': own.max().item()}))
`,
      { x, dy, slopes: Array.from(slopes), lower, upper },
    );
    expect(record('RReLU train y', scaledError(rreluRef(x, slopes), torch.y))).toBeLessThan(1e-15);
    expect(record('RReLU train dx', scaledError(rreluBackwardRef(dy, x, slopes), torch.dx))).toBeLessThan(1e-15);
    // The engine's slopes and PyTorch's: U(lower, upper) both, mean (l + u)/2, variance (u − l)²/12.
    const s = Array.from(slopes);
    const mean = s.reduce((a, v) => a + v, 0) / n;
    const variance = s.reduce((a, v) => a + (v - mean) ** 2, 0) / (n - 1);
    const [m, v] = [(lower + upper) / 2, (upper - lower) ** 2 / 12];
    expect(Math.abs(mean - m)).toBeLessThan(5 * Math.sqrt(v / n));
    expect(Math.abs(torch.slopeMean - m)).toBeLessThan(5 * Math.sqrt(v / 200000));
    expect(Math.abs(variance / v - 1)).toBeLessThan(0.05);
    expect(Math.abs(torch.slopeVar / v - 1)).toBeLessThan(0.05);
    expect(Math.min(...s)).toBeGreaterThanOrEqual(lower);
    expect(Math.max(...s)).toBeLessThan(upper);
    expect(torch.slopeMin).toBeGreaterThanOrEqual(lower);
    expect(torch.slopeMax).toBeLessThanOrEqual(upper);
  });
});

describe('AlphaDropout and FeatureAlphaDropout against PyTorch (float64)', () => {
  test("eval: the identity; training: ATen's formula given the engine's mask, forward and backward, p 0.2, 0.5 and 1 (zeros)", (ctx) => {
    skipWithoutTorch(ctx);
    const [batch, channels, area] = [4, 6, 10];
    const n = batch * channels * area;
    const x = Array.from(randomArray(n, 75, -3, 3));
    const dy = Array.from(randomArray(n, 76));
    const cases = [0.2, 0.5, 1].flatMap((p) => [false, true].map((feature) => {
      const mask = feature ? channelDropoutMaskRef(n, area, p, 3, 18, 1) : dropoutMaskRef(n, p, 3, 18, 1);
      return { p, feature, mask: Array.from(mask, (m) => (m !== 0 ? 1 : 0)), ourMask: mask };
    }));
    const torch = runTorch<{ y: number[]; dx: number[]; evalY: number[] }[]>(
      `
import json, sys, torch
import torch.nn as nn
spec = json.load(sys.stdin)
out = []
for case in spec['cases']:
    p = case['p']
    x = torch.tensor(spec['x'], dtype=torch.float64).reshape(${batch}, ${channels}, ${area}).requires_grad_(True)
    noise = torch.tensor(case['mask'], dtype=torch.float64).reshape(x.shape)
    # ATen's _dropout_impl (alpha_dropout, feature_alpha_dropout) with this noise
    if p == 1:
        y = x.mul(torch.zeros((), dtype=x.dtype))
    else:
        alpha = 1.7580993408473766
        a = 1. / ((alpha * alpha * p + 1) * (1 - p)) ** 0.5
        b = noise.add(-1).mul(alpha * a).add(alpha * a * p)
        y = x * noise.mul(a) + b
    y.backward(torch.tensor(spec['dy'], dtype=torch.float64).reshape(x.shape))
    layer = (nn.FeatureAlphaDropout if case['feature'] else nn.AlphaDropout)(p).eval()
    out.append({'y': y.flatten().tolist(), 'dx': x.grad.flatten().tolist(), 'evalY': layer(x).flatten().tolist()})
print(json.dumps(out))
`,
      { x, dy, cases: cases.map(({ p, feature, mask }) => ({ p, feature, mask })) },
    );
    cases.forEach((c, k) => {
      const label = `${c.feature ? 'FeatureAlphaDropout' : 'AlphaDropout'}(${c.p})`;
      expect(torch[k]!.evalY, `${label} eval`).toEqual(x);
      expect(record('AlphaDropout y', scaledError(alphaDropoutForwardRef(x, c.ourMask, c.p), torch[k]!.y)), `${label} y`).toBeLessThan(1e-15);
      expect(record('AlphaDropout dx', scaledError(alphaDropoutBackwardRef(dy, c.ourMask, c.p), torch[k]!.dx)), `${label} dx`).toBeLessThan(1e-15);
    });
  });

  test("PyTorch's own AlphaDropout draws and the engine's: the dropped fraction p, mean 0 and variance 1 kept on a standard normal input", (ctx) => {
    skipWithoutTorch(ctx);
    const n = 200_000;
    const p = 0.3;
    const torch = runTorch<{ dropped: number; mean: number; variance: number }>(
      `
import json, sys, torch
spec = json.load(sys.stdin)
torch.manual_seed(0)
x = torch.randn(${n}, dtype=torch.float64)
y = torch.nn.AlphaDropout(spec['p']).train()(x)
alpha, p = 1.7580993408473766, spec['p']
a = 1. / ((alpha * alpha * p + 1) * (1 - p)) ** 0.5
dropped = torch.isclose(y, torch.tensor(-a * alpha * (1 - p), dtype=torch.float64), rtol=1e-12, atol=0).double().mean().item()
print(json.dumps({'dropped': dropped, 'mean': y.mean().item(), 'variance': y.var().item()}))
`,
      { p },
    );
    // The engine's on a standard normal sample (Box–Muller from the reference's own Philox words).
    const u = dropoutMaskRef(n, p, 11, 19, 0);
    const uniform = randomArray(2 * n, 77, 1e-12, 1);
    const x = Float64Array.from({ length: n }, (_, i) => Math.sqrt(-2 * Math.log(uniform[2 * i]!)) * Math.cos(2 * Math.PI * uniform[2 * i + 1]!));
    const y = alphaDropoutForwardRef(x, u, p);
    const dropped = Array.from(u).filter((m) => m === 0).length / n;
    const mean = y.reduce((a, v) => a + v, 0) / n;
    const variance = y.reduce((a, v) => a + (v - mean) ** 2, 0) / (n - 1);
    const tol = 5 * Math.sqrt((p * (1 - p)) / n);
    for (const [who, d, m, v] of [['engine', dropped, mean, variance], ['PyTorch', torch.dropped, torch.mean, torch.variance]] as const) {
      expect(Math.abs(d - p), `${who}: dropped fraction ${d}`).toBeLessThan(tol);
      expect(Math.abs(m), `${who}: mean ${m}`).toBeLessThan(0.01);
      expect(Math.abs(v - 1), `${who}: variance ${v}`).toBeLessThan(0.02);
    }
  });

  test('the largest differences measured', () => {
    console.log('reference against PyTorch (largest |ours − theirs| / largest |theirs|):', JSON.stringify(measured));
  });
});
