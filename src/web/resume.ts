import { MAX_SEED } from '../reference/random.js';

/**
 * What the page takes from a checkpoint it loads, as the CLI's --init does: the run's batch and
 * seed, and SGD's learning rate and momentum (the page trains with SGD). A checkpoint of another
 * optimizer keeps the page's rate and momentum, and the page says that its state is not used.
 * Only values the page's fields accept are taken.
 */
export interface PageResume {
  readonly fields: { batch?: string; seed?: string; lr?: string; momentum?: string };
  /** A sentence for the status line where the checkpoint's optimizer is not the page's. */
  readonly note?: string;
}

export function pageResume(metadata: Readonly<Record<string, string>>): PageResume {
  const fields: { -readonly [K in keyof PageResume['fields']]: string } = {};
  const take = (key: keyof PageResume['fields'], field: string, ok: (v: number) => boolean) => {
    const text = metadata[field];
    if (text !== undefined && text.trim() !== '' && ok(Number(text))) fields[key] = text;
  };
  take('batch', 'batch', (v) => Number.isInteger(v) && v >= 1 && v <= 1024);
  take('seed', 'seed', (v) => Number.isInteger(v) && v >= 0 && v <= MAX_SEED);
  const optimizer = metadata.optimizer;
  if (optimizer === undefined || optimizer === 'sgd') {
    take('lr', 'lr', (v) => v >= 0 && v <= 10);
    take('momentum', 'momentum', (v) => v >= 0 && v <= 1);
    return { fields };
  }
  return { fields, note: `It was trained with ${optimizer}; the page trains with SGD, so its ${optimizer} state is not used.` };
}
