/**
 * The training loop of any network on a data set resident on the GPU (uint8 images, or float
 * inputs of any shape with class labels or a regression's targets: src/train/gpu-dataset.ts):
 * thin, because every step is a replay.
 *
 * A step is one command buffer: the batch is cut from the resident data set (shuffled order,
 * random rotation), the forward pass, the loss and its metrics, the backward pass and the SGD
 * update — all bound once per batch size. Between steps only uniforms change (which batch, the
 * dropout step). The loop keeps at most two steps in flight and never waits for a read-back:
 * the progress display receives a copy of the running metrics whenever one is ready.
 *
 * Nothing is lost silently: the divergence guard (src/kernels/health.ts) is read with every progress
 * snapshot and at the end of each epoch, before anything is evaluated or saved, and a non-finite
 * loss or gradient ends the epoch with a `DivergenceError`; a lost device ends it with a
 * `DeviceLostError`. `snapshot()` and `restore()` copy the whole training state (weights,
 * optimizer state, running statistics, step counters, the epoch's running metrics) to the host and
 * back, on this device or a new one, and `fit` can continue from a snapshot in the middle of an
 * epoch, bit for bit as if never stopped (src/train/recovery.ts uses them).
 */
import { copyTensor, recordPass, type Dispatch, type GpuContext } from '../gpu/context.js';
import { gatherBatch, mnistBatch } from '../kernels/data.js';
import { RANDOM_STREAM, checkSeed } from '../reference/random.js';
import { checkOptions, shapeSize, shownValue, trueOrFalse, type Mode } from '../layers/layer.js';
import type { Network } from '../plan/network.js';
import { LossHead, scoredSamples, type RunningMetrics } from './loss-head.js';
import { idProblem, labelProblem, shuffleDispatch, type GpuSplit } from './gpu-dataset.js';
import { Embedding } from '../layers/embedding.js';
import { HEALTH_NONE, describeDivergence, type Divergence } from '../kernels/health.js';
import type { Tensor } from '../gpu/tensor.js';
import type { ElementType } from '../gpu/kernel.js';
import { checkTensorValues } from '../checkpoint/checkpoint.js';
import type { PlateauState } from '../optim/schedules.js';

export interface TrainerOptions {
  readonly batch: number;
  readonly seed: number;
  /**
   * Training-time augmentation (default off, as a PyTorch DataLoader without transforms).
   * `true`: an image split's random rotation, ±maxDegrees (the seed CNN's notebook asks for it: the
   * CLI and the page turn it on). An object: a float data set's [C, H, W] (or [H, W]) samples
   * through torchvision's RandomCrop(size = theirs, padding, fill) then RandomHorizontalFlip(p) —
   * `{ padding: 4, horizontalFlip: true }` is CIFAR's usual recipe.
   */
  readonly augment?: boolean | TensorAugment;
  readonly maxDegrees?: number;
  /** Reshuffle the training set every epoch (default on); off: batch k is images k·batch … */
  readonly shuffle?: boolean;
}

/** A float data set's training-time transforms (Trainer's `augment` object). */
export interface TensorAugment {
  /** RandomCrop's padding: pixels of `fill` added on each side, the crop back to the sample's size at a random place (default 0: no crop). */
  readonly padding?: number;
  /**
   * The padding's value, in the inputs' own units (they are used as they are: 0 is their zero, not
   * black): one for all channels (a number, or a list of one), or one a channel (C values for
   * [C, H, W] samples, torchvision's fill tuple). Default 0. Colour images normalised as
   * torchvision's Normalize pad with their black as RandomCrop before ToTensor does:
   * −mean[c]/std[c] a channel (the CLI's, from src/data/colour-images.ts' normalizedFill).
   */
  readonly fill?: number | readonly number[];
  /** RandomHorizontalFlip: `true` flips half the samples (torchvision's p = 0.5), a number is p (default: none). */
  readonly horizontalFlip?: boolean | number;
}

/** Normalisation of MNIST pixels (SPEC.md §2) and the rotation's fill value. */
export const MNIST_INPUT = { mean: 0.1307, deviation: 0.3081, fill: 1, maxDegrees: 7 } as const;

export interface Progress {
  /** Steps of this epoch completed when the snapshot was taken. */
  readonly step: number;
  readonly steps: number;
  /** Mean loss of the snapshot's batch. */
  readonly loss: number;
  /** Running accuracy over the epoch so far, in % (NaN for a regression's targets). */
  readonly accuracy: number;
  readonly samples: number;
  /** Seconds of this epoch so far (pauses left out), and its samples/s over them. */
  readonly seconds: number;
  readonly samplesPerSecond: number;
}

export interface EpochResult {
  readonly epoch: number;
  readonly steps: number;
  readonly samples: number;
  /** Mean training loss over the epoch and the running training accuracy (dropout on), in %. */
  readonly trainLoss: number;
  readonly trainAccuracy: number;
  /** Mean loss of the epoch's last batch (what the notebook's progress bar showed). */
  readonly lastBatchLoss: number;
  readonly seconds: number;
  readonly samplesPerSecond: number;
}

export interface EvalResult {
  /** Summed NLL / samples, as the notebook printed it (each batch's mean, over the labels not ignored, times its samples). */
  readonly loss: number;
  readonly correct: number;
  /** The samples scored: those whose label is not the ignore index (all without one). */
  readonly count: number;
  /** In %. */
  readonly accuracy: number;
}

/** Copies of the metrics, read back without stalling the queue (a small pool of staging buffers). */
class MetricsSnapshots {
  private readonly free: GPUBuffer[] = [];

  constructor(
    device: GPUDevice,
    private readonly head: LossHead,
    private readonly health: Tensor<'u32'>,
    size = 3,
  ) {
    for (let i = 0; i < size; i++) {
      this.free.push(device.createBuffer({ label: `metrics snapshot ${i}`, size: 24, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST }));
    }
  }

