/**
 * TransformerEncoderLayer (src/layers/transformer.ts) against PyTorch 1.13's nn.TransformerEncoderLayer
 * (dropout 0, batch_first=True), post-norm with ReLU and pre-norm with GELU: PyTorch's state_dict
 * loads by its names and predicts as PyTorch's float32 forward; one GPU SGD step (checked against
 * the float64 reference) leaves the weights PyTorch's float64 SGD step leaves. Also: with dropout,
 * a GPU step against the float64 reference; the model file's keyword and its refusals.
 */
import { describe, expect, test } from 'vitest';
import { encodeCheckpoint, loadCheckpoint } from '../../src/checkpoint/checkpoint.js';
import { decodeSafetensors, encodeSafetensors } from '../../src/checkpoint/safetensors.js';
import { Flatten, LayerNorm, Linear, Sequential, TransformerEncoder, TransformerEncoderLayer } from '../../src/layers/index.js';
import { modelFileText, parseModelFile, sameNetwork } from '../../src/models/model-file.js';
import { Adam, SGD } from '../../src/optim/optimizers.js';
import { checkNetworkStep, formatCheckReport } from '../../src/plan/check.js';
import { Network } from '../../src/plan/network.js';
import { randomArray } from '../helpers/allclose.js';
import { gpuTest } from '../helpers/gpu.js';
import { hasTorch, runTorch } from '../helpers/torch.js';

const SCRIPT = `
import json, sys, torch
import torch.nn.functional as F
spec = json.load(sys.stdin)
L, D, H, FF, C, B = spec['sizes']
torch.manual_seed(0)
encoder = torch.nn.TransformerEncoderLayer(D, H, FF, dropout=0.0, activation=spec['activation'], batch_first=True, norm_first=spec['norm_first'])
if spec.get('num_layers'):
    encoder = torch.nn.TransformerEncoder(encoder, spec['num_layers'], norm=torch.nn.LayerNorm(D) if spec['norm'] else None)
model = torch.nn.Sequential(encoder, torch.nn.Flatten(), torch.nn.Linear(L * D, C))
# The norms' affine parameters and the attention's biases away from their init, so that loading them is seen.
with torch.no_grad():
    for name, p in model.named_parameters():
        if 'norm' in name or 'in_proj_bias' in name or 'out_proj.bias' in name:
            p.add_(torch.rand(p.shape) - 0.5)
x = torch.tensor(spec['x'], dtype=torch.float32).reshape(B, L, D)
state = {k: {'shape': list(v.shape), 'data': v.flatten().tolist()} for k, v in model.state_dict().items()}
with torch.no_grad():
    y = model(x)
model = model.double()
opt = torch.optim.SGD(model.parameters(), lr=spec['lr'])
loss = F.cross_entropy(model(x.double()), torch.tensor(spec['labels']))
loss.backward()
opt.step()
print(json.dumps({'state': state, 'y': y.flatten().tolist(), 'loss': loss.item(), 'after': {k: v.flatten().tolist() for k, v in model.state_dict().items()}}))
`;

