/**
 * The kernels the layer tier added, against their float64 references on awkward shapes, outputs
 * poisoned first: bias add (and its ReLU variant) and bias gradient, tanh, LogSoftmax on its own,
 * NLL on log-probabilities.
 */
import { describe, expect } from 'vitest';
import { recordPass } from '../../src/gpu/context.js';
import { biasAdd, biasBackward } from '../../src/kernels/bias.js';
import { logSoftmaxBackward, logSoftmaxForward, nllBackward, nllForward } from '../../src/kernels/log-softmax.js';
import { POINTWISE_LOSSES, pointwiseKind, pointwiseLoss, type PointwiseLoss } from '../../src/kernels/pointwise-loss.js';
import { pointwiseLossRef } from '../../src/reference/loss.js';
import { tanhBackward, tanhForward } from '../../src/kernels/tanh.js';
import { biasAddRef, biasBackwardRef } from '../../src/reference/bias.js';
import { logSoftmaxBackwardRef, logSoftmaxRef, nllBackwardRef, softmaxBackwardRef, softmaxRef, softminBackwardRef, softminRef } from '../../src/reference/nll.js';
import { tanhBackwardRef, tanhRef } from '../../src/reference/tanh.js';
import { TOLERANCE, expectAllClose, f32, randomArray } from '../helpers/allclose.js';
import { gpuTest } from '../helpers/gpu.js';
import { float32Bits, fromFloat32Bits, runTorch, skipWithoutTorch } from '../helpers/torch.js';

describe('bias_add and bias_backward', () => {
  // [batch, channels, area]: a Linear's area 1, odd sizes, a reduction over 128 × 26 × 26 per channel.
  for (const [batch, channels, area] of [
    [1, 1, 1],
    [3, 5, 1],
    [7, 3, 13],
    [2, 10, 25],
    [3, 5, 8],
    [128, 16, 676],
  ] as const) {
    for (const [relu, vec4] of [[false, false], [true, false], ...(area % 4 === 0 ? [[false, true], [true, true]] : [])] as const) {
      gpuTest(`[${batch}, ${channels}, ${area}]${relu ? ', RELU' : ''}${vec4 ? ', VEC4' : ''}`, async (ctx) => {
        const n = batch * channels * area;
        const x = f32(randomArray(n, n + channels));
        const bias = f32(randomArray(channels, channels * 3));
        const dy = f32(randomArray(n, n + 7));
        const ty = ctx.tensor('y', [n], { data: x });
        const tbias = ctx.tensor('bias', [channels], { data: bias });
        const tdy = ctx.tensor('dy', [n], { data: dy });
        const tdbias = ctx.tensor('dbias', [channels]);
        ctx.fill(tdbias, NaN);
        const p = { batch, channels, area };
        const add = (await ctx.compile(biasAdd, { RELU: relu, VEC4: vec4 })).bind({ bias: tbias, y: ty }, p);
        const back = (await ctx.compile(biasBackward)).bind({ dy: tdy, dbias: tdbias }, p);
        ctx.submit('bias test', (e) => recordPass(e, 'bias test', [add, back]));
        expectAllClose('bias_add y', await ctx.read(ty), biasAddRef(x, bias, batch, channels, area, relu), TOLERANCE.forward);
        expectAllClose('bias_backward dbias', await ctx.read(tdbias), biasBackwardRef(dy, batch, channels, area), TOLERANCE.gradient);
      });
    }
  }
});

describe('tanh kernels', () => {
  for (const count of [1, 3, 255, 257, 10_000]) {
    gpuTest(`${count} elements`, async (ctx) => {
      const x = f32(randomArray(count, count, -6, 6));
      if (count > 2) [x[0], x[1]] = [-60, 60];
      const dy = f32(randomArray(count, count + 1));
      const tx = ctx.tensor('x', [count], { data: x });
      const ty = ctx.tensor('y', [count]);
      const tdy = ctx.tensor('dy', [count], { data: dy });
      const tdx = ctx.tensor('dx', [count]);
      ctx.fill(ty, NaN);
      ctx.fill(tdx, NaN);
      const fwd = (await ctx.compile(tanhForward)).bind({ x: tx, y: ty }, { count });
      const bwd = (await ctx.compile(tanhBackward)).bind({ dy: tdy, y: ty, dx: tdx }, { count });
      ctx.submit('tanh test', (e) => recordPass(e, 'tanh test', [fwd, bwd]));
      const y = await ctx.read(ty);
      expectAllClose('tanh_forward y', y, tanhRef(x), TOLERANCE.forward);
      expectAllClose('tanh_backward dx', await ctx.read(tdx), tanhBackwardRef(dy, f32(y)), TOLERANCE.gradient);
    });
  }
});

