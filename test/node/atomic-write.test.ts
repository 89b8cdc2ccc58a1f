/**
 * writeFileAtomic: stale temporary files of dead writers are removed on the next save (and nothing
 * else is), the directory is fsynced after the rename, failures name the path and leave nothing
 * behind, a writer SIGKILLed mid-save leaves a valid file; and checkWritable's one-line errors.
 */
import { spawn, spawnSync } from 'node:child_process';
import type { FileHandle } from 'node:fs/promises';
import { chmod, lstat, mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { checkWritable, writeFileAtomic } from '../../src/node/atomic-write.js';
import { checkPayload, makePayload } from '../helpers/atomic-payload.js';

/**
 * Every `open`, handle `sync`, `access` and `rm` through node:fs/promises, recorded, with faults
 * injected on request: by exact path, or by a key ending in '*' for every path it begins.
 */
type Op = 'open' | 'sync' | 'access' | 'rm';
const calls: { op: Op; path: string; flags?: string }[] = [];
const faults = new Map<string, { at: Op; code: string }>();
function faultAt(at: Op, path: string): void {
  for (const [key, f] of faults) {
    const hit = key.endsWith('*') ? path.startsWith(key.slice(0, -1)) : path === key;
    if (hit && f.at === at) throw Object.assign(new Error(`${f.code}: injected, ${at} '${path}'`), { code: f.code }); // named as Node names it
  }
}

vi.mock('node:fs/promises', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs/promises')>();
  const open = async (path: string, flags?: string, mode?: number): Promise<FileHandle> => {
    const p = String(path);
    calls.push({ op: 'open', path: p, flags: flags ?? 'r' });
    faultAt('open', p);
    const handle = await real.open(p, flags, mode);
    const sync = handle.sync.bind(handle);
    handle.sync = async () => {
      calls.push({ op: 'sync', path: p });
      faultAt('sync', p);
      return sync();
    };
    return handle;
  };
  const access = async (path: string, mode?: number): Promise<void> => {
    calls.push({ op: 'access', path: String(path) });
    faultAt('access', String(path));
    return real.access(path, mode);
  };
  const rm = async (path: string, options?: Parameters<typeof real.rm>[1]): Promise<void> => {
    calls.push({ op: 'rm', path: String(path) });
    faultAt('rm', String(path));
    return real.rm(path, options);
  };
  return { ...real, default: { ...real, open, access, rm }, open, access, rm };
});

const REPO = resolve(dirname(new URL(import.meta.url).pathname), '../..');
const LOOP = join(REPO, 'test/helpers/atomic-write-loop.ts');
const isRoot = process.getuid?.() === 0;

const roots: string[] = [];
let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'atomic-write-'));
  roots.push(dir);
  calls.length = 0;
  faults.clear();
});
afterEach(() => {
  vi.restoreAllMocks();
});
afterAll(async () => {
  for (const root of roots) {
    await chmod(root, 0o700).catch(() => {});
    await rm(root, { recursive: true, force: true });
  }
});

const temporaries = async (d: string) => (await readdir(d)).filter((name) => name.includes('.tmp-')).sort();

/** The pid of a process that has exited (and been reaped). */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', '']);
  expect(child.status).toBe(0);
  return child.pid!;
}