describe("TransformerEncoderLayer and TransformerEncoder against PyTorch's", () => {
  const cases = [
    { normFirst: false, activation: 'relu' },
    { normFirst: true, activation: 'gelu' },
    { normFirst: false, activation: 'relu', numLayers: 2, norm: true },
    { normFirst: true, activation: 'gelu', numLayers: 3, norm: false },
  ] as const;
  for (const spec of cases) {
    const { normFirst, activation } = spec;
    const numLayers = 'numLayers' in spec ? spec.numLayers : undefined;
    const norm = 'norm' in spec && spec.norm;
    const title = `${numLayers ? `TransformerEncoder of ${numLayers}${norm ? ' with a norm' : ''}, ` : ''}${normFirst ? 'norm_first' : 'post-norm'}, ${activation}`;
    gpuTest(`${title}: PyTorch's state_dict loads and predicts as PyTorch's float32; one SGD step leaves PyTorch's weights`, async (ctx, t) => {
      const [L, D, H, FF, C, B] = [6, 16, 4, 32, 3, 4];
      const layer = new TransformerEncoderLayer(D, H, { dimFeedforward: FF, dropout: 0, activation, normFirst });
      const encoder = numLayers ? new TransformerEncoder(layer, numLayers, norm ? new LayerNorm(D) : null) : layer;
      const model = new Sequential(encoder, new Flatten(), new Linear(L * D, C));
      const lr = 0.1;
      const network = new Network(ctx, model, { inputShape: [L, D], maxBatch: B, seed: 3, optimizer: new SGD({ lr }) });
      const { tensors, metadata } = decodeSafetensors(await encodeCheckpoint(network), 'memory');
      const names = Object.keys(tensors).filter((k) => !k.startsWith('optimizer.')).sort();
      expect(sameNetwork(metadata.model_file!, 'model_file', network.model, [L, D])).toBe(true);
      if (!hasTorch) return t.skip('/usr/bin/python3 has no PyTorch');
      const x = Array.from(randomArray(B * L * D, 44, -1, 1));
      const labels = [0, 2, 1, 2];
      const torch = runTorch<{ state: Record<string, { shape: number[]; data: number[] }>; y: number[]; loss: number; after: Record<string, number[]> }>(SCRIPT, { x, labels, lr, sizes: [L, D, H, FF, C, B], activation, norm_first: normFirst, num_layers: numLayers ?? null, norm });
      // PyTorch's names, every one of them.
      expect(Object.keys(torch.state).sort()).toEqual(names);
      const stateDict = Object.fromEntries(Object.entries(torch.state).map(([k, v]) => [k, { dtype: 'F32' as const, shape: v.shape, data: Float32Array.from(v.data) }]));
      loadCheckpoint(network, encodeSafetensors(stateDict, {}), 'from-pytorch.safetensors');
      const y = await network.predict(Float32Array.from(x));
      const worst = Math.max(...Array.from(y, (v, i) => Math.abs(v - torch.y[i]!)));
      // One SGD step: the GPU's against the float64 reference, then the weights against PyTorch's.
      const report = await checkNetworkStep(network, Float32Array.from(x), Uint32Array.from(labels));
      expect(report.passed, formatCheckReport(report)).toBe(true);
      let worstStep = 0;
      for (const p of network.parameters) {
        const ours = await ctx.read(p.value);
        const theirs = torch.after[p.name]!;
        expect(ours.length, p.name).toBe(theirs.length);
        for (let i = 0; i < ours.length; i++) worstStep = Math.max(worstStep, Math.abs(ours[i]! - theirs[i]!));
      }
      console.log(`${title} from PyTorch's state_dict: logits within ${worst.toExponential(2)} of PyTorch's float32; after one SGD step, weights within ${worstStep.toExponential(2)} of PyTorch's float64`);
      expect(worst).toBeLessThan(1e-5);
      expect(worstStep).toBeLessThan(1e-5);
    });
  }

  gpuTest('with dropout 0.1 (the attention weights, after each block and the activation): a GPU step against the float64 reference, Adam, two steps', async (ctx) => {
    const model = new Sequential(new TransformerEncoderLayer(12, 3, { dimFeedforward: 24 }), new Flatten(), new Linear(5 * 12, 3));
    const network = new Network(ctx, model, { inputShape: [5, 12], maxBatch: 6, seed: 9, optimizer: new Adam({ lr: 0.01 }) });
    const x = Float32Array.from(randomArray(6 * 5 * 12, 45, -1, 1));
    for (let step = 1; step <= 2; step++) {
      const report = await checkNetworkStep(network, x, Uint32Array.from([0, 1, 2, 0, 1, 2]));
      expect(report.passed, `step ${step}\n${formatCheckReport(report)}`).toBe(true);
    }
  });
});

describe('a seeded run', () => {
  gpuTest('is bit-reproducible with dropout: two networks, three steps each, the same weights to the bit; another seed, other weights', async (ctx) => {
    const run = async (seed: number) => {
      const model = new Sequential(new TransformerEncoderLayer(12, 3, { dimFeedforward: 24, dropout: 0.2 }), new Flatten(), new Linear(5 * 12, 3));
      const network = new Network(ctx, model, { inputShape: [5, 12], maxBatch: 8, seed, optimizer: new Adam({ lr: 0.01 }) });
      for (let step = 0; step < 3; step++) await checkNetworkStep(network, Float32Array.from(randomArray(8 * 5 * 12, 46 + step, -1, 1)), Uint32Array.from({ length: 8 }, (_, b) => b % 3));
      return Promise.all(network.parameters.map(async (p) => Array.from(await ctx.read(p.value))));
    };
    const [a, b, c] = [await run(4), await run(4), await run(5)];
    expect(b).toEqual(a);
    expect(c[0]).not.toEqual(a[0]);
  }, 60_000);
});

