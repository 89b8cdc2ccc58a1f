/**
 * The tuning cache in the browser: one IndexedDB record (database `webgpu-backprop`, store
 * `tuning`, key `choices`) holding the same entries as Node's tuning.json (src/tune/tuner.ts).
 * Where IndexedDB is unavailable (a private window may refuse it) the choices live for the page
 * only, and the store says so in `location`.
 */
import type { StoredChoice, TuningStore } from '../tune/tuner.js';

const DATABASE = 'webgpu-backprop';
const STORE = 'tuning';
const KEY = 'choices';

function request<T>(r: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error ?? new Error('IndexedDB request failed'));
  });
}

export class IndexedDbTuningStore implements TuningStore {
  location = `IndexedDB ${DATABASE}/${STORE}`;
  private memory: Record<string, StoredChoice> = {};

  private async open(): Promise<IDBDatabase | undefined> {
    if (typeof indexedDB === 'undefined') return undefined;
    try {
      const open = indexedDB.open(DATABASE, 1);
      open.onupgradeneeded = () => open.result.createObjectStore(STORE);
      return await request(open);
    } catch {
      this.location = 'memory (IndexedDB unavailable)';
      return undefined;
    }
  }

  async load(): Promise<Record<string, StoredChoice>> {
    const db = await this.open();
    if (!db) return { ...this.memory };
    try {
      const value = (await request(db.transaction(STORE, 'readonly').objectStore(STORE).get(KEY))) as { version?: number; entries?: Record<string, StoredChoice> } | undefined;
      return value?.version === 1 && value.entries ? { ...value.entries } : {};
    } finally {
      db.close();
    }
  }

  async save(entries: Record<string, StoredChoice>): Promise<void> {
    this.memory = { ...entries };
    const db = await this.open();
    if (!db) return;
    try {
      const tx = db.transaction(STORE, 'readwrite');
      tx.objectStore(STORE).put({ version: 1, entries }, KEY);
      await new Promise<void>((resolve, reject) => {
        tx.oncomplete = () => resolve();
        tx.onerror = () => reject(tx.error ?? new Error('IndexedDB write failed'));
      });
    } finally {
      db.close();
    }
  }
}
