/**
 * MultiheadAttention in a network: a whole GPU training step against the float64 reference
 * (checkNetworkStep) — an Embedding → MultiheadAttention in a Residual → LayerNorm → Flatten →
 * Linear under Adam, and a causal one without bias after a Linear (its input gradient) from a model
 * file under SGD momentum; the checkpoint's names, a PyTorch state_dict loading and predicting as
 * PyTorch's float32 forward (causal and not); the model file's keyword and refusals, the plan's
 * refusal of a batch whose attention weights would not fit one binding, and the FLOP count.
 */
import { describe, expect, test } from 'vitest';
import { encodeCheckpoint, loadCheckpoint } from '../../src/checkpoint/checkpoint.js';
import { decodeSafetensors, encodeSafetensors } from '../../src/checkpoint/safetensors.js';
import { Embedding, Flatten, LayerNorm, Linear, MultiheadAttention, Residual, Sequential } from '../../src/layers/index.js';
import { modelFileText, parseModelFile, sameNetwork } from '../../src/models/model-file.js';
import { Adam, SGD } from '../../src/optim/optimizers.js';
import { checkNetworkStep, formatCheckReport } from '../../src/plan/check.js';
import { Network, checkPlanFits } from '../../src/plan/network.js';
import { planModel, trainingFlops } from '../../src/plan/plan.js';
import { randomArray } from '../helpers/allclose.js';
import { gpuTest } from '../helpers/gpu.js';
import { hasTorch, runTorch } from '../helpers/torch.js';

/** Ids with repeats. */
const idsOf = (count: number, vocab: number) => Float32Array.from({ length: count }, (_, i) => (i * 7919 + (i >> 3)) % vocab);

