/**
 * The MNIST view: the seed CNN trained on the browser's WebGPU with the notebook's settings.
 * Hyper-parameters, start / pause / stop, progress with samples/s and time left, live loss and
 * accuracy curves, the per-epoch test table beside the notebook's, a confusion matrix and the
 * misclassified test digits, a pad to draw a digit on, checkpoints (the CLI's safetensors), and
 * per-layer times of a step from timestamp queries.
 *
 * Training runs on the main thread but never holds it: the loop awaits the GPU between steps
 * (at most two in flight), so the page stays responsive.
 */
import type { GpuContext } from '../gpu/context.js';
import type { MnistDataset } from '../data/idx.js';
import type { SampleShape, TileChooser } from '../layers/layer.js';
import type { Module } from '../layers/sequential.js';
import { modelFileText, parseModelFile } from '../models/model-file.js';
import { SEED_CNN_INPUT, seedCnn, seedCnnDropout } from '../models/seed-cnn.js';
import mlpFile from '../../examples/mlp.json?raw';
import lenetFile from '../../examples/lenet5.json?raw';
import resnetFile from '../../examples/resnet.json?raw';
import { Adadelta, Adagrad, Adam, Adamax, AdamW, NAdam, RAdam, RMSprop, SGD, type Optimizer } from '../optim/optimizers.js';
import type { ClipGradNorm } from '../optim/clipping.js';
import type { LossKind } from '../plan/fusion.js';
import type { RunningMetrics } from '../train/loss-head.js';
import { Network } from '../plan/network.js';
import { planModel } from '../plan/plan.js';
import { Trainer, type EpochResult, type EvalResult } from '../train/trainer.js';
import { fitWithRecovery } from '../train/recovery.js';
import { destroySplit, uploadSplit, type GpuImageSplit, type GpuSplit } from '../train/gpu-dataset.js';
import { epochMetricsText, readEpochMetrics, readEpochStep, checkCheckpoint, encodeCheckpoint, loadCheckpoint, planLayout } from '../checkpoint/checkpoint.js';
import { profileDispatches } from '../bench/profile.js';
import { layerRows, layerTimes, type LayerTime } from '../bench/training-step.js';
import { decodeSafetensors } from '../checkpoint/safetensors.js';
import { lineChart } from './charts.js';
import { mnistFromDrawing } from './digit.js';
import { SteadyRate, formatDuration, timeLeft } from '../train/eta.js';
import { checkbox, download, el, numberInput } from './dom.js';
import { loadMnistFromPage } from './mnist-data.js';
import { NOTEBOOK_TEST_ACCURACY } from './notebook.js';
import { IndexedDbTuningStore } from './tuning-store.js';
import { pageResume, type LossParameters } from './resume.js';
import { MAX_SEED } from '../reference/random.js';
import { tuneModel } from '../tune/tuner.js';

/** The networks the page offers: the seed CNN, the shipped examples, or a pasted model file. */
const MODELS = {
  'seed-cnn': 'The notebook’s CNN (13,808 parameters)',
  mlp: 'MLP 784-256-128-10 (examples/mlp.json)',
  lenet5: 'LeNet-5 (examples/lenet5.json)',
  resnet: 'A small ResNet (examples/resnet.json)',
  json: 'A model file (paste its JSON below)',
} as const;
type ModelChoice = keyof typeof MODELS;
/** The optimizers the page trains with, PyTorch's (PyTorch's defaults for the settings it has no field for). */
const OPTIMIZERS = { sgd: 'SGD (momentum)', adam: 'Adam', adamw: 'AdamW (weight decay 0.01)', rmsprop: 'RMSprop (momentum)', adagrad: 'Adagrad', nadam: 'NAdam', radam: 'RAdam', adamax: 'Adamax', adadelta: 'Adadelta' } as const;
type OptimizerChoice = keyof typeof OPTIMIZERS;
/** Each optimizer's learning rate until the field is changed: the notebook's 0.01 for SGD, PyTorch's 1e-3 for Adam and RAdam, 2e-3 for NAdam and Adamax, 0.01 for Adagrad and 1.0 for Adadelta; 1e-3 for RMSprop (PyTorch's 0.01 diverges on the seed CNN). */
const DEFAULT_LR: Record<OptimizerChoice, number> = { sgd: 0.01, adam: 1e-3, adamw: 1e-3, rmsprop: 1e-3, adagrad: 0.01, nadam: 2e-3, radam: 1e-3, adamax: 2e-3, adadelta: 1 };

/** The picker's entry of a checkpoint's `model` metadata. */
const MODEL_FOR_FILE: Record<string, ModelChoice> = { 'seed-cnn': 'seed-cnn', mlp: 'mlp', lenet5: 'lenet5', resnet: 'resnet' };
/** The shipped examples' model files, by the picker's entry. */
const EXAMPLE_FILES: Partial<Record<ModelChoice, readonly [string, string]>> = { mlp: [mlpFile, 'examples/mlp.json'], lenet5: [lenetFile, 'examples/lenet5.json'], resnet: [resnetFile, 'examples/resnet.json'] };

interface Settings {
  model: ModelChoice;
  /** The pasted model file (model 'json'). */
  modelJson: string;
  epochs: number;
  batch: number;
  optimizer: OptimizerChoice;
  lr: number;
  momentum: number;
  seed: number;
  trainLimit: number;
  testLimit: number;
  augment: boolean;
  dropout: boolean;
  shuffle: boolean;
  /** Tune the conv and dense kernels' tiles for this adapter first (cached in IndexedDB). */
  tune: boolean;
  /** A loaded checkpoint's loss (the CLI's --loss); undefined: the model's default. */
  loss?: LossKind;
  /** A loaded checkpoint's label smoothing (the CLI's --label-smoothing); undefined: none. */
  labelSmoothing?: number;
  /** A loaded checkpoint's SmoothL1Loss β or HuberLoss δ; undefined: PyTorch's 1. */
  lossParameters?: LossParameters;
  /** A loaded checkpoint's gradient clipping (the CLI's --clip-grad-norm, --clip-grad-value); undefined: none. */
  clip?: { readonly clipGradNorm?: ClipGradNorm; readonly clipGradValue?: number };
}

