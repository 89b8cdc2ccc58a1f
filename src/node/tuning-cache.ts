/**
 * The tuning cache in Node: one JSON file, `$XDG_CACHE_HOME/webgpu-backprop/tuning.json`
 * (default `~/.cache/…`; WEBGPU_BACKPROP_TUNING_CACHE names another file). Written atomically; a
 * file that cannot be read as a cache is reported and replaced on the next save, never trusted.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import type { StoredChoice, TuningStore } from '../tune/tuner.js';
import { AtomicWriteError, writeFileAtomic } from './atomic-write.js';

export const TUNING_CACHE_ENV = 'WEBGPU_BACKPROP_TUNING_CACHE';

export function defaultTuningCachePath(env: NodeJS.ProcessEnv = process.env): string {
  if (env[TUNING_CACHE_ENV]) return env[TUNING_CACHE_ENV]!;
  const base = env.XDG_CACHE_HOME && env.XDG_CACHE_HOME.startsWith('/') ? env.XDG_CACHE_HOME : join(homedir(), '.cache');
  return join(base, 'webgpu-backprop', 'tuning.json');
}

const isTile = (t: unknown): boolean => {
  const o = t as Record<string, unknown> | null;
  // A conv tile (rows, channels, workgroup) or a dense one (rows, cols, workgroup).
  return !!o && [o.rows, o.channels ?? o.cols, o.workgroup].every((n) => Number.isInteger(n) && (n as number) > 0);
};

export class FileTuningStore implements TuningStore {
  constructor(
    readonly location: string = defaultTuningCachePath(),
    private readonly warn: (line: string) => void = (line) => process.stderr.write(`${line}\n`),
  ) {}

  async load(): Promise<Record<string, StoredChoice>> {
    let text: string;
    try {
      text = await readFile(this.location, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return {};
      this.warn(`tuning cache ${this.location}: cannot read it (${(e as Error).message}); tuning again`);
      return {};
    }
    try {
      const data = JSON.parse(text) as { version?: number; entries?: Record<string, StoredChoice> };
      if (data.version !== 1 || typeof data.entries !== 'object' || data.entries === null) throw new Error('expected { "version": 1, "entries": { … } }');
      const entries: Record<string, StoredChoice> = {};
      for (const [key, value] of Object.entries(data.entries)) {
        if (isTile(value?.tile) && Number.isFinite(value.ms) && Number.isFinite(value.defaultMs)) entries[key] = value;
      }
      return entries;
    } catch (e) {
      this.warn(`tuning cache ${this.location}: not a tuning cache (${(e as Error).message}); it will be replaced`);
      return {};
    }
  }

  private saveFailed = false;

  /**
   * Writes the choices; a cache that cannot be written (a read-only home, a path through a file)
   * is said once and the run goes on with its choices: the cache only saves time (it stopped
   * training with a bare ENOENT).
   */
  async save(entries: Record<string, StoredChoice>): Promise<void> {
    try {
      await mkdir(dirname(this.location), { recursive: true });
      await writeFileAtomic(this.location, new TextEncoder().encode(`${JSON.stringify({ version: 1, entries }, null, 1)}\n`));
    } catch (e) {
      if (this.saveFailed) return;
      this.saveFailed = true;
      const reason = e instanceof AtomicWriteError ? e.reason : (e as Error).message;
      this.warn(`tuning cache ${this.location}: cannot save the tuned choices (${reason}); this run goes on with them, a later one tunes again (${TUNING_CACHE_ENV} names another file; --tune off skips tuning)`);
    }
  }
}
