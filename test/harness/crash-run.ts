// Random SIGKILLs of a real `enrolld run` process, timed from its own progress (the events it logs on stderr) rather
// than fixed millisecond windows, so the kills land mid-enrollment on a fast or a heavily loaded machine alike. After
// every kill the state is loaded and checked: it parses, and a credential that was valid before the kill is still
// there and its key still signs in the TPM. At the end the agent runs to completion once: a usable credential, no TPM
// object left behind.
import { spawn, type ChildProcess } from 'node:child_process';
import { X509Certificate, verify } from 'node:crypto';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { FileStateStore } from '../../agent/store/state-store.js';
import { STATE_SCHEMA, isAgentState, fromStoredKey, type AgentState, type Credential } from '../../agent/lifecycle/state.js';
import { TpmKeyStore } from '../../agent/keystore/tpm.js';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startAgentEnv, startPlainAgentEnv } from './agent-env.js';

const MAIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../agent/cli/main.js');

/** Progress events of `enrolld run` a kill is timed from ('launch': the spawn itself). */
const ANCHORS = ['launch', 'enroll.start', 'enroll.request', 'enroll.issued'] as const;
type Anchor = (typeof ANCHORS)[number];
/** Anchors an iteration may ask for explicitly (a 202 answer: the kill lands in the persisted wait for approval). */
export type CrashAnchor = Anchor | 'enroll.pending';
/** Relative weights of the anchors: most kills fall around the request in flight. */
const WEIGHTS: Record<Anchor, number> = { launch: 3, 'enroll.start': 2, 'enroll.request': 4, 'enroll.issued': 1 };
const EVENT = /\s(enroll\.[a-z-]+|daemon\.[a-z-]+|key\.[a-z-]+)(\s|$)/;

export interface CrashRunOptions {
  /** `enrolld run --config` file. */
  configFile: string;
  stateDir: string;
  tcti: string;
  iterations: number;
  seed?: number;
  /** Called before each iteration (e.g. to switch a server behaviour on for some of them). */
  beforeIteration?: (i: number, rand: () => number) => void | Promise<void>;
  /** The anchor of iteration i, when it is not to be drawn at random. */
  anchorFor?: (i: number) => CrashAnchor | undefined;
  /** Called before the final run to completion. */
  beforeRecovery?: () => void | Promise<void>;
  /** Longest wait for an anchor event before killing anyway (the agent may be in a persisted backoff). */
  anchorTimeoutMs?: number;
  recoveryTimeoutMs?: number;
}

export interface CrashRunReport {
  kills: number;
  /** Phase of the persisted state after each kill. */
  phases: Record<string, number>;
  /** Kills that left a request in flight (enrolling/renewing), and those while it waited on a 202 (pending). */
  midEnrollment: number;
  pending: number;
  /** The last progress event the killed process logged, per kill. */
  lastEvents: Record<string, number>;
  /** Which anchor each kill was timed from, and how many anchors never came (killed at the timeout). */
  anchors: Record<string, number>;
  anchorMissed: number;
  /** A credential valid before a kill, and still within its validity, gone or unusable after it. Must be 0. */
  credentialsLost: number;
  lossDetails: string[];
  /** Credentials the agent held over the run (distinct serials). */
  credentialsSeen: number;
  /** Kills after which the key of the stored credential was checked to sign in the TPM. */
  usabilityChecks: number;
  /** After the final run: temp files of killed writers still in the state directory (swept at start: must be 0). */
  final: { phase: string; serial: string; signs: boolean; transients: number; staleTemps: number };
}

function bump(m: Record<string, number>, k: string): void {
  m[k] = (m[k] ?? 0) + 1;
}

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32);
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const exited = (c: ChildProcess) => new Promise<void>((r) => (c.exitCode !== null || c.signalCode !== null ? r() : c.once('exit', () => r())));

interface Running {
  child: ChildProcess;
  /** Events seen so far with their times (ms since spawn). */
  events: Array<{ event: string; at: number }>;
  waitFor(event: string, timeoutMs: number): Promise<boolean>;
}

