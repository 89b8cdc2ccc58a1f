/**
 * The float64 loss references against PyTorch's own losses on float64 tensors: the loss and its
 * gradient with respect to the input, for
 * - CrossEntropyLoss(weight) with and without label_smoothing, and NLLLoss(weight) (the mean
 *   divided by Σ w[y_b], the smoothing term weighted per class: torch's
 *   cross_entropy_loss_label_smoothing), with a weight of 0 and a class no sample has;
 * - BCEWithLogitsLoss(pos_weight) against float and one-hot targets, logits large enough that the
 *   naive formula would overflow;
 * - KLDivLoss(reduction='batchmean') with log_target False (targets with zeros: 0·log 0 = 0) and True.
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
            loss = torch.nn.CrossEntropyLoss(weight=w, label_smoothing=c['smoothing'])(x, y)
        else:
            loss = torch.nn.NLLLoss(weight=w)(x, y)
    elif c['loss'] == 'bce-with-logits':
        t = torch.tensor(c['targets'], dtype=torch.float64).reshape(x.shape)
        loss = torch.nn.BCEWithLogitsLoss(pos_weight=w)(x, t)
    else:
        t = torch.tensor(c['targets'], dtype=torch.float64).reshape(x.shape)
        loss = torch.nn.KLDivLoss(reduction='batchmean', log_target=c['log_target'])(x, t)
    loss.backward()
    out.append({'loss': loss.item(), 'grad': x.grad.flatten().tolist()})
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
    return { loss: nllLossRef(logp, c.labels!, c.batch, c.features, c.smoothing ?? 0, c.weight), grad: logSoftmaxNllBackwardRef(c.input, c.labels!, c.batch, c.features, c.smoothing ?? 0, c.weight) };
  }
  if (c.loss === 'nll') return { loss: nllLossRef(c.input, c.labels!, c.batch, c.features, 0, c.weight), grad: nllBackwardRef(c.labels!, c.batch, c.features, c.weight) };
  const r = pointwiseLossRef(c.loss, c.input, [], c.batch, c.features, { targets: c.targets, posWeight: c.loss === 'bce-with-logits' ? c.weight : undefined, logTarget: c.logTarget });
  return { loss: r.loss.reduce((a, v) => a + v, 0) / c.batch, grad: r.grad };
}

describe('the loss references against PyTorch (float64)', () => {
  test('CrossEntropyLoss and NLLLoss with weight, BCEWithLogitsLoss with pos_weight, KLDivLoss batchmean: loss and input gradient', (ctx) => {
    skipWithoutTorch(ctx);
    const spec = {
      cases: cases.map((c) => ({
        loss: c.loss, batch: c.batch, features: c.features, input: Array.from(c.input), labels: c.labels, targets: c.targets && Array.from(c.targets),
        weight: c.weight, smoothing: c.smoothing ?? 0, log_target: c.logTarget ?? false,
      })),
    };
    const torch = runTorch<{ loss: number; grad: number[] }[]>(TORCH, spec);
    const worst: string[] = [];
    cases.forEach((c, k) => {
      const ours = reference(c);
      const theirs = torch[k]!;
      const lossError = Math.abs(ours.loss - theirs.loss) / Math.abs(theirs.loss);
      const scale = Math.max(...theirs.grad.map(Math.abs));
      const gradError = Math.max(...theirs.grad.map((g, i) => Math.abs(ours.grad[i]! - g) / scale));
      worst.push(`${c.name}: loss ${theirs.loss.toPrecision(8)}, |Δ|/|loss| ${lossError.toExponential(1)}, max |Δgrad|/max|grad| ${gradError.toExponential(1)}`);
      expect(lossError, `${c.name}: loss ${ours.loss} against PyTorch's ${theirs.loss}`).toBeLessThan(1e-13);
      expect(gradError, `${c.name}: input gradient`).toBeLessThan(1e-13);
    });
    console.log(worst.join('\n'));
  });
});
