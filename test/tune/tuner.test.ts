/**
 * The tuner leaves nothing behind on the device: every buffer it creates while timing is freed.
 * It tunes the biggest kernels first, and a budget defers the rest to a later run.
 */
import { readFileSync } from 'node:fs';
import { expect, test } from 'vitest';
import { parseModelFile } from '../../src/models/model-file.js';
import { cacheKey, candidateWeightTiles, FINAL_ROUNDS, FINALISTS, FINALS_WORTH_MS, flopsOf, formatMs, formatTuneTable, MARGIN, MAX_CANDIDATES, wgslCode, KERNEL_SOURCE_HASH, fnv1a, pickFastest, notWorthMs, tiledKernelsOf, tuneModel, type StoredChoice, type TuneEntry } from '../../src/tune/tuner.js';
import { conv2dParams, conv2dWeightSplits, conv2dWeightTapSlots, defaultWeightTile, GPU_MAX_PARTIAL_FLOATS, GPU_WEIGHT_TASKS, gpuWeightTiles, type Conv2dParams, type WeightTile } from '../../src/kernels/conv2d.js';
import { SEED_CNN_INPUT, seedCnn } from '../../src/models/seed-cnn.js';
import { BatchNorm2d } from '../../src/layers/batchnorm.js';
import { Conv2d } from '../../src/layers/conv2d.js';
import { ReLU } from '../../src/layers/activations.js';
import { Sequential } from '../../src/layers/sequential.js';
import { AvgPool2d, MaxPool2d } from '../../src/layers/pooling.js';
import { Linear } from '../../src/layers/linear.js';
import { Flatten } from '../../src/layers/flatten.js';
import { Network } from '../../src/plan/network.js';
import { Conv1d, ConvTranspose1d } from '../../src/layers/one-d.js';
import { ConvTranspose2d } from '../../src/layers/conv-transpose2d.js';
import { GpuContext } from '../../src/gpu/context.js';
import { gpuTest } from '../helpers/gpu.js';
import { checkNetworkStep, formatCheckReport } from '../../src/plan/check.js';

test('a training forward followed by a batch norm is timed with its statistics epilogue, as the layer binds it', () => {
  const uses = tiledKernelsOf(seedCnn(), { inputShape: SEED_CNN_INPUT, batch: 128 });
  const variant = (kernel: string) => uses.filter((u) => u.kernel === kernel).map((u) => `${u.layers.join('+')}${u.relu ? ' relu' : ''}${u.stats ? ' stats' : ''}${u.pool ? ' pool' : ''}`);
  // convblock3 (1×1, no batch norm after it) without; no backward kernel has it. convblock3 stores
  // pool1 (maxpool-epilogue). convblock8 (1×1 on the 1×1 plane after the GAP) runs as a Linear.
  expect(variant('conv2d_forward')).toEqual([
    'convblock1.0 relu stats', 'convblock2.0 relu stats', 'convblock3.0 pool', 'convblock4.0 relu stats',
    'convblock5.0 relu stats', 'convblock6.0 relu stats', 'convblock7.0 relu stats',
  ]);
  expect(uses.filter((u) => u.layers.includes('convblock8.0')).map((u) => `${u.kernel} ${JSON.stringify(u.params)}`)).toEqual(
    ['dense_forward', 'dense_backward_weight', 'dense_backward_input'].map((k) => `${k} {"batch":128,"inFeatures":16,"outFeatures":10}`),
  );
  expect(uses.filter((u) => u.kernel !== 'conv2d_forward' && (u.stats || u.pool))).toEqual([]);
  // Evaluation binds no statistics.
  expect(tiledKernelsOf(seedCnn(), { inputShape: SEED_CNN_INPUT, batch: 128, training: false }).filter((u) => u.stats)).toEqual([]);
});

test('two convs of one shape, one before a batch norm and one before a max pool, share a tile timed with the max pool', () => {
  const conv = () => new Conv2d({ outChannels: 4, kernelSize: 3, padding: 1, bias: false });
  const model = new Sequential(conv(), new BatchNorm2d(), new ReLU(), conv(), new MaxPool2d(2), new Flatten(), new Linear({ outFeatures: 10 }));
  const forward = tiledKernelsOf(model, { inputShape: [4, 8, 8], batch: 8 }).filter((u) => u.kernel === 'conv2d_forward');
  expect(forward.map((u) => ({ layers: u.layers, stats: u.stats, pool: u.pool }))).toEqual([{ layers: ['0', '3'], stats: false, pool: true }]);
});

