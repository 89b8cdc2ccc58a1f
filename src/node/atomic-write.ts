/**
 * Writing a file so that a reader sees the old content or the new, never half of it: the bytes
 * go to `<path>.tmp-<pid>-<random>` in the same directory, are fsynced, and the temporary file is
 * renamed over the target. On failure the temporary file is removed and the old file is left as
 * it was.
 */
import { randomBytes } from 'node:crypto';
import { open, rename, rm } from 'node:fs/promises';

export async function writeFileAtomic(path: string, bytes: Uint8Array): Promise<void> {
  const temporary = `${path}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`;
  try {
    await writeAndSync(temporary, bytes);
    await rename(temporary, path);
  } catch (cause) {
    await rm(temporary, { force: true });
    throw new Error(`cannot write ${path}: ${(cause as Error).message}`, { cause });
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
