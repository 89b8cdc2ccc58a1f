/**
 * The float64 loss references against PyTorch's own losses on float64 tensors: the loss and its
 * gradient with respect to the input, for
 * - CrossEntropyLoss(weight) with and without label_smoothing, and NLLLoss(weight) (the mean
 *   divided by Σ w[y_b], the smoothing term weighted per class: torch's
 *   cross_entropy_loss_label_smoothing), with a weight of 0 and a class no sample has;
 * - BCEWithLogitsLoss(pos_weight) against float and one-hot targets, logits large enough that the
 *   naive formula would overflow;
 * - KLDivLoss(reduction='batchmean') with log_target False (targets with zeros: 0·log 0 = 0) and True;
 * - ignore_index (CrossEntropyLoss and NLLLoss, with and without weight and label_smoothing): −100
 *   and a negative one, one inside the class range, one outside it with and without samples of it;
 *   every sample ignored (PyTorch's NaN loss, a zero gradient); and the samples left all of weight 0
 *   (NaN loss and NaN gradient on their rows, with label smoothing too: the audit's ±inf).
 * The largest relative difference of each is printed. Skipped, saying so, where PyTorch is not installed.
 */
import { describe, expect, test } from 'vitest';
import { runTorch, skipWithoutTorch } from '../helpers/torch.js';
import { pointwiseLossRef } from '../../src/reference/loss.js';
import { logSoftmaxNllBackwardRef, logSoftmaxRef, nllBackwardRef, nllLossRef } from '../../src/reference/nll.js';
import { randomArray } from '../helpers/allclose.js';

const TORCH = `
import json, sys, torch
import torch.nn.functional as F
spec = json.load(sys.stdin)
out = []
for c in spec['cases']:
    x = torch.tensor(c['input'], dtype=torch.float64).reshape(c['batch'], c['features']).requires_grad_(True)
    w = torch.tensor(c['weight'], dtype=torch.float64) if c.get('weight') is not None else None
    if c['loss'] in ('cross-entropy', 'nll'):
        y = torch.tensor(c['labels'], dtype=torch.long)
        if c['loss'] == 'cross-entropy':
            loss = torch.nn.CrossEntropyLoss(weight=w, label_smoothing=c['smoothing'], ignore_index=c['ignore_index'])(x, y)
        else:
            loss = torch.nn.NLLLoss(weight=w, ignore_index=c['ignore_index'])(x, y)
    elif c['loss'] == 'bce-with-logits':
        t = torch.tensor(c['targets'], dtype=torch.float64).reshape(x.shape)
        loss = torch.nn.BCEWithLogitsLoss(pos_weight=w)(x, t)
    else:
        t = torch.tensor(c['targets'], dtype=torch.float64).reshape(x.shape)
        loss = torch.nn.KLDivLoss(reduction='batchmean', log_target=c['log_target'])(x, t)
    loss.backward()
    finite = lambda v: v if v == v and abs(v) != float('inf') else str(v)
    out.append({'loss': finite(loss.item()), 'grad': [finite(g) for g in x.grad.flatten().tolist()]})
print(json.dumps(out))
`;

interface Case {
  readonly name: string;
  readonly loss: 'cross-entropy' | 'nll' | 'bce-with-logits' | 'kl-div';
  readonly batch: number;
  readonly features: number;
  readonly input: Float64Array;
  readonly labels?: number[];
  readonly targets?: Float64Array;
  readonly weight?: number[];
  readonly smoothing?: number;
  readonly logTarget?: boolean;
  readonly ignoreIndex?: number;
}

