// A throwaway Debian 12 system for the package and service tests: the cached debootstrap root
// (deploy/test/nspawn-rootfs.sh) under an overlay mount, so the cache itself is never written, and optionally booted
// with systemd-nspawn (--register=no --keep-unit: no machined or system bus on the host; unified cgroup hierarchy so
// DeviceAllow= is enforced). Commands reach the container with nsenter into its PID 1. Every process is ended by PID.
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

export interface Run {
  code: number | null;
  out: string;
  err: string;
}

/** Asynchronous (the lab server may run in the caller's process and must keep answering). */
export function run(cmd: string, args: string[], opts: { timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(cmd, args, { encoding: 'utf8', timeout: opts.timeoutMs ?? 60_000, maxBuffer: 32 << 20, env: opts.env ?? process.env }, (err, out, errOut) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : null) : 0;
      resolve({ code, out, err: errOut + (err && code === null ? `\n${err.message}` : '') });
    });
  });
}

const which = (name: string): boolean => spawnSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' }).status === 0;

/** Why this machine cannot run the overlay root (undefined: it can). `nspawn` also asks for systemd-nspawn. */
export function unavailable(opts: { nspawn: boolean }): string | undefined {
  if (process.platform !== 'linux') return `not Linux (${process.platform})`;
  if (process.getuid?.() !== 0) return 'not running as root (overlay mounts, chroot and systemd-nspawn need root)';
  for (const tool of ['dpkg-deb', 'chroot', ...(opts.nspawn ? ['systemd-nspawn', 'nsenter'] : [])]) {
    if (!which(tool)) return `${tool} is not installed${tool === 'systemd-nspawn' ? ' (Debian package systemd-container)' : ''}`;
  }
  const rootfs = rootfsPath();
  if (!existsSync(path.join(rootfs, 'usr/lib/systemd/systemd'))) {
    return `no cached Debian 12 root at ${rootfs}: build it with deploy/test/nspawn-rootfs.sh (as root, needs debootstrap and the Debian mirror; .ci/run does this before npm test)`;
  }
  return undefined;
}

export function rootfsPath(): string {
  const r = spawnSync(path.join(ROOT, 'deploy/test/nspawn-rootfs.sh'), ['--path'], { encoding: 'utf8' });
  return r.stdout.trim();
}

