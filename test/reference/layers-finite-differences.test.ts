/**
 * The CNN layers' CPU reference checked by central finite differences in float64 on tiny, awkward
 * shapes, the whole seed CNN on a sample of its parameters, and the exact rules of the random
 * numbers, the pooling ties, the rotation and the parameter counts.
 */
import { describe, expect, test } from 'vitest';
import { batchNormBackwardRef, batchNormForwardTrainRef, batchNormStatsRef } from '../../src/reference/batchnorm.js';
import { conv2dBackwardInputRef, conv2dBackwardWeightRef, conv2dForwardRef, conv2dGeometry, conv2dOutputSize, type Conv2dGeometry, type Conv2dShape } from '../../src/reference/conv2d.js';
import { rotateImageRef } from '../../src/reference/mnist-input.js';
import { logSoftmaxNllBackwardRef, logSoftmaxRef, nllBackwardRef, nllLossRef } from '../../src/reference/nll.js';
import { adaptiveAvgPool2dBackwardRef, adaptiveAvgPool2dForwardRef, adaptiveMaxPool2dForwardRef, avgPool2dBackwardRef, avgPool2dForwardRef, globalAvgPoolBackwardRef, globalAvgPoolForwardRef, maxPool2dForwardRef, maxPoolBackwardRef, maxPool2x2ForwardRef, pool2dShapeRef, type Pool2dRef } from '../../src/reference/pooling.js';
import { alphaDropoutBackwardRef, alphaDropoutForwardRef, dropoutMaskRef, philox4x32, RANDOM_STREAM, shufflePermutationRef } from '../../src/reference/random.js';
import { reluBackwardRef, reluForwardRef } from '../../src/reference/relu.js';
import { softmaxBackwardRef, softmaxRef, softminBackwardRef, softminRef } from '../../src/reference/nll.js';
import { gluBackwardRef, gluRef } from '../../src/reference/glu.js';
import { rreluBackwardRef, rreluRef, rreluSlopesRef } from '../../src/reference/rrelu.js';
import { activationBackwardRef, activationRef, erfcRef, leakyReluBackwardRef, leakyReluRef, normalCdfRef, siluBackwardRef, siluRef, type ActivationRefKind } from '../../src/reference/activation.js';
import {
  SEED_CNN_BLOCKS,
  seedCnnBufferShapes,
  seedCnnDropoutMaskLengths,
  seedCnnEvalRef,
  seedCnnParameterShapes,
  seedCnnTrainStepRef,
} from '../../src/reference/seed-cnn.js';
import { sgdMomentumRef } from '../../src/reference/sgd-momentum.js';
import { expectAllClose, randomArray } from '../helpers/allclose.js';
import { groupNormShape, layerNormShape, sampleNormBackwardRef, sampleNormForwardRef } from '../../src/reference/sample-norm.js';
import { FD, FD_STEP, numericalGrad } from '../helpers/finite-differences.js';

const product = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

describe('conv2d reference', () => {
  // batch, Cin, H, W, Cout, KH, KW, stride, padding
  test.each([
    [1, 1, 5, 7, 1, 3, 3, 1, 0],
    [2, 1, 7, 5, 2, 3, 3, 2, 1],
    [1, 2, 5, 6, 3, 1, 1, 1, 0],
    [2, 1, 4, 7, 2, 1, 1, 2, 1],
    [2, 3, 6, 5, 2, 2, 3, 2, 1],
    [1, 2, 7, 4, 2, 2, 3, 1, 0],
  ])('batch %i, Cin %i, %i×%i, Cout %i, kernel %i×%i, stride %i, padding %i', (batch, inChannels, height, width, outChannels, kernelH, kernelW, stride, padding) => {
    const s: Conv2dShape = { batch, inChannels, height, width, outChannels, kernelH, kernelW, stride, padding };
    const { outHeight, outWidth } = conv2dOutputSize(s);
    const x = randomArray(batch * inChannels * height * width, 11);
    const w = randomArray(outChannels * inChannels * kernelH * kernelW, 12);
    const dy = randomArray(batch * outChannels * outHeight * outWidth, 13);
    expectAllClose('dx', conv2dBackwardInputRef(dy, w, s), numericalGrad((xx) => conv2dForwardRef(xx, w, s), x, dy), FD);
    expectAllClose('dW', conv2dBackwardWeightRef(dy, x, s), numericalGrad((ww) => conv2dForwardRef(x, ww, s), w, dy), FD);
  });

  test('output size, and a kernel that does not fit', () => {
    const s: Conv2dShape = { batch: 1, inChannels: 1, height: 7, width: 4, outChannels: 1, kernelH: 3, kernelW: 2, stride: 2, padding: 1 };
    expect(conv2dOutputSize(s)).toEqual({ outHeight: 4, outWidth: 3 });
    expect(() => conv2dOutputSize({ ...s, width: 1, kernelW: 5, padding: 0 })).toThrow(/does not fit/);
  });
});