describe('model files', () => {
  test("TransformerEncoderLayer by PyTorch's keywords: round-trips, names, refusals", () => {
    const text = JSON.stringify({ input: [6, 16], layers: [{ type: 'TransformerEncoderLayer', d_model: 16, nhead: 4, dim_feedforward: 32, dropout: 0, norm_first: true, activation: 'gelu' }, { type: 'Flatten' }, { type: 'Linear', out_features: 3 }] });
    const { model } = parseModelFile(text, 't.json');
    expect(JSON.parse(modelFileText(model, [6, 16])).layers[0]).toEqual({ type: 'TransformerEncoderLayer', d_model: 16, nhead: 4, dim_feedforward: 32, dropout: 0, activation: 'gelu', layer_norm_eps: 1e-5, batch_first: true, norm_first: true });
    expect(sameNetwork(modelFileText(model, [6, 16]), 'x', new Sequential(new TransformerEncoderLayer(16, 4, { dimFeedforward: 32, dropout: 0, activation: 'gelu', normFirst: true }), new Flatten(), new Linear(96, 3)), [6, 16])).toBe(true);
    const refused = (fields: Record<string, unknown>) => () => parseModelFile(JSON.stringify({ input: [6, 16], layers: [{ type: 'TransformerEncoderLayer', d_model: 16, nhead: 4, ...fields }] }), 't.json');
    expect(refused({ batch_first: false })).toThrow("t.json: layer '0' (TransformerEncoderLayer): batch_first must be true here");
    expect(refused({ activation: 'tanh' })).toThrow("activation must be 'relu' or 'gelu' here, got \"tanh\"");
    expect(refused({ nhead: 5 })).toThrow('embed_dim must be divisible by num_heads');
    expect(refused({ norm_first: 1 })).toThrow('"norm_first" must be true or false');
    expect(refused({ heads: 4 })).toThrow('unknown field "heads"');
    expect(() => new TransformerEncoderLayer({ dModel: 8, nhead: 2, norm_first: true } as never)).toThrow("TransformerEncoderLayer: unknown option 'norm_first' (PyTorch's norm_first is normFirst here)");
  });
});

