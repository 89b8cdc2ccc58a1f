/**
 * `npm run bench:soak`: a long training run of the seed CNN on MNIST in Node, watching for leaks.
 * Not a test and not in CI: it takes about 25 minutes at its defaults on a 2-core lavapipe machine.
 *
 * It trains as `npm start` does (SGD lr 0.01, momentum 0.9, rotation, dropout, shuffling; the
 * CLI's `fitWithRecovery`, with its snapshot every 50 steps and its divergence checks, an
 * evaluation on the test split after every epoch) for `--steps` optimizer
 * steps, and reports as JSON on stdout: the process's RSS and V8 heap, and the GPU buffers alive,
 * after setup, at the baseline, every `--sample-every` steps and at the end, with the verdict
 * `flat`. Progress goes to stderr.
 *
 * The baseline ("start") is taken after the first epoch, its training and its evaluation: by then
 * every program is built (train and eval batches, the eval's smaller last batch) and every kernel
 * compiled, so what grows after it is growth, not warm-up. So that there is an "after", the run
 * needs two epochs or more (`--train-limit` makes epochs short for a quick check).
 *
 * GPU buffers are counted without touching src/: `device.createBuffer` of the context's GPUDevice
 * is wrapped before anything is built, and so is each returned buffer's `destroy()`. A buffer
 * that is dropped without `destroy()` stays counted: that is a leak from the program's side.
 * Run through the npm script, node has --expose-gc and each sample is taken after a full GC.
 *
 *   --steps N          optimizer steps in all (default 10000)
 *   --batch N          batch size (default 32)
 *   --epochs N         epochs at most (default: as many as the steps need)
 *   --sample-every N   a memory sample every N steps (default 1000)
 *   --train-limit N    train on the first N images only (shorter epochs); --test-limit N likewise
 *   --tune MODE        conv and dense tiles: cached (default), full, off
 *   --tolerance-mb X   RSS growth after the baseline still called flat (default 20 MB)
 *   --seed N           default 1
 */
import { createNodeContext } from '../src/node/device.js';
import { loadMnist } from '../src/node/mnist-files.js';
import { FileTuningStore } from '../src/node/tuning-cache.js';
import { SEED_CNN_INPUT, seedCnn } from '../src/models/seed-cnn.js';
import { SGD } from '../src/optim/optimizers.js';
import { Network } from '../src/plan/network.js';
import { uploadSplit } from '../src/train/gpu-dataset.js';
import { Trainer, type EpochRecord } from '../src/train/trainer.js';
import { fitWithRecovery } from '../src/train/recovery.js';
import { TUNE_MODES, tuneModel, type TuneMode } from '../src/tune/tuner.js';
import { harnessArgs, usageError, wholeOption } from './args.js';

const values = harnessArgs(import.meta.url, 'bench:soak', {
  steps: { type: 'string' },
  batch: { type: 'string' },
  epochs: { type: 'string' },
  'sample-every': { type: 'string' },
  'train-limit': { type: 'string' },
  'test-limit': { type: 'string' },
  tune: { type: 'string' },
  'tolerance-mb': { type: 'string' },
  seed: { type: 'string' },
});

function whole(name: string, fallback: number, min = 1, max = Number.MAX_SAFE_INTEGER): number {
  return wholeOption('bench:soak', values, name, fallback, min, max);
}

const steps = whole('steps', 10_000);
const batch = whole('batch', 32, 1, 1024);
const sampleEvery = whole('sample-every', 1000);
const seed = whole('seed', 1, 0);
const toleranceMb = Number(values['tolerance-mb'] ?? 20);
if (!(toleranceMb >= 0)) usageError('bench:soak', `--tolerance-mb takes a number ≥ 0, got '${values['tolerance-mb']}'`);
const tune = (values.tune ?? 'cached') as TuneMode;
if (!TUNE_MODES.includes(tune)) usageError('bench:soak', `--tune takes ${TUNE_MODES.join(', ')}, got '${values.tune}'`);

const MiB = 2 ** 20;
const mib = (bytes: number) => Math.round((bytes / MiB) * 100) / 100;
const log = (line: string) => process.stderr.write(`${line}\n`);
const gc = (globalThis as { gc?: () => void }).gc;

/** Live GPU buffers: created through the wrapped createBuffer and not destroyed yet. */
const gpu = { live: 0, liveBytes: 0, created: 0, destroyed: 0, byLabel: new Map<string, number>() };

