import { ignoreIndexFromMetadata, lossWeightsFromMetadata, optimizerFromMetadata } from '../checkpoint/checkpoint.js';
import type { Optimizer } from '../optim/optimizers.js';
import { describeSchedule } from '../optim/schedules.js';
import { MAX_SEED } from '../reference/random.js';
import { LOSS_KINDS, type LossKind } from '../plan/fusion.js';
import { checkClipping, clippingFromMetadata, describeClipping, type ClipGradNorm } from '../optim/clipping.js';
import { CheckpointFormatError } from '../checkpoint/safetensors.js';

/**
 * What the page takes from a checkpoint it loads, as the CLI's --init does: the run's batch and
 * seed, and the optimizer it was trained with (optimizerFromMetadata: SGD, Adam, AdamW, RMSprop,
 * Adagrad, NAdam, RAdam, Adamax or Adadelta with every setting and its schedule), whose state then goes on. The page's fields show the batch,
 * seed, optimizer, learning rate and SGD's momentum; only values those fields accept are put in
 * them. A PyTorch state_dict names no optimizer: the page's fields choose one, from zero state.
 * Bad optimizer metadata throws (CheckpointFormatError naming the file and the field).
 */
export interface PageResume {
  readonly fields: { batch?: string; seed?: string; optimizer?: Optimizer['kind']; lr?: string; momentum?: string };
  /** The checkpoint's optimizer, which the loaded session trains with; undefined: the page's. */
  readonly optimizer?: Optimizer;
  /** A sentence for the status line: the optimizer and schedule the run goes on with. */
  readonly note?: string;
  /** The run's loss, rotation and shuffle, where the checkpoint records them (the CLI's `loss`, `augment`, `shuffle`). */
  readonly loss?: LossKind;
  /** The cross-entropy's label smoothing (the CLI's `label_smoothing`), where recorded. */
  readonly labelSmoothing?: number;
  /**
   * SmoothL1Loss's β and HuberLoss's δ (`smooth_l1_beta`, `huber_delta`), the NLL losses' per-class
   * weights (`class_weights`) and `ignore_index`, BCEWithLogitsLoss's `pos_weight` and KLDivLoss's
   * `log_target`, where recorded with their loss (a malformed weight list or ignore index is refused,
   * naming the file).
   */
  readonly lossParameters?: LossParameters;
  /** The gradient clipping the run had (`clip_grad_norm`, `clip_grad_value`), as Network options; where recorded. */
  readonly clip?: { readonly clipGradNorm?: ClipGradNorm; readonly clipGradValue?: number };
  /** A sentence for the status line where the run's gradients were clipped. */
  readonly clipNote?: string;
  readonly augment?: boolean;
  readonly shuffle?: boolean;
  /** The run's training images (the CLI's `train_samples`), where the page's field takes them (≤ 60,000). */
  readonly trainSamples?: number;
}

/** The loss's options a checkpoint carries to the page's Network. */
export interface LossParameters {
  readonly smoothL1Beta?: number;
  readonly huberDelta?: number;
  readonly classWeights?: readonly number[];
  readonly posWeight?: readonly number[];
  readonly logTarget?: boolean;
  readonly ignoreIndex?: number;
}