describe('conv2d reference, any geometry (groups, dilation, each direction\'s stride and padding)', () => {
  const plain = { strideH: 1, strideW: 1, padTop: 0, padBottom: 0, padLeft: 0, padRight: 0, dilationH: 1, dilationW: 1, groups: 1 };
  const CASES: (Conv2dGeometry & { name: string })[] = [
    { ...plain, name: 'groups 2, stride 2×1, padding 1×0', batch: 2, inChannels: 4, height: 6, width: 5, outChannels: 6, kernelH: 3, kernelW: 2, strideH: 2, padTop: 1, padBottom: 1, groups: 2 },
    { ...plain, name: 'depthwise ×2, dilation 2×1, padding 2', batch: 1, inChannels: 3, height: 7, width: 6, outChannels: 6, kernelH: 3, kernelW: 3, dilationH: 2, padTop: 2, padBottom: 2, padLeft: 2, padRight: 2, groups: 3 },
    { ...plain, name: "'same' of an even kernel: 1/2 × 0/1 zeros", batch: 2, inChannels: 2, height: 5, width: 4, outChannels: 3, kernelH: 4, kernelW: 2, padTop: 1, padBottom: 2, padRight: 1 },
    { ...plain, name: 'dilation 2×3, stride 3×2', batch: 1, inChannels: 2, height: 9, width: 10, outChannels: 2, kernelH: 2, kernelW: 3, strideH: 3, strideW: 2, dilationH: 2, dilationW: 3 },
  ];
  test.each(CASES)('$name: dx and dW match central differences', (s) => {
    const { outHeight, outWidth } = conv2dGeometry(s);
    const x = randomArray(s.batch * s.inChannels * s.height * s.width, 31);
    const w = randomArray(s.outChannels * (s.inChannels / s.groups) * s.kernelH * s.kernelW, 32);
    const dy = randomArray(s.batch * s.outChannels * outHeight * outWidth, 33);
    expectAllClose('dx', conv2dBackwardInputRef(dy, w, s), numericalGrad((xx) => conv2dForwardRef(xx, w, s), x, dy), FD);
    expectAllClose('dW', conv2dBackwardWeightRef(dy, x, s), numericalGrad((ww) => conv2dForwardRef(x, ww, s), w, dy), FD);
  });

  // The forward by identities with the plain conv (groups 1, dilation 1, no padding, stride 1
  // checked against the plain loops above): a grouped conv is the groups' convs side by side; a
  // dilated kernel is a kernel with zeros between its taps; padding is zeros around the input; a
  // stride keeps every s-th output.
  test('the forward equals plain convs of the groups, of a zero-dilated kernel, on a zero-padded input, subsampled', () => {
    const s = CASES[1]!; // depthwise ×2: 3 groups of 1 → 2 channels, dilation 2×1, padding 2
    const padded = { ...s, height: s.height + 4, width: s.width + 4 };
    const x = randomArray(s.batch * s.inChannels * s.height * s.width, 41);
    const w = randomArray(s.outChannels * s.kernelH * s.kernelW, 42);
    const xp = new Float64Array(s.batch * s.inChannels * padded.height * padded.width);
    for (let p = 0; p < s.batch * s.inChannels; p++) for (let i = 0; i < s.height; i++) for (let j = 0; j < s.width; j++) xp[(p * padded.height + i + 2) * padded.width + j + 2] = x[(p * s.height + i) * s.width + j]!;
    // The dilated kernel 5×3: taps at rows 0, 2, 4.
    const wd = new Float64Array(s.outChannels * 5 * 3);
    for (let o = 0; o < s.outChannels; o++) for (let ky = 0; ky < 3; ky++) for (let kx = 0; kx < 3; kx++) wd[(o * 5 + 2 * ky) * 3 + kx] = w[(o * 3 + ky) * 3 + kx]!;
    const y = conv2dForwardRef(x, w, s);
    const { outHeight, outWidth } = conv2dGeometry(s);
    for (let g = 0; g < 3; g++) {
      const xg = new Float64Array(s.batch * padded.height * padded.width);
      for (let n = 0; n < s.batch; n++) xg.set(xp.subarray((n * 3 + g) * padded.height * padded.width, (n * 3 + g + 1) * padded.height * padded.width), n * padded.height * padded.width);
      const shape: Conv2dShape = { batch: s.batch, inChannels: 1, height: padded.height, width: padded.width, outChannels: 2, kernelH: 5, kernelW: 3, stride: 1, padding: 0 };
      const yg = conv2dForwardRef(xg, wd.subarray(g * 2 * 15, (g + 1) * 2 * 15), shape);
      for (let n = 0; n < s.batch; n++) for (let o = 0; o < 2; o++) for (let i = 0; i < outHeight; i++) for (let j = 0; j < outWidth; j++) {
        expect(y[((n * 6 + g * 2 + o) * outHeight + i) * outWidth + j]).toBeCloseTo(yg[((n * 2 + o) * conv2dOutputSize(shape).outHeight + i) * conv2dOutputSize(shape).outWidth + j]!, 12);
      }
    }
    // Stride 3×2 keeps outputs (3i, 2j) of the stride-1 conv.
    const t = CASES[3]!;
    const xt = randomArray(t.batch * t.inChannels * t.height * t.width, 43);
    const wt = randomArray(t.outChannels * t.inChannels * t.kernelH * t.kernelW, 44);
    const strided = conv2dForwardRef(xt, wt, t);
    const dense = conv2dForwardRef(xt, wt, { ...t, strideH: 1, strideW: 1 });
    const [a, b] = [conv2dGeometry(t), conv2dGeometry({ ...t, strideH: 1, strideW: 1 })];
    for (let o = 0; o < t.outChannels; o++) for (let i = 0; i < a.outHeight; i++) for (let j = 0; j < a.outWidth; j++) {
      expect(strided[(o * a.outHeight + i) * a.outWidth + j]).toBe(dense[(o * b.outHeight + 3 * i) * b.outWidth + 2 * j]);
    }
  });

  test('output size with dilation and uneven padding; groups that do not divide the channels are refused', () => {
    expect(conv2dOutputSize({ ...CASES[2]!, height: 5, width: 4 })).toEqual({ outHeight: 5, outWidth: 4 });
    expect(conv2dOutputSize({ ...CASES[3]! })).toEqual({ outHeight: 3, outWidth: 2 });
    expect(() => conv2dGeometry({ ...CASES[0]!, groups: 3 })).toThrow(/do not split into 3 groups/);
  });
});