test("a Conv1d on the tiled kernels (a padded one after its padding node, a strided one at stride (s, s)) is tuned as its inner Conv2d's [C, 1, L] shape; a dilated one runs the direct kernels", () => {
  const model = new Sequential(new Conv1d({ outChannels: 8, kernelSize: 3 }), new ReLU(), new Conv1d({ outChannels: 8, kernelSize: 3, padding: 1 }), new Conv1d({ outChannels: 8, kernelSize: 3, stride: 2 }), new Conv1d({ outChannels: 8, kernelSize: 3, dilation: 2 }), new Flatten(), new Linear({ outFeatures: 10 }));
  const uses = tiledKernelsOf(model, { inputShape: [4, 30], batch: 16 });
  // The first layer's forward and weight gradient (no input gradient: nothing learns before it); the
  // padded one's three on its padded input (28 + 2); the strided one's three; the dilated one's none.
  expect(uses.filter((u) => u.kernel.startsWith('conv2d')).map((u) => `${u.kernel} ${u.layers.join('+')} ${(u.params as { height: number }).height}×${(u.params as { width: number }).width}`)).toEqual([
    'conv2d_forward 0 1×30', 'conv2d_backward_weight 0 1×30', 'conv2d_forward 2 1×30', 'conv2d_backward_input 2 1×30', 'conv2d_backward_weight 2 1×30',
    'conv2d_forward 3 1×28', 'conv2d_backward_input 3 1×28', 'conv2d_backward_weight 3 1×28',
  ]);
});

test("a ConvTranspose2d on the tiled kernels is tuned as its conv, roles turned round (its forward the conv's input gradient, in eval too); an unpadded ConvTranspose1d likewise; a grouped one runs the direct kernels", () => {
  const model = new Sequential(
    new ConvTranspose2d({ outChannels: 8, kernelSize: 4, stride: 2, padding: 1 }), new ReLU(),
    new ConvTranspose2d({ outChannels: 4, kernelSize: 3, stride: 2, padding: 1, outputPadding: 1 }),
    new ConvTranspose2d({ outChannels: 4, kernelSize: 3, groups: 2 }), new Flatten(), new Linear({ outFeatures: 10 }),
  );
  const uses = (training: boolean) => tiledKernelsOf(model, { inputShape: [2, 5, 5], batch: 4, training }).filter((u) => u.kernel.startsWith('conv2d')).map((u) => {
    const p = u.params as Conv2dParams;
    return `${u.kernel} ${u.layers.join('+')} ${p.inChannels}→${p.outChannels} ${p.height}×${p.width}→${p.outHeight}×${p.outWidth}`;
  });
  // The first layer's forward (its conv's input gradient, from [8, 10, 10] to [2, 5, 5]) and weight gradient; the second's three.
  expect(uses(true)).toEqual([
    'conv2d_backward_input 0 8→2 10×10→5×5', 'conv2d_backward_weight 0 8→2 10×10→5×5',
    'conv2d_backward_input 2 4→8 20×20→10×10', 'conv2d_forward 2 4→8 20×20→10×10', 'conv2d_backward_weight 2 4→8 20×20→10×10',
  ]);
  expect(uses(false)).toEqual(['conv2d_backward_input 0 8→2 10×10→5×5', 'conv2d_backward_input 2 4→8 20×20→10×10']);
  const oneD = tiledKernelsOf(new Sequential(new ConvTranspose1d({ outChannels: 4, kernelSize: 3, stride: 2 }), new ConvTranspose1d({ outChannels: 4, kernelSize: 3, stride: 2, padding: 1 }), new Flatten()), { inputShape: [3, 9], batch: 4, loss: 'mse' });
  expect(oneD.map((u) => `${u.kernel} ${u.layers.join('+')}`)).toEqual(['conv2d_backward_input 0', 'conv2d_backward_weight 0']);
});

test('a conv of another geometry (groups, dilation, (h, w) stride) runs the direct kernels: nothing of it is tuned', () => {
  const model = new Sequential(new Conv2d({ outChannels: 4, kernelSize: 3, padding: 1 }), new ReLU(), new Conv2d({ outChannels: 8, kernelSize: 3, groups: 4 }), new Conv2d({ outChannels: 8, kernelSize: 3, dilation: 2 }), new Conv2d({ outChannels: 8, kernelSize: 1, stride: [1, 2] }), new Flatten());
  const uses = tiledKernelsOf(model, { inputShape: [2, 12, 12], batch: 8 });
  expect(uses.flatMap((u) => u.layers)).toEqual(['0', '0']); // its forward and weight gradient
});