function launch(configFile: string): Running {
  const t0 = Date.now();
  const child = spawn(process.execPath, [MAIN, 'run', '--config', configFile], { stdio: ['ignore', 'ignore', 'pipe'] });
  const events: Running['events'] = [];
  const waiters: Array<{ event: string; resolve: (v: boolean) => void }> = [];
  let buf = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (d: string) => {
    buf += d;
    let nl;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      const m = EVENT.exec(line);
      if (!m) continue;
      events.push({ event: m[1]!, at: Date.now() - t0 });
      for (const w of waiters.filter((x) => x.event === m[1])) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(true);
      }
    }
  });
  child.once('exit', () => waiters.splice(0).forEach((w) => w.resolve(false)));
  return {
    child,
    events,
    waitFor(event, timeoutMs) {
      if (event === 'launch') return Promise.resolve(true);
      return new Promise<boolean>((resolve) => {
        const w = { event, resolve: (v: boolean) => (clearTimeout(timer), resolve(v)) };
        const timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(w), 1);
          resolve(false);
        }, timeoutMs);
        waiters.push(w);
      });
    },
  };
}

/** Exponentially weighted mean duration (ms) of each step, learnt from the runs themselves. */
class StepTimes {
  private readonly ms: Record<Anchor, number> = { launch: 1500, 'enroll.start': 50, 'enroll.request': 800, 'enroll.issued': 1500 };
  /** What follows each anchor: the window a kill timed from it is spread over. */
  private static readonly NEXT: Record<Anchor, string[]> = {
    launch: ['enroll.start', 'enroll.request'],
    'enroll.start': ['enroll.request'],
    'enroll.request': ['enroll.issued', 'enroll.pending', 'enroll.failed', 'enroll.renew-refused'],
    'enroll.issued': ['enroll.start'],
  };
  learn(events: Running['events']): void {
    for (const a of ANCHORS) {
      const from = a === 'launch' ? 0 : events.find((e) => e.event === a)?.at;
      if (from === undefined) continue;
      const to = events.find((e) => e.at >= from && e.event !== a && StepTimes.NEXT[a].includes(e.event))?.at;
      if (to !== undefined) this.ms[a] = 0.7 * this.ms[a] + 0.3 * Math.max(1, to - from);
    }
  }
  window(a: Anchor): number {
    return this.ms[a];
  }
}

/**
 * Why the kill at `killedAt` lost a credential, or undefined: a credential still valid when the process died must
 * survive it, as itself or a successor (never an older one), and its key must still sign for the certificate.
 */
export async function credentialLoss(before: AgentState | undefined, after: AgentState | undefined, killedAt: number, usable: (c: Credential) => Promise<boolean>): Promise<string | undefined> {
  const prev = before?.credential;
  if (!prev || Date.parse(prev.notAfter) <= killedAt) return undefined;
  const now = after?.credential;
  if (!now) return `credential ${prev.serial} gone (phase ${after?.phase ?? 'no state'})`;
  if (Date.parse(now.notAfter) < Date.parse(prev.notAfter)) return `credential ${prev.serial} replaced by an older one ${now.serial}`;
  if (!(await usable(now))) return `credential ${now.serial}: its key no longer signs for its certificate in the TPM`;
  return undefined;
}

/** Loads the key of `cred` in the TPM and checks that it signs for the certificate's public key. */
export async function signs(tcti: string, cred: Credential, ks?: TpmKeyStore): Promise<boolean> {
  // The killed process may have left transient objects loaded (a socket TCTI has no resource manager): flush them.
  const own = ks ?? (await TpmKeyStore.open({ tcti, flushStaleTransients: true }));
  try {
    const hash = cred.key.algorithm === 'ecc-p384' ? 'sha384' : 'sha256';
    const msg = new Uint8Array(Buffer.from('usable?'));
    const sig = await own.signer(fromStoredKey(cred.key)).sign(msg, hash);
    return verify(hash, msg, new X509Certificate(cred.certPem).publicKey, Buffer.from(sig));
  } catch {
    return false;
  } finally {
    if (!ks) await own.close();
  }
}

