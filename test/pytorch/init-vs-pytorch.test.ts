/**
 * torch.nn.init's initialisations (src/plan/init.ts) against PyTorch 1.13: the gains
 * (calculate_gain) and fans (_calculate_fan_in_and_fan_out) exactly, and each distribution's
 * mean, standard deviation and range against PyTorch's own draws of the same tensor (147,456
 * elements each side: the standard deviations within 1 %). Skipped, saying so, where PyTorch is
 * not installed; the determinism and the refusals run everywhere.
 */
import { describe, expect, test } from 'vitest';
import { runTorch, skipWithoutTorch } from '../helpers/torch.js';
import { calculateGain, checkInit, fanInAndOut, initValues, inverseNormalCdf, type Init } from '../../src/plan/init.js';
import { normalCdfRef } from '../../src/reference/activation.js';

const TORCH = `
import json, sys, torch
import torch.nn.init as I
spec = json.load(sys.stdin)
torch.manual_seed(0)
gains = [I.calculate_gain(n, p) if p is not None else I.calculate_gain(n) for n, p in spec['gains']]
fans = [list(I._calculate_fan_in_and_fan_out(torch.empty(s))) for s in spec['fans']]
stats = []
for c in spec['cases']:
    t = torch.empty(c['shape'], dtype=torch.float64)
    k = c['init'].pop('kind')
    getattr(I, k + '_')(t, **c['init'])
    stats.append([t.mean().item(), t.std().item(), t.min().item(), t.max().item()])
print(json.dumps({'gains': gains, 'fans': fans, 'stats': stats}))
`;

const SHAPE = [256, 64, 3, 3];
const cases: Init[] = [
  { kind: 'kaiming_uniform' },
  { kind: 'kaiming_uniform', a: Math.sqrt(5) },
  { kind: 'kaiming_normal', mode: 'fan_out', nonlinearity: 'relu' },
  { kind: 'kaiming_normal', a: 0.2, nonlinearity: 'leaky_relu' },
  { kind: 'xavier_uniform', gain: 5 / 3 },
  { kind: 'xavier_normal' },
  { kind: 'normal', mean: 0.5, std: 0.02 },
  { kind: 'uniform', a: -0.3, b: 0.7 },
  { kind: 'trunc_normal' },
  { kind: 'trunc_normal', mean: 0.5, std: 0.3, a: 0, b: 1 },
  { kind: 'orthogonal', gain: 2 },
];

const stats = (v: Float32Array) => {
  const mean = v.reduce((a, b) => a + b, 0) / v.length;
  const std = Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / (v.length - 1));
  return [mean, std, v.reduce((a, b) => Math.min(a, b), Infinity), v.reduce((a, b) => Math.max(a, b), -Infinity)] as const;
};

describe('torch.nn.init against PyTorch', () => {
  test("the gains, the fans, and each distribution's mean, standard deviation and range", (ctx) => {
    skipWithoutTorch(ctx);
    const gains: [string, number | null][] = [['linear', null], ['conv2d', null], ['sigmoid', null], ['tanh', null], ['relu', null], ['leaky_relu', null], ['leaky_relu', 0.2], ['selu', null]];
    const fans = [[10, 784], [16, 8, 3, 3], [32, 16, 5, 1]];
    const torch = runTorch<{ gains: number[]; fans: number[][]; stats: number[][] }>(TORCH, { gains, fans, cases: cases.map((init) => ({ shape: SHAPE, init: { ...init } })) });
    gains.forEach(([n, p], k) => expect(calculateGain(n as never, p ?? undefined), `gain ${n} ${p}`).toBeCloseTo(torch.gains[k]!, 15));
    fans.forEach((shape, k) => expect(Object.values(fanInAndOut(shape, 'w'))).toEqual(torch.fans[k]));
    cases.forEach((init, k) => {
      const [mean, std, min, max] = stats(initValues(init, SHAPE, 'w', { seed: 1, stream: 3, normalStream: 4, key: 0, offset: 0 }));
      const [tMean, tStd, tMin, tMax] = torch.stats[k]!;
      const what = JSON.stringify(init);
      expect(Math.abs(std / tStd! - 1), `${what}: std ${std} against ${tStd}`).toBeLessThan(0.01);
      expect(Math.abs(mean - tMean!), `${what}: mean ${mean} against ${tMean}`).toBeLessThan(0.02 * tStd! + 1e-12);
      if (init.kind.endsWith('uniform') || init.kind === 'trunc_normal') {
        // The same range: the extremes of 147,456 uniform draws lie within 0.01 % of the bounds.
        expect(Math.abs(min - tMin!), `${what}: min`).toBeLessThan(1e-3 * (tMax! - tMin!));
        expect(Math.abs(max - tMax!), `${what}: max`).toBeLessThan(1e-3 * (tMax! - tMin!));
      }
    });
  });
});

