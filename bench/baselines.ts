// Baselines measured in the same bench run, with the same node binary, that the targets are ratios against:
// `node -e 0` (wall, peak RSS), a shell enrollment (`openssl req -new` + a curl POST to /simpleenroll against the same
// lab), and whole-process `enrolld enroll --now` for the tsc output and the bundle. Peak RSS and CPU come from GNU
// time (/usr/bin/time -f), wall from spawn() to exit on CLOCK_MONOTONIC.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AgentEnv } from '../test/harness/agent-env.js';
import { median, procMemory, type ProcMemory } from './proc-status.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export interface ProcessRun {
  wallMs: number;
  /** Max RSS in bytes (GNU time %M). */
  maxRss: number;
  /** user + system CPU, ms. */
  cpuMs: number;
}

const TIME = '/usr/bin/time';

/** Runs `cmd args` under GNU time; rejects on a non-zero exit. */
export async function timedRun(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<ProcessRun> {
  const t0 = process.hrtime.bigint();
  const child = spawn(TIME, ['-f', 'TIME %M %U %S', cmd, ...args], { stdio: ['ignore', 'ignore', 'pipe'], env });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-8000)));
  const [code] = (await once(child, 'exit')) as [number | null];
  const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
  const m = /TIME (\d+) ([\d.]+) ([\d.]+)\s*$/.exec(err);
  if (code !== 0 || !m) throw new Error(`${cmd} ${args.join(' ')} exited ${code}: ${err.slice(-1500)}`);
  return { wallMs, maxRss: Number(m[1]) * 1024, cpuMs: (Number(m[2]) + Number(m[3])) * 1000 };
}

export interface RunSummary {
  wallMs: number;
  maxRss: number;
  cpuMs: number;
  runs: number;
}

export function summarize(runs: ProcessRun[]): RunSummary {
  return { wallMs: median(runs.map((r) => r.wallMs)), maxRss: median(runs.map((r) => r.maxRss)), cpuMs: median(runs.map((r) => r.cpuMs)), runs: runs.length };
}

/** `node -e 0` with this node: the floor every start-up figure is compared with. */
export async function nodeBaseline(runs: number): Promise<RunSummary> {
  const out: ProcessRun[] = [];
  for (let i = 0; i < runs; i++) out.push(await timedRun(process.execPath, ['-e', '0']));
  return summarize(out);
}

/**
 * The libraries the design requires (pkijs, asn1js) and node's TLS/HTTPS stack, imported by a bare node: the
 * floor under the start-up and memory targets that no agent built on them goes below.
 */
const LIBRARY_IMPORTS = "await import('pkijs'); await import('asn1js'); await import('node:tls'); await import('node:https');";
/**
 * The node built-ins the agent's start-up path loads before READY=1 (crypto: the state checksum and the TA check;
 * fs/promises and stream: the stores). They are outside node's start-up snapshot, and with V8 flags on the command
 * line (the .deb wrapper's --jitless) Node 20 compiles them from source: its built-in code cache is not used then.
 */
const BUILTIN_IMPORTS = "await import('node:crypto'); await import('node:fs/promises'); await import('node:stream');";
export type FloorImports = 'none' | 'builtins' | 'libraries';
const FLOOR_CODE: Record<FloorImports, string> = { none: '', builtins: BUILTIN_IMPORTS, libraries: LIBRARY_IMPORTS };

export interface IdleFloor {
  /** spawn → exit of `node -e <imports>`, median. */
  wallMs: number;
  /** /proc status `settleMs` after the imports, median by VmRSS. */
  idle: ProcMemory;
}

/** node with `nodeArgs` and nothing, the start-up built-ins or the required libraries imported: wall to exit, and resident memory once idle. */
export async function idleFloor(runs: number, o: { nodeArgs?: string[]; imports: FloorImports; settleMs?: number }): Promise<IdleFloor> {
  const code = FLOOR_CODE[o.imports];
  const walls: number[] = [];
  const idles: ProcMemory[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = process.hrtime.bigint();
    const quick = spawn(process.execPath, [...(o.nodeArgs ?? []), '--input-type=module', '-e', code], { cwd: ROOT, stdio: 'ignore' });
    const [qc] = (await once(quick, 'exit')) as [number | null];
    if (qc !== 0) throw new Error(`node -e <library imports> exited ${qc}`);
    walls.push(Number(process.hrtime.bigint() - t0) / 1e6);
    const child = spawn(process.execPath, [...(o.nodeArgs ?? []), '--input-type=module', '-e', `${code} process.stdout.write('up\\n'); setInterval(() => {}, 1000);`], { cwd: ROOT, stdio: ['ignore', 'pipe', 'ignore'] });
    try {
      await once(child.stdout!, 'data');
      await new Promise((r) => setTimeout(r, o.settleMs ?? 3000));
      idles.push(procMemory(child.pid!));
    } finally {
      child.kill('SIGKILL');
    }
  }
  return { wallMs: median(walls), idle: [...idles].sort((a, b) => a.rss - b.rss)[Math.floor(idles.length / 2)]! };
}

/** A shell enrollment: a fresh P-256 key and CSR from `openssl req -new`, POSTed with curl to /simpleenroll (Basic auth, the EST TA). */
export async function shellEnrollment(env: AgentEnv, runs: number): Promise<RunSummary> {
  const doc = JSON.parse(readFileSync(path.join(env.dir, 'config.json'), 'utf8')) as { deviceId: string; est: { url: string } };
  const script = path.join(env.dir, 'shell-enroll.sh');
  writeFileSync(
    script,
    `set -eu
cd "$1"
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout key.pem -subj "/CN=${doc.deviceId}" -outform DER 2>/dev/null |
  base64 -w 64 |
  curl -sS --fail --cacert est-ta.pem -u "${doc.deviceId}:$(cat est-password)" -H 'Content-Type: application/pkcs10' \\
    -H 'Content-Transfer-Encoding: base64' --data-binary @- -o cert.p7 '${doc.est.url}/.well-known/est/simpleenroll'
test -s cert.p7
`,
    { mode: 0o700 },
  );
  const out: ProcessRun[] = [];
  for (let i = 0; i < runs; i++) out.push(await timedRun('sh', [script, env.dir]));
  return summarize(out);
}

/** Whole-process `enrolld enroll --now` (initial enrollment on a fresh state directory each time) with `main`. */
export async function enrollNow(env: AgentEnv, main: string, runs: number, nodeArgs: string[] = [], nodeEnv: Record<string, string> = {}): Promise<RunSummary> {
  const doc = JSON.parse(readFileSync(path.join(env.dir, 'config.json'), 'utf8')) as Record<string, unknown>;
  const out: ProcessRun[] = [];
  for (let i = 0; i < runs; i++) {
    const file = path.join(env.dir, `config-now-${i}-${Date.now()}.json`);
    writeFileSync(file, JSON.stringify({ ...doc, stateDir: path.join(env.dir, `state-now-${i}-${Date.now()}`) }), { mode: 0o600 });
    out.push(await timedRun(process.execPath, [...nodeArgs, main, 'enroll', '--now', '--config', file], { ...process.env, ...nodeEnv }));
  }
  return summarize(out);
}