/** The loss's options a checkpoint records with its loss (undefined: none). */
function lossParametersOf(metadata: Readonly<Record<string, string>>, source: string): LossParameters | undefined {
  const refusedAsFormat = <T>(read: () => T): T => {
    try {
      return read();
    } catch (e) {
      throw new CheckpointFormatError(source, (e as Error).message.replace(`${source}: `, ''));
    }
  };
  const weights = (key: 'class_weights' | 'pos_weight', ...losses: string[]) => (losses.includes(metadata.loss ?? '') ? refusedAsFormat(() => lossWeightsFromMetadata(metadata, key, source)) : undefined);
  const ignoreIndex = metadata.loss === 'nll' || metadata.loss === 'cross-entropy' ? refusedAsFormat(() => ignoreIndexFromMetadata(metadata, source)) : undefined;
  const parameters: LossParameters = {
    ...(metadata.loss === 'smooth-l1' && Number(metadata.smooth_l1_beta) >= 0 ? { smoothL1Beta: Number(metadata.smooth_l1_beta) } : {}),
    ...(metadata.loss === 'huber' && Number(metadata.huber_delta) > 0 ? { huberDelta: Number(metadata.huber_delta) } : {}),
    ...(weights('class_weights', 'nll', 'cross-entropy') ? { classWeights: weights('class_weights', 'nll', 'cross-entropy') } : {}),
    ...(weights('pos_weight', 'bce-with-logits') ? { posWeight: weights('pos_weight', 'bce-with-logits') } : {}),
    ...(metadata.loss === 'kl-div' && metadata.log_target === 'true' ? { logTarget: true } : {}),
    ...(ignoreIndex !== undefined ? { ignoreIndex } : {}),
  };
  return Object.keys(parameters).length > 0 ? parameters : undefined;
}

export function pageResume(metadata: Readonly<Record<string, string>>, source: string): PageResume {
  const fields: { -readonly [K in keyof PageResume['fields']]: PageResume['fields'][K] } = {};
  const take = (key: 'batch' | 'seed' | 'lr' | 'momentum', text: string | undefined, ok: (v: number) => boolean) => {
    if (text !== undefined && text.trim() !== '' && ok(Number(text))) fields[key] = text;
  };
  take('batch', metadata.batch, (v) => Number.isInteger(v) && v >= 1 && v <= 1024);
  take('seed', metadata.seed, (v) => Number.isInteger(v) && v >= 0 && v <= MAX_SEED);
  const flag = (text: string | undefined) => (text === 'true' ? true : text === 'false' ? false : undefined);
  const run = {
    ...((LOSS_KINDS as readonly string[]).includes(metadata.loss ?? '') ? { loss: metadata.loss as LossKind } : {}),
    ...(metadata.label_smoothing !== undefined && Number(metadata.label_smoothing) >= 0 && Number(metadata.label_smoothing) <= 1 ? { labelSmoothing: Number(metadata.label_smoothing) } : {}),
    ...(lossParametersOf(metadata, source) ? { lossParameters: lossParametersOf(metadata, source) } : {}),
    ...(flag(metadata.augment) !== undefined ? { augment: flag(metadata.augment) } : {}),
    ...(flag(metadata.shuffle) !== undefined ? { shuffle: flag(metadata.shuffle) } : {}),
    ...(/^[0-9]+$/.test(metadata.train_samples ?? '') && Number(metadata.train_samples) >= 1 && Number(metadata.train_samples) <= 60_000 ? { trainSamples: Number(metadata.train_samples) } : {}),
  };
  let clip;
  try {
    clip = clippingFromMetadata(metadata);
  } catch (e) {
    throw new CheckpointFormatError(source, (e as Error).message);
  }
  const clipping = checkClipping(clip);
  if (clipping) Object.assign(run, { clip, clipNote: `Its gradients are clipped as before: ${describeClipping(clipping)}.` });
  const optimizer = optimizerFromMetadata(metadata, source);
  if (!optimizer) return { fields, ...run };
  fields.optimizer = optimizer.kind;
  take('lr', String(optimizer.lr), (v) => v >= 0);
  if (optimizer.kind === 'sgd' || optimizer.kind === 'rmsprop') take('momentum', String(optimizer.momentum), (v) => v >= 0 && v <= 1);
  const schedule = optimizer.schedule.kind === 'constant' && optimizer.schedule.warmup === undefined ? '' : `, ${describeSchedule(optimizer.schedule)}`;
  return { fields, optimizer, note: `Its optimizer goes on with its state: ${optimizer.describe()}${schedule}.`, ...run };
}