gpuTest('a conv whose forward stores the max pool after it is tuned with that epilogue: its own key, tiles of even rows', async (ctx) => {
  const model = new Sequential(new Conv2d({ outChannels: 8, kernelSize: 3, bias: false }), new MaxPool2d(2), new ReLU(), new Flatten(), new Linear({ outFeatures: 10 }));
  let saved: Record<string, StoredChoice> = {};
  const result = await tuneModel(ctx, model, {
    inputShape: [1, 15, 15],
    batch: 8,
    mode: 'full',
    store: { location: 'memory', load: async () => ({}), save: async (entries) => void (saved = entries) },
  });
  const forward = result.entries.find((e) => e.kernel === 'conv2d_forward')!;
  expect(forward.tile.rows % 2, `the forward's tile ${JSON.stringify(forward.tile)}`).toBe(0);
  const keys = Object.keys(saved).filter((k) => k.includes('|conv2d_forward'));
  expect(keys).toHaveLength(1);
  expect(keys[0]).toContain('|conv2d_forward+pool|');
  expect((saved[keys[0]!]!.tile as { rows: number }).rows % 2).toBe(0);
}, 120_000);

gpuTest('a ConvTranspose2d tuned in full trains on its chosen tiles: a GPU step against float64', async (ctx) => {
  const model = new Sequential(new Conv2d({ outChannels: 6, kernelSize: 3, stride: 2 }), new ReLU(), new ConvTranspose2d({ outChannels: 8, kernelSize: 4, stride: 2, padding: 1 }), new ReLU(), new AvgPool2d(4), new Flatten(), new Linear({ outFeatures: 10 }));
  const result = await tuneModel(ctx, model, { inputShape: [1, 16, 16], batch: 8, mode: 'full', store: { location: 'memory', load: async () => ({}), save: async () => {} } });
  // The transposed conv's three (its forward as the conv's input gradient, its input gradient as the conv's forward, its weight gradient) are among those tuned.
  expect(result.entries.filter((e) => e.layers.includes('2')).map((e) => e.kernel).sort()).toEqual(['conv2d_backward_input', 'conv2d_backward_weight', 'conv2d_forward']);
  const network = new Network(ctx, model, { inputShape: [1, 16, 16], maxBatch: 8, seed: 5, tiles: result.tiles });
  const images = Float32Array.from({ length: 8 * 256 }, (_, i) => Math.sin(i * 0.31));
  const report = await checkNetworkStep(network, images, Uint32Array.from({ length: 8 }, (_, b) => b % 10));
  expect(report.passed, formatCheckReport(report)).toBe(true);
}, 180_000);

gpuTest('tuning a plan frees every buffer it created (tensors, packed weights, bound kernels’ parameters)', async (ctx) => {
  const { model, input } = parseModelFile(readFileSync('examples/lenet5.json', 'utf8'), 'examples/lenet5.json');
  const device = ctx.device;
  const create = device.createBuffer.bind(device);
  const live = new Set<GPUBuffer>();
  device.createBuffer = (descriptor) => {
    const buffer = create(descriptor);
    live.add(buffer);
    const destroy = buffer.destroy.bind(buffer);
    buffer.destroy = () => {
      live.delete(buffer);
      destroy();
    };
    return buffer;
  };
  let saved: Record<string, StoredChoice> = {};
  try {
    const result = await tuneModel(ctx, model, {
      inputShape: input,
      batch: 64,
      mode: 'full',
      store: { location: 'memory', load: async () => ({}), save: async (entries) => void (saved = entries) },
    });
    // LeNet-5: 5 conv kernels (two convs) and 9 dense ones (three Linears).
    expect(result.entries.length).toBe(14);
    expect(Object.keys(saved)).toHaveLength(14);
    expect([...live].map((b) => b.label)).toEqual([]);
  } finally {
    device.createBuffer = create;
  }
}, 120_000);