const [B, C] = [9, 5];
const logits = randomArray(B * C, 71, -4, 4);
// Class 3 has no sample; class 1 has weight 0.
const labels = [0, 1, 2, 4, 0, 2, 1, 4, 4];
const classWeights = [0.5, 0, 2, 1.5, 3];
const probabilities = (seed: number, zeros: boolean) => {
  const raw = randomArray(B * C, seed, 0, 1);
  if (zeros) for (let i = 0; i < raw.length; i += 4) raw[i] = 0;
  for (let b = 0; b < B; b++) {
    const row = raw.subarray(b * C, (b + 1) * C);
    const sum = row.reduce((a, v) => a + v, 0);
    row.forEach((v, j) => (row[j] = v / sum));
  }
  return raw;
};
const cases: Case[] = [
  ...[0, 0.1, 1].map((smoothing) => ({ name: `CrossEntropyLoss(weight, label_smoothing=${smoothing})`, loss: 'cross-entropy' as const, batch: B, features: C, input: logits, labels, weight: classWeights, smoothing })),
  { name: 'CrossEntropyLoss(label_smoothing=0.2), no weight', loss: 'cross-entropy', batch: B, features: C, input: logits, labels, smoothing: 0.2 },
  { name: 'NLLLoss(weight)', loss: 'nll', batch: B, features: C, input: logSoftmaxRef(logits, B, C), labels, weight: classWeights },
  { name: 'NLLLoss(weight), batch 1', loss: 'nll', batch: 1, features: C, input: logSoftmaxRef(logits, B, C).subarray(0, C), labels: [2], weight: classWeights },
  ...[undefined, classWeights].flatMap((weight) => [0, 0.1, 1].flatMap((smoothing) => {
    const named = (what: string) => `CrossEntropyLoss(${weight ? 'weight, ' : ''}label_smoothing=${smoothing}, ignore_index=${what})`;
    return [
      { name: named('-100'), loss: 'cross-entropy' as const, batch: B, features: C, input: logits, labels: [0, -100, 2, 4, -100, 2, 1, 4, -100], weight, smoothing, ignoreIndex: -100 },
      { name: named('2, inside the classes'), loss: 'cross-entropy' as const, batch: B, features: C, input: logits, labels, weight, smoothing, ignoreIndex: 2 },
      { name: named('7, outside the classes, 2 samples'), loss: 'cross-entropy' as const, batch: B, features: C, input: logits, labels: [7, 1, 2, 4, 0, 2, 7, 4, 3], weight, smoothing, ignoreIndex: 7 },
      { name: named('-3, no sample'), loss: 'cross-entropy' as const, batch: B, features: C, input: logits, labels, weight, smoothing, ignoreIndex: -3 },
      { name: named('-1, every sample'), loss: 'cross-entropy' as const, batch: B, features: C, input: logits, labels: new Array(B).fill(-1), weight, smoothing, ignoreIndex: -1 },
    ];
  })),
  ...[0, 0.1].map((smoothing) => ({ name: `CrossEntropyLoss(weight, label_smoothing=${smoothing}), every label of weight 0`, loss: 'cross-entropy' as const, batch: 3, features: C, input: logits.subarray(0, 3 * C), labels: [1, 1, 1], weight: classWeights, smoothing })),
  { name: 'CrossEntropyLoss(weight, label_smoothing=0.1, ignore_index=4), the rest of weight 0', loss: 'cross-entropy', batch: 4, features: C, input: logits.subarray(0, 4 * C), labels: [1, 4, 1, 4], weight: classWeights, smoothing: 0.1, ignoreIndex: 4 },
  ...[undefined, classWeights].flatMap((weight) => [
    { name: `NLLLoss(${weight ? 'weight, ' : ''}ignore_index=-100)`, loss: 'nll' as const, batch: B, features: C, input: logSoftmaxRef(logits, B, C), labels: [0, -100, 2, 4, -100, 2, 1, 4, -100], weight, ignoreIndex: -100 },
    { name: `NLLLoss(${weight ? 'weight, ' : ''}ignore_index=4)`, loss: 'nll' as const, batch: B, features: C, input: logSoftmaxRef(logits, B, C), labels, weight, ignoreIndex: 4 },
    { name: `NLLLoss(${weight ? 'weight, ' : ''}ignore_index=-100), every sample`, loss: 'nll' as const, batch: 2, features: C, input: logSoftmaxRef(logits, B, C).subarray(0, 2 * C), labels: [-100, -100], weight, ignoreIndex: -100 },
  ]),
  { name: 'NLLLoss(weight), every label of weight 0', loss: 'nll', batch: 2, features: C, input: logSoftmaxRef(logits, B, C).subarray(0, 2 * C), labels: [1, 1], weight: classWeights },
  { name: 'BCEWithLogitsLoss(pos_weight), float targets', loss: 'bce-with-logits', batch: B, features: C, input: Float64Array.from(logits, (v, i) => (i === 3 ? 120 : i === 7 ? -95 : v)), targets: randomArray(B * C, 72, 0, 1), weight: [0.25, 1, 3, 0, 7.5] },
  { name: 'BCEWithLogitsLoss(pos_weight), one-hot targets', loss: 'bce-with-logits', batch: B, features: C, input: logits, targets: Float64Array.from({ length: B * C }, (_, i) => (labels[Math.floor(i / C)] === i % C ? 1 : 0)), weight: [2, 2, 0.5, 1, 4] },
  { name: "KLDivLoss('batchmean'), probability targets with zeros", loss: 'kl-div', batch: B, features: C, input: logSoftmaxRef(logits, B, C), targets: probabilities(73, true), logTarget: false },
  { name: "KLDivLoss('batchmean'), targets not normalised, input not log-probabilities", loss: 'kl-div', batch: B, features: C, input: logits, targets: randomArray(B * C, 74, 0, 2), logTarget: false },
  { name: "KLDivLoss('batchmean', log_target=True)", loss: 'kl-div', batch: B, features: C, input: logSoftmaxRef(logits, B, C), targets: probabilities(75, false).map(Math.log), logTarget: true },
];

