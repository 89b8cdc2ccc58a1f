/**
 * MultiheadAttention's float64 reference (src/reference/attention.ts) against PyTorch 1.13's
 * nn.MultiheadAttention (batch_first=True, self-attention: query = key = value) in float64: the
 * output and every gradient (input, in_proj_weight, in_proj_bias, out_proj.weight, out_proj.bias)
 * on several shapes, causal (a generate_square_subsequent_mask attn_mask) and not, with and
 * without bias, and with dropout on the attention weights (training: PyTorch's F.dropout there
 * replaced by the same mask as ours); and the layer's parameters (names, shapes, order) against
 * PyTorch's state_dict.
 * Skipped, saying so, without PyTorch.
 */
import { describe, expect, test } from 'vitest';
import { MultiheadAttention } from '../../src/layers/attention.js';
import { attentionBackwardRef, attentionForwardRef, type AttentionShape } from '../../src/reference/attention.js';
import { randomArray, scaledError } from '../helpers/allclose.js';
import { runTorch, skipWithoutTorch } from '../helpers/torch.js';

const SCRIPT = `
import json, sys, torch
import torch.nn.functional as F
spec = json.load(sys.stdin)
out = []
for case in spec['cases']:
    b, l, e, h = case['shape']
    if case['p'] > 0:
        # The attention weights' dropout (F.dropout in F.multi_head_attention_forward) with our mask, [b * h, l, l].
        given = torch.tensor(case['mask'], dtype=torch.float64).reshape(b * h, l, l)
        F.dropout = lambda t, p=0.5, training=True, inplace=False: t * given
    mha = torch.nn.MultiheadAttention(e, h, dropout=case['p'], bias=case['bias'], batch_first=True).double()
    with torch.no_grad():
        for name, p in mha.named_parameters():
            p.copy_(torch.tensor(case[name], dtype=torch.float64).reshape(p.shape))
    x = torch.tensor(case['x'], dtype=torch.float64).reshape(b, l, e).requires_grad_(True)
    mask = torch.triu(torch.full((l, l), float('-inf'), dtype=torch.float64), diagonal=1) if case['causal'] else None
    y, _ = mha(x, x, x, attn_mask=mask, need_weights=False)
    y.backward(torch.tensor(case['dy'], dtype=torch.float64).reshape(y.shape))
    grads = {name: p.grad.flatten().tolist() for name, p in mha.named_parameters()}
    out.append({'y': y.flatten().tolist(), 'dx': x.grad.flatten().tolist(), 'grads': grads,
                'names': [[k, list(v.shape)] for k, v in mha.state_dict().items()]})
print(json.dumps(out))
`;


describe("MultiheadAttention against PyTorch's nn.MultiheadAttention (float64)", () => {
  test('the output and every gradient, causal and not, with and without bias; the parameters’ names and shapes', (ctx) => {
    skipWithoutTorch(ctx);
    // [batch, L, E, heads, causal, bias, dropout p]
    const shapes: [number, number, number, number, boolean, boolean, number][] = [
      [1, 1, 2, 1, false, true, 0],
      [3, 5, 12, 3, false, true, 0],
      [2, 7, 12, 3, true, true, 0],
      [2, 6, 8, 2, true, false, 0],
      [4, 9, 16, 4, false, false, 0],
      [2, 17, 32, 4, true, true, 0],
      [3, 6, 12, 3, false, true, 0.25],
      [2, 9, 8, 2, true, true, 0.5],
    ];
    const cases = shapes.map(([batch, seqLen, embed, heads, causal, bias, p], n) => ({
      shape: [batch, seqLen, embed, heads],
      causal,
      bias,
      p,
      mask: p > 0 ? Array.from(randomArray(batch * heads * seqLen * seqLen, 30 + n, 0, 1), (u) => (u < p ? 0 : 1 / (1 - p))) : undefined,
      x: Array.from(randomArray(batch * seqLen * embed, 40 + n, -2, 2)),
      dy: Array.from(randomArray(batch * seqLen * embed, 50 + n)),
      in_proj_weight: Array.from(randomArray(3 * embed * embed, 60 + n, -0.6, 0.6)),
      'out_proj.weight': Array.from(randomArray(embed * embed, 70 + n, -0.5, 0.5)),
      ...(bias ? { in_proj_bias: Array.from(randomArray(3 * embed, 80 + n)), 'out_proj.bias': Array.from(randomArray(embed, 90 + n)) } : {}),
    }));
    const torch = runTorch<{ y: number[]; dx: number[]; grads: Record<string, number[]>; names: [string, number[]][] }[]>(SCRIPT, { cases });
    let worst = 0;
    cases.forEach((c, n) => {
      const [batch, seqLen, embed, heads] = c.shape as [number, number, number, number];
      const s: AttentionShape = { batch, seqLen, embed, heads, causal: c.causal };
      const w = { inWeight: c.in_proj_weight, outWeight: c['out_proj.weight'], inBias: c.in_proj_bias, outBias: c['out_proj.bias'] };
      const fwd = attentionForwardRef(c.x, w, s, c.mask);
      const g = attentionBackwardRef(c.dy, c.x, w, s, fwd);
      const t = torch[n]!;
      const errors: Record<string, number> = {
        y: scaledError(fwd.y, t.y),
        dx: scaledError(g.dx, t.dx),
        in_proj_weight: scaledError(g.dinWeight, t.grads.in_proj_weight!),
        'out_proj.weight': scaledError(g.doutWeight, t.grads['out_proj.weight']!),
        ...(c.bias ? { in_proj_bias: scaledError(g.dinBias, t.grads.in_proj_bias!), 'out_proj.bias': scaledError(g.doutBias, t.grads['out_proj.bias']!) } : {}),
      };
      for (const [name, e] of Object.entries(errors)) {
        expect(e, `${c.shape.join('×')}${c.causal ? ' causal' : ''}${c.p ? ` dropout ${c.p}` : ''}: ${name}`).toBeLessThan(1e-12);
        worst = Math.max(worst, e);
      }
      // The layer's parameters: PyTorch's names, shapes and order.
      const layer = new MultiheadAttention(embed, heads, { bias: c.bias, batchFirst: true });
      expect(layer.parameterSpecs([seqLen, embed]).map((p) => [p.name, [...p.shape]])).toEqual(t.names);
    });
    console.log(`MultiheadAttention reference against PyTorch 1.13 (float64): largest error ${worst.toExponential(2)} of the largest value`);
  });
});