gpuTest('tunes the biggest kernels first; out of budget, the rest keep their defaults, uncached, for a later run', async (ctx) => {
  const { model, input } = parseModelFile(readFileSync('examples/lenet5.json', 'utf8'), 'examples/lenet5.json');
  const kernels = tiledKernelsOf(model, { inputShape: input, batch: 8 });
  expect(kernels).toHaveLength(14);
  let saved: Record<string, StoredChoice> | undefined;
  // The number of choices in each save: one save a kernel tuned, so a run cut short keeps them.
  const saves: number[] = [];
  const store = { location: 'memory', load: async () => ({ ...(saved ?? {}) }), save: async (entries: Record<string, StoredChoice>) => void ((saved = { ...entries }), saves.push(Object.keys(entries).length)) };

  const none = await tuneModel(ctx, model, { inputShape: input, batch: 8, mode: 'cached', store, budgetSeconds: 0 });
  // A misspelt option is refused, not ignored (a budget given as `budget` would tune without one).
  await expect(tuneModel(ctx, model, { inputShape: input, batch: 8, mode: 'cached', store, budget: 0 } as never)).rejects.toThrow("tuneModel: unknown option 'budget'");
  expect(none.entries).toEqual([]);
  expect(none.deferred).toHaveLength(14);
  expect(saved, 'nothing tuned, nothing saved').toBeUndefined();
  expect(none.tiles('conv2d_forward', kernels[0]!.params as never)).toBeUndefined();

  const order: string[] = [];
  const all = await tuneModel(ctx, model, { inputShape: input, batch: 8, mode: 'cached', store, onProgress: (done, total, label) => done < total && order.push(label) });
  expect(all.deferred).toEqual([]);
  expect(all.entries.map((e) => `${e.kernel} ${e.layers.join(', ')}`), 'entries in the plan\'s order').toEqual(kernels.map((k) => `${k.kernel} ${k.layers.join(', ')}`));
  const byFlops = [...kernels].sort((a, b) => flopsOf(b) - flopsOf(a)).map((k) => `${k.kernel} ${k.layers.join(', ')}`);
  expect(order, 'tuned biggest first').toEqual(byFlops);
  expect(Object.keys(saved ?? {})).toHaveLength(14);
  expect(saves).toEqual(Array.from({ length: 14 }, (_, i) => i + 1));
}, 120_000);

/** Conv2d (bias) → ReLU → Conv2d (bias) → ReLU → Flatten → Linear: biases, and a ReLU before the second conv. */
const biasedNet = () =>
  new Sequential(new Conv2d({ outChannels: 4, kernelSize: 3 }), new ReLU(), new Conv2d({ outChannels: 8, kernelSize: 3 }), new ReLU(), new Flatten(), new Linear({ outFeatures: 10 }));

test('a conv with a bias is timed with it (forward and weight gradient), an input gradient after a ReLU with its mask, each cached under its own key', () => {
  const uses = tiledKernelsOf(biasedNet(), { inputShape: [1, 10, 10], batch: 4 });
  const variant = (u: (typeof uses)[number]) => `${u.kernel} ${u.layers.join('+')}${u.bias ? ' bias' : ''}${u.reluMask ? ' relumask' : ''}`;
  expect(uses.filter((u) => u.kernel.startsWith('conv2d')).map(variant)).toEqual([
    'conv2d_forward 0 bias',
    'conv2d_backward_weight 0 bias',
    'conv2d_forward 2 bias',
    // Its input is the first ReLU's output (relu-grad-in-input-gradient).
    'conv2d_backward_input 2 relumask',
    'conv2d_backward_weight 2 bias',
  ]);
  const p = uses[0]!.params as Conv2dParams;
  // Cached under keys of their own (an adapter's identity is all cacheKey reads of the context).
  const ctx = { adapter: { vendor: 'v', architecture: 'a', device: 'd', description: 'x' } } as never;
  expect(cacheKey(ctx, 'conv2d_forward', p, false, false, true)).not.toBe(cacheKey(ctx, 'conv2d_forward', p));
  expect(cacheKey(ctx, 'conv2d_backward_input', p, false, false, false, true)).not.toBe(cacheKey(ctx, 'conv2d_backward_input', p));
  // The seed CNN has neither: its keys (and its cached choices) are unchanged.
  expect(tiledKernelsOf(seedCnn(), { inputShape: SEED_CNN_INPUT, batch: 128 }).filter((u) => u.bias || u.reluMask)).toEqual([]);
});

