// `enrolld run` as systemd would run it (Type=notify): spawn → READY=1 on NOTIFY_SOCKET, and the daemon's resident
// memory once it has enrolled, polled and gone idle. The lab server and swtpm run in the calling process / their own
// processes; the agent is a separate process, so its /proc figures are its own.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AgentEnv } from '../test/harness/agent-env.js';
import { notifyReceiver } from '../test/harness/notify-socket.js';
import { median, procMemory, type ProcMemory } from './proc-status.js';

const MAIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../agent/cli/main.js');
/** The production build (deploy/build/bundle.mjs; `npm run build:bundle`). */
export const BUNDLE_MAIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../bundle/enrolld.mjs');
export const TSC_MAIN = MAIN;

export interface DaemonRun {
  /** spawn() → READY=1 arrival, ms. */
  readyMs: number;
  /** spawn() → first idle (WATCHDOG=1|STATUS=… after the first loop iteration), ms. */
  idleMs: number;
  /** /proc/<pid>/status after the daemon went idle and `settleMs` passed. */
  idle: ProcMemory;
}

export interface DaemonStartOptions {
  /** The CLI entry to run (default: the tsc output dist/agent/cli/main.js; BUNDLE_MAIN for the production build). */
  main?: string;
  /** Extra node options before the script (e.g. ["--max-semi-space-size=1"]). */
  nodeArgs?: string[];
  env?: Record<string, string>;
  settleMs?: number;
}

/** One start of `enrolld run` against `env`, stopped with SIGTERM afterwards (must exit 0). */
export async function runDaemonOnce(env: AgentEnv, opts: DaemonStartOptions = {}): Promise<DaemonRun> {
  const sock = path.join(env.dir, `notify-${process.hrtime.bigint()}.sock`);
  const rx = await notifyReceiver(sock, 120);
  let stderr = '';
  const t0 = process.hrtime.bigint();
  const child = spawn(process.execPath, [...(opts.nodeArgs ?? []), opts.main ?? MAIN, 'run', '--config', path.join(env.dir, 'config.json')], {
    env: { ...process.env, ...opts.env, NOTIFY_SOCKET: sock },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  const exited = once(child, 'exit') as Promise<[number | null, string | null]>;
  try {
    const ready = await rx.waitFor(/^READY=1/, 30_000);
    const idle = await rx.waitFor(/^WATCHDOG=1\|STATUS=/, 60_000);
    await new Promise((r) => setTimeout(r, opts.settleMs ?? 3000));
    const mem = procMemory(child.pid!);
    child.kill('SIGTERM');
    const [code] = await exited;
    if (code !== 0) throw new Error(`enrolld run exited ${code}: ${stderr}`);
    return { readyMs: Number(ready.at - t0) / 1e6, idleMs: Number(idle.at - t0) / 1e6, idle: mem };
  } catch (err) {
    child.kill('SIGKILL');
    throw new Error(`${(err as Error).message}\nenrolld stderr: ${stderr}`, { cause: err });
  } finally {
    rx.close();
  }
}

export interface DaemonStartResult {
  /** First start on an empty state directory (READY before enrolling; idle after enrolling + first PAL poll). */
  first: DaemonRun;
  /** Restarts with an enrolled state. */
  restarts: DaemonRun[];
  readyMsMedian: number;
  idleRssMedian: number;
}

export async function daemonStart(env: AgentEnv, restarts = 5, opts: DaemonStartOptions = {}): Promise<DaemonStartResult> {
  const first = await runDaemonOnce(env, opts);
  const runs: DaemonRun[] = [];
  for (let i = 0; i < restarts; i++) runs.push(await runDaemonOnce(env, opts));
  return { first, restarts: runs, readyMsMedian: median(runs.map((r) => r.readyMs)), idleRssMedian: median(runs.map((r) => r.idle.rss)) };
}

const PHASES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), 'startup-phases.js');

export interface StartupPhases {
  nodeBoot: number;
  importModules: number;
  compose: number;
  bootstrap: number;
  total: number;
}

/** Medians over `runs` of bench/startup-phases.js (what `enrolld run` does before READY=1, timed per phase). */
export async function startupPhases(env: AgentEnv, runs = 5): Promise<StartupPhases> {
  const all: StartupPhases[] = [];
  for (let i = 0; i < runs; i++) {
    const child = spawn(process.execPath, [PHASES, path.join(env.dir, 'config.json')], { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    const [code] = (await once(child, 'close')) as [number | null];
    if (code !== 0) throw new Error(`startup-phases exited ${code}`);
    all.push(JSON.parse(out.trim().split('\n').at(-1)!) as StartupPhases);
  }
  const m = (k: keyof StartupPhases): number => median(all.map((p) => p[k]));
  return { nodeBoot: m('nodeBoot'), importModules: m('importModules'), compose: m('compose'), bootstrap: m('bootstrap'), total: m('total') };
}