function countBuffers(device: GPUDevice): void {
  const create = device.createBuffer.bind(device);
  device.createBuffer = (descriptor: GPUBufferDescriptor): GPUBuffer => {
    const buffer = create(descriptor);
    const size = buffer.size;
    const label = descriptor.label ?? '';
    gpu.live++;
    gpu.created++;
    gpu.liveBytes += size;
    gpu.byLabel.set(label, (gpu.byLabel.get(label) ?? 0) + 1);
    const destroy = buffer.destroy.bind(buffer);
    let destroyed = false;
    buffer.destroy = () => {
      if (!destroyed) {
        destroyed = true;
        gpu.live--;
        gpu.destroyed++;
        gpu.liveBytes -= size;
        const left = (gpu.byLabel.get(label) ?? 1) - 1;
        if (left === 0) gpu.byLabel.delete(label);
        else gpu.byLabel.set(label, left);
      }
      destroy();
    };
    return buffer;
  };
}

interface Sample {
  readonly step: number;
  readonly epoch: number;
  /** Seconds since training began. */
  readonly seconds: number;
  readonly rssMiB: number;
  readonly heapUsedMiB: number;
  readonly externalMiB: number;
  readonly arrayBuffersMiB: number;
  readonly liveBuffers: number;
  readonly liveBufferMiB: number;
  readonly samplesPerSecond?: number;
}

let trainingStarted = 0;
function sample(step: number, epoch: number, samplesPerSecond?: number): Sample {
  gc?.();
  const m = process.memoryUsage();
  return {
    step,
    epoch,
    seconds: trainingStarted ? Math.round((performance.now() - trainingStarted) / 100) / 10 : 0,
    rssMiB: mib(m.rss),
    heapUsedMiB: mib(m.heapUsed),
    externalMiB: mib(m.external),
    arrayBuffersMiB: mib(m.arrayBuffers),
    liveBuffers: gpu.live,
    liveBufferMiB: mib(gpu.liveBytes),
    ...(samplesPerSecond === undefined ? {} : { samplesPerSecond: Math.round(samplesPerSecond * 10) / 10 }),
  };
}

