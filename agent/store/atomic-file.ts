// Crash-safe file primitives: a file is replaced by writing a temp file in the same
// directory (mode 0600, O_EXCL), fsync'ing it, renaming it over the target and fsync'ing the directory, so after a
// crash or power loss the target holds either the complete old or the complete new content — never a mix.
import { crashpoint } from '../util/crashpoint.js';
import { closeSync, constants as C, fchmodSync, fsyncSync, mkdirSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { chmod, mkdir, open, readFile, readdir, rename, stat, unlink, type FileHandle } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import path from 'node:path';

export const FILE_MODE = 0o600;
export const DIR_MODE = 0o700;

/** Marker in temp file names: `.<target>.tmp-<pid>-<hex>`. */
const TMP_TAG = '.tmp-';

export function tempPathFor(target: string): string {
  const dir = path.dirname(target);
  return path.join(dir, `.${path.basename(target)}${TMP_TAG}${process.pid}-${randomBytes(6).toString('hex')}`);
}

/** True for a temp file that `writeFileAtomic(target)` may have left behind after a crash. */
export function isTempFor(target: string, name: string): boolean {
  return name.startsWith(`.${path.basename(target)}${TMP_TAG}`);
}

/** fsync a directory so a rename/unlink/creat inside it is durable. */
export async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, C.O_RDONLY | C.O_DIRECTORY);
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * Creates `dir` (and parents) with mode 0700 if missing; an existing directory that is group/world accessible is
 * tightened to 0700 (the directory is expected to belong to the store alone). Parents created are fsync'ed.
 */
