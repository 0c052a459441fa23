// The agent side of the benchmarks, in its own process (never the lab server's): `node dist/bench/agent-probe.js
// <config.json> poll|enroll <n>`. Composes the agent exactly like `enrolld run` and measures only itself —
// process CPU (all threads), RSS, TPM time from the keystore's per-command stats. Synchronises with the parent
// (which counts bytes at a TCP relay in front of the lab server) by printing "MARK <name>" and waiting for a line on
// stdin; prints "RESULT <json>" last.
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { composeAgent } from '../agent/cli/compose.js';
import { loadConfig } from '../agent/config.js';
import { PalPoller } from '../agent/packages/pal-poller.js';
import { createHttpsTransport } from '../agent/protocols/http/transport.js';
import { TpmKeyStore } from '../agent/keystore/tpm.js';
import { createLogger } from '../agent/util/log.js';
import { loadDeferredModules } from '../agent/util/lazy-import.js';
import { median, percentile, procMemory } from './proc-status.js';

const stdin = createInterface({ input: process.stdin });
const lines = stdin[Symbol.asyncIterator]();
async function mark(name: string): Promise<void> {
  process.stdout.write(`MARK ${name}\n`);
  await lines.next();
}

const cpuMs = (c: NodeJS.CpuUsage): number => (c.user + c.system) / 1000;

// ENROLLD_BENCH_PROFILE=<dir>: a V8 CPU profile of each measured loop (only then; the profiler costs CPU itself).
const profileDir = process.env.ENROLLD_BENCH_PROFILE;
let inspector: Session | undefined;
async function profileStart(): Promise<void> {
  if (!profileDir) return;
  if (!inspector) {
    inspector = new Session();
    inspector.connect();
    await inspector.post('Profiler.enable');
    await inspector.post('Profiler.setSamplingInterval', { interval: 200 });
  }
  await inspector.post('Profiler.start');
}
async function profileStop(name: string): Promise<void> {
  if (!profileDir || !inspector) return;
  const { profile } = await inspector.post('Profiler.stop');
  writeFileSync(path.join(profileDir, `${name}.cpuprofile`), JSON.stringify(profile));
}

/** Sum of the native TPM commands' in-process time (ms) — excludes the keystore's op.* aggregates. */
function tpmMs(ks: TpmKeyStore): { ms: number; calls: number; signOpMs: number } {
  let ms = 0;
  let calls = 0;
  const s = ks.stats();
  for (const [k, v] of Object.entries(s)) {
    if (k.startsWith('op.')) continue;
    ms += v.totalMs;
    calls += v.count;
  }
  const op = s['op.signDigest'];
  return { ms, calls, signOpMs: op && op.count ? op.totalMs / op.count : 0 };
}

/** CPU ms per thread (Linux /proc/self/task/<tid>/stat utime+stime, 10 ms ticks), keyed "main" or "other". */
function threadCpu(): { main: number; other: number } {
  const out = { main: 0, other: 0 };
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const ms = (Number(f[11]) + Number(f[12])) * 10; // fields 14 and 15, after pid (comm) state
      if (Number(tid) === process.pid) out.main += ms;
      else out.other += ms;
    } catch {
      /* thread exited */
    }
  }
  return out;
}