describe('one GPU training step against the float64 reference', () => {
  gpuTest('Embedding(23, 12) → Residual(MultiheadAttention(12, 3)) → LayerNorm(12) → Flatten → Linear, Adam, two steps', async (ctx) => {
    const model = new Sequential(new Embedding(23, 12), new Residual(new MultiheadAttention(12, 3, { batchFirst: true })), new LayerNorm(12), new Flatten(), new Linear(12 * 7, 3));
    const network = new Network(ctx, model, { inputShape: [7], maxBatch: 6, seed: 4, optimizer: new Adam({ lr: 0.01 }) });
    expect(network.parameters.map((p) => [p.name, p.shape])).toEqual([
      ['0.weight', [23, 12]], ['1.0.in_proj_weight', [36, 12]], ['1.0.in_proj_bias', [36]], ['1.0.out_proj.weight', [12, 12]], ['1.0.out_proj.bias', [12]], ['2.weight', [12]], ['2.bias', [12]], ['4.weight', [3, 84]], ['4.bias', [3]],
    ]);
    // PyTorch's init: in_proj_bias and out_proj.bias zeros.
    expect(Array.from(await ctx.read(network.parameters[2]!.value))).toEqual(new Array(36).fill(0));
    const labels = Uint32Array.from([0, 2, 1, 2, 0]);
    for (let step = 1; step <= 2; step++) {
      const report = await checkNetworkStep(network, idsOf(5 * 7, 23), labels);
      expect(report.passed, `step ${step}\n${formatCheckReport(report)}`).toBe(true);
      expect(report.rows.filter((r) => r.kind === 'gradient')).toHaveLength(network.parameters.length);
    }
  });

  gpuTest('with dropout 0.2 on the attention weights (each step its own mask, the reference given the same Philox draws): Embedding → Residual(MultiheadAttention) → LayerNorm → Flatten → Linear, Adam, two steps', async (ctx) => {
    const model = new Sequential(new Embedding(23, 12), new Residual(new MultiheadAttention(12, 3, { dropout: 0.2 })), new LayerNorm(12), new Flatten(), new Linear(12 * 7, 3));
    const network = new Network(ctx, model, { inputShape: [7], maxBatch: 6, seed: 8, optimizer: new Adam({ lr: 0.01 }) });
    const labels = Uint32Array.from([0, 2, 1, 2, 0, 1]);
    for (let step = 1; step <= 2; step++) {
      const report = await checkNetworkStep(network, idsOf(6 * 7, 23), labels);
      expect(report.passed, `step ${step}\n${formatCheckReport(report)}`).toBe(true);
    }
    // Eval: no dropout: the logits of the same network without dropout, given the same weights, to the bit.
    const plain = new Network(ctx, new Sequential(new Embedding(23, 12), new Residual(new MultiheadAttention(12, 3)), new LayerNorm(12), new Flatten(), new Linear(12 * 7, 3)), { inputShape: [7], maxBatch: 6, seed: 1, optimizer: new Adam({ lr: 0.01 }) });
    for (const [i, p] of network.parameters.entries()) ctx.write(plain.parameters[i]!.value, await ctx.read(p.value));
    const ids = idsOf(2 * 7, 23);
    const logits = Array.from(await network.predict(ids));
    expect(logits).toEqual(Array.from(await plain.predict(ids)));
    expect(Array.from(await network.predict(ids))).toEqual(logits);
  });

  gpuTest('Linear → causal MultiheadAttention without bias (its input gradient) → GELU → Flatten → Linear, from a model file, SGD momentum', async (ctx) => {
    const { model, input } = parseModelFile(
      JSON.stringify({ input: [9, 5], layers: [{ type: 'Linear', out_features: 8 }, { type: 'MultiheadAttention', embed_dim: 8, num_heads: 2, bias: false, batch_first: true, is_causal: true }, { type: 'GELU' }, { type: 'Flatten' }, { type: 'Linear', out_features: 4 }] }),
      'causal.json',
    );
    const network = new Network(ctx, model, { inputShape: input, maxBatch: 8, seed: 6, optimizer: new SGD({ lr: 0.05, momentum: 0.9 }) });
    expect(network.parameters.map((p) => p.name)).toEqual(['0.weight', '0.bias', '1.in_proj_weight', '1.out_proj.weight', '4.weight', '4.bias']);
    const x = Float32Array.from(randomArray(8 * 9 * 5, 12, -2, 2));
    for (let step = 1; step <= 2; step++) {
      const report = await checkNetworkStep(network, x, Uint32Array.from({ length: 8 }, (_, b) => b % 4));
      expect(report.passed, `step ${step}\n${formatCheckReport(report)}`).toBe(true);
    }
  });
});