gpuTest('the variants tuned are the variants run: after tuning, the training and evaluation steps compile no conv pipeline of their own', async (ctx) => {
  const model = biasedNet();
  const input = [1, 10, 10];
  const store = { location: 'memory', load: async () => ({}), save: async () => {} };
  const tuned = await tuneModel(ctx, model, { inputShape: input, batch: 4, mode: 'full', store });
  expect(tuned.entries.filter((e) => e.kernel.startsWith('conv2d'))).toHaveLength(5);
  const before = ctx.pipelineTimes.length;
  const network = ctx.scoped(() => new Network(ctx, model, { inputShape: input, maxBatch: 4, tiles: tuned.tiles }));
  const lists = [await network.value.forward(4, 'train'), await network.value.backward(4), await network.value.forward(4, 'eval')];
  const created = ctx.pipelineTimes.slice(before).map((t) => t.kernel);
  expect(created.filter((k) => /^conv2d_(forward|backward_input|backward_weight)$/.test(k)), `pipelines the steps created: ${created.join(', ')}`).toEqual([]);
  for (const d of lists.flat()) d.destroy?.();
  network.destroy();
}, 60_000);

gpuTest('a forward timed with its statistics epilogue is cached under its own key', async (ctx) => {
  const model = new Sequential(new Conv2d({ outChannels: 8, kernelSize: 3, bias: false }), new ReLU(), new BatchNorm2d(), new AvgPool2d(8), new Flatten());
  const input = [3, 10, 10];
  let saved: Record<string, StoredChoice> = {};
  const store = { location: 'memory', load: async () => ({ ...saved }), save: async (entries: Record<string, StoredChoice>) => void (saved = entries) };
  const result = await tuneModel(ctx, model, { inputShape: input, batch: 4, mode: 'full', store });
  const forward = result.entries.find((e) => e.kernel === 'conv2d_forward')!;
  expect(Object.keys(saved)).toContain(cacheKey(ctx, 'conv2d_forward', forward.params, true));
  expect(Object.keys(saved)).not.toContain(cacheKey(ctx, 'conv2d_forward', forward.params));
  expect(cacheKey(ctx, 'conv2d_forward', forward.params, true)).not.toBe(cacheKey(ctx, 'conv2d_forward', forward.params));
  // Cached: the same choice back without timing.
  const again = await tuneModel(ctx, model, { inputShape: input, batch: 4, mode: 'cached', store });
  expect(again.entries.find((e) => e.kernel === 'conv2d_forward')).toMatchObject({ cached: true, tile: forward.tile });
}, 60_000);

test('the fastest candidates are timed again in turn with the default, without reading their output; a challenger must beat its fastest turn by MARGIN', async () => {
  const run = async (script: Record<string, number[]>) => {
    const calls: string[] = [];
    const measure = async (tile: string, check: boolean) => {
      // A turn that is not checked is marked: the finals time, they do not read outputs back.
      calls.push(check ? tile : `${tile}·`);
      const k = calls.filter((c) => c.replace('·', '') === tile).length - 1;
      return { ms: script[tile]![k]!, values: check ? new Float32Array([tile === 'E' ? 1 : 0]) : undefined };
    };
    const same = (values: Float32Array, defaults: Float32Array) => values[0] === defaults[0];
    // prepare (the candidates' compiles, all at once) runs after the default's turn, before the others'.
    const prepare = async (tiles: readonly string[]) => void calls.push(`prepare ${tiles.join('')}`);
    return { picked: await pickFastest(Object.keys(script), measure, same, prepare), calls };
  };
  expect([FINALISTS, FINAL_ROUNDS, MARGIN, FINALS_WORTH_MS]).toEqual([3, 3, 0.05, 1]);
  // In the first pass C's turn fell in a slow spell (12 ms), behind B and F; as a finalist, timed
  // again in turn with the default A and with B and F, it reads 6: its fastest turn wins. D is
  // not a finalist; E is the fastest but its output differs: rejected.
  const { picked, calls } = await run({ A: [10, 10, 9.5, 10], B: [9, 9, 9, 9], C: [12, 6, 7, 6], D: [20], E: [1], F: [11, 11, 11, 11] });
  expect(picked).toEqual({ tile: 'C', ms: 6, defaultMs: 9.5, tried: 6, rejected: 1 });
  expect(calls).toEqual(['A', 'prepare BCDEF', 'B', 'C', 'D', 'E', 'F', ...Array.from({ length: FINAL_ROUNDS }, () => ['A·', 'B·', 'F·', 'C·']).flat()]);
  // The default's first turn fell in a slow spell (12 ms): in its later turns it reads 8, and the
  // challengers that looked faster (9, 10) are judged against its fastest, 8: the default stays.
  const slowDefault = await run({ A: [12, 8, 8, 9], B: [9, 9, 9, 9], C: [10, 10, 10, 10] });
  expect(slowDefault.picked).toEqual({ tile: 'A', ms: 8, defaultMs: 8, tried: 3, rejected: 0 });
  // A challenger faster by under MARGIN keeps the default (level within noise); by MARGIN or more, it wins.
  expect((await run({ A: [10, 10, 10, 10], B: [9.6, 9.6, 9.6, 9.6] })).picked.tile).toBe('A');
  expect((await run({ A: [10, 10, 10, 10], B: [9.4, 9.4, 9.4, 9.4] })).picked.tile).toBe('B');
  // A default under FINALS_WORTH_MS: no more turns, the fastest single timing wins (by MARGIN).
  const small = await run({ A: [FINALS_WORTH_MS - 0.1], B: [0.6], C: [0.8] });
  expect(small.picked.tile).toBe('B');
  expect(small.calls).toEqual(['A', 'prepare BC', 'B', 'C']);
  expect((await run({ A: [0.9], B: [0.88] })).picked.tile).toBe('A');
  // A default under notWorthMs (0.5 ms on a CPU adapter, pickFastest's default): nothing else is compiled or timed.
  const tiny = await run({ A: [0.45], B: [0.1] });
  expect(tiny.calls).toEqual(['A']);
  expect(tiny.picked.tile).toBe('A');
});

