/**
 * Training on float inputs of any shape (a TensorSplit, PyTorch's TensorDataset): the training
 * loop against a float64 run of the same steps on three-channel inputs, `Network.predict` against
 * the float64 forward, and the splits a model cannot read (a shape that only has the right number
 * of values, bad labels, non-finite inputs, rotation of float inputs), each refused naming the split.
 */
import { describe, expect, test } from 'vitest';
import { BatchNorm1d, BatchNorm2d, Conv2d, Flatten, Linear, LogSoftmax, ReLU, Sequential, Tanh } from '../../src/layers/index.js';
import { Network } from '../../src/plan/network.js';
import { SGD } from '../../src/optim/optimizers.js';
import { gpuDecisions } from '../../src/plan/check.js';
import { networkStepRef } from '../../src/reference/network.js';
import { shufflePermutationRef } from '../../src/reference/random.js';
import { cropFlipDrawsRef, cropFlipRef } from '../../src/reference/augment.js';
import { sgdMomentumRef } from '../../src/reference/sgd-momentum.js';
import { uploadSplit, windowCounts, type ColourSplit, type TensorSplit } from '../../src/train/gpu-dataset.js';
import { packedWords } from '../../src/kernels/data.js';
import { normalizedTable } from '../../src/data/colour-images.js';
import { splitInputs } from '../../src/data/tensor-data.js';
import { Trainer } from '../../src/train/trainer.js';
import { TOLERANCE, expectAllClose, randomArray } from '../helpers/allclose.js';
import { gpuTest } from '../helpers/gpu.js';
import type { GpuContext } from '../../src/gpu/context.js';

const SHAPE = [3, 5, 5] as const;
const COUNT = 14; // batches of 4, 4, 4 and 2
const BATCH = 4;
const SEED = 5;
const LR = 0.05;
const MOMENTUM = 0.9;

/** Three-channel inputs far from MNIST's range (a normalisation applied to them would show), labels 0–4. */
function tensorSplit(count: number, seed: number): TensorSplit {
  const inputs = Float32Array.from(randomArray(count * 75, seed, -4, 6));
  const labels = Uint16Array.from(randomArray(count, seed + 1, 0, 5), Math.floor);
  return { inputs, labels, count, shape: SHAPE };
}

const model = (logSoftmax = false) =>
  new Sequential(new Conv2d({ inChannels: 3, outChannels: 4, kernelSize: 3, padding: 1 }), new BatchNorm2d(), new ReLU(), new Flatten(), new Linear({ outFeatures: 5 }), ...(logSoftmax ? [new LogSoftmax()] : []));

const network = (ctx: GpuContext, logSoftmax = false) =>
  new Network(ctx, model(logSoftmax), { inputShape: [...SHAPE], maxBatch: BATCH, seed: SEED, optimizer: new SGD({ lr: LR, momentum: MOMENTUM }) });

/**
 * The float64 run beside a network: its parameters, momentum and running statistics, each step
 * the reference's on the GPU's decisions (ReLU masks, …) then SGD with momentum.
 */
async function floatRun(ctx: GpuContext, net: Network) {
  const state = { params: {} as Record<string, Float64Array>, velocity: {} as Record<string, Float64Array>, running: {} as Record<string, Float64Array> };
  for (const p of net.parameters) {
    state.params[p.name] = Float64Array.from(await ctx.read(p.value));
    state.velocity[p.name] = new Float64Array(p.value.length);
  }
  for (const b of net.buffers) state.running[b.name] = Float64Array.from(await ctx.read(b.value));
  return Object.assign(state, {
    async step(input: Float64Array, labels: Uint32Array, batch: number) {
      const follow = await gpuDecisions(net, batch);
      const ref = networkStepRef({ plan: net.plan, params: state.params, buffers: state.running, input, labels, batch, mode: 'train', follow });
      const next: Record<string, Float64Array> = {};
      for (const name of Object.keys(state.params)) {
        const updated = sgdMomentumRef(state.params[name]!, ref.grads[name]!, state.velocity[name]!, LR, MOMENTUM);
        next[name] = updated.param;
        state.velocity[name] = updated.velocity;
      }
      state.params = next;
      state.running = { ...state.running, ...ref.buffers };
      return ref;
    },
  });
}