describe('checkpoints', () => {
  for (const causal of [false, true]) {
    gpuTest(`the checkpoint carries PyTorch's names; a PyTorch state_dict loads and predicts as PyTorch's float32 model${causal ? ' (causal)' : ''}`, async (ctx, t) => {
      const [L, F, E, H] = [10, 5, 16, 4];
      const model = new Sequential(new Linear(F, E), new MultiheadAttention(E, H, { batchFirst: true, isCausal: causal }), new Flatten(), new Linear(L * E, 3));
      const network = new Network(ctx, model, { inputShape: [L, F], maxBatch: 4, seed: 2, optimizer: new SGD({ lr: 0.1 }) });
      const { tensors, metadata } = decodeSafetensors(await encodeCheckpoint(network), 'memory');
      expect(Object.keys(tensors).filter((k) => !k.startsWith('optimizer.')).sort()).toEqual(['0.bias', '0.weight', '1.in_proj_bias', '1.in_proj_weight', '1.out_proj.bias', '1.out_proj.weight', '3.bias', '3.weight']);
      expect(sameNetwork(metadata.model_file!, 'model_file', network.model, [L, F])).toBe(true);
      if (!hasTorch) return t.skip('/usr/bin/python3 has no PyTorch');
      // PyTorch's own model and init (seed 0): its state_dict, and its outputs for three samples.
      const x = Array.from(randomArray(3 * L * F, 43, -1, 2));
      const torch = runTorch<{ state: Record<string, { shape: number[]; data: number[] }>; y: number[] }>(
        `
import json, sys, torch
torch.manual_seed(0)
spec = json.load(sys.stdin)
L, F, E, H = spec['sizes']
model = torch.nn.Sequential(torch.nn.Linear(F, E), torch.nn.MultiheadAttention(E, H, batch_first=True), torch.nn.Flatten(), torch.nn.Linear(L * E, 3))
# Biases not zero, so that loading them is seen.
with torch.no_grad():
    model[1].in_proj_bias.uniform_(-0.5, 0.5)
    model[1].out_proj.bias.uniform_(-0.5, 0.5)
x = torch.tensor(spec['x'], dtype=torch.float32).reshape(3, L, F)
mask = torch.nn.Transformer.generate_square_subsequent_mask(L) if spec['causal'] else None
with torch.no_grad():
    h = model[0](x)
    y = model[3](model[2](model[1](h, h, h, attn_mask=mask, need_weights=False)[0]))
print(json.dumps({'state': {k: {'shape': list(v.shape), 'data': v.flatten().tolist()} for k, v in model.state_dict().items()}, 'y': y.flatten().tolist()}))
`,
        { x, sizes: [L, F, E, H], causal },
      );
      expect(Object.keys(torch.state).sort()).toEqual(Object.keys(tensors).filter((k) => !k.startsWith('optimizer.')).sort());
      const stateDict = Object.fromEntries(Object.entries(torch.state).map(([k, v]) => [k, { dtype: 'F32' as const, shape: v.shape, data: Float32Array.from(v.data) }]));
      loadCheckpoint(network, encodeSafetensors(stateDict, {}), 'from-pytorch.safetensors');
      const y = await network.predict(Float32Array.from(x));
      const worst = Math.max(...Array.from(y, (v, i) => Math.abs(v - torch.y[i]!)));
      console.log(`Linear → MultiheadAttention${causal ? ' (causal)' : ''} → Flatten → Linear from a PyTorch state_dict: logits within ${worst.toExponential(2)} of PyTorch's float32`);
      expect(worst).toBeLessThan(1e-5);
    });
  }
});

