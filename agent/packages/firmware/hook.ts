// The apply hook: an external executable (an A/B installer) that writes the verified image to the inactive slot.
// The agent never touches block devices itself. Contract:
//   <hook> <image-path> <package-name>            (plus any configured extra arguments first)
//   environment: PATH, ENROLLD_FW_IMAGE, ENROLLD_FW_IMAGE_SIZE, ENROLLD_FW_IMAGE_SHA256, ENROLLD_FW_NAME,
//                ENROLLD_FW_PKG_ID + ENROLLD_FW_VERSION (preferred names) or ENROLLD_FW_LEGACY_NAME (hex),
//                ENROLLD_FW_PKG_TYPE (if signed), ENROLLD_FW_HW_TYPE, ENROLLD_FW_SIGNER, + configured extras
//   exit 0 = applied (the new image boots next time); anything else = not applied, old firmware untouched.
// The hook runs in its own process group; on timeout the whole group gets SIGKILL and the run counts as failed.
import { spawn } from 'node:child_process';

export interface HookSpec {
  /** Absolute path of the executable. */
  path: string;
  /** Arguments placed before the image path. */
  args?: string[];
  /** Default 10 minutes. */
  timeoutMs?: number;
  env?: Record<string, string>;
}

export interface HookResult {
  ok: boolean;
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  /** Last few KiB of output, for logs. */
  stdout: string;
  stderr: string;
  durationMs: number;
  /** spawn() itself failed (ENOENT, EACCES). */
  spawnError?: string;
}

const TAIL = 4096;

export function runHook(spec: HookSpec, args: string[], env: Record<string, string>, signal?: AbortSignal): Promise<HookResult> {
  const timeoutMs = spec.timeoutMs ?? 600_000;
  const started = Date.now();
  return new Promise((resolve) => {
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    let done = false;
    const child = spawn(spec.path, [...(spec.args ?? []), ...args], {
      env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', ...spec.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true, // own process group, so a timeout kills everything the installer started
    });
    const killGroup = (): void => {
      if (child.pid === undefined) return;
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    };
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup();
    }, timeoutMs);
    const onAbort = (): void => {
      timedOut = true;
      killGroup();
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    child.stdout.on('data', (d: Buffer) => (stdout = (stdout + d.toString('utf8')).slice(-TAIL)));
    child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString('utf8')).slice(-TAIL)));
    const finish = (r: Omit<HookResult, 'stdout' | 'stderr' | 'durationMs' | 'timedOut'>): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      resolve({ ...r, ok: r.ok && !timedOut, timedOut, stdout, stderr, durationMs: Date.now() - started });
    };
    child.once('error', (e) => finish({ ok: false, exitCode: null, signal: null, spawnError: e.message }));
    child.once('close', (code, sig) => finish({ ok: code === 0, exitCode: code, signal: sig }));
  });
}