test("on a hardware GPU kernels of 0.05 ms and more are worth tuning (a CPU adapter's bar is 0.5 ms)", async () => {
  expect(notWorthMs({ software: true })).toBe(0.5);
  expect(notWorthMs({ software: false })).toBe(0.05);
  const calls: string[] = [];
  const script: Record<string, number> = { A: 0.2, B: 0.08, C: 0.3 };
  const measure = async (tile: string, check: boolean) => {
    calls.push(tile);
    return { ms: script[tile]!, values: check ? new Float32Array([0]) : undefined };
  };
  const same = () => true;
  // The CPU adapter's bar: the 0.2 ms default is kept untried.
  expect((await pickFastest(['A', 'B', 'C'], measure, same, undefined, notWorthMs({ software: true }))).tile).toBe('A');
  expect(calls).toEqual(['A']);
  // A GPU's: the others are timed, and B, 2.5× faster, replaces it.
  calls.length = 0;
  expect(await pickFastest(['A', 'B', 'C'], measure, same, undefined, notWorthMs({ software: false }))).toEqual({ tile: 'B', ms: 0.08, defaultMs: 0.2, tried: 3, rejected: 0 });
  expect(calls).toEqual(['A', 'B', 'C']);
});

test('cache keys hash the kernels\' code, not their comments', () => {
  const a = 'fn f(x: f32) -> f32 {\n  // doubles x\n  return x * 2.0; /* a\nb */\n}\n';
  const b = '// a new header comment\nfn f(x: f32) -> f32 {\n    return x * 2.0;\n}';
  expect(wgslCode(a)).toBe('fn f(x: f32) -> f32 { return x * 2.0; }');
  expect(fnv1a(wgslCode(a))).toBe(fnv1a(wgslCode(b)));
  expect(fnv1a(wgslCode(a.replace('2.0', '3.0')))).not.toBe(fnv1a(wgslCode(a)));
  // The templates' #if lines are code.
  expect(wgslCode('#if RELU\nx = max(x, 0.0);\n#endif // RELU')).toBe('#if RELU x = max(x, 0.0); #endif');
  expect(KERNEL_SOURCE_HASH).toMatch(/^[0-9a-f]{8}$/);
});