describe('stale temporary files', () => {
  test("a dead process's temporary files of the target are removed on the next save; other files are kept", async () => {
    const dead = deadPid();
    const live = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60_000)'], { stdio: 'ignore' });
    try {
      const path = join(dir, 'model.safetensors');
      const stale = [`model.safetensors.tmp-${dead}-0123456789ab`, `model.safetensors.tmp-${dead}-ff`];
      const kept = [
        `model.safetensors.tmp-${live.pid}-0123456789ab`, // a live writer's
        `other.safetensors.tmp-${dead}-0123456789ab`, // another target's
        `model.safetensors.tmp-${dead}-notHex`, // not our pattern
        `model.safetensors.tmp-${dead}`,
        `model.safetensors.tmp-x${dead}-0123456789ab`,
        `xmodel.safetensors.tmp-${dead}-0123456789ab`,
        'model.safetensors.bak',
        'notes.txt',
      ];
      for (const name of [...stale, ...kept]) await writeFile(join(dir, name), 'x');
      // A directory with a stale-looking name is not a file we made: left alone.
      await mkdir(join(dir, `model.safetensors.tmp-${dead}-abcdef`));
      kept.push(`model.safetensors.tmp-${dead}-abcdef`);

      await writeFileAtomic(path, Uint8Array.from([1, 2, 3]));
      expect((await readdir(dir)).sort()).toEqual([...kept, 'model.safetensors'].sort());
      expect(Array.from(await readFile(path))).toEqual([1, 2, 3]);
    } finally {
      live.kill('SIGKILL');
    }
  });

  test('a pid that answers EPERM is alive (kept); ESRCH is dead (removed); the check is signal 0', async () => {
    const kill = vi.spyOn(process, 'kill').mockImplementation((pid: number, signal?: string | number) => {
      expect(signal).toBe(0);
      throw Object.assign(new Error('mocked'), { code: pid === 4242 ? 'EPERM' : 'ESRCH' });
    });
    await writeFile(join(dir, 'm.bin.tmp-4242-aa'), 'x');
    await writeFile(join(dir, 'm.bin.tmp-4343-aa'), 'x');
    await writeFileAtomic(join(dir, 'm.bin'), Uint8Array.from([7]));
    expect(kill).toHaveBeenCalledTimes(2);
    expect((await readdir(dir)).sort()).toEqual(['m.bin', 'm.bin.tmp-4242-aa']);
  });

  test('our own pid: an old file (a previous process with the same pid) is removed, a new one (a worker thread of ours) kept', async () => {
    const old = join(dir, `m.bin.tmp-${process.pid}-0000aa`);
    const recent = join(dir, `m.bin.tmp-${process.pid}-0000bb`);
    await writeFile(old, 'x');
    await writeFile(recent, 'x');
    const longAgo = new Date(Date.now() - process.uptime() * 1000 - 3_600_000);
    await utimes(old, longAgo, longAgo);
    await writeFileAtomic(join(dir, 'm.bin'), Uint8Array.from([7]));
    expect((await readdir(dir)).sort()).toEqual(['m.bin', `m.bin.tmp-${process.pid}-0000bb`]);
  });

  test('concurrent saves of one target in one process do not remove each other’s temporary files', async () => {
    const path = join(dir, 'm.bin');
    const saves = Array.from({ length: 6 }, (_, i) => writeFileAtomic(path, makePayload(i, 1 << 20)));
    await Promise.all(saves);
    expect(checkPayload(await readFile(path))).toBeLessThan(6);
    expect(await readdir(dir)).toEqual(['m.bin']);
  });

  test('best effort: a pid that cannot be checked is kept, a stale file that cannot be removed stays; the save goes on', async () => {
    const dead = deadPid();
    const path = join(dir, 'm.bin');
    await writeFile(join(dir, `m.bin.tmp-${dead}-aa`), 'x');
    faults.set(join(dir, `m.bin.tmp-${dead}-aa`), { at: 'rm', code: 'EACCES' });
    await writeFileAtomic(path, Uint8Array.from([1]));
    expect(calls).toContainEqual({ op: 'rm', path: join(dir, `m.bin.tmp-${dead}-aa`) });
    expect((await readdir(dir)).sort()).toEqual(['m.bin', `m.bin.tmp-${dead}-aa`]);

    faults.clear();
    vi.spyOn(process, 'kill').mockImplementation(() => {
      throw new Error('kill: refused without a code'); // not ESRCH: counted as alive
    });
    await writeFileAtomic(path, Uint8Array.from([2]));
    expect((await readdir(dir)).sort()).toEqual(['m.bin', `m.bin.tmp-${dead}-aa`]);
    expect(Array.from(await readFile(path))).toEqual([2]);
  });
});

describe('the directory is fsynced after the rename', () => {
  test('opened read-only and synced, after the temporary file was synced', async () => {
    const path = join(dir, 'm.bin');
    await writeFileAtomic(path, Uint8Array.from([1]));
    const temp = calls.find((c) => c.op === 'open' && c.flags === 'wx')!.path;
    expect(calls.filter((c) => c.op !== 'access')).toEqual([
      { op: 'open', path: temp, flags: 'wx' },
      { op: 'sync', path: temp },
      { op: 'open', path: dir, flags: 'r' },
      { op: 'sync', path: dir },
    ]);
  });

  test.each([
    ['open', 'EISDIR'],
    ['open', 'EPERM'],
    ['sync', 'EINVAL'],
    ['sync', 'EPERM'],
    ['sync', 'ENOTSUP'],
  ] as const)('a platform that cannot (%s gives %s) is no error', async (at, code) => {
    faults.set(dir, { at, code });
    await writeFileAtomic(join(dir, 'm.bin'), Uint8Array.from([1]));
    expect(Array.from(await readFile(join(dir, 'm.bin')))).toEqual([1]);
  });

  test('any other failure is reported, naming the path; the file is in place', async () => {
    const path = join(dir, 'm.bin');
    faults.set(dir, { at: 'sync', code: 'EIO' });
    await expect(writeFileAtomic(path, Uint8Array.from([1]))).rejects.toThrow(
      `cannot write ${path}: the file is in place but its directory ${dir} could not be synced, so the rename may not survive a power loss: EIO: injected`,
    );
    expect(await readdir(dir)).toEqual(['m.bin']);
  });
});