describe('log_softmax and nll on log-probabilities', () => {
  for (const [batch, classes] of [
    [1, 1],
    [1, 10],
    [5, 3],
    [65, 10],
    [128, 47],
  ] as const) {
    gpuTest(`[${batch}, ${classes}]`, async (ctx) => {
      const n = batch * classes;
      const x = f32(randomArray(n, n, -5, 5));
      if (n > 3) [x[0], x[1]] = [90, -90];
      const dy = f32(randomArray(n, n + 3));
      const labels = Uint32Array.from({ length: batch }, (_, b) => (b * 7 + 2) % classes);
      const tx = ctx.tensor('x', [n], { data: x });
      const ty = ctx.tensor('y', [n]);
      const tdy = ctx.tensor('dy', [n], { data: dy });
      const tdx = ctx.tensor('dx', [n]);
      const tlabels = ctx.tensor('labels', [batch], { dtype: 'u32', data: labels });
      const tloss = ctx.tensor('loss', [batch]);
      const tdlogp = ctx.tensor('dlogp', [n]);
      for (const t of [ty, tdx, tloss, tdlogp]) ctx.fill(t, NaN);
      const p = { batch, classes };
      const kernels = [
        (await ctx.compile(logSoftmaxForward)).bind({ x: tx, y: ty }, p),
        (await ctx.compile(logSoftmaxBackward)).bind({ dy: tdy, y: ty, dx: tdx }, p),
        (await ctx.compile(nllForward)).bind({ logp: ty, labels: tlabels, loss: tloss }, { ...p, ignoreIndex: -100 }),
        (await ctx.compile(nllBackward)).bind({ labels: tlabels, dlogp: tdlogp }, { ...p, ignoreIndex: -100 }),
      ];
      ctx.submit('log_softmax test', (e) => recordPass(e, 'log_softmax test', kernels));
      const y = await ctx.read(ty);
      const logp = logSoftmaxRef(x, batch, classes);
      expectAllClose('log_softmax_forward y', y, logp, TOLERANCE.forward);
      expectAllClose('log_softmax_backward dx', await ctx.read(tdx), logSoftmaxBackwardRef(dy, f32(y), batch, classes), TOLERANCE.gradient);
      expectAllClose('nll_forward loss', await ctx.read(tloss), Array.from(labels, (l, b) => -logp[b * classes + l]!), TOLERANCE.forward);
      expectAllClose('nll_backward dlogp', await ctx.read(tdlogp), nllBackwardRef(labels, batch, classes), TOLERANCE.gradient);
    });
  }
});

describe('log_softmax_forward and log_softmax_backward, variant SOFTMAX (nn.Softmax(dim=1))', () => {
  for (const [batch, classes] of [[1, 1], [3, 2], [65, 10], [128, 1000]] as const) {
    gpuTest(`[${batch}, ${classes}]`, async (ctx) => {
      // Logits far apart (exp(x) alone would overflow: the row's maximum is taken off first).
      const x = f32(randomArray(batch * classes, batch + classes, -60, 100));
      const dy = f32(randomArray(batch * classes, batch * 3 + classes));
      const [tx, ty, tdy, tdx] = [ctx.tensor('x', [x.length], { data: x }), ctx.tensor('y', [x.length]), ctx.tensor('dy', [x.length], { data: dy }), ctx.tensor('dx', [x.length])];
      for (const t of [ty, tdx]) ctx.fill(t, NaN);
      const p = { batch, classes };
      const kernels = [
        (await ctx.compile(logSoftmaxForward, { SOFTMAX: true })).bind({ x: tx, y: ty }, p),
        (await ctx.compile(logSoftmaxBackward, { SOFTMAX: true })).bind({ dy: tdy, y: ty, dx: tdx }, p),
      ];
      ctx.submit('softmax test', (e) => recordPass(e, 'softmax test', kernels));
      const y = await ctx.read(ty);
      expectAllClose('softmax y', y, softmaxRef(x, batch, classes), TOLERANCE.forward);
      expectAllClose('softmax dx', await ctx.read(tdx), softmaxBackwardRef(dy, f32(y), batch, classes), TOLERANCE.gradient);
      // Each row sums to 1.
      for (let b = 0; b < batch; b++) expect(Math.abs(y.subarray(b * classes, (b + 1) * classes).reduce((a, v) => a + v, 0) - 1)).toBeLessThan(1e-5);
    });
  }
});