describe('GroupNorm and LayerNorm reference (sample-norm)', () => {
  test.each([
    ['GroupNorm(2) of 4 channels of 2×3, batch 2', groupNormShape(2, 4, 6, 2, 1e-5)],
    ['GroupNorm(3) of 3 channels of 1×2 (a group a channel)', groupNormShape(3, 3, 2, 3, 1e-3)],
    ['LayerNorm(4) of [3, 4] samples', layerNormShape(2, 12, 4, 1e-5)],
    ['LayerNorm([2, 3]) of whole samples', layerNormShape(3, 6, 6, 0.1)],
  ] as const)('%s: dx, dweight and dbias match central differences', (_name, s) => {
    const n = s.batch * s.sampleSize;
    const x = randomArray(n, 51, -1, 2);
    const w = randomArray(s.affineCount, 52, 0.5, 1.5);
    const b = randomArray(s.affineCount, 53);
    const dy = randomArray(n, 54);
    const g = sampleNormBackwardRef(dy, x, w, s);
    expectAllClose('dx', g.dx, numericalGrad((xx) => sampleNormForwardRef(xx, w, b, s).y, x, dy), FD);
    expectAllClose('dweight', g.dweight, numericalGrad((ww) => sampleNormForwardRef(x, ww, b, s).y, w, dy), FD);
    expectAllClose('dbias', g.dbias, numericalGrad((bb) => sampleNormForwardRef(x, w, bb, s).y, b, dy), FD);
  });

  test('each segment has mean 0 and variance σ²/(σ² + eps) before the affine; LayerNorm of a whole sample is GroupNorm(1) with an elementwise affine', () => {
    const s = groupNormShape(2, 4, 6, 2, 1e-5);
    const x = randomArray(48, 55, -1, 3);
    const { y, mean, rstd } = sampleNormForwardRef(x, new Float64Array(4).fill(1), new Float64Array(4), s);
    for (let g = 0; g < 4; g++) {
      const seg = y.subarray(g * 12, (g + 1) * 12);
      const m = seg.reduce((a, v) => a + v, 0) / 12;
      expect(Math.abs(m)).toBeLessThan(1e-14);
      const v = seg.reduce((a, v) => a + v * v, 0) / 12;
      expect(v).toBeCloseTo(1 - 1e-5 * rstd[g]! ** 2, 12); // σ²/(σ² + eps), σ² = 1/rstd² − eps
      expect(mean[g]).toBeCloseTo(x.subarray(g * 12, (g + 1) * 12).reduce((a, v) => a + v, 0) / 12, 14);
    }
    const whole = sampleNormForwardRef(x, new Float64Array(24).fill(1), new Float64Array(24), layerNormShape(2, 24, 24, 1e-5)).y;
    const group1 = sampleNormForwardRef(x, new Float64Array(4).fill(1), new Float64Array(4), groupNormShape(2, 4, 6, 1, 1e-5)).y;
    expect(Array.from(whole)).toEqual(Array.from(group1));
  });
});

describe('relu reference', () => {
  test('dx = dy where y > 0', () => {
    const x = Float64Array.from([-1.5, 0.3, 2, -0.2, 0.7]);
    const dy = randomArray(5, 14);
    expectAllClose('relu dx', reluBackwardRef(dy, reluForwardRef(x)), numericalGrad(reluForwardRef, x, dy), FD);
  });
});

describe('batchnorm reference', () => {
  test.each([
    [2, 3, 5],
    [1, 2, 7],
    [3, 1, 2],
  ])('N %i, C %i, HW %i: dx, dγ, dβ', (N, C, HW) => {
    const eps = 1e-5;
    const x = randomArray(N * C * HW, 15, -2, 3);
    const gamma = randomArray(C, 16, 0.5, 1.5);
    const beta = randomArray(C, 17);
    const dy = randomArray(N * C * HW, 18);
    const { dx, dgamma, dbeta } = batchNormBackwardRef(dy, x, gamma, N, C, HW, eps);
    expectAllClose('dx', dx, numericalGrad((xx) => batchNormForwardTrainRef(xx, gamma, beta, N, C, HW, eps).y, x, dy), FD);
    expectAllClose('dγ', dgamma, numericalGrad((g) => batchNormForwardTrainRef(x, g, beta, N, C, HW, eps).y, gamma, dy), FD);
    expectAllClose('dβ', dbeta, numericalGrad((b) => batchNormForwardTrainRef(x, gamma, b, N, C, HW, eps).y, beta, dy), FD);
  });

  test('statistics: biased and unbiased variance', () => {
    const stats = batchNormStatsRef([1, 2, 10, 20, 3, 4, 30, 40], 2, 2, 2);
    expectAllClose('mean', stats.mean, [2.5, 25], FD);
    expectAllClose('variance', stats.variance, [1.25, 125], FD);
    expectAllClose('unbiased', stats.varianceUnbiased, [5 / 3, 500 / 3], FD);
  });
});

describe('LeakyReLU and SiLU references', () => {
  test('gradients by finite differences (no x within the step of 0, where LeakyReLU has a kink)', () => {
    const x = Float64Array.from(randomArray(40, 47, -6, 6), (v) => (Math.abs(v) < 1e-3 ? v + 0.01 : v));
    const dy = randomArray(40, 48);
    for (const slope of [0.01, -0.5, 0.2]) {
      expectAllClose(`leaky ${slope}`, leakyReluBackwardRef(dy, x, slope), numericalGrad((xx) => leakyReluRef(xx, slope), x, dy), FD);
    }
    expectAllClose('silu', siluBackwardRef(dy, x), numericalGrad((xx) => siluRef(xx), x, dy), FD);
  });
});