describe('failures name the path and leave nothing behind', () => {
  test('a missing directory', async () => {
    const path = join(dir, 'missing', 'm.bin');
    await expect(writeFileAtomic(path, Uint8Array.from([1]))).rejects.toThrow(new RegExp(`^cannot write ${path}: ENOENT`));
    expect(await readdir(dir)).toEqual([]);
  });

  test('the target is a directory: reported as such, the directory untouched, no temporary file made', async () => {
    const target = join(dir, 'taken');
    await mkdir(target);
    await writeFile(join(target, 'keep'), 'old');
    await expect(writeFileAtomic(target, Uint8Array.from([1]))).rejects.toThrow(`cannot write ${target}: it is a directory (EISDIR)`);
    expect(await readdir(target)).toEqual(['keep']);
    expect(await readFile(join(target, 'keep'), 'utf8')).toBe('old');
    expect(await readdir(dir)).toEqual(['taken']);
    expect(calls.filter((c) => c.flags === 'wx')).toEqual([]);
  });

  test('a failed write of the temporary file is reported and the temporary file removed', async () => {
    const path = join(dir, 'm.bin');
    await writeFile(path, 'old');
    faults.set(`${path}.tmp-*`, { at: 'sync', code: 'ENOSPC' }); // the temporary file's name is random
    await expect(writeFileAtomic(path, Uint8Array.from([1]))).rejects.toThrow(`cannot write ${path}: ENOSPC: injected`);
    expect(await readFile(path, 'utf8')).toBe('old');
    expect(await readdir(dir)).toEqual(['m.bin']);
  });
});

describe('what is replaced: a regular file, as its own', () => {
  test('through a symbolic link: the link stays, the file it points to is replaced, with its mode', async () => {
    const target = join(dir, 'real.bin');
    await writeFile(target, 'old', { mode: 0o600 });
    await symlink('real.bin', join(dir, 'link.bin'));
    await writeFileAtomic(join(dir, 'link.bin'), Uint8Array.from([1, 2]));
    expect((await lstat(join(dir, 'link.bin'))).isSymbolicLink()).toBe(true);
    expect(Array.from(await readFile(target))).toEqual([1, 2]);
    // A private checkpoint stays private (it became 0644).
    expect((await stat(target)).mode & 0o777).toBe(0o600);
    // A link to a file not made yet: made where the link points.
    await symlink('later.bin', join(dir, 'ahead.bin'));
    await writeFileAtomic(join(dir, 'ahead.bin'), Uint8Array.from([3]));
    expect(Array.from(await readFile(join(dir, 'later.bin')))).toEqual([3]);
    expect((await lstat(join(dir, 'ahead.bin'))).isSymbolicLink()).toBe(true);
    await checkWritable(join(dir, 'link.bin'), '--save');
    // A relative link reached through a directory link: its `..` is the real directory's parent.
    await mkdir(join(dir, 'real', 'sub'), { recursive: true });
    await mkdir(join(dir, 'a'));
    await symlink('../real/sub', join(dir, 'a', 'link'));
    await writeFile(join(dir, 'real', 'target.bin'), 'old');
    await symlink('../target.bin', join(dir, 'real', 'sub', 'f'));
    await writeFileAtomic(join(dir, 'a', 'link', 'f'), Uint8Array.from([4]));
    expect(Array.from(await readFile(join(dir, 'real', 'target.bin')))).toEqual([4]);
    expect(await readdir(join(dir, 'a'))).toEqual(['link']);
  });

  test('a FIFO, a device or a read-only file is refused, untouched, by writeFileAtomic and checkWritable', async () => {
    const fifo = join(dir, 'pipe');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    await expect(writeFileAtomic(fifo, Uint8Array.from([1]))).rejects.toThrow(`cannot write ${fifo}: it is a named pipe (FIFO), expected a regular file to replace`);
    await expect(checkWritable(fifo, '--save')).rejects.toThrow(new Error(`--save ${fifo}: is a named pipe (FIFO), expected a regular file to replace`));
    expect((await lstat(fifo)).isFIFO()).toBe(true);
    // /dev/null as root was replaced by a regular file.
    await expect(checkWritable('/dev/null', '--save')).rejects.toThrow('--save /dev/null: is a character device, expected a regular file to replace');
    const locked = join(dir, 'locked.bin');
    await writeFile(locked, 'old');
    faults.set(locked, { at: 'access', code: 'EACCES' }); // root may write anything: the refusal as a user gets it
    await expect(writeFileAtomic(locked, Uint8Array.from([1]))).rejects.toThrow(`cannot write ${locked}: the file is read-only`);
    expect(await readFile(locked, 'utf8')).toBe('old');
    // Mode 0444, for real: refused as root too (access passes for root; rm asks root before removing it).
    const marked = join(dir, 'marked.bin');
    await writeFile(marked, 'kept');
    await chmod(marked, 0o444);
    await expect(writeFileAtomic(marked, Uint8Array.from([1]))).rejects.toThrow(`cannot write ${marked}: the file is read-only (mode 0444: make it writable to replace it)`);
    await expect(checkWritable(marked, '--save')).rejects.toThrow(`--save ${marked}: the file is read-only (mode 0444`);
    expect(await readFile(marked, 'utf8')).toBe('kept');
    expect(await temporaries(dir)).toEqual([]);
  });

  test("a failure names the user's file, not the temporary one", async () => {
    const path = join(dir, 'm.bin');
    faults.set(`${path}.tmp-*`, { at: 'open', code: 'EROFS' });
    const error = await writeFileAtomic(path, Uint8Array.from([1])).catch((e: Error) => e);
    expect((error as Error).message).toBe(`cannot write ${path}: EROFS: injected, open '${path}'`);
  });
});

