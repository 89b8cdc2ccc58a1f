/**
 * Writing a file so that a reader sees the old content or the new, never half of it: the bytes
 * go to `<path>.tmp-<pid>-<random>` in the same directory, are fsynced, the temporary file is
 * renamed over the target, and the directory is fsynced so that the rename survives a power loss.
 * On failure the temporary file is removed and the old file is left as it was.
 *
 * What is replaced is a regular file, written as its own: a symbolic link's target (the link stays
 * a link), keeping the old file's mode (and owner, as root); a read-only file, a device, a FIFO
 * or a socket is refused (`--save /dev/null` as root would otherwise replace the device node).
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
import type { Stats } from 'node:fs';
import { access, lstat, open, readdir, readlink, realpath, rename, rm, stat } from 'node:fs/promises';
import { fileKind } from './read-file.js';
import { basename, dirname, resolve } from 'node:path';

/**
 * A write that failed: `reason` without the path; `written` when the file is in place all the same
 * (only its directory's sync failed, so the rename may not survive a power loss).
 */
export class AtomicWriteError extends Error {
  override name = 'AtomicWriteError';
  constructor(
    readonly path: string,
    readonly reason: string,
    readonly written: boolean,
    options?: ErrorOptions,
  ) {
    super(`cannot write ${path}: ${reason}`, options);
  }
}

/** The temporary files this process is writing now (absolute paths): never stale. */
const inFlight = new Set<string>();
/** When this process started (ms): a temporary file with our pid made before then is a dead one's. */
const processStart = Date.now() - process.uptime() * 1000;

export async function writeFileAtomic(path: string, bytes: Uint8Array): Promise<void> {
  let target = path;
  let temporary: string | undefined;
  try {
    const found = await replacedFile(path);
    target = found.target;
    if (found.info) {
      const refused = await refusal(target, found.info);
      if (refused) throw Object.assign(new Error(refused), { code: found.info.isDirectory() ? 'EISDIR' : 'EINVAL' });
    }
    temporary = `${target}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`;
    inFlight.add(resolve(temporary));
    await removeStaleTemporaries(target);
    await writeAndSync(temporary, bytes, found.info);
    await rename(temporary, target);
  } catch (cause) {
    if (temporary) await rm(temporary, { force: true }).catch(() => {});
    // Node names the temporary file it failed on (open '….tmp-9293-…'): the user's file is what failed.
    const reason = temporary ? (cause as Error).message.replaceAll(temporary, target) : (cause as Error).message;
    throw new AtomicWriteError(path, `${target !== path ? `(the file its link points to, ${target}) ` : ''}${reason}`, false, { cause });
  } finally {
    if (temporary) inFlight.delete(resolve(temporary));
  }
  const directory = dirname(target);
  try {
    await syncDirectory(directory);
  } catch (cause) {
    throw new AtomicWriteError(path, `the file is in place but its directory ${directory} could not be synced, ` +
      `so the rename may not survive a power loss: ${(cause as Error).message}`, true, { cause });
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
  // Through its symbolic links: the file replaced, and the directory it is replaced in, are the target's.
  let found: Awaited<ReturnType<typeof replacedFile>>;
  try {
    found = await replacedFile(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOTDIR') throw fail(`the directory ${dirname(resolve(path))} does not exist`);
    throw fail(`cannot check the file (${code ?? (e as Error).message})`);
  }
  const link = found.target !== path ? `(a link to ${found.target}) ` : '';
  const directory = dirname(resolve(found.target));
  let info;
  try {
    info = await stat(directory);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw fail(`${link}the directory ${directory} does not exist`);
    throw fail(`${link}cannot check the directory ${directory} (${(e as Error).message})`);
  }
  if (!info.isDirectory()) throw fail(`${link}${directory} is not a directory, expected the directory to save the file in`);
  try {
    await access(directory, constants.W_OK | constants.X_OK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw fail(`${link}the directory ${directory} is not writable${code ? ` (${code})` : ''}`);
  }
  if (found.info?.isDirectory()) throw fail(`${link}is a directory, expected a file name`);
  const refused = found.info && (await refusal(found.target, found.info));
  if (refused) throw fail(`${link}${refused.replace(/^it is /, 'is ')}`);
}

/**
 * The file a write to `path` replaces: `path`, or the file its symbolic links lead to (which may
 * not exist yet); with its stat where it exists.
 */
async function replacedFile(path: string): Promise<{ target: string; info?: Stats }> {
  let target = path;
  for (let links = 0; links < 40; links++) {
    let info: Stats;
    try {
      info = await lstat(target);
    } catch (e) {
      // Not there, or a component of the path is a file: the write (or the directory check) says which.
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return { target };
      throw e;
    }
    if (!info.isSymbolicLink()) return { target, info };
    // Relative to the link's real directory (through a directory link, `..` is the kernel's, not the path's).
    target = resolve(await realpath(dirname(target)), await readlink(target));
  }
  throw Object.assign(new Error('too many levels of symbolic links (ELOOP)'), { code: 'ELOOP' });
}

/** Why an existing file may not be replaced, or undefined. */
async function refusal(target: string, info: Stats): Promise<string | undefined> {
  if (info.isDirectory()) return 'it is a directory (EISDIR)';
  if (!info.isFile()) return `it is ${fileKind(info)}, expected a regular file to replace`;
  // No write bit for anyone: marked read-only to keep it. Root passes access(W_OK) whatever the
  // mode, and `rm` still asks root before removing a write-protected file: refused for root too.
  if ((info.mode & 0o222) === 0) return `the file is read-only (mode ${(info.mode & 0o7777).toString(8).padStart(4, '0')}: make it writable to replace it)`;
  try {
    await access(target, constants.W_OK);
  } catch {
    return 'the file is read-only (no write permission: make it writable to replace it)';
  }
  return undefined;
}

/** Writes a new file and syncs it; with `replacing`, the old file's mode (and owner, where we may set it). */
async function writeAndSync(path: string, bytes: Uint8Array, replacing?: Stats): Promise<void> {
  const file = await open(path, 'wx');
  try {
    if (replacing) {
      await file.chmod(replacing.mode & 0o7777);
      if (process.getuid?.() === 0) await file.chown(replacing.uid, replacing.gid).catch(() => {});
    }
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