describe('Softmax reference', () => {
  test('gradients by finite differences; rows of probabilities', () => {
    const [batch, classes] = [3, 7];
    const x = randomArray(batch * classes, 61, -4, 4);
    const dy = randomArray(batch * classes, 62);
    const y = softmaxRef(x, batch, classes);
    expectAllClose('softmax', softmaxBackwardRef(dy, y, batch, classes), numericalGrad((xx) => softmaxRef(xx, batch, classes), x, dy), FD);
    for (let b = 0; b < batch; b++) expect(y.subarray(b * classes, (b + 1) * classes).reduce((a, v) => a + v, 0)).toBeCloseTo(1, 14);
  });
});

describe('Softmin, GLU, RReLU and AlphaDropout references', () => {
  test('Softmin: gradients by finite differences; rows of probabilities, the largest at the smallest x', () => {
    const [batch, classes] = [3, 7];
    const x = randomArray(batch * classes, 63, -4, 4);
    const dy = randomArray(batch * classes, 64);
    const y = softminRef(x, batch, classes);
    expectAllClose('softmin', softminBackwardRef(dy, y, batch, classes), numericalGrad((xx) => softminRef(xx, batch, classes), x, dy), FD);
    for (let b = 0; b < batch; b++) {
      const row = Array.from(y.subarray(b * classes, (b + 1) * classes));
      const xs = Array.from(x.subarray(b * classes, (b + 1) * classes));
      expect(row.reduce((a, v) => a + v, 0)).toBeCloseTo(1, 14);
      expect(row.indexOf(Math.max(...row))).toBe(xs.indexOf(Math.min(...xs)));
    }
  });

  // [outer, size, inner]: the last dim split, channels of a map, one pair.
  test.each([[2, 6, 1], [3, 4, 5], [1, 2, 1]])('GLU [%i, %i, %i]: gradients by finite differences; y = a·σ(b)', (outer, size, inner) => {
    const shape = { outer, size, inner };
    const x = randomArray(outer * size * inner, 65 + size, -5, 5);
    const dy = randomArray((outer * size * inner) / 2, 66);
    expectAllClose('glu', gluBackwardRef(dy, x, shape), numericalGrad((xx) => gluRef(xx, shape), x, dy), FD);
    // The first output: a = x[0], b = x[size/2·inner].
    expect(gluRef(x, shape)[0]).toBeCloseTo(x[0]! / (1 + Math.exp(-x[(size / 2) * inner]!)), 14);
  });

  test('RReLU given its slopes: gradients by finite differences (no x within the step of 0); the slopes within [lower, upper) and fixed by (seed, stream, step)', () => {
    const slopes = rreluSlopesRef(60, 0.1, 0.4, 3, 17, 5);
    expect(Array.from(slopes).every((r) => r >= 0.1 && r < 0.4)).toBe(true);
    expect(Array.from(rreluSlopesRef(60, 0.1, 0.4, 3, 17, 5))).toEqual(Array.from(slopes));
    expect(Array.from(rreluSlopesRef(60, 0.1, 0.4, 3, 17, 6))).not.toEqual(Array.from(slopes));
    const x = Float64Array.from(randomArray(60, 67, -3, 3), (v) => (Math.abs(v) < 1e-3 ? v + 0.01 : v));
    const dy = randomArray(60, 68);
    expectAllClose('rrelu', rreluBackwardRef(dy, x, slopes), numericalGrad((xx) => rreluRef(xx, slopes), x, dy), FD);
  });

  test('AlphaDropout given its mask: gradients by finite differences; PyTorch\'s a and b, p = 0 the identity', () => {
    const p = 0.3;
    const mask = dropoutMaskRef(50, p, 7, RANDOM_STREAM.dropout, 1);
    const x = randomArray(50, 69, -2, 2);
    const dy = randomArray(50, 70);
    expectAllClose('alpha dropout', alphaDropoutBackwardRef(dy, mask, p), numericalGrad((xx) => alphaDropoutForwardRef(xx, mask, p), x, dy), FD);
    // a = ((1 − p)(1 + p·α²))^−½ with α = 1.7580993408473766, b = a·α·p: a dropped element is a·(−α) + b.
    const a = 1 / Math.sqrt((1 - p) * (1 + p * 1.7580993408473766 ** 2));
    const y = alphaDropoutForwardRef(x, mask, p);
    const i = Array.from(mask).indexOf(0);
    const k = Array.from(mask).findIndex((m) => m !== 0);
    expect(y[i]).toBeCloseTo(-a * 1.7580993408473766 * (1 - p), 14);
    expect(y[k]).toBeCloseTo(a * x[k]! + a * 1.7580993408473766 * p, 14);
    expect(Array.from(alphaDropoutForwardRef(x, new Float64Array(50).fill(1), 0))).toEqual(Array.from(x));
  });
});

