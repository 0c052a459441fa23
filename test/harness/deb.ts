// The .deb that deploy/deb/build.sh makes from this tree, built once per tree state and shared by the package tests
// (deb-install, deb-lintian, deb-chroot, systemd-nspawn) and by both Node runs of the suite. The cache lives in
// os.tmpdir()/enrolld-deb-cache/<key>/, key = SHA-256 over everything build.sh reads (dist/bundle, the addon,
// deploy/deb, the man page sources and tables, the unit files, package.json, package-lock.json, README.md). One
// process builds under a lock directory (mkdir is atomic; a lock whose owner died is taken over), into a private
// directory renamed into place when complete, so a reader never sees a half-written package. dist/bundle is rebuilt
// first when it is older than the tsc output.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const CACHE = path.join(os.tmpdir(), 'enrolld-deb-cache');
const INPUTS = ['dist/bundle', 'dist/agent/cli', 'build/Release/enrolld_tpm.node', 'deploy/deb', 'deploy/man', 'deploy/examples/config.json', 'systemd', 'package.json', 'package-lock.json', 'README.md'];
const BUILD_TIMEOUT_MS = 300_000;
const STALE_MS = 24 * 3600_000;

/** SHA-256 over the relative path and content of every file build.sh reads. */
export function treeKey(root = ROOT): string {
  const h = createHash('sha256');
  const add = (rel: string): void => {
    const abs = path.join(root, rel);
    if (!existsSync(abs)) {
      h.update(`missing ${rel}\0`);
      return;
    }
    if (statSync(abs).isDirectory()) {
      for (const e of readdirSync(abs).sort()) add(path.join(rel, e));
      return;
    }
    h.update(`${rel}\0${statSync(abs).mode & 0o111 ? 'x' : '-'}\0`);
    h.update(readFileSync(abs));
    h.update('\0');
  };
  for (const i of INPUTS) add(i);
  return h.digest('hex').slice(0, 24);
}

const sleep = (ms: number): void => void Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
};
const debIn = (dir: string): string | undefined => {
  const f = existsSync(dir) ? readdirSync(dir).find((n) => n.endsWith('.deb')) : undefined;
  return f ? path.join(dir, f) : undefined;
};

/**
 * Runs `build` once under the lock directory `lock` (mkdir is atomic; a lock whose owner died is taken over) unless
 * `done()` already holds; other processes wait for the holder and then see `done()`.
 */
function once(lock: string, done: () => boolean, build: () => void): void {
  const deadline = Date.now() + 2 * BUILD_TIMEOUT_MS;
  while (!done()) {
    try {
      mkdirSync(lock);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      let owner = NaN;
      try {
        owner = Number(readFileSync(path.join(lock, 'pid'), 'utf8'));
      } catch {
        // the owner has not written its pid yet
      }
      if (Number.isInteger(owner) && !alive(owner)) rmSync(lock, { recursive: true, force: true });
      else if (Date.now() > deadline) throw new Error(`${lock} held by pid ${owner} for too long`);
      else sleep(500);
      continue;
    }
    try {
      writeFileSync(path.join(lock, 'pid'), String(process.pid));
      if (!done()) build(); // or finished by another process between the check and the lock
    } finally {
      rmSync(lock, { recursive: true, force: true });
    }
  }
}

/**
 * dist/bundle as `npm run build:bundle` makes it, rebuilt when missing or older than the tsc output (a fresh
 * `npm run build` means the sources changed; the suite's pretest runs only tsc).
 */
export function ensureBundle(): void {
  const bundle = path.join(ROOT, 'dist/bundle/enrolld.mjs');
  const tsc = path.join(ROOT, 'dist/agent/cli/main.js');
  const fresh = (): boolean => existsSync(bundle) && (!existsSync(tsc) || statSync(bundle).mtimeMs >= statSync(tsc).mtimeMs);
  once(path.join(ROOT, 'dist/.bundle.lock'), fresh, () => {
    const b = spawnSync(process.execPath, [path.join(ROOT, 'deploy/build/bundle.mjs')], { encoding: 'utf8', cwd: ROOT, timeout: BUILD_TIMEOUT_MS });
    if (b.status !== 0) throw new Error(`deploy/build/bundle.mjs failed (${b.status ?? b.signal}): ${b.stderr}${b.error?.message ?? ''}`);
    console.log('deb cache: dist/bundle rebuilt (older than dist/agent)');
  });
}

/** Path of the built .deb for the tree as it is now (read-only: repack a copy). Throws with build.sh's output. */
export function builtDeb(): string {
  ensureBundle();
  const key = treeKey();
  const done = path.join(CACHE, key);
  mkdirSync(CACHE, { recursive: true });
  let built = false;
  once(`${done}.lock`, () => debIn(done) !== undefined, () => {
    prune(key);
    const tmp = path.join(`${done}.lock`, 'out');
    const b = spawnSync(path.join(ROOT, 'deploy/deb/build.sh'), [tmp], { encoding: 'utf8', cwd: ROOT, timeout: BUILD_TIMEOUT_MS });
    if (b.status !== 0) throw new Error(`deploy/deb/build.sh failed (${b.status ?? b.signal}): ${b.stderr}${b.error?.message ?? ''}`);
    const deb = b.stdout.trim();
    if (path.dirname(deb) !== tmp || !existsSync(deb)) throw new Error(`deploy/deb/build.sh printed ${deb}, not a file in ${tmp}`);
    renameSync(tmp, done);
    built = true;
  });
  const deb = debIn(done)!;
  utimesSync(done, new Date(), new Date()); // in use: not pruned
  console.log(`deb cache: ${built ? 'built' : 'reusing'} ${deb}`);
  return deb;
}

/** Removes other trees' packages untouched for a day (never a locked build). */
function prune(keep: string): void {
  for (const e of readdirSync(CACHE)) {
    if (e === keep || e.endsWith('.lock') || existsSync(path.join(CACHE, `${e}.lock`))) continue;
    const p = path.join(CACHE, e);
    try {
      if (Date.now() - statSync(p).mtimeMs > STALE_MS) rmSync(p, { recursive: true, force: true });
    } catch {
      // removed by another process
    }
  }
}