  /** Records a copy into a free staging buffer (none free: no snapshot this time). */
  record(encoder: GPUCommandEncoder): GPUBuffer | undefined {
    const buffer = this.free.pop();
    if (!buffer) return undefined;
    copyTensor(encoder, this.head.metrics, buffer, 0, 2);
    copyTensor(encoder, this.head.counts, buffer, 2, 3);
    copyTensor(encoder, this.health, buffer, 5, 1);
    return buffer;
  }

  /** After the submit: map the copy when the GPU gets there, hand the values on, recycle. */
  deliver(buffer: GPUBuffer, onValues: (loss: number, correct: number, seen: number, ignored: number, firstBadStep: number) => void): void {
    void buffer.mapAsync(GPUMapMode.READ).then(
      () => {
        const range = buffer.getMappedRange();
        const f = new Float32Array(range, 0, 2);
        const u = new Uint32Array(range, 8, 4);
        const values = [f[0]!, u[0]!, u[1]!, u[2]!, u[3]!] as const;
        buffer.unmap();
        this.free.push(buffer);
        onValues(...values);
      },
      () => this.free.push(buffer),
    );
  }
}

type BatchKernel = Dispatch & { update(p: { first: number; epoch: number }): void };

export interface EpochRecord {
  readonly epoch: number;
  readonly train: EpochResult;
  /** The evaluation on the test split after the epoch; absent for a trainer without one. */
  readonly test?: EvalResult;
  /** The best test accuracy of this run so far (a regression's: the lowest test loss); false without a test split. */
  readonly best: boolean;
  /** ReduceLROnPlateau's step after this epoch (where it is the schedule): the rate from here on, and whether it fell. */
  readonly plateau?: { readonly lr: number; readonly reduced: boolean };
}

/**
 * Why a split's samples do not fit a model's input shape, or undefined. A tensor split's shape
 * must be the input's; an image split's rows × cols fit [1, rows, cols], [rows, cols],
 * [rows · cols] (an MLP on flattened images) or [1, rows · cols] (a 1-D network over the pixels
 * as one sequence, PyTorch's x.view(B, 1, -1)), and nothing else: 16×9 pixels read as 12×12, or
 * 24×8 as three channels of 8×8, would train on scrambled images (PyTorch would raise).
 */
export function splitShapeProblem(split: Pick<GpuSplit, 'shape' | 'kind'>, input: readonly number[]): string | undefined {
  const same = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((d, i) => d === b[i]);
  if (split.kind === 'tensors') return same(split.shape, input) ? undefined : `are [${split.shape.join(', ')}]`;
  const [, rows, cols] = split.shape as [number, number, number];
  if (same(input, [1, rows, cols]) || same(input, [rows, cols]) || same(input, [rows * cols]) || same(input, [1, rows * cols])) return undefined;
  const channels = input.length === 3 && input[0] !== 1 ? ' (an image split has one channel: give float inputs of [C, H, W] as a tensor split)' : '';
  return `are ${rows}×${cols}-pixel images${channels}`;
}

/** The training loss, a gradient or a running statistic became non-finite (or out of bounds): the run cannot go on from here. */
export class DivergenceError extends Error {
  override name = 'DivergenceError';
  /** What diverged, where: "training diverged at epoch 3, step 17 (step 251 of the run): …". */
  readonly summary: string;
  constructor(
    /** The epoch and the step within it (1-based) of the first non-finite value. */
    readonly epoch: number,
    readonly step: number,
    readonly divergence: Divergence,
    readonly parameterCount: number,
    /** Rollbacks taken before it (fitWithRecovery's onDivergence 'rollback'), none of which got past it. */
    readonly rollbacks = 0,
    /** Where no rollback was tried on it: the run's rollbacks (maxRecoveries) spent on earlier divergences. */
    readonly rollbacksSpent = 0,
  ) {
    const where = divergence.atEpochEnd
      ? `in epoch ${epoch}: at its end (step ${divergence.step} of the run) ${divergence.atEpochEnd}, while the losses and gradients stayed finite`
      : `at epoch ${epoch}, step ${step} (step ${divergence.step} of the run): ${describeDivergence(divergence, parameterCount)}`;
    const summary = `training diverged ${where}`;
    const advice =
      rollbacks > 0 ? `${rollbacks} rollback${rollbacks === 1 ? '' : 's'}, each halving the learning rate, did not get past it: try a smaller learning rate or momentum`
        : rollbacksSpent > 0 ? `The run's ${rollbacksSpent} rollback${rollbacksSpent === 1 ? '' : 's'} (maxRecoveries) went to earlier divergences: try a smaller learning rate or momentum`
        : "Try a smaller learning rate or momentum, or roll back (fitWithRecovery's onDivergence: 'rollback')";
    super(`${summary}. ${advice}`);
    this.summary = summary;
  }

  /** The same divergence, after `rollbacks` rollbacks that did not get past it, or (`spent`) with the run's rollbacks spent before it. */
  afterRollbacks(rollbacks: number, spent = 0): DivergenceError {
    return new DivergenceError(this.epoch, this.step, this.divergence, this.parameterCount, rollbacks, spent);
  }
}

/**
 * The whole training state at a step boundary, on the host: restores onto this trainer or onto
 * one built the same way on a new device. `epoch` is the epoch in progress (or about to start)
 * and `step` the steps of it already taken.
 */
export interface TrainingSnapshot {
  readonly epoch: number;
  readonly step: number;
  readonly stepsTaken: number;
  /** The network's optimizerOrigin (where its optimizer's steps count from). */
  readonly optimizerOrigin: number;
  readonly lrFactor: number;
  /** ReduceLROnPlateau's state, where it is the schedule. */
  readonly plateau?: PlateauState;
  /** Where a stepped schedule goes on from (a loaded checkpoint's epoch and rates: Network.scheduleFrom), where set. */
  readonly scheduleFrom?: { readonly epoch: number; readonly lrs: readonly number[] };
  /** Tensors by name: parameters, optimizer state (`name/state`), buffers, and the train head's metrics. */
  readonly tensors: ReadonlyMap<string, ArrayLike<number>>;
}