/** The cached root under an overlay: writes go to a temp upper directory, removed by close(). */
export class OverlayRoot {
  readonly dir: string;
  readonly merged: string;
  private mounted = false;
  constructor() {
    this.dir = mkdtempSync(path.join(os.tmpdir(), 'enrolld-root-'));
    this.merged = path.join(this.dir, 'merged');
    for (const d of ['upper', 'work', 'merged']) mkdirSync(path.join(this.dir, d));
  }
  /** Undefined on success, else the reason (mount's message). */
  mount(): string | undefined {
    const lower = rootfsPath();
    const r = spawnSync('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${lower},upperdir=${path.join(this.dir, 'upper')},workdir=${path.join(this.dir, 'work')}`, this.merged], { encoding: 'utf8' });
    if (r.status !== 0) return `overlay mount of ${lower} failed: ${(r.stderr || r.error?.message || '').trim()}`;
    this.mounted = true;
    return undefined;
  }
  file(p: string): string {
    return path.join(this.merged, p);
  }
  write(p: string, text: string, mode = 0o644): void {
    mkdirSync(path.dirname(this.file(p)), { recursive: true });
    writeFileSync(this.file(p), text, { mode });
  }
  read(p: string): string {
    return readFileSync(this.file(p), 'utf8');
  }
  close(): void {
    if (this.mounted) {
      // A lazy unmount if something (a dying container) still holds it; the upper dir is removed either way.
      if (spawnSync('umount', [this.merged]).status !== 0) spawnSync('umount', ['-l', this.merged]);
      this.mounted = false;
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * An empty `nodejs` package at the host's Node version: the container gets the host's /usr/bin/node (bind mount;
 * Debian 12's own nodejs is 18), and this package lets dpkg check enrolld's `Depends: nodejs (>= …)` for real.
 */
export function nodeStandInDeb(dir: string): string {
  const pkg = path.join(dir, 'nodejs-standin');
  mkdirSync(path.join(pkg, 'DEBIAN'), { recursive: true });
  const arch = spawnSync('dpkg', ['--print-architecture'], { encoding: 'utf8' }).stdout.trim();
  writeFileSync(
    path.join(pkg, 'DEBIAN/control'),
    `Package: nodejs\nVersion: ${process.versions.node}\nArchitecture: ${arch}\nMaintainer: enrolld tests <enrolld@example.invalid>\n` +
      `Description: stand-in for the host's Node.js (bind-mounted as /usr/bin/node)\n Lets dpkg check the Depends of enrolld.\n`,
  );
  const out = path.join(dir, `nodejs_${process.versions.node}_${arch}.deb`);
  const r = spawnSync('dpkg-deb', ['--root-owner-group', '--build', pkg, out], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`dpkg-deb: ${r.stderr}`);
  return out;
}

/** A booted container on an overlay root. */
export class Container {
  private nspawn?: ChildProcess;
  private console = '';
  leader = 0;
  constructor(readonly root: OverlayRoot) {}

  /** Boots and waits for `systemctl is-system-running` to settle; undefined on success, else why not. */
  async boot(binds: string[], timeoutMs = 60_000): Promise<string | undefined> {
    const args = ['--quiet', '--register=no', '--keep-unit', '--boot', '--console=pipe', `--directory=${this.root.merged}`, '--machine=enrolld-test', ...binds.map((b) => `--bind-ro=${b}`)];
    const child = spawn('systemd-nspawn', args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, SYSTEMD_NSPAWN_UNIFIED_HIERARCHY: '1' } });
    this.nspawn = child;
    const keep = (d: Buffer): void => {
      this.console = (this.console + d.toString('utf8')).slice(-32 * 1024);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    let exited = false;
    child.once('exit', () => (exited = true));
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (exited) return `systemd-nspawn exited during boot: ${this.console.trim().split('\n').slice(-8).join(' | ')}`;
      if (!this.leader) {
        // The container's PID 1 (its systemd) is the child of the nspawn process.
        try {
          const kids = readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
          for (const k of kids) if (readFileSync(`/proc/${k}/comm`, 'utf8').trim() === 'systemd') this.leader = k;
        } catch {
          /* not yet */
        }
      }
      if (this.leader) {
        const s = await this.exec(['systemctl', 'is-system-running'], 10_000);
        if (['running', 'degraded'].includes(s.out.trim())) return undefined;
      }
      await new Promise((r) => setTimeout(r, 300));
    }
    return `the container did not finish booting within ${timeoutMs / 1000} s: ${this.console.trim().split('\n').slice(-8).join(' | ')}`;
  }

  /** Runs a command inside (mount, UTS, IPC, PID and cgroup namespaces of its PID 1; the network is the host's). */
  exec(argv: string[], timeoutMs = 60_000): Promise<Run> {
    return run('nsenter', ['--target', String(this.leader), '--mount', '--uts', '--ipc', '--pid', '--cgroup', '--', '/usr/bin/env', '-i', 'PATH=/usr/sbin:/usr/bin:/sbin:/bin', 'LANG=C.UTF-8', 'SYSTEMD_COLORS=0', ...argv], { timeoutMs });
  }

  async sh(script: string, timeoutMs?: number): Promise<Run> {
    return this.exec(['/bin/sh', '-c', script], timeoutMs);
  }

  /** `systemctl show -p …` as a record. */
  async show(unit: string, props: string[]): Promise<Record<string, string>> {
    const r = await this.exec(['systemctl', 'show', unit, ...props.flatMap((p) => ['-p', p])]);
    return Object.fromEntries(r.out.split('\n').filter(Boolean).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
  }

  consoleOutput(): string {
    return this.console;
  }

  /**
   * Ends the container: SIGTERM to nspawn (it sends its kill signal, SIGRTMIN+3, to the container's systemd, which
   * powers off), SIGKILL to the leader and nspawn if that takes longer than `graceMs`.
   */
  async stop(graceMs = 20_000): Promise<void> {
    const child = this.nspawn;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGTERM');
    const t = setTimeout(() => {
      if (this.leader) {
        try {
          process.kill(this.leader, 'SIGKILL');
        } catch {
          /* already gone */
        }
      }
      child.kill('SIGKILL');
    }, graceMs);
    await gone;
    clearTimeout(t);
  }
}