describe('GELU, ELU, SELU, Softplus, Mish, Hardswish, Hardsigmoid and Hardtanh references', () => {
  const cases: [string, ActivationRefKind, number, number, number[]][] = [
    ['GELU', 'GELU', 0, 0, []],
    ["GELU approximate='tanh'", 'GELU_TANH', 0, 0, []],
    ['ELU 0.7', 'ELU', 0.7, 1, [0]],
    ['SELU', 'ELU', 1.6732632423543772, 1.0507009873554805, [0]],
    ['Softplus beta 2 threshold 3', 'SOFTPLUS', 2, 3, [1.5]],
    ['Mish', 'MISH', 0, 0, []],
    ['Hardswish', 'HARDSWISH', 0, 0, [-3, 3]],
    ['Hardsigmoid', 'HARDSIGMOID', 0, 0, [-3, 3]],
    ['Hardtanh −0.5, 2', 'HARDTANH', -0.5, 2, [-0.5, 2]],
    ['Tanhshrink', 'TANHSHRINK', 0, 0, []],
  ];
  for (const [name, kind, a, b, kinks] of cases) {
    test(`${name}: gradients by finite differences (no x within the step of a kink)`, () => {
      const x = Float64Array.from(randomArray(60, 49, -7, 7), (v) => (kinks.some((k) => Math.abs(v - k) < 1e-3) ? v + 0.01 : v));
      const dy = randomArray(60, 50);
      expectAllClose(name, activationBackwardRef(kind, dy, x, a, b), numericalGrad((xx) => activationRef(kind, xx, a, b), x, dy), FD);
    });
  }

  test('erfc and Φ against known values (the float64 GELU rests on them)', () => {
    // erfc(0.5), erfc(1), erfc(3), erfc(6), Φ(−1), Φ(−8) (tables / mpmath, 16 digits).
    expect(erfcRef(0.5) / 0.4795001221869535 - 1).toBeCloseTo(0, 14);
    expect(erfcRef(1) / 0.15729920705028513 - 1).toBeCloseTo(0, 14);
    expect(erfcRef(3) / 2.209049699858544e-5 - 1).toBeCloseTo(0, 13);
    expect(erfcRef(6) / 2.1519736712498913e-17 - 1).toBeCloseTo(0, 13);
    expect(normalCdfRef(-1) / 0.15865525393145707 - 1).toBeCloseTo(0, 14);
    expect(normalCdfRef(-8) / 6.22096057427178e-16 - 1).toBeCloseTo(0, 12);
    expect(normalCdfRef(0)).toBe(0.5);
  });
});

