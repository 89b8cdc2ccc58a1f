/**
 * Reading a whole file whose failure names the path: Node's own EISDIR ("illegal operation on a
 * directory, read") does not, so every failure is a `FileReadError` that does, with its code.
 */
import { readFile, stat } from 'node:fs/promises';

export class FileReadError extends Error {
  override name = 'FileReadError';
  constructor(
    readonly source: string,
    message: string,
    /** Node's error code (ENOENT, EISDIR, EACCES, …) when there is one. */
    readonly code?: string,
    options?: ErrorOptions,
  ) {
    super(`${source}: ${message}`, options);
  }
}

/** The file's bytes; `what` says what it should be ("a checkpoint", "an IDX file"). */
export async function readFileBytes(path: string, what = 'a file'): Promise<Uint8Array> {
  try {
    // A device or a socket would be read until it ends (/dev/zero: never). A pipe is read (the
    // shell's `--init <(…)`); a directory's read fails below, naming it.
    const info = await stat(path);
    if (!info.isFile() && !info.isDirectory() && !info.isFIFO()) throw new FileReadError(path, `is ${fileKind(info)}, expected ${what}`);
    const buffer = await readFile(path);
    return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  } catch (cause) {
    if (cause instanceof FileReadError) throw cause;
    throw readError(path, cause, what);
  }
}

/** What a path is, in words (from stat or lstat). */
export function fileKind(info: import('node:fs').Stats): string {
  return info.isFile() ? 'a regular file'
    : info.isDirectory() ? 'a directory'
      : info.isFIFO() ? 'a named pipe (FIFO)'
        : info.isCharacterDevice() ? 'a character device'
          : info.isBlockDevice() ? 'a block device'
            : info.isSocket() ? 'a socket'
              : info.isSymbolicLink() ? 'a symbolic link'
                : 'not a regular file';
}

/** A failed read of `path` as a FileReadError that names it. */
export function readError(path: string, cause: unknown, what = 'a file'): FileReadError {
  const code = (cause as NodeJS.ErrnoException).code;
  const reason =
    code === 'ENOENT' ? 'does not exist'
      : code === 'EISDIR' ? 'is a directory'
        : code === 'ENOTDIR' ? 'is not reachable: a component of the path is not a directory'
          : code === 'EACCES' || code === 'EPERM' ? 'cannot be read (permission denied)'
            : `cannot be read (${(cause as Error).message})`;
  return new FileReadError(path, `${reason}, expected ${what}`, code, { cause });
}