export async function runCrashProof(o: CrashRunOptions): Promise<CrashRunReport> {
  const store = new FileStateStore<AgentState>({ dir: o.stateDir, version: STATE_SCHEMA, validate: isAgentState });
  const rand = lcg(o.seed ?? 0x2545f491);
  const times = new StepTimes();
  const r: CrashRunReport = {
    kills: 0, phases: {}, midEnrollment: 0, pending: 0, lastEvents: {}, anchors: {}, anchorMissed: 0,
    credentialsLost: 0, lossDetails: [], credentialsSeen: 0, usabilityChecks: 0,
    final: { phase: 'none', serial: '', signs: false, transients: -1, staleTemps: -1 },
  };
  const serials = new Set<string>();
  const total = ANCHORS.reduce((n, a) => n + WEIGHTS[a], 0);
  const pickAnchor = (): Anchor => {
    let x = rand() * total;
    for (const a of ANCHORS) if ((x -= WEIGHTS[a]) < 0) return a;
    return 'launch';
  };
  let before = await store.load();
  for (let i = 0; i < o.iterations; i++) {
    await o.beforeIteration?.(i, rand);
    const asked = o.anchorFor?.(i);
    const anchor: CrashAnchor = asked ?? pickAnchor();
    // The window is what this step took in earlier runs; the offset may overshoot it a little, into the next step.
    // After a 202 the agent waits at least 10 s (its Retry-After floor): any offset up to 3 s lands in that wait.
    const offset = Math.floor(rand() * (anchor === 'enroll.pending' ? 3000 : 1.2 * times.window(anchor)));
    const run = launch(o.configFile);
    const seen = await run.waitFor(anchor, o.anchorTimeoutMs ?? 15_000);
    if (!seen) r.anchorMissed++;
    if (seen && offset > 0) await sleep(offset);
    run.child.kill('SIGKILL');
    await exited(run.child);
    const killedAt = Date.now();
    r.kills++;
    bump(r.anchors, anchor);
    bump(r.lastEvents, run.events.at(-1)?.event ?? '(none)');
    times.learn(run.events);

    const s = await store.load(); // throws on a corrupt or unreadable state
    if (s && !isAgentState(s)) throw new Error(`iteration ${i}: invalid state`);
    bump(r.phases, s?.phase ?? 'none');
    if (s?.phase === 'enrolling' || s?.phase === 'renewing') r.midEnrollment++;
    if (s?.retry?.reason === 'pending') r.pending++;
    if (s?.credential) serials.add(s.credential.serial);

    const lost = await credentialLoss(before, s, killedAt, (c) => (r.usabilityChecks++, signs(o.tcti, c)));
    if (lost) {
      r.credentialsLost++;
      r.lossDetails.push(`iteration ${i} (after ${run.events.at(-1)?.event ?? 'launch'}): ${lost}`);
    }
    before = s;
    if ((i + 1) % 100 === 0) console.log(`  ${i + 1} kills, ${r.midEnrollment} mid-enrollment, ${r.credentialsLost} credentials lost`);
  }
  r.credentialsSeen = serials.size;

  // Let it run to completion once: it must end enrolled with a fresh credential.
  await o.beforeRecovery?.();
  const run = launch(o.configFile);
  const deadline = Date.now() + (o.recoveryTimeoutMs ?? 40_000);
  let final: AgentState | undefined;
  while (Date.now() < deadline) {
    await sleep(200);
    final = await store.load();
    if (final?.phase === 'enrolled' && !final.retry && Date.parse(final.credential!.notAfter) > Date.now() + 1000) break;
  }
  run.child.kill('SIGTERM');
  await exited(run.child);
  final = await store.load();
  r.final.phase = final?.phase ?? 'none';
  r.final.staleTemps = readdirSync(o.stateDir).filter((n) => n.startsWith('.') && n.includes('.tmp-')).length;
  if (final?.credential) {
    r.final.serial = final.credential.serial;
    const ks = await TpmKeyStore.open({ tcti: o.tcti });
    try {
      r.final.transients = (await ks.listHandles()).length;
      r.final.signs = await signs(o.tcti, final.credential, ks);
    } finally {
      await ks.close();
    }
  }
  return r;
}

export function formatCrashReport(profile: string, r: CrashRunReport): string {
  const kv = (m: Record<string, number>) => Object.entries(m).sort().map(([k, v]) => `${k}=${v}`).join(' ');
  return [
    `crash proof [${profile}]: kills=${r.kills} credentialsLost=${r.credentialsLost} midEnrollment=${r.midEnrollment} pending=${r.pending}`,
    `  states hit: ${kv(r.phases)}`,
    `  last event before the kill: ${kv(r.lastEvents)}`,
    `  kills timed from: ${kv(r.anchors)} (anchor not seen, killed at the timeout: ${r.anchorMissed})`,
    `  credentials held: ${r.credentialsSeen}; usability checks after kills: ${r.usabilityChecks}`,
    `  recovery: phase=${r.final.phase} serial=${r.final.serial} signsInTpm=${r.final.signs} transients=${r.final.transients} staleTemps=${r.final.staleTemps}`,
    ...r.lossDetails.map((d) => `  LOST ${d}`),
  ].join('\n');
}

