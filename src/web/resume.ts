import { optimizerFromMetadata } from '../checkpoint/checkpoint.js';
import type { Optimizer } from '../optim/optimizers.js';
import { describeSchedule } from '../optim/schedules.js';
import { MAX_SEED } from '../reference/random.js';
import { LOSS_KINDS, type LossKind } from '../plan/fusion.js';
import { checkClipping, clippingFromMetadata, describeClipping, type ClipGradNorm } from '../optim/clipping.js';
import { CheckpointFormatError } from '../checkpoint/safetensors.js';

/**
 * What the page takes from a checkpoint it loads, as the CLI's --init does: the run's batch and
 * seed, and the optimizer it was trained with (optimizerFromMetadata: SGD, Adam, AdamW, RMSprop,
 * Adagrad, NAdam or RAdam with every setting and its schedule), whose state then goes on. The page's fields show the batch,
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
  /** SmoothL1Loss's β and HuberLoss's δ (`smooth_l1_beta`, `huber_delta`), where recorded with their loss. */
  readonly lossParameters?: { readonly smoothL1Beta?: number; readonly huberDelta?: number };
  /** The gradient clipping the run had (`clip_grad_norm`, `clip_grad_value`), as Network options; where recorded. */
  readonly clip?: { readonly clipGradNorm?: ClipGradNorm; readonly clipGradValue?: number };
  /** A sentence for the status line where the run's gradients were clipped. */
  readonly clipNote?: string;
  readonly augment?: boolean;
  readonly shuffle?: boolean;
  /** The run's training images (the CLI's `train_samples`), where the page's field takes them (≤ 60,000). */
  readonly trainSamples?: number;
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
    ...(metadata.loss === 'smooth-l1' && Number(metadata.smooth_l1_beta) >= 0 ? { lossParameters: { smoothL1Beta: Number(metadata.smooth_l1_beta) } } : {}),
    ...(metadata.loss === 'huber' && Number(metadata.huber_delta) > 0 ? { lossParameters: { huberDelta: Number(metadata.huber_delta) } } : {}),
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
