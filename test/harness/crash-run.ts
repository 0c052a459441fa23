// Random SIGKILLs of a real `enrolld run` process, timed from its own progress (the events it logs on stderr) rather
// than fixed millisecond windows, so the kills land mid-enrollment on a fast or a heavily loaded machine alike. After
// every kill the state is loaded and checked: it parses, and a credential that was valid before the kill is still
// there and its key still signs in the TPM. At the end the agent runs to completion once: a usable credential, no TPM
// object left behind.
import { spawn, type ChildProcess } from 'node:child_process';
import { X509Certificate, verify } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { FileStateStore } from '../../agent/store/state-store.js';
import { STATE_SCHEMA, isAgentState, fromStoredKey, type AgentState, type Credential } from '../../agent/lifecycle/state.js';
import { TpmKeyStore } from '../../agent/keystore/tpm.js';

const MAIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../agent/cli/main.js');

/** Progress events of `enrolld run` a kill is timed from ('launch': the spawn itself). */
const ANCHORS = ['launch', 'enroll.start', 'enroll.request', 'enroll.issued'] as const;
type Anchor = (typeof ANCHORS)[number];
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
  final: { phase: string; serial: string; signs: boolean; transients: number };
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

/** Loads the key of `cred` in the TPM and checks that it signs for the certificate's public key. */
async function signs(tcti: string, cred: Credential, ks?: TpmKeyStore): Promise<boolean> {
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
    final: { phase: 'none', serial: '', signs: false, transients: -1 },
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
    const anchor = pickAnchor();
    // The window is what this step took in earlier runs; the offset may overshoot it a little, into the next step.
    const offset = Math.floor(rand() * 1.2 * times.window(anchor));
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

    // A credential still valid when the process died must have survived the kill: the same one or its successor.
    const prev = before?.credential;
    if (prev && Date.parse(prev.notAfter) > killedAt) {
      const now = s?.credential;
      let lost: string | undefined;
      if (!now) lost = `credential ${prev.serial} gone (phase ${s?.phase})`;
      else if (Date.parse(now.notAfter) < Date.parse(prev.notAfter)) lost = `credential ${prev.serial} replaced by an older one ${now.serial}`;
      else {
        r.usabilityChecks++;
        if (!(await signs(o.tcti, now))) lost = `credential ${now.serial}: its key no longer signs in the TPM`;
      }
      if (lost) {
        r.credentialsLost++;
        r.lossDetails.push(`iteration ${i} (after ${run.events.at(-1)?.event ?? 'launch'}): ${lost}`);
      }
    }
    before = s;
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
    `  recovery: phase=${r.final.phase} serial=${r.final.serial} signsInTpm=${r.final.signs} transients=${r.final.transients}`,
    ...r.lossDetails.map((d) => `  LOST ${d}`),
  ].join('\n');
}