// The profiles: each test file registers one (CI: 50 kills); `npm run prove:crash -- --iterations 1000` runs both.
const arg = (name: string) => {
  const i = process.argv.lastIndexOf(name); // the last one wins: `npm run prove:crash -- --profile plain`
  return i > 0 ? process.argv[i + 1] : undefined;
};

// 10 s certificates (both labs backdate notBefore by 60 s) renewed at 90 % of their 70 s life: a renewal is due 3 s
// after each issue and has 7 s before the credential expires, enough for a restart on a loaded machine.
const VALIDITY_SECONDS = 10;
const SCHEDULE = { schedule: { renewFraction: 0.9, backoffMinSeconds: 1, backoffMaxSeconds: 2, jitterSeconds: 0 } };

function check(profile: string, r: CrashRunReport, iterations: number): void {
  const text = formatCrashReport(profile, r);
  console.log(text);
  assert.is(r.kills, iterations);
  assert.is(r.credentialsLost, 0, r.lossDetails.join('\n'));
  assert.ok(r.midEnrollment > 0, `no kill landed mid-enrollment:\n${text}`);
  assert.ok(r.usabilityChecks > 0, `no kill happened while a credential was valid:\n${text}`);
  assert.ok(r.credentialsSeen > 1, `no renewal completed between the kills:\n${text}`);
  assert.is(r.final.phase, 'enrolled');
  assert.ok(r.final.signs, 'the final credential key signs in the TPM for the certificate key');
  assert.is(r.final.transients, 0, 'no transient TPM object left behind');
  assert.is(r.final.staleTemps, 0, 'temp files of killed writers swept from the state directory');
}

function labProfile(iterations: number): void {
  test(`lab profile: SIGKILL of enrolld run at ${iterations} points of its progress, then recovery to a usable credential`, async () => {
    const env = await startAgentEnv({ lab: { certValiditySeconds: VALIDITY_SECONDS }, config: SCHEDULE });
    try {
      const o: CrashRunOptions = { configFile: path.join(env.dir, 'config.json'), stateDir: env.config.stateDir, tcti: env.tpm.tcti, iterations: iterations };
      const r = await runCrashProof(o);
      console.log(`  certificates issued by the lab: ${env.lab.issued.length}`);
      check('lab', r, iterations);
    } finally {
      await env.stop();
    }
  });
}

function plainProfile(iterations: number): void {
  test(`plain RFC 7030 profile: SIGKILL of enrolld run at ${iterations} points of its progress, then recovery`, async () => {
    // Basic after TLS client auth and the CA's subject rewrite stay on; the 202 + Retry-After (clamped by the agent
    // to ≥ 10 s) is on for four iterations in sixteen, so kills also land on requests waiting for approval.
    const env = await startPlainAgentEnv({ lab: { certValiditySeconds: VALIDITY_SECONDS, retryAfterSeconds: null }, config: SCHEDULE });
    try {
      const r = await runCrashProof({
        configFile: path.join(env.dir, 'config.json'),
        stateDir: env.config.stateDir,
        tcti: env.tpm.tcti,
        iterations: iterations,
        seed: 0x9e3779b9,
        beforeIteration: (i) => env.lab.setRetryAfter(i % 16 >= 3 && i % 16 < 7 ? 1 : null),
        // The first of those runs is killed after its 202 (whenever it comes), the others at random points.
        anchorFor: (i) => (i % 16 === 3 ? 'enroll.pending' : undefined),
        beforeRecovery: () => env.lab.setRetryAfter(null),
      });
      const answers: Record<number, number> = {};
      for (const q of env.lab.requests) if (q.path.endsWith('enroll')) answers[q.status] = (answers[q.status] ?? 0) + 1;
      console.log(`  certificates issued by the plain lab: ${env.lab.issued.length}; (re)enroll answers by status: ${JSON.stringify(answers)}`);
      check('plain', r, iterations);
      assert.ok(r.pending > 0, 'some kills landed on a request waiting on a 202');
    } finally {
      await env.stop();
    }
  });
}

const PROFILES: Record<string, (iterations: number) => void> = { lab: labProfile, plain: plainProfile };

/** Registers the crash tests of `defaults` (or of `--profile a,b`) with `--iterations N` (default 50) kills each. */
export function registerCrashTests(defaults: string[]): void {
  const iterations = Number(arg('--iterations') ?? process.env.CRASH_iterations ?? 50);
  for (const p of arg('--profile')?.split(',') ?? defaults) {
    const register = PROFILES[p];
    if (!register) throw new Error(`unknown crash profile ${p} (lab, plain)`);
    register(iterations);
  }
}