test('on a hardware GPU the weight gradient\'s default and first candidates split for 8k and 32k invocations, their partial sums capped at 4 MB', () => {
  const conv = (batch: number, inC: number, outC: number, size: number): Conv2dParams => conv2dParams({ batch, inChannels: inC, height: size, width: size, outChannels: outC, kernelH: 3, kernelW: 3, stride: 1, padding: 0 });
  // convblock2 of the seed CNN at 128 and 1024, and a wider layer whose partial sums hit the cap
  // (rows of 18: past the row-wide tiles a software adapter tries first on smaller planes).
  for (const p of [conv(128, 16, 32, 26), conv(1024, 16, 32, 26), conv(64, 64, 64, 20)]) {
    const d = defaultWeightTile(p);
    const software = candidateWeightTiles(p, 8);
    const hardware = candidateWeightTiles(p, 8, true);
    const gpu = gpuWeightTiles(p, d, 8);
    expect(gpu.length, JSON.stringify(p)).toBeGreaterThan(0);
    // The GPU splits first (the first of them the GPU's default), then the CPU adapters' default
    // and the software list's own (once each, cut at MAX_CANDIDATES).
    const key = (t: WeightTile) => JSON.stringify([t.rows, t.channels, t.taps, t.workgroup, Boolean(t.shareDy)]);
    const expected = [...gpu, d, ...software.slice(1)].filter((t, i, all) => all.findIndex((u) => key(u) === key(t)) === i).slice(0, MAX_CANDIDATES);
    expect(software[0]).toEqual(d);
    expect(hardware).toEqual(expected);
    expect(hardware.slice(0, gpu.length)).toEqual(gpu);
    expect(defaultWeightTile(p, { software: false, subgroupSize: 8 })).toEqual(gpu[0]);
    expect(defaultWeightTile(p, { software: true, subgroupSize: 8 })).toEqual(d);
    const weights = p.outChannels * p.inChannels * 9;
    const perSplit = conv2dWeightTapSlots(p, d, 8) * Math.ceil(p.outChannels / d.channels);
    for (const [k, t] of gpu.entries()) {
      expect(t.rows, 'more splits than the tile before').toBeLessThan((k === 0 ? d : gpu[k - 1]!).rows);
      expect({ ...t, rows: d.rows }).toEqual(d);
      const splits = conv2dWeightSplits({ ...p, splitPixels: t.rows * p.outWidth });
      expect(splits * weights, 'partial sums').toBeLessThanOrEqual(GPU_MAX_PARTIAL_FLOATS);
      // The first aims at 8k invocations: it has them, unless the cap stops it first.
      if (k === 0 && Math.floor(GPU_MAX_PARTIAL_FLOATS / weights) >= Math.ceil(GPU_WEIGHT_TASKS[0] / perSplit)) {
        expect(splits * perSplit).toBeGreaterThanOrEqual(GPU_WEIGHT_TASKS[0] * 0.9);
      }
    }
  }
  // convblock2 at 128 and 1024 (32 invocations a split): the default's 16 splits against the
  // cap's 227 (of 4,608 weights) in whole rows, short of the 256 that 8,192 invocations take.
  const splitsOf = (p: Conv2dParams) => [defaultWeightTile(p), ...gpuWeightTiles(p, defaultWeightTile(p), 8)].map((t) => conv2dWeightSplits({ ...p, splitPixels: t.rows * p.outWidth }));
  expect(splitsOf(conv(128, 16, 32, 26))).toEqual([16, 220]);
  expect(splitsOf(conv(1024, 16, 32, 26))).toEqual([16, 226]);
  // convblock1 (144 weights, one invocation a split): 8,192 invocations want more splits than its
  // 3,328 output rows, so one row a split (the cap would allow 7,281).
  expect(splitsOf(conv(128, 1, 16, 28))).toEqual([476, 3328]);
  // 64 → 64 channels: the cap (28 splits of 36,864 weights) stops the aim's 32.
  expect(splitsOf(conv(64, 64, 64, 16))).toEqual([2, 28]);
  // Layers whose default has the splits already (a tiny one: all its rows; 256 → 256 channels:
  // the cap allows one): no GPU tile, the same default on a GPU.
  for (const q of [conv2dParams({ batch: 1, inChannels: 1, height: 5, width: 5, outChannels: 4, kernelH: 3, kernelW: 3, stride: 1, padding: 0 }), conv(64, 256, 256, 16)]) {
    expect(gpuWeightTiles(q, defaultWeightTile(q), 8)).toEqual([]);
    expect(defaultWeightTile(q, { software: false })).toEqual(defaultWeightTile(q));
    expect(candidateWeightTiles(q, 8, true)[0]).toEqual(defaultWeightTile(q));
  }
});

test('the table\'s milliseconds keep two significant digits below 0.1 ms, and an unmeasurably fast kernel shows no GFLOP/s', () => {
  expect(formatMs(12.345)).toBe('12.35');
  expect(formatMs(0.25)).toBe('0.25');
  expect(formatMs(0.0043)).toBe('0.0043');
  expect(formatMs(0)).toBe('0.00');
  const entry = { kernel: 'conv2d_forward', layers: ['c'], params: conv2dParams({ batch: 1, inChannels: 1, height: 3, width: 3, outChannels: 4, kernelH: 3, kernelW: 3, stride: 1, padding: 0 }), tile: { rows: 1, channels: 4, workgroup: 64 }, ms: 0, defaultMs: 0, gflops: Infinity, tried: 1, rejected: 0, cached: false } as unknown as TuneEntry;
  const table = formatTuneTable([entry], 1000);
  expect(table).not.toMatch(/Infinity/);
  expect(table.split('\n')[1]).toMatch(/ — /);
});