describe('TransformerEncoder: copies of its encoder_layer', () => {
  gpuTest("the copies start from the same weights (PyTorch's deepcopy), an init function draws each its own; with dropout, a GPU step against the float64 reference", async (ctx) => {
    const encoder = () => new TransformerEncoder(new TransformerEncoderLayer(12, 3, { dimFeedforward: 24, dropout: 0.2 }), 3, { norm: new LayerNorm(12) });
    const network = new Network(ctx, new Sequential(encoder(), new Flatten(), new Linear(5 * 12, 3)), { inputShape: [5, 12], maxBatch: 6, seed: 11, optimizer: new Adam({ lr: 0.01 }) });
    const values = async (n: Network) => new Map(await Promise.all(n.parameters.map(async (p) => [p.name, Array.from(await ctx.read(p.value))] as const)));
    const start = await values(network);
    const copied = [...start.keys()].filter((name) => name.startsWith('0.layers.0.'));
    expect(copied.length).toBe(12);
    for (const name of copied) {
      for (const k of [1, 2]) expect(start.get(name.replace('layers.0.', `layers.${k}.`)), `${name} in copy ${k}`).toEqual(start.get(name));
    }
    // Not a degenerate equality: the copies' weights are drawn (they differ from the next layer's of the same shape).
    expect(start.get('0.layers.0.linear1.weight')).not.toEqual(start.get('0.layers.0.self_attn.out_proj.weight'));
    // torch.nn.init applied to each parameter after construction: each copy its own draws.
    const initialised = new Network(ctx, new Sequential(encoder(), new Flatten(), new Linear(5 * 12, 3)), { inputShape: [5, 12], maxBatch: 6, seed: 11, init: (p) => (p.local === 'weight' && p.shape.length === 2 ? { kind: 'xavier_uniform' } : undefined) });
    const own = await values(initialised);
    expect(own.get('0.layers.1.linear1.weight')).not.toEqual(own.get('0.layers.0.linear1.weight'));
    expect(own.get('0.layers.1.linear1.bias')).toEqual(own.get('0.layers.0.linear1.bias'));
    // Each copy's dropouts draw their own masks: two steps held to the float64 reference, which follows them.
    const x = Float32Array.from(randomArray(6 * 5 * 12, 47, -1, 1));
    for (let step = 1; step <= 2; step++) {
      const report = await checkNetworkStep(network, x, Uint32Array.from([0, 1, 2, 0, 1, 2]));
      expect(report.passed, `step ${step}\n${formatCheckReport(report)}`).toBe(true);
    }
    const after = await values(network);
    expect(after.get('0.layers.1.linear1.weight')).not.toEqual(after.get('0.layers.0.linear1.weight'));
  }, 60_000);

  test("by PyTorch's keywords in a model file: round-trips, names, refusals", () => {
    const entry = { type: 'TransformerEncoder', encoder_layer: { d_model: 16, nhead: 4, dim_feedforward: 32, dropout: 0 }, num_layers: 2, norm: { type: 'LayerNorm', normalized_shape: 16 } };
    const text = JSON.stringify({ input: [6, 16], layers: [entry, { type: 'Flatten' }, { type: 'Linear', out_features: 3 }] });
    const { model } = parseModelFile(text, 't.json');
    const written = JSON.parse(modelFileText(model, [6, 16])).layers[0];
    expect(written).toEqual({ type: 'TransformerEncoder', encoder_layer: { d_model: 16, nhead: 4, dim_feedforward: 32, dropout: 0, activation: 'relu', layer_norm_eps: 1e-5, batch_first: true, norm_first: false }, num_layers: 2, enable_nested_tensor: true, mask_check: true, norm: { type: 'LayerNorm', normalized_shape: 16, eps: 1e-5 } });
    const byHand = new Sequential(new TransformerEncoder(new TransformerEncoderLayer(16, 4, { dimFeedforward: 32, dropout: 0 }), 2, new LayerNorm(16)), new Flatten(), new Linear(96, 3));
    expect(sameNetwork(modelFileText(model, [6, 16]), 'x', byHand, [6, 16])).toBe(true);
    expect(sameNetwork(modelFileText(model, [6, 16]), 'x', new Sequential(new TransformerEncoder(new TransformerEncoderLayer(16, 4, { dimFeedforward: 32, dropout: 0 }), 3, new LayerNorm(16)), new Flatten(), new Linear(96, 3)), [6, 16])).toBe(false);
    expect(parseModelFile(modelFileText(model, [6, 16]), 'again.json').model).toBeDefined();
    const refused = (fields: Record<string, unknown>) => () => parseModelFile(JSON.stringify({ input: [6, 16], layers: [{ ...entry, ...fields }] }), 't.json');
    expect(refused({ num_layers: undefined })).toThrow("t.json: layer '0' (TransformerEncoder): \"num_layers\" is required");
    expect(refused({ num_layers: 0 })).toThrow("t.json: layer '0' (TransformerEncoder): num_layers must be");
    expect(refused({ layers: 2 })).toThrow('unknown field "layers"');
    expect(refused({ encoder_layer: 3 })).toThrow('"encoder_layer" must be a TransformerEncoderLayer\'s keywords');
    expect(refused({ encoder_layer: { d_model: 16, nhead: 5 } })).toThrow("t.json: layer '0' (TransformerEncoder): encoder_layer: embed_dim must be divisible by num_heads");
    expect(refused({ encoder_layer: { d_model: 16, nhead: 4, heads: 2 } })).toThrow('encoder_layer: unknown field "heads"');
    // encoder_layer is not a layer of the model (its copies are, named layers.0, …): a name would be dropped.
    expect(refused({ encoder_layer: { d_model: 16, nhead: 4, name: 'block' } })).toThrow("t.json: layer '0' (TransformerEncoder): encoder_layer: unknown field \"name\" (its copies are named layers.0, layers.1, …)");
    expect(refused({ norm: { layers: [] } })).toThrow('"norm" must be one layer');
    expect(refused({ mask_check: 'yes' })).toThrow('"mask_check" must be true or false');
    expect(() => new TransformerEncoder({} as never, 2)).toThrow('TransformerEncoder: encoder_layer must be a TransformerEncoderLayer');
    expect(() => new TransformerEncoder(new TransformerEncoderLayer(8, 2), 2, { norm: 3 } as never)).toThrow('TransformerEncoder: norm must be one layer (such as a LayerNorm(d_model)), null or left out, got 3');
  });

  test("PyTorch's positional form: norm (null is None) then an options object; a norm of several layers, and arguments JavaScript would drop, refused naming them", () => {
    const layer = () => new TransformerEncoderLayer(8, 2);
    const names = (encoder: TransformerEncoder) => encoder.children.map(([name]) => name);
    expect(names(new TransformerEncoder(layer(), 2, null))).toEqual(['layers']);
    expect(names(new TransformerEncoder(layer(), 2, { norm: null } as never))).toEqual(['layers']);
    const withOptions = new TransformerEncoder(layer(), 2, new LayerNorm(8), { enableNestedTensor: false });
    expect(names(withOptions)).toEqual(['layers', 'norm']);
    expect(withOptions.config.enable_nested_tensor).toBe(false);
    expect(new TransformerEncoder(layer(), 2, null, { maskCheck: false }).config.mask_check).toBe(false);
    expect(() => new TransformerEncoder(layer(), 2, new LayerNorm(8), { norm: new LayerNorm(8) } as never)).toThrow("TransformerEncoder: unknown option 'norm'; the options are enableNestedTensor, maskCheck");
    expect(() => new TransformerEncoder(layer(), 2, new LayerNorm(8), false as never)).toThrow('TransformerEncoder: expected an options object ({ enableNestedTensor, maskCheck }), got false');
    expect(() => Reflect.construct(TransformerEncoder, [layer(), 2, new LayerNorm(8), {}, true])).toThrow('TransformerEncoder: 5 arguments; expected (encoder_layer, num_layers, norm) then at most an options object');
    expect(() => new TransformerEncoder(layer(), 2, new Sequential(new LayerNorm(8)) as never)).toThrow('TransformerEncoder: norm must be one layer (such as a LayerNorm(d_model)), null or left out, got a Sequential');
  });
});