describe('log_softmax_forward and log_softmax_backward, variant SOFTMIN (nn.Softmin(dim=1): softmax of −x)', () => {
  for (const [batch, classes] of [[1, 1], [3, 2], [65, 10], [128, 1000]] as const) {
    gpuTest(`[${batch}, ${classes}]`, async (ctx) => {
      // Logits far apart (exp(−x) alone would overflow: the row's minimum is taken off first).
      const x = f32(randomArray(batch * classes, batch + classes + 1, -100, 60));
      const dy = f32(randomArray(batch * classes, batch * 5 + classes));
      const [tx, ty, tdy, tdx] = [ctx.tensor('x', [x.length], { data: x }), ctx.tensor('y', [x.length]), ctx.tensor('dy', [x.length], { data: dy }), ctx.tensor('dx', [x.length])];
      for (const t of [ty, tdx]) ctx.fill(t, NaN);
      const p = { batch, classes };
      const kernels = [
        (await ctx.compile(logSoftmaxForward, { SOFTMIN: true })).bind({ x: tx, y: ty }, p),
        (await ctx.compile(logSoftmaxBackward, { SOFTMIN: true })).bind({ dy: tdy, y: ty, dx: tdx }, p),
      ];
      ctx.submit('softmin test', (e) => recordPass(e, 'softmin test', kernels));
      const y = await ctx.read(ty);
      expectAllClose('softmin y', y, softminRef(x, batch, classes), TOLERANCE.forward);
      expectAllClose('softmin dx', await ctx.read(tdx), softminBackwardRef(dy, f32(y), batch, classes), TOLERANCE.gradient);
      // Each row sums to 1, its largest probability at its smallest x.
      for (let b = 0; b < batch; b++) {
        const row = y.subarray(b * classes, (b + 1) * classes);
        expect(Math.abs(row.reduce((a, v) => a + v, 0) - 1)).toBeLessThan(1e-5);
        const xs = Array.from(x.subarray(b * classes, (b + 1) * classes));
        expect(row.indexOf(Math.max(...row))).toBe(xs.indexOf(Math.min(...xs)));
      }
    });
  }
});

describe('pointwise_loss (MSE, ½Σ(t − a)², L1, smooth L1, Huber, BCE with logits, BCE, KL divergence) against one-hot targets, and (TARGETS) float targets', () => {
  /**
   * Outputs for a loss: spread over its curved and straight parts, with the kinks hit exactly
   * (d = 0, ±1 against one-hot or integer targets); BCE's probabilities in (0, 1) with its clamped
   * ends (0 and 1 exactly, and below e^−100).
   */
  const outputs = (kind: PointwiseLoss, n: number, seed: number) => {
    const base = kind === 'bce' ? randomArray(n, seed, 0.001, 0.999) : randomArray(n, seed, -3, 4);
    const special = kind === 'bce' ? [0, 1, 1e-45, 0.5] : [0, 1, 2, -1, 0.5];
    special.forEach((v, k) => { if (k < n) base[(k * 7) % n] = v; });
    return f32(base);
  };
  for (const kind of Object.keys(POINTWISE_LOSSES) as PointwiseLoss[]) {
    for (const [batch, features] of [[1, 1], [3, 2], [65, 10], [128, 47]] as const) {
      for (const given of [false, true]) {
        gpuTest(`${kind} [${batch}, ${features}]${given ? ', float targets' : ''}`, async (ctx) => {
          const n = batch * features;
          const prediction = outputs(kind, n, n + 11);
          const labels = Uint32Array.from({ length: batch }, (_, b) => (b * 5 + 1) % features);
          // Targets in [0, 1] for the BCE losses and KLDivLoss (probabilities; 0 and 1 among them), integers and fractions for the others.
          const targets = given ? f32(kind.startsWith('bce') || kind === 'kl-div' ? randomArray(n, n + 12, 0, 1).map((v, i) => (i % 5 === 0 ? Math.round(v) : v)) : randomArray(n, n + 12, -3, 3).map((v, i) => (i % 3 === 0 ? Math.round(v) : v))) : undefined;
          const scope = ctx.scoped(() => ({
            prediction: ctx.tensor('prediction', [n], { data: prediction }),
            labels: ctx.tensor('labels', [batch], { dtype: 'u32', data: labels }),
            loss: ctx.tensor('loss', [batch]),
            grad: ctx.tensor('grad', [n]),
            targets: ctx.tensor('targets', [n], { data: targets ?? new Float32Array(n) }),
          }));
          const t = scope.value;
          try {
            ctx.fill(t.loss, NaN);
            ctx.fill(t.grad, NaN);
            const tensors = { prediction: t.prediction, labels: t.labels, loss: t.loss, grad: t.grad };
            // SmoothL1's β and Huber's δ other than 1 (β 0: L1) on the larger shapes; the kinks move with them.
            const beta = batch < 65 ? 1 : kind === 'smooth-l1' ? (given ? 0 : 0.5) : kind === 'huber' ? 2.5 : 1;
            const params = { batch, features, kind: POINTWISE_LOSSES[kind], beta };
            const k = given ? (await ctx.compile(pointwiseLoss, { TARGETS: true })).bind({ ...tensors, targets: t.targets }, params) : (await ctx.compile(pointwiseLoss)).bind(tensors, params);
            ctx.submit('pointwise loss', (e) => recordPass(e, 'pointwise loss', [k]));
            const ref = pointwiseLossRef(kind, prediction, labels, batch, features, { beta, targets });
            // BCE's gradient at a = 0 or 1 is (a − t)/1e-12/N: as large as 1e12, relative tolerance there.
            expectAllClose(`${kind} loss`, await ctx.read(t.loss), ref.loss, TOLERANCE.forward);
            expectAllClose(`${kind} grad`, await ctx.read(t.grad), ref.grad, kind === 'bce' ? { atol: TOLERANCE.gradient.atol, rtol: 1e-5 } : TOLERANCE.gradient);
          } finally {
            scope.destroy();
          }
        });
      }
    }
  }
});