describe('checkWritable', () => {
  test('a new file or an existing one in a writable directory passes, and nothing is created', async () => {
    await checkWritable(join(dir, 'new.safetensors'), '--save');
    await writeFile(join(dir, 'old.safetensors'), 'old');
    await checkWritable(join(dir, 'old.safetensors'), '--save');
    expect(await readdir(dir)).toEqual(['old.safetensors']);
    expect(await readFile(join(dir, 'old.safetensors'), 'utf8')).toBe('old');
  });

  test('a relative path is checked against the working directory', async () => {
    await checkWritable('relative-name-that-is-not-there.safetensors', '--save');
    await expect(checkWritable('no-such-dir-here/m.safetensors', '--save')).rejects.toThrow(
      `--save no-such-dir-here/m.safetensors: the directory ${resolve('no-such-dir-here')} does not exist`,
    );
  });

  test('a missing directory', async () => {
    const path = join(dir, 'x', 'y.safetensors');
    await expect(checkWritable(path, '--save')).rejects.toThrow(new Error(`--save ${path}: the directory ${join(dir, 'x')} does not exist`));
    const deeper = join(dir, 'x', 'z', 'y.safetensors');
    await expect(checkWritable(deeper, '--save-best')).rejects.toThrow(new Error(`--save-best ${deeper}: the directory ${join(dir, 'x', 'z')} does not exist`));
    expect(await readdir(dir)).toEqual([]);
  });

  test('a parent that is a file', async () => {
    await writeFile(join(dir, 'file'), 'x');
    const path = join(dir, 'file', 'y.safetensors');
    await expect(checkWritable(path, '--save')).rejects.toThrow(
      new Error(`--save ${path}: ${join(dir, 'file')} is not a directory, expected the directory to save the file in`),
    );
  });

  test('the path is a directory', async () => {
    await mkdir(join(dir, 'taken'));
    await expect(checkWritable(join(dir, 'taken'), '--save')).rejects.toThrow(new Error(`--save ${join(dir, 'taken')}: is a directory, expected a file name`));
    expect(await readdir(join(dir, 'taken'))).toEqual([]);
  });

  test('a directory that is not writable (access fails)', async () => {
    faults.set(dir, { at: 'access', code: 'EACCES' });
    const path = join(dir, 'y.safetensors');
    await expect(checkWritable(path, '--save')).rejects.toThrow(new Error(`--save ${path}: the directory ${dir} is not writable (EACCES)`));
  });

  test('a read-only directory, for real', async (ctx) => {
    if (isRoot) ctx.skip('running as root: a read-only directory does not stop root from writing');
    const sub = join(dir, 'read-only');
    await mkdir(sub, { mode: 0o500 });
    const path = join(sub, 'y.safetensors');
    await expect(checkWritable(path, '--save')).rejects.toThrow(new Error(`--save ${path}: the directory ${sub} is not writable (EACCES)`));
  });
});