describe('pooling reference', () => {
  test('2×2 max pool, odd H and W, no ties', () => {
    const [N, C, h, w] = [2, 2, 5, 7];
    const x = randomArray(N * C * h * w, 19);
    const { y, argmax } = maxPool2x2ForwardRef(x, N, C, h, w);
    const dy = randomArray(y.length, 20);
    expectAllClose('dx', maxPoolBackwardRef(dy, argmax, x.length), numericalGrad((xx) => maxPool2x2ForwardRef(xx, N, C, h, w).y, x, dy), FD);
  });

  test('ties go to the first element in row-major window order; a NaN wins', () => {
    const x = [1, 5, 5, 5, 2, 2, 9, 0, 3, 3, NaN, 7, 3, 3, 3, 8];
    // a 4×4 plane: windows [1 5 | 2 2], [5 5 | 9 0], [3 3 | 3 3], [NaN 7 | 3 8]
    const { y, argmax } = maxPool2x2ForwardRef(x, 1, 1, 4, 4);
    expect([...argmax]).toEqual([1, 6, 8, 10]);
    expect([...y.subarray(0, 3)]).toEqual([5, 9, 3]);
    expect(y[3]).toBeNaN();
    const tie = maxPool2x2ForwardRef([4, 4, 4, 4], 1, 1, 2, 2);
    expect([...tie.argmax]).toEqual([0]);
    expect([...maxPoolBackwardRef([1, 2, 3, 4], argmax, 16)]).toEqual([0, 1, 0, 0, 0, 0, 2, 0, 3, 0, 4, 0, 0, 0, 0, 0]);
  });

  test('max and average pools of any window (overlapping, padded, dilated, ceil mode; the average\'s divisors): gradients by finite differences', () => {
    const [N, C, h, w] = [2, 2, 7, 6];
    const x = randomArray(N * C * h * w, 41);
    const windows: Pool2dRef[] = [
      { kernel: [3, 3], stride: [2, 2], padding: [1, 1] },
      { kernel: [2, 3], stride: [1, 2], padding: [1, 0], ceilMode: true },
      { kernel: [3, 2], stride: [2, 1], padding: [1, 1], dilation: [2, 2], ceilMode: true },
    ];
    for (const p of windows) {
      const { y, argmax } = maxPool2dForwardRef(x, N, C, h, w, p);
      const dy = randomArray(y.length, 42);
      expectAllClose(`max ${JSON.stringify(p)}`, maxPoolBackwardRef(dy, argmax, x.length), numericalGrad((xx) => maxPool2dForwardRef(xx, N, C, h, w, p).y, x, dy), FD);
      if (p.dilation) continue;
      for (const a of [p, { ...p, countIncludePad: false }, { ...p, divisorOverride: 5 }]) {
        const dya = randomArray(avgPool2dForwardRef(x, N, C, h, w, a).length, 43);
        expectAllClose(`avg ${JSON.stringify(a)}`, avgPool2dBackwardRef(dya, N, C, h, w, a), numericalGrad((xx) => avgPool2dForwardRef(xx, N, C, h, w, a), x, dya), FD);
      }
    }
  });

  test('adaptive average and max pools (uneven, overlapping, growing windows): gradients by finite differences; the windows as PyTorch cuts them', () => {
    const [N, C, h, w] = [2, 2, 7, 5];
    const x = randomArray(N * C * h * w, 44);
    for (const [outH, outW] of [[3, 4], [9, 2], [1, 1], [7, 5]] as const) {
      const dy = randomArray(N * C * outH * outW, 45);
      const avg = (xx: ArrayLike<number>) => adaptiveAvgPool2dForwardRef(xx, N, C, h, w, outH, outW);
      expectAllClose(`avg → ${outH}×${outW}`, adaptiveAvgPool2dBackwardRef(dy, N, C, h, w, outH, outW), numericalGrad(avg, x, dy), FD);
      const { argmax } = adaptiveMaxPool2dForwardRef(x, N, C, h, w, outH, outW);
      expectAllClose(`max → ${outH}×${outW}`, maxPoolBackwardRef(dy, argmax, x.length), numericalGrad((xx) => adaptiveMaxPool2dForwardRef(xx, N, C, h, w, outH, outW).y, x, dy), FD);
    }
    // 7 rows into 3: PyTorch's windows are rows 0–2, 2–4 and 4–6 (start ⌊o·7/3⌋, end ⌈(o + 1)·7/3⌉).
    const rows = Float64Array.from({ length: 7 }, (_, i) => 10 ** i);
    expect(Array.from(adaptiveAvgPool2dForwardRef(rows, 1, 1, 7, 1, 3, 1))).toEqual([111 / 3, 11100 / 3, 1110000 / 3]);
    // Equal to the whole-map mean at 1×1, and to the input itself at its own size.
    expectAllClose('1×1 is the mean', adaptiveAvgPool2dForwardRef(x, N, C, h, w, 1, 1), globalAvgPoolForwardRef(x, N, C, h * w), FD);
    expectAllClose('its own size is the identity', adaptiveAvgPool2dForwardRef(x, N, C, h, w, h, w), x, FD);
  });

  test("PyTorch's output sizes (pooling_output_shape), and the general pools equal the 2×2 and global ones where they are those", () => {
    // torch.nn.MaxPool2d(...)(torch.zeros(1, 1, H, W)).shape, by hand from PyTorch's formula.
    expect(pool2dShapeRef(28, 28, { kernel: [3, 3], stride: [2, 2], padding: [1, 1] })).toEqual([14, 14]);
    expect(pool2dShapeRef(7, 5, { kernel: [2, 2], stride: [2, 2], padding: [0, 0], ceilMode: true })).toEqual([4, 3]);
    expect(pool2dShapeRef(7, 5, { kernel: [2, 2], stride: [2, 2], padding: [0, 0] })).toEqual([3, 2]);
    // ceil mode's last window would start in the right padding: dropped (5 + 1 = 6 ≤ 3·2).
    expect(pool2dShapeRef(5, 5, { kernel: [3, 3], stride: [3, 3], padding: [1, 1], ceilMode: true })).toEqual([2, 2]);
    expect(pool2dShapeRef(10, 10, { kernel: [3, 3], stride: [1, 1], padding: [0, 0], dilation: [3, 3] })).toEqual([4, 4]);
    const x = randomArray(2 * 3 * 6 * 7, 44);
    const two = maxPool2dForwardRef(x, 2, 3, 6, 7, { kernel: [2, 2], stride: [2, 2], padding: [0, 0] });
    const own = maxPool2x2ForwardRef(x, 2, 3, 6, 7);
    expect(Array.from(two.argmax)).toEqual(Array.from(own.argmax));
    expect(Array.from(two.y)).toEqual(Array.from(own.y));
    expectAllClose('whole map', avgPool2dForwardRef(x, 2, 3, 6, 7, { kernel: [6, 7], stride: [6, 7], padding: [0, 0] }), globalAvgPoolForwardRef(x, 2, 3, 42), FD);
  });

  test('global average pool', () => {
    const [N, C, HW] = [2, 3, 5];
    const x = randomArray(N * C * HW, 21);
    const dy = randomArray(N * C, 22);
    expectAllClose('dx', globalAvgPoolBackwardRef(dy, N, C, HW), numericalGrad((xx) => globalAvgPoolForwardRef(xx, N, C, HW), x, dy), FD);
  });
});