/** The reference's loss and input gradient of a case. */
function reference(c: Case): { loss: number; grad: Float64Array } {
  if (c.loss === 'cross-entropy') {
    const logp = logSoftmaxRef(c.input, c.batch, c.features);
    return { loss: nllLossRef(logp, c.labels!, c.batch, c.features, c.smoothing ?? 0, c.weight, c.ignoreIndex), grad: logSoftmaxNllBackwardRef(c.input, c.labels!, c.batch, c.features, c.smoothing ?? 0, c.weight, c.ignoreIndex) };
  }
  if (c.loss === 'nll') return { loss: nllLossRef(c.input, c.labels!, c.batch, c.features, 0, c.weight, c.ignoreIndex), grad: nllBackwardRef(c.labels!, c.batch, c.features, c.weight, c.ignoreIndex) };
  const r = pointwiseLossRef(c.loss, c.input, [], c.batch, c.features, { targets: c.targets, posWeight: c.loss === 'bce-with-logits' ? c.weight : undefined, logTarget: c.logTarget });
  return { loss: r.loss.reduce((a, v) => a + v, 0) / c.batch, grad: r.grad };
}

describe('the loss references against PyTorch (float64)', () => {
  test('CrossEntropyLoss and NLLLoss with weight and ignore_index, BCEWithLogitsLoss with pos_weight, KLDivLoss batchmean: loss and input gradient', (ctx) => {
    skipWithoutTorch(ctx);
    const spec = {
      cases: cases.map((c) => ({
        loss: c.loss, batch: c.batch, features: c.features, input: Array.from(c.input), labels: c.labels, targets: c.targets && Array.from(c.targets),
        weight: c.weight, smoothing: c.smoothing ?? 0, log_target: c.logTarget ?? false, ignore_index: c.ignoreIndex ?? -100,
      })),
    };
    // PyTorch's non-finite values come as strings ('nan', 'inf'): each must be the reference's too.
    const torch = runTorch<{ loss: number | string; grad: (number | string)[] }[]>(TORCH, spec);
    const value = (v: number | string) => (typeof v === 'number' ? v : Number(v.replace('inf', 'Infinity')));
    const worst: string[] = [];
    cases.forEach((c, k) => {
      const ours = reference(c);
      const theirLoss = value(torch[k]!.loss);
      const theirGrad = torch[k]!.grad.map(value);
      const nonFinite = (v: number) => (Number.isNaN(v) ? 'NaN' : Number.isFinite(v) ? 'finite' : String(v));
      expect(nonFinite(ours.loss), `${c.name}: loss ${ours.loss} against PyTorch's ${theirLoss}`).toBe(nonFinite(theirLoss));
      expect(Array.from(ours.grad, nonFinite), `${c.name}: the gradient's non-finite elements`).toEqual(theirGrad.map(nonFinite));
      const lossError = Number.isFinite(theirLoss) ? Math.abs(ours.loss - theirLoss) / Math.abs(theirLoss) : 0;
      const finiteGrad = theirGrad.flatMap((g, i) => (Number.isFinite(g) ? [[g, ours.grad[i]!]] : []));
      const scale = Math.max(...finiteGrad.map(([g]) => Math.abs(g!)));
      const gradError = scale === 0 ? Math.max(0, ...finiteGrad.map(([, o]) => Math.abs(o!))) : Math.max(0, ...finiteGrad.map(([g, o]) => Math.abs(o! - g!) / scale));
      worst.push(`${c.name}: loss ${theirLoss.toPrecision(8)}, |Δ|/|loss| ${lossError.toExponential(1)}, max |Δgrad|/max|grad| ${gradError.toExponential(1)}${scale === 0 ? ' (a zero gradient: the largest |grad|)' : ''}`);
      expect(lossError, `${c.name}: loss ${ours.loss} against PyTorch's ${theirLoss}`).toBeLessThan(1e-13);
      expect(gradError, `${c.name}: input gradient`).toBeLessThan(1e-13);
    });
    console.log(worst.join('\n'));
  });
});