export interface FitOptions {
  /** The first epoch's number (1-based; a resumed run continues the count). */
  readonly firstEpoch: number;
  readonly epochs: number;
  /** Stop after this many optimizer steps in all. */
  readonly maxSteps?: number;
  readonly signal?: AbortSignal;
  /** Awaited between steps (a paused page waits there). */
  readonly between?: () => Promise<void>;
  /** Before an epoch's steps; `fromStep`: the step it goes on from (a cut epoch's, or a snapshot's after a device loss). */
  readonly onEpochStart?: (epoch: number, fromStep: number) => void;
  readonly onProgress?: (epoch: number, progress: Progress) => void;
  /** Runs the evaluation (a page serialises it with its other GPU reads). */
  readonly evaluate?: (run: () => Promise<EvalResult>) => Promise<EvalResult>;
  readonly onEpoch?: (record: EpochRecord) => Promise<void> | void;
  /** Continue from a snapshot of this run (restored already): its epoch, from its step. */
  readonly resume?: TrainingSnapshot;
  /**
   * Steps of the first epoch taken already (a checkpoint saved part-way through it: the network
   * restored): the epoch continues from there, its running metrics over the steps this run takes.
   */
  readonly firstEpochFromStep?: number;
  /**
   * The first epoch's running metrics over its `firstEpochFromStep` steps (`Trainer.runningMetrics()`
   * when the checkpoint was saved): the epoch's train loss and accuracy then count every step, as
   * an uninterrupted run's. Absent: they count the steps this run takes.
   */
  readonly firstEpochMetrics?: RunningMetrics;
  /** Take a snapshot every this many steps (and at every epoch's start), handed to `onSnapshot`. */
  readonly snapshotEvery?: number;
  readonly onSnapshot?: (snapshot: TrainingSnapshot) => void;
}

export interface FitResult {
  readonly history: readonly EpochRecord[];
  readonly best?: EpochRecord;
}

export class Trainer {
  /** Whether the splits hold float targets (regression: no accuracy, the best epoch by test loss). */
  readonly regression: boolean;
  private readonly trainHead: LossHead;
  private readonly testHead: LossHead;
  private readonly snapshots: MetricsSnapshots;
  /** By split (the object: two splits may share a name), then size and mode. */
  private readonly programs = new WeakMap<GpuSplit, Map<string, Promise<{ batch: BatchKernel; rest: Dispatch[] }>>>();
  private shuffler?: Promise<Dispatch & { update(p: { epoch: number }): void }>;

  constructor(
    readonly ctx: GpuContext,
    readonly model: Network,
    readonly train: GpuSplit,
    /** The split evaluated after every epoch of `fit` (and by `evaluate()`); undefined: train only. */
    readonly test: GpuSplit | undefined,
    readonly options: TrainerOptions,
  ) {
    checkOptions('Trainer', options, ['batch', 'seed', 'augment', 'maxDegrees', 'shuffle']);
    if (typeof options.batch !== 'number' || !Number.isInteger(options.batch) || options.batch < 1) throw new RangeError(`batch must be a whole number ≥ 1, got ${JSON.stringify(options.batch)}`);
    if (typeof options.augment !== 'object' || options.augment === null) trueOrFalse('Trainer', 'augment', options.augment, false);
    trueOrFalse('Trainer', 'shuffle', options.shuffle, true);
    if (options.maxDegrees !== undefined && !(typeof options.maxDegrees === 'number' && options.maxDegrees >= 0 && options.maxDegrees <= 180)) {
      throw new RangeError(`Trainer: maxDegrees must be a number of degrees from 0 to 180, got ${JSON.stringify(options.maxDegrees)}`);
    }
    if (options.maxDegrees !== undefined && options.augment !== true) throw new RangeError('Trainer: maxDegrees without augment: true rotates nothing (the rotation is off by default)');
    if (options.batch > model.maxBatch) throw new Error(`batch ${options.batch} exceeds the model's capacity ${model.maxBatch}`);
    if (model.ctx !== ctx) throw new Error("the network was built on another GPU context (new Network(ctx, …) with this trainer's ctx)");
    checkSeed(options.seed, 'seed (of the shuffles and rotations)');
    // Regression: float targets (and a squared-error loss: LossHead says so), in both splits.
    this.regression = train.kind === 'tensors' && train.targets !== undefined;
    for (const split of test ? [train, test] : [train]) this.checkSplit(split);
    if (options.augment === true && train.kind !== 'images') throw new Error(`Trainer: augment: true rotates images; the ${train.name} split holds float inputs: crop and flip them with augment: { padding, horizontalFlip }, or leave augment off`);
    this.cropFlip = typeof options.augment === 'object' ? checkTensorAugment(options.augment, train) : undefined;
    this.trainHead = new LossHead(ctx, model, 'train', { targets: this.regression });
    this.testHead = new LossHead(ctx, model, 'test', { targets: this.regression });
    this.snapshots = new MetricsSnapshots(ctx.device, this.trainHead, model.health);
  }

  /** The tensors a snapshot holds, by name. */
  private stateTensors(): [string, Tensor<ElementType>][] {
    const { model, trainHead } = this;
    const list: [string, Tensor<ElementType>][] = [];
    for (const p of model.parameters) {
      list.push([p.name, p.value]);
      for (const [state, tensor] of Object.entries(p.state)) list.push([`${p.name}/${state}`, tensor]);
    }
    for (const b of model.buffers) list.push([b.name, b.value]);
    list.push(['train metrics', trainHead.metrics], ['train counts', trainHead.counts as Tensor<ElementType>], ['divergence guard', model.health as Tensor<ElementType>]);
    return list;
  }

  /**
   * Copies the training state to the host (one read-back; waits for the GPU). Refuses a state
   * that has diverged: a snapshot is always one to go back to.
   */
  async snapshot(epoch: number, step: number): Promise<TrainingSnapshot> {
    const named = this.stateTensors();
    const values = await this.ctx.readMany(named.map(([, t]) => t));
    const health = values[values.length - 1] as Uint32Array;
    if (health[0] !== HEALTH_NONE) await this.throwDivergence(epoch, this.model.stepsTaken - step);
    const { stepsTaken, optimizerOrigin, lrFactor, plateau, scheduleFrom } = this.model;
    return { epoch, step, stepsTaken, optimizerOrigin, lrFactor, ...(plateau ? { plateau } : {}), ...(scheduleFrom ? { scheduleFrom } : {}), tensors: new Map(named.map(([name], k) => [name, values[k]!])) };
  }