const [configFile, mode, nArg] = process.argv.slice(2);
const n = Number(nArg ?? 20);
const config = loadConfig(configFile!);
const agent = await composeAgent(config, { log: createLogger({ level: 'warn' }) });
try {
  if (!(agent.keystore instanceof TpmKeyStore)) throw new Error('the probe needs the TPM keystore');
  const ks = agent.keystore;
  if (mode === 'poll') {
    let state = (await agent.enroller.step()).state;
    if (state.phase !== 'enrolled') throw new Error(`not enrolled: ${state.phase}`);
    const anchors = readFileSync(config.est.trustAnchorsFile, 'utf8');
    const password = config.est.basicAuth ? readFileSync(config.est.basicAuth.passwordFile, 'utf8').replace(/\r?\n$/, '') : undefined;
    const out: Record<string, unknown> = {};
    for (const reuse of [false, true]) {
      // The composed poller's transport resumes sessions (the default); the "off" variant is the same poller over a
      // transport that never resumes.
      const poller = reuse
        ? agent.poller
        : new PalPoller({
            est: agent.est.withTransport(createHttpsTransport({ trustAnchors: [anchors], ...(password ? { basicAuth: { username: config.est.basicAuth!.username, password } } : {}) , sessionReuse: false })),
            taStore: agent.taStore,
            crlStore: agent.crlStore,
            log: agent.log,
            clock: agent.clock,
          });
      for (let i = 0; i < 3; i++) await poller.poll(state);
      const cpu: number[] = [];
      const wall: number[] = [];
      const tag = reuse ? 'resume' : 'full';
      await mark(`${tag}-start`);
      await profileStart();
      for (let i = 0; i < n; i++) {
        const c0 = process.cpuUsage();
        const t0 = performance.now();
        const r = await poller.poll(state);
        wall.push(performance.now() - t0);
        cpu.push(cpuMs(process.cpuUsage(c0)));
        if (r.renew) throw new Error('the PAL asked for something: not a no-change cycle');
      }
      await profileStop(`poll-${tag}`);
      await new Promise((r) => setTimeout(r, 100)); // TLS 1.3 tickets and socket close land after the response
      await mark(`${tag}-end`);
      out[tag] = { cpuMsMedian: median(cpu), cpuMsP90: percentile(cpu, 0.9), wallMsMedian: median(wall) };
    }
    out.memory = procMemory();
    out.heapUsed = process.memoryUsage().heapUsed;
    state = await agent.enroller.loadState();
    process.stdout.write(`RESULT ${JSON.stringify(out)}\n`);
  } else if (mode === 'enroll') {
    const samples: Array<{ op: string; wallMs: number; cpuMs: number; tpmMs: number; tpmCalls: number; engineSignMs: number }> = [];
    const one = async (force: boolean, name: string): Promise<void> => {
      const t = tpmMs(ks);
      await mark(`${name}-start`);
      const c0 = process.cpuUsage();
      const w0 = performance.now();
      const r = await agent.enroller.step({ force });
      const wallMs = performance.now() - w0;
      const cpu = cpuMs(process.cpuUsage(c0));
      await mark(`${name}-end`);
      if (r.action !== 'issued') throw new Error(`${name}: ${r.action} ${r.error?.message ?? ''}`);
      const t2 = tpmMs(ks);
      // Re-enrollment's TLS handshake signs CertificateVerify in the addon's engine (load + sign + flush, not in the
      // keystore stats): estimated as one keystore signDigest operation (the same three commands).
      const engineSignMs = name.startsWith('reenroll') ? t2.signOpMs : 0;
      samples.push({ op: name.replace(/-\d+$/, ''), wallMs, cpuMs: cpu, tpmMs: t2.ms - t.ms, tpmCalls: t2.calls - t.calls, engineSignMs });
    };
    const s = await agent.enroller.loadState();
    let load: { cpuMs: number; wallMs: number; modules: number } | undefined;
    if (s.phase !== 'enrolled') {
      // The modules deferred at start-up (the ASN.1 stack, the EST operations; agent/util/lazy-import.ts) are loaded
      // here, timed on their own: the enrollment below is then timed as before they were deferred, when start-up had
      // evaluated them. The first enrollment of a process pays both.
      const c0 = process.cpuUsage();
      const w0 = performance.now();
      const modules = await loadDeferredModules();
      load = { cpuMs: cpuMs(process.cpuUsage(c0)), wallMs: performance.now() - w0, modules };
      await profileStart();
      await one(false, 'enroll');
      await profileStop('enroll');
    }
    // Which threads burn the CPU of a re-enrollment: the event loop (JS: ASN.1, pkijs, TLS record handling) or the
    // others (libuv pool: webcrypto verify/importKey, fs + fsync; the addon's TPM worker; V8 GC helpers).
    const th0 = threadCpu();
    await profileStart();
    for (let i = 0; i < n; i++) await one(true, `reenroll-${i}`);
    await profileStop('reenroll');
    const th1 = threadCpu();
    const threads = { mainMsPerReenroll: (th1.main - th0.main) / n, otherMsPerReenroll: (th1.other - th0.other) / n };
    process.stdout.write(`RESULT ${JSON.stringify({ samples, threads, ...(load ? { load } : {}), memory: procMemory() })}\n`);
  } else {
    throw new Error(`unknown mode ${mode}`);
  }
} finally {
  await agent.close();
  stdin.close();
}