describe('a tensor split: float inputs of any shape, used as they are', () => {
  gpuTest('two shuffled epochs against a float64 run of the same steps: parameters, momentum, running statistics, metrics', async (ctx) => {
    const data = tensorSplit(COUNT, 7);
    const net = network(ctx);
    const trainer = new Trainer(ctx, net, uploadSplit(ctx, 'train', data), uploadSplit(ctx, 'test', tensorSplit(6, 9)), { batch: BATCH, seed: SEED });
    const run = await floatRun(ctx, net);
    const size = 75;
    for (let epoch = 1; epoch <= 2; epoch++) {
      const order = shufflePermutationRef(COUNT, SEED, epoch);
      let lossSum = 0;
      let correct = 0;
      let gpu;
      for (let first = 0, inEpoch = 0; first < COUNT; first += BATCH, inEpoch++) {
        gpu = await trainer.trainEpoch(epoch, { fromStep: inEpoch, maxSteps: 1 });
        const batch = Math.min(BATCH, COUNT - first);
        const input = new Float64Array(batch * size);
        const labels = new Uint32Array(batch);
        for (let b = 0; b < batch; b++) {
          const sample = order[first + b]!;
          input.set(data.inputs.subarray(sample * size, (sample + 1) * size), b * size);
          labels[b] = data.labels![sample]!;
        }
        const ref = await run.step(input, labels, batch);
        lossSum += ref.loss * batch;
        correct += ref.correct;
      }
      expect(gpu!.steps).toBe(4);
      expect(gpu!.samples).toBe(COUNT);
      expect(gpu!.trainAccuracy, `running accuracy of epoch ${epoch}`).toBeCloseTo((100 * correct) / COUNT, 6);
      expect(gpu!.trainLoss, `mean loss of epoch ${epoch}`).toBeCloseTo(lossSum / COUNT, 4);
    }
    for (const p of net.parameters) {
      expectAllClose(`${p.name} after 8 steps`, await ctx.read(p.value), run.params[p.name]!, TOLERANCE.gradient);
      expectAllClose(`${p.name} momentum after 8 steps`, await ctx.read(p.state.momentum_buffer!), run.velocity[p.name]!, TOLERANCE.gradient);
    }
    for (const b of net.buffers) expectAllClose(`${b.name} after 8 steps`, await ctx.read(b.value), run.running[b.name]!, TOLERANCE.gradient);
  });

  gpuTest('augment { padding, horizontalFlip }: each step trains on the batch the reference crops and flips (torchvision\'s RandomCrop then RandomHorizontalFlip), the float64 run alongside; the test split as it is', async (ctx) => {
    const data = tensorSplit(COUNT, 17);
    const net = network(ctx);
    const augment = { padding: 2, horizontalFlip: 0.5, fill: -0.5 };
    const trainer = new Trainer(ctx, net, uploadSplit(ctx, 'train', data), uploadSplit(ctx, 'test', tensorSplit(6, 19)), { batch: BATCH, seed: SEED, augment });
    const run = await floatRun(ctx, net);
    const size = 75;
    let flips = 0;
    let crops = 0;
    for (let epoch = 1; epoch <= 2; epoch++) {
      const order = shufflePermutationRef(COUNT, SEED, epoch);
      for (let first = 0, inEpoch = 0; first < COUNT; first += BATCH, inEpoch++) {
        await trainer.trainEpoch(epoch, { fromStep: inEpoch, maxSteps: 1 });
        const batch = Math.min(BATCH, COUNT - first);
        const input = new Float64Array(batch * size);
        const labels = new Uint32Array(batch);
        for (let b = 0; b < batch; b++) {
          const sample = order[first + b]!;
          const draws = cropFlipDrawsRef(SEED, epoch, first + b, augment.padding, augment.horizontalFlip);
          flips += draws.flipped ? 1 : 0;
          crops += draws.top !== augment.padding || draws.left !== augment.padding ? 1 : 0;
          input.set(cropFlipRef(data.inputs.subarray(sample * size, (sample + 1) * size), 5, 5, draws, augment.padding, augment.fill), b * size);
          labels[b] = data.labels![sample]!;
        }
        const seen = await ctx.read(net.input);
        expect(Array.from(seen.subarray(0, batch * size)), `epoch ${epoch}, batch from ${first}: the network's input`).toEqual(Array.from(Float32Array.from(input)));
        await run.step(input, labels, batch);
      }
    }
    // Both transforms were drawn both ways (28 samples): the test above would pass with either switched off otherwise.
    expect(flips).toBeGreaterThan(3);
    expect(flips).toBeLessThan(25);
    expect(crops).toBeGreaterThan(10);
    for (const p of net.parameters) expectAllClose(`${p.name} after 8 augmented steps`, await ctx.read(p.value), run.params[p.name]!, TOLERANCE.gradient);
    // Evaluation reads the test split as it is (no crop, no flip: torchvision's test transforms).
    const test = tensorSplit(6, 19);
    const evaluated = await trainer.evaluate();
    const predicted = await net.predict(test.inputs);
    const correct = Array.from({ length: 6 }, (_, s) => predicted.subarray(s * 5, s * 5 + 5)).filter((row, s) => row.indexOf(Math.max(...row)) === test.labels![s]).length;
    expect(evaluated.accuracy).toBeCloseTo((100 * correct) / 6, 6);
  });

  gpuTest('augment fill a channel (a colour image\'s black after Normalize): the network\'s input is the reference\'s crop with fill[c] in channel c; a list of one is every channel\'s', async (ctx) => {
    const data = tensorSplit(COUNT, 23);
    const size = 75;
    for (const fill of [[-1.25, 0.5, 2.75], [0.375]]) {
      const net = network(ctx);
      // Padding 3 on 5×5 samples: most crops take some padding, of every channel.
      const augment = { padding: 3, horizontalFlip: true, fill };
      const trainer = new Trainer(ctx, net, uploadSplit(ctx, 'train', data), undefined, { batch: BATCH, seed: SEED, augment });
      await trainer.trainEpoch(1, { maxSteps: 1 });
      const order = shufflePermutationRef(COUNT, SEED, 1);
      const fills = [0, 1, 2].map((c) => fill[fill.length === 1 ? 0 : c]!);
      const input = new Float64Array(BATCH * size);
      for (let b = 0; b < BATCH; b++) {
        const sample = order[b]!;
        input.set(cropFlipRef(data.inputs.subarray(sample * size, (sample + 1) * size), 5, 5, cropFlipDrawsRef(SEED, 1, b, augment.padding, 0.5), augment.padding, fills), b * size);
      }
      const seen = Array.from((await ctx.read(net.input)).subarray(0, BATCH * size));
      expect(seen, `fill [${fill.join(', ')}]: the network's input`).toEqual(Array.from(Float32Array.from(input)));
      for (const [c, v] of fills.entries()) expect(seen.filter((x, i) => Math.floor(i / 25) % 3 === c && x === v).length, `channel ${c}'s padding`).toBeGreaterThan(0);
    }
  });

  gpuTest('regression: float targets and MSE, two shuffled epochs against the float64 run; no accuracy, the best epoch by test loss', async (ctx) => {
    const inputs = Float32Array.from(randomArray(COUNT * 6, 51, -2, 2));
    // Targets a smooth function of the inputs (something to learn), two a sample.
    const targets = Float32Array.from({ length: COUNT * 2 }, (_, i) => Math.sin(inputs[(i >> 1) * 6 + (i & 1)]!) + 0.5 * inputs[(i >> 1) * 6 + 3]!);
    const split = { inputs, targets, count: COUNT, shape: [6] };
    const model = new Sequential(new Linear({ outFeatures: 8 }), new BatchNorm1d(), new Tanh(), new Linear({ outFeatures: 2 }));
    const net = new Network(ctx, model, { inputShape: [6], maxBatch: BATCH, seed: SEED, loss: 'mse', optimizer: new SGD({ lr: LR, momentum: MOMENTUM }) });
    const trainer = new Trainer(ctx, net, uploadSplit(ctx, 'train', split), uploadSplit(ctx, 'test', split, 10), { batch: BATCH, seed: SEED });
    expect(trainer.regression).toBe(true);

    let params: Record<string, Float64Array> = {};
    const velocity: Record<string, Float64Array> = {};
    let running: Record<string, Float64Array> = {};
    for (const p of net.parameters) {
      params[p.name] = Float64Array.from(await ctx.read(p.value));
      velocity[p.name] = new Float64Array(p.value.length);
    }
    for (const b of net.buffers) running[b.name] = Float64Array.from(await ctx.read(b.value));
    for (let epoch = 1; epoch <= 2; epoch++) {
      const order = shufflePermutationRef(COUNT, SEED, epoch);
      let lossSum = 0;
      let gpu;
      for (let first = 0, inEpoch = 0; first < COUNT; first += BATCH, inEpoch++) {
        gpu = await trainer.trainEpoch(epoch, { fromStep: inEpoch, maxSteps: 1 });
        const batch = Math.min(BATCH, COUNT - first);
        const input = new Float64Array(batch * 6);
        const target = new Float64Array(batch * 2);
        for (let b = 0; b < batch; b++) {
          const sample = order[first + b]!;
          input.set(inputs.subarray(sample * 6, sample * 6 + 6), b * 6);
          target.set(targets.subarray(sample * 2, sample * 2 + 2), b * 2);
        }
        const ref = networkStepRef({ plan: net.plan, params, buffers: running, input, labels: new Uint32Array(batch).fill(0xffffffff), targets: target, batch, mode: 'train' });
        lossSum += ref.loss * batch;
        const next: Record<string, Float64Array> = {};
        for (const name of Object.keys(params)) {
          const updated = sgdMomentumRef(params[name]!, ref.grads[name]!, velocity[name]!, LR, MOMENTUM);
          next[name] = updated.param;
          velocity[name] = updated.velocity;
        }
        params = next;
        running = { ...running, ...ref.buffers };
      }
      expect(gpu!.trainLoss, `mean loss of epoch ${epoch}`).toBeCloseTo(lossSum / COUNT, 4);
      expect(gpu!.trainAccuracy).toBeNaN();
    }
    for (const p of net.parameters) expectAllClose(`${p.name} after 8 steps`, await ctx.read(p.value), params[p.name]!, TOLERANCE.gradient);
    const evaluation = await trainer.evaluate();
    expect([evaluation.count, evaluation.correct]).toEqual([10, 0]);
    expect(evaluation.accuracy).toBeNaN();
    // Another split of the same name is its own: evaluated on its data (the programs were kept by
    // name, and ran the first split's batches).
    const scaled = { ...split, inputs: inputs.map((v) => 100 * v) };
    const same = await trainer.evaluate(uploadSplit(ctx, 'test', scaled, 10));
    const other = await trainer.evaluate(uploadSplit(ctx, 'held', scaled, 10));
    expect(same.loss).toBe(other.loss);
    expect(same.loss).not.toBe(evaluation.loss);
    // fit keeps the epoch of the lowest test loss as the best (the accuracies are NaN).
    const { history, best } = await trainer.fit({ firstEpoch: 3, epochs: 3 });
    expect(best!.test!.loss).toBe(Math.min(...history.map((h) => h.test!.loss)));
  });

  gpuTest('regression splits a model cannot read are refused', async (ctx) => {
    const inputs = Float32Array.from(randomArray(8 * 4, 61));
    const targets = new Float32Array(8 * 3);
    const make = (loss: 'mse' | 'cross-entropy') => new Network(ctx, new Sequential(new Linear({ outFeatures: 3 })), { inputShape: [4], maxBatch: 4, loss });
    const split = uploadSplit(ctx, 'train', { inputs, targets, count: 8, shape: [4] });
    expect(split.targetSize).toBe(3);
    expect(() => new Trainer(ctx, make('cross-entropy'), split, split, { batch: 4, seed: 1 })).toThrow("float targets need a loss that compares outputs with targets ('mse', 'half-sse', 'l1', 'smooth-l1', 'huber', 'bce-with-logits', 'bce', 'kl-div'), not 'cross-entropy', which takes class labels");
    const classes = uploadSplit(ctx, 'test', { inputs, labels: new Uint8Array(8), count: 8, shape: [4] });
    expect(() => new Trainer(ctx, make('mse'), split, classes, { batch: 4, seed: 1 })).toThrow("the test split holds class labels, the train split targets: give every split the same kind");
    const two = uploadSplit(ctx, 'train', { inputs, targets: new Float32Array(16), count: 8, shape: [4] });
    expect(() => new Trainer(ctx, make('mse'), two, two, { batch: 4, seed: 1 })).toThrow('the train split has 2 targets a sample; the model has 3 outputs');
    const upload = (changes: object) => () => uploadSplit(ctx, 'train', { inputs, count: 8, shape: [4], ...changes } as TensorSplit);
    expect(upload({})).toThrow('train split: give labels (class indices) or targets (floats: regression), got neither');
    expect(upload({ targets, labels: new Uint8Array(8) })).toThrow('train split: give labels (class indices) or targets (floats: regression), not both');
    expect(upload({ targets: new Float32Array(20) })).toThrow('train split: targets hold 20 values, not a whole number ≥ 1 of them for each of the 8 samples');
    expect(upload({ targets: Float32Array.of(...new Array<number>(23).fill(0), Infinity) })).toThrow('train split: targets[23] (sample 7) is Infinity, expected a finite number');
  });

  gpuTest("probabilities as each loss reads its outputs: exp of log-probabilities, BCE with logits' sigmoid, BCE's and MSE's outputs as they are", async (ctx) => {
    const data = tensorSplit(6, 31);
    for (const [loss, read] of [['cross-entropy', (v: number[]) => v.map(Math.exp)], ['bce-with-logits', (v: number[]) => v.map((x) => 1 / (1 + Math.exp(-x)))], ['mse', (v: number[]) => v]] as const) {
      const net = new Network(ctx, new Sequential(new Flatten(), new Linear({ outFeatures: 5 })), { inputShape: [3, 5, 5], maxBatch: 4, seed: 2, loss });
      const split = uploadSplit(ctx, 'test', data);
      const rows = await new Trainer(ctx, net, split, split, { batch: 4, seed: 1 }).probabilities(split);
      const out = Array.from(await net.predict(data.inputs));
      // cross-entropy: the loss head's log-probabilities (log-softmax of the logits).
      const expected = loss === 'cross-entropy' ? Array.from({ length: 6 }, (_, s) => { const row = out.slice(s * 5, s * 5 + 5); const m = Math.max(...row); const z = Math.log(row.reduce((a, v) => a + Math.exp(v - m), 0)) + m; return row.map((v) => v - z); }).flat() : out;
      expectAllClose(`${loss} probabilities`, rows.flat(), read(expected), TOLERANCE.forward);
      if (loss !== 'mse') expect(rows.flat().every((p) => p > 0 && p < 1), loss).toBe(true);
    }
  });

  gpuTest('predict: the eval-mode outputs of any number of samples, in batches of the capacity; a LogSoftmax fused into the loss still applied', async (ctx) => {
    for (const logSoftmax of [false, true]) {
      const net = network(ctx, logSoftmax);
      // Running statistics other than the fresh ones, so that eval mode shows.
      const mean = net.buffers.find((b) => b.name.endsWith('running_mean'))!;
      const variance = net.buffers.find((b) => b.name.endsWith('running_var'))!;
      ctx.write(mean.value, [0.5, -1, 2, 0.25]);
      ctx.write(variance.value, [2, 0.5, 3, 1.5]);
      const data = tensorSplit(11, 21); // batches of 4, 4, 3
      const out = await net.predict(data.inputs);
      expect(out.length).toBe(11 * 5);
      const params: Record<string, Float64Array> = {};
      for (const p of net.parameters) params[p.name] = Float64Array.from(await ctx.read(p.value));
      const buffers: Record<string, Float64Array> = {};
      for (const b of net.buffers) buffers[b.name] = Float64Array.from(await ctx.read(b.value));
      const ref = networkStepRef({ plan: net.plan, params, buffers, input: data.inputs, labels: new Uint32Array(11), batch: 11, mode: 'eval' });
      const last = net.plan.nodes.at(-1)!.path;
      expectAllClose(`predict (${logSoftmax ? 'LogSoftmax' : 'logits'})`, out, ref.activations[last]!, TOLERANCE.forward);
      if (logSoftmax) for (let s = 0; s < 11; s++) expect(out.subarray(s * 5, s * 5 + 5).reduce((a, v) => a + Math.exp(v), 0)).toBeCloseTo(1, 5);
    }
    const net = network(ctx);
    await expect(net.predict(new Float32Array(74))).rejects.toThrow('predict: 74 values are not whole samples of [3, 5, 5] (75 values each)');
    await expect(net.predict([1, 2] as never)).rejects.toThrow('predict: inputs must be a Float32Array of samples of [3, 5, 5], got Array');
    const nan = new Float32Array(150);
    nan[80] = NaN;
    await expect(net.predict(nan)).rejects.toThrow('predict: inputs[80] (sample 1) is NaN, expected a finite number');
  });

  gpuTest('splits a model cannot read are refused, naming the split and what is wrong', async (ctx) => {
    const net = network(ctx);
    const good = tensorSplit(8, 3);
    const test = uploadSplit(ctx, 'test', good);
    const trainer = (split: TensorSplit, options = {}) => new Trainer(ctx, net, uploadSplit(ctx, 'train', split), test, { batch: BATCH, seed: 1, ...options });
    // The same 75 values a sample, in another shape: PyTorch would raise, this would train on scrambled inputs.
    expect(() => trainer({ ...good, shape: [3, 25] })).toThrow("the train split's samples are [3, 25]; the model takes [3, 5, 5] per sample");
    expect(() => trainer(good, { augment: true })).toThrow('Trainer: augment: true rotates images; the train split holds float inputs: crop and flip them with augment: { padding, horizontalFlip }, or leave augment off');
    expect(() => trainer(good, { augment: {} })).toThrow('Trainer augment: neither padding nor horizontalFlip: the object crops and flips nothing');
    expect(() => trainer(good, { augment: { padding: 1.5 } })).toThrow('Trainer augment: padding must be a whole number of pixels from 0 to 4096, got 1.5');
    expect(() => trainer(good, { augment: { horizontalFlip: 2 } })).toThrow('Trainer augment: horizontalFlip must be true, false or a probability from 0 to 1, got 2');
    expect(() => trainer(good, { augment: { padding: 2, fill: NaN } })).toThrow('Trainer augment: fill must be a finite number, or a list of them one a channel, got NaN');
    expect(() => trainer(good, { augment: { padding: 2, fill: [0, Infinity, 0] } })).toThrow('Trainer augment: fill must be a finite number, or a list of them one a channel, got [0,null,0]');
    expect(() => trainer(good, { augment: { padding: 2, fill: [] } })).toThrow('Trainer augment: fill must be a finite number, or a list of them one a channel, got []');
    expect(() => trainer(good, { augment: { padding: 2, fill: [0, 1] } })).toThrow("Trainer augment: fill gives 2 values; the train split's samples of [3, 5, 5] have 3 channels (one value a channel, or one for all)");
    expect(() => trainer(good, { augment: { horizontalFlip: '0.5' } })).toThrow('Trainer augment: horizontalFlip must be true, false or a probability from 0 to 1, got "0.5"');
    expect(() => trainer(good, { augment: { padding: 2, flip: true } })).toThrow("Trainer augment: unknown option 'flip'");
    expect(() => trainer(good, { augment: { padding: 2 }, maxDegrees: 5 })).toThrow('Trainer: maxDegrees without augment: true rotates nothing');
    const split = (changes: object) => () => uploadSplit(ctx, 'train', { ...good, ...changes } as TensorSplit);
    // A negative label uploads (a loss's ignoreIndex may be it), in 32 bits; the trainer refuses it where the loss does not ignore it.
    expect(split({ labels: [0, 1, -(2 ** 31) - 1, 2, 0, 1, 2, 3] })).toThrow("train split: labels[2] is -2147483649, expected a class index (a whole number ≥ 0) or a loss's ignoreIndex (a whole number from -2147483648)");
    expect(() => trainer({ ...good, labels: Int32Array.of(0, 1, -100, 2, 0, 1, 2, 3) })).toThrow("the train labels include -100, which is not a class: a label below 0 is one only a loss's ignoreIndex takes (PyTorch's CrossEntropyLoss ignores -100 by default; give the model's options ignoreIndex: -100 for that)");
    expect(split({ labels: [0, 1, 2.5, 0, 0, 0, 0, 0] })).toThrow('train split: labels[2] is 2.5, expected a class index');
    expect(split({ labels: new Float32Array(8) })).toThrow("train split: labels must be class indices (a Uint8Array, Uint16Array, Uint32Array, Int32Array or an array of whole numbers ≥ 0, or a loss's ignoreIndex), got Float32Array");
    const nan = Float32Array.from(good.inputs);
    nan[80] = NaN;
    expect(split({ inputs: nan })).toThrow('train split: inputs[80] (sample 1) is NaN, expected a finite number');
    expect(split({ inputs: Array.from(good.inputs) })).toThrow('train split: inputs must be a Float32Array (count samples of shape, one after another), got Array');
    expect(split({ shape: [3, 0, 5] })).toThrow('train split: shape must be one sample\'s shape, whole numbers ≥ 1 such as [3, 32, 32] or [20], got [3,0,5]');
    expect(split({ count: 9 })).toThrow('train split: inputs hold 600 values, expected 9 samples of [3, 5, 5] (675)');
    // More values than the count: the samples would pair with other samples' labels or targets.
    expect(split({ count: 7 })).toThrow('train split: inputs hold 600 values, expected 7 samples of [3, 5, 5] (525)');
    expect(split({ labels: new Uint8Array(9) })).toThrow('train split: labels hold 9, expected one for each of the 8 samples');
    expect(split({ channels: 3 })).toThrow("train split: unknown field 'channels'; a tensor split has inputs, labels or targets, count, shape");
    // Labels past the model's 5 outputs.
    expect(() => trainer({ ...good, labels: Uint8Array.of(0, 1, 2, 3, 4, 5, 0, 0) })).toThrow('the train labels go up to 5; the model has 5 outputs');
  });

  gpuTest("a model whose loss has an ignoreIndex takes labels equal to it (negative, or past its outputs) in splits uploaded before it, and no other label outside its classes", async (ctx) => {
    const good = tensorSplit(8, 3);
    // Uploaded before any model: the upload cannot know the ignore index.
    const uploaded = (labels: number[]) => uploadSplit(ctx, 'train', { ...good, labels });
    const ignoring = (ignoreIndex: number) => new Network(ctx, model(), { inputShape: [...SHAPE], maxBatch: BATCH, seed: SEED, ignoreIndex });
    const test = uploadSplit(ctx, 'test', good);
    const trainer = (net: Network, split: ReturnType<typeof uploaded>) => () => new Trainer(ctx, net, split, test, { batch: BATCH, seed: 1 });
    const minus100 = uploaded([0, -100, 2, 4, -100, 1, 2, 3]);
    const seven = uploaded([7, 1, 2, 4, 7, 1, 2, 3]);
    expect(trainer(ignoring(-100), minus100)).not.toThrow();
    expect(trainer(ignoring(7), seven)).not.toThrow();
    expect(trainer(ignoring(-1), minus100)).toThrow('the train labels include -100, which is not a class (the loss ignores -1)');
    expect(trainer(ignoring(-100), seven)).toThrow('the train labels go up to 7 (the loss ignores -100); the model has 5 outputs (its last layer should have 8)');
    expect(trainer(ignoring(7), uploaded([7, 1, 2, 8, 7, 1, 2, 3]))).toThrow('the train labels go up to 8 (the loss ignores 7); the model has 5 outputs');
    expect(trainer(ignoring(-100), uploaded([-100, -3, 2, 4, -100, 1, 2, 3]))).toThrow('the train labels include -3, which is not a class (the loss ignores -100)');
    // The two extremes kept each way: an ignore index among them leaves the next.
    expect(trainer(ignoring(-5), uploaded([-5, -5, -3, 4, -5, 1, 2, 3]))).toThrow('the train labels include -3, which is not a class (the loss ignores -5)');
    expect(trainer(ignoring(4), uploaded([0, 1, 2, 4, 4, 1, 2, 3]))).not.toThrow();
    // Evaluated, the ignored samples are neither right nor wrong: the accuracy is that of the others alone.
    const net = ignoring(-100);
    const kept = [0, 2, 3, 5, 6, 7];
    const others = { inputs: Float32Array.from(kept.flatMap((i) => Array.from(good.inputs.subarray(i * 75, (i + 1) * 75)))), labels: kept.map((i) => [0, -100, 2, 4, -100, 1, 2, 3][i]!), count: kept.length, shape: SHAPE };
    const evaluator = new Trainer(ctx, net, minus100, test, { batch: BATCH, seed: 1 });
    const [withIgnored, alone] = [await evaluator.evaluate(minus100), await evaluator.evaluate(uploadSplit(ctx, 'others', others))];
    expect({ correct: withIgnored.correct, count: withIgnored.count, accuracy: withIgnored.accuracy }).toEqual({ correct: alone.correct, count: 6, accuracy: alone.accuracy });
    // A positive label whose 32 bits are −100's is not −100.
    expect(trainer(ignoring(-100), uploaded([2 ** 32 - 100, 1, 2, 4, 0, 1, 2, 3]))).toThrow('the train labels go up to 4294967196 (the loss ignores -100)');
  });

  gpuTest("an image split's rows and columns must be the model's, not only their product", async (ctx) => {
    const images = (rows: number, cols: number) => ({ images: new Uint8Array(4 * rows * cols), labels: Uint8Array.of(0, 1, 0, 1), count: 4, rows, cols });
    const make = (input: number[], rows: number, cols: number) => {
      const net = new Network(ctx, new Sequential(new Flatten(), new Linear({ outFeatures: 2 })), { inputShape: input, maxBatch: 4 });
      const split = uploadSplit(ctx, 'train', images(rows, cols));
      return () => new Trainer(ctx, net, split, split, { batch: 4, seed: 1 });
    };
    expect(make([1, 12, 12], 16, 9)).toThrow("the train split's samples are 16×9-pixel images; the model takes [1, 12, 12] per sample");
    expect(make([3, 8, 8], 24, 8)).toThrow("the train split's samples are 24×8-pixel images (an image split has one channel: give float inputs of [C, H, W] as a tensor split); the model takes [3, 8, 8] per sample");
    // What fits: the image as it is, without its channel, or flattened (an MLP on MNIST), or one channel of 24 (a 1-D network's sequence).
    for (const input of [[1, 6, 4], [6, 4], [24], [1, 24]]) expect(make(input, 6, 4), `[${input.join(', ')}]`).not.toThrow();
    for (const input of [[24, 1], [2, 12]]) expect(make(input, 6, 4), `[${input.join(', ')}]`).toThrow(`the train split's samples are 6×4-pixel images; the model takes [${input.join(', ')}] per sample`);
    expect(() => uploadSplit(ctx, 'train', { ...images(2, 2), channels: 3 } as never)).toThrow("train split: unknown field 'channels'; an image split has images, labels, count, rows, cols");
  });
});

