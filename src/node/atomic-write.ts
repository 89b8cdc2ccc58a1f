/**
 * Writing a file so that a reader sees the old content or the new, never half of it: the bytes
 * go to `<path>.tmp-<pid>-<random>` in the same directory, are fsynced, the temporary file is
 * renamed over the target, and the directory is fsynced so that the rename survives a power loss.
 * On failure the temporary file is removed and the old file is left as it was.
 *
 * A process killed mid-write cannot remove its temporary file, so each save first removes the
 * temporary files of the same target that a dead process left: `<name>.tmp-<pid>-<hex>` whose
 * pid is no live process, or is this process's own pid (reused) on a file older than this process
 * that no write of ours is using. Nothing else in the directory is touched. (A directory shared
 * between machines or pid namespaces is beyond this check: a pid there can look dead here.)
 *
 * `checkWritable` lets a command find out before long work that a save there can succeed.
 */
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { access, open, readdir, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';

/** The temporary files this process is writing now (absolute paths): never stale. */
const inFlight = new Set<string>();
/** When this process started (ms): a temporary file with our pid made before then is a dead one's. */
const processStart = Date.now() - process.uptime() * 1000;

export async function writeFileAtomic(path: string, bytes: Uint8Array): Promise<void> {
  const directory = dirname(path);
  const temporary = `${path}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`;
  const key = resolve(temporary);
  inFlight.add(key);
  try {
    await removeStaleTemporaries(path);
    if (await isDirectory(path)) throw Object.assign(new Error('it is a directory (EISDIR)'), { code: 'EISDIR' });
    await writeAndSync(temporary, bytes);
    await rename(temporary, path);
  } catch (cause) {
    await rm(temporary, { force: true }).catch(() => {});
    throw new Error(`cannot write ${path}: ${(cause as Error).message}`, { cause });
  } finally {
    inFlight.delete(key);
  }
  try {
    await syncDirectory(directory);
  } catch (cause) {
    throw new Error(`cannot write ${path}: the file is in place but its directory ${directory} could not be synced, ` +
      `so the rename may not survive a power loss: ${(cause as Error).message}`, { cause });
  }
}

/**
 * Checks, before long work, that `writeFileAtomic(path, …)` could save there later: the parent
 * directory exists, is a directory and is writable, and the path is not a directory. Throws an
 * Error whose message is one line naming the flag, the path and what was expected. Creates nothing.
 */
export async function checkWritable(path: string, flag: string): Promise<void> {
  const fail = (what: string) => new Error(`${flag} ${path}: ${what}`);
  if (path === '') throw new Error(`${flag}: expected a file name, got ''`);
  if (/[/\\]$/.test(path)) throw fail('ends in a path separator (a directory), expected a file name');
  const directory = dirname(resolve(path));
  let info;
  try {
    info = await stat(directory);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw fail(`the directory ${directory} does not exist`);
    throw fail(`cannot check the directory ${directory} (${(e as Error).message})`);
  }
  if (!info.isDirectory()) throw fail(`${directory} is not a directory, expected the directory to save the file in`);
  try {
    await access(directory, constants.W_OK | constants.X_OK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw fail(`the directory ${directory} is not writable${code ? ` (${code})` : ''}`);
  }
  let directoryThere: boolean;
  try {
    directoryThere = await isDirectory(path);
  } catch (e) {
    throw fail(`cannot check the file (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  if (directoryThere) throw fail('is a directory, expected a file name');
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw e;
  }
}

async function writeAndSync(path: string, bytes: Uint8Array): Promise<void> {
  const file = await open(path, 'wx');
  try {
    await file.writeFile(bytes);
    await file.sync();
  } finally {
    await file.close();
  }
}

/** Error codes of platforms (Windows, some file systems) that cannot open or fsync a directory. */
const CANNOT_SYNC_DIRECTORIES = new Set(['EINVAL', 'EISDIR', 'EPERM', 'ENOTSUP', 'EOPNOTSUPP']);

async function syncDirectory(directory: string): Promise<void> {
  let handle;
  try {
    handle = await open(directory, 'r');
    await handle.sync();
  } catch (e) {
    if (!CANNOT_SYNC_DIRECTORIES.has((e as NodeJS.ErrnoException).code ?? '')) throw e;
  } finally {
    await handle?.close();
  }
}

/** Best effort: removes the temporary files of `path` that no live write owns; never throws. */
async function removeStaleTemporaries(path: string): Promise<void> {
  const directory = dirname(path);
  const prefix = `${basename(path)}.tmp-`;
  let entries;
  try {
    entries = await readdir(directory, { withFileTypes: true });
  } catch {
    return; // the write that follows reports a missing or unreadable directory
  }
  for (const entry of entries) {
    if (!entry.isFile() || !entry.name.startsWith(prefix)) continue;
    const match = /^(\d{1,10})-[0-9a-f]+$/.exec(entry.name.slice(prefix.length));
    if (!match) continue;
    const pid = Number(match[1]);
    const file = resolve(directory, entry.name);
    try {
      // Our own pid: stale only if no write of ours uses it and it predates us (a worker thread
      // shares our pid but not `inFlight`).
      const stale = pid === process.pid ? !inFlight.has(file) && (await stat(file)).mtimeMs < processStart : !isAlive(pid);
      if (stale) await rm(file, { force: true });
    } catch {
      // best effort: a file that went away or cannot be removed is no reason to fail the save
    }
  }
}

/** Whether a process with this pid exists; anything but a clear "no such process" counts as alive. */
function isAlive(pid: number): boolean {
  if (!(pid > 0 && pid <= 0x7fffffff)) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}