export async function ensurePrivateDir(dir: string): Promise<void> {
  const abs = path.resolve(dir);
  let st;
  try {
    st = await stat(abs);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  if (!st) {
    await mkdir(abs, { recursive: true, mode: DIR_MODE });
    await chmod(abs, DIR_MODE); // mkdir's mode is filtered by the umask
    await fsyncDir(path.dirname(abs));
    return;
  }
  if (!st.isDirectory()) throw Object.assign(new Error(`${abs} exists and is not a directory`), { code: 'ENOTDIR' });
  if ((st.mode & 0o077) !== 0) await chmod(abs, DIR_MODE);
}

export interface WriteOptions {
  /** File mode (default 0600). */
  mode?: number;
  /** fsync the directory after the rename (default true). Turn off only when a later write fsyncs it anyway. */
  syncDir?: boolean;
}

/**
 * Atomically replaces `target` with `data`: temp file in the same directory (O_CREAT|O_EXCL, mode 0600) → write all →
 * fsync → close → rename over target → fsync directory. On any failure the temp file is removed and the target is
 * untouched.
 */
export async function writeFileAtomic(target: string, data: string | Uint8Array, options: WriteOptions = {}): Promise<void> {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  await writeFileAtomicStream(target, (fh) => writeAll(fh, bytes), options);
}

/** Writes all of `bytes` at the handle's position (a write may take fewer bytes than asked). */
async function writeAll(fh: FileHandle, bytes: Uint8Array): Promise<void> {
  let off = 0;
  while (off < bytes.length) {
    const { bytesWritten } = await fh.write(bytes, off, bytes.length - off);
    off += bytesWritten;
  }
}

/**
 * writeFileAtomic for synchronous callers (the MQTT bdSeq, saved from a connect handler): same temp name, O_EXCL,
 * fsync, rename, directory fsync. Creates the directory (0700) but not its parents.
 */
export function writeFileAtomicSync(target: string, data: string | Uint8Array, options: WriteOptions = {}): void {
  const mode = options.mode ?? FILE_MODE;
  const dir = path.dirname(target);
  // Not recursive: the state dir's parent belongs to the installation (systemd StateDirectory / tmpfiles).
  try {
    mkdirSync(dir, { mode: DIR_MODE });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  const tmp = tempPathFor(target);
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  const fd = openSync(tmp, C.O_WRONLY | C.O_CREAT | C.O_EXCL | C.O_NOFOLLOW, mode);
  try {
    try {
      fchmodSync(fd, mode);
      let off = 0;
      while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, target);
  } catch (err) {
    try {
      unlinkSync(tmp);
    } catch {
      /* best effort */
    }
    throw err;
  }
  if (options.syncDir ?? true) {
    try {
      const dfd = openSync(dir, C.O_RDONLY | C.O_DIRECTORY);
      try {
        fsyncSync(dfd);
      } finally {
        closeSync(dfd);
      }
    } catch {
      /* some filesystems refuse directory fsync; the rename is still atomic */
    }
  }
}

/**
 * The streaming form of writeFileAtomic, for files too large to hold in memory (firmware images): `fill` writes the
 * temp file (same directory, O_CREAT|O_EXCL, mode 0600) through its handle, or through `sink()`, a Writable to end a
 * pipeline with (fh.createWriteStream would hold the handle open past the fsync); then fsync → close → rename over
 * `target` → fsync directory. If `fill` throws, the temp file is removed and the target is untouched.
 */
export async function writeFileAtomicStream<T>(target: string, fill: (fh: FileHandle, sink: () => Writable) => Promise<T>, options: WriteOptions = {}): Promise<T> {
  const mode = options.mode ?? FILE_MODE;
  const tmp = tempPathFor(target);
  let created = false;
  let result: T;
  try {
    const fh = await open(tmp, C.O_WRONLY | C.O_CREAT | C.O_EXCL | C.O_NOFOLLOW, mode);
    created = true;
    try {
      await fh.chmod(mode); // the open mode is filtered by the umask
      const sink = (): Writable => new Writable({ write: (chunk: Buffer, _enc, cb) => void writeAll(fh, chunk).then(() => cb(), cb) });
      result = await fill(fh, sink);
      await fh.sync();
    } finally {
      await fh.close();
    }
    crashpoint('atomic.before-rename', path.basename(target));
    await rename(tmp, target);
    created = false;
  } catch (err) {
    if (created) await unlink(tmp).catch(() => undefined);
    throw err;
  }
  if (options.syncDir ?? true) await fsyncDir(path.dirname(target));
  return result;
}

/**
 * Puts a file written in several sittings (a resumable download's `.part`) in place as `target`: fsync it, rename it
 * over `target`, fsync the directory — the same commit as writeFileAtomic's, for a file its writer kept across calls.
 */
export async function commitFile(file: string, target: string): Promise<void> {
  const fh = await open(file, C.O_RDONLY | C.O_NOFOLLOW);
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(file, target);
  await fsyncDir(path.dirname(target));
}

/** The file's bytes, or undefined when it does not exist. */
export async function readFileIfExists(file: string): Promise<Buffer | undefined> {
  try {
    return await readFile(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** Removes a file; a missing file is fine. Returns true if something was removed. */
export async function removeIfExists(file: string): Promise<boolean> {
  try {
    await unlink(file);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

/**
 * Deletes temp files a crashed writer left next to `target` (they are never complete-and-committed: the commit is
 * the rename). Only call this while holding the store (single writer). Returns the names removed.
 */
export function removeStaleTemps(target: string): Promise<string[]> {
  return sweepTemps(path.dirname(target), (name) => isTempFor(target, name), false);
}

/**
 * Deletes every temp file in `dir` whose writer process is gone (a kill between create and rename leaves one per
 * file kind): run once at start so a long life of crashes does not pile them up. This process's own are kept.
 */
export function removeDeadWritersTemps(dir: string): Promise<string[]> {
  return sweepTemps(dir, (name) => name.startsWith('.') && name.includes(TMP_TAG), true);
}

async function sweepTemps(dir: string, match: (name: string) => boolean, keepOwn: boolean): Promise<string[]> {
  const removed: string[] = [];
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return removed;
    throw err;
  }
  for (const name of names) {
    if (!match(name)) continue;
    // A temp file of another live process may be a write in progress: leave it alone.
    const pid = Number(/\.tmp-(\d+)(-|$)/.exec(name)?.[1]);
    if (keepOwn && (!Number.isInteger(pid) || pid === process.pid)) continue;
    if (Number.isInteger(pid) && pid !== process.pid && pidAlive(pid)) continue;
    if (await removeIfExists(path.join(dir, name))) removed.push(name);
  }
  if (removed.length) await fsyncDir(dir);
  return removed;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