  /** Writes a snapshot's state into this trainer's model (same network, any device). */
  restore(snapshot: TrainingSnapshot): void {
    const named = this.stateTensors();
    for (const [name] of named) if (!snapshot.tensors.has(name)) throw new Error(`restore: the snapshot has no '${name}' (another network?)`);
    for (const [name, tensor] of named) this.ctx.write(tensor, snapshot.tensors.get(name)!);
    this.model.stepsTaken = snapshot.stepsTaken;
    this.model.optimizerOrigin = snapshot.optimizerOrigin;
    this.model.lrFactor = snapshot.lrFactor;
    if (snapshot.plateau) this.model.plateau = snapshot.plateau;
    // A network rebuilt after a device loss goes on with a loaded checkpoint's stepped schedule as the lost one did.
    if (snapshot.scheduleFrom) this.model.scheduleFrom = snapshot.scheduleFrom;
  }

  /** Reads the divergence guard and throws its verdict, naming the epoch and step (`epochStart`: steps taken before the epoch). */
  private async throwDivergence(epoch: number, epochStart: number): Promise<void> {
    const divergence = await this.model.divergence();
    if (!divergence) return;
    throw new DivergenceError(epoch, divergence.step - epochStart, divergence, this.model.parameters.length);
  }

  /**
   * The end of an epoch's check, beyond the guard: every weight and running statistic within what
   * a checkpoint may hold (finite, within its bound: src/checkpoint/checkpoint.ts), so that what
   * the epoch's end saves can be loaded again.
   */
  private async throwUnsoundState(epoch: number, epochStart: number): Promise<void> {
    const { model } = this;
    // Under the names the checkpoint gives them (their rules go by name): weights, optimizer state, buffers.
    const named = [
      ...model.parameters.flatMap((p) => [[p.name, p.value] as const, ...Object.entries(p.state).map(([state, t]) => [`optimizer.${p.name}.${state}`, t] as const)]),
      ...model.buffers.map((b) => [b.name, b.value] as const),
    ];
    const values = await this.ctx.readMany(named.map(([, t]) => t));
    const bad = named.map(([name], k) => [name, checkTensorValues(name, values[k] as Float32Array)] as const).filter(([, problem]) => problem !== undefined);
    if (bad.length === 0) return;
    const step = model.stepsTaken;
    const detail = `${bad[0]![0]} ${bad[0]![1]}${bad.length > 1 ? ` (and ${bad.length - 1} more tensors)` : ''}`;
    throw new DivergenceError(epoch, step - epochStart, { step, loss: false, parameters: [], state: bad.map(([name]) => name), atEpochEnd: detail }, model.parameters.length);
  }

  /** Steps in one epoch (the last batch may be smaller). */
  get stepsPerEpoch(): number {
    return Math.ceil(this.train.count / this.options.batch);
  }

  /** The bound kernels of one step (train) or one batch (eval), built once per split, size and mode. */
  program(split: GpuSplit, batch: number, mode: Mode): Promise<{ batch: BatchKernel; rest: Dispatch[] }> {
    let programs = this.programs.get(split);
    if (!programs) this.programs.set(split, (programs = new Map()));
    const key = `${batch}/${mode}`;
    let program = programs.get(key);
    if (!program) {
      program = this.buildProgram(split, batch, mode);
      programs.set(key, program);
    }
    return program;
  }

  /**
   * Builds, all at once, the programs a run will use: a training step at the batch size and at the
   * epoch's last, smaller size; an evaluation batch at both of the test split's sizes; the
   * shuffle. Without it each is built where first used, and its pipelines' creation is counted in
   * the first epoch's time and in its evaluation's: on a fresh GPU machine the driver compiles
   * there (an H200: 4.1 s for the first 9 steps of an epoch that then took 1.2 s), so that the
   * first epoch's samples/s and a time-left estimate read the compiles, not the training. Returns
   * the pipelines created meanwhile (GpuContext.pipelineTimes: their times overlap, so `seconds`,
   * the wall time, is what the run waited). `maxSteps`: the run's steps in all (`--steps`), where
   * fewer than an epoch's, so that its last, smaller batch is never reached.
   */
  async prepare(maxSteps?: number): Promise<{ pipelines: number; seconds: number; longest?: { kernel: string; ms: number } }> {
    const { ctx, train, test } = this;
    const { batch } = this.options;
    const before = ctx.pipelineTimes.length;
    const started = performance.now();
    const trainSizes = maxSteps !== undefined && maxSteps < this.stepsPerEpoch ? [Math.min(batch, train.count)] : this.batchSizes(train.count);
    await Promise.all([
      ...trainSizes.map((size) => this.program(train, size, 'train')),
      ...(test ? [this.evalPrograms(test)] : []),
      this.options.shuffle === false ? undefined : (this.shuffler ??= shuffleDispatch(ctx, train, this.options.seed, RANDOM_STREAM.shuffle)),
    ]);
    const created = ctx.pipelineTimes.slice(before);
    const longest = created.reduce<{ kernel: string; ms: number } | undefined>((a, b) => (a === undefined || b.ms > a.ms ? { kernel: b.kernel, ms: b.ms } : a), undefined);
    return { pipelines: created.length, seconds: (performance.now() - started) / 1000, ...(longest ? { longest } : {}) };
  }

  /** The batch sizes of a walk over `count` samples: the batch, and the last, smaller one. */
  private batchSizes(count: number): number[] {
    const { batch } = this.options;
    return [...new Set([Math.min(batch, count), count % batch].filter((n) => n > 0))];
  }

  /**
   * The evaluation programs of every batch size of `split`, built before its first batch runs: a
   * size the network refuses (a last batch of 1 through a batch norm without running statistics)
   * is refused before any batch's work, not after the others ran.
   */
  private async evalPrograms(split: GpuSplit): Promise<void> {
    await Promise.all(this.batchSizes(split.count).map((size) => this.program(split, size, 'eval')));
  }