interface Session {
  settings: Settings;
  /** Frees the session's own GPU buffers (model, loss heads, the drawn-digit split). */
  release(): void;
  model: Network;
  trainer: Trainer;
  train: GpuSplit;
  test: GpuSplit;
  drawn: GpuImageSplit;
  /** Epochs finished (a loaded checkpoint's epoch counts). */
  epochsDone: number;
  /** Loaded from a checkpoint and not trained since. */
  loaded: boolean;
  /**
   * Start continues this network (loaded, or a run of it stopped or finished) while the fields
   * show its settings; a setting changed, or New network, means a fresh one.
   */
  continues: boolean;
  /** `model.stepsTaken` where the epoch in progress began (epoch `epochsDone + 1`). */
  epochStartSteps: number;
  /** A loaded checkpoint cut inside an epoch: its steps taken into it and their running sums (Start goes on from there). */
  epochStep: number;
  epochMetrics?: RunningMetrics;
  /** Whether the trainer's running sums cover the epoch in progress from its first step (not where a cut one went on without them). */
  epochSumsWhole?: boolean;
}

/** What the page exposes for the end-to-end test (read-only views of its state). */
export interface MnistViewState {
  readonly losses: readonly number[];
  readonly epochs: readonly { epoch: number; train: EpochResult; test: EvalResult }[];
  readonly probabilities: readonly number[] | null;
  readonly running: boolean;
  readonly stepsTaken: number;
  /** Loses the device in use as a driver reset would (`destroy()` from outside the engine): for tests. */
  loseDevice(): void;
}

export interface MnistViewOptions {
  /**
   * A new device after the one in use is lost: training then continues on it from the last
   * in-memory snapshot (src/train/recovery.ts). Absent: a lost device ends the run with its error.
   */
  readonly newContext?: () => Promise<GpuContext>;
}