describe('log_softmax + NLL reference', () => {
  test.each([
    [1, 3],
    [3, 10],
  ])('batch %i, classes %i: dlogits = ∂(mean loss)/∂logits', (batch, classes) => {
    const logits = randomArray(batch * classes, 23, -4, 4);
    const labels = Array.from({ length: batch }, (_, b) => (b * 7 + 1) % classes);
    const loss = (l: Float64Array) => [nllLossRef(logSoftmaxRef(l, batch, classes), labels, batch, classes)];
    expectAllClose('dlogits', logSoftmaxNllBackwardRef(logits, labels, batch, classes), numericalGrad(loss, logits, [1]), FD);
  });

  // Per-class weights (PyTorch's weight=; a 0 among them), with and without label smoothing, on logits and (NLLLoss) on log-probabilities.
  for (const smoothing of [0, 0.3]) {
    test(`batch 4, 5 classes, class weights, label smoothing ${smoothing}: dlogits and dlogp = ∂(weighted mean loss)/∂·`, () => {
      const [batch, classes] = [4, 5];
      const weights = [0.5, 2, 0, 1.25, 3];
      const logits = randomArray(batch * classes, 24, -4, 4);
      const labels = [1, 3, 2, 1];
      const loss = (l: Float64Array) => [nllLossRef(logSoftmaxRef(l, batch, classes), labels, batch, classes, smoothing, weights)];
      expectAllClose('weighted dlogits', logSoftmaxNllBackwardRef(logits, labels, batch, classes, smoothing, weights), numericalGrad(loss, logits, [1]), FD);
      if (smoothing > 0) return;
      const logp = logSoftmaxRef(logits, batch, classes);
      const nll = (lp: Float64Array) => [nllLossRef(lp, labels, batch, classes, 0, weights)];
      expectAllClose('weighted dlogp', nllBackwardRef(labels, batch, classes, weights), numericalGrad(nll, logp, [1]), FD);
    });
  }

  // ignore_index (PyTorch's): a sample whose label is it adds nothing; inside the class range (2) and outside it (−100), with and without weights and smoothing.
  for (const [ignoreIndex, labels] of [[-100, [1, -100, 3, -100, 0]], [2, [2, 4, 1, 2, 0]]] as const) {
    for (const weights of [undefined, [0.5, 2, 0.75, 1.25, 3]]) {
      for (const smoothing of [0, 0.3]) {
        test(`batch 5, 5 classes, ignore_index ${ignoreIndex}, ${weights ? 'class weights' : 'no weights'}, label smoothing ${smoothing}: dlogits and dlogp = ∂(mean loss over the rest)/∂·, 0 on the ignored rows`, () => {
          const [batch, classes] = [5, 5];
          const logits = randomArray(batch * classes, 25, -4, 4);
          const loss = (l: Float64Array) => [nllLossRef(logSoftmaxRef(l, batch, classes), labels, batch, classes, smoothing, weights, ignoreIndex)];
          const dlogits = logSoftmaxNllBackwardRef(logits, labels, batch, classes, smoothing, weights, ignoreIndex);
          expectAllClose('dlogits', dlogits, numericalGrad(loss, logits, [1]), FD);
          for (let b = 0; b < batch; b++) if (labels[b] === ignoreIndex) expect(Array.from(dlogits.subarray(b * classes, (b + 1) * classes))).toEqual(new Array(classes).fill(0));
          // The ignored samples change nothing: the loss is the one over the others alone.
          const kept = labels.flatMap((l, b) => (l === ignoreIndex ? [] : [b]));
          const keptLogits = Float64Array.from(kept.flatMap((b) => Array.from(logits.subarray(b * classes, (b + 1) * classes))));
          expect(loss(logits)[0]).toBeCloseTo(nllLossRef(logSoftmaxRef(keptLogits, kept.length, classes), kept.map((b) => labels[b]!), kept.length, classes, smoothing, weights), 14);
          if (smoothing > 0) return;
          const logp = logSoftmaxRef(logits, batch, classes);
          const nll = (lp: Float64Array) => [nllLossRef(lp, labels, batch, classes, 0, weights, ignoreIndex)];
          expectAllClose('dlogp', nllBackwardRef(labels, batch, classes, weights, ignoreIndex), numericalGrad(nll, logp, [1]), FD);
        });
      }
    }
  }
});

describe('sgd with momentum reference', () => {
  test('v ← μv + g, p ← p − lr·v', () => {
    const first = sgdMomentumRef([1, 2], [0.5, -1], [0, 0], 0.1, 0.9);
    expectAllClose('v₁', first.velocity, [0.5, -1], FD);
    expectAllClose('p₁', first.param, [0.95, 2.1], FD);
    const second = sgdMomentumRef(first.param, [1, 1], first.velocity, 0.1, 0.9);
    expectAllClose('v₂', second.velocity, [1.45, 0.1], FD);
    expectAllClose('p₂', second.param, [0.805, 2.09], FD);
  });
});

describe('counter-based random numbers', () => {
  const hex = (words: number[]) => words.map((w) => w.toString(16).padStart(8, '0')).join(' ');

  test('Philox4x32-10 matches the Random123 known answers', () => {
    expect(hex(philox4x32([0, 0, 0, 0], [0, 0]))).toBe('6627e8d5 e169c58d bc57ac4c 9b00dbd8');
    expect(hex(philox4x32([0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff], [0xffffffff, 0xffffffff]))).toBe('408f276d 41c83b0e a20bc7c6 6d5451fd');
    expect(hex(philox4x32([0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344], [0xa4093822, 0x299f31d0]))).toBe('d16cfe09 94fdcceb 5001e420 24126ea1');
  });

  test('dropout keeps 90% at p = 0.1, scaled by 1/(1 − p); step and stream change the mask', () => {
    const length = 100_000;
    const mask = dropoutMaskRef(length, 0.1, 1234, RANDOM_STREAM.dropout, 0);
    const kept = mask.filter((m) => m !== 0);
    expect(Math.abs(kept.length / length - 0.9)).toBeLessThan(0.005);
    expect(kept.every((m) => m === 1 / 0.9)).toBe(true);
    const differs = (other: Float64Array) => other.some((m, i) => m !== mask[i]);
    expect(differs(dropoutMaskRef(length, 0.1, 1234, RANDOM_STREAM.dropout, 1))).toBe(true);
    expect(differs(dropoutMaskRef(length, 0.1, 1234, RANDOM_STREAM.dropout + 1, 0))).toBe(true);
    expect(dropoutMaskRef(1000, 0, 1234, RANDOM_STREAM.dropout, 0).every((m) => m === 1)).toBe(true);
  });

  test('the shuffle is a permutation, fixed by (seed, epoch), new each epoch', () => {
    const n = 1000;
    const perm = shufflePermutationRef(n, 42, 0);
    expect([...perm].sort((a, b) => a - b)).toEqual(Array.from({ length: n }, (_, i) => i));
    expect([...shufflePermutationRef(n, 42, 0)]).toEqual([...perm]);
    expect([...shufflePermutationRef(n, 42, 1)]).not.toEqual([...perm]);
  });
});