  private async buildProgram(split: GpuSplit, batch: number, mode: Mode): Promise<{ batch: BatchKernel; rest: Dispatch[] }> {
    const { model, options } = this;
    const head = mode === 'train' ? this.trainHead : this.testHead;
    const augment = mode === 'train' && options.augment !== undefined && options.augment !== false;
    // The step's parts are bound at once, so that their kernels compile together (Network.forward).
    const train = mode === 'train';
    const [batchKernel, ...parts] = await Promise.all([
      this.batchKernel(split, batch, augment, head),
      model.forward(batch, mode),
      head.dispatches(batch, train),
      train ? model.backward(batch) : [],
      train ? model.optimizerStep() : [],
    ]);
    return { batch: batchKernel, rest: parts.flat() };
  }

  /** The kernel that cuts a batch from the split into the model's input and the head's labels. */
  /** The crop and flip of a float data set's training batches (Trainer's `augment` object), checked. */
  private readonly cropFlip: CropFlipSettings | undefined;
  /** cropFlip's fills on the GPU, one value a channel (made by the first batch kernel that crops). */
  private cropFills: Tensor<'f32'> | undefined;

  private async batchKernel(split: GpuSplit, batch: number, augment: boolean, head: LossHead): Promise<BatchKernel> {
    const { ctx, model, options } = this;
    // (A tensor split's kernel takes the epoch where it crops and flips: its draws are the epoch's.)
    if (split.kind === 'tensors') {
      const tensors = { labels: split.labels, order: split.order, images: model.input, batchLabels: head.labels };
      const crop = augment ? this.cropFlip : undefined;
      // A colour split's bytes are looked up a channel (BYTES): its planes' height and width, cropped or not.
      const bytes = split.table !== undefined;
      const params = {
        count: split.count,
        first: 0,
        batch,
        size: shapeSize(split.shape),
        targetSize: split.targetSize ?? 0,
        height: crop?.height ?? (bytes ? split.shape.at(-2)! : 0),
        width: crop?.width ?? (bytes ? split.shape.at(-1)! : 0),
        padding: crop?.padding ?? 0,
        flipP: crop?.flipP ?? 0,
        seed: options.seed,
        stream: RANDOM_STREAM.cropFlip,
        epoch: 0,
      };
      const targets = !crop && split.targets !== undefined && head.targets !== undefined;
      const kernel = await ctx.compile(gatherBatch, { ...(crop ? { CROP_FLIP: true } : targets ? { TARGETS: true } : {}), ...(bytes ? { BYTES: true } : {}) });
      // The padding's value a channel, uploaded once (every batch size's kernel binds it).
      const fills = crop ? (this.cropFills ??= ctx.tensor(`${split.name} crop fills`, [crop.fills.length], { data: crop.fills })) : undefined;
      // One dispatch a window of the inputs, each writing the batch's samples it holds.
      const windows = split.windows.map((w, k) =>
        kernel.bind(
          { ...tensors, ...('inputs' in w ? { inputs: w.inputs } : { pixels: w.pixels, table: split.table }), ...(fills ? { fills } : {}), ...(targets ? { targets: split.targets, batchTargets: head.targets } : {}) } as never,
          { ...params, windowFirst: w.first, windowCount: w.count },
          `${split.name} batch${split.windows.length > 1 ? ` (window ${k + 1} of ${split.windows.length})` : ''}`,
        ),
      );
      if (windows.length === 1) return windows[0]!;
      return {
        label: `${split.name} batch`,
        record: (pass) => windows.forEach((w) => w.record(pass)),
        update: (p) => windows.forEach((w) => w.update(p)),
        destroy: () => windows.forEach((w) => w.destroy?.()),
      };
    }
    return (await ctx.compile(mnistBatch)).bind(
      { pixels: split.pixels, labels: split.labels, order: split.order, images: model.input, batchLabels: head.labels },
      {
        count: split.count,
        first: 0,
        batch,
        rows: split.rows,
        cols: split.cols,
        augment: augment ? 1 : 0,
        maxDegrees: options.maxDegrees ?? MNIST_INPUT.maxDegrees,
        fill: MNIST_INPUT.fill,
        mean: MNIST_INPUT.mean,
        deviation: MNIST_INPUT.deviation,
        seed: options.seed,
        stream: RANDOM_STREAM.rotation,
        epoch: 0,
      },
      `${split.name} batch`,
    );
  }

  /** Writes the epoch's order of the training set (seeded shuffle on the GPU, or in order). */
  private async order(epoch: number): Promise<void> {
    if (this.options.shuffle === false) return;
    this.shuffler ??= shuffleDispatch(this.ctx, this.train, this.options.seed, RANDOM_STREAM.shuffle);
    const shuffle = await this.shuffler;
    shuffle.update({ epoch });
    this.ctx.submit(`shuffle epoch ${epoch}`, (e) => recordPass(e, 'shuffle', [shuffle]));
  }