describe('model files, the plan and the layer’s refusals', () => {
  test('the model file round-trips; PyTorch’s other settings are refused, naming the option', () => {
    const text = JSON.stringify({ input: [6, 12], layers: [{ type: 'MultiheadAttention', embed_dim: 12, num_heads: 3, batch_first: true, is_causal: true }, { type: 'Flatten' }, { type: 'Linear', out_features: 10 }] });
    const { model } = parseModelFile(text, 'm.json');
    expect(JSON.parse(modelFileText(model, [6, 12])).layers[0]).toEqual({ type: 'MultiheadAttention', embed_dim: 12, num_heads: 3, bias: true, batch_first: true, is_causal: true });
    expect(sameNetwork(modelFileText(model, [6, 12]), 'x', new Sequential(new MultiheadAttention(12, 3, { isCausal: true }), new Flatten(), new Linear(72, 10)), [6, 12])).toBe(true);
    const refused = (fields: Record<string, unknown>) => () => parseModelFile(JSON.stringify({ input: [6, 12], layers: [{ type: 'MultiheadAttention', embed_dim: 12, num_heads: 3, ...fields }] }), 'm.json');
    expect(refused({ batch_first: false })).toThrow("m.json: layer '0' (MultiheadAttention): batch_first must be true here");
    expect(refused({ add_bias_kv: true })).toThrow('add_bias_kv must be false here');
    expect(refused({ add_zero_attn: true })).toThrow('add_zero_attn must be false here');
    expect(refused({ kdim: 8 })).toThrow('kdim must be 12 here');
    expect(refused({ vdim: 8 })).toThrow('vdim must be 12 here');
    expect(refused({ dropout: 1.5 })).toThrow('dropout must be a number in [0, 1], got 1.5');
    expect(refused({ num_heads: 5 })).toThrow('embed_dim must be divisible by num_heads, got embed_dim 12 and num_heads 5');
    expect(refused({ is_causal: 'yes' })).toThrow('"is_causal" must be true or false');
    expect(refused({ heads: 3 })).toThrow('unknown field "heads"');
    // What is taken as PyTorch's: kdim = vdim = embed_dim, dropout, add_bias_kv and add_zero_attn false.
    expect(refused({ kdim: 12, vdim: 12, dropout: 0.1, add_bias_kv: false, add_zero_attn: false })).not.toThrow();
    const dropout = parseModelFile(JSON.stringify({ input: [6, 12], layers: [{ type: 'MultiheadAttention', embed_dim: 12, num_heads: 3, dropout: 0.1 }, { type: 'Flatten' }, { type: 'Linear', out_features: 10 }] }), 'd.json').model;
    expect(JSON.parse(modelFileText(dropout, [6, 12])).layers[0]).toEqual({ type: 'MultiheadAttention', embed_dim: 12, num_heads: 3, dropout: 0.1, bias: true, batch_first: true });
    expect(() => new MultiheadAttention({ embedDim: 8, numHeads: 2, is_causal: true } as never)).toThrow("MultiheadAttention: unknown option 'is_causal' (PyTorch's is_causal is isCausal here)");
    expect(() => new MultiheadAttention(0, 1)).toThrow('MultiheadAttention: embed_dim must be a whole number ≥ 1, got 0');
    expect(() => new MultiheadAttention(8, 2).outputShape([4, 6])).toThrow("embed_dim is 8 but the input's steps have 6 features");
    expect(() => new MultiheadAttention(8, 2).outputShape([4, 2, 4])).toThrow('expects an input of shape [sequence length, embed_dim]');
  });

  test('init: xavier_uniform_ for in_proj_weight, U(±1/√E) for out_proj.weight, zero biases', () => {
    const specs = new MultiheadAttention(64, 4).parameterSpecs([10, 64]);
    expect(specs.map((s) => [s.name, s.init])).toEqual([
      ['in_proj_weight', { uniform: Math.sqrt(6 / (64 + 192)) }],
      ['in_proj_bias', { constant: 0 }],
      ['out_proj.weight', { uniform: 1 / 8 }],
      ['out_proj.bias', { constant: 0 }],
    ]);
  });

  test('a batch whose attention weights [H, L, L] pass one binding is refused, naming the layer and the sizes', () => {
    const plan = planModel(new Sequential(new Linear(8, 64), new MultiheadAttention(64, 8), new Flatten(), new Linear(512 * 64, 10)), { inputShape: [512, 8] });
    const limits = { maxStorageBufferBindingSize: 128 * 2 ** 20, maxBufferSize: 256 * 2 ** 20 };
    // 8 heads · 512² · 4 bytes = 8 MiB a sample: 16 fit 128 MiB.
    expect(() => checkPlanFits(plan, 16, limits)).not.toThrow();
    expect(() => checkPlanFits(plan, 17, limits)).toThrow('batch 17 needs a buffer of 136.0 MiB (1 (MultiheadAttention) attention weights [8, 512, 512], 8388608 bytes a sample); this adapter allows 128.0 MiB (maxStorageBufferBindingSize): the largest batch that fits is 16');
  });

  test('FLOP count: the projections as Linear layers, the attention core over the pairs it computes', () => {
    const [L, E] = [6, 12];
    for (const causal of [false, true]) {
      const flops = trainingFlops(planModel(new Sequential(new Linear(4, E), new MultiheadAttention(E, 3, { isCausal: causal }), new Flatten()), { inputShape: [L, 4] }));
      const pairs = causal ? 21 : 36;
      const projections = 2 * L * 3 * E * E + 2 * L * E * E;
      expect(flops).toEqual({
        forward: 2 * L * 4 * E + projections + 4 * pairs * E,
        weightGradients: 2 * L * 4 * E + projections,
        inputGradients: 2 * L * E * E + 8 * pairs * E + 2 * L * 3 * E * E,
        total: 2 * (2 * L * 4 * E) + 2 * projections + 4 * pairs * E + 2 * L * E * E + 8 * pairs * E + 2 * L * 3 * E * E,
      });
    }
  });
});