describe('a writer killed mid-save', () => {
  /** A save loop in a child process, started (Node and the TypeScript loader take ~0.6 s) but not yet saving. */
  function spawnLoop(path: string, bytes: number) {
    const child = spawn(process.execPath, ['--import', './bin/register.js', LOOP, path, String(bytes)], {
      cwd: REPO,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (err += s));
    child.stdin.on('error', () => {}); // a loop that died early is reported below, not as EPIPE
    const closed = new Promise<void>((done) => child.on('close', () => done()));

    /**
     * Lets it save, waits until its temporary file is there (`after` 'temporary') or until it has
     * reported a save ('save'), then `delay` ms more, and SIGKILLs it.
     */
    async function runAndKill(after: 'temporary' | 'save', delay: number): Promise<{ first: number; saved: number[] }> {
      let exited = false;
      void closed.then(() => (exited = true));
      child.stdin.write('go\n');
      const ours = `${basename(path)}.tmp-${child.pid}-`;
      const reached = async () =>
        after === 'save' ? out.includes('\nsaved ') : (await readdir(dirname(path))).some((name) => name.startsWith(ours));
      while (!(await reached())) {
        if (exited) throw new Error(`the save loop exited (${child.exitCode}) before it was killed: ${err}`);
        await new Promise((r) => setTimeout(r, 1));
      }
      await new Promise((r) => setTimeout(r, delay));
      child.kill('SIGKILL');
      await closed;
      expect(child.signalCode, `the save loop died of something else: ${err}`).toBe('SIGKILL');
      const lines = out.split('\n');
      expect(lines[0]).toMatch(/^ready \d+$/);
      return { first: Number(lines[0]!.slice(6)), saved: lines.filter((l) => l.startsWith('saved ')).map((l) => Number(l.slice(6))) };
    }
    return { child, runAndKill };
  }

  test('leaves the old or the new file, never a part; the next save removes its temporary file', { timeout: 60_000 }, async () => {
    const path = join(dir, 'model.safetensors');
    const BYTES = 8 << 20;
    const KILLS = 20;
    const AHEAD = 2; // loops started ahead, so that their start-up overlaps the one running
    const loops = Array.from({ length: AHEAD }, () => spawnLoop(path, BYTES));
    let ownCounter = 0x7fff0000; // the in-process saves' counters, apart from the loops'
    let lastGood: number | undefined;
    let killsThatLeftATemporary = 0;
    try {
      for (let k = 0; k < KILLS; k++) {
        const loop = loops.shift()!;
        if (k + AHEAD < KILLS) loops.push(spawnLoop(path, BYTES));
        // Half the kills 0-40 ms after the temporary file appears (mid-write: in the first save,
        // over no file at first), a quarter 40-250 ms after it, a quarter 0-100 ms after a save.
        const { first, saved } = await (k % 2 === 0
          ? loop.runAndKill('temporary', (k * 7) % 41)
          : k % 4 === 1
            ? loop.runAndKill('temporary', 40 + ((k * 53) % 211))
            : loop.runAndKill('save', (k * 37) % 101));

        if (lastGood === undefined && !(await readdir(dir)).includes('model.safetensors')) {
          expect(saved, 'no file, yet the loop said it saved').toEqual([]);
        } else {
          const counter = checkPayload(await readFile(path)); // throws on a torn file
          // The last reported save or the one after it (killed between the rename and the report);
          // nothing reported: the file before, or the loop's first.
          const expected = saved.length > 0 ? [saved.at(-1)!, saved.at(-1)! + 1] : [lastGood, first];
          expect(expected, `kill ${k}: the file holds save ${counter}`).toContain(counter);
        }
        // At most the killed loop's own temporary file: it removed those of the loops before it.
        const leftover = await temporaries(dir);
        expect(leftover.length, `temporary files after kill ${k}: ${leftover.join(', ')}`).toBeLessThanOrEqual(1);
        for (const name of leftover) expect(name).toMatch(new RegExp(`^model\\.safetensors\\.tmp-${loop.child.pid}-[0-9a-f]{12}$`));
        if (leftover.length > 0) killsThatLeftATemporary++;

        // The next save, in this process (but after every fourth kill, the next loop's): only the
        // target is left.
        if (k % 4 !== 3) {
          await writeFileAtomic(path, makePayload(++ownCounter, 1024));
          lastGood = ownCounter;
          expect(await readdir(dir), `after the save that followed kill ${k}`).toEqual(['model.safetensors']);
        } else {
          lastGood = checkPayload(await readFile(path));
        }
      }
    } finally {
      for (const loop of loops) loop.child.kill('SIGKILL');
    }
    // The kills did land mid-write, or this test proves nothing.
    expect(killsThatLeftATemporary).toBeGreaterThanOrEqual(5);
    await writeFileAtomic(path, makePayload(++ownCounter, 1024));
    expect(await readdir(dir)).toEqual(['model.safetensors']);
  });
});