  /**
   * Trains one epoch (1-based `epoch`). `maxSteps` stops early (for `--steps`); `onProgress`
   * receives running metrics as they arrive, without stalling the GPU. Between steps the loop
   * awaits `between()` if given (a page pauses there; that time is left out of `seconds` and
   * samples/s) and ends early once `signal` is aborted; `steps` in the result counts the epoch's steps taken (with `fromStep`, those before too).
   */
  async trainEpoch(
    epoch: number,
    options: {
      maxSteps?: number;
      onProgress?: (p: Progress) => void;
      signal?: AbortSignal;
      between?: () => Promise<void>;
      /** Steps of this epoch taken already (a resumed snapshot's; the state is restored), and their samples. */
      fromStep?: number;
      fromSamples?: number;
      snapshotEvery?: number;
      onSnapshot?: (snapshot: TrainingSnapshot) => void;
    } = {},
  ): Promise<EpochResult> {
    const { ctx, model, train } = this;
    const { batch } = this.options;
    // 1-based, as the notebook's loop: it keys the shuffle, the rotations and the schedule (epoch − 1 done).
    if (!Number.isInteger(epoch) || epoch < 1) throw new RangeError(`trainEpoch: epoch is 1-based (the first is 1: it keys the shuffle and the schedule), got ${JSON.stringify(epoch)}`);
    const fromStep = options.fromStep ?? 0;
    const steps = Math.min(this.stepsPerEpoch, fromStep + (options.maxSteps ?? Infinity));
    this.checkTrainingBatches(fromStep, steps);
    this.checkSchedule(epoch, steps - fromStep);
    const epochStart = model.stepsTaken - fromStep;
    await this.order(epoch);
    if (fromStep === 0) this.trainHead.reset();
    const start = performance.now();
    let previous: Promise<unknown> = Promise.resolve();
    const progressEvery = Math.max(1, Math.round(steps / 50));
    let taken = 0;
    let pausedMs = 0;
    let diverged = false;
    // Progress of this call only: a read-back that lands after it failed (a divergence, a lost
    // device) is dropped, not shown after the recovery.
    let live = true;
    // Speeds count this call's samples, not those of a resumed snapshot.
    const fromSamples = options.fromSamples ?? 0;
    try {
      for (let step = fromStep; step < steps; step++) {
        if (diverged) break;
        if (options.snapshotEvery && options.onSnapshot && step > fromStep && step % options.snapshotEvery === 0) {
          options.onSnapshot(await this.snapshot(epoch, step));
        }
        if (options.between) {
          const t0 = performance.now();
          await options.between();
          pausedMs += performance.now() - t0;
        }
        if (options.signal?.aborted) break;
        const first = step * batch;
        const size = Math.min(batch, train.count - first);
        const program = await this.program(train, size, 'train');
        program.batch.update({ first, epoch });
        model.beginStep(size, epoch - 1);
        let snapshot: GPUBuffer | undefined;
        ctx.submit(`train step ${model.stepsTaken}`, (encoder) => {
          recordPass(encoder, 'train step', [program.batch, ...program.rest]);
          if (options.onProgress && (step % progressEvery === progressEvery - 1 || step === steps - 1)) snapshot = this.snapshots.record(encoder);
        });
        model.stepsTaken++;
        taken++;
        if (snapshot && options.onProgress) {
          const done = step + 1;
          const report = options.onProgress;
          this.snapshots.deliver(snapshot, (loss, correct, seen, ignored, firstBadStep) => {
            if (!live) return;
            if (firstBadStep !== HEALTH_NONE) diverged = true;
            const seconds = (performance.now() - start - pausedMs) / 1000;
            report({ step: done, steps, loss, accuracy: this.percent(correct, seen - ignored), samples: seen, seconds, samplesPerSecond: (seen - fromSamples) / seconds });
          });
        }
        // At most two steps in flight: wait for the one before this.
        await previous;
        ctx.throwIfLost();
        previous = ctx.submitted();
      }
      await previous;
      ctx.throwIfLost();
      // Before anything reads the epoch's results (an evaluation, a checkpoint): did it diverge?
      await this.throwDivergence(epoch, epochStart);
      await this.throwUnsoundState(epoch, epochStart);
    } catch (error) {
      live = false;
      throw error;
    }
    const totals = await this.trainHead.read();
    // Time spent waiting in between() (a paused page) is not training time.
    const seconds = (performance.now() - start - pausedMs) / 1000;
    return {
      epoch,
      steps: fromStep + taken,
      samples: totals.count,
      trainLoss: totals.lossSum / Math.max(1, totals.count),
      trainAccuracy: this.percent(totals.correct, scoredSamples(totals)),
      lastBatchLoss: totals.batchLoss,
      seconds,
      samplesPerSecond: (totals.count - fromSamples) / seconds,
    };
  }

  /**
   * The training run, the same for the CLI and the page: epochs `firstEpoch` … `firstEpoch +
   * epochs − 1`, each trained then evaluated on the test split (where the trainer has one), until `maxSteps` optimizer steps in
   * all (a cut epoch is still evaluated) or `signal` aborts (an epoch stopped inside is not).
   * `onEpoch` is awaited after each evaluation: it saves checkpoints, prints or draws.
   */
  async fit(options: FitOptions): Promise<FitResult> {
    if (!Number.isInteger(options.firstEpoch) || options.firstEpoch < 1) throw new RangeError(`fit: firstEpoch is 1-based (it keys the shuffle and the schedule), got ${JSON.stringify(options.firstEpoch)}`);
    if (!Number.isInteger(options.epochs) || options.epochs < 0) throw new RangeError(`fit: epochs must be a whole number ≥ 0, got ${JSON.stringify(options.epochs)}`);
    const history: EpochRecord[] = [];
    let best: EpochRecord | undefined;
    let stepsLeft = options.maxSteps ?? Infinity;
    const schedule = this.model.optimizer.schedule;
    // ReduceLROnPlateau's metric: the test loss by default, the training loss without a test split.
    const plateauMetric = schedule.kind === 'plateau' ? schedule.metric ?? (this.test ? 'test-loss' : 'train-loss') : undefined;
    if (plateauMetric?.endsWith('accuracy') && this.regression) throw new RangeError(`fit: ReduceLROnPlateau's metric ${plateauMetric} is NaN for a regression (no classes): choose ${this.test ? 'test-loss or ' : ''}train-loss`);
    if (plateauMetric?.startsWith('test') && !this.test) throw new RangeError(`fit: ReduceLROnPlateau's metric ${plateauMetric} needs a test split, and this trainer has none: give one, or metric 'train-loss' or 'train-accuracy'`);
    const resume = options.resume;
    const from = resume?.epoch ?? options.firstEpoch;
    for (let epoch = from; epoch < options.firstEpoch + options.epochs && stepsLeft > 0; epoch++) {
      if (options.signal?.aborted) break;
      const fromStep = epoch === resume?.epoch ? resume.step : epoch === options.firstEpoch ? options.firstEpochFromStep ?? 0 : 0;
      // A checkpoint's part-way epoch: its metrics so far (a snapshot's come with its tensors).
      const carried = !(resume && epoch === resume.epoch) && epoch === options.firstEpoch && fromStep > 0 ? options.firstEpochMetrics : undefined;
      if (carried) this.trainHead.restore(carried);
      if (options.onSnapshot && !(resume && epoch === resume.epoch)) options.onSnapshot(await this.snapshot(epoch, fromStep));
      options.onEpochStart?.(epoch, fromStep);
      const planned = Math.min(this.stepsPerEpoch - fromStep, stepsLeft);
      const train = await this.trainEpoch(epoch, {
        maxSteps: stepsLeft,
        signal: options.signal,
        between: options.between,
        onProgress: options.onProgress && ((p) => options.onProgress!(epoch, p)),
        fromStep,
        fromSamples: fromStep > 0 ? Number(resume?.tensors.get('train counts')?.[1] ?? carried?.count ?? 0) : 0,
        snapshotEvery: options.snapshotEvery,
        onSnapshot: options.onSnapshot,
      });
      stepsLeft -= train.steps - fromStep;
      if (options.signal?.aborted && train.steps - fromStep < planned) break;
      const test = this.test ? await (options.evaluate ?? ((run) => run()))(() => this.evaluate()) : undefined;
      // ReduceLROnPlateau steps on a whole epoch's metric before anything is saved (onEpoch); an
      // epoch cut short (maxSteps) is stepped when a continued run completes it.
      const metric = { 'test-loss': test?.loss, 'test-accuracy': test?.accuracy, 'train-loss': train.trainLoss, 'train-accuracy': train.trainAccuracy };
      const whole = train.steps >= this.stepsPerEpoch;
      const plateau = plateauMetric && whole ? this.model.stepPlateau(metric[plateauMetric]!) : undefined;
      const record = { epoch, train, ...(test ? { test } : {}), best: this.beatsRecord(test, best), ...(plateau ? { plateau } : {}) };
      if (record.best) best = record;
      history.push(record);
      await options.onEpoch?.(record);
    }
    return { history, best };
  }

