/**
 * log_softmax_nll_forward, log_softmax_nll_backward and batch_metrics against the float64
 * reference; with per-class weights (variant WEIGHTED) those two and nll_forward, nll_backward;
 * with an ignore index (variant IGNORE, with WEIGHTED: weights of 1 or given) all five.
 */
import { describe, expect } from 'vitest';
import { recordPass } from '../../src/gpu/context.js';
import { HEALTH_SLOTS, freshHealth, healthLength } from '../../src/kernels/health.js';
import { batchMetrics, logSoftmaxNllBackward, logSoftmaxNllForward } from '../../src/kernels/nll.js';
import { countCorrectRef, logSoftmaxNllBackwardRef, logSoftmaxRef, nllBackwardRef, nllLossRef, nllSampleLossesRef } from '../../src/reference/nll.js';
import { nllBackward, nllForward } from '../../src/kernels/log-softmax.js';
import { TOLERANCE, expectAllClose, f32, randomArray } from '../helpers/allclose.js';
import { gpuTest } from '../helpers/gpu.js';
import type { Tolerance } from '../helpers/allclose.js';

/** NaN exactly where the reference has NaN (PyTorch's 0/0 means), the rest within the tolerance. */
function expectCloseOrNaN(label: string, actual: ArrayLike<number>, expected: ArrayLike<number>, tol: Tolerance): void {
  expect(Array.from(actual, Number.isNaN), `${label}: NaN where the reference's is`).toEqual(Array.from(expected, Number.isNaN));
  const finite = (a: ArrayLike<number>) => Array.from(a).filter((_, i) => !Number.isNaN(expected[i]!));
  expectAllClose(label, finite(actual), finite(expected), tol);
}

