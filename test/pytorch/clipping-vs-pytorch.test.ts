/**
 * The float64 references of gradient clipping (clipGradNormRef, clipGradValueRef) against
 * PyTorch's own torch.nn.utils.clip_grad_norm_ and clip_grad_value_ on float64 tensors of several
 * shapes: the clipped gradients and the norm returned, for norm types 1, 2 and inf, bounds below
 * and above the norm, and a bound of 0. Skipped, saying so, where PyTorch is not installed.
 */
import { describe, expect, test } from 'vitest';
import { runTorch, skipWithoutTorch } from '../helpers/torch.js';
import { clipGradNormRef, clipGradValueRef } from '../../src/reference/optimizers.js';
import { randomArray } from '../helpers/allclose.js';


const TORCH = `
import json, sys, torch
spec = json.load(sys.stdin)
out = []
for case in spec['cases']:
    grads = {k: torch.tensor(v, dtype=torch.float64) for k, v in spec['grads'].items()}
    params = []
    for g in grads.values():
        p = torch.zeros_like(g, requires_grad=True)
        p.grad = g.clone()
        params.append(p)
    if case['kind'] == 'norm':
        norm_type = float('inf') if case['norm_type'] == 'inf' else float(case['norm_type'])
        norm = float(torch.nn.utils.clip_grad_norm_(params, case['max_norm'], norm_type=norm_type))
    else:
        torch.nn.utils.clip_grad_value_(params, case['clip_value'])
        norm = None
    out.append({'norm': norm, 'grads': {k: p.grad.tolist() for k, p in zip(grads.keys(), params)}})
print(json.dumps(out))
`;

describe('clipping references against PyTorch (float64)', () => {
  test('clip_grad_norm_ (norm types 1, 2, inf; bounds below and above the norm, and 0) and clip_grad_value_', (ctx) => {
    skipWithoutTorch(ctx);
    const grads = { 'conv.weight': randomArray(4 * 3 * 3 * 3, 5, -0.4, 0.3), 'conv.bias': randomArray(4, 6, -1, 1), 'fc.weight': randomArray(10 * 36, 7, -0.05, 0.05) };
    const cases = [
      ...[1, 2, Infinity].flatMap((normType) => [0.5, 1000, 0].map((maxNorm) => ({ kind: 'norm' as const, normType, maxNorm }))),
      { kind: 'value' as const, clipValue: 0.2 },
      { kind: 'value' as const, clipValue: 0 },
    ];
    const spec = {
      grads: Object.fromEntries(Object.entries(grads).map(([k, v]) => [k, Array.from(v)])),
      cases: cases.map((c) => (c.kind === 'norm' ? { kind: 'norm', max_norm: c.maxNorm, norm_type: c.normType === Infinity ? 'inf' : c.normType } : { kind: 'value', clip_value: c.clipValue })),
    };
    const torch = runTorch<{ norm: number | null; grads: Record<string, number[]> }[]>(TORCH, spec);
    let clippedCases = 0;
    cases.forEach((c, k) => {
      const ours = c.kind === 'norm' ? clipGradNormRef(grads, c.maxNorm, c.normType as 1 | 2) : { grads: clipGradValueRef(grads, c.clipValue), norm: null };
      const label = JSON.stringify(c);
      if (c.kind === 'norm') expect(Math.abs(ours.norm! - torch[k]!.norm!) / torch[k]!.norm!, `${label}: norm ${ours.norm} against ${torch[k]!.norm}`).toBeLessThan(1e-14);
      for (const [name, theirs] of Object.entries(torch[k]!.grads)) {
        const mine = ours.grads[name]!;
        const scale = Math.max(...theirs.map(Math.abs), 1e-300);
        theirs.forEach((t, i) => expect(Math.abs(mine[i]! - t) / scale, `${label}: ${name}[${i}] ${mine[i]} against ${t}`).toBeLessThan(1e-14));
        if (theirs.some((t, i) => t !== grads[name as keyof typeof grads][i])) clippedCases++;
      }
    });
    // Most cases change the gradients: a reference that clipped nothing would not pass.
    expect(clippedCases).toBeGreaterThan(10);
  });
});