  /**
   * The training batches of steps `from` … `to` − 1 of an epoch, checked before the first is
   * taken: a batch norm in training needs two values per channel (PyTorch raises "Expected more
   * than 1 value per channel when training"); with one its output is its bias and nothing before
   * it learns. (Evaluation uses the running statistics: any batch is fine there.)
   */
  private checkTrainingBatches(from: number, to: number): void {
    const { batch } = this.options;
    const count = this.train.count;
    const sizes = new Set<number>();
    if (from < to) sizes.add(Math.min(batch, count - from * batch)).add(Math.min(batch, count - (to - 1) * batch));
    for (const node of this.model.plan.scheduled) {
      if (node.layer.type !== 'BatchNorm1d' && node.layer.type !== 'BatchNorm2d') continue;
      if (!sizes.has(1) || shapeSize(node.inShape.slice(1)) !== 1) continue;
      const which = batch === 1 ? 'batch 1' : `the last batch of the ${count} training samples at batch ${batch}`;
      throw new RangeError(`${node.layer.type} '${node.path}': 1 value per channel in a training batch of 1 (${which}), as PyTorch refuses too ("Expected more than 1 value per channel when training"); choose a batch size that leaves no batch of 1`);
    }
  }

  /**
   * OneCycleLR cannot step past its total_steps (PyTorch raises at that step): said before the
   * epoch's first step, not in its middle with the epoch's steps lost.
   */
  private checkSchedule(epoch: number, steps: number): void {
    const { schedule } = this.model.optimizer;
    if (schedule.kind !== 'onecycle' || steps <= 0) return;
    const first = this.model.optimizerSteps + 1;
    const last = this.model.optimizerSteps + steps;
    if (last <= schedule.totalSteps) return;
    throw new RangeError(`OneCycleLR: epoch ${epoch} would take steps ${first} … ${last}, past total_steps ${schedule.totalSteps} (as PyTorch, it cannot step further); ` +
      (first > schedule.totalSteps ? 'the cycle is over' : `${schedule.totalSteps - first + 1} step${schedule.totalSteps === first ? ' is' : 's are'} left (trainEpoch's maxSteps)`) + '; a longer run needs a totalSteps that covers it');
  }

  /** A split this trainer's model can read: on its device, of its input's shape, labels within its outputs. */
  private checkSplit(split: GpuSplit): void {
    const { model } = this;
    if (split.context !== this.ctx) throw new Error(`the ${split.name} split was uploaded to another GPU context (uploadSplit(ctx, …) with this trainer's ctx)`);
    const problem = splitShapeProblem(split, model.plan.inputShape);
    if (problem) throw new Error(`the ${split.name} split's samples ${problem}; the model takes [${model.plan.inputShape.join(', ')}] per sample`);
    const targets = split.kind === 'tensors' && split.targets !== undefined;
    if (targets !== this.regression) {
      throw new Error(`the ${split.name} split holds ${targets ? 'targets (regression)' : 'class labels'}, the train split ${this.regression ? 'targets' : 'class labels'}: give every split the same kind`);
    }
    if (split.kind === 'tensors' && split.targetSize !== undefined && split.targetSize !== model.plan.classes) {
      throw new Error(`the ${split.name} split has ${split.targetSize} targets a sample; the model has ${model.plan.classes} output${model.plan.classes === 1 ? '' : 's'}`);
    }
    // A label past the model's outputs would be read out of bounds by the loss, not refused by it.
    // A label that is not the loss's ignore index must be one of the outputs.
    const labels = targets ? undefined : labelProblem(split, model.plan.classes, model.plan.ignoreIndex);
    if (labels) throw new Error(labels);
    // An Embedding that reads the split's inputs (only views before it) takes them as token ids.
    const first = model.plan.nodes.find((n) => !n.layer.view);
    if (first?.layer instanceof Embedding) {
      const ids = idProblem(split, first.layer.numEmbeddings, `layer '${first.path}' (Embedding)`);
      if (ids) throw new Error(ids);
    }
  }