describe("pointwise_loss: BCEWithLogitsLoss's pos_weight (variant POS_WEIGHT) and KLDivLoss(log_target=True)", () => {
  // Awkward shapes and a real one (batch 128 × 47 outputs: 6,016 elements); one-hot and float targets.
  for (const [batch, features] of [[1, 1], [3, 2], [65, 10], [128, 47]] as const) {
    for (const given of [false, true]) {
      for (const setting of ['pos_weight', 'log_target'] as const) {
        gpuTest(`${setting} [${batch}, ${features}]${given ? ', float targets' : ''}`, async (ctx) => {
          const n = batch * features;
          const kind = setting === 'pos_weight' ? 'bce-with-logits' : 'kl-div';
          // Logits far out (where e^a would overflow), log-probabilities ≤ 0 for KLDivLoss.
          const prediction = f32(setting === 'pos_weight' ? randomArray(n, n + 21, -6, 6).map((v, i) => (i === 1 ? 95 : i === 2 ? -95 : v)) : randomArray(n, n + 21, -8, 0));
          const labels = Uint32Array.from({ length: batch }, (_, b) => (b * 5 + 1) % features);
          // pos_weight: a 0, a 1 and weights on either side of 1; log targets: log-probabilities, one of them 0 (log 1).
          const posWeight = f32(Array.from({ length: features }, (_, j) => [0, 1, 0.3, 4.5, 2][j % 5]!));
          const targets = given ? f32(setting === 'pos_weight' ? randomArray(n, n + 22, 0, 1).map((v, i) => (i % 5 === 0 ? Math.round(v) : v)) : randomArray(n, n + 22, -9, 0).map((v, i) => (i % 7 === 0 ? 0 : v))) : undefined;
          const scope = ctx.scoped(() => ({
            prediction: ctx.tensor('prediction', [n], { data: prediction }),
            labels: ctx.tensor('labels', [batch], { dtype: 'u32', data: labels }),
            loss: ctx.tensor('loss', [batch]),
            grad: ctx.tensor('grad', [n]),
            targets: ctx.tensor('targets', [n], { data: targets ?? new Float32Array(n) }),
            posWeight: ctx.tensor('pos_weight', [features], { data: posWeight }),
          }));
          const t = scope.value;
          try {
            ctx.fill(t.loss, NaN);
            ctx.fill(t.grad, NaN);
            const weighted = setting === 'pos_weight';
            const params = { batch, features, kind: pointwiseKind(kind, setting === 'log_target'), beta: 1 };
            const kernel = await ctx.compile(pointwiseLoss, { TARGETS: given, POS_WEIGHT: weighted });
            const k = kernel.bind({ prediction: t.prediction, labels: t.labels, loss: t.loss, grad: t.grad, ...(given ? { targets: t.targets } : {}), ...(weighted ? { posWeight: t.posWeight } : {}) }, params);
            ctx.submit('pointwise loss', (e) => recordPass(e, 'pointwise loss', [k]));
            const ref = pointwiseLossRef(kind, prediction, labels, batch, features, { targets, posWeight: weighted ? posWeight : undefined, logTarget: setting === 'log_target' });
            expectAllClose(`${setting} loss`, await ctx.read(t.loss), ref.loss, TOLERANCE.forward);
            expectAllClose(`${setting} grad`, await ctx.read(t.grad), ref.grad, TOLERANCE.gradient);
          } finally {
            scope.destroy();
          }
        });
      }
    }
  }
});