gpuTest("the dense kernels an LSTM, a GRU and a MultiheadAttention run are the tuner's: every tile a network asks for, at its shape, is one tiledKernelsOf lists", async (ctx) => {
  const { LSTM, GRU } = await import('../../src/layers/recurrent.js');
  const { MultiheadAttention } = await import('../../src/layers/attention.js');
  const { Residual } = await import('../../src/layers/sequential.js');
  const { Embedding } = await import('../../src/layers/embedding.js');
  const models: [string, Sequential, number[]][] = [
    ['a first stacked bidirectional LSTM, then a GRU', new Sequential(new LSTM({ inputSize: 5, hiddenSize: 6, numLayers: 2, bidirectional: true }), new GRU({ hiddenSize: 4 }), new Flatten(), new Linear({ outFeatures: 3 })), [7, 5]],
    ['a Linear, then a causal attention in a residual block', new Sequential(new Linear(5, 8), new Residual(new MultiheadAttention(8, 2, { isCausal: true })), new Flatten(), new Linear({ outFeatures: 3 })), [6, 5]],
    ['an Embedding, then attention first to learn (no input gradient of its input projection)', new Sequential(new Embedding(20, 8), new MultiheadAttention(8, 4), new Flatten(), new Linear({ outFeatures: 3 })), [6]],
  ];
  for (const [what, model, inputShape] of models) {
    const batch = 4;
    const listed = new Set(tiledKernelsOf(model, { inputShape, batch }).map((u) => `${u.kernel} ${JSON.stringify(u.params)}`));
    const asked = new Set<string>();
    const built = ctx.scoped(() => new Network(ctx, model, { inputShape, maxBatch: batch, tiles: (kernel, params) => (asked.add(`${kernel} ${JSON.stringify(params)}`), undefined) }));
    // The kernels are compiled (and the tiles asked for) as a training step's dispatches are made.
    await built.value.forward(batch, 'train');
    await built.value.backward(batch);
    expect([...asked].sort(), what).toEqual([...listed].sort());
    built.destroy();
  }
});

gpuTest("a cached SUBGROUP dense tile is used only where it runs: a shape the variant takes (its vec4 reads' lengths) on an adapter with subgroups of 8; elsewhere the kernel is tuned again", async (ctx) => {
  // Linear 6 → 8 (its forward's inFeatures not a multiple of 4), then 8 → 4 (one the variant takes).
  const model = new Sequential(new Linear(6, 8), new ReLU(), new Linear(8, 4));
  const inputShape = [6];
  const uses = tiledKernelsOf(model, { inputShape, batch: 4, loss: 'mse' }).filter((u) => u.kernel === 'dense_forward');
  const [odd, fits] = [uses.find((u) => u.layers.includes('0'))!, uses.find((u) => u.layers.includes('2'))!];
  const subgroupTile = { rows: 8, cols: 4, workgroup: 64, subgroup: true };
  const tuned = async (on: typeof ctx) => {
    const stored: Record<string, StoredChoice> = {};
    for (const u of [odd, fits]) stored[cacheKey(on, u.kernel, u.params)] = { tile: subgroupTile, ms: 1, defaultMs: 1 };
    const result = await tuneModel(on, model, { inputShape, batch: 4, loss: 'mse', mode: 'cached', budgetSeconds: 0, store: { location: 'memory', load: async () => ({ ...stored }), save: async () => {} } });
    return [odd, fits].map((u) => result.tiles('dense_forward', u.params as never));
  };
  const eightWide = ctx.adapter.subgroupSize === 8 ? ctx : new GpuContext(ctx.device, { ...ctx.adapter, subgroupSize: 8 }, { zeroedBuffers: false });
  expect(await tuned(eightWide)).toEqual([undefined, subgroupTile]);
  // The same adapter's cache on a device without subgroups (another Dawn, a hand-edited file): not used.
  expect(await tuned(new GpuContext(ctx.device, { ...ctx.adapter, subgroupSize: undefined }, { zeroedBuffers: false }))).toEqual([undefined, undefined]);
});