  /** Whether an epoch's evaluation makes it the best so far (the first evaluated one is); never without an evaluation (no test split). */
  beatsRecord(evaluation: EvalResult | undefined, best: EpochRecord | undefined): boolean {
    if (!evaluation) return false;
    return !best?.test || this.beats(evaluation, best.test);
  }

  /** Whether an evaluation beats the best so far: a higher test accuracy, or a regression's lower test loss. */
  beats(evaluation: EvalResult, best: EvalResult): boolean {
    return this.regression ? evaluation.loss < best.loss : evaluation.accuracy > best.accuracy;
  }

  /** An accuracy in % (NaN for a regression: its samples have no class). */
  private percent(correct: number, count: number): number {
    return this.regression ? NaN : (100 * correct) / Math.max(1, count);
  }

  /** The training split's running metrics of the epoch so far (what `firstEpochMetrics` takes back). */
  runningMetrics(): Promise<RunningMetrics> {
    return this.trainHead.read();
  }

  /** Evaluates the model (eval mode: running statistics, no dropout) on the test split, or the split given. */
  async evaluate(split: GpuSplit | undefined = this.test): Promise<EvalResult> {
    if (!split) throw new Error('evaluate: this trainer has no test split; give the split to evaluate (trainer.evaluate(split))');
    if (split !== this.test) this.checkSplit(split);
    const { ctx } = this;
    const { batch } = this.options;
    await this.evalPrograms(split);
    this.testHead.reset();
    let previous: Promise<unknown> = Promise.resolve();
    for (let first = 0; first < split.count; first += batch) {
      const size = Math.min(batch, split.count - first);
      const program = await this.program(split, size, 'eval');
      program.batch.update({ first, epoch: 0 });
      ctx.submit('eval step', (e) => recordPass(e, 'eval step', [program.batch, ...program.rest]));
      await previous;
      previous = ctx.submitted();
    }
    const totals = await this.testHead.read();
    return { loss: totals.lossSum / totals.count, correct: totals.correct, count: scoredSamples(totals), accuracy: this.percent(totals.correct, scoredSamples(totals)) };
  }

  /** Class probabilities of every sample of `split` (a squared or absolute error's scores, a regression's outputs), in eval mode: [count][classes]. */
  async probabilities(split: GpuSplit): Promise<number[][]> {
    if (split !== this.test && split !== this.train) this.checkSplit(split);
    const { ctx } = this;
    const { batch } = this.options;
    await this.evalPrograms(split);
    const classes = this.model.plan.classes;
    const rows: number[][] = [];
    for (let first = 0; first < split.count; first += batch) {
      const size = Math.min(batch, split.count - first);
      const program = await this.program(split, size, 'eval');
      program.batch.update({ first, epoch: 0 });
      ctx.submit('classify', (e) => recordPass(e, 'classify', [program.batch, ...program.rest]));
      const out = await ctx.read(this.testHead.logp);
      // The loss's reading of its outputs (LossHead.probability): exp of log-probabilities, a sigmoid of BCE's logits, else as they are.
      const toValue = this.testHead.probability;
      for (let b = 0; b < size; b++) rows.push(Array.from(out.subarray(b * classes, (b + 1) * classes), toValue));
    }
    return rows;
  }
}

interface CropFlipSettings {
  readonly height: number;
  readonly width: number;
  readonly padding: number;
  readonly flipP: number;
  /** The padding's value a channel (float32). */
  readonly fills: Float32Array;
}

/** Trainer's `augment` object against the training split: whole-number padding, p in [0, 1], [C, H, W] or [H, W] samples, no float targets. */
function checkTensorAugment(augment: TensorAugment, train: GpuSplit): CropFlipSettings {
  checkOptions('Trainer augment', augment, ['padding', 'fill', 'horizontalFlip']);
  const { padding = 0, fill = 0, horizontalFlip = false } = augment;
  if (typeof padding !== 'number' || !Number.isInteger(padding) || padding < 0 || padding > 4096) throw new RangeError(`Trainer augment: padding must be a whole number of pixels from 0 to 4096, got ${shownValue(padding)}`);
  const fillList: readonly unknown[] = Array.isArray(fill) ? fill : [fill];
  if (fillList.length === 0 || !fillList.every((v) => typeof v === 'number' && Number.isFinite(v))) throw new RangeError(`Trainer augment: fill must be a finite number, or a list of them one a channel, got ${shownValue(fill)}`);
  const flipP = horizontalFlip === true ? 0.5 : horizontalFlip === false ? 0 : horizontalFlip;
  if (typeof flipP !== 'number' || !(flipP >= 0 && flipP <= 1)) throw new RangeError(`Trainer augment: horizontalFlip must be true, false or a probability from 0 to 1, got ${shownValue(horizontalFlip)}`);
  if (padding === 0 && flipP === 0) throw new RangeError('Trainer augment: neither padding nor horizontalFlip: the object crops and flips nothing (give { padding: 4 }, { horizontalFlip: true } or both; leave augment out for none)');
  if (train.kind !== 'tensors') throw new Error(`Trainer augment: an object crops and flips a float data set's samples; the ${train.name} split holds images: augment: true rotates them`);
  if (train.targets !== undefined) throw new Error(`Trainer augment: the ${train.name} split has float targets, which a crop and flip of the inputs would leave behind (leave augment off)`);
  if (train.shape.length !== 2 && train.shape.length !== 3) throw new Error(`Trainer augment: crops and flips samples of [C, H, W] or [H, W]; the ${train.name} split's are [${train.shape.join(', ')}]`);
  const channels = train.shape.length === 3 ? train.shape[0]! : 1;
  if (fillList.length !== 1 && fillList.length !== channels) throw new RangeError(`Trainer augment: fill gives ${fillList.length} values; the ${train.name} split's samples of [${train.shape.join(', ')}] have ${channels} channel${channels === 1 ? '' : 's'} (one value a channel, or one for all)`);
  return { height: train.shape.at(-2)!, width: train.shape.at(-1)!, padding, flipP, fills: Float32Array.from({ length: channels }, (_, c) => (fillList.length === 1 ? fillList[0] : fillList[c]) as number) };
}