describe('rotation reference', () => {
  const image = Float64Array.from({ length: 28 * 28 }, (_, i) => i % 251);

  test('0° is the identity', () => {
    expect([...rotateImageRef(image, 28, 28, 0, 7)]).toEqual([...image]);
  });

  test('90° turns counter-clockwise: source (row 2, col 20) lands at (row 7, col 2)', () => {
    const dot = new Float64Array(28 * 28);
    dot[2 * 28 + 20] = 255;
    const out = rotateImageRef(dot, 28, 28, 90, 0);
    expect(out[7 * 28 + 2]).toBe(255);
    expect(out.reduce((a, b) => a + b, 0)).toBe(255);
  });

  test('pixels rotated in from outside get the fill', () => {
    const out = rotateImageRef(new Float64Array(28 * 28).fill(9), 28, 28, 45, 1);
    expect(out[0]).toBe(1);
    expect(out[14 * 28 + 14]).toBe(9);
  });
});

describe('seed CNN reference', () => {
  const batch = 2;
  const paramShapes = seedCnnParameterShapes();
  const bufferShapes = seedCnnBufferShapes();

  test('13,808 trainable parameters and 224 running-statistics elements', () => {
    expect(Object.values(paramShapes).reduce((a, s) => a + product(s), 0)).toBe(13_808);
    expect(Object.values(bufferShapes).reduce((a, s) => a + product(s), 0)).toBe(224);
  });

  test('the layer table is consistent with conv2dOutputSize', () => {
    for (const l of SEED_CNN_BLOCKS.filter((b) => b.kind === 'block' || b.kind === 'conv')) {
      const s = { batch, inChannels: l.inChannels, height: l.inSize, width: l.inSize, outChannels: l.outChannels, kernelH: l.kernel, kernelW: l.kernel, stride: 1, padding: l.padding };
      expect(conv2dOutputSize(s).outHeight, l.name).toBe(l.outSize);
    }
  });

  const params: Record<string, Float64Array> = {};
  Object.entries(paramShapes).forEach(([name, shape], k) => {
    const fanIn = product(shape.slice(1));
    if (name.endsWith('.0.weight')) params[name] = randomArray(product(shape), 100 + k, -1 / Math.sqrt(fanIn), 1 / Math.sqrt(fanIn));
    else if (name.endsWith('.2.weight')) params[name] = randomArray(product(shape), 100 + k, 0.6, 1.4);
    else params[name] = randomArray(product(shape), 100 + k, -0.2, 0.2);
  });
  const running: Record<string, Float64Array> = {};
  for (const [name, shape] of Object.entries(bufferShapes)) running[name] = new Float64Array(product(shape)).fill(name.endsWith('running_var') ? 1 : 0);
  const images = randomArray(batch * 28 * 28, 200, -0.42, 2.8);
  const labels = [3, 8];
  const dropoutMasks = seedCnnDropoutMaskLengths(batch).map((length, k) => dropoutMaskRef(length, 0.1, 7, RANDOM_STREAM.dropout + k, 0));
  const step = (p: Record<string, Float64Array>) => seedCnnTrainStepRef({ params: p, running, images, labels, batch, dropoutMasks });

  test('~30 parameter gradients across every layer match central differences of the loss', () => {
    const { grads } = step(params);
    const names = Object.keys(paramShapes);
    const picks = randomArray(30, 300, 0, 1);
    const analytic: number[] = [];
    const numeric: number[] = [];
    picks.forEach((u, k) => {
      const name = names[k % names.length]!;
      const index = Math.floor(u * params[name]!.length);
      const at = (delta: number) => {
        const t = Float64Array.from(params[name]!);
        t[index]! += delta;
        return step({ ...params, [name]: t }).loss;
      };
      analytic.push(grads[name]![index]!);
      numeric.push((at(FD_STEP) - at(-FD_STEP)) / (2 * FD_STEP));
    });
    expectAllClose('∂loss/∂p', analytic, numeric, FD);
  });

  test('running statistics: (1 − m)·r + m·(batch mean, unbiased variance)', () => {
    const { running: updated, activations } = step(params);
    const relu = activations['convblock4.relu']!;
    const stats = batchNormStatsRef(relu, batch, 16, 100);
    expectAllClose('running_mean', updated['convblock4.2.running_mean']!, stats.mean.map((m) => 0.1 * m), FD);
    expectAllClose('running_var', updated['convblock4.2.running_var']!, stats.varianceUnbiased.map((v) => 0.9 + 0.1 * v), FD);
  });

  test('eval with the batch statistics as running statistics reproduces training with a keep-all mask', () => {
    const keepAll = seedCnnDropoutMaskLengths(batch).map((length) => new Float64Array(length).fill(1));
    const train = seedCnnTrainStepRef({ params, running, images, labels, batch, dropoutMasks: keepAll });
    const batchStats: Record<string, Float64Array> = {};
    for (const l of SEED_CNN_BLOCKS.filter((b) => b.kind === 'block')) {
      const stats = batchNormStatsRef(train.activations[`${l.name}.relu`]!, batch, l.outChannels, l.outSize * l.outSize);
      batchStats[`${l.name}.2.running_mean`] = stats.mean;
      batchStats[`${l.name}.2.running_var`] = stats.variance;
    }
    const evaluated = seedCnnEvalRef({ params, running: batchStats, images, labels, batch });
    expectAllClose('logits', evaluated.logits, train.logits, { atol: 1e-12, rtol: 1e-10 });
    expect(evaluated.lossSum).toBeCloseTo(train.loss * batch, 10);
    expect(evaluated.correct).toBe(train.correct);
  });
});