describe('initialisations here', () => {
  test('orthogonal: orthonormal rows (rows ≤ columns) or columns, times gain; trunc_normal within [a, b]', () => {
    const draw = (init: Init, shape: number[]) => initValues(init, shape, 'w', { seed: 5, stream: 3, normalStream: 4, key: 2, offset: 0 });
    for (const [shape, gain] of [[[16, 8, 3, 3], 1], [[100, 20], 0.5], [[12, 12], 3]] as const) {
      const q = draw({ kind: 'orthogonal', gain }, [...shape]);
      const rows = shape[0]!;
      const columns = q.length / rows;
      // Gram matrix of the shorter side's vectors: gain² I.
      const [count, length, at] = rows <= columns ? [rows, columns, (v: number, i: number) => q[v * columns + i]!] : [columns, rows, (v: number, i: number) => q[i * columns + v]!];
      let worst = 0;
      for (let u = 0; u < count; u++) {
        for (let v = 0; v < count; v++) {
          let dot = 0;
          for (let i = 0; i < length; i++) dot += at(u, i) * at(v, i);
          worst = Math.max(worst, Math.abs(dot - (u === v ? gain * gain : 0)));
        }
      }
      expect(worst, `[${shape.join(', ')}] gain ${gain}`).toBeLessThan(1e-5 * gain * gain);
    }
    const t = draw({ kind: 'trunc_normal', mean: 1, std: 2, a: 0.5, b: 1.25 }, [4000]);
    expect(t.every((v) => v >= 0.5 && v <= 1.25)).toBe(true);
    expect(() => checkInit({ kind: 'trunc_normal', a: 1, b: 1 }, 'w')).toThrow("init of 'w': trunc_normal's a must be below b, got a 1, b 1");
    expect(() => checkInit({ kind: 'trunc_normal', std: 0 }, 'w')).toThrow("init of 'w': trunc_normal's std must be a finite number > 0 (PyTorch divides by it), got 0");
    expect(() => draw({ kind: 'orthogonal' }, [8])).toThrow("init of 'w': orthogonal needs a tensor of 2 or more dimensions, got [8] (as PyTorch)");
  });

  test("Φ⁻¹ (trunc_normal's inverse CDF) inverts Φ to float64's accuracy, in the middle and the tails", () => {
    // Right of 4.5, Φ(x) itself is within a float64 step of 1 and holds too few digits of the tail to invert to 1e-9.
    for (const x of [-8, -5.2, -2.1, -0.3, 0, 1e-3, 0.9, 2.5, 4.5]) expect(Math.abs(inverseNormalCdf(normalCdfRef(x)) - x), `x ${x}`).toBeLessThan(1e-9 * Math.max(1, Math.abs(x)));
  });

  test('are the same for the same seed and key, other for another; constants exactly', () => {
    const draw = (seed: number, key: number) => Array.from(initValues({ kind: 'kaiming_normal' }, [8, 4, 3, 3], 'w', { seed, stream: 3, normalStream: 4, key, offset: 0 }));
    expect(draw(1, 0)).toEqual(draw(1, 0));
    expect(draw(1, 0)).not.toEqual(draw(2, 0));
    expect(draw(1, 0)).not.toEqual(draw(1, 1));
    expect(Array.from(initValues({ kind: 'constant', val: 0.25 }, [3], 'b', { seed: 1, stream: 3, normalStream: 4, key: 0, offset: 0 }))).toEqual([0.25, 0.25, 0.25]);
    expect(Array.from(initValues({ kind: 'zeros' }, [2], 'b', { seed: 1, stream: 3, normalStream: 4, key: 0, offset: 0 }))).toEqual([0, 0]);
  });

  test('are checked as torch.nn.init checks its arguments, naming the parameter', () => {
    expect(() => initValues({ kind: 'kaiming_normal' }, [16], 'fc.bias', { seed: 1, stream: 3, normalStream: 4, key: 0, offset: 0 })).toThrow("init of 'fc.bias': fan in and fan out can not be computed for a tensor of fewer than 2 dimensions ([16]), as PyTorch says");
    expect(() => checkInit({ kind: 'kaiming_normal', mode: 'fan_both' }, 'w')).toThrow("init of 'w': mode must be 'fan_in' or 'fan_out', got \"fan_both\"");
    expect(() => checkInit({ kind: 'normal', std: -1 }, 'w')).toThrow("init of 'w': normal's std must be a finite number ≥ 0, got -1");
    expect(() => checkInit({ kind: 'xavier_uniform', mode: 'fan_in' }, 'w')).toThrow("init of 'w': xavier_uniform takes gain, not 'mode'");
    expect(() => checkInit({ kind: 'dirac' }, 'w')).toThrow(/init of 'w': expected \{ kind: 'kaiming_uniform'/);
    expect(() => checkInit({ kind: 'uniform', a: 1, b: 0 }, 'w')).toThrow("init of 'w': uniform's a must not exceed b, got a 1, b 0");
    // PyTorch: constant_() missing 1 required positional argument: 'val'.
    expect(() => checkInit({ kind: 'constant' }, 'w')).toThrow("init of 'w': constant's val must be a finite number, got undefined");
    // Values past float32's range: PyTorch refuses them ("cannot be converted to type float without overflow").
    expect(() => initValues({ kind: 'constant', val: 1e39 }, [2], 'w', { seed: 1, stream: 3, normalStream: 4, key: 0, offset: 0 })).toThrow(`init of 'w': {"kind":"constant","val":1e+39} gives values that do not fit float32`);
  });

  test("a layer's normal weight and the uniform bias after it draw from other Philox words (the bias is not a function of the weight)", () => {
    // The bias continues the element counter after the weight (offset W): were the normals on the
    // uniform draws' stream, its words W + j would be words 2i, 2i + 1 of the weight's elements.
    const W = 512 * 512;
    const draw = (init: Init, shape: number[], offset: number) => initValues(init, shape, 'p', { seed: 5, stream: 3, normalStream: 4, key: 0, offset });
    const weight = draw({ kind: 'kaiming_normal' }, [512, 512], 0);
    const bias = draw({ kind: 'uniform', a: -1, b: 1 }, [512], W);
    const evens = Array.from({ length: 256 }, (_, k) => [bias[2 * k]!, Math.log(Math.abs(weight[(W + 2 * k) / 2]!))] as const);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const [mx, my] = [mean(evens.map(([x]) => x)), mean(evens.map(([, y]) => y))];
    const cov = mean(evens.map(([x, y]) => (x - mx) * (y - my)));
    const sd = (xs: number[], m: number) => Math.sqrt(mean(xs.map((x) => (x - m) ** 2)));
    const corr = cov / (sd(evens.map(([x]) => x), mx) * sd(evens.map(([, y]) => y), my));
    // Independent draws: |corr| of 256 pairs is below 0.2 with probability > 0.998 (the shared words gave −0.63).
    expect(Math.abs(corr)).toBeLessThan(0.2);
  });
});