const ctx = await createNodeContext({ log });
try {
  countBuffers(ctx.device);
  const data = await loadMnist();
  const definition = seedCnn({ dropout: 0.1 });
  const tuning = await tuneModel(ctx, definition, { inputShape: SEED_CNN_INPUT, batch, mode: tune, store: new FileTuningStore() });
  const model = new Network(ctx, definition, { inputShape: SEED_CNN_INPUT, maxBatch: batch, seed, optimizer: new SGD({ lr: 0.01, momentum: 0.9 }), tiles: tuning.tiles });
  const trainLimit = values['train-limit'] === undefined ? undefined : whole('train-limit', 0);
  const testLimit = values['test-limit'] === undefined ? undefined : whole('test-limit', 0);
  const train = uploadSplit(ctx, 'train', data.train, trainLimit);
  const test = uploadSplit(ctx, 'test', data.test, testLimit);
  const trainer = new Trainer(ctx, model, train, test, { batch, seed, augment: true }); // as npm start trains
  const epochs = whole('epochs', Math.ceil(steps / trainer.stepsPerEpoch));
  log(`Soak: ${steps} steps at batch ${batch} (${trainer.stepsPerEpoch} steps an epoch, up to ${epochs} epochs; train ${train.count}, test ${test.count}) on ${ctx.adapter.summary}${gc ? '' : ' (no --expose-gc: samples without a GC first)'}`);

  const setup = sample(0, 0);
  const samples: Sample[] = [];
  let baseline: Sample | undefined;
  let baselineLabels = new Map<string, number>();
  let epochFirstStep = 0;
  let nextSample = sampleEvery;
  const history: EpochRecord[] = [];
  trainingStarted = performance.now();
  const result = await fitWithRecovery(trainer, {
    firstEpoch: 1,
    epochs,
    maxSteps: steps,
    onEpochStart: () => (epochFirstStep = model.stepsTaken),
    // Progress arrives every ~2 % of an epoch: sample at the first one past each multiple.
    onProgress: (epoch, p) => {
      const step = epochFirstStep + p.step;
      if (step < nextSample) return;
      nextSample = (Math.floor(step / sampleEvery) + 1) * sampleEvery;
      const s = sample(step, epoch, p.samplesPerSecond);
      samples.push(s);
      log(`  step ${s.step} (epoch ${epoch}): RSS ${s.rssMiB} MiB, heap ${s.heapUsedMiB} MiB, ${s.liveBuffers} GPU buffers (${s.liveBufferMiB} MiB), ${s.samplesPerSecond} samples/s`);
    },
    onEpoch: (record) => {
      history.push(record);
      const s = sample(model.stepsTaken, record.epoch);
      if (record.epoch === 1) {
        baseline = s;
        baselineLabels = new Map(gpu.byLabel);
      }
      log(`Epoch ${record.epoch}: ${record.train.steps} steps, ${record.train.seconds.toFixed(1)} s, train acc ${record.train.trainAccuracy.toFixed(2)} %, test acc ${record.test!.accuracy.toFixed(2)} %; RSS ${s.rssMiB} MiB, heap ${s.heapUsedMiB} MiB, ${s.liveBuffers} GPU buffers`);
    },
  }, {
    // The CLI's: a snapshot read back every 50 steps (a lost device would rebuild from it).
    createContext: () => Promise.reject(new Error('soak: no device recovery')),
    build: () => Promise.reject(new Error('soak: no device recovery')),
    snapshotEvery: 50,
  });
  const seconds = (performance.now() - trainingStarted) / 1000;
  const end = sample(model.stepsTaken, history.at(-1)?.epoch ?? 0);

  // Labels whose live count changed after the baseline: where a leak comes from.
  const changedLabels = Object.fromEntries(
    [...new Set([...baselineLabels.keys(), ...gpu.byLabel.keys()])]
      .map((label) => [label, (gpu.byLabel.get(label) ?? 0) - (baselineLabels.get(label) ?? 0)] as const)
      .filter(([, d]) => d !== 0)
      .sort((a, b) => Math.abs(b[1]) - Math.abs(a[1]))
      .slice(0, 20),
  );
  let growth: Record<string, number> | undefined;
  let flat: boolean | null = null;
  const reasons: string[] = [];
  if (baseline && baseline.step < end.step) {
    const rss = end.rssMiB - baseline.rssMiB;
    growth = {
      rssMiB: mib(rss * MiB),
      rssPercent: Math.round((rss / baseline.rssMiB) * 1000) / 10,
      heapUsedMiB: mib((end.heapUsedMiB - baseline.heapUsedMiB) * MiB),
      liveBuffers: end.liveBuffers - baseline.liveBuffers,
      liveBufferMiB: mib((end.liveBufferMiB - baseline.liveBufferMiB) * MiB),
    };
    const rssOk = rss <= toleranceMb * (1e6 / MiB);
    const buffersOk = end.liveBuffers === baseline.liveBuffers;
    if (!rssOk) reasons.push(`RSS grew ${growth.rssMiB} MiB (${growth.rssPercent} %) after the baseline, over ${toleranceMb} MB`);
    if (!buffersOk) reasons.push(`${growth.liveBuffers} more live GPU buffers at the end than at the baseline`);
    flat = rssOk && buffersOk;
  } else {
    reasons.push('no steps after the baseline (the end of epoch 1): give more --steps, or a --train-limit for shorter epochs');
  }

  const report = {
    kind: 'soak',
    date: new Date().toISOString(),
    adapter: ctx.adapter.summary,
    runtime: `Node ${process.versions.node}, Dawn (npm webgpu)`,
    steps: model.stepsTaken,
    stepsRequested: steps,
    batch,
    stepsPerEpoch: trainer.stepsPerEpoch,
    epochs: history.length,
    train: train.count,
    test: test.count,
    seconds: Math.round(seconds * 10) / 10,
    samplesPerSecond: Math.round(((model.stepsTaken * batch) / history.reduce((t, h) => t + h.train.seconds, 0)) * 10) / 10,
    gcBeforeSamples: Boolean(gc),
    baseline: 'start = after epoch 1 (its training and its evaluation); setup = after the network, the data upload and the trainer were built, before the first step',
    setup,
    start: baseline ?? null,
    end,
    growth: growth ?? null,
    flat,
    toleranceMb,
    reasons,
    gpuBuffers: { created: gpu.created, destroyed: gpu.destroyed, live: gpu.live },
    samples,
    history: history.map((h) => ({
      epoch: h.epoch,
      steps: h.train.steps,
      seconds: Math.round(h.train.seconds * 10) / 10,
      trainLoss: h.train.trainLoss,
      trainAccuracy: h.train.trainAccuracy,
      testLoss: h.test!.loss,
      testAccuracy: h.test!.accuracy,
    })),
    best: result.best ? { epoch: result.best.epoch, testAccuracy: result.best.test!.accuracy } : null,
    liveBufferChangeByLabel: baseline ? changedLabels : null,
  };
  console.log(JSON.stringify(report, null, 2));
} finally {
  ctx.destroy();
}