describe("pointwise_loss at NaN and ±∞: PyTorch 1.13's float32 gradients", () => {
  // WGSL's sign and clamp of a NaN are the implementation's: L1Loss's gradient at a NaN difference
  // is 0 in PyTorch (sign(NaN) = 0), SmoothL1Loss's and HuberLoss's NaN (their backward's
  // comparisons fall through to the difference itself); the losses NaN. ±∞ for good measure.
  gpuTest('l1, smooth-l1 (β 1) and huber (δ 1.5): loss and gradient', async (ctx, t) => {
    skipWithoutTorch(t);
    const negativeNaN = new Float32Array(new Uint32Array([0xffc00000]).buffer)[0]!;
    const [batch, features] = [2, 4];
    const n = batch * features;
    const prediction = Float32Array.from([NaN, 0.5, Infinity, -2, negativeNaN, -Infinity, 3, 0.25]);
    const targets = Float32Array.from([0, 1, 0, -1, 2, 0, 3.5, 0]);
    for (const [kind, beta, call] of [['l1', 1, 'l1_loss(a, t)'], ['smooth-l1', 1, 'smooth_l1_loss(a, t, beta=1.0)'], ['huber', 1.5, 'huber_loss(a, t, delta=1.5)']] as const) {
      const [torchLoss, torchGrad] = runTorch<[number[], number[]]>(
        `
import json, sys, torch
import torch.nn.functional as F
s = json.load(sys.stdin)
a = torch.tensor(s['a'], dtype=torch.int32).view(torch.float32).reshape(${batch}, ${features}).requires_grad_()
t = torch.tensor(s['t'], dtype=torch.float32).reshape(${batch}, ${features})
per = F.${call.replace('(a, t', "(a, t, reduction='none'")}.mean(1)
per.mean().backward()
print(json.dumps([per.detach().view(torch.int32).tolist(), a.grad.flatten().view(torch.int32).tolist()]))
`,
        { a: float32Bits(prediction), t: Array.from(targets) },
      ).map(fromFloat32Bits);
      const tp = ctx.tensor('prediction', [n], { data: prediction });
      const tl = ctx.tensor('labels', [batch], { dtype: 'u32', data: [0, 0] });
      const tt = ctx.tensor('targets', [n], { data: targets });
      const [loss, grad] = [ctx.tensor('loss', [batch]), ctx.tensor('grad', [n])];
      ctx.fill(loss, 7);
      ctx.fill(grad, 7);
      const k = (await ctx.compile(pointwiseLoss, { TARGETS: true })).bind({ prediction: tp, labels: tl, loss, grad, targets: tt }, { batch, features, kind: POINTWISE_LOSSES[kind], beta });
      ctx.submit('pointwise loss NaN', (e) => recordPass(e, 'pointwise loss NaN', [k]));
      const [gotLoss, gotGrad] = await ctx.readMany([loss, grad]);
      expect(Array.from(gotLoss!, Number.isNaN), `${kind} loss: NaN`).toEqual(torchLoss!.map(Number.isNaN));
      // NaN and ±∞ exactly; the finite ones to a float32 rounding (the kernel divides by N as PyTorch's mean does).
      const mismatch = Array.from(gotGrad!).flatMap((g, i) => {
        const want = torchGrad![i]!;
        const same = Number.isNaN(want) ? Number.isNaN(g) : Number.isFinite(want) ? Math.abs(g - want) <= 1e-7 : g === want;
        return same ? [] : [`element ${i} (a = ${prediction[i]}, t = ${targets[i]}): ${g} against ${want}`];
      });
      expect(mismatch, `${kind} gradient against PyTorch`).toEqual([]);
    }
  });
});
