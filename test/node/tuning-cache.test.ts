/**
 * The Node tuning cache: a cache that cannot be written is said once and the run goes on (it
 * stopped training with a bare ENOENT); one that can is read back.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { FileTuningStore } from '../../src/node/tuning-cache.js';
import type { StoredChoice } from '../../src/tune/tuner.js';

const choice: StoredChoice = { tile: { rows: 2, channels: 8, workgroup: 64 }, ms: 1.5, defaultMs: 2 } as StoredChoice;

describe('FileTuningStore', () => {
  test('saves and loads its choices', async () => {
    const store = new FileTuningStore(join(mkdtempSync(join(tmpdir(), 'tuning-')), 'sub', 'tuning.json'), () => {});
    await store.save({ key: choice });
    expect(await store.load()).toEqual({ key: choice });
  });

  test('a cache that cannot be written is said once, naming the file, and the save does not throw', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tuning-'));
    writeFileSync(join(dir, 'a-file'), 'x');
    const location = join(dir, 'a-file', 'tuning.json'); // a path through a file: mkdir fails
    const lines: string[] = [];
    const store = new FileTuningStore(location, (line) => lines.push(line));
    await store.save({ key: choice });
    await store.save({ key: choice });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^tuning cache ${location}: cannot save the tuned choices \\(.*(ENOTDIR|EEXIST).*\\); this run goes on with them, a later one tunes again \\(WEBGPU_BACKPROP_TUNING_CACHE names another file; --tune off skips tuning\\)$`));
    expect(await store.load()).toEqual({});
  });
});
