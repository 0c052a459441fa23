// Shared child-process helpers for test harnesses (mosquitto, swtpm, pebble, openssl servers…).
// Rules (ARCHITECTURE.md §Tests): loopback only, bounded waits, and a harness ends only the processes it started, by PID.
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import net from 'node:net';

export interface Started {
  child: ChildProcess;
  pid: number;
  /** Everything the process wrote to stdout and stderr so far (bounded to the last 64 KiB). */
  output(): string;
  /** Resolves with the exit code/signal once the process has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** True once the process has exited. */
  hasExited(): boolean;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once it has exited. Idempotent. */
  stop(graceMs?: number): Promise<void>;
}

const OUTPUT_LIMIT = 64 * 1024;

/**
 * Spawns `command` with piped output (kept for error messages), in the caller's process group so the test runner's
 * per-file timeout also takes it down. Rejects if it cannot be started (e.g. ENOENT: the binary is not installed).
 */
export function startProcess(command: string, args: string[], options: SpawnOptions = {}): Promise<Started> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options });
    let out = '';
    const keep = (d: Buffer): void => {
      out += d.toString('utf8');
      if (out.length > OUTPUT_LIMIT) out = out.slice(-OUTPUT_LIMIT);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    let done = false;
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) => {
      child.once('exit', (code, signal) => {
        done = true;
        res({ code, signal });
      });
    });
    child.once('error', (err) => {
      done = true;
      reject(new Error(`cannot start ${command}: ${err.message}`, { cause: err }));
    });
    child.once('spawn', () => {
      const pid = child.pid!;
      let stopping: Promise<void> | undefined;
      resolve({
        child,
        pid,
        output: () => out,
        exited,
        hasExited: () => done,
        stop(graceMs = 3000) {
          if (done) return Promise.resolve();
          stopping ??= (async () => {
            signalPid(pid, 'SIGTERM');
            const timer = setTimeout(() => signalPid(pid, 'SIGKILL'), graceMs);
            await exited;
            clearTimeout(timer);
          })();
          return stopping;
        },
      });
    });
  });
}

/** Sends a signal to exactly this PID; a process that is already gone is not an error. */
export function signalPid(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(pid, signal);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw err;
  }
}

/** One TCP connect attempt; true if something accepted. */
export function canConnect(port: number, host = '127.0.0.1', timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect({ port, host });
    const done = (ok: boolean): void => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(timeoutMs, () => done(false));
    sock.once('connect', () => done(true));
    sock.once('error', () => done(false));
  });
}

export const delay = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Waits until `port` accepts TCP connections, polling every 50 ms, for at most `timeoutMs`.
 * Fails early if `proc` exits meanwhile (its output goes into the error message).
 */
export async function waitForPort(port: number, opts: { host?: string; timeoutMs?: number; proc?: Started; what?: string } = {}): Promise<void> {
  const { host = '127.0.0.1', timeoutMs = 10_000, proc, what = `port ${port}` } = opts;
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (proc?.hasExited()) throw new Error(`${what}: process ${proc.pid} exited before accepting connections\n${proc.output()}`);
    if (await canConnect(port, host)) return;
    await delay(50);
  }
  throw new Error(`${what}: nothing accepted on ${host}:${port} within ${timeoutMs} ms${proc ? `\n${proc.output()}` : ''}`);
}