describe('a colour split: uint8 images [C, H, W] kept as bytes with their table, the tensor split of their floats to the bit', () => {
  /** COUNT images of SHAPE's 75 bytes (no multiple of 4: each sample padded to 19 words), a Normalize-like table of 256 values a channel, labels 0–4. */
  function colourSplit(count: number, seed: number): ColourSplit {
    const pixels = Uint8Array.from(randomArray(count * 75, seed, 0, 256), Math.floor);
    // The lowest value (channel 1's byte 0) and the highest (its 255) in every sample: the inputRange names the first of each.
    for (let s = 0; s < count; s++) [pixels[s * 75 + 28], pixels[s * 75 + 33]] = [0, 255];
    const table = normalizedTable(3, { mean: [0.49, 0.48, 0.45], std: [0.25, 0.24, 0.26], source: 'test' }, 'test');
    return { pixels, table, labels: Uint16Array.from(randomArray(count, seed + 1, 0, 5), Math.floor), count, shape: SHAPE };
  }
  const asFloats = (split: ColourSplit): TensorSplit => ({ inputs: splitInputs(split), labels: split.labels!, count: split.count, shape: split.shape });

  gpuTest('two epochs cropped and flipped (a fill a channel) and an evaluation: the same losses, accuracies and parameters, bit for bit, as the floats; uploaded as bytes, a quarter of their memory', async (ctx) => {
    const [train, test] = [colourSplit(COUNT, 41), colourSplit(6, 43)];
    const augment = { padding: 2, horizontalFlip: true, fill: [-1.96, -2, -1.73] };
    const runs = [];
    for (const [data, testData] of [[train, test], [asFloats(train), asFloats(test)]] as const) {
      const net = network(ctx);
      const split = uploadSplit(ctx, 'train', data);
      const trainer = new Trainer(ctx, net, split, uploadSplit(ctx, 'test', testData), { batch: BATCH, seed: SEED, augment });
      const epochs = [await trainer.trainEpoch(1), await trainer.trainEpoch(2)].map(({ trainLoss, trainAccuracy, lastBatchLoss }) => ({ trainLoss, trainAccuracy, lastBatchLoss }));
      const parameters = await Promise.all(net.parameters.map(async (p) => Array.from(new Uint32Array((await ctx.read(p.value)).buffer))));
      runs.push({ split, epochs, evaluation: await trainer.evaluate(), parameters });
    }
    const [bytes, floats] = runs as [(typeof runs)[0], (typeof runs)[0]];
    expect(bytes.epochs).toEqual(floats.epochs);
    expect(bytes.evaluation).toEqual(floats.evaluation);
    expect(bytes.parameters).toEqual(floats.parameters);
    // The memory: 19 words (76 bytes) a sample of 75 bytes, where the floats take 300.
    const [w, f] = [bytes.split.windows, floats.split.windows];
    expect(w.map((x) => ('pixels' in x ? x.pixels.byteLength : -1))).toEqual([COUNT * 76]);
    expect(f.map((x) => ('inputs' in x ? x.inputs.byteLength : -1))).toEqual([COUNT * 300]);
    expect(bytes.split.table!.byteLength).toBe(3 * 256 * 4);
    expect(bytes.split.inputRange).toEqual(floats.split.inputRange);
    expect([bytes.split.inputRange.lowest.at, bytes.split.inputRange.highest.at]).toEqual([28, 33]);
  });

  test("CIFAR-10's training set (50,000 × 3 × 32 × 32) in windows of a 128 MiB binding: 153.6 MB of bytes in 2, where its float32 take 614.4 MB in 5", () => {
    const limit = 128 * 2 ** 20;
    const bytes = 4 * packedWords(3 * 32 * 32);
    expect(50000 * bytes).toBe(153_600_000);
    expect(windowCounts(50000, bytes, limit)).toEqual([43690, 6310]);
    expect(windowCounts(50000, 4 * 3 * 32 * 32, limit)).toEqual([10922, 10922, 10922, 10922, 6312]);
  });

  gpuTest('colour splits it cannot upload are refused, naming the split and what is wrong', async (ctx) => {
    const good = colourSplit(8, 3);
    const split = (changes: object) => () => uploadSplit(ctx, 'train', { ...good, ...changes } as ColourSplit);
    expect(split({ pixels: Array.from(good.pixels) })).toThrow('train split: pixels must be a Uint8Array (count images of shape [C, H, W], channels first), got Array');
    expect(split({ table: Array.from(good.table) })).toThrow('train split: table must be a Float32Array (256 values a channel: what each byte becomes), got Array');
    expect(split({ table: good.table.subarray(0, 512) })).toThrow("train split: a colour split's shape is [C, H, W] and its table 256 values a channel; got [3, 5, 5] and 512");
    expect(split({ shape: [75] })).toThrow("train split: a colour split's shape is [C, H, W] and its table 256 values a channel; got [75] and 768");
    expect(split({ count: 9 })).toThrow('train split: pixels hold 600 bytes, expected 9 images of [3, 5, 5] (675)');
    expect(split({ inputs: new Float32Array(600) })).toThrow("train split: unknown field 'inputs'; a colour split has pixels, table, labels or targets, count, shape");
    // A non-finite value of the table where a pixel reads it (pixel 5 of sample 1, channel 0): named at its first place in the floats, as the float split is.
    const table = Float32Array.from(good.table);
    table[good.pixels[80]!] = Infinity;
    const floats = asFloats({ ...good, table });
    const at = floats.inputs.findIndex((v) => !Number.isFinite(v));
    expect(at).toBeLessThanOrEqual(80);
    expect(() => uploadSplit(ctx, 'train', floats)).toThrow(`train split: inputs[${at}] (sample ${Math.floor(at / 75)}) is Infinity, expected a finite number`);
    expect(split({ table })).toThrow(`train split: inputs[${at}] (sample ${Math.floor(at / 75)}) is Infinity, expected a finite number`);
  });
});