describe('log_softmax_nll and batch_metrics kernels', () => {
  // Batch 1, a batch above the 64-wide workgroup (and below the 256-wide metrics workgroup),
  // one class (logp = 0, loss 0).
  for (const [batch, classes] of [
    [1, 10],
    [3, 7],
    [130, 10],
    [5, 1],
  ] as const) {
    gpuTest(`batch ${batch}, ${classes} classes`, async (ctx) => {
      const n = batch * classes;
      const logits = f32(randomArray(n, n, -5, 5));
      // Large logits, where exp without the max shift would overflow f32.
      if (n > 3) [logits[0], logits[1]] = [90, -90];
      // An exact tie for the maximum in the last row: the first class wins.
      if (classes > 2) logits[n - 1] = logits[n - 2] = 20;
      const labels = Array.from(randomArray(batch, n + 1, 0, classes), Math.floor);
      if (classes > 2) labels[batch - 1] = classes - 2; // the tie's first class: correct
      const tlogits = ctx.tensor('logits', [batch, classes], { data: logits });
      const tlabels = ctx.tensor('labels', [batch], { dtype: 'u32', data: labels });
      const tlogp = ctx.tensor('logp', [batch, classes]);
      const tloss = ctx.tensor('loss', [batch]);
      const tdlogits = ctx.tensor('dlogits', [batch, classes]);
      // metrics and counts accumulate: they start from given values.
      const metrics0 = [123, 4.5];
      const counts0 = [7, 100];
      const tmetrics = ctx.tensor('metrics', [2], { data: metrics0 });
      const tcounts = ctx.tensor('counts', [3], { dtype: 'u32', data: [...counts0, 9] });
      for (const t of [tlogp, tloss, tdlogits]) ctx.fill(t, NaN);
      // ignoreIndex is read by the IGNORE variants only: −100's place holds another value here.
      const p = { batch, classes, ignoreIndex: 3 };
      const kernels = [
        (await ctx.compile(logSoftmaxNllForward)).bind({ logits: tlogits, labels: tlabels, logp: tlogp, loss: tloss }, { ...p, smoothing: 0 }),
        (await ctx.compile(logSoftmaxNllBackward)).bind({ logp: tlogp, labels: tlabels, dlogits: tdlogits }, { ...p, smoothing: 0 }),
      ];
      const health = ctx.tensor('health', [healthLength(0)], { dtype: 'u32', data: freshHealth(0) });
      const metrics = (await ctx.compile(batchMetrics)).bind({ loss: tloss, logp: tlogp, labels: tlabels, metrics: tmetrics, counts: tcounts, health }, { ...p, guard: 1 });
      ctx.submit('nll test', (e) => recordPass(e, 'nll test', [...kernels, metrics]));

      const logp = logSoftmaxRef(logits, batch, classes);
      const loss = Float64Array.from(labels, (label, b) => -logp[b * classes + label]!);
      const lossSum = loss.reduce((a, b) => a + b, 0);
      const correct = countCorrectRef(logits, labels, batch, classes);
      expectAllClose('log_softmax_nll_forward logp', await ctx.read(tlogp), logp, TOLERANCE.forward);
      expectAllClose('log_softmax_nll_forward loss', await ctx.read(tloss), loss, TOLERANCE.forward);
      expectAllClose('log_softmax_nll_backward dlogits', await ctx.read(tdlogits), logSoftmaxNllBackwardRef(logits, labels, batch, classes), TOLERANCE.gradient);
      expectAllClose('batch_metrics metrics', await ctx.read(tmetrics), [nllLossRef(logp, labels, batch, classes), metrics0[1]! + lossSum], TOLERANCE.forward);
      expect(Array.from(await ctx.read(tcounts)), 'batch_metrics counts (the third, ignored samples, untouched without IGNORE)').toEqual([counts0[0]! + correct, counts0[1]! + batch, 9]);

      // Again: the mean is overwritten, the sums accumulate.
      ctx.submit('nll test, metrics again', (e) => recordPass(e, 'nll test, metrics again', [metrics]));
      expectAllClose('batch_metrics metrics, twice', await ctx.read(tmetrics), [nllLossRef(logp, labels, batch, classes), metrics0[1]! + 2 * lossSum], TOLERANCE.forward);
      expect(Array.from(await ctx.read(tcounts)), 'batch_metrics counts, twice').toEqual([counts0[0]! + 2 * correct, counts0[1]! + 2 * batch, 9]);
      expect(Array.from(await ctx.read(health)), 'a finite loss leaves the divergence guard alone').toEqual(Array.from(freshHealth(0)));
    });
  }

  for (const smoothing of [0.1, 1]) {
    gpuTest(`label smoothing ${smoothing} (PyTorch's CrossEntropyLoss(label_smoothing)): loss and gradient`, async (ctx) => {
      const [batch, classes] = [37, 10];
      const logits = f32(randomArray(batch * classes, 91, -6, 6));
      const labels = Array.from(randomArray(batch, 92, 0, classes), Math.floor);
      const t = {
        logits: ctx.tensor('logits', [batch, classes], { data: logits }),
        labels: ctx.tensor('labels', [batch], { dtype: 'u32', data: labels }),
        logp: ctx.tensor('logp', [batch, classes]),
        loss: ctx.tensor('loss', [batch]),
        dlogits: ctx.tensor('dlogits', [batch, classes]),
      };
      const p = { batch, classes, smoothing, ignoreIndex: 0 };
      const kernels = [
        (await ctx.compile(logSoftmaxNllForward)).bind({ logits: t.logits, labels: t.labels, logp: t.logp, loss: t.loss }, p),
        (await ctx.compile(logSoftmaxNllBackward)).bind({ logp: t.logp, labels: t.labels, dlogits: t.dlogits }, p),
      ];
      ctx.submit('smoothing test', (e) => recordPass(e, 'smoothing test', kernels));
      const logp = logSoftmaxRef(logits, batch, classes);
      const loss = Array.from(labels, (_, b) => nllLossRef(logp.subarray(b * classes, (b + 1) * classes), [labels[b]!], 1, classes, smoothing));
      expectAllClose('smoothed loss', await ctx.read(t.loss), loss, TOLERANCE.forward);
      expectAllClose('smoothed dlogits', await ctx.read(t.dlogits), logSoftmaxNllBackwardRef(logits, labels, batch, classes, smoothing), TOLERANCE.gradient);
    });
  }

  // Per-class weights (variant WEIGHTED: PyTorch's CrossEntropyLoss(weight) and NLLLoss(weight)),
  // with and without label smoothing: awkward shapes (batch 1, one class, a batch over the
  // workgroup, a class no sample has, a weight of 0) and a real one (batch 256 × 47: 12,032
  // elements). The fused log-softmax + NLL kernels and, on the same log-probabilities, the unfused NLL.
  for (const [batch, classes, smoothing] of [[1, 1, 0], [1, 10, 0.1], [3, 7, 0], [130, 10, 0.2], [256, 47, 0], [256, 47, 0.1]] as const) {
    gpuTest(`class weights: batch ${batch}, ${classes} classes, label smoothing ${smoothing}`, async (ctx) => {
      const n = batch * classes;
      const logits = f32(randomArray(n, n + 5, -6, 6));
      if (n > 3) [logits[0], logits[1]] = [90, -90];
      // Class 1 weighs 0, the last class no sample has (with more than 2 classes).
      const labels = Array.from({ length: batch }, (_, b) => (classes > 2 ? (b * 5 + 2) % (classes - 1) : 0));
      const weights = f32(Array.from({ length: classes }, (_, c) => (classes > 1 && c === 1 ? 0 : 0.25 + ((c * 37) % 11) / 4)));
      const t = {
        logits: ctx.tensor('logits', [batch, classes], { data: logits }),
        labels: ctx.tensor('labels', [batch], { dtype: 'u32', data: labels }),
        weight: ctx.tensor('weight', [classes], { data: weights }),
        weightSum: ctx.tensor('weight sums', [2]),
        logp: ctx.tensor('logp', [batch, classes]),
        loss: ctx.tensor('loss', [batch]),
        dlogits: ctx.tensor('dlogits', [batch, classes]),
        nllLoss: ctx.tensor('nll loss', [batch]),
        nllWeightSum: ctx.tensor('nll weight sum', [1]),
        dlogp: ctx.tensor('dlogp', [batch, classes]),
      };
      for (const x of [t.weightSum, t.logp, t.loss, t.dlogits, t.nllLoss, t.nllWeightSum, t.dlogp]) ctx.fill(x, NaN);
      const p = { batch, classes, smoothing, ignoreIndex: 0 };
      const weighted = { WEIGHTED: true };
      const kernels = [
        (await ctx.compile(logSoftmaxNllForward, weighted)).bind({ logits: t.logits, labels: t.labels, logp: t.logp, loss: t.loss, weight: t.weight, weightSum: t.weightSum }, p),
        (await ctx.compile(logSoftmaxNllBackward, weighted)).bind({ logp: t.logp, labels: t.labels, dlogits: t.dlogits, weight: t.weight, weightSum: t.weightSum }, p),
        (await ctx.compile(nllForward, weighted)).bind({ logp: t.logp, labels: t.labels, loss: t.nllLoss, weight: t.weight, weightSum: t.nllWeightSum }, { batch, classes, ignoreIndex: 0 }),
        (await ctx.compile(nllBackward, weighted)).bind({ labels: t.labels, dlogp: t.dlogp, weight: t.weight, weightSum: t.nllWeightSum }, { batch, classes, ignoreIndex: 0 }),
      ];
      ctx.submit('weighted nll test', (e) => recordPass(e, 'weighted nll test', kernels));
      const logp = logSoftmaxRef(logits, batch, classes);
      const weightSum = labels.reduce((a, label) => a + weights[label]!, 0);
      expectAllClose('weighted logp', await ctx.read(t.logp), logp, TOLERANCE.forward);
      expectAllClose('weight sums', await ctx.read(t.weightSum), [weightSum, weights.reduce((a, w) => a + w, 0)], TOLERANCE.forward);
      expectAllClose('weighted loss shares', await ctx.read(t.loss), nllSampleLossesRef(logp, labels, batch, classes, smoothing, weights), TOLERANCE.forward);
      expectAllClose('weighted dlogits', await ctx.read(t.dlogits), logSoftmaxNllBackwardRef(logits, labels, batch, classes, smoothing, weights), TOLERANCE.gradient);
      // nll_forward reads the GPU's log-probabilities, as in a network.
      const gpuLogp = await ctx.read(t.logp);
      expectAllClose('weighted nll loss shares', await ctx.read(t.nllLoss), nllSampleLossesRef(gpuLogp, labels, batch, classes, 0, weights), TOLERANCE.forward);
      expectAllClose('nll weight sum', await ctx.read(t.nllWeightSum), [weightSum], TOLERANCE.forward);
      expectAllClose('weighted dlogp', await ctx.read(t.dlogp), nllBackwardRef(labels, batch, classes, weights), TOLERANCE.gradient);
    });
  }

  // ignore_index (variant IGNORE, with WEIGHTED as the loss head binds it: weights of 1, or given):
  // some samples ignored, none, all (PyTorch's NaN loss, a zero gradient), and the rest all of
  // weight 0 (NaN loss and gradient on their rows, label smoothing too); −100 (outside the
  // classes, a negative label's two's complement) and an index inside them; batch 1, a batch over
  // the workgroup, 128 and 256 × 47.
  const ignoreCases = [
    { batch: 1, classes: 10, smoothing: 0, ignoreIndex: -100, which: 'all', weights: false },
    { batch: 3, classes: 7, smoothing: 0.1, ignoreIndex: 2, which: 'some', weights: false },
    { batch: 130, classes: 10, smoothing: 0, ignoreIndex: -100, which: 'some', weights: true },
    { batch: 128, classes: 10, smoothing: 0.2, ignoreIndex: -100, which: 'some', weights: false },
    { batch: 128, classes: 10, smoothing: 0, ignoreIndex: 4, which: 'none', weights: false },
    { batch: 128, classes: 10, smoothing: 0.1, ignoreIndex: -100, which: 'all', weights: true },
    { batch: 256, classes: 47, smoothing: 0.1, ignoreIndex: 5, which: 'some', weights: true },
    { batch: 256, classes: 47, smoothing: 0, ignoreIndex: -1, which: 'some', weights: false },
    { batch: 67, classes: 5, smoothing: 0.1, ignoreIndex: -100, which: 'rest weigh 0', weights: true },
  ] as const;
  for (const { batch, classes, smoothing, ignoreIndex, which, weights: weighted } of ignoreCases) {
    gpuTest(`ignore_index ${ignoreIndex}: batch ${batch}, ${classes} classes, label smoothing ${smoothing}, ${which} ignored, ${weighted ? 'class weights' : 'weights of 1'}`, async (ctx) => {
      const n = batch * classes;
      const logits = f32(randomArray(n, n + 11, -6, 6));
      if (n > 3) [logits[0], logits[1]] = [90, -90];
      // Class 1 weighs 0 with weights; 'rest weigh 0': every sample not ignored is of class 1.
      const weights = f32(Array.from({ length: classes }, (_, c) => (!weighted ? 1 : c === 1 ? 0 : 0.25 + ((c * 37) % 11) / 4)));
      const labels = Array.from({ length: batch }, (_, b) => {
        const ignored = which === 'all' || (which !== 'none' && b % 3 !== 1);
        if (ignored) return ignoreIndex;
        if (which === 'rest weigh 0') return 1;
        const label = (b * 5 + 2) % classes;
        return label === ignoreIndex ? (label + 1) % classes : label;
      });
      const t = {
        logits: ctx.tensor('logits', [batch, classes], { data: logits }),
        labels: ctx.tensor('labels', [batch], { dtype: 'u32', data: Uint32Array.from(labels) }),
        weight: ctx.tensor('weight', [classes], { data: weights }),
        weightSum: ctx.tensor('weight sums', [2]),
        logp: ctx.tensor('logp', [batch, classes]),
        loss: ctx.tensor('loss', [batch]),
        dlogits: ctx.tensor('dlogits', [batch, classes]),
        nllLoss: ctx.tensor('nll loss', [batch]),
        nllWeightSum: ctx.tensor('nll weight sum', [1]),
        dlogp: ctx.tensor('dlogp', [batch, classes]),
        metrics: ctx.tensor('metrics', [2], { data: [0, 1.5] }),
        counts: ctx.tensor('counts', [3], { dtype: 'u32', data: [2, 10, 3] }),
        health: ctx.tensor('health', [healthLength(0)], { dtype: 'u32', data: freshHealth(0) }),
      };
      for (const x of [t.weightSum, t.logp, t.loss, t.dlogits, t.nllLoss, t.nllWeightSum, t.dlogp]) ctx.fill(x, NaN);
      const p = { batch, classes, smoothing, ignoreIndex };
      const variant = { WEIGHTED: true, IGNORE: true };
      const kernels = [
        (await ctx.compile(logSoftmaxNllForward, variant)).bind({ logits: t.logits, labels: t.labels, logp: t.logp, loss: t.loss, weight: t.weight, weightSum: t.weightSum }, p),
        (await ctx.compile(logSoftmaxNllBackward, variant)).bind({ logp: t.logp, labels: t.labels, dlogits: t.dlogits, weight: t.weight, weightSum: t.weightSum }, p),
        (await ctx.compile(nllForward, variant)).bind({ logp: t.logp, labels: t.labels, loss: t.nllLoss, weight: t.weight, weightSum: t.nllWeightSum }, { batch, classes, ignoreIndex }),
        (await ctx.compile(nllBackward, variant)).bind({ labels: t.labels, dlogp: t.dlogp, weight: t.weight, weightSum: t.nllWeightSum }, { batch, classes, ignoreIndex }),
        (await ctx.compile(batchMetrics, { IGNORE: true })).bind({ loss: t.loss, logp: t.logp, labels: t.labels, metrics: t.metrics, counts: t.counts, health: t.health }, { batch, classes, guard: 0, ignoreIndex }),
      ];
      ctx.submit('ignore_index test', (e) => recordPass(e, 'ignore_index test', kernels));
      const w = weighted ? weights : undefined;
      const logp = logSoftmaxRef(logits, batch, classes);
      const kept = labels.filter((l) => l !== ignoreIndex);
      const weightSum = kept.reduce((a, label) => a + weights[label]!, 0);
      expectAllClose('logp (every row, the ignored too)', await ctx.read(t.logp), logp, TOLERANCE.forward);
      expectAllClose('weight sums (the ignored left out)', await ctx.read(t.weightSum), [weightSum, weights.reduce((a, v) => a + v, 0)], TOLERANCE.forward);
      expectCloseOrNaN('loss shares', await ctx.read(t.loss), nllSampleLossesRef(logp, labels, batch, classes, smoothing, w, ignoreIndex), TOLERANCE.forward);
      const dlogits = await ctx.read(t.dlogits);
      expectCloseOrNaN('dlogits', dlogits, logSoftmaxNllBackwardRef(logits, labels, batch, classes, smoothing, w, ignoreIndex), TOLERANCE.gradient);
      const gpuLogp = await ctx.read(t.logp);
      expectCloseOrNaN('nll loss shares', await ctx.read(t.nllLoss), nllSampleLossesRef(gpuLogp, labels, batch, classes, 0, w, ignoreIndex), TOLERANCE.forward);
      expectAllClose('nll weight sum', await ctx.read(t.nllWeightSum), [weightSum], TOLERANCE.forward);
      const dlogp = await ctx.read(t.dlogp);
      expectCloseOrNaN('dlogp', dlogp, nllBackwardRef(labels, batch, classes, w, ignoreIndex), TOLERANCE.gradient);
      // An ignored row's gradients are exactly 0, whatever W is.
      labels.forEach((l, b) => {
        if (l !== ignoreIndex) return;
        expect(Array.from(dlogits.subarray(b * classes, (b + 1) * classes)), `dlogits row ${b}`).toEqual(new Array(classes).fill(0));
        expect(Array.from(dlogp.subarray(b * classes, (b + 1) * classes)), `dlogp row ${b}`).toEqual(new Array(classes).fill(0));
      });
      const expectedLoss = nllLossRef(logp, labels, batch, classes, smoothing, w, ignoreIndex);
      const lossNaN = which === 'all' || which === 'rest weigh 0';
      expect(Number.isNaN(expectedLoss), "the reference's NaN, as PyTorch's").toBe(lossNaN);
      // A batch with every sample ignored: the mean NaN, the sum untouched (its shares are 0).
      expectCloseOrNaN('batch_metrics metrics', await ctx.read(t.metrics), [expectedLoss, 1.5 + (which === 'all' ? 0 : batch * expectedLoss)], TOLERANCE.forward);
      const correct = countCorrectRef(logits, labels, batch, classes, ignoreIndex);
      expect(Array.from(await ctx.read(t.counts)), 'counts: correct among the rest, samples, ignored').toEqual([2 + correct, 10 + batch, 3 + batch - kept.length]);
    });
  }

  gpuTest('batch_metrics: ties go to the lower class, a NaN row is wrong', async (ctx) => {
    const classes = 4;
    // Rows of logp (given directly): a clear winner; a tie between classes 1 and 3; the same tie
    // labelled with the later class; a NaN row labelled 0 (the prediction would default to 0);
    // a NaN in a row whose maximum is elsewhere (comparisons with NaN are false: class 2 wins).
    const N = NaN;
    const logp = [-3, -0.1, -4, -5, /**/ -2, -0.5, -3, -0.5, /**/ -2, -0.5, -3, -0.5, /**/ N, N, N, N, /**/ -1, N, -0.2, -3];
    const labels = [1, 1, 3, 0, 2];
    const loss = [0.1, 0.5, 0.5, 2, 0.2];
    const batch = labels.length;
    const tloss = ctx.tensor('loss', [batch], { data: loss });
    const tlogp = ctx.tensor('logp', [batch, classes], { data: logp });
    const tlabels = ctx.tensor('labels', [batch], { dtype: 'u32', data: labels });
    const tmetrics = ctx.tensor('metrics', [2], { data: [0, 0] });
    const tcounts = ctx.tensor('counts', [3], { dtype: 'u32', data: [0, 0, 0] });
    const health = ctx.tensor('health', [healthLength(0)], { dtype: 'u32', data: freshHealth(0) });
    const k = (await ctx.compile(batchMetrics)).bind({ loss: tloss, logp: tlogp, labels: tlabels, metrics: tmetrics, counts: tcounts, health }, { batch, classes, guard: 1, ignoreIndex: 0 });
    ctx.submit('batch metrics ties', (e) => recordPass(e, 'batch metrics ties', [k]));
    const lossSum = loss.reduce((a, b) => a + b, 0);
    expectAllClose('metrics', await ctx.read(tmetrics), [lossSum / batch, lossSum], TOLERANCE.forward);
    // Correct: rows 0, 1 and 4.
    expect(Array.from(await ctx.read(tcounts))).toEqual([3, batch, 0]);
  });

  gpuTest('batch_metrics: a non-finite loss is recorded for the divergence guard when guarded, and only then', async (ctx) => {
    const batch = 300;
    const classes = 3;
    const loss = new Float64Array(batch).fill(0.5);
    loss[257] = Infinity;
    const tensors = () => ({
      loss: ctx.tensor('loss', [batch], { data: loss }),
      logp: ctx.tensor('logp', [batch, classes]),
      labels: ctx.tensor('labels', [batch], { dtype: 'u32' }),
      metrics: ctx.tensor('metrics', [2]),
      counts: ctx.tensor('counts', [3], { dtype: 'u32' }),
    });
    for (const guard of [1, 0]) {
      const start = freshHealth(0);
      start[HEALTH_SLOTS.step] = 41;
      const health = ctx.tensor('health', [healthLength(0)], { dtype: 'u32', data: start });
      const k = (await ctx.compile(batchMetrics)).bind({ ...tensors(), health }, { batch, classes, guard, ignoreIndex: 0 });
      ctx.submit('guard', (e) => recordPass(e, 'guard', [k]));
      expect(Array.from(await ctx.read(health)), `guard ${guard}`).toEqual(guard ? [41, 41, 41] : Array.from(start));
    }
  });
});