export async function mountMnistView(root: HTMLElement, firstContext: GpuContext, options: MnistViewOptions = {}): Promise<MnistViewState> {
  // Replaced (with every split and session rebuilt on it) when a lost device is recovered.
  let ctx = firstContext;
  const f = {
    epochs: numberInput('epochs', 20, { min: 1, max: 1000, testid: 'epochs' }),
    batch: numberInput('batch', 128, { min: 1, max: 1024, testid: 'batch' }),
    lr: numberInput('lr', 0.01, { min: 0, integer: false, step: 'any', testid: 'lr' }),
    momentum: numberInput('momentum', 0.9, { min: 0, max: 1, integer: false, step: 'any', testid: 'momentum' }),
    seed: numberInput('seed', 1, { min: 0, max: MAX_SEED, testid: 'seed' }),
    trainLimit: numberInput('train images', 60000, { min: 1, max: 60000, testid: 'train-limit' }),
    testLimit: numberInput('test images', 10000, { min: 1, max: 10000, testid: 'test-limit' }),
  };
  const optimizerSelect = el('select', { 'data-testid': 'optimizer' }, ...Object.entries(OPTIMIZERS).map(([value, text]) => el('option', { value }, text)));
  // Momentum is SGD's and RMSprop's (Adam's β1 is its own); a learning rate still at one optimizer's default takes the next one's.
  let optimizerShown = optimizerSelect.value as OptimizerChoice;
  const showOptimizer = () => {
    const next = optimizerSelect.value as OptimizerChoice;
    if (next !== optimizerShown && Number(f.lr.input.value) === DEFAULT_LR[optimizerShown]) f.lr.input.value = String(DEFAULT_LR[next]);
    optimizerShown = next;
    f.momentum.input.disabled = state.running || (next !== 'sgd' && next !== 'rmsprop');
  };
  optimizerSelect.addEventListener('change', showOptimizer);
  const modelSelect = el('select', { 'data-testid': 'model' }, ...Object.entries(MODELS).map(([value, text]) => el('option', { value }, text)));
  const modelJson = el('textarea', { rows: '6', cols: '60', 'data-testid': 'model-json', placeholder: '{ "input": [1, 28, 28], "layers": [ { "type": "Flatten" }, { "type": "Linear", "out_features": 10 }, { "type": "LogSoftmax" } ] }', hidden: '' });
  modelSelect.addEventListener('change', () => (modelJson.hidden = modelSelect.value !== 'json'));
  const augment = checkbox('rotation ±7°', true, 'augment');
  const dropout = checkbox('dropout 0.1', true, 'dropout');
  const shuffle = checkbox('shuffle', true, 'shuffle');
  // Off by default: on a software adapter tuning takes minutes the first time (then it is cached).
  const tune = checkbox('tune kernels (cached in this browser)', false, 'tune');
  const startButton = el('button', { type: 'button', class: 'primary', 'data-testid': 'start' }, 'Start');
  const pauseButton = el('button', { type: 'button', 'data-testid': 'pause', disabled: '' }, 'Pause');
  const stopButton = el('button', { type: 'button', 'data-testid': 'stop', disabled: '' }, 'Stop');
  const newNetworkButton = el('button', { type: 'button', 'data-testid': 'new-network', disabled: '', title: 'Start then trains a fresh network' }, 'New network');
  const saveButton = el('button', { type: 'button', 'data-testid': 'save', disabled: '' }, 'Save checkpoint');
  const loadInput = el('input', { type: 'file', accept: '.safetensors', 'data-testid': 'load' });
  const status = el('p', { class: 'muted', 'data-testid': 'mnist-status' }, 'Loading MNIST…');
  // What a recovery did (a lost device replaced): stays shown after the run.
  const recoveries = el('p', { class: 'muted', 'data-testid': 'recoveries', hidden: '' });
  const bar = el('div');
  const progressText = el('span', { 'data-testid': 'progress' });
  const lossBox = el('div');
  const accuracyBox = el('div');
  const epochTable = el('table', { 'data-testid': 'epochs-table' });
  const confusionBox = el('div', { 'data-testid': 'confusion' });
  const wrongBox = el('div', { class: 'digits', 'data-testid': 'misclassified' });
  const pad = el('canvas', { width: '280', height: '280', class: 'pad', 'data-testid': 'pad' });
  const clearButton = el('button', { type: 'button', 'data-testid': 'clear' }, 'Clear');
  const preview = el('canvas', { width: '28', height: '28', style: 'width:84px;height:84px;image-rendering:pixelated;border:1px solid #e4e7ec' });
  const bars = el('div', { class: 'bars', 'data-testid': 'probabilities' });
  const profileButton = el('button', { type: 'button', 'data-testid': 'profile' }, 'Time one step by layer');
  const profileBox = el('div', { 'data-testid': 'layer-times' });

  root.append(
    el('div', { class: 'panel' },
      el('h2', {}, 'A network trained on MNIST with this page’s WebGPU'),
      el('div', { class: 'controls' }, el('label', {}, 'model ', modelSelect), el('label', {}, 'optimizer ', optimizerSelect), modelJson),
      el('div', { class: 'controls' }, ...Object.values(f).map((x) => x.label), augment.label, dropout.label, shuffle.label, tune.label),
      el('div', { class: 'controls', style: 'margin-top:0.5rem' }, startButton, pauseButton, stopButton, newNetworkButton, saveButton, el('label', {}, 'Load checkpoint', loadInput)),
      status,
      recoveries,
      el('div', { class: 'progress' }, bar),
      progressText,
    ),
    el('div', { class: 'row' }, el('div', { class: 'panel' }, lossBox), el('div', { class: 'panel' }, accuracyBox)),
    el('div', { class: 'row' },
      el('div', { class: 'panel' }, el('h2', {}, 'Test accuracy per epoch'), epochTable),
      el('div', { class: 'panel' }, el('h2', {}, 'Confusion matrix (rows: true digit, columns: predicted)'), confusionBox),
    ),
    el('div', { class: 'panel' }, el('h2', {}, 'Misclassified test digits'), wrongBox),
    el('div', { class: 'row' },
      el('div', { class: 'panel' }, el('h2', {}, 'Draw a digit'), pad, el('div', { class: 'controls' }, clearButton, preview)),
      el('div', { class: 'panel' }, el('h2', {}, 'The model’s probabilities'), bars),
      el('div', { class: 'panel' }, el('h2', {}, 'Time per layer'), profileButton, profileBox),
    ),
  );
  const lossChart = lineChart(lossBox, { title: 'Training loss (batch)', xLabel: 'step', yLabel: 'loss', series: ['loss'], logY: true });
  const accuracyChart = lineChart(accuracyBox, { title: 'Running training accuracy', xLabel: 'step', yLabel: '%', series: ['accuracy %'] });

  const state = {
    losses: [] as number[],
    accuracies: [] as number[],
    steps: [] as number[],
    epochs: [] as { epoch: number; train: EpochResult; test: EvalResult }[],
    probabilities: null as number[] | null,
    running: false,
  };
  let data: MnistDataset | undefined;
  let session: Session | undefined;
  let paused: { promise: Promise<void>; resume: () => void } | undefined;
  let abort: AbortController | undefined;
  /** Evaluation, classification and saving take turns (they share the eval buffers). */
  let queue: Promise<unknown> = Promise.resolve();
  const exclusive = <T>(job: () => Promise<T>): Promise<T> => {
    const run = queue.then(job, job);
    queue = run.catch(() => {});
    return run;
  };
  const fail = (error: unknown) => {
    status.textContent = `Error: ${error instanceof Error ? error.message : String(error)}`;
    status.classList.add('error');
  };

  const readSettings = (): Settings => ({
    model: modelSelect.value as ModelChoice,
    modelJson: modelJson.value,
    epochs: f.epochs.value(),
    batch: f.batch.value(),
    optimizer: optimizerSelect.value as OptimizerChoice,
    lr: f.lr.value(),
    momentum: f.momentum.value(),
    seed: f.seed.value(),
    trainLimit: f.trainLimit.value(),
    testLimit: f.testLimit.value(),
    augment: augment.input.checked,
    dropout: dropout.input.checked,
    shuffle: shuffle.input.checked,
    tune: tune.input.checked,
  });

  /** The uploaded splits, kept across sessions (the training images are 47 MB on the GPU). */
  const splits = new Map<string, GpuSplit>();
  const split = (name: 'train' | 'test', limit: number): GpuSplit => {
    const key = `${name}/${limit}`;
    let found = splits.get(key);
    if (!found) {
      for (const [k, old] of splits) {
        if (k.startsWith(`${name}/`)) {
          destroySplit(old);
          splits.delete(k);
        }
      }
      found = uploadSplit(ctx, name, data![name], limit);
      splits.set(key, found);
    }
    return found;
  };

  /** The chosen network's definition (the dropout box applies to the seed CNN; a model file sets its own). */
  const definition = (settings: Settings): { model: Module; input: SampleShape } => {
    if (settings.model === 'seed-cnn') return { model: seedCnn({ dropout: settings.dropout ? 0.1 : 0 }), input: SEED_CNN_INPUT };
    const [text, source] = EXAMPLE_FILES[settings.model] ?? [settings.modelJson, 'the pasted model file'];
    return parseModelFile(text, source);
  };

  /** The optimizer of the page's fields. */
  const pageOptimizer = (settings: Settings): Optimizer =>
    settings.optimizer === 'sgd' ? new SGD({ lr: settings.lr, momentum: settings.momentum })
      : settings.optimizer === 'rmsprop' ? new RMSprop({ lr: settings.lr, momentum: settings.momentum })
      : settings.optimizer === 'adagrad' ? new Adagrad({ lr: settings.lr })
      : settings.optimizer === 'nadam' ? new NAdam({ lr: settings.lr })
      : settings.optimizer === 'radam' ? new RAdam({ lr: settings.lr })
      : settings.optimizer === 'adamax' ? new Adamax({ lr: settings.lr })
      : settings.optimizer === 'adadelta' ? new Adadelta({ lr: settings.lr })
      : settings.optimizer === 'adamw' ? new AdamW({ lr: settings.lr }) : new Adam({ lr: settings.lr });

  /** The tuned conv and dense tiles of a network at a batch (IndexedDB; tuned where missing), or undefined: the defaults. */
  const tuningStore = new IndexedDbTuningStore();
  const tilesFor = async (settings: Settings): Promise<TileChooser | undefined> => {
    if (!settings.tune) return undefined;
    const { model: network, input } = definition(settings);
    const result = await tuneModel(ctx, network, {
      inputShape: input,
      batch: settings.batch,
      mode: 'cached',
      store: tuningStore,
      onProgress: (done, total, label) => {
        if (done < total) status.textContent = `Tuning the kernels for this adapter (${done + 1}/${total}: ${label}); cached in ${tuningStore.location}…`;
      },
    });
    return result.tiles;
  };

  /**
   * A fresh model and trainer; the previous session's buffers are freed and its charts cleared
   * (kept with `keepCharts`: the same run, rebuilt on a new device). The optimizer is the fields'
   * unless given (a loaded checkpoint's, or the run's own when it is rebuilt).
   */
  const newSession = (settings: Settings, tiles?: TileChooser, keepCharts = false, optimizer = pageOptimizer(settings)): Session => {
    if (!data) throw new Error('MNIST is not loaded yet');
    const train = split('train', settings.trainLimit);
    const test = split('test', settings.testLimit);
    const { model: network, input } = definition(settings);
    const parts = ctx.scoped(() => {
      const model = new Network(ctx, network, { inputShape: input, maxBatch: settings.batch, seed: settings.seed, optimizer, loss: settings.loss, labelSmoothing: settings.labelSmoothing, ...settings.lossParameters, tiles, ...settings.clip });
      const drawn = uploadSplit(ctx, 'drawn', { images: new Uint8Array(784), labels: new Uint8Array(1), count: 1, rows: 28, cols: 28 });
      const trainer = new Trainer(ctx, model, train, test, { batch: settings.batch, seed: settings.seed, augment: settings.augment, shuffle: settings.shuffle });
      return { model, drawn, trainer };
    });
    session?.release();
    if (keepCharts) return { settings, ...parts.value, train, test, epochsDone: session?.epochsDone ?? 0, loaded: false, continues: false, epochStartSteps: session?.epochStartSteps ?? 0, epochStep: 0, release: parts.destroy };
    state.steps.length = 0;
    state.losses.length = 0;
    state.accuracies.length = 0;
    state.epochs.length = 0;
    lossChart.setData([], [[]]);
    accuracyChart.setData([], [[]]);
    renderEpochs();
    bar.style.width = '0%';
    progressText.textContent = '';
    return { settings, ...parts.value, train, test, epochsDone: 0, loaded: false, continues: false, epochStartSteps: 0, epochStep: 0, release: parts.destroy };
  };

  const renderEpochs = () => {
    epochTable.innerHTML = '';
    epochTable.append(el('tr', {}, ...['epoch', 'train acc %', 'test loss', 'test acc %', 'notebook test acc %', 's', 'samples/s'].map((h) => el('th', {}, h))));
    for (const e of state.epochs) {
      const notebook = NOTEBOOK_TEST_ACCURACY[e.epoch - 1];
      epochTable.append(el('tr', {},
        el('td', {}, String(e.epoch)), el('td', {}, e.train.trainAccuracy.toFixed(2)), el('td', {}, e.test.loss.toFixed(4)),
        el('td', { 'data-testid': 'test-accuracy' }, e.test.accuracy.toFixed(2)), el('td', {}, notebook !== undefined ? notebook.toFixed(2) : '–'),
        el('td', {}, e.train.seconds.toFixed(1)), el('td', {}, e.train.samplesPerSecond.toFixed(1))));
    }
  };

  const drawDigit = (canvas: HTMLCanvasElement, pixels: Uint8Array) => {
    const g = canvas.getContext('2d')!;
    const image = g.createImageData(28, 28);
    pixels.forEach((v, i) => image.data.set([v, v, v, 255], i * 4));
    g.putImageData(image, 0, 0);
  };

  /** Test-set predictions: the confusion matrix and the misclassified digits. */
  const analyse = async (s: Session) => {
    const probabilities = await s.trainer.probabilities(s.test);
    const confusion = Array.from({ length: 10 }, () => new Array<number>(10).fill(0));
    const wrong: { index: number; predicted: number; label: number; confidence: number }[] = [];
    probabilities.forEach((p, index) => {
      const predicted = p.indexOf(Math.max(...p));
      const label = data!.test.labels[index]!;
      confusion[label]![predicted]!++;
      if (predicted !== label) wrong.push({ index, predicted, label, confidence: p[predicted]! });
    });
    const max = Math.max(1, ...confusion.flatMap((row, t) => row.filter((_, p) => p !== t)));
    confusionBox.innerHTML = '';
    const table = el('table', { class: 'confusion' }, el('tr', {}, el('th', {}, ''), ...confusion.map((_, p) => el('th', {}, String(p)))));
    confusion.forEach((row, t) => {
      table.append(el('tr', {}, el('th', {}, String(t)), ...row.map((n, p) => {
        const alpha = p === t ? 0.25 : Math.min(1, n / max);
        return el('td', { style: `background: rgba(${p === t ? '18,183,106' : '228,87,46'}, ${alpha.toFixed(2)})` }, String(n));
      })));
    });
    confusionBox.append(table);
    wrongBox.innerHTML = '';
    wrong.sort((a, b) => b.confidence - a.confidence);
    for (const w of wrong.slice(0, 60)) {
      const canvas = el('canvas', { width: '28', height: '28' });
      drawDigit(canvas, data!.test.images.subarray(w.index * 784, (w.index + 1) * 784));
      wrongBox.append(el('div', { class: 'digit', title: `test image ${w.index}` }, canvas, `${w.predicted} (true ${w.label})`));
    }
    if (wrong.length > 60) wrongBox.append(el('p', { class: 'muted' }, `… and ${wrong.length - 60} more (most confident mistakes first)`));
    if (wrong.length === 0) wrongBox.append(el('p', { class: 'muted' }, 'None.'));
  };

  /**
   * Whether the fields show the settings a session was made with, as far as they decide its run
   * (the epochs to train next and kernel tuning do not; the pasted file only for a pasted model,
   * the dropout box only for the seed CNN). Start continues the session only then: never with
   * one network and settings while the fields show others.
   */
  const sameRun = (a: Settings, b: Settings): boolean =>
    a.model === b.model && (a.model !== 'json' || a.modelJson === b.modelJson) && (a.model !== 'seed-cnn' || a.dropout === b.dropout) &&
    a.batch === b.batch && a.optimizer === b.optimizer && a.lr === b.lr && ((a.optimizer !== 'sgd' && a.optimizer !== 'rmsprop') || a.momentum === b.momentum) &&
    a.seed === b.seed && a.trainLimit === b.trainLimit && a.testLimit === b.testLimit && a.augment === b.augment && a.shuffle === b.shuffle;
  /** The session Start goes on with, or undefined: Start trains a fresh network. */
  const continued = (settings: Settings): Session | undefined => (session?.continues && sameRun(session.settings, settings) ? session : undefined);

  // A setting changed after a load or a run: said at once, and said again when it is set back.
  const settingChanged = () => {
    if (!session?.continues || state.running) return;
    let settings: Settings;
    try {
      settings = readSettings();
    } catch {
      return; // a field out of range: said at Start
    }
    status.classList.remove('error');
    const since = session.loaded ? 'since the checkpoint was loaded' : 'since the run';
    status.textContent = continued(settings)
      ? `The fields show the network's settings again: Start continues it (from epoch ${session.epochsDone + 1}${session.epochStep > 0 ? `, step ${session.epochStep + 1}` : ''}).`
      : `A setting changed ${since}: Start trains a fresh network with the settings shown (set it back${session.loaded ? ', or load the file again,' : ''} to continue the network).`;
  };
  for (const field of [f.batch, f.lr, f.momentum, f.seed, f.trainLimit, f.testLimit]) field.input.addEventListener('change', settingChanged);
  for (const input of [modelSelect, modelJson, optimizerSelect, augment.input, dropout.input, shuffle.input]) input.addEventListener('change', settingChanged);

  const setRunning = (running: boolean) => {
    state.running = running;
    startButton.disabled = running;
    pauseButton.disabled = !running;
    stopButton.disabled = !running;
    newNetworkButton.disabled = running || !session?.continues;
    saveButton.disabled = running || !session;
    for (const x of Object.values(f)) x.input.disabled = running;
    f.momentum.input.disabled = running || (optimizerSelect.value !== 'sgd' && optimizerSelect.value !== 'rmsprop');
    optimizerSelect.disabled = running;
    modelSelect.disabled = running;
    modelJson.disabled = running;
    loadInput.disabled = running;
    profileButton.disabled = running;
    root.dataset.running = String(running);
  };

  const train = async () => {
    if (state.running) return;
    let settings: Settings;
    try {
      settings = readSettings();
    } catch (error) {
      fail(error);
      return;
    }
    setRunning(true);
    try {
      await queue; // a load, save or analysis still going finishes first
      status.classList.remove('error');
      // A fresh run, except after a load or a run of this network (stopped or finished) with the
      // fields at its settings: then training goes on from its epoch and step, with its settings.
      const going = continued(settings);
      const tiles = going ? undefined : await tilesFor(settings);
      let s = going ?? (session = newSession(settings, tiles));
      if (going) settings = { ...s.settings, epochs: settings.epochs };
      // A loaded OneCycle schedule cannot step past its total_steps (PyTorch refuses too): said before
      // training, the loaded session kept.
      const cycle = s.model.optimizer.schedule;
      const planned = s.model.optimizerSteps + settings.epochs * s.trainer.stepsPerEpoch;
      if (cycle.kind === 'onecycle' && planned > cycle.totalSteps) {
        const left = cycle.totalSteps - s.model.optimizerSteps;
        throw new Error(
          `OneCycleLR's total_steps is ${cycle.totalSteps} and ${s.model.optimizerSteps} are taken: ${left > 0 ? `${left} step${left === 1 ? ' is' : 's are'} left` : 'the cycle is finished'}, ` +
            `and an epoch here is ${s.trainer.stepsPerEpoch} steps (train images ÷ batch)${left >= s.trainer.stepsPerEpoch ? `: give at most ${Math.floor(left / s.trainer.stepsPerEpoch)} epochs` : ''}. ` +
            'Change a setting to train a fresh network instead',
        );
      }
      const wasLoaded = s.loaded;
      s.loaded = false;
      // Until the run ends well (a run that failed part-way leaves no network to go on with).
      s.continues = false;
      const stop = (abort = new AbortController());
      const totalEpochs = s.epochsDone + settings.epochs;
      const stepsPerEpoch = s.trainer.stepsPerEpoch;
      let epochStart = performance.now();
      let stepsBefore = s.model.stepsTaken;
      /** The progress line without its time left (kept for Stop). */
      let progress = '';
      // Time left at the speed after each epoch's first report (the first steps compile kernels).
      const steady = new SteadyRate();
      // The kernels compile before the first epoch's clock starts (Trainer.prepare), as in the CLI:
      // on SwiftShader that is a minute of a fresh page's run, said here rather than in samples/s.
      status.textContent = `Compiling the kernels on ${ctx.adapter.summary}…`;
      const prepared = await s.trainer.prepare();
      root.dataset.pipelines = String(prepared.pipelines);
      // A checkpoint cut inside an epoch goes on from its step, with its sums (as --init does).
      const fromStep = s.epochStep;
      const fromMetrics = s.epochMetrics;
      s.epochStep = 0;
      s.epochMetrics = undefined;
      const stepsAtStart = s.model.stepsTaken;
      await fitWithRecovery(s.trainer, {
        firstEpoch: s.epochsDone + 1,
        firstEpochFromStep: fromStep,
        firstEpochMetrics: fromMetrics,
        epochs: settings.epochs,
        signal: stop.signal,
        between: () => paused?.promise ?? Promise.resolve(),
        evaluate: (run) => {
          status.textContent = `Evaluating on ${s.test.count} test images…`;
          return exclusive(run);
        },
        onEpochStart: (epoch, from) => {
          if (!paused) status.textContent = `Training epoch ${epoch} of ${totalEpochs} on ${ctx.adapter.summary}`;
          epochStart = performance.now();
          // The epoch's own start: it goes on from step `from` (a cut epoch's, or a snapshot's after a lost device).
          stepsBefore = s.model.stepsTaken - from;
          s.epochStartSteps = stepsBefore;
          s.epochSumsWhole = epoch !== totalEpochs - settings.epochs + 1 || fromStep === 0 || fromMetrics !== undefined;
          steady.reset();
        },
        onProgress: (epoch, p) => {
          state.steps.push(stepsBefore + p.step);
          state.losses.push(p.loss);
          state.accuracies.push(p.accuracy);
          lossChart.setData(state.steps, [state.losses]);
          accuracyChart.setData(state.steps, [state.accuracies]);
          const fraction = (epoch - 1 - (totalEpochs - settings.epochs) + p.step / p.steps) / settings.epochs;
          bar.style.width = `${(100 * fraction).toFixed(1)}%`;
          const left = timeLeft(p, settings.batch, stepsPerEpoch, totalEpochs - epoch, steady.of(p)).run;
          progress = `epoch ${epoch}/${totalEpochs} · step ${p.step}/${p.steps} · loss ${p.loss.toFixed(4)} · accuracy ${p.accuracy.toFixed(2)} % · ${p.samplesPerSecond.toFixed(1)} samples/s`;
          progressText.textContent = `${progress} · ${formatDuration(left)} left (plus evaluation)`;
          root.dataset.steps = String(s.model.stepsTaken);
        },
        onEpoch: async ({ epoch, train: result, test }) => {
          s.epochsDone = epoch;
          s.epochStartSteps = s.model.stepsTaken; // the next epoch begins here
          state.epochs.push({ epoch, train: result, test: test! }); // the page's trainer always has its test split
          renderEpochs();
          await exclusive(() => analyse(s));
        },
      }, {
        createContext: options.newContext ?? (() => Promise.reject(new Error('no new device can be made here'))),
        // The same run on a new device: the splits and the session again, the charts kept.
        build: async (device) => {
          ctx = device;
          splits.clear();
          session = s = newSession(settings, tiles, true, s.model.optimizer);
          return s.trainer;
        },
        log: (line) => {
          recoveries.textContent = line;
          recoveries.hidden = false;
        },
      });
      const seconds = (performance.now() - epochStart) / 1000;
      // Stopped inside an epoch: Start goes on from its step with its running sums, as from a checkpoint cut there.
      const into = s.model.stepsTaken - s.epochStartSteps;
      if (s.model.stepsTaken === stepsAtStart) {
        // Stopped before its first step (while the kernels compiled): as it was, a load's sums kept.
        s.epochStep = fromStep;
        s.epochMetrics = fromMetrics;
        s.loaded = wasLoaded;
      } else if (into > 0 && into < stepsPerEpoch) {
        s.epochStep = into;
        s.epochMetrics = s.epochSumsWhole ? await s.trainer.runningMetrics() : undefined;
      }
      s.continues = true;
      const next = `Start goes on from epoch ${s.epochsDone + 1}${s.epochStep > 0 ? `, step ${s.epochStep + 1}` : ''} (New network, or a changed setting: a fresh one).`;
      status.textContent = stop.signal.aborted ? `Stopped after ${s.model.stepsTaken} steps. ${next}` : `Done: ${s.epochsDone} epoch${s.epochsDone === 1 ? '' : 's'} (last ${seconds.toFixed(1)} s). ${next}`;
      // The time left belonged to the run that ended.
      if (stop.signal.aborted && progress) progressText.textContent = `${progress} · stopped`;
    } catch (error) {
      fail(error);
    } finally {
      paused?.resume();
      paused = undefined;
      pauseButton.textContent = 'Pause';
      setRunning(false);
      root.dataset.steps = String(session?.model.stepsTaken ?? 0);
    }
  };

  startButton.addEventListener('click', () => void train());
  pauseButton.addEventListener('click', () => {
    if (paused) {
      paused.resume();
      paused = undefined;
      pauseButton.textContent = 'Pause';
      status.textContent = 'Training…';
    } else {
      let resume!: () => void;
      const promise = new Promise<void>((r) => (resume = r));
      paused = { promise, resume };
      pauseButton.textContent = 'Resume';
      status.textContent = 'Paused.';
    }
  });
  stopButton.addEventListener('click', () => {
    abort?.abort();
    paused?.resume();
  });
  newNetworkButton.addEventListener('click', () => {
    if (!session || state.running) return;
    session.continues = false;
    newNetworkButton.disabled = true;
    status.classList.remove('error');
    status.textContent = 'Start trains a fresh network with the settings shown (Save still writes the one trained so far).';
  });

  saveButton.addEventListener('click', () => void exclusive(async () => {
    if (!session) return;
    const s = session;
    const network = definition(s.settings);
    // Stopped inside an epoch: saved as the CLI saves a cut one (its step and running sums), so
    // that a load here or --init goes on from that step.
    const into = s.model.stepsTaken - s.epochStartSteps;
    const perEpoch = s.trainer.stepsPerEpoch;
    const sums = s.loaded ? s.epochMetrics : s.epochSumsWhole ? await s.trainer.runningMetrics() : undefined;
    const cut: Record<string, string> = into > 0 && into < perEpoch ? { epoch_step: String(into), ...(sums ? { epoch_metrics: epochMetricsText(sums) } : {}) } : {};
    const epochs = into >= perEpoch ? s.epochsDone + 1 : s.epochsDone;
    const bytes = await encodeCheckpoint(s.model, {
      model: s.settings.model,
      model_file: modelFileText(network.model, network.input),
      epoch: String(epochs),
      ...cut,
      seed: String(s.settings.seed),
      batch: String(s.settings.batch),
      // What --init continues with, as the CLI's checkpoints record it.
      loss: s.model.plan.loss,
      augment: String(s.settings.augment),
      shuffle: String(s.settings.shuffle),
      train_samples: String(s.train.count),
    });
    download(bytes, `${s.settings.model}-epoch${epochs}-step${s.model.stepsTaken}.safetensors`);
    status.classList.remove('error');
    status.textContent = `Saved a checkpoint after ${s.model.stepsTaken} steps (epoch ${epochs}${cut.epoch_step ? `, and ${cut.epoch_step} steps into epoch ${epochs + 1}` : ''}).`;
  }).catch(fail));

  loadInput.addEventListener('change', () => void exclusive(async () => {
    const file = loadInput.files?.[0];
    // Forgotten at once, so that choosing the same file again (after fixing a field) loads it.
    loadInput.value = '';
    if (!file || state.running) return;
    if (!data) throw new Error('MNIST is not loaded yet: load the checkpoint once it is');
    const bytes = new Uint8Array(await file.arrayBuffer());
    // Every field valid first (the session is built from them), then the file: nothing on the
    // page changes until both check out.
    const current = readSettings();
    const carried = decodeSafetensors(bytes, file.name).metadata;
    // The network it carries: the seed CNN (its dropout as saved), a shipped example, or its model
    // file; a file without one (a PyTorch state_dict) loads into the picker's.
    const choice: ModelChoice | undefined =
      carried.model === 'seed-cnn' ? 'seed-cnn' : carried.model_file !== undefined ? MODEL_FOR_FILE[carried.model ?? ''] ?? 'json' : undefined;
    const seedDropout = choice === 'seed-cnn' && carried.model_file !== undefined ? seedCnnDropout(carried.model_file, `${file.name} (its model_file)`) : undefined;
    // Its batch, seed and optimizer (every setting, its schedule), loss, rotation and shuffle, as
    // --init takes them; bad optimizer metadata is refused here.
    const resume = pageResume(carried, file.name);
    const { optimizer: kind, ...numbers } = resume.fields;
    const candidate: Settings = {
      ...current,
      model: choice ?? current.model,
      modelJson: choice === 'json' ? carried.model_file! : current.modelJson,
      dropout: seedDropout !== undefined ? seedDropout > 0 : current.dropout,
      batch: numbers.batch !== undefined ? Number(numbers.batch) : current.batch,
      seed: numbers.seed !== undefined ? Number(numbers.seed) : current.seed,
      optimizer: kind ?? current.optimizer,
      lr: numbers.lr !== undefined ? Number(numbers.lr) : current.lr,
      momentum: numbers.momentum !== undefined ? Number(numbers.momentum) : current.momentum,
      augment: resume.augment ?? current.augment,
      shuffle: resume.shuffle ?? current.shuffle,
      trainLimit: resume.trainSamples ?? current.trainLimit,
      loss: resume.loss,
      labelSmoothing: resume.labelSmoothing,
      lossParameters: resume.lossParameters,
      clip: resume.clip,
    };
    // A checkpoint cut inside an epoch: its step must fall inside an epoch at these train images and batch.
    const perEpoch = Math.ceil(Math.min(candidate.trainLimit, data.train.count) / candidate.batch);
    const epochStep = readEpochStep(carried, file.name, perEpoch);
    const epochMetrics = readEpochMetrics(carried, file.name, epochStep, candidate.batch);
    // The whole file checked against the network and optimizer it would load into. A file that
    // names no optimizer (a PyTorch state_dict) trains with the page's, from zero state.
    const { model: checked, input: checkedInput } = definition(candidate);
    const optimizer = resume.optimizer ?? pageOptimizer(candidate);
    const dropOther = { dropOtherOptimizerState: resume.optimizer === undefined };
    checkCheckpoint(planLayout(planModel(checked, { inputShape: checkedInput, loss: candidate.loss, labelSmoothing: candidate.labelSmoothing, ...candidate.lossParameters }), optimizer), bytes, file.name, dropOther);
    // It checks out: the fields show what Start continues with.
    modelSelect.value = candidate.model;
    modelJson.value = candidate.modelJson;
    modelJson.hidden = candidate.model !== 'json';
    dropout.input.checked = candidate.dropout;
    for (const [key, value] of Object.entries(numbers)) f[key as keyof typeof numbers].input.value = value;
    optimizerSelect.value = optimizerShown = candidate.optimizer; // (no default learning rate swapped in)
    showOptimizer();
    augment.input.checked = candidate.augment;
    shuffle.input.checked = candidate.shuffle;
    f.trainLimit.input.value = String(candidate.trainLimit);
    const s = newSession(candidate, undefined, false, optimizer);
    const { metadata } = loadCheckpoint(s.model, bytes, file.name, dropOther);
    s.epochsDone = Number(metadata.epoch ?? 0) || 0;
    s.epochStep = epochStep;
    s.epochMetrics = epochMetrics;
    s.epochStartSteps = s.model.stepsTaken - epochStep;
    s.loaded = true;
    s.continues = true;
    session = s;
    status.classList.remove('error');
    const test = await s.trainer.evaluate();
    // A CLI checkpoint cut inside an epoch (--steps): the page trains whole epochs, from the next one's start.
    const cut = epochStep > 0 ? ` It was saved ${epochStep} steps into epoch ${s.epochsDone + 1}: Start goes on from its step ${epochStep + 1}.` : '';
    status.textContent = `Loaded ${file.name} (epoch ${s.epochsDone}, step ${s.model.stepsTaken}): test accuracy ${test.accuracy.toFixed(2)} %, loss ${test.loss.toFixed(4)}. Start continues from it (batch ${s.settings.batch}, seed ${s.settings.seed}, loss ${s.model.plan.loss}${s.settings.augment ? ', rotation' : ''}${s.settings.shuffle ? ', shuffle' : ''}). ${resume.note ?? `It names no optimizer: the page's ${s.model.optimizer.describe()} starts from zero state.`}${resume.clipNote ? ` ${resume.clipNote}` : ''}${cut}`;
    saveButton.disabled = false;
    newNetworkButton.disabled = false;
    await analyse(s);
  }).catch(fail));

  // The drawing pad: white ink on black, like MNIST.
  const g = pad.getContext('2d', { willReadFrequently: true })!;
  const clear = () => {
    g.fillStyle = 'black';
    g.fillRect(0, 0, 280, 280);
    bars.innerHTML = '<span></span><span class="muted">Draw a digit.</span><span></span>';
    state.probabilities = null;
  };
  clear();
  let drawing = false;
  let last: [number, number] | null = null;
  const point = (e: PointerEvent): [number, number] => {
    const r = pad.getBoundingClientRect();
    return [((e.clientX - r.left) * 280) / r.width, ((e.clientY - r.top) * 280) / r.height];
  };
  pad.addEventListener('pointerdown', (e) => {
    drawing = true;
    last = point(e);
    pad.setPointerCapture(e.pointerId);
  });
  pad.addEventListener('pointermove', (e) => {
    if (!drawing || !last) return;
    const p = point(e);
    g.strokeStyle = 'white';
    g.lineWidth = 20;
    g.lineCap = 'round';
    g.beginPath();
    g.moveTo(...last);
    g.lineTo(...p);
    g.stroke();
    last = p;
  });
  const classifyDrawing = () => exclusive(async () => {
    const rgba = g.getImageData(0, 0, 280, 280).data;
    const ink = new Float32Array(280 * 280);
    for (let i = 0; i < ink.length; i++) ink[i] = rgba[i * 4]! / 255;
    const pixels = mnistFromDrawing(ink, 280);
    if (!pixels) return;
    drawDigit(preview, pixels);
    session ??= newSession(readSettings());
    const s = session;
    ctx.write(s.drawn.pixels, new Uint32Array(pixels.buffer));
    const [p] = await s.trainer.probabilities(s.drawn);
    state.probabilities = p!;
    const best = p!.indexOf(Math.max(...p!));
    bars.innerHTML = '';
    p!.forEach((v, digit) => bars.append(
      el('span', {}, String(digit)),
      el('div', { class: `bar${digit === best ? ' best' : ''}`, style: `width:${(100 * v).toFixed(1)}%` }),
      el('span', { 'data-testid': `p${digit}` }, `${(100 * v).toFixed(1)} %`),
    ));
    root.dataset.classified = String(Number(root.dataset.classified ?? 0) + 1);
  }).catch(fail);
  const endStroke = () => {
    if (!drawing) return;
    drawing = false;
    last = null;
    void classifyDrawing();
  };
  pad.addEventListener('pointerup', endStroke);
  pad.addEventListener('pointercancel', endStroke);
  clearButton.addEventListener('click', clear);

  /** A scratch model for timing (kept per batch size), so that timing never touches the trained one. */
  let profiler: { key: string; program: Awaited<ReturnType<Trainer['program']>>; release(): void } | undefined;
  profileButton.addEventListener('click', () => void exclusive(async () => {
    if (!data || state.running) return;
    profileBox.textContent = 'Timing… (a separate, freshly initialised model: the trained one is left alone)';
    const settings = readSettings();
    const key = `${settings.batch}/${settings.model}/${settings.modelJson}`;
    if (profiler?.key !== key) {
      profiler?.release();
      const { model: network, input } = definition(settings);
      const parts = ctx.scoped(() => {
        const model = new Network(ctx, network, { inputShape: input, maxBatch: settings.batch, seed: settings.seed, optimizer: pageOptimizer(settings) });
        model.beginStep(settings.batch, 0);
        const images = uploadSplit(ctx, 'profile', data!.train, settings.batch);
        return { images, trainer: new Trainer(ctx, model, images, images, { batch: settings.batch, seed: settings.seed, augment: settings.augment }) };
      });
      profiler = { key, program: await parts.value.trainer.program(parts.value.images, settings.batch, 'train'), release: parts.destroy };
    }
    const { program } = profiler;
    const profile = await profileDispatches(ctx, [program.batch, ...program.rest]);
    const rows = layerRows(layerTimes(profile));
    const total = rows.reduce((a, r) => a + (r.forward?.ms ?? 0) + (r.backward?.ms ?? 0) + (r.optimizer?.ms ?? 0), 0);
    const ms = (t: LayerTime | undefined) => (t === undefined ? '' : t.ms.toFixed(2));
    profileBox.innerHTML = '';
    profileBox.append(
      el('p', { class: 'muted' }, `Batch ${settings.batch}, ${profile.source === 'timestamp-query' ? 'GPU timestamp queries' : 'wall clock around lone dispatches (this adapter has no timestamp queries)'}; total ${total.toFixed(1)} ms.`),
      el('table', {}, el('tr', {}, ...['layer', 'forward ms', 'backward ms', 'optimizer ms'].map((h) => el('th', {}, h))),
        ...rows.map((r) => el('tr', {}, el('td', { class: 'left' }, r.layer), el('td', {}, ms(r.forward)), el('td', {}, ms(r.backward)), el('td', {}, ms(r.optimizer))))),
    );
  }).catch(fail));

  setRunning(false);
  startButton.disabled = true;
  let loadedBytes = 0;
  try {
    data = await loadMnistFromPage(undefined, (n) => {
      loadedBytes += n;
      status.textContent = `Loading MNIST… ${(loadedBytes / 1e6).toFixed(1)} MB`;
    });
    status.textContent = `MNIST loaded: ${data.train.count} training and ${data.test.count} test images (${data.source}). Press Start.`;
    startButton.disabled = false;
    root.dataset.ready = 'true';
  } catch (error) {
    fail(error);
    root.dataset.ready = 'failed';
  }

  return {
    get losses() { return state.losses; },
    get epochs() { return state.epochs; },
    get probabilities() { return state.probabilities; },
    get running() { return state.running; },
    get stepsTaken() { return session?.model.stepsTaken ?? 0; },
    loseDevice: () => ctx.device.destroy(),
  };
}
